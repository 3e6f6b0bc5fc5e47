//! Helpers for the CLI integration tests: run the binary, make input files, read shards.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use arrow::array::{Array, Int32Array, ListArray, RecordBatch, StringArray};

pub const SHARED: &str = "../shared/data";

/// Runs `sluice` with `args` in `dir`.
pub fn sluice_in(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run sluice")
}

/// Runs `python3 ARGS` with `envs`. Returns its output on exit 0. Outside CI, a missing
/// python3 or exit 3 (a package is missing; `install` says which) skips with the reason printed
/// and returns `None`. Anything else panics: in CI every Python check must run.
pub fn python(args: &[&str], envs: &[(&str, &Path)], install: &str) -> Option<String> {
    let in_ci = std::env::var("CI").is_ok();
    let mut cmd = std::process::Command::new("python3");
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = match cmd.output() {
        Ok(o) => o,
        Err(e) if !in_ci => {
            eprintln!("skipped: python3 is not available ({e})");
            return None;
        }
        Err(e) => panic!("python3 is required in CI: {e}"),
    };
    let text = format!("{}{}", stdout(&o), stderr(&o));
    match o.status.code() {
        Some(0) => Some(text),
        Some(3) if !in_ci => {
            eprintln!("skipped ({install}): {text}");
            None
        }
        _ => panic!("python3 {args:?} failed:\n{text}"),
    }
}

/// Path of a helper script in `tests/python/`.
pub fn python_script(name: &str) -> String {
    format!("{}/tests/python/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `sluice` from the crate root.
pub fn sluice(args: &[&str]) -> Output {
    sluice_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts success and returns stderr.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "sluice failed ({:?}):\n{}\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stderr(o)
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Absolute path of a file in ../shared/data.
pub fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SHARED).join(rel)
}

pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

/// Writes a pipeline file and returns its path.
pub fn pipeline(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    write(&p, text.as_bytes());
    p
}

/// Reads every shard of a split in order.
pub fn read_split(out: &Path, split: &str) -> Vec<RecordBatch> {
    let dir = out.join(split);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(d) => d
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect(),
        Err(_) => return Vec::new(),
    };
    files.sort();
    files.iter().flat_map(|f| read_parquet(f)).collect()
}

pub fn strings(batch: &RecordBatch, col: &str) -> Vec<String> {
    let a = batch.column_by_name(col).unwrap_or_else(|| panic!("no column {col}"));
    let s = a.as_any().downcast_ref::<StringArray>().unwrap();
    (0..s.len())
        .map(|i| if s.is_null(i) { "<null>".into() } else { s.value(i).to_string() })
        .collect()
}

pub fn token_lists(batch: &RecordBatch) -> Vec<Vec<i32>> {
    int_lists(batch, "input_ids")
}

/// The values of a `list<int32>` column, row by row.
pub fn int_lists(batch: &RecordBatch, col: &str) -> Vec<Vec<i32>> {
    let l = batch.column_by_name(col).unwrap().as_any().downcast_ref::<ListArray>().unwrap();
    (0..l.len())
        .map(|i| l.value(i).as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec())
        .collect()
}

/// Every batch of one Parquet file.
pub fn read_parquet(p: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// The lines of a shared corpus (`corpora/<name>`, `.jsonl.zst`).
pub fn corpus_lines(name: &str) -> Vec<String> {
    let raw = std::fs::read(shared(&format!("corpora/{name}"))).unwrap();
    let text = String::from_utf8(zstd::decode_all(raw.as_slice()).unwrap()).unwrap();
    text.lines().map(str::to_string).collect()
}

/// Every file under `dir` (relative path → bytes), for byte-identity checks.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(d).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push((
                    p.strip_prefix(base).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Every visible file of an output directory (hidden work files and stats.json aside).
pub fn visible(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .filter(|(n, _)| n != "stats.json" && !n.split('/').any(|p| p.starts_with('.')))
        .collect()
}

pub fn assert_same(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}: different files");
    for ((n, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{what}: {n} differs");
    }
}

/// Runs pipeline `p` in `d` whole, then `points` times killed with SIGKILL at a point spread
/// over the whole run's duration (a fixed LCG: the same points every time) and resumed; every
/// resumed output must equal the whole run's. At least `min_partial` kills must hit the run
/// before its end.
pub fn kill_and_resume(d: &Path, p: &str, points: usize, min_partial: usize) {
    let t0 = std::time::Instant::now();
    ok(&sluice_in(d, &["run", p, "--quiet", "--out", "whole", "-j", "2"]));
    let full = t0.elapsed();
    let want = visible(&d.join("whole"));
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut resumed_partial = 0;
    for k in 0..points {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = full.mul_f64(0.05 + 0.8 * ((x >> 11) as f64 / (1u64 << 53) as f64));
        let out = format!("k{k}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["run", p, "--quiet", "--out", &out, "-j", "2"])
            .current_dir(d)
            .env("RUST_LOG", "error")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !d.join(&out).join("manifest.json").exists() {
            resumed_partial += 1;
        }
        let o = sluice_in(d, &["run", p, "--quiet", "--out", &out, "-j", "2", "--resume"]);
        ok(&o);
        assert_same(&want, &visible(&d.join(&out)), &format!("killed after {at:?}, resumed"));
        std::fs::remove_dir_all(d.join(&out)).unwrap();
    }
    eprintln!("{resumed_partial} of {points} kills hit the run before its end");
    assert!(
        resumed_partial >= min_partial,
        "only {resumed_partial} kills hit the run before its end"
    );
}
