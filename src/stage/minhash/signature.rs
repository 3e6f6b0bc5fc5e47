//! MinHash signatures exactly as datatrove 0.10.1's `MinhashDedupSignature` computes them:
//! `simplify_text` ([`crate::text::simplify`]), spaCy's English word tokens
//! ([`crate::text::EnTokenizer`]), shingles of `n_grams` consecutive words joined by one space,
//! each hashed with XXH64 (seed 0) over its UTF-8 bytes, and per permutation `k`
//! `min over shingles of (h · a_k + b_k) mod (2^61 − 1)`, where the product and the sum wrap at
//! 2^64 as numpy's `uint64` arrays do. The permutation parameters are numpy's legacy
//! `RandomState(seed).randint(1, P, n)` then `.randint(0, P, n)` from the same stream, which
//! [`LegacyRandomState`] reproduces (MT19937 with `init_genrand`, 64-bit draws high word first,
//! masked rejection sampling).

use crate::text::EnTokenizer;
use crate::text::simplify::simplify_text;

/// datatrove's `_mersenne_prime`.
pub const MERSENNE_PRIME: u64 = (1 << 61) - 1;

/// The signature settings (datatrove's `MinhashConfig`, 64-bit xxhash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureConfig {
    /// Words per shingle.
    pub n_grams: usize,
    /// Bands.
    pub buckets: usize,
    /// Hashes per band.
    pub hashes_per_bucket: usize,
    /// Seed of the permutations.
    pub seed: u32,
}

impl Default for SignatureConfig {
    /// datatrove 0.10.1's defaults: 5-grams, 14 bands of 8 hashes, seed 1.
    fn default() -> Self {
        SignatureConfig { n_grams: 5, buckets: 14, hashes_per_bucket: 8, seed: 1 }
    }
}

/// numpy's legacy `RandomState` for an integer seed: the MT19937 stream and `randint` for
/// `uint64`.
pub struct LegacyRandomState {
    mt: [u32; 624],
    i: usize,
}

impl LegacyRandomState {
    /// `RandomState(seed)`: MT19937's `init_genrand`.
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; 624];
        mt[0] = seed;
        for i in 1..624 {
            mt[i] =
                1_812_433_253u32.wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_add(i as u32);
        }
        LegacyRandomState { mt, i: 624 }
    }

    fn next32(&mut self) -> u32 {
        if self.i >= 624 {
            for k in 0..624 {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % 624] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[k] = self.mt[(k + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.i = 0;
        }
        let mut y = self.mt[self.i];
        self.i += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn next64(&mut self) -> u64 {
        let hi = self.next32() as u64;
        (hi << 32) | self.next32() as u64
    }

    /// `randint(low, high, size=n, dtype=np.uint64)` for a range wider than 32 bits.
    pub fn randint_u64(&mut self, low: u64, high: u64, n: usize) -> Vec<u64> {
        let range = high - 1 - low;
        assert!(range > u32::MAX as u64, "only the 64-bit path of numpy's randint is reproduced");
        let mut mask = range;
        for s in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> s;
        }
        (0..n)
            .map(|_| {
                loop {
                    let v = self.next64() & mask;
                    if v <= range {
                        break low + v;
                    }
                }
            })
            .collect()
    }
}

/// Computes signatures for one configuration.
pub struct Signer {
    config: SignatureConfig,
    a: Vec<u64>,
    b: Vec<u64>,
    words: EnTokenizer,
    sweep: Sweep,
}

impl Signer {
    /// A signer for `config` (draws the permutation parameters).
    pub fn new(config: SignatureConfig) -> Self {
        let n = config.buckets * config.hashes_per_bucket;
        let mut rng = LegacyRandomState::new(config.seed);
        let a = rng.randint_u64(1, MERSENNE_PRIME, n);
        let b = rng.randint_u64(0, MERSENNE_PRIME, n);
        Signer { config, a, b, words: EnTokenizer::new(), sweep: best_sweep() }
    }

    /// The permutation parameters `(a, b)`.
    pub fn parameters(&self) -> (&[u64], &[u64]) {
        (&self.a, &self.b)
    }

    /// The configuration.
    pub fn config(&self) -> SignatureConfig {
        self.config
    }

    /// The XXH64 hashes of the document's shingles, in order (empty when it has fewer than
    /// `n_grams` words).
    pub fn shingle_hashes(&self, text: &str) -> Vec<u64> {
        let simple = simplify_text(text);
        let words = self.words.words(&simple);
        let n = self.config.n_grams;
        if words.len() < n {
            return Vec::new();
        }
        let mut buf = String::new();
        words
            .windows(n)
            .map(|w| {
                buf.clear();
                for (i, word) in w.iter().enumerate() {
                    if i > 0 {
                        buf.push(' ');
                    }
                    buf.push_str(word);
                }
                xxhash_rust::xxh64::xxh64(buf.as_bytes(), 0)
            })
            .collect()
    }

    /// The signature (`buckets × hashes_per_bucket` values, band after band) of a document, or
    /// `None` when it has fewer than `n_grams` words (datatrove writes no signature for it).
    pub fn signature(&self, text: &str) -> Option<Vec<u64>> {
        let hashes = self.shingle_hashes(text);
        if hashes.is_empty() {
            return None;
        }
        let mut sig = vec![u64::MAX; self.a.len()];
        // eight permutations per sweep over the shingles, in lanes the compiler vectorizes
        let (a8, b8, s8) =
            (self.a.chunks_exact(8), self.b.chunks_exact(8), sig.chunks_exact_mut(8));
        let (ra, rb) = (a8.remainder(), b8.remainder());
        for ((a, b), s) in a8.zip(b8).zip(s8) {
            let a: &[u64; 8] = a.try_into().expect("eight");
            let b: &[u64; 8] = b.try_into().expect("eight");
            s.copy_from_slice(&(self.sweep)(&hashes, a, b));
        }
        let tail = self.a.len() - ra.len();
        for (s, (&a, &b)) in sig[tail..].iter_mut().zip(ra.iter().zip(rb)) {
            *s = hashes.iter().map(|&h| permute(h, a, b)).min().expect("at least one shingle");
        }
        Some(sig)
    }
}

/// The minimum over `hashes` of eight permutations: the kernel of [`Signer::signature`].
type Sweep = fn(&[u64], &[u64; 8], &[u64; 8]) -> [u64; 8];

/// The fastest [`Sweep`] this CPU runs: the same code compiled for AVX-512 or AVX2 when the
/// CPU has them (chosen at run time), else for the build's baseline. Every variant computes
/// the same integers; a unit test compares them.
fn best_sweep() -> Sweep {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            return x86::sweep_avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return x86::sweep_avx2;
        }
    }
    sweep_portable
}

#[inline(always)]
fn sweep_lanes(hashes: &[u64], a: &[u64; 8], b: &[u64; 8]) -> [u64; 8] {
    let mut m = [u64::MAX; 8];
    for &h in hashes {
        for j in 0..8 {
            m[j] = m[j].min(permute(h, a[j], b[j]));
        }
    }
    m
}

fn sweep_portable(hashes: &[u64], a: &[u64; 8], b: &[u64; 8]) -> [u64; 8] {
    sweep_lanes(hashes, a, b)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::sweep_lanes;

    #[target_feature(enable = "avx512f,avx512dq")]
    fn lanes_avx512(hashes: &[u64], a: &[u64; 8], b: &[u64; 8]) -> [u64; 8] {
        sweep_lanes(hashes, a, b)
    }

    #[target_feature(enable = "avx2")]
    fn lanes_avx2(hashes: &[u64], a: &[u64; 8], b: &[u64; 8]) -> [u64; 8] {
        sweep_lanes(hashes, a, b)
    }

    pub(super) fn sweep_avx512(hashes: &[u64], a: &[u64; 8], b: &[u64; 8]) -> [u64; 8] {
        // SAFETY: chosen by `best_sweep` only when the CPU reports AVX-512F and DQ
        unsafe { lanes_avx512(hashes, a, b) }
    }

    pub(super) fn sweep_avx2(hashes: &[u64], a: &[u64; 8], b: &[u64; 8]) -> [u64; 8] {
        // SAFETY: chosen by `best_sweep` only when the CPU reports AVX2
        unsafe { lanes_avx2(hashes, a, b) }
    }
}

/// `(h · a + b) mod (2^61 − 1)` with the product and sum wrapping at 2^64 (numpy `uint64`).
/// The remainder uses `2^61 ≡ 1`: `x = hi · 2^61 + lo` gives `x ≡ hi + lo`, which is below
/// `2 · P`, so one conditional subtraction finishes it; equal to `x % P` for every `x`.
#[inline(always)]
fn permute(h: u64, a: u64, b: u64) -> u64 {
    let x = h.wrapping_mul(a).wrapping_add(b);
    let r = (x & MERSENNE_PRIME) + (x >> 61);
    if r >= MERSENNE_PRIME { r - MERSENNE_PRIME } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mersenne_reduction_equals_the_remainder() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let edges = [0, 1, MERSENNE_PRIME - 1, MERSENNE_PRIME, MERSENNE_PRIME + 1, u64::MAX];
        for &v in edges.iter() {
            assert_eq!(permute(v, 1, 0), v % MERSENNE_PRIME, "{v}");
            assert_eq!(permute(1, v, 0), v % MERSENNE_PRIME, "{v}");
        }
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (h, a, b) = (x, x.rotate_left(21), x.rotate_left(43));
            assert_eq!(permute(h, a, b), h.wrapping_mul(a).wrapping_add(b) % MERSENNE_PRIME);
        }
    }

    #[test]
    fn every_sweep_this_cpu_runs_gives_the_same_minima() {
        let s = Signer::new(SignatureConfig::default());
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let hashes: Vec<u64> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            })
            .collect();
        let mut sweeps: Vec<(&str, Sweep)> = vec![("portable", sweep_portable)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                sweeps.push(("avx2", x86::sweep_avx2));
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                sweeps.push(("avx512", x86::sweep_avx512));
            }
        }
        for k in 0..s.a.len() / 8 {
            let a: &[u64; 8] = s.a[8 * k..8 * k + 8].try_into().unwrap();
            let b: &[u64; 8] = s.b[8 * k..8 * k + 8].try_into().unwrap();
            let want: Vec<u64> = (0..8)
                .map(|j| {
                    hashes
                        .iter()
                        .map(|&h| h.wrapping_mul(a[j]).wrapping_add(b[j]) % MERSENNE_PRIME)
                        .min()
                        .unwrap()
                })
                .collect();
            for (name, f) in &sweeps {
                assert_eq!(f(&hashes, a, b).to_vec(), want, "{name}, permutations {k}×8");
            }
        }
    }

    #[test]
    fn parameters_are_numpys_for_seed_1() {
        let s = Signer::new(SignatureConfig::default());
        let (a, b) = s.parameters();
        assert_eq!(a.len(), 112);
        assert_eq!(a[..3], [775169054918279404, 1758426461858698313, 2109959069025162]);
        assert_eq!(b[..3], [1062448801025099917, 1324811268927594100, 1217488311597731462]);
        assert_eq!(a[110..], [873278286232559572, 223865076026037746]);
        assert_eq!(b[110..], [110622250926641691, 1097409548522419201]);
    }

    #[test]
    fn the_fox_has_datatroves_shingles_and_first_band() {
        let s = Signer::new(SignatureConfig::default());
        let text = "The quick brown fox jumps over the lazy dog.";
        assert_eq!(
            s.shingle_hashes(text),
            [
                7797000677988824208,
                4793414983259776074,
                7369512836458661087,
                13961012810162701268,
                15736776954345750141
            ]
        );
        let sig = s.signature(text).unwrap();
        assert_eq!(
            sig[..8],
            [
                85330943174081874,
                663359892825767826,
                302227827184868053,
                34440879854629237,
                1270900061947546662,
                117899488208280896,
                922286648869847700,
                204404170303891102
            ]
        );
        assert_eq!(s.signature("only four words here"), None);
    }
}
