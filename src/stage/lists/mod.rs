//! Filters that match documents against published word and domain lists, reproducing
//! Hugging Face datatrove 0.10.1: `c4_badwords` (`C4BadWordsFilter`, the LDNOOBW lists) and
//! `url_filter` (`URLFilter`, banned words in the URL and blocked domains). See
//! `docs/filters.md` for their options and where they differ from the reference.
//!
//! This module holds what they share: reading a list file the way Python's
//! `for line in open(path)` sees it, a compact sorted set for lists with millions of entries
//! (datatrove's domain block list has 4.5 million), and string columns named by a dotted path
//! into struct columns (`meta.url`). Every list is read once, in `build`.

pub mod c4_badwords;
mod psl;
pub mod url_filter;

use std::cmp::Ordering;
use std::path::Path;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, SchemaRef};

use crate::error::{Error, Result};

/// Reads a whole list file as UTF-8 (as Python's `open(path)` does with a UTF-8 locale).
pub(crate) fn read_list_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes)
        .map_err(|e| Error::Invalid(format!("{}: not UTF-8 text ({e})", path.display())))
}

/// The lines of `text` as Python's text-mode file iteration yields them (universal newlines:
/// `\n`, `\r\n` and `\r` each end a line), without their terminators. A terminator at the very
/// end does not start an empty line; an empty line in the middle is yielded as `""`.
pub(crate) fn py_file_lines(text: &str) -> impl Iterator<Item = &str> + '_ {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\n', '\r']) {
            None => Some(std::mem::take(&mut rest)),
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
        }
    })
}

/// Python's `\W` for `str` patterns as a Rust regex class. Python's `\w` is letters (L*),
/// numbers (N*) and `_` (checked over every code point with Python 3.11); Rust regex's Unicode
/// `\w` also has combining marks (M*) and all connector punctuation, and lacks No (`²`, `½`).
pub(crate) const PY_NON_WORD_CLASS: &str = r"[^\p{L}\p{N}_]";

/// A set of strings kept in one buffer, sorted, and searched by bisection: about a third of
/// the memory of a `HashSet<String>` for lists with millions of short entries.
#[derive(Debug, Default)]
pub(crate) struct StrSet {
    buf: String,
    /// `offsets[i]..offsets[i + 1]` is entry `i` of `buf`; one more offset than entries.
    offsets: Vec<usize>,
}

impl StrSet {
    /// Builds the set; duplicates are kept once.
    pub(crate) fn new<'a>(items: impl IntoIterator<Item = &'a str>) -> Self {
        let mut items: Vec<&str> = items.into_iter().collect();
        items.sort_unstable();
        items.dedup();
        let mut buf = String::with_capacity(items.iter().map(|s| s.len()).sum());
        let mut offsets = Vec::with_capacity(items.len() + 1);
        offsets.push(0);
        for s in items {
            buf.push_str(s);
            offsets.push(buf.len());
        }
        StrSet { buf, offsets }
    }

    /// Number of distinct entries.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    fn get(&self, i: usize) -> &str {
        &self.buf[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Whether `s` is an entry.
    pub(crate) fn contains(&self, s: &str) -> bool {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid).cmp(s) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return true,
            }
        }
        false
    }
}

/// Checks at plan time that `path` names a `Utf8` column: a top-level column of that exact
/// name, or else a dotted path into struct columns (`meta.url`).
pub(crate) fn require_string_path(schema: &SchemaRef, path: &str) -> Result<()> {
    if schema.field_with_name(path).is_ok() || !path.contains('.') {
        return super::require_string(schema, path);
    }
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut dt = match schema.field_with_name(first) {
        Ok(f) => f.data_type(),
        Err(_) => return super::require_string(schema, path),
    };
    let mut walked = first.to_string();
    for part in parts {
        let DataType::Struct(fields) = dt else {
            return Err(Error::Invalid(format!(
                "column `{walked}` must be a struct to look up `{path}`, but it is {dt}"
            )));
        };
        let Some(f) = fields.iter().find(|f| f.name() == part) else {
            return Err(Error::Invalid(format!(
                "struct column `{walked}` has no field `{part}`; available: {}",
                fields.iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
            )));
        };
        walked = format!("{walked}.{part}");
        dt = f.data_type();
    }
    if dt != &DataType::Utf8 {
        return Err(Error::Invalid(format!("column `{path}` must be a string, but it is {dt}")));
    }
    Ok(())
}

/// The top-level columns [`string_at_path`] may read for `path`: the column named `path` and,
/// for a dotted path, the struct column named by its first part.
pub(crate) fn path_columns(path: &str) -> [&str; 2] {
    [path, path.split('.').next().unwrap_or(path)]
}

/// The `Utf8` column named by `path` (see [`require_string_path`]). A row is null when the
/// string or any struct above it is null.
pub(crate) fn string_at_path(batch: &RecordBatch, path: &str) -> Result<StringArray> {
    if batch.column_by_name(path).is_some() || !path.contains('.') {
        return super::string_column(batch, path).cloned();
    }
    let missing = || Error::Invalid(format!("the batch has no column `{path}`"));
    let mut parts = path.split('.');
    let mut array: ArrayRef =
        batch.column_by_name(parts.next().unwrap_or_default()).ok_or_else(missing)?.clone();
    let mut nulls: Option<NullBuffer> = None;
    for part in parts {
        let s = array.as_any().downcast_ref::<StructArray>().ok_or_else(missing)?;
        nulls = NullBuffer::union(nulls.as_ref(), s.nulls());
        array = s.column_by_name(part).ok_or_else(missing)?.clone();
    }
    let s = array.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
        Error::Invalid(format!("column `{path}` must be a string, found {}", array.data_type()))
    })?;
    let nulls = NullBuffer::union(nulls.as_ref(), s.nulls());
    Ok(StringArray::try_new(s.offsets().clone(), s.values().clone(), nulls)?)
}

#[cfg(test)]
pub(crate) mod test_data {
    //! Real corpora from `../shared/data/corpora` as batches, and the reference decisions of
    //! datatrove 0.10.1 on them (`tests/fixtures/datatrove_list_filters.tsv`).

    use std::collections::BTreeMap;
    use std::io::Read;
    use std::sync::Arc;

    use arrow::array::{RecordBatch, StringArray, StructArray};
    use arrow::datatypes::{DataType, Field, Fields, Schema};

    use crate::stage::{BuiltStage, ID, SOURCE, StageBuilder, TEXT, test_util};

    /// The records of `../shared/data/corpora/<name>.jsonl.zst`.
    pub fn corpus(name: &str) -> Vec<serde_json::Value> {
        let path = format!("../shared/data/corpora/{name}.jsonl.zst");
        let mut text = String::new();
        zstd::stream::read::Decoder::new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text.split('\n')
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A batch with `id`, `source`, `text` and a struct column `meta` holding `url` and `lang`
    /// (strings, null where the record has none).
    pub fn batch(records: &[serde_json::Value]) -> RecordBatch {
        let s = |key: &str| -> StringArray {
            records.iter().map(|r| r[key].as_str().map(str::to_string)).collect()
        };
        let m = |key: &str| -> StringArray {
            records.iter().map(|r| r["meta"][key].as_str().map(str::to_string)).collect()
        };
        let meta_fields = Fields::from(vec![
            Field::new("url", DataType::Utf8, true),
            Field::new("lang", DataType::Utf8, true),
        ]);
        let meta = StructArray::new(
            meta_fields.clone(),
            vec![Arc::new(m("url")), Arc::new(m("lang"))],
            None,
        );
        let src: StringArray = records.iter().map(|_| Some("test")).collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new(ID, DataType::Utf8, false),
                Field::new(SOURCE, DataType::Utf8, false),
                Field::new(TEXT, DataType::Utf8, true),
                Field::new("meta", DataType::Struct(meta_fields), true),
            ])),
            vec![Arc::new(s("id")), Arc::new(src), Arc::new(s("text")), Arc::new(meta)],
        )
        .unwrap()
    }

    /// Builds `config` for `batch` and returns `id -> reason` for every rejected row.
    pub fn rejected<B: StageBuilder>(config: &B, batch: &RecordBatch) -> BTreeMap<String, String> {
        let BuiltStage::Filter(f, _) = config.build(&test_util::build_cx(batch.schema())).unwrap()
        else {
            panic!("not a filter")
        };
        let reasons = f.evaluate(batch, &test_util::ctx()).unwrap().reasons;
        let ids = crate::stage::string_column(batch, ID).unwrap();
        ids.iter()
            .zip(reasons)
            .filter_map(|(id, r)| Some((id.unwrap().to_string(), r?.to_string())))
            .collect()
    }

    /// datatrove's decisions from the fixture: `id -> reason` of the rejected documents of
    /// `corpus` for `filter` (`c4_badwords`, `url_filter` or `url_filter_ut1`).
    pub fn reference(filter: &str, corpus: &str) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string("tests/fixtures/datatrove_list_filters.tsv").unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .filter(|f| f[0] == filter && f[1] == corpus)
            .map(|f| (f[2].to_string(), f[3].to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lines_follow_python_universal_newlines() {
        let lines: Vec<_> = py_file_lines("a\r\nb\rc\n\nd").collect();
        assert_eq!(lines, ["a", "b", "c", "", "d"]);
        assert_eq!(py_file_lines("a\n").collect::<Vec<_>>(), ["a"]);
        assert_eq!(py_file_lines("").count(), 0);
    }

    #[test]
    fn str_set_finds_exactly_its_entries() {
        let set = StrSet::new(["b.com", "a.com", "c.org", "a.com", ""]);
        assert_eq!(set.len(), 4);
        for s in ["", "a.com", "b.com", "c.org"] {
            assert!(set.contains(s), "{s}");
        }
        for s in ["a", "a.co", "b.comm", "d", "A.com"] {
            assert!(!set.contains(s), "{s}");
        }
        assert!(!StrSet::new([]).contains(""));
    }

    #[test]
    fn string_paths_reach_into_structs() {
        let records: Vec<serde_json::Value> = vec![
            serde_json::json!({"id": "a", "text": "t", "meta": {"url": "http://x.com/"}}),
            serde_json::json!({"id": "b", "text": "t", "meta": {}}),
        ];
        let b = test_data::batch(&records);
        require_string_path(&b.schema(), "meta.url").unwrap();
        require_string_path(&b.schema(), "text").unwrap();
        let urls = string_at_path(&b, "meta.url").unwrap();
        assert_eq!(urls.iter().collect::<Vec<_>>(), [Some("http://x.com/"), None]);
        let err = require_string_path(&b.schema(), "meta.nope").unwrap_err().to_string();
        assert!(err.contains("no field `nope`"), "{err}");
        let err = require_string_path(&b.schema(), "text.x").unwrap_err().to_string();
        assert!(err.contains("must be a struct"), "{err}");
        assert!(require_string_path(&b.schema(), "url").is_err());
    }
}
