//! CLI integration tests: one binary, one module per concern.

mod agreement;
mod augment;
mod bad_input;
mod clean;
mod cli;
mod deferred_drops;
mod determinism;
mod engine;
mod fidelity;
mod golden;
mod invalid_utf8;
mod line_dedup;
mod minhash;
mod mixing;
mod normalization;
mod pii;
mod pipelines;
mod properties;
mod readers;
mod shuffle;
mod tasks;
mod token_gate;
mod tokens;
mod util;
