//! How `line_dedup` cuts a text into units (lines or paragraphs), keys them and puts the text
//! back together without the removed ones. A unit keeps its line breaks in the text; its key
//! is the unit without leading and trailing whitespace (and lowercased when asked), hashed
//! with xxh3-128 (the hash `exact_dedup` uses).

use super::Unit;

/// One unit of a text: its byte range (with the line breaks that end it and, for a
/// paragraph, the blank lines after it) and its key's hash (`None`: too short to count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub hash: Option<u128>,
}

/// Settings of the cut and the key.
#[derive(Debug, Clone, Copy)]
pub struct Cutter {
    pub unit: Unit,
    pub min_chars: usize,
    pub lowercase: bool,
}

impl Cutter {
    /// The units of `text` in order; together they cover it.
    pub fn spans(&self, text: &str) -> Vec<Span> {
        let mut out = Vec::new();
        let mut key = String::new();
        match self.unit {
            Unit::Line => {
                let mut at = 0;
                for line in text.split_inclusive('\n') {
                    let end = at + line.len();
                    out.push(Span { start: at, end, hash: self.hash(line, &mut key) });
                    at = end;
                }
            }
            Unit::Paragraph => {
                // a paragraph: non-blank lines up to a blank line; the blank lines after it
                // belong to it (leading blank lines form a unit of their own, never counted)
                let (mut start, mut at, mut in_blank) = (0, 0, false);
                for line in text.split_inclusive('\n') {
                    let blank = line.trim().is_empty();
                    if !blank && in_blank && at > start {
                        out.push(self.paragraph(text, start, at, &mut key));
                        start = at;
                    }
                    in_blank = blank;
                    at += line.len();
                }
                if at > start {
                    out.push(self.paragraph(text, start, at, &mut key));
                }
            }
        }
        out
    }

    fn paragraph(&self, text: &str, start: usize, end: usize, key: &mut String) -> Span {
        Span { start, end, hash: self.hash(&text[start..end], key) }
    }

    /// The hash of a unit's key, or `None` when the key has fewer than `min_chars` characters
    /// (a blank unit never counts).
    fn hash(&self, unit: &str, key: &mut String) -> Option<u128> {
        let k = unit.trim();
        if k.is_empty() || (self.min_chars > 1 && k.chars().count() < self.min_chars) {
            return None;
        }
        if self.lowercase {
            key.clear();
            key.extend(k.chars().flat_map(char::to_lowercase));
            Some(xxhash_rust::xxh3::xxh3_128(key.as_bytes()))
        } else {
            Some(xxhash_rust::xxh3::xxh3_128(k.as_bytes()))
        }
    }
}

/// The distinct hashes of `spans`, sorted (a unit counts once per document).
pub fn distinct(spans: &[Span]) -> Vec<u128> {
    let mut h: Vec<u128> = spans.iter().filter_map(|s| s.hash).collect();
    h.sort_unstable();
    h.dedup();
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(unit: Unit, text: &str) -> Vec<&str> {
        let c = Cutter { unit, min_chars: 1, lowercase: false };
        c.spans(text).iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn lines_and_paragraphs_cover_the_text() {
        let t = "\n\nTitle\nby someone\n\n\nFirst para\ncontinues\n  \nLast";
        assert_eq!(cut(Unit::Line, t).concat(), t);
        assert_eq!(cut(Unit::Paragraph, t).concat(), t);
        assert_eq!(
            cut(Unit::Paragraph, t),
            ["\n\n", "Title\nby someone\n\n\n", "First para\ncontinues\n  \n", "Last"]
        );
        assert_eq!(cut(Unit::Line, "a\nb"), ["a\n", "b"]);
    }

    #[test]
    fn keys_ignore_outer_whitespace_and_optionally_case() {
        let c = Cutter { unit: Unit::Line, min_chars: 3, lowercase: true };
        let s = c.spans("  Home  \nHOME\nab\n\n");
        assert_eq!(s[0].hash, s[1].hash);
        assert!(s[0].hash.is_some());
        assert_eq!(s[2].hash, None, "shorter than min_chars");
        assert_eq!(s[3].hash, None, "blank");
        assert_eq!(distinct(&s).len(), 1);
    }
}
