//! sluice: a streaming data-preprocessing engine for language-model training corpora.
//!
//! A pipeline file names sources, stages and an output; [`config::load`] parses it,
//! [`plan::Plan::build`] resolves files and schemas and builds the stages, and
//! [`exec::run`] streams the documents through the stages in parallel and writes tokenized
//! (or curated) Parquet shards plus `manifest.json` and `stats.json`.

pub mod config;
pub mod error;
pub mod exec;
pub mod plan;
pub mod sink;
pub mod source;
pub mod sql;
pub mod stage;
pub mod text;
pub mod tokenize;
pub mod train;

pub use error::{Error, ErrorDomain, Result};
