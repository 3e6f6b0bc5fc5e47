//! `sql_filter`: keeps documents for which a SQL boolean expression (DataFusion dialect) is
//! true. The expression sees every column of the batch, including columns added by earlier
//! stages.

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BatchContext, BuildContext, BuiltStage, Filter, FilterMode, StageBuilder, Verdict};
use crate::error::{Error, Result};
use crate::sql::SqlExpr;

/// Keeps documents for which `predicate` is true; false or NULL rejects them with reason
/// `sql_predicate_false`. Functions: DataFusion's scalar functions (`length` counts
/// characters, `lower`, `starts_with`, `regexp_like`, `strpos`, `LIKE`, `IN`, ...).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlFilterConfig {
    /// A SQL boolean expression over the batch's columns, e.g.
    /// `length(text) >= 200 AND source = 'web'`.
    pub predicate: String,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

impl StageBuilder for SqlFilterConfig {
    const NAME: &'static str = "sql_filter";

    fn example() -> Self {
        SqlFilterConfig {
            predicate: "length(text) >= 200 AND source = 'web'".into(),
            mode: FilterMode::Drop,
        }
    }

    fn check(&self) -> Vec<String> {
        if self.predicate.trim().is_empty() {
            vec!["`predicate` is empty".into()]
        } else {
            Vec::new()
        }
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        let expr = SqlExpr::compile(&self.predicate, &cx.input_schema)?;
        if expr.data_type() != &DataType::Boolean {
            return Err(Error::Invalid(format!(
                "`predicate` must be a boolean expression, but `{}` is {}",
                self.predicate,
                expr.data_type()
            )));
        }
        Ok(BuiltStage::Filter(Box::new(SqlFilter(expr)), self.mode))
    }
}

struct SqlFilter(SqlExpr);

impl Filter for SqlFilter {
    fn evaluate(&self, batch: &RecordBatch, _: &BatchContext) -> Result<Verdict> {
        let keep = self.0.evaluate_bool(batch)?;
        Ok(Verdict::reasons(
            keep.iter()
                .map(|k| if k == Some(true) { None } else { Some("sql_predicate_false") })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::test_util::{batch, build_cx, filter_reasons};

    #[test]
    fn keeps_rows_where_true() {
        let c = SqlFilterConfig { predicate: "length(text) > 3".into(), mode: FilterMode::Drop };
        assert_eq!(filter_reasons(&c, &["abcd", "ab"]), vec![None, Some("sql_predicate_false")]);
    }

    #[test]
    fn non_boolean_predicate_is_rejected_at_build() {
        let c = SqlFilterConfig { predicate: "length(text)".into(), mode: FilterMode::Drop };
        let err = c.build(&build_cx(batch(&["x"]).schema())).err().unwrap().to_string();
        assert!(err.contains("boolean"), "{err}");
    }
}
