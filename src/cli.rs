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
  sluice inspect out/quickstart                     summarize a finished output
  sluice run p.yaml --resume                        finish an interrupted run
  sluice run p.yaml --task 3/8                      one task of a job array (then: finalize)
  sluice finalize out/web                           name the shards, write the manifest";

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Phases of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    /// The per-task map phase of a pipeline with an ordered stage.
    Map,
    /// The task's output.
    Apply,
}

fn parse_task(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/8")?;
    let i: usize = i.trim().parse().map_err(|_| format!("`{i}` is not a task index"))?;
    let n: usize = n.trim().parse().map_err(|_| format!("`{n}` is not a task count"))?;
    if n == 0 || i >= n {
        return Err(format!("the index must be below the count (0/{n} to {}/{n})", n.max(1) - 1));
    }
    Ok((i, n))
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
        /// Keep the slices an interrupted run into the same directory committed, and run only
        /// the rest; the result is byte-identical to an uninterrupted run.
        #[arg(long)]
        resume: bool,
        /// Run one task of a job array: `I/N` runs the I-th (0-based) of N contiguous ranges of
        /// the input's slices and commits them (already committed slices are skipped). After
        /// every task, `sluice finalize OUT` writes the manifest.
        #[arg(long, value_name = "I/N", value_parser = parse_task)]
        task: Option<(usize, usize)>,
        /// With --task: `map` runs only the map phase that a pipeline with an ordered stage
        /// (exact_dedup) needs before any task of several can write; `apply` (default) writes.
        #[arg(long, value_enum, default_value_t = PhaseArg::Apply, requires = "task")]
        phase: PhaseArg,
    },
    /// Check that every slice of a task-split run committed, name the shards and write
    /// stats.json and manifest.json (last).
    Finalize {
        /// Output directory the tasks wrote into.
        out: PathBuf,
        /// Also write the merged statistics as JSON to this path (`-` for stdout).
        #[arg(long)]
        stats_json: Option<PathBuf>,
        /// No summary table.
        #[arg(long, short)]
        quiet: bool,
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
