//! Parquet input: each row group is one unit of work, read on a worker thread, so a single
//! large file is spread over every core.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{BadRecord, InputFile, PlannedSource, ReadOutput};
use crate::error::{Error, Result};

fn builder(file: &InputFile) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| Error::input(file.display(), format!("not a readable Parquet file: {e}")))
}

/// Arrow schema of a Parquet file.
pub fn file_schema(file: &InputFile) -> Result<SchemaRef> {
    Ok(Arc::clone(builder(file)?.schema()))
}

/// Row counts of every row group of a file (read from the footer).
pub fn row_groups(file: &InputFile) -> Result<Vec<u64>> {
    let b = builder(file)?;
    Ok(b.metadata().row_groups().iter().map(|rg| rg.num_rows() as u64).collect())
}

/// Compressed bytes of every row group of a file (read from the footer).
pub fn row_group_bytes(file: &InputFile) -> Result<Vec<u64>> {
    let b = builder(file)?;
    Ok(b.metadata().row_groups().iter().map(|rg| rg.compressed_size().max(0) as u64).collect())
}

/// Reads row group `index` (whose first row is `first_row`, 0-based) into a document batch.
pub fn read_row_group(
    file: &InputFile,
    index: usize,
    first_row: u64,
    rows: u64,
    source: &PlannedSource,
    doc_schema: &SchemaRef,
) -> Result<ReadOutput> {
    let cfg = &source.config;
    let mut out = ReadOutput { records: rows, ..Default::default() };
    let corrupt = |message: String| BadRecord {
        kind: "corrupt_file",
        file: file.display(),
        line: Some(first_row + 1),
        message,
        record: None,
        records: rows,
        policy: None,
    };
    let read = (|| -> Result<Vec<RecordBatch>> {
        let reader = builder(file)?.with_row_groups(vec![index]).with_batch_size(8192).build()?;
        Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
    })();
    let batches = match read {
        Ok(b) => b,
        Err(e) => {
            out.bad.push(corrupt(format!(
                "row group {index} (rows {}..) cannot be read: {e}",
                first_row + 1
            )));
            return Ok(out);
        }
    };
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => return Ok(out),
    };
    let raw = arrow::compute::concat_batches(&schema, &batches)?;
    let Some(text) = raw.column_by_name(&cfg.text_field) else {
        out.bad.push(BadRecord {
            kind: "wrong_type",
            file: file.display(),
            line: None,
            message: format!("no column `{}` in this file", cfg.text_field),
            record: None,
            records: rows,
            policy: None,
        });
        return Ok(out);
    };
    if !super::is_string(text.data_type()) {
        out.bad.push(BadRecord {
            kind: "wrong_type",
            file: file.display(),
            line: None,
            message: format!("column `{}` is {}, not a string", cfg.text_field, text.data_type()),
            record: None,
            records: rows,
            policy: None,
        });
        return Ok(out);
    }
    let text: ArrayRef = arrow::compute::cast(text, &DataType::Utf8)?;
    let strings = text.as_any().downcast_ref::<arrow::array::StringArray>().expect("cast to Utf8");
    let row = |i: usize| first_row + i as u64 + 1;
    let mask = super::classify_text(strings, file, &mut out, |i| {
        let row = row(i);
        (row, format!("column `{}` is null in row {row}", cfg.text_field), None)
    });
    let lines: Vec<u64> =
        mask.iter().enumerate().filter(|(_, k)| k == &Some(true)).map(|(i, _)| row(i)).collect();
    let raw = arrow::compute::filter_record_batch(&raw, &mask)?;
    if raw.num_rows() == 0 {
        return Ok(out);
    }
    let text = arrow::compute::filter(&text, &mask)?;
    let ids = raw.column_by_name(&cfg.id_field);
    out.batch = Some(super::to_document_batch(doc_schema, source, file, &lines, ids, text, &raw)?);
    Ok(out)
}
