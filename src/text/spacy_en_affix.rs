//! spaCy's prefix, suffix, infix and `url_match` searches with Python `re` semantics.
//!
//! The rules are Python regexes with look-around, which Rust's `regex` crate does not have.
//! `gen_tables.py` rewrites the prefix, suffix and infix regexes as ordered lists of
//! alternatives ([`Alt`], defined and matched in [`super::spacy_en_alt`]): a body (a literal, a
//! character class or the run `\.\.+`) with an optional fixed-width look-behind and an optional
//! one-character look-ahead. Python's backtracking matcher tries the alternatives of a regex in
//! order at each position and takes the first that matches, which is what [`AlternativeIndex`]
//! evaluates:
//!
//! * prefix (`re.search` on `^a|^b|...`): the first alternative matching at position 0;
//! * suffix (`re.search` on `a$|b$|...`): the match with the leftmost start, i.e. the longest
//!   suffix any alternative matches (every alternative ends at the end of the string);
//! * infix (`re.finditer`): left to right, the first alternative matching at each position,
//!   continuing after the match; look-behinds see the whole string.
//!
//! `url_match` (`re.match`, anchored at both ends) has three negative look-aheads in its IP
//! branch; the host-name branch is one Rust regex and the IP branch is checked at every
//! possible host start (after nothing, a `://` or an `@`).

use regex::Regex;

use super::fxhash::FxMap;
use super::spacy_en_alt::Alt;
use super::spacy_en_data as data;

/// For each character, the alternatives (indices, in regex order) whose body can start (or, for
/// suffixes, end) with it.
#[derive(Debug)]
struct AlternativeIndex {
    alts: &'static [Alt],
    /// Candidates for an ASCII character: a range of `pool`.
    ascii: [(u16, u16); 128],
    /// Candidates for the non-ASCII characters some literal starts/ends with.
    other: FxMap<char, (u16, u16)>,
    /// Candidates for any other non-ASCII character: the class alternatives.
    classes_only: (u16, u16),
    pool: Vec<u16>,
    /// Bit per character of the Basic Multilingual Plane: whether some alternative can match
    /// it (an edge character of a literal, or a member of a class). Characters without the bit
    /// have no candidates, which most letters of other scripts find here without a lookup.
    bmp_any: Box<[u64]>,
}

/// Characters of the Basic Multilingual Plane.
const BMP: u32 = 0x10000;

impl AlternativeIndex {
    fn new(alts: &'static [Alt], last: bool) -> Self {
        let mut pool: Vec<u16> = Vec::new();
        let candidates = |c: Option<char>, pool: &mut Vec<u16>| -> (u16, u16) {
            let start = pool.len();
            for (i, a) in alts.iter().enumerate() {
                let hit = match (a.edge_chars(last), a.class(), c) {
                    (Some(cs), _, Some(c)) => cs.contains(&c),
                    (None, Some(class), Some(c)) => class.contains(c),
                    (None, Some(_), None) => true,
                    _ => false,
                };
                if hit {
                    pool.push(u16::try_from(i).expect("fewer than 65536 alternatives"));
                }
            }
            (start as u16, (pool.len() - start) as u16)
        };
        let mut ascii = [(0u16, 0u16); 128];
        for (b, slot) in ascii.iter_mut().enumerate() {
            *slot = candidates(Some(char::from(b as u8)), &mut pool);
        }
        let mut other = FxMap::default();
        for a in alts {
            for c in a.edge_chars(last).unwrap_or_default() {
                if !c.is_ascii() && !other.contains_key(&c) {
                    let r = candidates(Some(c), &mut pool);
                    other.insert(c, r);
                }
            }
        }
        let classes_only = candidates(None, &mut pool);
        let mut bmp_any = vec![0u64; BMP as usize / 64].into_boxed_slice();
        let mut set = |u: u32| {
            if (0x80..BMP).contains(&u) {
                bmp_any[u as usize / 64] |= 1 << (u % 64);
            }
        };
        for a in alts {
            for c in a.edge_chars(last).unwrap_or_default() {
                set(c as u32);
            }
            if let Some(cs) = a.class() {
                for &(lo, hi) in cs.ranges {
                    (lo..=hi.min(BMP - 1)).for_each(&mut set);
                }
            }
        }
        AlternativeIndex { alts, ascii, other, classes_only, pool, bmp_any }
    }

    /// The candidate alternatives for a text whose relevant edge character is `c`; a class
    /// alternative is included for a non-ASCII `c` without checking membership.
    #[inline]
    fn candidates(&self, c: char) -> impl Iterator<Item = &'static Alt> + '_ {
        let u = c as u32;
        let (s, n) = if c.is_ascii() {
            self.ascii[c as usize]
        } else if u < BMP && self.bmp_any[u as usize / 64] >> (u % 64) & 1 == 0 {
            (0, 0)
        } else {
            self.other.get(&c).copied().unwrap_or(self.classes_only)
        };
        self.pool[s as usize..(s + n) as usize].iter().map(|&i| &self.alts[i as usize])
    }

    /// Whether no alternative can start (end) with the ASCII byte `b`.
    #[inline]
    fn ascii_none(&self, b: u8) -> bool {
        self.ascii[b as usize].1 == 0
    }
}

/// The compiled prefix, suffix, infix and url rules.
#[derive(Debug)]
pub struct AffixRules {
    prefix: AlternativeIndex,
    suffix: AlternativeIndex,
    infix: AlternativeIndex,
    url_host: Regex,
    url_pre: Regex,
    url_ip: Regex,
    url_ip_not: Vec<Regex>,
}

fn compile(src: &str) -> Regex {
    regex::RegexBuilder::new(src)
        .size_limit(256 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .unwrap_or_else(|e| panic!("generated url regex does not compile: {e}"))
}

impl Default for AffixRules {
    fn default() -> Self {
        Self::new()
    }
}

impl AffixRules {
    /// Builds the candidate indexes and compiles the url regexes.
    pub fn new() -> Self {
        AffixRules {
            prefix: AlternativeIndex::new(data::PREFIX_ALTS, false),
            suffix: AlternativeIndex::new(data::SUFFIX_ALTS, true),
            infix: AlternativeIndex::new(data::INFIX_ALTS, false),
            url_host: compile(data::URL_HOST_RE),
            url_pre: compile(data::URL_PRE_RE),
            url_ip: compile(data::URL_IP_RE),
            url_ip_not: data::URL_IP_NOT_RES.iter().map(|s| compile(s)).collect(),
        }
    }

    /// Whether a string starting with the ASCII byte `b` can have a prefix.
    #[inline]
    pub fn prefix_possible_ascii(&self, b: u8) -> bool {
        !self.prefix.ascii_none(b)
    }

    /// `find_prefix`: byte length of the prefix of `s` (0 if none).
    pub fn find_prefix(&self, s: &str) -> usize {
        let Some(c) = s.chars().next() else { return 0 };
        for a in self.prefix.candidates(c) {
            if let Some(end) = a.match_at(s, 0) {
                return end;
            }
        }
        0
    }

    /// `find_suffix`: byte length of the suffix of `s` (0 if none): the longest suffix any
    /// alternative matches.
    pub fn find_suffix(&self, s: &str) -> usize {
        let Some(c) = s.chars().next_back() else { return 0 };
        let mut best = s.len();
        for a in self.suffix.candidates(c) {
            if let Some(start) = a.match_ending(s) {
                best = best.min(start);
            }
        }
        s.len() - best
    }

    /// `infix_finditer`: appends the `(start, end)` byte spans of all infix matches of `s`.
    pub fn find_infixes(&self, s: &str, out: &mut Vec<(usize, usize)>) {
        let b = s.as_bytes();
        let mut p = 0;
        while p < b.len() {
            let x = b[p];
            if x < 0x80 && self.infix.ascii_none(x) {
                p += 1;
                continue;
            }
            let c = s[p..].chars().next().expect("char boundary");
            let mut matched = None;
            for a in self.infix.candidates(c) {
                if let Some(end) = a.match_at(s, p) {
                    matched = Some(end);
                    break;
                }
            }
            match matched {
                Some(end) => {
                    out.push((p, end));
                    p = end; // no alternative matches the empty string
                }
                None => p += c.len_utf8(),
            }
        }
    }

    /// Whether `infix_finditer` finds anything in `s`.
    pub fn has_infix(&self, s: &str) -> bool {
        let mut v = Vec::new();
        self.find_infixes(s, &mut v);
        !v.is_empty()
    }

    /// `url_match`: whether all of `s` (a string without whitespace) is a URL.
    pub fn url_match(&self, s: &str) -> bool {
        // both branches need a "." (host-name labels end with one; an IP has three)
        if !s.as_bytes().contains(&b'.') {
            return false;
        }
        self.url_host.is_match(s) || self.url_ip_match(s)
    }

    /// The IP branch: some split `s = pre + host` where `pre` matches the scheme / user-info
    /// part, `host` the IP (+ port + path) and none of the negative look-aheads at `host`.
    fn url_ip_match(&self, s: &str) -> bool {
        let b = s.as_bytes();
        // Possible host starts: 0, after a "://" or after an "@". After an "@" at byte i, the
        // part before matches `(?:scheme://)?(?:\S+(?::\S*)?@)?` exactly when i > 0 (`s` has
        // no whitespace, so `\S+` takes any non-empty string); checking that directly keeps
        // strings with many "@" linear. The look-aheads and the IP regex are anchored at the
        // host and fail within a few characters, except for the one IP that matches.
        let at_signs = b.iter().enumerate().filter(|&(i, &x)| x == b'@' && i > 0);
        let starts = std::iter::once((0, false))
            .chain(
                b.windows(3).enumerate().filter(|(_, w)| *w == b"://").map(|(i, _)| (i + 3, false)),
            )
            .chain(at_signs.map(|(i, _)| (i + 1, true)));
        for (h, pre_ok) in starts {
            // every IP alternative starts with an ASCII digit 1-9
            if !matches!(b.get(h), Some(b'1'..=b'9')) {
                continue;
            }
            let (pre, host) = s.split_at(h);
            if !self.url_ip_not.iter().any(|r| r.is_match(host))
                && (pre_ok || self.url_pre.is_match(pre))
                && self.url_ip.is_match(host)
            {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::AffixRules;

    #[test]
    fn prefix() {
        let r = AffixRules::new();
        assert_eq!(r.find_prefix("(abc"), 1);
        assert_eq!(r.find_prefix("abc"), 0);
        assert_eq!(r.find_prefix("+1"), 0);
        assert_eq!(r.find_prefix("+a"), 1);
        assert_eq!(r.find_prefix("US$5"), 3);
        assert_eq!(r.find_prefix("……x"), 3); // `^…` comes before `^……`
        assert_eq!(r.find_prefix("...x"), 3);
        assert_eq!(r.find_prefix(".x"), 0);
        assert_eq!(r.find_prefix("$5"), 1);
        assert_eq!(r.find_prefix("©x"), "©".len());
        assert_eq!(r.find_prefix(""), 0);
    }

    #[test]
    fn suffix() {
        let r = AffixRules::new();
        assert_eq!(r.find_suffix("abc,"), 1);
        assert_eq!(r.find_suffix("abc"), 0);
        assert_eq!(r.find_suffix("abc."), 1);
        assert_eq!(r.find_suffix("ABC."), 1);
        assert_eq!(r.find_suffix("U.S."), 0);
        assert_eq!(r.find_suffix("abc..."), 3);
        assert_eq!(r.find_suffix("John's"), 2);
        assert_eq!(r.find_suffix("5km"), 2);
        assert_eq!(r.find_suffix("akm"), 0);
        assert_eq!(r.find_suffix("5km²"), "km²".len());
        assert_eq!(r.find_suffix("5$"), 1);
        assert_eq!(r.find_suffix("5US$"), 3);
        assert_eq!(r.find_suffix("20°C."), 1);
        assert_eq!(r.find_suffix("1+"), 1);
        assert_eq!(r.find_suffix("a+"), 0);
        assert_eq!(r.find_suffix(""), 0);
    }

    #[test]
    fn infix() {
        let r = AffixRules::new();
        let f = |s: &str| -> Vec<String> {
            let mut v = Vec::new();
            r.find_infixes(s, &mut v);
            v.iter().map(|&(a, b)| s[a..b].to_string()).collect()
        };
        assert_eq!(f("e-mail"), ["-"]);
        assert_eq!(f("a--b"), ["--"]);
        assert_eq!(f("a---b"), ["---"]);
        assert!(f("a-").is_empty());
        assert_eq!(f("1-2"), ["-"]);
        assert_eq!(f("1--2"), ["-"]);
        assert_eq!(f("hello.World"), ["."]);
        assert!(f("hello.world").is_empty());
        assert_eq!(f("a,b"), [","]);
        assert_eq!(f("a...b"), ["..."]);
        assert_eq!(f("a/b"), ["/"]);
        assert!(f("3.50").is_empty());
    }

    #[test]
    fn url() {
        let r = AffixRules::new();
        for s in [
            "www.google.com",
            "google.com",
            "http://example.org/a?b=c",
            "https://user:pw@host.io:8080/x",
            "8.8.8.8",
            "http://1.2.3.4/x",
            "bücher.de",
        ] {
            assert!(r.url_match(s), "{s}");
        }
        for s in ["3.50", "e.g", "hello", "10.0.0.1", "192.168.1.1", "a.b", "http://", "U.S"] {
            assert!(!r.url_match(s), "{s}");
        }
    }
}
