//! The tokenizer ceiling: the raw `tokenizers` crate encoding every document of a corpus
//! (`encode_fast`, no special tokens, rayon over documents), without sluice around it.
//!
//! `cargo run --release --example raw_tokenize -- TOKENIZER.json CORPUS.jsonl.zst THREADS [REPEAT]`

use std::io::BufRead;
use std::time::Instant;

use rayon::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (tok, corpus, threads) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    let repeat = args.get(4).map_or(3, |r| r.parse().unwrap());
    let (tokenizer, _) = sluice::stage::tokenize::load_tokenizer(tok).unwrap();
    let f = std::fs::File::open(corpus).unwrap();
    let texts: Vec<String> = std::io::BufReader::new(zstd::Decoder::new(f).unwrap())
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap()["text"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut times: Vec<f64> = (0..repeat)
        .map(|_| {
            let t0 = Instant::now();
            let n: usize = pool.install(|| {
                texts
                    .par_iter()
                    .map(|t| tokenizer.encode_fast(t.as_str(), false).unwrap().len())
                    .sum()
            });
            assert!(n > 0);
            t0.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let med = times[times.len() / 2];
    let name = std::path::Path::new(corpus)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace(".jsonl.zst", "");
    println!(
        "{:<28} {:<9} {:>3} {:>9.2} {:>10.0} {:>9.2} {:>10}",
        name,
        "raw-tok",
        threads,
        bytes as f64 / 1e6 / med,
        texts.len() as f64 / med,
        med,
        "-"
    );
}
