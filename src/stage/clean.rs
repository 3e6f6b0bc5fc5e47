//! `clean`: removes or replaces characters a corpus should not carry (controls, zero-width and
//! bidi formatting characters, soft hyphens, non-standard spaces), characters of chosen Unicode
//! general categories or an explicit set, URLs, and boilerplate lines. Every option is off
//! until the pipeline file switches it on, and no option splits a grapheme cluster: the
//! per-character options touch only characters that are clusters of their own (Unicode's
//! `Control` break class) or replace a space by a space, and category and set removal take the
//! whole cluster that starts with a matching character.
//!
//! Steps run in a fixed order: characters, categories and sets, URLs, lines. Each document is
//! scanned once for anything to do before any copy is made.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use regex::{Regex, RegexSet};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use super::{BatchContext, BuildContext, BuiltStage, StageBuilder, Transform};
use crate::error::{Error, Result};
use crate::text::categories::CharSet;

/// Cleans a text column. Every option is off by default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanConfig {
    /// Column to rewrite.
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// Remove control characters (Unicode `Cc`) other than tab, line feed and carriage return;
    /// NEL (U+0085) becomes a line feed.
    #[serde(default)]
    pub control: bool,
    /// Remove zero-width characters that join nothing: zero-width space U+200B, word joiner
    /// U+2060, invisible operators U+2061–U+2064, byte-order mark / zero-width no-break space
    /// U+FEFF and the Mongolian vowel separator U+180E. The zero-width (non-)joiners U+200C and
    /// U+200D are always kept: Indic and Persian spelling and emoji sequences need them.
    #[serde(default)]
    pub zero_width: bool,
    /// Remove bidirectional formatting characters: the marks U+200E, U+200F and U+061C, the
    /// embeddings and overrides U+202A–U+202E and the isolates U+2066–U+2069.
    #[serde(default)]
    pub bidi: bool,
    /// Remove soft hyphens (U+00AD).
    #[serde(default)]
    pub soft_hyphens: bool,
    /// Replace non-standard spaces (every `Zs` character but U+0020: no-break, en, em, thin,
    /// hair, narrow no-break, ideographic, …) with U+0020, and the line and paragraph
    /// separators U+2028/U+2029 with a line feed.
    #[serde(default)]
    pub spaces: bool,
    /// Remove every grapheme cluster whose first character is in one of these Unicode general
    /// categories, by their short names: `So` (emoji and other symbols), `Co` (private use),
    /// `Cn` (unassigned), or a major class such as `S` or `P`.
    #[serde(default)]
    pub remove_categories: Vec<String>,
    /// Remove every grapheme cluster whose first character is one of these characters
    /// (e.g. `"•◦▪"`).
    #[serde(default)]
    pub remove_chars: String,
    /// Remove URLs: `http://`, `https://`, `ftp://` and `www.` up to the next space or quote,
    /// without trailing punctuation (a closing bracket stays when the URL has no opening one).
    #[serde(default)]
    pub urls: bool,
    /// Text that replaces each removed URL (default: nothing).
    #[serde(default)]
    pub url_replacement: String,
    /// Drop every line in which one of these regular expressions (Rust `regex` syntax) finds a
    /// match, with its line feed; e.g. `"(?i)^\\s*(accept|manage) cookies"`.
    #[serde(default)]
    pub drop_lines: Vec<String>,
}

impl StageBuilder for CleanConfig {
    const NAME: &'static str = "clean";

    fn example() -> Self {
        CleanConfig {
            column: "text".into(),
            control: true,
            zero_width: true,
            bidi: true,
            soft_hyphens: true,
            spaces: true,
            remove_categories: vec!["Co".into()],
            urls: true,
            drop_lines: vec![r"(?i)^\s*(accept|manage) (all )?cookies".into()],
            ..Default::default()
        }
    }

    fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        let chars = self.control || self.zero_width || self.bidi || self.soft_hyphens;
        let nothing = !(chars || self.spaces)
            && self.remove_categories.is_empty()
            && self.remove_chars.is_empty()
            && !self.urls
            && self.drop_lines.is_empty();
        if nothing {
            out.push("no option is set, so the stage would do nothing".to_string());
        }
        if !self.url_replacement.is_empty() && !self.urls {
            out.push("`url_replacement` needs `urls: true`".into());
        }
        if let Err(e) = CharSet::categories(&self.remove_categories) {
            out.push(e.to_string());
        }
        if let Err(e) = RegexSet::new(&self.drop_lines) {
            out.push(format!("drop_lines: {e}"));
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        Ok(BuiltStage::Transform(Box::new(Cleaner::new(self)?)))
    }
}

/// What the per-character step does with one character.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Keep,
    Remove,
    Replace(char),
}

/// The cleaner; also usable directly on strings.
pub struct Cleaner {
    cfg: CleanConfig,
    /// Whether a byte can start (or be) a character the per-character step changes.
    suspect: [bool; 256],
    clusters: CharSet,
    url: Option<Regex>,
    lines: Option<RegexSet>,
}

/// The first byte of `c`'s UTF-8 encoding.
fn lead(c: char) -> u8 {
    c.encode_utf8(&mut [0; 4]).as_bytes()[0]
}

/// Non-standard spaces: every `Zs` character but U+0020.
fn odd_space(c: char) -> bool {
    matches!(
        c,
        '\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

impl Cleaner {
    /// Compiles `cfg` (category names and line patterns are checked here).
    pub fn new(cfg: &CleanConfig) -> Result<Cleaner> {
        let mut suspect = [false; 256];
        for c in (0..0x11_0000u32).filter_map(char::from_u32) {
            if Self::action_of(cfg, c) != Action::Keep {
                suspect[lead(c) as usize] = true;
            }
        }
        let clusters =
            CharSet::categories(&cfg.remove_categories)?.union(&CharSet::chars(&cfg.remove_chars));
        let url = cfg
            .urls
            .then(|| Regex::new(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\x22'`]+"))
            .transpose()
            .map_err(|e| Error::Internal(format!("URL pattern: {e}")))?;
        let lines = if cfg.drop_lines.is_empty() {
            None
        } else {
            Some(
                RegexSet::new(&cfg.drop_lines)
                    .map_err(|e| Error::Invalid(format!("clean.drop_lines: {e}")))?,
            )
        };
        Ok(Cleaner { cfg: cfg.clone(), suspect, clusters, url, lines })
    }

    fn action_of(cfg: &CleanConfig, c: char) -> Action {
        match c {
            '\t' | '\n' | '\r' => Action::Keep,
            '\u{85}' if cfg.control => Action::Replace('\n'),
            c if c.is_control() && cfg.control => Action::Remove,
            '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' if cfg.zero_width => {
                Action::Remove
            }
            '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
                if cfg.bidi =>
            {
                Action::Remove
            }
            '\u{AD}' if cfg.soft_hyphens => Action::Remove,
            '\u{2028}' | '\u{2029}' if cfg.spaces => Action::Replace('\n'),
            c if cfg.spaces && odd_space(c) => Action::Replace(' '),
            _ => Action::Keep,
        }
    }

    /// The byte offset of the first character the per-character step changes. Only bytes that
    /// start such a character are decoded (a continuation byte is never one of them).
    fn first_change(&self, text: &str) -> Option<usize> {
        let b = text.as_bytes();
        (0..b.len()).find(|&i| {
            self.suspect[b[i] as usize]
                && text[i..]
                    .chars()
                    .next()
                    .is_some_and(|c| Self::action_of(&self.cfg, c) != Action::Keep)
        })
    }

    /// Cleans `text` into `out` (cleared first), counting changes by kind.
    pub fn clean_into(&self, text: &str, out: &mut String, changes: &mut Counts) {
        out.clear();
        let mut cur = std::borrow::Cow::Borrowed(text);
        if let Some(at) = self.first_change(text) {
            let mut s = String::with_capacity(text.len());
            s.push_str(&text[..at]);
            for c in text[at..].chars() {
                match Self::action_of(&self.cfg, c) {
                    Action::Keep => s.push(c),
                    Action::Remove => changes.removed_chars += 1,
                    Action::Replace(r) => {
                        changes.replaced_chars += 1;
                        s.push(r);
                    }
                }
            }
            cur = s.into();
        }
        if !self.clusters.is_empty() && self.clusters.any_in(&cur) {
            let mut s = String::with_capacity(cur.len());
            for g in cur.graphemes(true) {
                if g.chars().next().is_some_and(|c| self.clusters.contains(c)) {
                    changes.removed_clusters += 1;
                } else {
                    s.push_str(g);
                }
            }
            cur = s.into();
        }
        if let Some(re) = &self.url {
            // The regex's literal prefilter finds the scheme or `www.`; the copy starts at
            // the first URL.
            let mut s = String::new();
            let mut last = 0;
            for m in re.find_iter(&cur) {
                s.push_str(&cur[last..m.start()]);
                s.push_str(&self.cfg.url_replacement);
                changes.urls += 1;
                last = m.start() + url_len(m.as_str());
            }
            if last > 0 {
                s.push_str(&cur[last..]);
                cur = s.into();
            }
        }
        match &self.lines {
            Some(set) => {
                for line in cur.split_inclusive('\n') {
                    if set.is_match(line.strip_suffix('\n').unwrap_or(line)) {
                        changes.dropped_lines += 1;
                    } else {
                        out.push_str(line);
                    }
                }
            }
            None => out.push_str(&cur),
        }
    }
}

/// The length of a URL match without trailing punctuation; a closing bracket stays only when
/// the URL opened one.
fn url_len(m: &str) -> usize {
    let mut end = m.len();
    loop {
        let Some(c) = m[..end].chars().next_back() else { return end };
        let keep = match c {
            ')' => m[..end].matches('(').count() >= m[..end].matches(')').count(),
            ']' => m[..end].matches('[').count() >= m[..end].matches(']').count(),
            '.' | ',' | ';' | ':' | '!' | '?' | '}' | '*' | '…' => false,
            _ => true,
        };
        if keep {
            return end;
        }
        end -= c.len_utf8();
    }
}

/// Changes counted while cleaning (the stage's `changes` in the stats).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Characters removed by the per-character options.
    pub removed_chars: u64,
    /// Characters replaced (spaces, NEL and separators).
    pub replaced_chars: u64,
    /// Grapheme clusters removed by category or set.
    pub removed_clusters: u64,
    /// URLs removed.
    pub urls: u64,
    /// Lines dropped.
    pub dropped_lines: u64,
}

impl Counts {
    fn add_to(&self, changes: &mut BTreeMap<String, u64>) {
        super::add_changes(
            changes,
            [
                ("removed_chars", self.removed_chars),
                ("replaced_chars", self.replaced_chars),
                ("removed_clusters", self.removed_clusters),
                ("urls", self.urls),
                ("dropped_lines", self.dropped_lines),
            ],
        );
    }
}

impl Transform for Cleaner {
    fn apply(&self, batch: RecordBatch, ctx: &BatchContext) -> Result<RecordBatch> {
        self.apply_counted(batch, ctx, &mut BTreeMap::new())
    }

    fn apply_counted(
        &self,
        batch: RecordBatch,
        _: &BatchContext,
        changes: &mut BTreeMap<String, u64>,
    ) -> Result<RecordBatch> {
        let mut counts = Counts::default();
        let out = super::rewrite_strings(&batch, &self.cfg.column, |s, buf| {
            self.clean_into(s, buf, &mut counts)
        })?;
        counts.add_to(changes);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(cfg: CleanConfig, text: &str) -> (String, Counts) {
        let c = Cleaner::new(&cfg).unwrap();
        let (mut out, mut n) = (String::new(), Counts::default());
        c.clean_into(text, &mut out, &mut n);
        (out, n)
    }

    fn only(f: impl FnOnce(&mut CleanConfig)) -> CleanConfig {
        let mut c = CleanConfig { column: "text".into(), ..Default::default() };
        f(&mut c);
        c
    }

    #[test]
    fn characters_are_removed_or_replaced_per_option() {
        let text =
            "a\u{0}b\u{7}\tc\u{85}d\u{200B}e\u{200D}f\u{202E}g\u{AD}h\u{A0}i\u{3000}j\u{2028}k";
        let (out, n) = clean(only(|c| c.control = true), text);
        assert_eq!(out, "ab\tc\nd\u{200B}e\u{200D}f\u{202E}g\u{AD}h\u{A0}i\u{3000}j\u{2028}k");
        assert_eq!((n.removed_chars, n.replaced_chars), (2, 1));
        let (out, _) = clean(only(|c| c.bidi = true), text);
        assert_eq!(out, text.replace('\u{202E}', ""));
        let (out, _) = clean(only(|c| c.zero_width = true), text);
        assert_eq!(out, text.replace('\u{200B}', ""), "ZWJ stays");
        let (out, _) = clean(only(|c| c.soft_hyphens = true), text);
        assert_eq!(out, text.replace('\u{AD}', ""));
        let (out, n) = clean(only(|c| c.spaces = true), text);
        assert_eq!(out, text.replace(['\u{A0}', '\u{3000}'], " ").replace('\u{2028}', "\n"));
        assert_eq!(n.replaced_chars, 3);
    }

    #[test]
    fn categories_and_sets_take_whole_clusters() {
        // A family emoji (one cluster of five code points), a flag, a private-use char.
        let text = "hi 👨\u{200D}👩\u{200D}👧 ok 🇫🇷 \u{E000}x • é\u{301}";
        let (out, n) = clean(only(|c| c.remove_categories = vec!["So".into(), "Co".into()]), text);
        // Regional indicators are `So` too.
        assert_eq!(out, "hi  ok  x • é\u{301}");
        assert_eq!(n.removed_clusters, 3);
        let (out, _) = clean(only(|c| c.remove_chars = "•e".into()), text);
        assert_eq!(out, text.replace("• ", " ").replace("e", ""), "é (precomposed) is not e");
    }

    #[test]
    fn urls_lose_trailing_punctuation_but_keep_balanced_brackets() {
        let cfg = only(|c| {
            c.urls = true;
            c.url_replacement = "<URL>".into();
        });
        let (out, n) = clean(
            cfg,
            "See https://example.org/a?b=1. Or (www.x.com/path), or https://en.wikipedia.org/wiki/Rust_(language)!",
        );
        assert_eq!(out, "See <URL>. Or (<URL>), or <URL>!");
        assert_eq!(n.urls, 3);
        let (out, _) = clean(only(|c| c.urls = true), "no links: a.b, ftp:/x, wwwhat");
        assert_eq!(out, "no links: a.b, ftp:/x, wwwhat");
    }

    #[test]
    fn matching_lines_are_dropped_with_their_newline() {
        let cfg =
            only(|c| c.drop_lines = vec!["(?i)^accept cookies".into(), r"^\d+ comments$".into()]);
        let (out, n) = clean(cfg, "Title\nAccept cookies here\nBody.\n12 comments\nEnd");
        assert_eq!(out, "Title\nBody.\nEnd");
        assert_eq!(n.dropped_lines, 2);
    }

    #[test]
    fn bad_settings_are_reported() {
        let cfg = only(|c| {
            c.remove_categories = vec!["Greek".into()];
            c.drop_lines = vec!["(".into()];
            c.url_replacement = "x".into();
        });
        let msgs = cfg.check().join("\n");
        assert!(msgs.contains("not a Unicode general category"), "{msgs}");
        assert!(msgs.contains("drop_lines"), "{msgs}");
        assert!(msgs.contains("url_replacement"), "{msgs}");
        assert!(only(|_| {}).check().iter().any(|m| m.contains("do nothing")));
    }
}
