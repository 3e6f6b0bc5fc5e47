//! datatrove 0.10.1's `simplify_text` with its default `TextNormConfig`, the normalization
//! MinHash deduplication shingles. The steps, in datatrove's order:
//!
//! 1. `str.lower()`: Python's full lowercase mapping (Unicode 14.0.0, `İ` → `i̇`), with the
//!    Final_Sigma rule (`Σ` → `ς` at the end of a word);
//! 2. every number (`\p{Nd}+` with at most one `.,،٫⎖⎗⎘` separator followed by digits, the
//!    `regex` module's digits) becomes `0`;
//! 3. each of the 129 characters of `PUNCTUATION` becomes a space;
//! 4. `strip()`, then each run of whitespace (`str.isspace`) becomes one space;
//! 5. NFD, then every character of general category Mn is dropped;
//! 6. `strip()` (double spaces left by step 5 stay).
//!
//! The character data comes from `simplify_tables.rs`, generated from the Python that datatrove
//! runs on (`gen_simplify_tables.py`), so newer Unicode data in Rust's `char` methods or the
//! `regex` crate cannot change a result. NFD itself comes from `unicode-normalization`:
//! canonical decompositions of assigned characters never change between Unicode versions,
//! and the characters Unicode 14.0.0 did not assign are passed through as Python does.

use unicode_normalization::UnicodeNormalization;

use super::pystr::{is_py_space, py_strip};
use super::simplify_tables as t;

/// The Unicode version of the character data (Python 3.11's `unicodedata`).
pub use super::simplify_tables::UNICODE_VERSION;

fn in_ranges(c: char, ranges: &[(char, char)]) -> bool {
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn is_digit(c: char) -> bool {
    if c.is_ascii() { c.is_ascii_digit() } else { in_ranges(c, t::DIGITS) }
}

/// `PUNCTUATION`'s ASCII members as a table (most characters of most texts are ASCII).
const ASCII_PUNCT: [bool; 128] = {
    let mut table = [false; 128];
    let mut i = 0;
    while i < t::PUNCTUATION.len() {
        let c = t::PUNCTUATION[i] as u32;
        if c < 128 {
            table[c as usize] = true;
        }
        i += 1;
    }
    table
};

fn is_punct(c: char) -> bool {
    if c.is_ascii() { ASCII_PUNCT[c as usize] } else { t::PUNCTUATION.binary_search(&c).is_ok() }
}

const CAPITAL_SIGMA: char = '\u{3A3}';

/// Python's `str.lower()`.
pub fn py_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c == CAPITAL_SIGMA {
            out.push(if final_sigma(&chars, i) { '\u{3C2}' } else { '\u{3C3}' });
        } else {
            match t::LOWER.binary_search_by(|&(k, _)| k.cmp(&c)) {
                Ok(k) => out.push_str(t::LOWER[k].1),
                Err(_) => out.push(c),
            }
        }
    }
    out
}

/// CPython's Final_Sigma test for the `Σ` at `i`: a cased letter before it and none after it,
/// skipping case-ignorable characters on both sides.
fn final_sigma(chars: &[char], i: usize) -> bool {
    let ignorable = |c: char| in_ranges(c, t::SIGMA_IGNORABLE);
    let cased = |c: char| in_ranges(c, t::SIGMA_CASED);
    let before = chars[..i].iter().rev().find(|&&c| !ignorable(c));
    if !before.is_some_and(|&c| cased(c)) {
        return false;
    }
    match chars[i + 1..].iter().find(|&&c| !ignorable(c)) {
        None => true,
        Some(&c) => !cased(c),
    }
}

/// Step 2: numbers to `0`: a run of digits, then at most one separator followed by a run of
/// digits.
fn numbers_to_zero(s: &str) -> String {
    const SEPARATORS: [char; 7] =
        ['.', ',', '\u{60C}', '\u{66B}', '\u{2396}', '\u{2397}', '\u{2398}'];
    let skip_digits = |r: &str| r.find(|c: char| !is_digit(c)).unwrap_or(r.len());
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(is_digit) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        rest = &rest[skip_digits(rest)..];
        let mut ahead = rest.chars();
        if let (Some(sep), Some(d)) = (ahead.next(), ahead.next())
            && SEPARATORS.contains(&sep)
            && is_digit(d)
        {
            rest = &rest[sep.len_utf8()..];
            rest = &rest[skip_digits(rest)..];
        }
        out.push('0');
    }
    out.push_str(rest);
    out
}

/// datatrove's `simplify_text(text)` with the default `TextNormConfig`.
pub fn simplify_text(text: &str) -> String {
    let lowered = py_lower(text);
    let numbered = numbers_to_zero(&lowered);
    // punctuation to spaces, then whitespace runs to one space: folding before `strip()`
    // leaves at most one space at each end, which the strip below removes
    let mut spaced = String::with_capacity(numbered.len());
    let mut in_space = false;
    for c in numbered.chars() {
        let c = if is_punct(c) { ' ' } else { c };
        if is_py_space(c) {
            if !in_space {
                spaced.push(' ');
            }
            in_space = true;
        } else {
            spaced.push(c);
            in_space = false;
        }
    }
    let spaced = py_strip(&spaced);
    if spaced.is_ascii() {
        return spaced.to_string();
    }
    // NFD then Mn removal, over the runs of non-ASCII characters only: an ASCII character
    // neither decomposes nor takes part in reordering (it is a starter), so NFD of the whole
    // equals NFD run by run
    let mut out = String::with_capacity(spaced.len());
    let mut run = None;
    for (i, c) in spaced.char_indices() {
        if !c.is_ascii() {
            run.get_or_insert(i);
        } else {
            if let Some(start) = run.take() {
                nfd_without_marks(&spaced[start..i], &mut out);
            }
            out.push(c);
        }
    }
    if let Some(start) = run {
        nfd_without_marks(&spaced[start..], &mut out);
    }
    py_strip(&out).to_string()
}

/// Step 5 on a run of non-ASCII characters: NFD over the characters Unicode 14.0.0 assigned
/// (the others pass unchanged: they are starters to Python, so no reordering crosses them),
/// then every Mn character dropped.
fn nfd_without_marks(run: &str, out: &mut String) {
    let mut keep = |c: char| {
        if c.is_ascii() || !in_ranges(c, t::MN) {
            out.push(c);
        }
    };
    let mut start = 0;
    for (i, c) in run.char_indices() {
        if in_ranges(c, t::UNASSIGNED) {
            run[start..i].nfd().for_each(&mut keep);
            keep(c);
            start = i + c.len_utf8();
        }
    }
    run[start..].nfd().for_each(&mut keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_datatrove() {
        assert_eq!(
            simplify_text("The quick brown fox jumps over the lazy dog."),
            "the quick brown fox jumps over the lazy dog"
        );
        // numbers: one separator joins two digit runs; a second does not
        assert_eq!(numbers_to_zero("1,234,567 3.14.15 5. .5 v2.0"), "0,0 0.0 0. .0 v0");
        assert_eq!(numbers_to_zero("١٢٣٫٤"), "0");
        // punctuation before whitespace: \r and \x1c become spaces; \t stays whitespace
        assert_eq!(simplify_text("a\r\x1cb\tc"), "a b c");
        // NFD then Mn removal; the double space left behind stays
        assert_eq!(simplify_text("Café a \u{301} b"), "cafe a  b");
        // U+2018 is not in PUNCTUATION, U+2019 is
        assert_eq!(simplify_text("\u{2018}the\u{2019}s"), "\u{2018}the s");
    }

    #[test]
    fn lower_is_pythons() {
        assert_eq!(py_lower("ΟΔΟΣ"), "\u{3bf}\u{3b4}\u{3bf}\u{3c2}");
        assert_eq!(py_lower("ΟΔΟΣ'"), "\u{3bf}\u{3b4}\u{3bf}\u{3c2}'");
        assert_eq!(py_lower("ΣΑ"), "σα");
        assert_eq!(py_lower("Σ"), "σ");
        assert_eq!(py_lower("İ"), "i\u{307}");
        assert_eq!(py_lower("ÀB"), "àb");
    }
}
