//! Unicode general categories as sets of code points, for `clean`'s `remove_categories`. The
//! ranges come from `regex-syntax`'s Unicode tables (the ones the `regex` crate matches `\p{..}`
//! with), so sluice carries no table of its own; only general-category names are accepted.

use regex_syntax::hir::{Class, HirKind};

use crate::error::{Error, Result};

/// Every general category and major class name `remove_categories` accepts.
pub const NAMES: &[&str] = &[
    "L", "LC", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P",
    "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp",
    "C", "Cc", "Cf", "Cs", "Co", "Cn",
];

/// A set of code points: sorted, disjoint, inclusive ranges.
#[derive(Debug, Clone)]
pub struct CharSet {
    ranges: Vec<(u32, u32)>,
    /// Membership of each ASCII character (the common case, without a search).
    ascii: [bool; 128],
}

impl CharSet {
    /// The union of the named general categories (`So`, `Co`, or a major class such as `S`).
    pub fn categories(names: &[String]) -> Result<CharSet> {
        let mut ranges = Vec::new();
        for name in names {
            if !NAMES.contains(&name.as_str()) {
                return Err(Error::Invalid(format!(
                    "`{name}` is not a Unicode general category; use one of {}",
                    NAMES.join(", ")
                )));
            }
            let hir = regex_syntax::ParserBuilder::new()
                .build()
                .parse(&format!(r"\p{{gc={name}}}"))
                .map_err(|e| Error::Invalid(format!("general category `{name}`: {e}")))?;
            match hir.kind() {
                HirKind::Class(Class::Unicode(c)) => {
                    ranges.extend(c.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)))
                }
                _ => return Err(Error::Internal(format!("`\\p{{{name}}}` is not a class"))),
            }
        }
        Ok(CharSet::from_ranges(ranges))
    }

    /// The set of the characters in `chars`.
    pub fn chars(chars: &str) -> CharSet {
        CharSet::from_ranges(chars.chars().map(|c| (c as u32, c as u32)).collect())
    }

    fn from_ranges(mut ranges: Vec<(u32, u32)>) -> CharSet {
        ranges.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match out.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        let mut ascii = [false; 128];
        for &(a, b) in &out {
            for c in a..=b.min(127) {
                ascii[c as usize] = true;
            }
        }
        CharSet { ranges: out, ascii }
    }

    /// The union of two sets.
    pub fn union(&self, other: &CharSet) -> CharSet {
        CharSet::from_ranges(self.ranges.iter().chain(&other.ranges).copied().collect())
    }

    /// Whether some character of `s` is in the set.
    pub fn any_in(&self, s: &str) -> bool {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] < 0x80 {
                if self.ascii[b[i] as usize] {
                    return true;
                }
                i += 1;
            } else {
                let c = s[i..].chars().next().unwrap_or('\0');
                if self.contains(c) {
                    return true;
                }
                i += c.len_utf8();
            }
        }
        false
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `c` is in the set.
    #[inline]
    pub fn contains(&self, c: char) -> bool {
        let c = c as u32;
        if c < 128 {
            return self.ascii[c as usize];
        }
        // The first range that ends at or after `c`.
        let i = self.ranges.partition_point(|&(_, b)| b < c);
        self.ranges.get(i).is_some_and(|&(a, _)| a <= c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_match_the_regex_crate() {
        let names: Vec<String> = ["So", "Co", "Cn", "Pd"].iter().map(|s| s.to_string()).collect();
        let set = CharSet::categories(&names).unwrap();
        let re = regex::Regex::new(r"^[\p{So}\p{Co}\p{Cn}\p{Pd}]$").unwrap();
        for c in (0..0x11_0000u32).step_by(7).filter_map(char::from_u32) {
            assert_eq!(
                set.contains(c),
                re.is_match(c.encode_utf8(&mut [0; 4])),
                "U+{:04X}",
                c as u32
            );
        }
        assert!(set.contains('©') && set.contains('—') && set.contains('\u{E000}'));
        assert!(set.any_in("ab ©") && !set.any_in("plain ascii, é"));
        assert!(!set.contains('a') && !set.contains(' ') && set.contains('-'));
    }

    #[test]
    fn scripts_and_unknown_names_are_refused() {
        for bad in ["Greek", "Xx", "so"] {
            let err = CharSet::categories(&[bad.to_string()]).unwrap_err().to_string();
            assert!(err.contains("not a Unicode general category"), "{err}");
        }
    }

    #[test]
    fn explicit_characters_merge_into_ranges() {
        let s = CharSet::chars("cab•");
        assert!(s.contains('a') && s.contains('b') && s.contains('c') && s.contains('•'));
        assert!(!s.contains('d'));
        assert_eq!(s.ranges.len(), 2);
    }
}
