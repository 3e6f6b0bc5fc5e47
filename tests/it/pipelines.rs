//! Every shipped pipeline file parses and plans (`sluice validate`).

use crate::util::*;

#[test]
fn every_pipeline_file_validates() {
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines"))
            .unwrap()
            .flatten()
            .map(|e| format!("pipelines/{}", e.file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml") || n.ends_with(".toml"))
            .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let o = sluice(&args);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
}
