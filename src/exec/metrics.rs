//! Run statistics: documents in and out per stage, drop reasons, tokens and time, merged from
//! per-batch deltas, written to `stats.json` and printed as a table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::source::{BadRecord, ReadOutput};

/// Counters of one stage, for one batch or the whole run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StageStats {
    /// Stage id.
    pub id: String,
    /// Stage type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `drop`, `annotate` or `transform`.
    pub mode: String,
    /// Documents that entered the stage.
    pub docs_in: u64,
    /// Documents that left it.
    pub docs_out: u64,
    /// Bytes of `text` that entered it.
    pub bytes_in: u64,
    /// Documents rejected, by reason (dropped in `drop` mode, flagged in `annotate` mode).
    pub reasons: BTreeMap<String, u64>,
    /// Tokens produced (the `tokenize` stage only).
    pub tokens: u64,
    /// Thread-seconds spent in the stage (summed over workers). The last stage also pays for
    /// cutting the dropped rows out of the columns no filter read (they are cut once).
    pub seconds: f64,
    /// Changes a transform made, by kind (`pii_redact`: matches per type; `clean`: what it
    /// removed or replaced).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, u64>,
    /// Counted stages (`mix`, `balance`): documents and tokens written per group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, GroupTotal>,
}

/// Documents and tokens a counted stage wrote for one group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupTotal {
    /// Documents (copies included).
    pub documents: u64,
    /// Tokens.
    pub tokens: u64,
}

impl StageStats {
    /// Adds another delta.
    pub fn merge(&mut self, d: &StageStats) {
        self.docs_in += d.docs_in;
        self.docs_out += d.docs_out;
        self.bytes_in += d.bytes_in;
        self.tokens += d.tokens;
        self.seconds += d.seconds;
        for (k, v) in &d.reasons {
            *self.reasons.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &d.changes {
            *self.changes.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &d.groups {
            let e = self.groups.entry(k.clone()).or_default();
            e.documents += v.documents;
            e.tokens += v.tokens;
        }
    }
}

/// Counters of the input side.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InputStats {
    /// Files read.
    pub files: u64,
    /// Bytes of input files (on disk, compressed).
    pub bytes: u64,
    /// Records seen (good, bad and empty).
    pub records: u64,
    /// Documents that entered the first stage.
    pub documents: u64,
    /// Bytes of text in those documents.
    pub text_bytes: u64,
    /// Records with an empty text (dropped before any stage).
    pub empty_text: u64,
    /// Bad records skipped under `on_error: skip`, by kind.
    pub bad_records: BTreeMap<String, u64>,
    /// JSONL records with top-level keys that the source's schema (inferred from the first
    /// lines of its first file) lacks, by key: the records are read, those values are not
    /// carried.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_fields: BTreeMap<String, u64>,
    /// JSONL lines read with their invalid UTF-8 replaced by U+FFFD (a source's
    /// `invalid_utf8: replace`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replaced_invalid_utf8: u64,
    /// Thread-seconds spent reading and parsing.
    pub seconds: f64,
}

impl InputStats {
    /// Adds another slice's counters (files and bytes are the run's, set once).
    pub fn merge(&mut self, o: &InputStats) {
        self.records += o.records;
        self.documents += o.documents;
        self.text_bytes += o.text_bytes;
        self.empty_text += o.empty_text;
        self.replaced_invalid_utf8 += o.replaced_invalid_utf8;
        self.seconds += o.seconds;
        for (k, v) in &o.bad_records {
            *self.bad_records.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &o.unknown_fields {
            *self.unknown_fields.entry(k.clone()).or_insert(0) += v;
        }
    }

    /// Adds one unit's read output.
    pub fn add_read(&mut self, r: &ReadOutput, documents: u64, seconds: f64) {
        self.records += r.records;
        self.empty_text += r.empty_text;
        self.replaced_invalid_utf8 += r.replaced_invalid_utf8;
        self.text_bytes += r.text_bytes;
        self.documents += documents;
        self.seconds += seconds;
        self.add_bad(&r.bad);
        for (k, v) in &r.unknown_fields {
            *self.unknown_fields.entry(k.clone()).or_insert(0) += v;
        }
    }

    /// Counts bad records.
    pub fn add_bad(&mut self, bad: &[BadRecord]) {
        for b in bad {
            *self.bad_records.entry(b.kind.to_string()).or_insert(0) += b.records;
        }
    }
}

/// Counters of one output split.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SplitStats {
    /// Documents written.
    pub documents: u64,
    /// Tokens written (0 for curation-only runs); packed rows: real tokens, padding excluded.
    pub tokens: u64,
    /// Rows written (documents, or packed rows).
    pub rows: u64,
    /// Shards written.
    pub shards: u64,
    /// Packed layout: fill rate, documents split across rows, padding (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packing: Option<crate::sink::packed::PackStats>,
}

/// State an ordered stage held at the end of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateStats {
    /// Stage id.
    pub stage: String,
    /// Bytes of state (what counts against `state_memory_mb`).
    pub bytes: u64,
    /// Entries (distinct keys, signatures).
    pub entries: u64,
    /// Bytes per entry.
    pub bytes_per_entry: f64,
}

impl StateStats {
    /// The stats of one stage's state.
    pub fn new(stage: &str, bytes: u64, entries: u64) -> Self {
        StateStats {
            stage: stage.to_string(),
            bytes,
            entries,
            bytes_per_entry: if entries == 0 { 0.0 } else { bytes as f64 / entries as f64 },
        }
    }
}

/// Everything `stats.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunStats {
    /// Pipeline name.
    pub pipeline: String,
    /// Worker threads used.
    pub threads: usize,
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// Input counters.
    pub input: InputStats,
    /// Per-stage counters in pipeline order.
    pub stages: Vec<StageStats>,
    /// State held by ordered stages at the end of the run.
    pub state: Vec<StateStats>,
    /// Per-split output counters.
    pub output: BTreeMap<String, SplitStats>,
    /// Peak resident memory of the process in bytes, when the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    /// Counted stages (`mix`, `balance`): per stage id, per group the request, what the input
    /// had, the plan and what was written (as in the manifest).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub mixture: serde_json::Map<String, serde_json::Value>,
    /// Near-duplicate stages (`minhash_dedup`): per stage id, the clustering (as in the
    /// manifest).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub dedup: serde_json::Map<String, serde_json::Value>,
    /// `output.shuffle`: the sort key, the budget and, per split, what the gather did (as in
    /// the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle: Option<serde_json::Value>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn rate(n: f64, s: f64) -> String {
    if s <= 0.0 { "-".into() } else { format!("{:.0}", n / s) }
}

impl RunStats {
    /// A human-readable summary table.
    pub fn table(&self) -> String {
        let mut rows = vec![[
            "stage".to_string(),
            "type".into(),
            "docs in".into(),
            "docs out".into(),
            "rejected (top reasons)".into(),
            "tokens".into(),
            "thread-s".into(),
            "docs/s".into(),
            "MB/s".into(),
        ]];
        let i = &self.input;
        let mut bad: Vec<String> = i.bad_records.iter().map(|(k, v)| format!("{k} {v}")).collect();
        if i.empty_text > 0 {
            bad.insert(0, format!("empty_text {}", i.empty_text));
        }
        rows.push([
            "(read)".into(),
            "source".into(),
            i.records.to_string(),
            i.documents.to_string(),
            bad.join(", "),
            "".into(),
            format!("{:.2}", i.seconds),
            rate(i.records as f64, i.seconds),
            rate(i.text_bytes as f64 / 1e6, i.seconds),
        ]);
        for s in &self.stages {
            // A transform rejects nothing: its column shows what it changed instead.
            let changes = s.reasons.is_empty() && !s.changes.is_empty();
            let counts = if changes { &s.changes } else { &s.reasons };
            let mut reasons: Vec<(&String, &u64)> = counts.iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let mut r: Vec<String> =
                reasons.iter().take(3).map(|(k, v)| format!("{k} {v}")).collect();
            if reasons.len() > 3 {
                r.push(format!("+{} more", reasons.len() - 3));
            }
            let mut rejected = r.join(", ");
            if s.mode == "annotate" && !rejected.is_empty() {
                rejected = format!("flagged: {rejected}");
            }
            if changes {
                rejected = format!("changed: {rejected}");
            }
            rows.push([
                s.id.clone(),
                s.type_name.clone(),
                s.docs_in.to_string(),
                s.docs_out.to_string(),
                rejected,
                if s.tokens > 0 { s.tokens.to_string() } else { String::new() },
                format!("{:.2}", s.seconds),
                rate(s.docs_in as f64, s.seconds),
                rate(s.bytes_in as f64 / 1e6, s.seconds),
            ]);
        }
        let widths: Vec<usize> =
            (0..9).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
        let mut out = String::new();
        for (n, r) in rows.iter().enumerate() {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    if (2..4).contains(&c) || c >= 5 {
                        format!("{v:>w$}", w = widths[c])
                    } else {
                        format!("{v:<w$}", w = widths[c])
                    }
                })
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
            if n == 0 {
                out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
                out.push('\n');
            }
        }
        for (split, s) in &self.output {
            out.push_str(&format!(
                "{split}: {} documents, {} tokens in {} shard{}",
                s.documents,
                s.tokens,
                s.shards,
                if s.shards == 1 { "" } else { "s" }
            ));
            if let Some(p) = &s.packing {
                out.push_str(&format!(
                    " ({} packed rows, {} documents split across rows, {} padding tokens)",
                    p.rows, p.documents_split, p.padding_tokens
                ));
            }
            out.push('\n');
        }
        for st in &self.state {
            out.push_str(&format!(
                "state of `{}`: {} entries, {:.1} MB ({:.0} bytes per entry)\n",
                st.stage,
                st.entries,
                st.bytes as f64 / 1e6,
                st.bytes_per_entry
            ));
        }
        for (stage, m) in &self.mixture {
            out.push_str(&mixture_lines(stage, m));
        }
        for (stage, d) in &self.dedup {
            out.push_str(&dedup_line(stage, d));
        }
        let mb = i.text_bytes as f64 / 1e6;
        out.push_str(&format!(
            "{:.1} MB of text in {:.2} s wall ({} MB/s, {} docs/s) on {} thread{}",
            mb,
            self.wall_seconds,
            rate(mb, self.wall_seconds),
            rate(i.records as f64, self.wall_seconds),
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        ));
        if let Some(rss) = self.peak_rss_bytes {
            out.push_str(&format!(", peak RSS {} MB", rss / (1 << 20)));
        }
        out.push('\n');
        out
    }
}

/// The summary lines of one counted stage: per group the request and what was written.
fn mixture_lines(stage: &str, m: &serde_json::Value) -> String {
    let unit = m["unit"].as_str().unwrap_or("documents");
    let mut out = format!("mixture of `{stage}` (shares of {unit}):\n");
    for g in m["groups"].as_array().into_iter().flatten() {
        let f = |k: &str| g[k].as_f64().unwrap_or(0.0);
        let requested = match g["requested_share"].as_f64() {
            Some(s) => format!("requested {:.4}", s),
            None => format!("requested {}", g["requested"].as_str().unwrap_or("")),
        };
        out.push_str(&format!(
            "  {}: {requested}, realised {:.4} ({} documents, {} tokens; {:.2} copies per input \
             document{})\n",
            g["group"].as_str().unwrap_or(""),
            f("realised_share"),
            g["realised_documents"],
            g["realised_tokens"],
            f("repeat"),
            if g["capped"] == true { ", capped by max_repeat" } else { "" }
        ));
    }
    out
}

/// The summary line of one dedup stage (`minhash_dedup`, `line_dedup`).
fn dedup_line(stage: &str, d: &serde_json::Value) -> String {
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    if d.get("removed_units").is_some() {
        return format!(
            "repeated units of `{stage}`: {} of {} distinct units are in more than {} documents; \
             removed from {} unit-document pairs\n",
            n(&d["removed_units"]),
            n(&d["distinct_units"]),
            n(&d["max_documents"]),
            n(&d["unit_document_pairs"]),
        );
    }
    let r = &d["reduce"];
    let signing = &d["count_pass"];
    let secs = signing["sign_thread_seconds"].as_f64().unwrap_or(0.0);
    let mb = n(&signing["text_bytes"]) as f64 / 1e6;
    format!(
        "near-duplicates of `{stage}`: {} of {} documents signed ({:.1} thread-s, {} MB/s per \
         thread), {} clusters of {} documents, {} removed; reduce {:.2} s, {:.1} MB of band \
         values held, {:.1} MB spilled\n",
        n(&d["signed"]),
        n(&d["documents"]),
        secs,
        rate(mb, secs),
        n(&d["clusters"]),
        n(&d["documents_in_clusters"]),
        n(&d["removed"]),
        r["cluster_seconds"].as_f64().unwrap_or(0.0),
        n(&r["band_bytes_peak"]) as f64 / 1e6,
        n(&r["bytes_spilled"]) as f64 / 1e6,
    )
}

/// Peak resident set size of this process (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
