//! JSONL input: streaming decompression into chunks of lines (producer thread) and parsing a
//! chunk into a record batch with per-line error reports (worker threads).

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::json::ReaderBuilder;

use super::escapes;
use super::linecheck::{self, Checked, LineError, TextKind};
use super::{BadRecord, Compression, InputFile, PlannedSource, ReadOutput};
use crate::config::{OnError, SourceConfig, Utf8Policy};
use crate::error::{Error, Result};

/// Lines used to infer a JSONL source's schema.
const INFER_LINES: usize = 1000;
/// Bytes of a file read at most to infer its schema: a corpus of book-length documents would
/// otherwise be read and parsed whole before the run starts.
const INFER_BYTES: usize = 16 << 20;
/// Largest raw record copied into the quarantine.
const MAX_QUARANTINE_RECORD: usize = 64 << 10;

/// Counts compressed bytes read, for progress reporting.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens a JSONL file as a buffered stream of decompressed bytes; `count` receives the
/// compressed bytes consumed.
pub fn open(file: &InputFile, count: Arc<AtomicU64>) -> Result<Box<dyn BufRead + Send>> {
    let f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    let raw = Counting { inner: f, count };
    Ok(match file.compression {
        Compression::None => Box::new(BufReader::with_capacity(1 << 20, raw)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(BufReader::new(raw)),
        )),
        Compression::Zstd => {
            let mut d =
                zstd::stream::read::Decoder::new(raw).map_err(|e| Error::io(&file.path, e))?;
            // Allow long-distance windows up to 2 GiB (files written with `zstd --long=31`).
            d.window_log_max(31).map_err(|e| Error::io(&file.path, e))?;
            Box::new(BufReader::with_capacity(1 << 20, d))
        }
    })
}

/// Infers the raw schema from the first lines of the source's first file: 1,000 records
/// (`INFER_LINES`), or the records in its first 16 MiB (`INFER_BYTES`; at least one) if fewer.
pub fn infer_schema(cfg: &SourceConfig, files: &[Arc<InputFile>]) -> Result<SchemaRef> {
    let file = &files[0];
    let mut reader = open(file, Arc::new(AtomicU64::new(0)))?;
    let mut values = Vec::new();
    let mut line = Vec::new();
    let mut lineno = 0u64;
    let mut read = 0usize;
    while values.len() < INFER_LINES && (read < INFER_BYTES || values.is_empty()) {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(n) => read += n,
            // A damaged file is reported with its line when the run reaches it.
            Err(_) => break,
        }
        lineno += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = if lineno == 1 { strip_bom(&line) } else { &line };
        if let Ok(v @ serde_json::Value::Object(_)) =
            serde_json::from_slice::<serde_json::Value>(record)
        {
            values.push(v);
        }
    }
    if values.is_empty() {
        // Empty or unreadable first file: only the text (and id) columns are known.
        return Ok(Arc::new(Schema::new(vec![Field::new(&cfg.text_field, DataType::Utf8, true)])));
    }
    let schema = arrow::json::reader::infer_json_schema_from_iterator(values.into_iter().map(Ok))
        .map_err(|e| {
        Error::input(
            file.display(),
            format!("cannot infer a schema from the first {lineno} lines: {e}"),
        )
    })?;
    // The text field is always decoded as a string (a number there is reported as a wrong type
    // by `linecheck`), and so is the id: numeric ids read as written, and a file whose first
    // ids are numbers may have string ids later.
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if f.name() == &cfg.text_field || f.name() == &cfg.id_field {
                Field::new(f.name(), DataType::Utf8, true)
            } else {
                f.as_ref().clone().with_nullable(true)
            }
        })
        .collect();
    let mut fields = fields;
    if !fields.iter().any(|f| f.name() == &cfg.text_field) {
        fields.push(Field::new(&cfg.text_field, DataType::Utf8, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// A chunk of raw lines, cut by the producer.
#[derive(Debug)]
pub struct Chunk {
    /// Raw bytes of whole lines (each ends with `\n`, except perhaps the file's last).
    pub data: Vec<u8>,
    /// 1-based line number of the first line.
    pub first_line: u64,
}

/// A file's first line without its UTF-8 byte-order mark, if it has one (editors on Windows
/// write one; it is not part of the first record).
fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

/// `s` cut to at most `max` bytes (at a character boundary), marked when cut.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} …", &s[..end])
}

fn lossy(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_QUARANTINE_RECORD)];
    String::from_utf8_lossy(cut).trim_end().to_string()
}

/// Parses a chunk into a document batch.
pub fn parse_chunk(
    chunk: &Chunk,
    file: &InputFile,
    source: &PlannedSource,
    doc_schema: &SchemaRef,
) -> Result<ReadOutput> {
    let cfg = &source.config;
    let mut out = ReadOutput::default();
    // What the decoder reads (escaped surrogate pairs made raw, see `escapes`) and the line as
    // it is in the file (for the quarantine).
    let mut good: Vec<Cow<[u8]>> = Vec::new();
    let mut good_raw: Vec<&[u8]> = Vec::new();
    let mut good_lines: Vec<u64> = Vec::new();
    let known: Vec<&str> = source.raw_schema.fields().iter().map(|f| f.name().as_str()).collect();
    let bad = |kind, line, message: String, raw: &[u8]| BadRecord {
        kind,
        file: file.display(),
        line: Some(line),
        message,
        record: Some(lossy(raw)),
        records: 1,
        policy: None,
    };
    for (i, raw) in chunk.data.split_inclusive(|&b| b == b'\n').enumerate() {
        let line = chunk.first_line + i as u64;
        let raw = if line == 1 { strip_bom(raw) } else { raw };
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.records += 1;
        let mut replaced = None;
        if let Err(e) = std::str::from_utf8(raw) {
            let policy = match cfg.invalid_utf8 {
                Some(Utf8Policy::Replace) => {
                    out.replaced_invalid_utf8 += 1;
                    replaced = Some(String::from_utf8_lossy(raw).into_owned().into_bytes());
                    None
                }
                Some(Utf8Policy::Skip) => Some(Some(OnError::Skip)),
                Some(Utf8Policy::Fail) => Some(Some(OnError::Fail)),
                None => Some(None),
            };
            if let Some(policy) = policy {
                let message = format!("invalid UTF-8 at byte {} of the line", e.valid_up_to());
                out.bad.push(BadRecord { policy, ..bad("invalid_utf8", line, message, raw) });
                continue;
            }
        }
        // Escaped surrogate pairs made raw, lone ones rejected, before anything decodes a string.
        let prepared = match replaced.as_deref().map_or(escapes::prepare(raw), |r| {
            escapes::prepare(r).map(|p| Cow::Owned(p.into_owned()))
        }) {
            Ok(prepared) => prepared,
            Err(e) => {
                out.bad.push(bad("lone_surrogate", line, e.to_string(), raw));
                continue;
            }
        };
        match linecheck::check(&prepared, &cfg.text_field, &known) {
            Err(LineError::Malformed(e)) => {
                out.bad.push(bad("invalid_json", line, format!("malformed JSON: {e}"), raw));
                continue;
            }
            Err(LineError::NotAnObject) => {
                out.bad.push(bad(
                    "invalid_json",
                    line,
                    "the line is valid JSON but not an object".into(),
                    raw,
                ));
                continue;
            }
            Ok(Checked { text: TextKind::Other(what), .. }) => {
                let message = format!(
                    "a field has the wrong type: `{}` is {what}, not a string",
                    cfg.text_field
                );
                out.bad.push(bad("wrong_type", line, message, raw));
                continue;
            }
            Ok(Checked { unknown, .. }) => {
                for key in unknown {
                    *out.unknown_fields.entry(key).or_insert(0) += 1;
                }
            }
        }
        good.push(prepared);
        good_raw.push(raw);
        good_lines.push(line);
    }
    if good.is_empty() {
        return Ok(out);
    }
    let decoded = match decode(&source.raw_schema, &good) {
        Ok(batch) => batch,
        Err(_) => {
            // Type errors surface for the whole chunk; find the lines one by one.
            let mut batches = Vec::new();
            let mut lines = Vec::new();
            let mut raws = Vec::new();
            for ((prepared, raw), &line) in good.iter().zip(&good_raw).zip(&good_lines) {
                match decode(&source.raw_schema, std::slice::from_ref(prepared)) {
                    Ok(b) => {
                        batches.push(b);
                        lines.push(line);
                        raws.push(*raw);
                    }
                    Err(e) => out.bad.push(bad(
                        "wrong_type",
                        line,
                        format!("a field has the wrong type: {}", clip(&e.to_string(), 400)),
                        raw,
                    )),
                }
            }
            // Reports in line order, the type errors among the others.
            out.bad.sort_by_key(|b| b.line);
            good_lines = lines;
            good_raw = raws;
            if batches.is_empty() {
                return Ok(out);
            }
            arrow::compute::concat_batches(&source.raw_schema, &batches)?
        }
    };
    finish(decoded, &good_lines, &good_raw, file, source, doc_schema, cfg, out)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    decoded: RecordBatch,
    lines: &[u64],
    raws: &[&[u8]],
    file: &InputFile,
    source: &PlannedSource,
    doc_schema: &SchemaRef,
    cfg: &SourceConfig,
    mut out: ReadOutput,
) -> Result<ReadOutput> {
    let text = decoded.column_by_name(&cfg.text_field).expect("text field is in the raw schema");
    let text =
        text.as_any().downcast_ref::<arrow::array::StringArray>().expect("text decoded as Utf8");
    // One raw line per decoded row (lines dropped as `wrong_type` are gone from both).
    let raw_of = |i: usize| raws.get(i).map(|r| lossy(r));
    // One line per decoded row; the rule looks at no more rows than there are lines.
    let rows = text.slice(0, text.len().min(lines.len()));
    let mask = super::classify_text(&rows, file, &mut out, |i| {
        (lines[i], format!("field `{}` is missing or null", cfg.text_field), raw_of(i))
    });
    let decoded = arrow::compute::filter_record_batch(&decoded, &mask)?;
    let kept_lines: Vec<u64> =
        lines.iter().zip(mask.iter()).filter(|(_, k)| k == &Some(true)).map(|(l, _)| *l).collect();
    if decoded.num_rows() == 0 {
        return Ok(out);
    }
    let ids: Option<&ArrayRef> = decoded.column_by_name(&cfg.id_field);
    let texts = Arc::clone(decoded.column_by_name(&cfg.text_field).expect("text"));
    out.batch = Some(super::to_document_batch(
        doc_schema,
        source,
        file,
        &kept_lines,
        ids,
        texts,
        &decoded,
    )?);
    Ok(out)
}

/// Decodes lines with the raw schema. A number or boolean in a string column (an id written as
/// 7) is read as its JSON text, as written; the text field never holds one (`linecheck`).
fn decode(
    schema: &SchemaRef,
    lines: &[Cow<[u8]>],
) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
    let mut decoder = ReaderBuilder::new(Arc::clone(schema))
        .with_batch_size(lines.len().max(1))
        .with_coerce_primitive(true)
        .build_decoder()?;
    for raw in lines {
        let mut buf: &[u8] = raw.as_ref();
        while !buf.is_empty() {
            let n = decoder.decode(buf)?;
            if n == 0 {
                break;
            }
            buf = &buf[n..];
        }
    }
    Ok(decoder.flush()?.unwrap_or_else(|| RecordBatch::new_empty(Arc::clone(schema))))
}

/// Cuts a file into chunks of about `max_bytes` or `max_lines`, whichever comes first.
pub struct Chunker {
    reader: Box<dyn BufRead + Send>,
    next_line: u64,
    max_bytes: usize,
    max_lines: usize,
    done: bool,
    any_record: bool,
    pending: Option<Cut>,
}

/// What the chunker yields.
pub enum Cut {
    /// A chunk of whole lines.
    Chunk(Chunk),
    /// The stream failed after `line - 1` whole lines.
    Failed {
        /// Line at which the failure happened.
        line: u64,
        /// The decompression or read error.
        message: String,
    },
    /// The file holds no record at all.
    Empty,
}

impl Chunker {
    /// Starts cutting `reader`, a whole file.
    pub fn new(reader: Box<dyn BufRead + Send>, max_bytes: usize, max_lines: usize) -> Self {
        Chunker {
            reader,
            next_line: 1,
            max_bytes,
            max_lines,
            done: false,
            any_record: false,
            pending: None,
        }
    }

    /// Number of the next line to cut (1-based).
    pub fn next_line(&self) -> u64 {
        self.next_line
    }

    /// Starts cutting `reader`, a range of a file whose first line is `first_line`; an empty
    /// range is not an empty file.
    pub fn range(
        reader: Box<dyn BufRead + Send>,
        first_line: u64,
        max_bytes: usize,
        max_lines: usize,
    ) -> Self {
        Chunker {
            next_line: first_line,
            any_record: true,
            ..Self::new(reader, max_bytes, max_lines)
        }
    }
}

impl Iterator for Chunker {
    type Item = Cut;

    fn next(&mut self) -> Option<Cut> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        if self.done {
            if !self.any_record {
                self.any_record = true;
                return Some(Cut::Empty);
            }
            return None;
        }
        let mut data = Vec::with_capacity(self.max_bytes.min(1 << 20) + 4096);
        let first_line = self.next_line;
        let mut lines = 0;
        while lines < self.max_lines && data.len() < self.max_bytes {
            let start = data.len();
            match self.reader.read_until(b'\n', &mut data) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(_) => {
                    if !data[start..].iter().all(u8::is_ascii_whitespace) {
                        self.any_record = true;
                    }
                    lines += 1;
                    self.next_line += 1;
                }
                Err(e) => {
                    self.done = true;
                    self.any_record = true;
                    // The partial line is not a record; everything before it is returned first.
                    data.truncate(start);
                    let failed = Cut::Failed {
                        line: self.next_line,
                        message: format!(
                            "the file is truncated or corrupt after line {}: {e}",
                            self.next_line - 1
                        ),
                    };
                    if lines == 0 {
                        return Some(failed);
                    }
                    self.pending = Some(failed);
                    return Some(Cut::Chunk(Chunk { data, first_line }));
                }
            }
        }
        if lines == 0 {
            return self.next();
        }
        Some(Cut::Chunk(Chunk { data, first_line }))
    }
}
