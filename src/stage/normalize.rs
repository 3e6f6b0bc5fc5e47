//! `normalize`: Unicode normalization and character clean-up of a text column. Steps run in a
//! fixed order: strip control characters, strip invisible characters, Unicode form,
//! lowercase, collapse whitespace.

use arrow::array::RecordBatch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization};

use super::{BatchContext, BuildContext, BuiltStage, StageBuilder, Transform};
use crate::error::Result;

pub(crate) fn default_column() -> String {
    "text".into()
}

/// Unicode normalization forms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnicodeForm {
    /// Leave the text as it is.
    #[default]
    None,
    /// Canonical composition (é stays one code point).
    Nfc,
    /// Canonical decomposition.
    Nfd,
    /// Compatibility composition: also folds ligatures (ﬁ → fi), full-width forms and № → No.
    Nfkc,
    /// Compatibility decomposition.
    Nfkd,
}

/// Normalizes a text column. Every option is off by default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalizeConfig {
    /// Column to rewrite.
    #[serde(default = "default_column")]
    pub column: String,
    /// Unicode normalization form: `none`, `nfc`, `nfd`, `nfkc` or `nfkd`.
    #[serde(default)]
    pub unicode: UnicodeForm,
    /// Lowercase the text (Unicode-aware).
    #[serde(default)]
    pub lowercase: bool,
    /// Collapse runs of spaces and tabs (and other non-newline whitespace) into one space,
    /// remove spaces at line ends, and collapse three or more newlines into two (one blank
    /// line). Leading and trailing whitespace of the document is removed.
    #[serde(default)]
    pub collapse_whitespace: bool,
    /// Remove control characters (Unicode Cc) except tab and newline; `\r\n` and lone `\r`
    /// become `\n`.
    #[serde(default)]
    pub strip_control: bool,
    /// Remove invisible characters: zero-width space U+200B, word joiner U+2060, byte-order
    /// mark U+FEFF, soft hyphen U+00AD, Mongolian vowel separator U+180E, and the directional
    /// marks U+200E/U+200F. Zero-width (non-)joiners U+200C/U+200D are kept unless
    /// `strip_joiners` is set, because Indic and Persian scripts and emoji need them.
    #[serde(default)]
    pub strip_zero_width: bool,
    /// Also remove U+200C and U+200D (only with `strip_zero_width`).
    #[serde(default)]
    pub strip_joiners: bool,
}

impl StageBuilder for NormalizeConfig {
    const NAME: &'static str = "normalize";

    fn example() -> Self {
        NormalizeConfig {
            column: "text".into(),
            unicode: UnicodeForm::Nfkc,
            collapse_whitespace: true,
            strip_control: true,
            strip_zero_width: true,
            ..Default::default()
        }
    }

    fn check(&self) -> Vec<String> {
        let nothing = self.unicode == UnicodeForm::None
            && !self.lowercase
            && !self.collapse_whitespace
            && !self.strip_control
            && !self.strip_zero_width;
        let mut out = Vec::new();
        if nothing {
            out.push("no option is set, so the stage would do nothing".to_string());
        }
        if self.strip_joiners && !self.strip_zero_width {
            out.push("`strip_joiners` needs `strip_zero_width: true`".into());
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        Ok(BuiltStage::Transform(Box::new(Normalize(self.clone()))))
    }
}

/// The normalizer; also usable directly on strings.
pub struct Normalize(pub NormalizeConfig);

fn is_invisible(c: char, joiners: bool) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}' | '\u{200E}' | '\u{200F}'
    ) || (joiners && matches!(c, '\u{200C}' | '\u{200D}'))
}

impl Normalize {
    /// Normalizes `text` into `out` (cleared first).
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        let c = &self.0;
        out.clear();
        // Step 1 and 2: character stripping.
        let mut cur: std::borrow::Cow<str> = std::borrow::Cow::Borrowed(text);
        if c.strip_control || c.strip_zero_width {
            let needs = cur.chars().any(|ch| {
                (c.strip_control && ch.is_control() && ch != '\n' && ch != '\t')
                    || (c.strip_zero_width && is_invisible(ch, c.strip_joiners))
            });
            if needs {
                let mut s = String::with_capacity(cur.len());
                let mut chars = cur.chars().peekable();
                while let Some(ch) = chars.next() {
                    if c.strip_control && ch == '\r' {
                        if chars.peek() != Some(&'\n') {
                            s.push('\n');
                        }
                    } else if (c.strip_control && ch.is_control() && ch != '\n' && ch != '\t')
                        || (c.strip_zero_width && is_invisible(ch, c.strip_joiners))
                    {
                    } else {
                        s.push(ch);
                    }
                }
                cur = s.into();
            }
        }
        // Step 3: Unicode form; quick checks skip text that is already normalized.
        if c.unicode != UnicodeForm::None && !cur.is_ascii() && quick(c.unicode, &cur) {
            cur = by_pieces(c.unicode, &cur).into();
        }
        // Step 4: lowercase.
        if c.lowercase {
            cur = if cur.is_ascii() {
                cur.to_ascii_lowercase().into()
            } else {
                cur.to_lowercase().into()
            };
        }
        // Step 5: whitespace.
        if c.collapse_whitespace {
            collapse_whitespace(&cur, out);
        } else {
            out.push_str(&cur);
        }
    }
}

/// Whether `s` may need work for `form` (the quick check does not answer "yes").
fn quick(form: UnicodeForm, s: &str) -> bool {
    let q = match form {
        UnicodeForm::None => IsNormalized::Yes,
        UnicodeForm::Nfc => unicode_normalization::is_nfc_quick(s.chars()),
        UnicodeForm::Nfd => unicode_normalization::is_nfd_quick(s.chars()),
        UnicodeForm::Nfkc => unicode_normalization::is_nfkc_quick(s.chars()),
        UnicodeForm::Nfkd => unicode_normalization::is_nfkd_quick(s.chars()),
    };
    q != IsNormalized::Yes
}

/// `s` in `form`, one piece at a time. Every ASCII character is a normalization boundary in
/// all four forms (a starter that is its own normal form and composes with nothing before
/// it), so the text splits before each one: ASCII runs are copied, and each run of
/// non-ASCII characters, with the ASCII character before it, is normalized on its own (only
/// when its quick check does not pass). The result equals normalizing the whole text.
fn by_pieces(form: UnicodeForm, s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut done = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] < 0x80 {
            i += 1;
            continue;
        }
        let start = if i > 0 { i - 1 } else { i };
        let mut j = i;
        while j < b.len() && b[j] >= 0x80 {
            j += 1;
        }
        let piece = &s[start..j];
        if quick(form, piece) {
            out.push_str(&s[done..start]);
            match form {
                UnicodeForm::None => out.push_str(piece),
                UnicodeForm::Nfc => out.extend(piece.nfc()),
                UnicodeForm::Nfd => out.extend(piece.nfd()),
                UnicodeForm::Nfkc => out.extend(piece.nfkc()),
                UnicodeForm::Nfkd => out.extend(piece.nfkd()),
            }
            done = j;
        }
        i = j;
    }
    out.push_str(&s[done..]);
    out
}

fn collapse_whitespace(text: &str, out: &mut String) {
    let t = text.trim();
    let b = t.as_bytes();
    let mut pending_space = false;
    let mut newlines = 0usize;
    let mut i = 0;
    while i < b.len() {
        // A run without whitespace (but for single spaces between words) is copied whole.
        let start = i;
        while i < b.len() {
            if b[i] < 0x80 {
                // One space between two ASCII non-spaces inside a run stays in the run.
                let inner_space = b[i] == b' '
                    && i > start
                    && b.get(i + 1).is_some_and(|&n| n > b' ' && n < 0x80);
                if !inner_space && matches!(b[i], b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
                    break;
                }
                i += 1;
            } else {
                let ch = t[i..].chars().next().unwrap_or(' ');
                if ch.is_whitespace() {
                    break;
                }
                i += ch.len_utf8();
            }
        }
        if i > start {
            if newlines > 0 {
                out.push_str(if newlines >= 2 { "\n\n" } else { "\n" });
                newlines = 0;
                pending_space = false;
            } else if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push_str(&t[start..i]);
        }
        if let Some(ch) = t[i..].chars().next() {
            if ch == '\n' {
                pending_space = false;
                newlines += 1;
            } else {
                pending_space = true;
            }
            i += ch.len_utf8();
        }
    }
}

impl Transform for Normalize {
    fn apply(&self, batch: RecordBatch, _: &BatchContext) -> Result<RecordBatch> {
        super::rewrite_strings(&batch, &self.0.column, |s, out| self.normalize_into(s, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20,000 texts of fewer than `parts` pieces drawn from `alphabet` (xorshift from `seed`).
    fn generated(alphabet: &[&str], seed: u64, parts: u64) -> Vec<String> {
        let mut state = seed;
        (0..20_000)
            .map(|_| {
                let mut s = String::new();
                for _ in 0..(state % parts) {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    s.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
                }
                state = state.wrapping_add(1);
                s
            })
            .collect()
    }

    #[test]
    fn piecewise_forms_equal_whole_text_forms() {
        let alphabet = [
            "a", "e", " ", "\u{301}", "\u{327}", "é", "ﬁ", "\u{A0}", "…", "Å", "\u{1100}",
            "\u{1161}", "\u{11A8}", "가", "Ａ", "①", "\u{FB2C}", "\u{5B4}", "\u{FF9E}", "ｶ", "1",
            "\u{2126}",
        ];
        for s in generated(&alphabet, 0x0FED_CBA9_8765_4321, 16) {
            let whole: [String; 4] =
                [s.nfc().collect(), s.nfd().collect(), s.nfkc().collect(), s.nfkd().collect()];
            for (form, want) in
                [UnicodeForm::Nfc, UnicodeForm::Nfd, UnicodeForm::Nfkc, UnicodeForm::Nfkd]
                    .iter()
                    .zip(&whole)
            {
                assert_eq!(&by_pieces(*form, &s), want, "{form:?} of {s:?}");
            }
        }
    }

    /// The character-by-character rule `collapse_whitespace` implements with copied runs.
    fn collapse_reference(text: &str) -> String {
        let (mut out, mut pending_space, mut newlines) = (String::new(), false, 0usize);
        for ch in text.trim().chars() {
            if ch == '\n' {
                pending_space = false;
                newlines += 1;
            } else if ch.is_whitespace() {
                pending_space = true;
            } else {
                if newlines > 0 {
                    out.push_str(if newlines >= 2 { "\n\n" } else { "\n" });
                    newlines = 0;
                    pending_space = false;
                } else if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push(ch);
            }
        }
        out
    }

    #[test]
    fn collapse_whitespace_copies_runs_with_the_same_result() {
        let alphabet = [
            " ", "  ", "\t", "\n", "\r\n", "\u{A0}", "\u{3000}", "\u{85}", "a", "bc", "é",
            "\u{1C}", "中", "\u{2028}",
        ];
        for s in generated(&alphabet, 0x1234_5678_9ABC_DEF1, 24) {
            let mut out = String::new();
            collapse_whitespace(&s, &mut out);
            assert_eq!(out, collapse_reference(&s), "{s:?}");
        }
    }
    use crate::stage::test_util::transform;

    fn norm(c: NormalizeConfig, s: &str) -> String {
        let mut out = String::new();
        Normalize(c).normalize_into(s, &mut out);
        out
    }

    #[test]
    fn nfkc_folds_ligatures_and_full_width() {
        let c = NormalizeConfig { unicode: UnicodeForm::Nfkc, ..Default::default() };
        assert_eq!(norm(c, "ﬁne Ｆｕｌｌ №5"), "fine Full No5");
    }

    #[test]
    fn nfc_composes_and_nfd_decomposes() {
        let nfc = NormalizeConfig { unicode: UnicodeForm::Nfc, ..Default::default() };
        assert_eq!(norm(nfc, "e\u{301}"), "\u{e9}");
        let nfd = NormalizeConfig { unicode: UnicodeForm::Nfd, ..Default::default() };
        assert_eq!(norm(nfd, "\u{e9}"), "e\u{301}");
    }

    #[test]
    fn strips_control_and_invisible_but_keeps_joiners() {
        let c =
            NormalizeConfig { strip_control: true, strip_zero_width: true, ..Default::default() };
        assert_eq!(norm(c, "\u{feff}a\u{200b}b\u{7}\r\nc\u{200d}d"), "ab\nc\u{200d}d");
    }

    #[test]
    fn collapses_whitespace_keeping_paragraphs() {
        let c = NormalizeConfig { collapse_whitespace: true, ..Default::default() };
        assert_eq!(norm(c, "  a \t b  \n\n\n\nc  \nd "), "a b\n\nc\nd");
    }

    #[test]
    fn lowercase_is_unicode_aware() {
        let c = NormalizeConfig { lowercase: true, ..Default::default() };
        assert_eq!(norm(c, "ÉCOLE Straße"), "école straße");
    }

    #[test]
    fn runs_as_a_stage_and_is_idempotent() {
        let c = NormalizeConfig::example();
        let once = transform(&c, &["ﬁ  x\u{200b}\n\n\n y"]);
        assert_eq!(once, vec!["fi x\n\ny"]);
        let twice = transform(&c, &[once[0].as_str()]);
        assert_eq!(once, twice);
    }
}
