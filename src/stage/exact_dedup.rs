//! `exact_dedup` (ordered stateful): removes exact duplicates across every source and file.
//! The key is a 128-bit hash (xxh3-128) of the text after an optional normalization, or of a
//! column or SQL expression (a URL). Hashing runs on the workers ([`Ordered::prepare`]); the
//! decision runs in input order on one thread, so the first occurrence in input order survives
//! whatever the thread count. Each duplicate goes to `OUT/duplicates/<stage id>.parquet` with
//! the survivor's id.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::{
    BatchContext, BuildContext, BuiltStage, Decider, Decision, FilterMode, ID, Ordered, Prepared,
    SOURCE, SideOutput, StageBuilder, string_column,
};
use crate::error::{Error, Result};
use crate::sql::SqlExpr;

/// Removes exact duplicates: the first document in input order with a given key survives,
/// every later one is dropped (reason `duplicate`) and listed in `OUT/duplicates/<id>.parquet`
/// with the id of the document it duplicates. The normalization options apply to the key
/// only; the text written is unchanged.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExactDedupConfig {
    /// Column whose value is the key (a string column).
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// SQL expression whose value is the key, instead of `column` (e.g. `lower(url)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Compare case-insensitively (Unicode lowercase).
    #[serde(default)]
    pub lowercase: bool,
    /// Treat every run of whitespace as one space and ignore leading and trailing whitespace.
    #[serde(default)]
    pub fold_whitespace: bool,
    /// Ignore punctuation and symbols (every character that is neither a letter, a digit nor
    /// whitespace).
    #[serde(default)]
    pub fold_punctuation: bool,
    /// Treat every digit as `0` (`2023-01-05` equals `1999-12-31`).
    #[serde(default)]
    pub fold_digits: bool,
    /// Ignore accents: decompose (NFD) and drop combining marks (`café` equals `cafe`).
    #[serde(default)]
    pub strip_accents: bool,
    /// `drop` removes duplicates; `annotate` keeps them and adds `<id>_reason` (`duplicate`).
    #[serde(default)]
    pub mode: FilterMode,
}

impl Default for ExactDedupConfig {
    fn default() -> Self {
        ExactDedupConfig {
            column: super::normalize::default_column(),
            expression: None,
            lowercase: false,
            fold_whitespace: false,
            fold_punctuation: false,
            fold_digits: false,
            strip_accents: false,
            mode: FilterMode::Drop,
        }
    }
}

impl StageBuilder for ExactDedupConfig {
    const NAME: &'static str = "exact_dedup";

    fn example() -> Self {
        ExactDedupConfig {
            column: "text".into(),
            lowercase: true,
            fold_whitespace: true,
            ..Default::default()
        }
    }

    fn check(&self) -> Vec<String> {
        match &self.expression {
            Some(e) if e.trim().is_empty() => vec!["`expression` is empty".into()],
            _ => Vec::new(),
        }
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        let key = match &self.expression {
            Some(e) => {
                let expr = SqlExpr::compile(e, &cx.input_schema)?;
                if !crate::source::is_string(expr.data_type())
                    && !arrow::compute::can_cast_types(expr.data_type(), &DataType::Utf8)
                {
                    return Err(Error::Invalid(format!(
                        "expression `{e}` is {}, which cannot serve as a key",
                        expr.data_type()
                    )));
                }
                Key::Expression(expr)
            }
            None => {
                super::require_string(&cx.input_schema, &self.column)?;
                Key::Column(self.column.clone())
            }
        };
        let stage = ExactDedup {
            cfg: self.clone(),
            key,
            side: SideOutput {
                name: cx.stage_id.to_string(),
                kind: "duplicates",
                schema: duplicates_schema(),
            },
        };
        Ok(BuiltStage::Ordered(Box::new(stage), self.mode))
    }
}

/// Schema of `OUT/duplicates/<stage id>.parquet`.
pub fn duplicates_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new(SOURCE, DataType::Utf8, false),
        Field::new("duplicate_of", DataType::Utf8, false),
    ]))
}

enum Key {
    Column(String),
    Expression(SqlExpr),
}

struct ExactDedup {
    cfg: ExactDedupConfig,
    key: Key,
    side: SideOutput,
}

impl ExactDedupConfig {
    fn normalizes(&self) -> bool {
        self.lowercase
            || self.fold_whitespace
            || self.fold_punctuation
            || self.fold_digits
            || self.strip_accents
    }

    /// The key text of one value after the chosen normalizations (into `out`).
    pub fn normalize_into(&self, text: &str, out: &mut Vec<u8>) {
        if self.strip_accents {
            return self.normalize_chars(text, out);
        }
        // ASCII bytes take a byte path; every other character the character path (the same
        // rules, as the test `fast_path_equals_the_character_rules` checks)
        out.clear();
        let mut pending_space = false;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                i += 1;
                let ws = matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
                if self.fold_whitespace && ws {
                    pending_space = !out.is_empty();
                    continue;
                }
                if self.fold_punctuation && !b.is_ascii_alphanumeric() && !ws {
                    continue;
                }
                let b = if self.fold_digits && b.is_ascii_digit() { b'0' } else { b };
                let b = if self.lowercase { b.to_ascii_lowercase() } else { b };
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(b);
            } else {
                let c = text[i..].chars().next().expect("a char starts here");
                i += c.len_utf8();
                self.push_lowered(c, &mut pending_space, out);
            }
        }
    }

    /// Applies the rules to one character (lowercased first when asked).
    fn push_lowered(&self, c: char, pending_space: &mut bool, out: &mut Vec<u8>) {
        let mut one = |c: char| {
            if self.fold_whitespace && c.is_whitespace() {
                *pending_space = !out.is_empty();
                return;
            }
            if self.fold_punctuation && !c.is_alphanumeric() && !c.is_whitespace() {
                return;
            }
            let c = if self.fold_digits && c.is_numeric() { '0' } else { c };
            if *pending_space {
                out.push(b' ');
                *pending_space = false;
            }
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        };
        if self.lowercase {
            c.to_lowercase().for_each(&mut one);
        } else {
            one(c);
        }
    }

    /// The character-by-character rules (also the path with `strip_accents`).
    fn normalize_chars(&self, text: &str, out: &mut Vec<u8>) {
        out.clear();
        let mut pending_space = false;
        if self.strip_accents {
            for c in text.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)) {
                self.push_lowered(c, &mut pending_space, out);
            }
        } else {
            for c in text.chars() {
                self.push_lowered(c, &mut pending_space, out);
            }
        }
    }
}

/// The key of every row (`None` for a null value: never a duplicate).
type Keys = Vec<Option<u128>>;

impl Ordered for ExactDedup {
    fn prepare(&self, batch: &RecordBatch, _ctx: &BatchContext) -> Result<Prepared> {
        let values = match &self.key {
            Key::Column(c) => string_column(batch, c)?.clone(),
            Key::Expression(e) => {
                let a = arrow::compute::cast(&e.evaluate(batch)?, &DataType::Utf8)?;
                a.as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| Error::Internal("cast to utf8 gave no string array".into()))?
                    .clone()
            }
        };
        let mut buf = Vec::new();
        let keys: Keys = values
            .iter()
            .map(|v| {
                v.map(|v| {
                    if self.cfg.normalizes() {
                        self.cfg.normalize_into(v, &mut buf);
                        xxhash_rust::xxh3::xxh3_128(&buf)
                    } else {
                        xxhash_rust::xxh3::xxh3_128(v.as_bytes())
                    }
                })
            })
            .collect();
        Ok(Box::new(keys))
    }

    fn decider(&self) -> Box<dyn Decider> {
        Box::new(Seen::default())
    }

    fn side_output(&self) -> Option<SideOutput> {
        Some(self.side.clone())
    }
}

/// A hasher for keys that are already hashes: the low 64 bits of the key.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

/// A map keyed by 128-bit hashes (hashed again by taking their low bits).
pub(crate) type HashKeyed<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// The decider's state: key → the survivor's id, as (offset << 24 | length) into one arena.
#[derive(Default)]
struct Seen {
    first: HashMap<u128, u64, BuildHasherDefault<KeyHasher>>,
    ids: Vec<u8>,
    /// Keys added since the last export, in order.
    fresh: Vec<u128>,
}

const LEN_BITS: u32 = 24;

/// Reads a delta: (key, survivor id) entries, each 16 bytes of key (little endian), a u32
/// length and the id bytes.
fn entries(delta: &[u8]) -> Result<Vec<(u128, &[u8])>> {
    let bad = || Error::Internal("exact_dedup: a state file is truncated or corrupt".into());
    let mut out = Vec::new();
    let mut at = 0;
    while at < delta.len() {
        let key = u128::from_le_bytes(
            delta.get(at..at + 16).ok_or_else(bad)?.try_into().map_err(|_| bad())?,
        );
        let len = u32::from_le_bytes(
            delta.get(at + 16..at + 20).ok_or_else(bad)?.try_into().map_err(|_| bad())?,
        ) as usize;
        let id = delta.get(at + 20..at + 20 + len).ok_or_else(bad)?;
        out.push((key, id));
        at += 20 + len;
    }
    Ok(out)
}

fn push_entry(out: &mut Vec<u8>, key: u128, id: &[u8]) {
    out.extend_from_slice(&key.to_le_bytes());
    out.extend_from_slice(&(id.len() as u32).to_le_bytes());
    out.extend_from_slice(id);
}

impl Seen {
    fn insert(&mut self, key: u128, id: &[u8]) {
        let id = &id[..id.len().min((1 << LEN_BITS) - 1)];
        let slot = ((self.ids.len() as u64) << LEN_BITS) | id.len() as u64;
        self.ids.extend_from_slice(id);
        self.first.insert(key, slot);
        self.fresh.push(key);
    }

    fn survivor(&self, slot: u64) -> &str {
        let start = (slot >> LEN_BITS) as usize;
        let len = (slot & ((1 << LEN_BITS) - 1)) as usize;
        std::str::from_utf8(&self.ids[start..start + len]).unwrap_or("")
    }
}

impl Decider for Seen {
    fn decide(&mut self, batch: &RecordBatch, prepared: Prepared) -> Result<Decision> {
        let keys = prepared
            .downcast::<Keys>()
            .map_err(|_| Error::Internal("exact_dedup: prepared keys of the wrong type".into()))?;
        let ids = string_column(batch, ID)?;
        let sources = string_column(batch, SOURCE)?;
        let mut reasons = Vec::with_capacity(keys.len());
        let (mut dup_ids, mut dup_src, mut dup_of) =
            (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
        for (i, key) in keys.iter().enumerate() {
            let Some(key) = key else {
                reasons.push(None);
                continue;
            };
            match self.first.get(key) {
                Some(&slot) => {
                    reasons.push(Some("duplicate"));
                    dup_ids.append_value(ids.value(i));
                    dup_src.append_value(sources.value(i));
                    dup_of.append_value(self.survivor(slot));
                }
                None => {
                    self.insert(*key, ids.value(i).as_bytes());
                    reasons.push(None);
                }
            }
        }
        let side = if reasons.iter().any(Option::is_some) {
            Some(RecordBatch::try_new(
                duplicates_schema(),
                vec![
                    Arc::new(dup_ids.finish()),
                    Arc::new(dup_src.finish()),
                    Arc::new(dup_of.finish()),
                ],
            )?)
        } else {
            None
        };
        Ok(Decision { reasons, side, ..Default::default() })
    }

    fn state_bytes(&self) -> u64 {
        // hashbrown: buckets = capacity * 8 / 7 rounded up to a power of two, each holding a
        // 16-byte key, an 8-byte slot and one control byte
        let cap = self.first.capacity() as u64;
        let buckets = if cap == 0 { 0 } else { (cap * 8 / 7).next_power_of_two() };
        buckets * 25 + self.ids.capacity() as u64 + self.fresh.capacity() as u64 * 16
    }

    fn state_entries(&self) -> u64 {
        self.first.len() as u64
    }

    fn export(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for key in std::mem::take(&mut self.fresh) {
            let slot = self.first[&key];
            push_entry(&mut out, key, self.survivor(slot).as_bytes());
        }
        Ok(out)
    }

    fn import(&mut self, delta: &[u8]) -> Result<()> {
        for (key, id) in entries(delta)? {
            if !self.first.contains_key(&key) {
                self.insert(key, id);
            }
        }
        self.fresh.clear();
        Ok(())
    }

    fn merge(&mut self, local: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for (key, id) in entries(local)? {
            if !self.first.contains_key(&key) {
                self.insert(key, id);
                push_entry(&mut out, key, id);
            }
        }
        self.fresh.clear();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cfg: &ExactDedupConfig, s: &str) -> String {
        let mut out = Vec::new();
        cfg.normalize_into(s, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn normalizations() {
        let all = ExactDedupConfig {
            lowercase: true,
            fold_whitespace: true,
            fold_punctuation: true,
            fold_digits: true,
            strip_accents: true,
            ..Default::default()
        };
        assert_eq!(key(&all, "  Café,  déjà-vu!\n2023 "), "cafe dejavu 0000");
        let ws = ExactDedupConfig { fold_whitespace: true, ..Default::default() };
        assert_eq!(key(&ws, "a \t\n b  "), "a b");
        let lower = ExactDedupConfig { lowercase: true, ..Default::default() };
        assert_eq!(key(&lower, "ÀB"), "àb");
    }

    #[test]
    fn a_sql_expression_can_be_the_key() {
        let cfg = ExactDedupConfig {
            expression: Some("upper(substr(text, 1, 3))".into()),
            ..Default::default()
        };
        let b = crate::stage::test_util::batch(&["abc one", "ABC two", "abd", "xyz"]);
        let BuiltStage::Ordered(stage, _) =
            cfg.build(&crate::stage::test_util::build_cx(b.schema())).unwrap()
        else {
            panic!("not ordered")
        };
        let ctx = crate::stage::test_util::ctx();
        let out = stage.decider().decide(&b, stage.prepare(&b, &ctx).unwrap()).unwrap();
        assert_eq!(out.reasons, vec![None, Some("duplicate"), None, None]);
        let bad = ExactDedupConfig { expression: Some("no_such_column".into()), ..cfg };
        assert!(bad.build(&crate::stage::test_util::build_cx(b.schema())).is_err());
    }

    #[test]
    fn fast_path_equals_the_character_rules() {
        let pieces = [
            "a", "B", " ", "\t", "\n\n", "\u{b}", "\u{c}", "\r", "7", "٣", "Ⅻ", ",", "!", "é", "É",
            "İ", "ß", "\u{a0}", "\u{2003}", "\u{3000}", "漢", "Ω", "ǅ", "€", "_", "—", "\u{301}",
        ];
        let mut x: u64 = 1;
        for flags in 0..16u8 {
            let cfg = ExactDedupConfig {
                lowercase: flags & 1 != 0,
                fold_whitespace: flags & 2 != 0,
                fold_punctuation: flags & 4 != 0,
                fold_digits: flags & 8 != 0,
                ..Default::default()
            };
            for _ in 0..300 {
                let mut t = String::new();
                for _ in 0..12 {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    t.push_str(pieces[(x >> 33) as usize % pieces.len()]);
                }
                let (mut a, mut b) = (Vec::new(), Vec::new());
                cfg.normalize_into(&t, &mut a);
                cfg.normalize_chars(&t, &mut b);
                assert_eq!(a, b, "{t:?} with flags {flags}");
                assert!(std::str::from_utf8(&a).is_ok());
            }
        }
    }

    #[test]
    fn first_occurrence_survives_across_batches() {
        let cfg = ExactDedupConfig { fold_whitespace: true, ..Default::default() };
        let b = crate::stage::test_util::batch(&["a b", "c", "a  b", "c"]);
        let BuiltStage::Ordered(stage, _) =
            cfg.build(&crate::stage::test_util::build_cx(b.schema())).unwrap()
        else {
            panic!("not ordered")
        };
        let mut d = stage.decider();
        let ctx = crate::stage::test_util::ctx();
        let out = d.decide(&b, stage.prepare(&b, &ctx).unwrap()).unwrap();
        assert_eq!(out.reasons, vec![None, None, Some("duplicate"), Some("duplicate")]);
        let side = out.side.unwrap();
        let of = side.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((of.value(0), of.value(1)), ("d0", "d1"));
        let b2 = crate::stage::test_util::batch(&["c", "new"]);
        let out = d.decide(&b2, stage.prepare(&b2, &ctx).unwrap()).unwrap();
        assert_eq!(out.reasons, vec![Some("duplicate"), None]);
        assert_eq!(d.state_entries(), 3);
        assert!(d.state_bytes() > 3 * 24);
    }
}
