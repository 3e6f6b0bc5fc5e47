//! Every DataFusion call in sluice lives here: parsing a SQL expression, planning it against
//! a batch schema (with DataFusion's type coercion and built-in scalar functions) and
//! evaluating it on record batches. DataFusion's API changes between major versions; keeping
//! it behind this module makes an upgrade a one-file change.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, FieldRef, SchemaRef};
use datafusion_common::config::ConfigOptions;
use datafusion_common::{DFSchema, TableReference};
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::planner::{ContextProvider, ExprPlanner};
use datafusion_expr::simplify::SimplifyContext;
use datafusion_expr::{
    AggregateUDF, ExprSchemable, HigherOrderUDF, ScalarUDF, TableSource, WindowUDF,
};
use datafusion_optimizer::simplify_expressions::ExprSimplifier;
use datafusion_physical_expr::PhysicalExpr;
use datafusion_sql::planner::{PlannerContext, SqlToRel};
use datafusion_sql::sqlparser::dialect::GenericDialect;
use datafusion_sql::sqlparser::parser::Parser;

use crate::error::{Error, Result};

/// A compiled SQL expression over the columns of a batch schema.
#[derive(Debug)]
pub struct SqlExpr {
    text: String,
    physical: Arc<dyn PhysicalExpr>,
    data_type: DataType,
}

struct Provider {
    functions: HashMap<String, Arc<ScalarUDF>>,
    planners: Vec<Arc<dyn ExprPlanner>>,
    options: ConfigOptions,
}

impl Provider {
    fn new() -> Self {
        let functions = datafusion_functions::all_default_functions()
            .into_iter()
            .flat_map(|f| {
                let mut names = vec![f.name().to_string()];
                names.extend(f.aliases().iter().cloned());
                names.into_iter().map(move |n| (n, Arc::clone(&f)))
            })
            .collect();
        Provider {
            functions,
            planners: vec![
                Arc::new(datafusion_functions::core::planner::CoreFunctionPlanner::default()),
                Arc::new(datafusion_functions::unicode::planner::UnicodeFunctionPlanner),
            ],
            options: ConfigOptions::default(),
        }
    }
}

impl ContextProvider for Provider {
    fn get_table_source(
        &self,
        name: TableReference,
    ) -> datafusion_common::Result<Arc<dyn TableSource>> {
        datafusion_common::plan_err!("tables are not available in a stage expression (`{name}`)")
    }
    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        &self.planners
    }
    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.functions.get(name).cloned()
    }
    fn get_higher_order_meta(&self, _: &str) -> Option<Arc<HigherOrderUDF>> {
        None
    }
    fn get_aggregate_meta(&self, _: &str) -> Option<Arc<AggregateUDF>> {
        None
    }
    fn get_window_meta(&self, _: &str) -> Option<Arc<WindowUDF>> {
        None
    }
    fn get_variable_type(&self, _: &[String]) -> Option<DataType> {
        None
    }
    fn options(&self) -> &ConfigOptions {
        &self.options
    }
    fn udf_names(&self) -> Vec<String> {
        self.functions.keys().cloned().collect()
    }
    fn higher_order_function_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn udaf_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn udwf_names(&self) -> Vec<String> {
        Vec::new()
    }
}

fn sql_err(text: &str, e: impl std::fmt::Display) -> Error {
    Error::Sql(format!("`{text}`: {e}"))
}

impl SqlExpr {
    /// Parses, type-checks and plans `text` against `schema`.
    pub fn compile(text: &str, schema: &SchemaRef) -> Result<SqlExpr> {
        let dialect = GenericDialect {};
        let ast = Parser::new(&dialect)
            .try_with_sql(text)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| sql_err(text, e))?;
        let df_schema =
            DFSchema::try_from(schema.as_ref().clone()).map_err(|e| sql_err(text, e))?;
        let provider = Provider::new();
        let planner = SqlToRel::new(&provider);
        let expr = planner
            .sql_to_expr(ast, &df_schema, &mut PlannerContext::new())
            .map_err(|e| sql_err(text, e))?;
        let df_schema = Arc::new(df_schema);
        let simplifier = ExprSimplifier::new(
            SimplifyContext::builder().with_schema(Arc::clone(&df_schema)).build(),
        );
        let expr = simplifier.coerce(expr, &df_schema).map_err(|e| sql_err(text, e))?;
        let expr = simplifier.simplify(expr).map_err(|e| sql_err(text, e))?;
        let data_type = expr.get_type(&df_schema).map_err(|e| sql_err(text, e))?;
        let physical = datafusion_physical_expr::create_physical_expr(
            &expr,
            &df_schema,
            &ExecutionProps::new(),
            &Default::default(),
        )
        .map_err(|e| sql_err(text, e))?;
        Ok(SqlExpr { text: text.to_string(), physical, data_type })
    }

    /// The expression's result type.
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// Evaluates the expression on every row of `batch`.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<Arc<dyn Array>> {
        self.physical
            .evaluate(batch)
            .and_then(|v| v.into_array(batch.num_rows()))
            .map_err(|e| sql_err(&self.text, e))
    }

    /// Evaluates a boolean expression; nulls count as false.
    pub fn evaluate_bool(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let array = self.evaluate(batch)?;
        let b = array.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| {
            sql_err(&self.text, format!("expected a boolean, got {}", array.data_type()))
        })?;
        Ok(b.clone())
    }
}

/// Names of the SQL scalar functions available in expressions, sorted.
pub fn function_names() -> Vec<String> {
    let mut names: Vec<String> = Provider::new().functions.into_keys().collect();
    names.sort();
    names
}

/// Field list helper used in error messages.
pub fn describe_fields(fields: &[FieldRef]) -> String {
    fields
        .iter()
        .map(|f| format!("{} ({})", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;
    use arrow::datatypes::{Field, Schema};

    fn batch() -> RecordBatch {
        let text: StringArray =
            vec![Some("héllo"), Some("a much longer text"), None].into_iter().collect();
        let src: StringArray = vec![Some("web"), Some("web"), Some("wiki")].into_iter().collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("text", DataType::Utf8, true),
                Field::new("source", DataType::Utf8, false),
            ])),
            vec![Arc::new(text), Arc::new(src)],
        )
        .unwrap()
    }

    #[test]
    fn length_counts_characters_and_coerces_literals() {
        let b = batch();
        let e = SqlExpr::compile("length(text) >= 5 AND source = 'web'", &b.schema()).unwrap();
        let r = e.evaluate_bool(&b).unwrap();
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![Some(true), Some(true), Some(false)]);
    }

    #[test]
    fn string_functions_work() {
        let b = batch();
        let e =
            SqlExpr::compile("lower(text) LIKE '%longer%' OR starts_with(text, 'h')", &b.schema())
                .unwrap();
        let r = e.evaluate_bool(&b).unwrap();
        assert!(r.value(0));
        assert!(r.value(1));
    }

    #[test]
    fn unknown_column_is_a_clear_error() {
        let b = batch();
        let e = SqlExpr::compile("length(txt) > 3", &b.schema()).unwrap_err().to_string();
        assert!(e.contains("txt"), "{e}");
    }

    #[test]
    fn syntax_error_is_reported() {
        let b = batch();
        assert!(SqlExpr::compile("length(text) >", &b.schema()).is_err());
    }
}
