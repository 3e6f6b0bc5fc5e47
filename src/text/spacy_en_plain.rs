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
use super::spacy_en_affix::{Alt, Body};
use super::spacy_en_data as data;

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
        PlainChars { masks, bytes }
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
