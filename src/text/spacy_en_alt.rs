//! One alternative of spaCy's prefix, suffix or infix regexes ([`Alt`]) and how it matches
//! with Python `re` semantics: a body ([`Body`]: a literal, a character class or the run
//! `\.\.+`) with an optional fixed-width look-behind and an optional one-character look-ahead.
//!
//! `gen_tables.py` writes the rules as lists of these into `spacy_en_data.rs`; `spacy_en_affix`
//! searches them and `spacy_en_plain` reads their bodies. Keeping the type here, below all
//! three, keeps the generated data from depending on the searcher that uses it.

use super::charset::CharSet;

/// The part of an alternative that consumes text.
#[derive(Debug)]
pub enum Body {
    /// A literal string.
    Lit(&'static str),
    /// One character of a class.
    Class(&'static CharSet),
    /// `\.\.+`: two or more `.`, greedy.
    DotRun,
}

/// One alternative of a prefix, suffix or infix regex.
#[derive(Debug)]
pub struct Alt {
    /// `(?<=...)`: classes of the characters right before the body, in text order.
    pub behind: &'static [&'static CharSet],
    /// What the alternative consumes.
    pub body: Body,
    /// `(?=[..])` (`false`) or `(?![..])` (`true`) on the character right after the body.
    pub ahead: Option<(&'static CharSet, bool)>,
}

impl Alt {
    /// Whether the characters of `s` before byte `p` satisfy the look-behind.
    #[inline]
    fn behind_ok(&self, s: &str, p: usize) -> bool {
        if self.behind.is_empty() {
            return true;
        }
        let mut it = s[..p].chars().rev();
        self.behind.iter().rev().all(|cs| it.next().is_some_and(|c| cs.contains(c)))
    }

    /// Whether the character of `s` at byte `end` (if any) satisfies the look-ahead.
    #[inline]
    fn ahead_ok(&self, s: &str, end: usize) -> bool {
        match self.ahead {
            None => true,
            Some((cs, negated)) => {
                let hit = s[end..].chars().next().is_some_and(|c| cs.contains(c));
                hit != negated
            }
        }
    }

    /// End (byte offset) of a match of the body starting at byte `p`, without look-around.
    #[inline]
    fn body_at(&self, s: &str, p: usize) -> Option<usize> {
        let rest = &s[p..];
        match self.body {
            Body::Lit(l) => rest.starts_with(l).then_some(p + l.len()),
            Body::Class(cs) => {
                let c = rest.chars().next()?;
                cs.contains(c).then_some(p + c.len_utf8())
            }
            Body::DotRun => {
                let n = rest.bytes().take_while(|&b| b == b'.').count();
                (n >= 2).then_some(p + n)
            }
        }
    }

    /// Full match (with look-around) starting at byte `p`: its end.
    #[inline]
    pub(super) fn match_at(&self, s: &str, p: usize) -> Option<usize> {
        let end = self.body_at(s, p)?;
        (self.behind_ok(s, p) && self.ahead_ok(s, end)).then_some(end)
    }

    /// Start of a match that ends exactly at the end of `s` (a `$`-anchored alternative).
    #[inline]
    pub(super) fn match_ending(&self, s: &str) -> Option<usize> {
        let start = match self.body {
            Body::Lit(l) => s.len().checked_sub(l.len()).filter(|_| s.ends_with(l))?,
            Body::Class(cs) => {
                let c = s.chars().next_back()?;
                if !cs.contains(c) {
                    return None;
                }
                s.len() - c.len_utf8()
            }
            Body::DotRun => {
                let n = s.bytes().rev().take_while(|&b| b == b'.').count();
                if n < 2 {
                    return None;
                }
                s.len() - n
            }
        };
        (self.behind_ok(s, start) && self.ahead_ok(s, s.len())).then_some(start)
    }

    /// The characters the body can start (`last == false`) or end (`last == true`) with,
    /// when that is a finite list; `None` for a class.
    pub(super) fn edge_chars(&self, last: bool) -> Option<Vec<char>> {
        match self.body {
            Body::Lit(l) => {
                Some(vec![if last { l.chars().next_back() } else { l.chars().next() }?])
            }
            Body::DotRun => Some(vec!['.']),
            Body::Class(_) => None,
        }
    }

    /// The class of a class body; `None` for a literal or a dot run.
    pub(super) fn class(&self) -> Option<&'static CharSet> {
        match self.body {
            Body::Class(cs) => Some(cs),
            _ => None,
        }
    }
}
