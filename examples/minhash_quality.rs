//! How good is sluice's MinHash-LSH near-duplicate detection (datatrove 0.10.1's: word 5-grams,
//! 14 bands of 8 hashes, seed 1)? Prints three Markdown reports:
//!
//! 1. **S-curves.** The chance that a pair of documents becomes an LSH candidate (shares all
//!    hashes of at least one band) as a function of the true Jaccard similarity `s` of their
//!    5-gram shingle sets, measured on synthetic pairs and set next to the theory
//!    `1 − (1 − s^r)^b`, for 14 × 8 and two other settings. A pair is a ~300-word passage of a
//!    Gutenberg book and a copy with some words replaced by nonce words; `s` is computed
//!    exactly from the two shingle sets, and the pairs are binned by it.
//! 2. **Precision and recall on real corpora** against brute-force Jaccard over all pairs of
//!    documents, at thresholds 0.5, 0.7 and 0.8, and what the clustering (datatrove's
//!    union-find, [`Signatures::removals`]) removes.
//! 3. **Planted duplicates** in `sample_data/`, whose generator labels every exact and near
//!    duplicate with its source (`meta.dup_of`).
//!
//! ```sh
//! cargo run --release --example minhash_quality
//! cargo run --release --example minhash_quality -- --svg docs/dedup-scurve.svg
//! ```
//!
//! `--corpora DIR` (default `../shared/data/corpora`), `--sample-data DIR` (default
//! `sample_data`), `--pairs-per-bin N` (default 1000), `--webtext-docs N` (default 0: all) and
//! `--seed N` change the inputs. Every random choice comes from a seeded xorshift, so the output
//! is the same on every run; timings go to stderr.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::AsArray;
use clap::Parser;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;
use sluice::stage::minhash::cluster::Signatures;
use sluice::stage::minhash::signature::{SignatureConfig, Signer};

/// The settings compared: (bands, hashes per band). The first is datatrove's default.
const SETTINGS: [(usize, usize); 3] = [(14, 8), (9, 13), (20, 5)];
/// Jaccard bins of the S-curve.
const BINS: usize = 20;
/// Words per synthetic passage.
const PASSAGE_WORDS: usize = 300;
/// Thresholds of the precision and recall table.
const THRESHOLDS: [f64; 3] = [0.5, 0.7, 0.8];
/// Below this Jaccard with every other member of its cluster, a removal counts as false.
const FALSE_REMOVAL: f64 = 0.5;

#[derive(Parser)]
#[command(about = "Quality of MinHash-LSH near-duplicate detection (S-curves, precision, recall)")]
struct Args {
    /// Folder of the shared JSONL corpora.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/corpora"))]
    corpora: PathBuf,
    /// The repository's sample_data folder (planted duplicates).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/sample_data"))]
    sample_data: PathBuf,
    /// Minimum synthetic pairs per Jaccard bin of the S-curve.
    #[arg(long, default_value_t = 1000)]
    pairs_per_bin: usize,
    /// Documents read from web_nltk_webtext (0: all).
    #[arg(long, default_value_t = 0)]
    webtext_docs: usize,
    /// Seed of the synthetic pairs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the S-curves as an SVG plot to this file.
    #[arg(long)]
    svg: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let signers: Vec<Signer> = SETTINGS
        .iter()
        .map(|&(buckets, hashes_per_bucket)| {
            Signer::new(SignatureConfig {
                buckets,
                hashes_per_bucket,
                ..SignatureConfig::default()
            })
        })
        .collect();
    let start = Instant::now();

    let t = Instant::now();
    let curve = s_curve(&args, &signers)?;
    print_s_curve(&curve);
    eprintln!("S-curve: {:.1} s", t.elapsed().as_secs_f64());
    if let Some(path) = &args.svg {
        std::fs::write(path, svg(&curve)).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }

    let t = Instant::now();
    corpora_report(&args, &signers)?;
    eprintln!("corpora: {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    planted_report(&args, &signers[0])?;
    eprintln!("sample_data: {:.1} s", t.elapsed().as_secs_f64());
    eprintln!("total: {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// xorshift64* (deterministic; no time-based randomness anywhere).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that small seeds give well-mixed states (never zero)
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 11) as u128 * n as u128) >> 53) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Calls `each` with every record of a JSONL file (`.zst` is decompressed), up to `limit`
/// records (0: all).
fn read_jsonl(path: &Path, limit: usize, mut each: impl FnMut(serde_json::Value)) -> Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "zst") {
        let decoder = zstd::Decoder::new(file)
            .with_context(|| format!("{}: not a zstd file", path.display()))?;
        Box::new(BufReader::new(decoder))
    } else {
        Box::new(BufReader::new(file))
    };
    for (n, line) in reader.lines().enumerate() {
        if limit > 0 && n >= limit {
            break;
        }
        let line = line.with_context(|| format!("{}: reading line {}", path.display(), n + 1))?;
        let value = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {} is not JSON", path.display(), n + 1))?;
        each(value);
    }
    Ok(())
}

/// The sorted, deduplicated shingle hashes of a text.
fn shingle_set(signer: &Signer, text: &str) -> Vec<u64> {
    let mut set = signer.shingle_hashes(text);
    set.sort_unstable();
    set.dedup();
    set
}

/// Size of the intersection of two sorted sets.
fn intersection(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Exact Jaccard similarity of two sorted sets (0 when both are empty).
fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let inter = intersection(a, b);
    let union = a.len() + b.len() - inter;
    if union == 0 { 0.0 } else { inter as f64 / union as f64 }
}

/// Whether two signatures agree on every value of some band.
fn shares_band(a: &[u64], b: &[u64], hashes_per_bucket: usize) -> bool {
    a.chunks_exact(hashes_per_bucket).zip(b.chunks_exact(hashes_per_bucket)).any(|(x, y)| x == y)
}

/// The LSH theory: chance that a pair with Jaccard `s` shares one of `b` bands of `r` hashes.
fn theory(s: f64, b: usize, r: usize) -> f64 {
    1.0 - (1.0 - s.powi(r as i32)).powi(b as i32)
}

/// The `s` at which the theory reaches probability `p`: `(1 − (1 − p)^(1/b))^(1/r)`.
fn theory_inverse(p: f64, b: usize, r: usize) -> f64 {
    (1.0 - (1.0 - p).powf(1.0 / b as f64)).powf(1.0 / r as f64)
}

/// Where the theory crosses 1/2.
fn theory_midpoint(b: usize, r: usize) -> f64 {
    theory_inverse(0.5, b, r)
}

fn setting_name((b, r): (usize, usize)) -> String {
    format!("{b}×{r}")
}

// ---------------------------------------------------------------------------------------------
// 1. S-curves

/// One synthetic pair to build: a passage of book `book` from byte `offset`, and a copy whose
/// words are replaced in blocks of `block` words until about `target` Jaccard is left.
struct PairSpec {
    id: usize,
    book: usize,
    offset: usize,
    target: f64,
    block: usize,
    seed: u64,
}

/// Per bin: pairs, sum of their `s`, per setting the sum of the theory's probabilities and of
/// their Bernoulli variances, and the candidates.
#[derive(Default, Clone)]
struct Bin {
    pairs: usize,
    sum_s: f64,
    sum_theory: [f64; 3],
    sum_var: [f64; 3],
    candidates: [usize; 3],
}

struct Curve {
    bins: Vec<Bin>,
    books: usize,
}

fn bin_of(s: f64) -> usize {
    ((s * BINS as f64) as usize).min(BINS - 1)
}

/// Letters only (`simplify_text` turns digits into 0), so every nonce word stays distinct.
fn nonce(pair: usize, word: usize) -> String {
    fn letters(mut n: usize, out: &mut String) {
        loop {
            out.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
            if n == 0 {
                break;
            }
        }
    }
    let mut w = String::from("qx");
    letters(pair, &mut w);
    w.push('q');
    letters(word, &mut w);
    w
}

/// The two texts of a pair, or `None` when the book has no full passage at that offset.
fn build_pair(books: &[String], spec: &PairSpec) -> Option<(String, String)> {
    let text = &books[spec.book];
    let mut at = spec.offset;
    while !text.is_char_boundary(at) {
        at += 1;
    }
    // skip the (possibly cut) first word
    let words: Vec<&str> = text[at..].split_whitespace().skip(1).take(PASSAGE_WORDS).collect();
    if words.len() < PASSAGE_WORDS {
        return None;
    }
    let windows = PASSAGE_WORDS - 4;
    // shingles to change so that (n − c) / (n + c) = target
    let want = ((windows as f64 * (1.0 - spec.target) / (1.0 + spec.target)).round() as usize)
        .clamp(1, windows);
    let mut rng = Rng::new(spec.seed);
    let mut replaced = vec![false; PASSAGE_WORDS];
    let mut touched = vec![false; windows];
    let mut changed = 0;
    while changed < want && replaced.iter().any(|r| !r) {
        let first = rng.below(PASSAGE_WORDS);
        for (p, word) in replaced.iter_mut().enumerate().skip(first).take(spec.block) {
            if *word {
                continue;
            }
            *word = true;
            // the shingles that contain word p
            for shingle in &mut touched[p.saturating_sub(4)..=p.min(windows - 1)] {
                if !*shingle {
                    *shingle = true;
                    changed += 1;
                }
            }
        }
    }
    let a = words.join(" ");
    let b: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| if replaced[i] { nonce(spec.id, i) } else { (*w).to_string() })
        .collect();
    Some((a, b.join(" ")))
}

/// `s` and, per setting, whether the pair is a candidate; `None` for passages with few
/// distinct shingles (tables, verse refrains, text without spaces).
fn measure_pair(signers: &[Signer], a: &str, b: &str) -> Option<(f64, [bool; 3])> {
    let (sa, sb) = (shingle_set(&signers[0], a), shingle_set(&signers[0], b));
    if sa.len() < 250 {
        return None;
    }
    let s = jaccard(&sa, &sb);
    let mut cand = [false; 3];
    for (c, signer) in cand.iter_mut().zip(signers) {
        let (x, y) = (signer.signature(a)?, signer.signature(b)?);
        *c = shares_band(&x, &y, signer.config().hashes_per_bucket);
    }
    Some((s, cand))
}

fn s_curve(args: &Args, signers: &[Signer]) -> Result<Curve> {
    let path = args.corpora.join("books_gutenberg_top100.jsonl.zst");
    let mut books = Vec::new();
    read_jsonl(&path, 0, |v| {
        let is_book = v["meta"]["kind"].as_str() == Some("book");
        if let Some(text) = v["text"].as_str().filter(|_| is_book) {
            // Latin-script books only: a passage of text without spaces has no 300 words
            let sample: Vec<char> = text.chars().take(20_000).collect();
            if sample.iter().filter(|c| c.is_ascii()).count() * 10 >= sample.len() * 9 {
                books.push(text.to_string());
            }
        }
    })?;
    if books.is_empty() {
        bail!("{}: no books", path.display());
    }
    let total: usize = books.iter().map(String::len).sum();
    let mut rng = Rng::new(args.seed);
    let mut bins = vec![Bin::default(); BINS];
    let mut next_id = 0;
    const BLOCKS: [usize; 6] = [1, 1, 2, 4, 8, 16];
    for _round in 0..200 {
        let short: Vec<usize> = (0..BINS).filter(|&i| bins[i].pairs < args.pairs_per_bin).collect();
        if short.is_empty() {
            break;
        }
        let deficit: usize = short.iter().map(|&i| args.pairs_per_bin - bins[i].pairs).sum();
        let specs: Vec<PairSpec> = (0..deficit.clamp(200, 4000))
            .map(|_| {
                let bin = short[rng.below(short.len())];
                let target = (bin as f64 + rng.unit()) / BINS as f64;
                // a byte position over all books, so that long books give more passages
                let mut pos = rng.below(total);
                let book = books
                    .iter()
                    .position(|b| {
                        if pos < b.len() {
                            true
                        } else {
                            pos -= b.len();
                            false
                        }
                    })
                    .unwrap_or(0);
                next_id += 1;
                PairSpec {
                    id: next_id,
                    book,
                    offset: pos,
                    target,
                    block: BLOCKS[rng.below(BLOCKS.len())],
                    seed: rng.next(),
                }
            })
            .collect();
        let results: Vec<Option<(f64, [bool; 3])>> = specs
            .par_iter()
            .map(|spec| {
                let (a, b) = build_pair(&books, spec)?;
                measure_pair(signers, &a, &b)
            })
            .collect();
        for (s, cand) in results.into_iter().flatten() {
            let bin = &mut bins[bin_of(s)];
            bin.pairs += 1;
            bin.sum_s += s;
            for k in 0..SETTINGS.len() {
                let (b, r) = SETTINGS[k];
                let p = theory(s, b, r);
                bin.sum_theory[k] += p;
                bin.sum_var[k] += p * (1.0 - p);
                bin.candidates[k] += usize::from(cand[k]);
            }
        }
    }
    Ok(Curve { bins, books: books.len() })
}

/// Where the measured rates cross 1/2 (linear between the bins' mean `s`).
fn measured_midpoint(curve: &Curve, k: usize) -> Option<f64> {
    let points: Vec<(f64, f64)> = curve
        .bins
        .iter()
        .filter(|b| b.pairs > 0)
        .map(|b| (b.sum_s / b.pairs as f64, b.candidates[k] as f64 / b.pairs as f64))
        .collect();
    points.windows(2).find(|w| w[0].1 < 0.5 && w[1].1 >= 0.5).map(|w| {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        x0 + (0.5 - y0) * (x1 - x0) / (y1 - y0)
    })
}

fn print_s_curve(curve: &Curve) {
    let pairs: usize = curve.bins.iter().map(|b| b.pairs).sum();
    println!("## S-curves: candidate rate against the Jaccard of the 5-gram shingle sets\n");
    println!(
        "{pairs} synthetic pairs from {} Gutenberg books ({PASSAGE_WORDS}-word passages, \
         words replaced by nonce words). Per bin: the measured share of pairs that share a \
         band, and the theory 1 − (1 − s^r)^b averaged over the bin's pairs.\n",
        curve.books
    );
    let mut head = String::from("| s bin | pairs | mean s |");
    let mut rule = String::from("|---|---:|---:|");
    for &setting in &SETTINGS {
        let name = setting_name(setting);
        let _ = write!(head, " {name} measured | {name} theory |");
        rule.push_str("---:|---:|");
    }
    println!("{head}\n{rule}");
    for (i, bin) in curve.bins.iter().enumerate() {
        let lo = i as f64 / BINS as f64;
        let mut row = format!("| {lo:.2}–{:.2} | {} |", lo + 1.0 / BINS as f64, bin.pairs);
        if bin.pairs == 0 {
            row.push_str(&" – |".repeat(1 + 2 * SETTINGS.len()));
        } else {
            let n = bin.pairs as f64;
            let _ = write!(row, " {:.3} |", bin.sum_s / n);
            for k in 0..SETTINGS.len() {
                let _ = write!(
                    row,
                    " {:.3} | {:.3} |",
                    bin.candidates[k] as f64 / n,
                    bin.sum_theory[k] / n
                );
            }
        }
        println!("{row}");
    }
    println!();
    println!(
        "| setting | hashes | s at P = 0.1 | s at P = 0.5 (theory) | s at P = 0.5 (measured) \
         | s at P = 0.9 | (1/b)^(1/r) | P at s = 0.5 / 0.7 / 0.8 / 0.9 | largest gap (standard \
         errors) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---:|");
    for (k, &(b, r)) in SETTINGS.iter().enumerate() {
        let measured =
            measured_midpoint(curve, k).map_or_else(|| "–".to_string(), |m| format!("{m:.3}"));
        let at: Vec<String> =
            [0.5, 0.7, 0.8, 0.9].iter().map(|&s| format!("{:.3}", theory(s, b, r))).collect();
        // |measured − expected| over the standard error of the bin's Bernoulli sum
        let gap = curve
            .bins
            .iter()
            .filter(|bin| bin.sum_var[k] > 0.0)
            .map(|bin| (bin.candidates[k] as f64 - bin.sum_theory[k]).abs() / bin.sum_var[k].sqrt())
            .fold(0.0, f64::max);
        println!(
            "| {} | {} | {:.3} | {:.3} | {measured} | {:.3} | {:.3} | {} | {gap:.1} |",
            setting_name((b, r)),
            b * r,
            theory_inverse(0.1, b, r),
            theory_midpoint(b, r),
            theory_inverse(0.9, b, r),
            (1.0 / b as f64).powf(1.0 / r as f64),
            at.join(" / ")
        );
    }
    println!();
}

/// The S-curves as a hand-written SVG: theory as lines, measurements as dots.
fn svg(curve: &Curve) -> String {
    const COLORS: [&str; 3] = ["#1f77b4", "#d62728", "#2ca02c"];
    let (w, h, left, right, top, bottom) = (640.0, 440.0, 60.0, 20.0, 40.0, 50.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let x = |s: f64| left + s * pw;
    let y = |p: f64| top + (1.0 - p) * ph;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">MinHash-LSH: chance of becoming a candidate pair (word 5-grams)</text>"#,
        w / 2.0
    );
    for i in 0..=10 {
        let v = i as f64 / 10.0;
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#ddd"/><line x1="{3:.1}" y1="{4:.1}" x2="{5:.1}" y2="{4:.1}" stroke="#ddd"/>"##,
            x(v),
            y(0.0),
            y(1.0),
            x(0.0),
            y(v),
            x(1.0)
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{v:.1}</text><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.1}</text>"#,
            x(v),
            y(0.0) + 16.0,
            x(0.0) - 6.0,
            y(v) + 4.0
        );
    }
    let _ = writeln!(
        out,
        r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">Jaccard similarity s of the 5-gram shingle sets</text>"#,
        left + pw / 2.0,
        h - 12.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">P(candidate pair)</text>"#,
        top + ph / 2.0
    );
    let _ = writeln!(
        out,
        r#"<rect x="{:.1}" y="{:.1}" width="300" height="{:.1}" fill="white" fill-opacity="0.9"/>"#,
        left + 4.0,
        top + 6.0,
        18.0 * (SETTINGS.len() + 1) as f64 + 6.0
    );
    for (k, &(b, r)) in SETTINGS.iter().enumerate() {
        let points: Vec<String> = (0..=200)
            .map(|i| {
                let s = i as f64 / 200.0;
                format!("{:.1},{:.1}", x(s), y(theory(s, b, r)))
            })
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            COLORS[k],
            points.join(" ")
        );
        for bin in curve.bins.iter().filter(|b| b.pairs > 0) {
            let n = bin.pairs as f64;
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"/>"#,
                x(bin.sum_s / n),
                y(bin.candidates[k] as f64 / n),
                COLORS[k]
            );
        }
        let ly = top + 18.0 + 18.0 * k as f64;
        let _ = writeln!(
            out,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{c}" stroke-width="1.5"/><circle cx="{:.1}" cy="{ly:.1}" r="3.5" fill="{c}"/><text x="{:.1}" y="{:.1}">{} bands × {} hashes (P = 1/2 at s = {:.2})</text>"#,
            left + 12.0,
            left + 36.0,
            left + 24.0,
            left + 44.0,
            ly + 4.0,
            b,
            r,
            theory_midpoint(b, r),
            c = COLORS[k]
        );
    }
    let ly = top + 18.0 + 18.0 * SETTINGS.len() as f64;
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" fill="#555">lines: theory 1 − (1 − s^r)^b; dots: measured</text>"##,
        left + 12.0,
        ly + 4.0
    );
    out.push_str("</svg>\n");
    out
}

// ---------------------------------------------------------------------------------------------
// 2. Precision and recall on real corpora

struct Corpus {
    ids: Vec<String>,
    /// Sorted distinct shingle hashes (empty: fewer than 5 words, no signature).
    sets: Vec<Vec<u64>>,
    /// Signatures per setting.
    sigs: Vec<Vec<Option<Vec<u64>>>>,
}

impl Corpus {
    fn new(ids: Vec<String>, texts: &[String], signers: &[Signer]) -> Self {
        let sets = texts.par_iter().map(|t| shingle_set(&signers[0], t)).collect();
        let sigs =
            signers.iter().map(|s| texts.par_iter().map(|t| s.signature(t)).collect()).collect();
        Corpus { ids, sets, sigs }
    }

    fn signed(&self) -> usize {
        self.sets.iter().filter(|s| !s.is_empty()).count()
    }

    fn j(&self, a: u32, b: u32) -> f64 {
        jaccard(&self.sets[a as usize], &self.sets[b as usize])
    }

    /// Every pair with Jaccard ≥ `min` (exact; the size filter |A|/|B| ≥ J only skips pairs
    /// that cannot reach `min`), as `(a, b, J)` with a < b.
    fn similar_pairs(&self, min: f64) -> Vec<(u32, u32, f64)> {
        let mut order: Vec<u32> =
            (0..self.sets.len() as u32).filter(|&i| !self.sets[i as usize].is_empty()).collect();
        order.sort_by_key(|&i| (self.sets[i as usize].len(), i));
        let mut pairs: Vec<(u32, u32, f64)> = (0..order.len())
            .into_par_iter()
            .flat_map_iter(|x| {
                let a = order[x];
                let la = self.sets[a as usize].len() as f64;
                order[x + 1..]
                    .iter()
                    .take_while(move |&&b| la >= min * self.sets[b as usize].len() as f64)
                    .filter_map(move |&b| {
                        let j = self.j(a, b);
                        (j >= min).then_some((a.min(b), a.max(b), j))
                    })
            })
            .collect();
        pairs.sort_by_key(|&(a, b, _)| (a, b));
        pairs
    }

    /// Every pair of documents that agree on some band of setting `k`, with a < b.
    fn candidates(&self, k: usize) -> Vec<(u32, u32)> {
        let (bands, r) = SETTINGS[k];
        let mut pairs = HashSet::new();
        for band in 0..bands {
            let mut groups: HashMap<&[u64], Vec<u32>> = HashMap::new();
            for (doc, sig) in self.sigs[k].iter().enumerate() {
                if let Some(sig) = sig {
                    groups.entry(&sig[band * r..(band + 1) * r]).or_default().push(doc as u32);
                }
            }
            for docs in groups.values().filter(|d| d.len() > 1) {
                for (x, &a) in docs.iter().enumerate() {
                    for &b in &docs[x + 1..] {
                        pairs.insert((a, b));
                    }
                }
            }
        }
        let mut pairs: Vec<(u32, u32)> = pairs.into_iter().collect();
        pairs.sort_unstable();
        pairs
    }

    /// datatrove's removals for setting `k`: `(removed, survivor)`.
    fn removals(&self, k: usize) -> Vec<(u32, u32)> {
        let (bands, r) = SETTINGS[k];
        let mut sigs = Signatures::new(bands, r);
        for (doc, sig) in self.sigs[k].iter().enumerate() {
            if let Some(sig) = sig {
                sigs.push(doc as u32, sig);
            }
        }
        sigs.removals()
    }

    /// For each removed document, the highest Jaccard with any other member of its cluster.
    fn best_in_cluster(&self, removals: &[(u32, u32)]) -> Vec<f64> {
        let mut clusters: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for &(doc, survivor) in removals {
            clusters.entry(survivor).or_insert_with(|| vec![survivor]).push(doc);
        }
        removals
            .par_iter()
            .map(|&(doc, survivor)| {
                clusters[&survivor]
                    .iter()
                    .filter(|&&o| o != doc)
                    .map(|&o| self.j(doc, o))
                    .fold(0.0, f64::max)
            })
            .collect()
    }
}

fn load_corpus(path: &Path, limit: usize, signers: &[Signer]) -> Result<(Corpus, usize)> {
    let (mut ids, mut texts, mut empty) = (Vec::new(), Vec::new(), 0);
    read_jsonl(path, limit, |v| match v["text"].as_str() {
        Some(t) if !t.is_empty() => {
            ids.push(v["id"].as_str().unwrap_or("").to_string());
            texts.push(t.to_string());
        }
        _ => empty += 1,
    })?;
    Ok((Corpus::new(ids, &texts, signers), empty))
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 { "–".to_string() } else { format!("{:.3}", n as f64 / d as f64) }
}

fn corpora_report(args: &Args, signers: &[Signer]) -> Result<()> {
    let corpora = [
        ("sms_spam_collection", 0),
        ("web_nltk_webtext", args.webtext_docs),
        ("web_dolma_ccmain2019_sample", 0),
    ];
    let mut summary = String::new();
    let mut detail = String::new();
    let mut removal = String::new();
    for (name, limit) in corpora {
        let t = Instant::now();
        let path = args.corpora.join(format!("{name}.jsonl.zst"));
        let (corpus, empty) = load_corpus(&path, limit, signers)?;
        let similar = corpus.similar_pairs(THRESHOLDS[0]);
        let label = if limit > 0 { format!("{name} (first {limit})") } else { name.to_string() };
        let _ = writeln!(
            summary,
            "| {label} | {} | {empty} | {} | {} | {} | {} | {} |",
            corpus.ids.len() + empty,
            corpus.signed(),
            similar.len(),
            similar.iter().filter(|p| p.2 >= THRESHOLDS[1]).count(),
            similar.iter().filter(|p| p.2 >= THRESHOLDS[2]).count(),
            similar.iter().filter(|p| p.2 >= 1.0).count(),
        );
        for (k, &setting) in SETTINGS.iter().enumerate() {
            let cands = corpus.candidates(k);
            let cand_j: Vec<f64> = cands.par_iter().map(|&(a, b)| corpus.j(a, b)).collect();
            let cand_set: HashSet<(u32, u32)> = cands.iter().copied().collect();
            let _ = write!(detail, "| {label} | {} | {} |", setting_name(setting), cands.len());
            for t in THRESHOLDS {
                let truth: Vec<&(u32, u32, f64)> = similar.iter().filter(|p| p.2 >= t).collect();
                let found = truth.iter().filter(|p| cand_set.contains(&(p.0, p.1))).count();
                let near: Vec<_> = truth.iter().filter(|p| p.2 < 1.0).collect();
                let near_found = near.iter().filter(|p| cand_set.contains(&(p.0, p.1))).count();
                let correct = cand_j.iter().filter(|&&j| j >= t).count();
                let _ = write!(
                    detail,
                    " {} | {} | {} |",
                    pct(found, truth.len()),
                    pct(near_found, near.len()),
                    pct(correct, cands.len())
                );
            }
            detail.push('\n');

            let removals = corpus.removals(k);
            let best = corpus.best_in_cluster(&removals);
            let band = |lo: f64, hi: f64| best.iter().filter(|&&j| j >= lo && j < hi).count();
            let _ = writeln!(
                removal,
                "| {label} | {} | {} | {} | {} | {} | {} |",
                setting_name(setting),
                removals.len(),
                band(0.8, f64::INFINITY),
                band(0.5, 0.8),
                band(0.0, FALSE_REMOVAL),
                pct(band(0.0, FALSE_REMOVAL), removals.len()),
            );
        }
        eprintln!("{name}: {:.1} s", t.elapsed().as_secs_f64());
    }
    println!("## Precision and recall against exact Jaccard (all pairs)\n");
    println!(
        "Every pair of documents with a signature is compared exactly (Jaccard of the sets of \
         word 5-gram hashes). A pair is an LSH candidate when its signatures agree on every hash \
         of at least one band. Documents with an empty `text` are skipped; documents with \
         fewer than 5 words have no signature and are never candidates.\n"
    );
    println!(
        "| corpus | docs | empty (skipped) | with a signature | pairs J ≥ 0.5 | J ≥ 0.7 | J ≥ 0.8 \
         | J = 1 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    print!("{summary}");
    println!();
    println!(
        "Recall: share of the pairs with J ≥ t that are candidates (\"near\": the same, without \
         exact duplicates J = 1). Precision: share of the candidate pairs with J ≥ t.\n"
    );
    let mut head = String::from("| corpus | setting | candidate pairs |");
    let mut rule = String::from("|---|---|---:|");
    for t in THRESHOLDS {
        let _ = write!(head, " recall {t} | near recall {t} | precision {t} |");
        rule.push_str("---:|---:|---:|");
    }
    println!("{head}\n{rule}");
    print!("{detail}");
    println!();
    println!("### What the clustering removes\n");
    println!(
        "Union-find over the candidate pairs (datatrove's clusters and survivors). Each removed \
         document is classed by its highest Jaccard with any other member of its cluster; below \
         {FALSE_REMOVAL} it is a false removal.\n"
    );
    println!(
        "| corpus | setting | removed | best J ≥ 0.8 | 0.5 ≤ best J < 0.8 | false (best J < 0.5) | false share |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    print!("{removal}");
    println!();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Planted duplicates in sample_data/

/// The labelled pairs of one (kind, variant).
struct LabelRow {
    pairs: usize,
    /// Pairs whose both documents have a signature.
    signed: usize,
    j_min: f64,
    j_max: f64,
    candidates: usize,
    same_cluster: usize,
}

impl Default for LabelRow {
    fn default() -> Self {
        LabelRow {
            pairs: 0,
            signed: 0,
            j_min: f64::INFINITY,
            j_max: f64::NEG_INFINITY,
            candidates: 0,
            same_cluster: 0,
        }
    }
}

struct Labelled {
    kind: String,
    variant: String,
    dup_of: String,
}

fn load_sample(dir: &Path) -> Result<(Vec<String>, Vec<String>, Vec<Labelled>)> {
    let (mut ids, mut texts, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir.join("web"))
        .with_context(|| format!("listing {}", dir.join("web").display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.zst"))
        .collect();
    parts.sort();
    for part in &parts {
        read_jsonl(part, 0, |v| {
            let meta = |k: &str| v["meta"][k].as_str().unwrap_or("").to_string();
            ids.push(v["id"].as_str().unwrap_or("").to_string());
            texts.push(v["text"].as_str().unwrap_or("").to_string());
            labels.push(Labelled {
                kind: meta("kind"),
                variant: meta("variant"),
                dup_of: meta("dup_of"),
            });
        })?;
    }
    let wiki = dir.join("wiki/articles-00000.parquet");
    let file = File::open(&wiki).with_context(|| format!("opening {}", wiki.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .with_context(|| format!("reading {}", wiki.display()))?;
    for batch in reader {
        let batch = batch.with_context(|| format!("reading {}", wiki.display()))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>())
                .with_context(|| format!("{}: no string column {name}", wiki.display()))
        };
        let (id, text) = (column("id")?, column("text")?);
        for row in 0..batch.num_rows() {
            ids.push(id.value(row).to_string());
            texts.push(text.value(row).to_string());
            labels.push(Labelled {
                kind: "wiki".into(),
                variant: String::new(),
                dup_of: String::new(),
            });
        }
    }
    Ok((ids, texts, labels))
}

fn planted_report(args: &Args, signer: &Signer) -> Result<()> {
    let (ids, texts, labels) = load_sample(&args.sample_data)?;
    let corpus = Corpus::new(ids, &texts, std::slice::from_ref(signer));
    let index: HashMap<&str, u32> =
        corpus.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i as u32)).collect();
    let cand: HashSet<(u32, u32)> = corpus.candidates(0).into_iter().collect();
    let removals = corpus.removals(0);
    let survivor: HashMap<u32, u32> = removals.iter().copied().collect();
    let root = |d: u32| survivor.get(&d).copied().unwrap_or(d);

    let mut rows: BTreeMap<(String, String), LabelRow> = BTreeMap::new();
    let mut labelled_pairs = HashSet::new();
    for (doc, label) in labels.iter().enumerate() {
        if label.dup_of.is_empty() {
            continue;
        }
        let Some(&src) = index.get(label.dup_of.as_str()) else {
            bail!("{}: dup_of {} is not in sample_data", corpus.ids[doc], label.dup_of);
        };
        let doc = doc as u32;
        let pair = (doc.min(src), doc.max(src));
        labelled_pairs.insert(pair);
        let row = rows.entry((label.kind.clone(), label.variant.clone())).or_default();
        row.pairs += 1;
        if corpus.sets[doc as usize].is_empty() || corpus.sets[src as usize].is_empty() {
            continue;
        }
        let j = corpus.j(doc, src);
        row.signed += 1;
        row.j_min = row.j_min.min(j);
        row.j_max = row.j_max.max(j);
        row.candidates += usize::from(cand.contains(&pair));
        row.same_cluster += usize::from(root(doc) == root(src));
    }

    println!("## Planted duplicates in sample_data/ (14×8)\n");
    println!(
        "{} documents ({} with a signature); the generator labels each exact and near \
         duplicate with its source (`meta.dup_of`). Per label: the pair's Jaccard, whether it is \
         an LSH candidate and whether the clustering puts both in one cluster (one of them is \
         removed).\n",
        corpus.ids.len(),
        corpus.signed()
    );
    println!(
        "| kind | variant | labelled pairs | signed | J min | J max | candidates | same cluster |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let mut total = LabelRow::default();
    for ((kind, variant), row) in &rows {
        let range = |v: f64| if row.signed > 0 { format!("{v:.3}") } else { "–".into() };
        println!(
            "| {kind} | {variant} | {} | {} | {} | {} | {} | {} |",
            row.pairs,
            row.signed,
            range(row.j_min),
            range(row.j_max),
            row.candidates,
            row.same_cluster
        );
        total.pairs += row.pairs;
        total.signed += row.signed;
        total.candidates += row.candidates;
        total.same_cluster += row.same_cluster;
    }
    println!(
        "| **all** | | {} | {} | | | {} | {} |",
        total.pairs, total.signed, total.candidates, total.same_cluster
    );
    println!();
    let kind = |d: u32| {
        let l = &labels[d as usize];
        if l.variant.is_empty() { l.kind.clone() } else { format!("{}/{}", l.kind, l.variant) }
    };
    let mut other: Vec<(u32, u32, f64)> = cand
        .iter()
        .filter(|p| !labelled_pairs.contains(p))
        .map(|&(a, b)| (a, b, corpus.j(a, b)))
        .collect();
    other.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    let best = corpus.best_in_cluster(&removals);
    let labelled_docs: HashSet<u32> = labelled_pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    println!(
        "The clustering removes {} documents: {} of them are a labelled duplicate or its source, and {} have \
         J < {FALSE_REMOVAL} with every other member of their cluster (false removals).\n",
        removals.len(),
        removals.iter().filter(|r| labelled_docs.contains(&r.0)).count(),
        best.iter().filter(|&&j| j < FALSE_REMOVAL).count()
    );
    let count = |lo: f64, hi: f64| other.iter().filter(|p| p.2 >= lo && p.2 < hi).count();
    // what the theory expects: the sum of P(candidate) over all pairs with 0.1 ≤ J < 0.5
    let (b, r) = SETTINGS[0];
    let weak: Vec<f64> =
        corpus.similar_pairs(0.1).into_iter().map(|p| p.2).filter(|&j| j < 0.5).collect();
    let expected: f64 = weak.iter().map(|&j| theory(j, b, r)).sum();
    println!(
        "Candidate pairs that are not a labelled (duplicate, source) pair: {} in all; {} with \
         J = 1, {} with 0.8 ≤ J < 1, {} with 0.5 ≤ J < 0.8, {} with J < 0.5 (the theory \
         expects {expected:.1} from the {} pairs with 0.1 ≤ J < 0.5, {} of them with J ≥ 0.3). \
         These with J = 1 or J < 0.5:\n",
        other.len(),
        count(1.0, f64::INFINITY),
        count(0.8, 1.0),
        count(0.5, 0.8),
        count(0.0, 0.5),
        weak.len(),
        weak.iter().filter(|&&j| j >= 0.3).count()
    );
    println!("| document | document | kinds | J |");
    println!("|---|---|---|---:|");
    for &(a, b, j) in other.iter().filter(|p| p.2 >= 1.0 || p.2 < 0.5) {
        println!(
            "| {} | {} | {} · {} | {j:.3} |",
            corpus.ids[a as usize],
            corpus.ids[b as usize],
            kind(a),
            kind(b)
        );
    }
    println!();
    Ok(())
}
