//! Sources: finding input files, inferring each source's document schema, cutting files into
//! units of work (chunks of JSONL lines, Parquet row groups) and turning a unit into a record
//! batch with the document schema `id, source, text, <carried columns>`.
//!
//! Cutting happens on one producer thread (decompression is sequential); parsing a unit
//! happens on the worker threads, so one huge file still uses every core.

pub mod escapes;
pub mod jsonl;
pub mod linecheck;
pub mod parquet;
pub mod slices;
pub mod units;

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, new_null_array};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use serde::Serialize;

use crate::config::{OnError, SourceConfig, SourceFormat};
use crate::error::{Error, Result};
use crate::stage::{ID, SOURCE, TEXT};

/// How a JSONL file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// zstd (`.zst`).
    Zstd,
}

/// One input file.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Path as matched.
    pub path: PathBuf,
    /// Index of the source in the pipeline.
    pub source: usize,
    /// File format.
    pub format: SourceFormat,
    /// Compression (JSONL only).
    pub compression: Compression,
    /// Size on disk.
    pub bytes: u64,
}

impl InputFile {
    /// Path for messages.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }
}

/// A source after planning: its files and its document schema.
#[derive(Debug, Clone)]
pub struct PlannedSource {
    /// The source configuration.
    pub config: SourceConfig,
    /// Matched files, sorted.
    pub files: Vec<Arc<InputFile>>,
    /// Schema of the raw records (JSONL: inferred; Parquet: the first file's).
    pub raw_schema: SchemaRef,
    /// Carried columns: (raw name, output field).
    pub carried: Vec<(String, FieldRef)>,
}

/// Detects format and compression from a file name.
pub fn detect(path: &str, format: Option<SourceFormat>) -> Result<(SourceFormat, Compression)> {
    let lower = path.to_ascii_lowercase();
    let (stem, compression) = if let Some(s) = lower.strip_suffix(".zst") {
        (s.to_string(), Compression::Zstd)
    } else if let Some(s) = lower.strip_suffix(".zstd") {
        (s.to_string(), Compression::Zstd)
    } else if let Some(s) = lower.strip_suffix(".gz") {
        (s.to_string(), Compression::Gzip)
    } else {
        (lower.clone(), Compression::None)
    };
    let detected = if stem.ends_with(".parquet") || stem.ends_with(".pq") {
        Some(SourceFormat::Parquet)
    } else if [".jsonl", ".json", ".ndjson", ".jsonlines"].iter().any(|e| stem.ends_with(e)) {
        Some(SourceFormat::Jsonl)
    } else {
        None
    };
    match format.or(detected) {
        Some(SourceFormat::Parquet) if compression != Compression::None => {
            Err(Error::Invalid(format!(
                "{path}: a Parquet file cannot be wrapped in .gz/.zst (Parquet compresses internally)"
            )))
        }
        Some(f) => Ok((f, compression)),
        None => Err(Error::Invalid(format!(
            "{path}: cannot tell the format from the extension; use .jsonl/.json/.ndjson (optionally .gz or .zst) or .parquet, or set `format:` on the source"
        ))),
    }
}

/// Expands a source's globs into sorted files.
pub fn resolve_files(index: usize, cfg: &SourceConfig) -> Result<Vec<Arc<InputFile>>> {
    let mut paths = Vec::new();
    for pattern in &cfg.paths {
        let matches = glob::glob(pattern).map_err(|e| {
            Error::Invalid(format!("source `{}`: bad glob `{pattern}`: {e}", cfg.name))
        })?;
        let mut found = 0;
        for m in matches {
            let p = m.map_err(|e| {
                Error::io(e.path().to_path_buf(), std::io::Error::other(e.to_string()))
            })?;
            if p.is_file() {
                paths.push(p);
                found += 1;
            }
        }
        if found == 0 {
            return Err(Error::Invalid(format!(
                "source `{}`: `{pattern}` matches no file (paths are relative to the directory sluice runs in)",
                cfg.name
            )));
        }
    }
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .map(|path| {
            let (format, compression) = detect(&path.to_string_lossy(), cfg.format)?;
            let bytes = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
            Ok(Arc::new(InputFile { path, source: index, format, compression, bytes }))
        })
        .collect()
}

/// Plans one source: files and schema.
pub fn plan_source(index: usize, cfg: &SourceConfig) -> Result<PlannedSource> {
    let files = resolve_files(index, cfg)?;
    let first = &files[0];
    let raw_schema = match first.format {
        SourceFormat::Jsonl => jsonl::infer_schema(cfg, &files)?,
        SourceFormat::Parquet => parquet::file_schema(first)?,
    };
    let text = raw_schema.field_with_name(&cfg.text_field).map_err(|_| {
        Error::Invalid(format!(
            "source `{}`: no field `{}` in {} (fields: {}); set `text_field`",
            cfg.name,
            cfg.text_field,
            first.display(),
            raw_schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
        ))
    })?;
    if !is_string(text.data_type()) && text.data_type() != &DataType::Null {
        return Err(Error::Invalid(format!(
            "source `{}`: field `{}` in {} is {}, not a string",
            cfg.name,
            cfg.text_field,
            first.display(),
            text.data_type()
        )));
    }
    for f in raw_schema.fields() {
        let depth = nesting(f.data_type());
        if depth > MAX_NESTING {
            return Err(Error::Invalid(format!(
                "source `{}`: field `{}` in {} nests {depth} levels deep; sluice carries at most {MAX_NESTING}, because Arrow and Parquet readers refuse deeper schemas (arrow-rs near 60 levels, pyarrow at 100); flatten the field or leave it out of the input",
                cfg.name,
                f.name(),
                first.display(),
            )));
        }
    }
    let carried = raw_schema
        .fields()
        .iter()
        .filter(|f| f.name() != &cfg.text_field && f.name() != &cfg.id_field)
        .map(|f| {
            let name = if [ID, SOURCE, TEXT, "doc_id"].contains(&f.name().as_str()) {
                format!("input_{}", f.name())
            } else {
                f.name().clone()
            };
            let dt = match f.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                other => other.clone(),
            };
            (f.name().clone(), Arc::new(Field::new(name, dt, true)))
        })
        .collect();
    Ok(PlannedSource { config: cfg.clone(), files, raw_schema, carried })
}

/// Deepest nesting of struct, list and map levels a carried column may have.
pub const MAX_NESTING: usize = 50;

/// Levels of struct, list and map in a type (0 for a scalar).
fn nesting(dt: &DataType) -> usize {
    match dt {
        DataType::Struct(fs) => 1 + fs.iter().map(|f| nesting(f.data_type())).max().unwrap_or(0),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::Map(f, _) => 1 + nesting(f.data_type()),
        _ => 0,
    }
}

/// True for Arrow string types.
pub fn is_string(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The document schema shared by all sources: `id, source, text` plus the union of the
/// carried columns in order of first appearance.
pub fn union_schema(sources: &[PlannedSource]) -> Result<SchemaRef> {
    let mut fields: Vec<FieldRef> = vec![
        Arc::new(Field::new(ID, DataType::Utf8, false)),
        Arc::new(Field::new(SOURCE, DataType::Utf8, false)),
        Arc::new(Field::new(TEXT, DataType::Utf8, false)),
    ];
    for s in sources {
        for (_, f) in &s.carried {
            match fields.iter().position(|g| g.name() == f.name()) {
                None => fields.push(Arc::clone(f)),
                Some(i) if fields[i].data_type() == f.data_type() => {}
                Some(i) => {
                    // Structs (e.g. a `meta` object with other keys) merge field by field.
                    let mut merged = fields[i].as_ref().clone();
                    merged.try_merge(f).map_err(|e| {
                        Error::Invalid(format!(
                            "column `{}` is {} in source `{}` but {} in an earlier source, and they cannot be merged ({e}); rename or drop it in one source",
                            f.name(),
                            f.data_type(),
                            s.config.name,
                            fields[i].data_type()
                        ))
                    })?;
                    fields[i] = Arc::new(merged);
                }
            }
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// What went wrong with one bad record.
#[derive(Debug, Clone, Serialize)]
pub struct BadRecord {
    /// Kind, used as the stats key: `invalid_json`, `invalid_utf8`, `lone_surrogate`, `missing_text`,
    /// `wrong_type`, `truncated_file`, `corrupt_file`, `empty_file`, `unreadable_file`.
    pub kind: &'static str,
    /// File path.
    pub file: String,
    /// 1-based line (JSONL) or row (Parquet), when known.
    pub line: Option<u64>,
    /// Human-readable explanation.
    pub message: String,
    /// The raw record (lossy UTF-8, truncated to 64 KiB), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// How many records this covers (1, or a whole row group or the rest of a file).
    pub records: u64,
    /// The source's own policy for this kind of record, over the pipeline's `on_error`.
    #[serde(skip)]
    pub policy: Option<OnError>,
}

impl BadRecord {
    /// The error this record becomes under `on_error: fail`.
    pub fn into_error(self) -> Error {
        let location = match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        };
        Error::input(
            location,
            format!("{} (set `on_error: skip` to skip and count such records)", self.message),
        )
    }
}

/// Result of reading one unit.
#[derive(Debug, Default)]
pub struct ReadOutput {
    /// Good documents, in the document schema; `None` if there were none.
    pub batch: Option<RecordBatch>,
    /// Bad records found.
    pub bad: Vec<BadRecord>,
    /// Records whose text was empty (dropped, counted as `empty_text`).
    pub empty_text: u64,
    /// JSONL: records with a top-level key that the source's schema (inferred from the first
    /// lines of its first file) lacks, by key; those values are not carried.
    pub unknown_fields: std::collections::BTreeMap<String, u64>,
    /// Records read (good, bad and empty).
    pub records: u64,
    /// Bytes of text in the good documents.
    pub text_bytes: u64,
    /// JSONL lines read with their invalid UTF-8 replaced (`invalid_utf8: replace`).
    pub replaced_invalid_utf8: u64,
}

/// Applies the bad-record policy: under `fail`, the first bad record is an error.
pub fn apply_policy(mut out: ReadOutput, on_error: OnError) -> Result<ReadOutput> {
    if let Some(k) = out.bad.iter().position(|b| b.policy.unwrap_or(on_error) == OnError::Fail) {
        return Err(out.bad.swap_remove(k).into_error());
    }
    Ok(out)
}

/// The text rule both readers apply to the decoded text column of a unit, row by row: a null
/// text (the field is missing or null) is a bad record of kind `missing_text`, for which
/// `missing(row)` gives the line (JSONL) or row (Parquet), the message and the raw record; an
/// empty text is dropped and counted in `out.empty_text`; any other text is kept and its bytes
/// are added to `out.text_bytes`. Returns which rows to keep.
pub(crate) fn classify_text(
    texts: &StringArray,
    file: &InputFile,
    out: &mut ReadOutput,
    mut missing: impl FnMut(usize) -> (u64, String, Option<String>),
) -> arrow::array::BooleanArray {
    let mut keep = Vec::with_capacity(texts.len());
    for i in 0..texts.len() {
        if texts.is_null(i) {
            let (line, message, record) = missing(i);
            out.bad.push(BadRecord {
                kind: "missing_text",
                file: file.display(),
                line: Some(line),
                message,
                record,
                records: 1,
                policy: None,
            });
            keep.push(false);
        } else if texts.value(i).is_empty() {
            out.empty_text += 1;
            keep.push(false);
        } else {
            out.text_bytes += texts.value(i).len() as u64;
            keep.push(true);
        }
    }
    arrow::array::BooleanArray::from(keep)
}

/// Builds the document-schema batch from raw columns.
///
/// `ids` may hold nulls (filled with `<source>/<file>:<line>`), `texts` must be non-null
/// and non-empty already; `carried` are the raw columns by raw name.
pub fn to_document_batch(
    schema: &SchemaRef,
    source: &PlannedSource,
    file: &InputFile,
    lines: &[u64],
    ids: Option<&ArrayRef>,
    texts: ArrayRef,
    raw: &RecordBatch,
) -> Result<RecordBatch> {
    let n = texts.len();
    let id_strings: Option<ArrayRef> = match ids {
        Some(a) if a.data_type() != &DataType::Null => {
            Some(arrow::compute::cast(a, &DataType::Utf8)?)
        }
        _ => None,
    };
    let id_strings = id_strings
        .as_ref()
        .map(|a| a.as_any().downcast_ref::<StringArray>().cloned().expect("cast to Utf8"));
    let id: StringArray = match id_strings {
        // The common case: every record has an id; keep the array as it is.
        Some(a) if a.null_count() == 0 => a,
        _ => {
            let file_name = file.display();
            let mut out = arrow::array::StringBuilder::with_capacity(n, n * 16);
            for (i, line) in lines.iter().enumerate().take(n) {
                match &id_strings {
                    Some(a) if a.is_valid(i) => out.append_value(a.value(i)),
                    _ => out.append_value(format!("{}/{}:{line}", source.config.name, file_name)),
                }
            }
            out.finish()
        }
    };
    let src: ArrayRef = Arc::new(StringArray::from(vec![source.config.name.as_str(); n]));
    let texts = arrow::compute::cast(&texts, &DataType::Utf8)?;
    let mut columns: Vec<ArrayRef> = vec![Arc::new(id), src, texts];
    for field in schema.fields().iter().skip(3) {
        let raw_name =
            source.carried.iter().find(|(_, f)| f.name() == field.name()).map(|(r, _)| r);
        let col = raw_name.and_then(|r| raw.column_by_name(r));
        columns.push(match col {
            Some(c) if c.data_type() == field.data_type() => Arc::clone(c),
            Some(c) => conform(c, field.data_type()).map_err(|e| {
                Error::input(
                    file.display(),
                    format!(
                        "column `{}` is {}, expected {}: {e}",
                        field.name(),
                        c.data_type(),
                        field.data_type()
                    ),
                )
            })?,
            None => new_null_array(field.data_type(), n),
        });
    }
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// Casts `array` to `to`; structs are matched field by field by name (missing fields become
/// null), so sources whose `meta` objects have different keys share one column.
pub fn conform(
    array: &ArrayRef,
    to: &DataType,
) -> std::result::Result<ArrayRef, arrow::error::ArrowError> {
    match (array.data_type(), to) {
        (DataType::Struct(_), DataType::Struct(target)) => {
            let s = array.as_any().downcast_ref::<arrow::array::StructArray>().expect("struct");
            let children = target
                .iter()
                .map(|f| match s.column_by_name(f.name()) {
                    Some(c) => conform(c, f.data_type()),
                    None => Ok(new_null_array(f.data_type(), s.len())),
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(Arc::new(arrow::array::StructArray::try_new(
                target.clone(),
                children,
                s.nulls().cloned(),
            )?))
        }
        _ => arrow::compute::cast(array, to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(
            detect("a/b.jsonl.zst", None).unwrap(),
            (SourceFormat::Jsonl, Compression::Zstd)
        );
        assert_eq!(detect("b.JSON.gz", None).unwrap(), (SourceFormat::Jsonl, Compression::Gzip));
        assert_eq!(detect("b.parquet", None).unwrap(), (SourceFormat::Parquet, Compression::None));
        assert!(detect("b.txt", None).is_err());
        assert_eq!(detect("b.txt", Some(SourceFormat::Jsonl)).unwrap().0, SourceFormat::Jsonl);
    }
}
