//! What each subcommand does; the only place that uses `anyhow` besides `main`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use sluice::config::{self, PipelineConfig};
use sluice::exec::{self, RunOptions};
use sluice::plan::Plan;
use sluice::stage::{self, BuiltStage, FilterMode};

use crate::cli::{Cli, Command, LogFormat, PhaseArg};

/// Logs go to stderr: text or JSON lines.
pub fn init_logging(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cli.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run {
            pipeline,
            threads,
            out,
            quiet,
            progress,
            stats_json,
            window,
            resume,
            task,
            phase,
        } => {
            let opts = RunArgs {
                threads,
                out,
                quiet,
                progress: progress.enabled(quiet),
                stats_json,
                window,
                resume,
            };
            match task {
                Some((i, n)) => run_task(&pipeline, opts, i, n, phase),
                None => run(&pipeline, opts),
            }
        }
        Command::Finalize { out, stats_json, quiet } => {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let outcome = exec::tasks::finalize(&out, threads)
                .with_context(|| format!("finalizing {}", out.display()))?;
            report(&outcome, quiet, stats_json)?;
            tracing::info!(out = %out.display(), "Finalized.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { pipelines } => validate(&pipelines),
        Command::Explain { pipeline } => explain(&pipeline),
        Command::Stages { name, schema } => stages(name.as_deref(), schema),
        Command::Inspect { path, rows } => inspect(&path, rows),
        Command::TrainTokenizer { pipeline, vocab_size, min_frequency, out } => {
            let config = config::load(&pipeline)?;
            let plan = Plan::sources_only(config).map_err(|e| match e {
                sluice::Error::Invalid(message) => {
                    sluice::Error::Config { path: pipeline.clone(), message }
                }
                other => other,
            })?;
            let texts = sluice::train::source_texts(&plan)?;
            sluice::train::train_bpe(&texts, vocab_size, min_frequency, &out)?;
            tracing::info!(documents = texts.len(), out = %out.display(), "Trained tokenizer.");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn plan_config(path: &Path, config: PipelineConfig) -> sluice::Result<Plan> {
    Plan::build(config).map_err(|e| match e {
        sluice::Error::Invalid(message) => {
            sluice::Error::Config { path: path.to_path_buf(), message }
        }
        other => other,
    })
}

fn plan(path: &Path) -> Result<Plan> {
    let config = config::load(path)?;
    Ok(plan_config(path, config)?)
}

/// The flags of `sluice run`.
struct RunArgs {
    threads: Option<usize>,
    out: Option<PathBuf>,
    quiet: bool,
    progress: bool,
    stats_json: Option<PathBuf>,
    window: Option<usize>,
    resume: bool,
}

impl RunArgs {
    fn options(&self) -> RunOptions {
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let mut opts = RunOptions::with_threads(threads);
        opts.progress = self.progress;
        if let Some(w) = self.window {
            opts.window = w;
        }
        opts
    }

    fn out_dir(&self, plan: &Plan) -> PathBuf {
        self.out.clone().unwrap_or_else(|| PathBuf::from(&plan.config.output.dir))
    }
}

fn report(outcome: &exec::RunOutcome, quiet: bool, stats_json: Option<PathBuf>) -> Result<()> {
    if !quiet {
        eprint!("{}", outcome.stats.table());
    }
    if let Some(p) = stats_json {
        let json = serde_json::to_string_pretty(&outcome.stats)? + "\n";
        if p.as_os_str() == "-" {
            print!("{json}");
        } else {
            std::fs::write(&p, json).with_context(|| format!("writing {}", p.display()))?;
        }
    }
    Ok(())
}

fn run(pipeline: &Path, args: RunArgs) -> Result<ExitCode> {
    let plan = plan(pipeline)?;
    let opts = args.options();
    let out_dir = args.out_dir(&plan);
    tracing::info!(pipeline = %pipeline.display(), threads = opts.threads, out = %out_dir.display(), resume = args.resume, "Starting run.");
    let outcome = exec::run(&plan, &out_dir, &opts, args.resume).map_err(|e| {
        // a pipeline that cannot run as written (a mixture that cannot be met) needs a fix, not
        // a resume
        let hint = match e.domain() {
            sluice::ErrorDomain::Config => "",
            _ => " (committed slices are kept: rerun with --resume to finish)",
        };
        anyhow::Error::new(e).context(format!(
            "pipeline {} failed; no manifest was written{hint}",
            pipeline.display()
        ))
    })?;
    report(&outcome, args.quiet, args.stats_json)?;
    let unknown = &outcome.stats.input.unknown_fields;
    if !unknown.is_empty() {
        let keys: Vec<String> = unknown.iter().map(|(k, n)| format!("`{k}` ({n})")).collect();
        tracing::warn!(
            "Records had top-level keys that the schema inferred from the first lines of their source lacks; their values were not carried (stats.json input.unknown_fields): {}",
            keys.join(", ")
        );
    }
    let bad: u64 = outcome.stats.input.bad_records.values().sum();
    tracing::info!(out = %out_dir.display(), skipped_bad_records = bad, "Run finished.");
    Ok(ExitCode::SUCCESS)
}

fn run_task(
    pipeline: &Path,
    args: RunArgs,
    task: usize,
    tasks: usize,
    phase: PhaseArg,
) -> Result<ExitCode> {
    let plan = plan(pipeline)?;
    let opts = args.options();
    let out_dir = args.out_dir(&plan);
    let phase = match phase {
        PhaseArg::Map => exec::tasks::Phase::Map,
        PhaseArg::Apply => exec::tasks::Phase::Apply,
    };
    tracing::info!(pipeline = %pipeline.display(), task, tasks, phase = ?phase, out = %out_dir.display(), "Starting task.");
    let outcome = exec::tasks::run_task(&plan, &out_dir, &opts, task, tasks, phase)
        .with_context(|| format!("task {task}/{tasks} of {} failed", pipeline.display()))?;
    match outcome {
        exec::tasks::TaskOutcome::Done { ran, slices } => tracing::info!(
            task,
            tasks,
            ran,
            slices,
            "Task committed; run `sluice finalize {}` after every task.",
            out_dir.display()
        ),
        exec::tasks::TaskOutcome::Mapped => tracing::info!(task, tasks, "Map phase committed."),
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(paths: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = 0;
    for p in paths {
        match config::load(p).and_then(|c| plan_config(p, c)) {
            Ok(plan) => println!(
                "{}: ok ({} sources, {} stages)",
                p.display(),
                plan.sources.len(),
                plan.stages.len()
            ),
            Err(e) => {
                failed += 1;
                println!("{e}");
            }
        }
    }
    if failed > 0 {
        Err(sluice::Error::Invalid(format!(
            "{failed} of {} pipeline files are invalid",
            paths.len()
        ))
        .into())
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn schema_lines(schema: &arrow::datatypes::Schema, indent: &str) -> String {
    schema
        .fields()
        .iter()
        .map(|f| {
            format!(
                "{indent}{}: {}{}\n",
                f.name(),
                f.data_type(),
                if f.is_nullable() { "" } else { " not null" }
            )
        })
        .collect()
}

fn explain(path: &Path) -> Result<ExitCode> {
    let plan = plan(path)?;
    let c = &plan.config;
    println!("pipeline `{}` (seed {}, on_error {:?})", c.name, c.seed, c.on_error);
    println!("\nsources:");
    for s in &plan.sources {
        let bytes: u64 = s.files.iter().map(|f| f.bytes).sum();
        println!(
            "  {} ({} files, {:.1} MB, text field `{}`, id field `{}`)",
            s.config.name,
            s.files.len(),
            bytes as f64 / 1e6,
            s.config.text_field,
            s.config.id_field
        );
        for f in s.files.iter().take(5) {
            println!("    {}", f.display());
        }
        if s.files.len() > 5 {
            println!("    ... and {} more", s.files.len() - 5);
        }
    }
    println!("\ndocuments as read:");
    print!("{}", schema_lines(&plan.doc_schema, "    "));
    let mut prev = plan.doc_schema.clone();
    for (i, st) in plan.stages.iter().enumerate() {
        let kind = match &st.stage {
            BuiltStage::Transform(_) => "transform".to_string(),
            BuiltStage::Filter(_, FilterMode::Drop) => "filter, drops".into(),
            BuiltStage::Filter(_, FilterMode::Annotate) => {
                format!("filter, annotates `{}`", st.reason_column())
            }
            BuiltStage::Expand(e) => {
                format!("row-changing, up to {} rows per input row", e.max_copies())
            }
            BuiltStage::Ordered(o, _) if o.counted() && !o.makes_copies() => {
                let mut k = "counted: a count pass over the whole input decides what goes (rows \
                             to drop, text to cut), then the write pass applies it"
                    .to_string();
                if let Some(side) = o.side_output() {
                    k.push_str(&format!("; writes {}/{}.parquet", side.kind, side.name));
                }
                k
            }
            BuiltStage::Ordered(o, _) if o.counted() => {
                "counted: a count pass over the whole input plans exact copies per group, then \
                 the write pass gives them"
                    .to_string()
            }
            BuiltStage::Ordered(o, mode) => {
                let mut k = "ordered: hashes on the workers, decides in input order".to_string();
                if *mode == FilterMode::Annotate {
                    k.push_str(&format!(", annotates `{}`", st.reason_column()));
                }
                if let Some(side) = o.side_output() {
                    k.push_str(&format!("; writes {}/{}.parquet", side.kind, side.name));
                }
                k
            }
        };
        println!("\n[{}] {} ({}; {kind})", i + 1, st.id, st.type_name);
        if let (Some(t), Some(_)) = (plan.tokenizer_info(), st.counts_tokens.as_ref()) {
            println!("    encoder: {}", t.engine);
        }
        let added: Vec<_> = st
            .output_schema
            .fields()
            .iter()
            .filter(|f| prev.field_with_name(f.name()).map(|g| g != f.as_ref()).unwrap_or(true))
            .collect();
        if added.is_empty() {
            println!("    schema unchanged");
        } else {
            for f in added {
                println!("    + {}: {}", f.name(), f.data_type());
            }
        }
        prev = st.output_schema.clone();
    }
    let o = &c.output;
    println!(
        "\noutput: {} (train / validation {:.4}, split on the origin key), layout {}{}",
        o.dir,
        o.validation_fraction,
        o.layout.name(),
        o.seq_len.map(|n| format!(" (rows of {n} tokens)")).unwrap_or_default()
    );
    if o.shuffle {
        println!(
            "    order: shuffled (seeded key per document; finalize sorts within {} MiB, \
             packing after the shuffle)",
            o.shuffle_memory_mb.unwrap_or(1024)
        );
    }
    let shard = sluice::sink::shard_schema(&plan)?;
    print!("{}", schema_lines(&shard, "    "));
    if plan.tokenized() {
        println!(
            "    shards of ~{} tokens, row groups of ~{} tokens, zstd(3)",
            o.shard_tokens, o.row_group_tokens
        );
    } else {
        println!(
            "    curation only: shards of ~{} bytes of text, row groups of ~{} bytes, zstd(3)",
            o.shard_text_bytes, o.row_group_text_bytes
        );
    }
    let slices = sluice::source::slices::plan(&plan.sources, o.slice_bytes)?;
    println!(
        "\nslices: {} of ~{:.1} MB of input (the unit of commits, --resume and --task I/N; at \
         most {} tasks do work)",
        slices.len(),
        o.slice_bytes as f64 / 1e6,
        slices.len()
    );
    for s in slices.iter().take(3) {
        let parts: Vec<String> = s
            .parts
            .iter()
            .map(|p| {
                let f = &plan.sources[p.source].files[p.file];
                match &p.range {
                    sluice::source::slices::Range::Whole => f.display(),
                    r => format!("{} {r:?}", f.display()),
                }
            })
            .collect();
        println!("    [{}] {}", s.index, parts.join(", "));
    }
    if slices.len() > 3 {
        println!("    ... and {} more", slices.len() - 3);
    }
    Ok(ExitCode::SUCCESS)
}

fn stages(name: Option<&str>, schema: bool) -> Result<ExitCode> {
    let types = stage::registry::stage_types();
    match name {
        None if schema => {
            println!("{}", serde_json::to_string_pretty(&schemars::schema_for!(PipelineConfig))?)
        }
        None => print!("{}", stage::docs::summary()),
        Some(n) => {
            let Some(t) = types.iter().find(|t| t.name == n) else {
                let names = stage::registry::type_names();
                return Err(sluice::Error::Invalid(format!(
                    "unknown stage type `{n}`; valid types: {}",
                    names.join(", ")
                ))
                .into());
            };
            if schema {
                println!("{}", serde_json::to_string_pretty(&t.schema)?);
            } else {
                print!("{}", stage::docs::render(t));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(path: &Path, rows: usize) -> Result<ExitCode> {
    if path.is_dir() {
        let m = path.join("manifest.json");
        let text = std::fs::read_to_string(&m).with_context(|| {
            format!("{} has no manifest.json: the run did not finish", path.display())
        })?;
        let v: serde_json::Value = serde_json::from_str(&text)?;
        println!(
            "pipeline `{}`, layout {}, created by {}",
            v["pipeline"].as_str().unwrap_or("?"),
            v["layout"].as_str().unwrap_or("?"),
            v["created_by"].as_str().unwrap_or("?")
        );
        if let Some(t) = v.get("tokenizer").filter(|t| !t.is_null()) {
            println!(
                "tokenizer {} (vocab {}, eos {}, add_eos {}, encoder {})",
                t["name"], t["vocab_size"], t["eos_id"], t["add_eos"], t["engine"]
            );
        }
        if let Some(splits) = v["splits"].as_object() {
            for (name, s) in splits {
                println!(
                    "{name}: {} documents, {} tokens, {} shards",
                    s["num_documents"],
                    s["num_tokens"],
                    s["shards"].as_array().map_or(0, Vec::len)
                );
                for sh in s["shards"].as_array().into_iter().flatten() {
                    println!(
                        "  {} ({} rows, {} row groups, {} bytes)",
                        sh["path"].as_str().unwrap_or("?"),
                        sh["num_rows"],
                        sh["row_groups"].as_array().map_or(0, Vec::len),
                        sh["bytes"]
                    );
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)?;
    let md = builder.metadata().clone();
    println!(
        "{}: {} rows in {} row groups",
        path.display(),
        md.file_metadata().num_rows(),
        md.num_row_groups()
    );
    print!("{}", schema_lines(builder.schema(), "  "));
    let reader = builder.with_batch_size(rows.max(1)).with_limit(rows).build()?;
    for batch in reader {
        let batch = batch?;
        let shown = arrow::util::pretty::pretty_format_batches(&[truncate_for_display(&batch)?])?;
        println!("{shown}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Shortens long strings and token lists so a row fits on screen.
fn truncate_for_display(batch: &arrow::array::RecordBatch) -> Result<arrow::array::RecordBatch> {
    use arrow::array::{Array, ArrayRef, StringArray};
    use std::sync::Arc;
    let mut cols: Vec<ArrayRef> = Vec::new();
    let mut fields = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let shown: ArrayRef = match c.data_type() {
            arrow::datatypes::DataType::Utf8 => {
                let s = c.as_any().downcast_ref::<StringArray>().expect("utf8");
                Arc::new(
                    s.iter()
                        .map(|v| {
                            v.map(|v| v.chars().take(60).collect::<String>().replace('\n', "⏎"))
                        })
                        .collect::<StringArray>(),
                )
            }
            arrow::datatypes::DataType::List(_) => {
                let l = c.as_any().downcast_ref::<arrow::array::ListArray>().expect("list");
                Arc::new(
                    (0..l.len())
                        .map(|i| {
                            let v = l.value(i);
                            let s = arrow::util::display::ArrayFormatter::try_new(
                                v.as_ref(),
                                &Default::default(),
                            )
                            .ok()?;
                            let n = v.len();
                            let head: Vec<String> =
                                (0..n.min(12)).map(|j| s.value(j).to_string()).collect();
                            Some(format!(
                                "[{}{}] ({n})",
                                head.join(", "),
                                if n > 12 { ", ..." } else { "" }
                            ))
                        })
                        .collect::<StringArray>(),
                )
            }
            _ => c.clone(),
        };
        fields.push(arrow::datatypes::Field::new(f.name(), shown.data_type().clone(), true));
        cols.push(shown);
    }
    Ok(arrow::array::RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), cols)?)
}
