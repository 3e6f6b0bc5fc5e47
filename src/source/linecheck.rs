//! The per-line check of a JSONL record before the columnar decoder sees it: the line must be
//! one JSON object, and its text field must be a string (or null or absent, which the reader
//! reports as `missing_text`). One pass with serde_json that keeps only the kind of the text
//! field's value (the last one when a key is repeated, as the decoder reads it) and the
//! top-level keys that the source's schema does not have (the decoder skips them).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// What a record's text field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A string.
    Str,
    /// Null, or no such key.
    Missing,
    /// Another JSON type, named for messages ("a number").
    Other(&'static str),
}

/// How a line failed the check.
#[derive(Debug)]
pub enum LineError {
    /// Not JSON at all (serde_json's message).
    Malformed(String),
    /// Valid JSON, but not an object.
    NotAnObject,
}

/// What the check found in a good line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The kind of the text field's value.
    pub text: TextKind,
    /// Top-level keys that are not in `known`, in order of appearance.
    pub unknown: Vec<String>,
}

/// Checks one line (valid UTF-8 already): the kind of its `text_field`, and its top-level keys
/// that are not in `known` (the source's schema).
pub fn check(line: &[u8], text_field: &str, known: &[&str]) -> Result<Checked, LineError> {
    if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<IgnoredAny>(line) {
            Ok(_) => Err(LineError::NotAnObject),
            Err(e) => Err(LineError::Malformed(e.to_string())),
        };
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    Record { text_field, known }
        .deserialize(&mut de)
        .and_then(|k| de.end().map(|_| k))
        .map_err(|e| LineError::Malformed(e.to_string()))
}

/// The seed that walks a record object.
#[derive(Clone, Copy)]
struct Record<'a> {
    text_field: &'a str,
    known: &'a [&'a str],
}

impl<'de> DeserializeSeed<'de> for Record<'_> {
    type Value = Checked;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Checked, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Record<'_> {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        let mut out = Checked { text: TextKind::Missing, unknown: Vec::new() };
        while let Some(key) = map.next_key_seed(Key(self))? {
            match key {
                KeyIs::Text => out.text = kind(map.next_value::<&RawValue>()?),
                KeyIs::Known => {
                    map.next_value::<IgnoredAny>()?;
                }
                KeyIs::Unknown(name) => {
                    map.next_value::<IgnoredAny>()?;
                    if !out.unknown.contains(&name) {
                        out.unknown.push(name);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// What a key (unescaped) is.
enum KeyIs {
    Text,
    Known,
    Unknown(String),
}

/// Classifies a key against the text field and the known keys.
struct Key<'a>(Record<'a>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = KeyIs;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<KeyIs, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = KeyIs;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, v: &str) -> Result<KeyIs, E> {
        Ok(if v == self.0.text_field {
            KeyIs::Text
        } else if self.0.known.contains(&v) {
            KeyIs::Known
        } else {
            KeyIs::Unknown(v.to_string())
        })
    }
}

/// Names the type of a raw JSON value by its first byte (the string is not unescaped).
fn kind(v: &RawValue) -> TextKind {
    match v.get().as_bytes().first() {
        Some(b'"') => TextKind::Str,
        Some(b'n') => TextKind::Missing,
        Some(b't' | b'f') => TextKind::Other("a boolean"),
        Some(b'[') => TextKind::Other("an array"),
        Some(b'{') => TextKind::Other("an object"),
        _ => TextKind::Other("a number"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_the_text_field() {
        let k = |l: &str| check(l.as_bytes(), "text", &["id"]).unwrap().text;
        assert_eq!(k(r#"{"id":1,"text":"a"}"#), TextKind::Str);
        assert_eq!(k(r#"{"id":1,"te\u0078t":"a"}"#), TextKind::Str);
        assert_eq!(k(r#"{"id":1}"#), TextKind::Missing);
        assert_eq!(k(r#"{"text":null}"#), TextKind::Missing);
        assert_eq!(k(r#"{"text":42}"#), TextKind::Other("a number"));
        assert_eq!(k(r#"{"text":"a","text":[1]}"#), TextKind::Other("an array"));
        assert_eq!(k(r#"{"text":{"a":"b"}, "x": true}"#), TextKind::Other("an object"));
        assert!(matches!(check(b"[1]", "text", &[]), Err(LineError::NotAnObject)));
        assert!(matches!(check(b"{\"text\":", "text", &[]), Err(LineError::Malformed(_))));
        assert!(matches!(check(b"{} {}", "text", &[]), Err(LineError::Malformed(_))));
    }

    #[test]
    fn keys_outside_the_schema() {
        let line = br#"{"id":1,"text":"a","url":"u","extra":{"id":2},"url":"v","n\u00e9":0}"#;
        let c = check(line, "text", &["id", "url"]).unwrap();
        assert_eq!(c.unknown, ["extra", "n\u{e9}"]);
    }
}
