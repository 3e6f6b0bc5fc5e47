//! A batch whose dropped rows are cut out only when every column is needed.
//!
//! A chain of filters drops rows stage after stage. Cutting every column of the batch after
//! each stage costs the most on wide or nested columns that no filter reads (Dolma's `meta`
//! struct of lists). Here a filter that names the columns it reads gets only those, cut to the
//! live rows; the other columns are cut once, when a stage needs the whole batch or the batch
//! leaves the chain. The rows and values that come out are the ones eager cutting gives.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow::compute::{FilterBuilder, filter};
use arrow::datatypes::{Field, Schema, SchemaRef};

use crate::error::Result;
use crate::stage::with_field;

/// A batch with deferred row drops and column edits.
pub(crate) struct LazyBatch {
    /// The batch as it was last materialized.
    base: RecordBatch,
    /// Rows of `base` still live (`None`: all of them).
    live: Option<BooleanArray>,
    rows: usize,
    /// The current schema: `base`'s, with columns replaced or appended.
    schema: SchemaRef,
    /// Per field of `schema`: its column for the live rows once it was read, replaced or
    /// added; `None`: still `base`'s column of the same position, uncut.
    cols: Vec<Option<ArrayRef>>,
}

impl LazyBatch {
    pub(super) fn new(base: RecordBatch) -> Self {
        let schema = base.schema();
        LazyBatch {
            rows: base.num_rows(),
            cols: vec![None; schema.fields().len()],
            schema,
            live: None,
            base,
        }
    }

    pub(super) fn num_rows(&self) -> usize {
        self.rows
    }

    pub(super) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The column at `i` of the current schema, for the live rows.
    fn column(&mut self, i: usize) -> Result<ArrayRef> {
        if let Some(c) = &self.cols[i] {
            return Ok(Arc::clone(c));
        }
        let c = match &self.live {
            None => Arc::clone(self.base.column(i)),
            Some(live) => filter(self.base.column(i), live)?,
        };
        self.cols[i] = Some(Arc::clone(&c));
        Ok(c)
    }

    /// The live rows of the named columns that exist (in the order given); a missing name is
    /// left out, so the stage that reads it reports it as it would on the whole batch.
    pub(super) fn view(&mut self, names: &[&str]) -> Result<RecordBatch> {
        let (mut fields, mut columns) = (Vec::new(), Vec::new());
        for name in names {
            if let Ok(i) = self.schema.index_of(name)
                && !fields.iter().any(|f: &Arc<Field>| f.name() == name)
            {
                fields.push(Arc::new(self.schema.field(i).clone()));
                columns.push(self.column(i)?);
            }
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, self.schema.metadata().clone()));
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        Ok(RecordBatch::try_new_with_options(schema, columns, &options)?)
    }

    /// Replaces the column named like `field`, or appends it (as [`with_field`] does).
    pub(super) fn set_column(&mut self, field: Field, array: ArrayRef) {
        let name = field.name().clone();
        self.schema = with_field(&self.schema, field);
        let i = self.schema.index_of(&name).expect("the field was just set");
        if i < self.cols.len() {
            self.cols[i] = Some(array);
        } else {
            self.cols.push(Some(array));
        }
    }

    /// Keeps the live rows where `keep` (one value per live row) is true.
    pub(super) fn keep(&mut self, keep: &BooleanArray) -> Result<()> {
        let rows = keep.true_count();
        if rows == self.rows {
            return Ok(());
        }
        let live = match &self.live {
            None => keep.clone(),
            Some(live) => {
                // spread `keep` over the base rows that are still live
                let mut next = keep.values().iter();
                live.values()
                    .iter()
                    .map(|l| Some(l && next.next().expect("one value per live row")))
                    .collect()
            }
        };
        let cut = FilterBuilder::new(keep).optimize().build();
        for c in self.cols.iter_mut().flatten() {
            *c = cut.filter(c)?;
        }
        self.rows = rows;
        self.live = Some(live);
        Ok(())
    }

    /// The whole batch, every column cut to the live rows (from now on the new base).
    pub(super) fn whole(&mut self) -> Result<RecordBatch> {
        if self.live.is_none() && self.cols.iter().all(Option::is_none) {
            return Ok(self.base.clone());
        }
        let cut = self.live.as_ref().map(|l| FilterBuilder::new(l).optimize().build());
        let base = &self.base;
        let columns = std::mem::take(&mut self.cols)
            .into_iter()
            .enumerate()
            .map(|(i, c)| match (c, &cut) {
                (Some(c), _) => Ok(c),
                (None, None) => Ok(Arc::clone(base.column(i))),
                (None, Some(cut)) => Ok(cut.filter(base.column(i))?),
            })
            .collect::<Result<Vec<_>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        let whole = RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options)?;
        *self = LazyBatch::new(whole.clone());
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int32Array, ListArray, StringArray};
    use arrow::datatypes::{DataType, Int32Type};

    fn batch() -> RecordBatch {
        let text = StringArray::from(vec!["a", "b", "c", "d", "e", "f"]);
        let n = Int32Array::from(vec![1, 2, 3, 4, 5, 6]);
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(
            (0..6).map(|i| Some((0..i).map(Some).collect::<Vec<_>>())),
        );
        RecordBatch::try_from_iter(vec![
            ("text", Arc::new(text) as ArrayRef),
            ("n", Arc::new(n) as ArrayRef),
            ("list", Arc::new(list) as ArrayRef),
        ])
        .unwrap()
    }

    fn mask(v: &[bool]) -> BooleanArray {
        BooleanArray::from(v.to_vec())
    }

    #[test]
    fn deferred_cuts_equal_eager_cuts() {
        let (k1, k2) =
            (mask(&[true, false, true, true, false, true]), mask(&[false, true, true, true]));
        // eager: cut every column after each step
        let mut eager = arrow::compute::filter_record_batch(&batch(), &k1).unwrap();
        let new_text: ArrayRef = Arc::new(StringArray::from(vec!["A", "C", "D", "F"]));
        eager = crate::stage::with_column(
            &eager,
            Field::new("text", DataType::Utf8, false),
            Arc::clone(&new_text),
        )
        .unwrap();
        let added: ArrayRef = Arc::new(Int32Array::from(vec![7, 8, 9, 10]));
        eager = crate::stage::with_column(
            &eager,
            Field::new("x", DataType::Int32, false),
            Arc::clone(&added),
        )
        .unwrap();
        eager = arrow::compute::filter_record_batch(&eager, &k2).unwrap();

        let mut lazy = LazyBatch::new(batch());
        lazy.keep(&k1).unwrap();
        assert_eq!(lazy.num_rows(), 4);
        let v = lazy.view(&["text", "missing", "text"]).unwrap();
        assert_eq!(v.num_columns(), 1);
        assert_eq!(
            v.column(0).as_ref(),
            &StringArray::from(vec!["a", "c", "d", "f"]) as &dyn Array
        );
        lazy.set_column(Field::new("text", DataType::Utf8, false), new_text);
        lazy.set_column(Field::new("x", DataType::Int32, false), added);
        lazy.keep(&k2).unwrap();
        assert_eq!(lazy.view(&[]).unwrap().num_rows(), 3);
        assert_eq!(lazy.whole().unwrap(), eager);
    }

    #[test]
    fn untouched_batch_comes_back_as_is() {
        let mut lazy = LazyBatch::new(batch());
        lazy.keep(&mask(&[true; 6])).unwrap();
        assert_eq!(lazy.whole().unwrap(), batch());
        let mut lazy = LazyBatch::new(batch());
        lazy.keep(&mask(&[false; 6])).unwrap();
        let out = lazy.whole().unwrap();
        assert_eq!((out.num_rows(), out.num_columns()), (0, 3));
    }
}
