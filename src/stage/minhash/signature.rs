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
}

impl Signer {
    /// A signer for `config` (draws the permutation parameters).
    pub fn new(config: SignatureConfig) -> Self {
        let n = config.buckets * config.hashes_per_bucket;
        let mut rng = LegacyRandomState::new(config.seed);
        let a = rng.randint_u64(1, MERSENNE_PRIME, n);
        let b = rng.randint_u64(0, MERSENNE_PRIME, n);
        Signer { config, a, b, words: EnTokenizer::new() }
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
        Some(
            self.a
                .iter()
                .zip(&self.b)
                .map(|(&a, &b)| {
                    hashes
                        .iter()
                        .map(|&h| h.wrapping_mul(a).wrapping_add(b) % MERSENNE_PRIME)
                        .min()
                        .expect("at least one shingle")
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
