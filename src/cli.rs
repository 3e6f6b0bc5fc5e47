//! The command line: `run`, `validate`, `explain`, `stages`, `inspect` and
//! `train-tokenizer`. Runtime knobs (threads, progress, logs, output override) are flags here,
//! never pipeline fields.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// sluice: curate and tokenize LLM training corpora from a declarative pipeline file.
///
/// A pipeline file (YAML or TOML) names sources (JSONL, .jsonl.gz/.zst, Parquet), stages
/// (filters, normalizers, tokenize) and an output directory. `sluice run` streams documents
/// through the stages on all cores and writes Parquet shards, manifest.json and stats.json.
///
/// Exit codes: 0 success, 1 the run failed (bad input, I/O), 2 usage or pipeline-file error.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, long_about, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter (`info`, `debug`, `sluice=trace`); the RUST_LOG variable also works.
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
}

const EXAMPLES: &str = "Examples:
  sluice run pipelines/quickstart.yaml              run a pipeline
  sluice run p.yaml --threads 8 --out /data/out     override threads and output directory
  sluice validate pipelines/*.yaml                  check files, report every error
  sluice explain p.yaml                             show the plan and the schema after each stage
  sluice stages                                     list stage types; `sluice stages normalize` for one
  sluice inspect out/quickstart                     summarize a finished output";

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// When to draw the progress bar.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProgressMode {
    /// When stderr is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline and write shards, manifest.json and stats.json.
    Run {
        /// Pipeline file (.yaml, .yml or .toml).
        pipeline: PathBuf,
        /// Worker threads (default: all cores).
        #[arg(long, short = 'j')]
        threads: Option<usize>,
        /// Output directory, overriding `output.dir` of the pipeline file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar and no summary table (errors are still printed).
        #[arg(long, short)]
        quiet: bool,
        /// Progress bar: auto (on a terminal), always or never.
        #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
        progress: ProgressMode,
        /// Also write the run statistics as JSON to this path (`-` for stdout).
        #[arg(long)]
        stats_json: Option<PathBuf>,
        /// Input units in flight (bounds memory); default 4 per thread.
        #[arg(long)]
        window: Option<usize>,
    },
    /// Check pipeline files and report every error at once (exit 2 if any is invalid).
    Validate {
        /// Pipeline files.
        #[arg(required = true)]
        pipelines: Vec<PathBuf>,
    },
    /// Print the resolved plan: sources, files, and the schema after each stage.
    Explain {
        /// Pipeline file.
        pipeline: PathBuf,
    },
    /// Print the documentation of every stage type, or of one.
    Stages {
        /// A stage type, e.g. `normalize`.
        name: Option<String>,
        /// Print the JSON Schema of the stage options instead.
        #[arg(long)]
        schema: bool,
    },
    /// Summarize an output directory (manifest) or one Parquet shard.
    Inspect {
        /// Output directory or `.parquet` file.
        path: PathBuf,
        /// Rows to show from a shard.
        #[arg(long, default_value_t = 3)]
        rows: usize,
    },
    /// Train a byte-level BPE tokenizer.json on the documents of a pipeline's sources.
    TrainTokenizer {
        /// Pipeline file whose sources provide the training text.
        pipeline: PathBuf,
        /// Vocabulary size, special tokens included.
        #[arg(long, default_value_t = 4096)]
        vocab_size: usize,
        /// Minimum pair frequency for a merge.
        #[arg(long, default_value_t = 2)]
        min_frequency: u64,
        /// Where to write tokenizer.json.
        #[arg(long)]
        out: PathBuf,
    },
}

impl ProgressMode {
    /// Whether to draw, given `--quiet`.
    pub fn enabled(self, quiet: bool) -> bool {
        !quiet
            && match self {
                ProgressMode::Auto => std::io::stderr().is_terminal(),
                ProgressMode::Always => true,
                ProgressMode::Never => false,
            }
    }
}
