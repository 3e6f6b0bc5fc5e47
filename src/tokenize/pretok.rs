//! Hand-written pretokenizers for the two byte-level BPE split patterns in wide use (GPT-2's and
//! Llama-3's). Each is a forward scanner with no backtracking regex engine that cuts the text
//! exactly where Hugging Face `tokenizers` (Oniguruma) cuts it: the alternatives are tried in the
//! regex's order, and the one backtracking construct, `\s+(?!\S)`, is resolved by looking at the
//! end of the whitespace run. The character classes come from [`super::classes`], read out of
//! Oniguruma itself.

use std::sync::OnceLock;

use super::classes::{CASE_FOLDS, LETTER, NUMBER, SPACE};

/// GPT-2's split regex, as `tokenizers` spells it in the `ByteLevel` pretokenizer.
pub const GPT2_REGEX: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// Llama-3's split regex, as its `tokenizer.json` carries it in a `Split` pretokenizer.
pub const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Which split pattern a tokenizer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// [`GPT2_REGEX`] (GPT-2, GPT-J, RoBERTa-style byte-level BPE).
    Gpt2,
    /// [`LLAMA3_REGEX`] (Llama-3, cl100k-style).
    Llama3,
}

impl Pattern {
    /// The pattern whose regex is exactly `regex`, if sluice has a scanner for it.
    pub fn from_regex(regex: &str) -> Option<Pattern> {
        match regex {
            GPT2_REGEX => Some(Pattern::Gpt2),
            LLAMA3_REGEX => Some(Pattern::Llama3),
            _ => None,
        }
    }

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Gpt2 => "gpt2",
            Pattern::Llama3 => "llama3",
        }
    }

    /// Calls `piece` with each piece of `text`, in order; the pieces tile the text.
    pub fn split(self, text: &str, mut piece: impl FnMut(&[u8])) {
        let t = text.as_bytes();
        let mut i = 0;
        while i < t.len() {
            let end = match self {
                Pattern::Gpt2 => gpt2_piece(t, i),
                Pattern::Llama3 => llama3_piece(t, i),
            };
            debug_assert!(end > i && end <= t.len());
            piece(&t[i..end]);
            i = end;
        }
    }
}

/// Character class as the patterns see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Class {
    /// `\p{L}`
    Letter = 0,
    /// `\p{N}`
    Number = 1,
    /// `\s`
    Space = 2,
    /// Anything else (`[^\s\p{L}\p{N}]`).
    Other = 3,
}

const CLASSES: [Class; 4] = [Class::Letter, Class::Number, Class::Space, Class::Other];

fn in_ranges(ranges: &[(u32, u32)], c: u32) -> bool {
    ranges
        .binary_search_by(|&(a, b)| {
            if b < c {
                std::cmp::Ordering::Less
            } else if a > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn slow_class(c: u32) -> Class {
    if in_ranges(&LETTER, c) {
        Class::Letter
    } else if in_ranges(&NUMBER, c) {
        Class::Number
    } else if in_ranges(&SPACE, c) {
        Class::Space
    } else {
        Class::Other
    }
}

/// Class of every code point below U+10000, two bits each (16 KiB), built on first use.
fn bmp() -> &'static [u8] {
    static BMP: OnceLock<Vec<u8>> = OnceLock::new();
    BMP.get_or_init(|| {
        let mut v = vec![0u8; 0x10000 / 4];
        for c in 0..0x10000u32 {
            v[(c / 4) as usize] |= (slow_class(c) as u8) << ((c % 4) * 2);
        }
        v
    })
}

#[inline]
fn class_of(c: u32) -> Class {
    if c < 0x10000 {
        CLASSES[((bmp()[(c / 4) as usize] >> ((c % 4) * 2)) & 3) as usize]
    } else {
        slow_class(c)
    }
}

/// Class of every ASCII byte.
const ASCII: [Class; 128] = {
    let mut t = [Class::Other; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() {
            Class::Letter
        } else if c.is_ascii_digit() {
            Class::Number
        } else if matches!(c, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            Class::Space
        } else {
            Class::Other
        };
        b += 1;
    }
    t
};

/// The character at byte `i` of valid UTF-8: (code point, byte length).
#[inline]
fn decode(t: &[u8], i: usize) -> (u32, usize) {
    let b0 = t[i] as u32;
    if b0 < 0x80 {
        (b0, 1)
    } else if b0 < 0xE0 {
        (((b0 & 0x1F) << 6) | (t[i + 1] as u32 & 0x3F), 2)
    } else if b0 < 0xF0 {
        (((b0 & 0x0F) << 12) | ((t[i + 1] as u32 & 0x3F) << 6) | (t[i + 2] as u32 & 0x3F), 3)
    } else {
        (
            ((b0 & 0x07) << 18)
                | ((t[i + 1] as u32 & 0x3F) << 12)
                | ((t[i + 2] as u32 & 0x3F) << 6)
                | (t[i + 3] as u32 & 0x3F),
            4,
        )
    }
}

/// (class, code point, byte length) of the character at `i`.
#[inline]
fn at(t: &[u8], i: usize) -> (Class, u32, usize) {
    let b = t[i];
    if b < 0x80 {
        (ASCII[b as usize], b as u32, 1)
    } else {
        let (c, n) = decode(t, i);
        (class_of(c), c, n)
    }
}

/// End of the run of `class` characters starting at `i`.
#[inline]
fn run(t: &[u8], mut i: usize, class: Class) -> usize {
    while i < t.len() {
        let b = t[i];
        if b < 0x80 {
            if ASCII[b as usize] != class {
                break;
            }
            i += 1;
        } else {
            let (c, n) = decode(t, i);
            if class_of(c) != class {
                break;
            }
            i += n;
        }
    }
    i
}

/// End of `'s|'t|'re|'ve|'m|'ll|'d` at `i` (case-sensitive, GPT-2), if it matches.
fn gpt2_contraction(t: &[u8], i: usize) -> Option<usize> {
    match t.get(i + 1..(i + 3).min(t.len()))? {
        [b's' | b't' | b'm' | b'd', ..] => Some(i + 2),
        [b'r', b'e'] | [b'v', b'e'] | [b'l', b'l'] => Some(i + 3),
        _ => None,
    }
}

/// Whether `c` matches the contraction letter `x` under `(?i)`.
fn folds(c: u32, x: u8) -> bool {
    CASE_FOLDS.iter().any(|(l, cs)| *l == x && cs.iter().any(|&f| f as u32 == c))
}

/// End of `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `i` (Llama-3), if it matches.
fn llama3_contraction(t: &[u8], i: usize) -> Option<usize> {
    let j = i + 1;
    if j >= t.len() {
        return None;
    }
    let (c1, n1) = decode(t, j);
    if [b's', b't', b'm', b'd'].iter().any(|&x| folds(c1, x)) {
        return Some(j + n1);
    }
    let k = j + n1;
    if k >= t.len() {
        return None;
    }
    let (c2, n2) = decode(t, k);
    let pair = (folds(c1, b'r') || folds(c1, b'v')) && folds(c2, b'e')
        || folds(c1, b'l') && folds(c2, b'l');
    pair.then_some(k + n2)
}

/// The whitespace alternatives at the end of both patterns, `\s+(?!\S)|\s+`, for a run of
/// whitespace `i..j`: the whole run at the end of the text or before a non-space when it is one
/// character; otherwise all but its last character (which then prefixes the next piece).
#[inline]
fn space_tail(t: &[u8], i: usize, j: usize) -> usize {
    if j == t.len() {
        return j;
    }
    let mut last = j - 1;
    while t[last] & 0xC0 == 0x80 {
        last -= 1;
    }
    if last > i { last } else { j }
}

/// End of the GPT-2 piece starting at `i`.
fn gpt2_piece(t: &[u8], i: usize) -> usize {
    if t[i] == b'\''
        && let Some(e) = gpt2_contraction(t, i)
    {
        return e;
    }
    // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`
    let j = if t[i] == b' ' && i + 1 < t.len() { i + 1 } else { i };
    let (class, _, n) = at(t, j);
    if class != Class::Space {
        return run(t, j + n, class);
    }
    space_tail(t, i, run(t, i, Class::Space))
}

/// End of the Llama-3 piece starting at `i`.
fn llama3_piece(t: &[u8], i: usize) -> usize {
    if t[i] == b'\''
        && let Some(e) = llama3_contraction(t, i)
    {
        return e;
    }
    let (c0, cp0, n0) = at(t, i);
    match c0 {
        // `[^\r\n\p{L}\p{N}]?\p{L}+` without the prefix
        Class::Letter => return run(t, i + n0, Class::Letter),
        // `\p{N}{1,3}`
        Class::Number => {
            let mut j = i + n0;
            for _ in 0..2 {
                if j < t.len() {
                    let (c, _, n) = at(t, j);
                    if c == Class::Number {
                        j += n;
                        continue;
                    }
                }
                break;
            }
            return j;
        }
        _ => {}
    }
    // `[^\r\n\p{L}\p{N}]?\p{L}+` with the prefix
    let newline = cp0 == '\r' as u32 || cp0 == '\n' as u32;
    if !newline && i + n0 < t.len() && at(t, i + n0).0 == Class::Letter {
        return run(t, i + n0, Class::Letter);
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    let j = if t[i] == b' ' && i + 1 < t.len() { i + 1 } else { i };
    let (cj, _, nj) = at(t, j);
    if cj == Class::Other {
        let mut e = run(t, j + nj, Class::Other);
        while e < t.len() && matches!(t[e], b'\r' | b'\n') {
            e += 1;
        }
        return e;
    }
    // Here the character at `i` is whitespace. `\s*[\r\n]+`: up to the run's last CR or LF.
    let j = run(t, i, Class::Space);
    if let Some(k) = t[i..j].iter().rposition(|&b| b == b'\r' || b == b'\n') {
        return i + k + 1;
    }
    space_tail(t, i, j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(p: Pattern, s: &str) -> Vec<String> {
        let mut v = Vec::new();
        p.split(s, |b| v.push(String::from_utf8(b.to_vec()).unwrap()));
        v
    }

    #[test]
    fn gpt2_splits_like_the_regex() {
        assert_eq!(
            pieces(Pattern::Gpt2, "Hello  world's 123\n\n  x!? 'tis"),
            ["Hello", " ", " world", "'s", " 123", "\n\n ", " x", "!?", " '", "tis"]
        );
        assert_eq!(pieces(Pattern::Gpt2, "a  "), ["a", "  "]);
        assert_eq!(pieces(Pattern::Gpt2, " "), [" "]);
        assert_eq!(pieces(Pattern::Gpt2, "a\u{a0}b"), ["a", "\u{a0}", "b"]);
    }

    #[test]
    fn llama3_splits_like_the_regex() {
        assert_eq!(
            pieces(Pattern::Llama3, "I'LL pay 12345 (now)\r\n\r\n  ok'ſ"),
            ["I", "'LL", " pay", " ", "123", "45", " (", "now", ")\r\n\r\n", " ", " ok", "'ſ"]
        );
        assert_eq!(pieces(Pattern::Llama3, "a \n\tb"), ["a", " \n", "\tb"]);
        assert_eq!(pieces(Pattern::Llama3, "x  \n  "), ["x", "  \n", "  "]);
    }

    #[test]
    fn classes_cover_the_generated_tables() {
        for &(a, b) in LETTER.iter().chain(NUMBER.iter()).chain(SPACE.iter()) {
            for c in [a, b] {
                assert_eq!(class_of(c), slow_class(c), "U+{c:04X}");
            }
        }
        assert_eq!(class_of(0x4E00), Class::Letter);
        assert_eq!(class_of(0x3000), Class::Space);
        assert_eq!(class_of(0x1F600), Class::Other);
    }
}
