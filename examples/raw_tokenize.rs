//! The tokenizer ceiling: each engine encoding every document of a corpus on its own (no
//! special tokens, rayon over documents), without the pipeline around it: sluice's encoder as
//! `tokenize` chooses it (`raw-sluice`) and Hugging Face `tokenizers` 0.23 (`raw-tok023`),
//! alternating runs, median of REPEAT.
//!
//! `cargo run --release --example raw_tokenize -- TOKENIZER.json CORPUS.jsonl.zst THREADS [REPEAT]`

use std::io::BufRead;
use std::time::Instant;

use rayon::prelude::*;
use sluice::tokenize::{Encoder, Want};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (tok, corpus, threads) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    let repeat = args.get(4).map_or(3, |r| r.parse().unwrap());
    let load = |want| {
        let (tokenizer, _) = sluice::stage::tokenize::load_tokenizer(tok).unwrap();
        Encoder::new(tokenizer, want).unwrap()
    };
    // `ONLY_SLUICE=1` skips the reference engine (for profiling the fast path alone).
    let only_sluice = std::env::var_os("ONLY_SLUICE").is_some();
    let mut engines = vec![("raw-sluice", load(Want::Auto))];
    if !only_sluice {
        engines.push(("raw-tok023", load(Want::Reference)));
    }
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
    let mut times = vec![Vec::new(); engines.len()];
    let mut counts = vec![0usize; engines.len()];
    for _ in 0..repeat {
        for (k, (_, enc)) in engines.iter().enumerate() {
            let t0 = Instant::now();
            counts[k] = pool.install(|| {
                texts
                    .par_iter()
                    .map_init(Vec::new, |ids, t| {
                        ids.clear();
                        enc.encode_into(t, ids).unwrap();
                        ids.len()
                    })
                    .sum()
            });
            times[k].push(t0.elapsed().as_secs_f64());
        }
    }
    if only_sluice {
        counts.push(counts[0]);
    }
    assert_eq!(counts[0], counts[1], "the engines disagree on the token count");
    let name = std::path::Path::new(corpus)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace(".jsonl.zst", "");
    let mut med = Vec::new();
    for (k, (label, _)) in engines.iter().enumerate() {
        times[k].sort_by(f64::total_cmp);
        let m = times[k][times[k].len() / 2];
        med.push(m);
        println!(
            "{:<28} {:<10} {:>3} {:>9.2} {:>10.0} {:>9.2} {:>10}",
            name,
            label,
            threads,
            bytes as f64 / 1e6 / m,
            texts.len() as f64 / m,
            m,
            "-"
        );
    }
    if let [a, b] = med[..] {
        println!("{name:<28} sluice/tokenizers 0.23 at {threads} threads: {:.1}x", b / a);
    }
}
