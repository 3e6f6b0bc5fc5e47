//! Output compatibility: pyarrow, Hugging Face `datasets`, polars and DuckDB read the shards
//! as they are. `.ci/run` installs them; elsewhere a missing library skips with a reason.

use std::path::Path;

use crate::util::*;

#[test]
fn python_readers_read_the_shards() {
    let d = tempdir();
    let out = d.path().join("qs");
    ok(&sluice(&["run", "pipelines/quickstart.yaml", "--quiet", "--out", out.to_str().unwrap()]));
    let script = python_script("read_outputs.py");
    let hf = d.path().join("hf");
    let envs: &[(&str, &Path)] = &[("HF_DATASETS_OFFLINE", Path::new("1")), ("HF_HOME", &hf)];
    let install = "install pyarrow datasets polars duckdb to run all";
    if let Some(text) = python(&[&script, out.to_str().unwrap()], envs, install) {
        eprintln!("{text}");
    }
}
