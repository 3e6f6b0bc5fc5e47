//! Which non-space chunks of text no affix rule can split.
//!
//! Every prefix, suffix and infix rule (see [`super::spacy_en_affix`]) matches a body (a
//! literal, a character class or a run of dots) and may require the character just before
//! it to be in a class. So a rule can only fire on a chunk that contains
//! - a *trigger* of the rule: for a literal, one of its characters (all of them must be in the
//!   chunk), preferring one that is not alphanumeric; for a class, any of its characters; for
//!   dots, `.`;
//! - and, if the rule looks behind, a character of that class.
//!
//! Rules that look behind for an ASCII digit (the unit suffixes such as `km`, and the infixes
//! between digits) are *unit* rules; every other rule counts as able to fire anywhere. Each
//! character gets a mask: [`FREE`] if it triggers a rule that may fire anywhere, [`UNIT`] if
//! it triggers a unit rule, [`DIGIT`] for the ASCII digits. A chunk whose characters' masks,
//! OR-ed together, pass [`PlainChars::plain`] cannot be split by any rule and, unless it is a
//! special case, is one token. `.` is [`FREE`] as well: `url_match` needs one.
//!
//! This generalises "only ASCII letters, or only ASCII digits" to every script: a chunk of
//! Cyrillic or accented letters is one token without running the rules.

use super::charset::CharSet;
use super::pystr::is_py_space_ascii;
use super::spacy_en_alt::{Alt, Body};
use super::spacy_en_data as data;
use super::swar::{self, HIGH, ONES};

/// Triggers a rule that may fire anywhere in a chunk.
pub(super) const FREE: u8 = 1;
/// Triggers a rule that fires only right after an ASCII digit.
pub(super) const UNIT: u8 = 2;
/// An ASCII digit.
pub(super) const DIGIT: u8 = 4;
/// In [`PlainChars::byte`]: Python whitespace (ASCII).
pub(super) const SPACE_BYTE: u8 = 0x40;
/// In [`PlainChars::byte`]: a byte of a non-ASCII character.
pub(super) const NON_ASCII_BYTE: u8 = 0x80;

/// Characters of the Basic Multilingual Plane that get a mask (others count as [`FREE`]).
const BMP: usize = 0x10000;

/// The mask of every character of the Basic Multilingual Plane.
#[derive(Debug)]
pub(super) struct PlainChars {
    masks: Box<[u8]>,
    /// Per byte: the mask of an ASCII character, or [`SPACE_BYTE`] or [`NON_ASCII_BYTE`].
    bytes: [u8; 256],
    /// The ASCII letters' masks OR-ed together, when none of them is [`FREE`]: then
    /// [`PlainChars::skip_letters`] may skip letters eight at a time.
    letters: Option<u8>,
}

impl Default for PlainChars {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `cs` is exactly the ASCII digits.
fn is_ascii_digits(cs: &CharSet) -> bool {
    cs.ranges.is_empty() && (0u8..128).all(|b| cs.ascii_contains(b) == b.is_ascii_digit())
}

impl PlainChars {
    /// Builds the masks from the prefix, suffix and infix rules.
    pub(super) fn new() -> Self {
        let mut masks = vec![0u8; BMP].into_boxed_slice();
        let mut mark = |c: char, bit: u8| {
            if (c as usize) < BMP {
                masks[c as usize] |= bit;
            }
        };
        for b in b'0'..=b'9' {
            mark(char::from(b), DIGIT);
        }
        mark('.', FREE);
        let alts: [&[Alt]; 3] = [data::PREFIX_ALTS, data::SUFFIX_ALTS, data::INFIX_ALTS];
        for alt in alts.into_iter().flatten() {
            let bit = match alt.behind.last() {
                Some(cs) if is_ascii_digits(cs) => UNIT,
                _ => FREE,
            };
            match alt.body {
                Body::Lit(l) => {
                    let c = l.chars().find(|c| !c.is_alphanumeric());
                    if let Some(c) = c.or_else(|| l.chars().next()) {
                        mark(c, bit);
                    }
                }
                Body::DotRun => mark('.', FREE),
                Body::Class(cs) => {
                    for b in 0u8..128 {
                        if cs.ascii_contains(b) {
                            mark(char::from(b), bit);
                        }
                    }
                    for &(lo, hi) in cs.ranges {
                        for u in lo..=hi.min(BMP as u32 - 1) {
                            if let Some(c) = char::from_u32(u) {
                                mark(c, bit);
                            }
                        }
                    }
                }
            }
        }
        let bytes = std::array::from_fn(|b| match b as u8 {
            b if !b.is_ascii() => NON_ASCII_BYTE,
            b if is_py_space_ascii(b) => SPACE_BYTE,
            b => masks[usize::from(b)],
        });
        let letters =
            (b'A'..=b'Z').chain(b'a'..=b'z').fold(0, |acc, b| acc | bytes[usize::from(b)]);
        let letters = (letters & FREE == 0).then_some(letters);
        PlainChars { masks, bytes, letters }
    }

    /// Skips the ASCII letters of `b` from `j` on, eight bytes at a time, while eight more bytes
    /// remain: returns where the letters stop (`j` itself when it is not a letter or the fast
    /// path is off) and a mask that covers theirs. The chunk scanner goes on from there byte
    /// by byte; in English text most words end within the first eight bytes.
    #[inline]
    pub(super) fn skip_letters(&self, b: &[u8], mut j: usize) -> (usize, u8) {
        let Some(letters) = self.letters else {
            return (j, 0);
        };
        let start = j;
        while let Some(x) = swar::load8(b, j) {
            // per byte: lower-cased, without the high bit (so the sums below cannot carry)
            let y = (x | (0x20 * ONES)) & !HIGH;
            let from_a = (y + (0x80 - u64::from(b'a')) * ONES) & HIGH;
            let past_z = (y + (0x80 - u64::from(b'z') - 1) * ONES) & HIGH;
            let letter = from_a & !past_z & !x & HIGH;
            if letter == HIGH {
                j += 8;
                continue;
            }
            j += ((!letter & HIGH).trailing_zeros() / 8) as usize;
            break;
        }
        (j, if j > start { letters } else { 0 })
    }

    /// What the chunk scanner needs of one byte (see [`PlainChars::bytes`]).
    #[inline]
    pub(super) fn byte(&self, b: u8) -> u8 {
        self.bytes[usize::from(b)]
    }

    /// The mask of any character.
    #[inline]
    pub(super) fn mask(&self, c: char) -> u8 {
        self.masks.get(c as usize).copied().unwrap_or(FREE)
    }

    /// Whether a chunk whose masks OR to `acc` is beyond every rule.
    #[inline]
    pub(super) fn plain(acc: u8) -> bool {
        acc & FREE == 0 && acc & (UNIT | DIGIT) != UNIT | DIGIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_letters_stops_at_the_first_non_letter() {
        let p = PlainChars::new();
        assert!(p.letters.is_some(), "no ASCII letter triggers a rule that fires anywhere");
        let mut rng = crate::text::xorshift(7);
        let alphabet = b"abcxyzABCXYZ@[`{\x7f .,'-09\xc3\xa9";
        for _ in 0..20_000 {
            let len = (rng() % 24) as usize;
            let bytes: Vec<u8> =
                (0..len).map(|_| alphabet[(rng() % alphabet.len() as u64) as usize]).collect();
            let from = if len == 0 { 0 } else { (rng() % len as u64) as usize };
            let (j, acc) = p.skip_letters(&bytes, from);
            let letters = bytes[from..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
            // skipped only while eight bytes remain, and never past a non-letter
            assert!(j >= from && j - from <= letters, "{bytes:?} from {from}");
            assert!(j - from == letters || bytes.len() - j < 8, "{bytes:?} from {from}");
            let exact = bytes[from..j].iter().fold(0, |a, b| a | p.byte(*b));
            assert_eq!(acc & exact, exact);
            assert_eq!(acc & FREE, 0);
        }
    }
}
