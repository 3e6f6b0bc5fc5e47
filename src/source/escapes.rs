//! `\u` escapes in a JSONL line, checked and prepared for the Arrow JSON decoder.
//!
//! arrow-json 59.3.2 joins an escaped UTF-16 surrogate pair (`\ud840\udc00`) with
//! `(high - 0xD800) << 10 | (low - 0xDC00 + 0x10000)`: a bitwise OR where an addition is
//! needed, so the carry into bit 16 is lost and every escaped character from U+20000 up comes
//! out 0x10000 too low (U+20000 reads as U+10000), with no error (`char_from_surrogate_pair` in
//! `arrow-json/src/reader/tape.rs`). Python's `json.dumps` escapes every non-ASCII character by
//! default, so this would silently corrupt CJK Extension B–G, plane-14 tags and private use.
//!
//! The workaround: before a line reaches the decoder, every escaped surrogate pair is replaced
//! by the character's raw UTF-8 bytes, which the decoder copies as they are. The string value
//! is unchanged (JSON defines both spellings as the same string), the decoder never joins a
//! pair, and lines without a pair are passed through untouched. The same scan rejects lone or
//! reversed surrogate escapes, which name no Unicode scalar value, as bad records. See
//! `docs/input-fidelity.md`; the regression tests are in `tests/it/fidelity.rs`.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem::Finder;

/// Why a line's escapes cannot be read as Unicode text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoneSurrogate {
    /// Byte offset of the offending escape in the line.
    pub at: usize,
    /// Its four hex digits, as written.
    pub escape: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::fmt::Display for LoneSurrogate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the escape `\\u{}` at byte {} of the line is {}; it names no Unicode character",
            self.escape, self.at, self.reason
        )
    }
}

fn hex4(b: &[u8]) -> Option<u16> {
    let s = b.get(..4)?;
    let mut v = 0u16;
    for &c in s {
        v = v << 4 | (c as char).to_digit(16)? as u16;
    }
    Some(v)
}

/// The value of a `\uXXXX` escape starting at `i` (the backslash), if there is one.
fn escape_at(line: &[u8], i: usize) -> Option<u16> {
    if line.get(i) == Some(&b'\\') && line.get(i + 1) == Some(&b'u') {
        hex4(&line[i + 2..])
    } else {
        None
    }
}

static LOWER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\\ud"));
static UPPER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\\uD"));

/// Moves each search past `pos`.
fn advance(line: &[u8], next: &mut [Option<usize>; 2], pos: usize) {
    for (n, f) in next.iter_mut().zip([&*LOWER, &*UPPER]) {
        if n.is_some_and(|n| n < pos) {
            *n = line.get(pos..).and_then(|rest| f.find(rest)).map(|k| pos + k);
        }
    }
}

/// Checks the `\u` escapes of a line that is already known to be valid JSON: a lone high or
/// low surrogate escape is an error; escaped surrogate pairs are replaced by raw UTF-8 (the
/// returned line is borrowed when there is none).
pub fn prepare(line: &[u8]) -> Result<Cow<'_, [u8]>, LoneSurrogate> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    // Only `\ud…`/`\uD…` can start a surrogate escape: the two are searched for with memmem, so
    // text of other escapes (`\u00e9`, `\n`) costs a search, not a step per escape.
    let mut next = [LOWER.find(line), UPPER.find(line)];
    while let Some(i) = next.iter().flatten().min().copied() {
        let is_escape = line[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0;
        let v = escape_at(line, i).filter(|_| is_escape).unwrap_or(0);
        if !(0xD800..=0xDFFF).contains(&v) {
            advance(line, &mut next, i + 1);
            continue;
        }
        let lone = |reason| LoneSurrogate {
            at: i,
            escape: String::from_utf8_lossy(&line[i + 2..i + 6]).into_owned(),
            reason,
        };
        match v {
            0xD800..=0xDBFF => {
                let low = escape_at(line, i + 6)
                    .filter(|l| (0xDC00..=0xDFFF).contains(l))
                    .ok_or_else(|| lone("a high surrogate not followed by a low one"))?;
                let c = 0x10000 + ((u32::from(v) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                let c = char::from_u32(c).expect("a surrogate pair is a scalar value");
                let buf = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
                buf.extend_from_slice(&line[copied..i]);
                let mut utf8 = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                copied = i + 12;
            }
            _ => return Err(lone("a low surrogate without a high one before it")),
        }
        advance(line, &mut next, copied);
    }
    Ok(match out {
        None => Cow::Borrowed(line),
        Some(mut buf) => {
            buf.extend_from_slice(&line[copied..]);
            Cow::Owned(buf)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        String::from_utf8(prepare(s.as_bytes()).unwrap().into_owned()).unwrap()
    }

    #[test]
    fn pairs_become_raw_utf8_and_the_rest_is_untouched() {
        assert_eq!(ok(r#"{"t":"\ud840\udc00"}"#), "{\"t\":\"\u{20000}\"}");
        assert_eq!(ok(r#"{"t":"a\uDBFF\uDFFDb\u00e9"}"#), "{\"t\":\"a\u{10FFFD}b\\u00e9\"}");
        assert_eq!(ok(r#"{"t":"\\ud840 \n \u0000"}"#), r#"{"t":"\\ud840 \n \u0000"}"#);
        assert!(matches!(prepare(br#"{"t":"plain"}"#).unwrap(), Cow::Borrowed(_)));
    }

    /// The defect this module works around, shown on arrow-json itself. When an arrow upgrade
    /// fixes it, this test fails: the workaround may then go (the fidelity tests stay).
    #[test]
    fn arrow_json_still_joins_surrogate_pairs_wrongly() {
        use arrow::array::{Array, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        let schema = std::sync::Arc::new(Schema::new(vec![Field::new("t", DataType::Utf8, true)]));
        let mut d = arrow::json::ReaderBuilder::new(schema).build_decoder().unwrap();
        d.decode(br#"{"t":"\ud840\udc00"}"#).unwrap();
        let batch = d.flush().unwrap().unwrap();
        let t = batch.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(t.value(0), "\u{10000}", "arrow-json now decodes U+20000 right");
        let fixed = prepare(br#"{"t":"\ud840\udc00"}"#).unwrap();
        let mut d = arrow::json::ReaderBuilder::new(batch.schema()).build_decoder().unwrap();
        d.decode(&fixed).unwrap();
        let batch = d.flush().unwrap().unwrap();
        let t = batch.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(t.value(0), "\u{20000}");
    }

    #[test]
    fn lone_and_reversed_surrogates_are_errors() {
        for (line, at) in [
            (r#"{"t":"\udc00\ud800"}"#, 6),
            (r#"{"t":"x\ud800"}"#, 7),
            (r#"{"t":"\ud800\ud800"}"#, 6),
            (r#"{"t":"\ud800 \udc00"}"#, 6),
            (r#"{"t":"ok \ud83d\ude00 \udfff"}"#, 22),
        ] {
            let e = prepare(line.as_bytes()).unwrap_err();
            assert_eq!(e.at, at, "{line}: {e}");
        }
    }
}
