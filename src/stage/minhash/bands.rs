//! The reduce step's band values, sorted per band within a memory budget. Each signed
//! document adds one record per band, `(the band's hashes…, ordinal)`; when the records held
//! reach the budget, every band's buffer is sorted and written as a run to the scratch
//! directory. [`BandSorter::pairs`] then streams one band in datatrove's order (band values,
//! then ordinal), merging the runs, and reports each pair of neighbours with equal values.

use std::io::Write;
use std::path::Path;

use crate::error::Result;
use crate::stage::spill::Runs;

/// Band records of every signed document, in memory up to a budget and in sorted runs on disk
/// beyond it.
pub struct BandSorter {
    bands: usize,
    /// u64 values per record: the band's hashes and the ordinal.
    record: usize,
    /// Per band, flat records.
    buffers: Vec<Vec<u64>>,
    /// The most u64 values one band's buffer may hold.
    cap: usize,
    /// Per band, its sorted runs (every spill writes one run per band).
    runs: Vec<Runs>,
    /// Runs written (one file per band each).
    spills: usize,
    /// The most bytes the buffers held at once.
    pub peak_bytes: u64,
}

impl BandSorter {
    /// A sorter for `bands` bands of `hashes` values, holding at most `budget` bytes.
    pub fn new(bands: usize, hashes: usize, budget: u64) -> Self {
        let record = hashes + 1;
        let per_band = (budget / 8 / bands.max(1) as u64) as usize;
        BandSorter {
            bands,
            record,
            buffers: vec![Vec::new(); bands],
            cap: (per_band / record).max(1) * record,
            runs: (0..bands).map(|b| Runs::new(format!("band-{b:03}-run"), record * 8)).collect(),
            spills: 0,
            peak_bytes: 0,
        }
    }

    /// Where runs go.
    pub fn set_dir(&mut self, dir: &Path) {
        self.runs.iter_mut().for_each(|r| r.set_dir(dir));
    }

    /// Runs written so far (one file per band each).
    pub fn runs(&self) -> usize {
        self.spills
    }

    /// Bytes written to runs.
    pub fn bytes_spilled(&self) -> u64 {
        self.runs.iter().map(|r| r.bytes).sum()
    }

    /// Bytes the buffers hold now.
    pub fn held_bytes(&self) -> u64 {
        self.buffers.iter().map(|b| b.capacity() as u64 * 8).sum()
    }

    /// Adds one document's signature (band after band), with its ordinal.
    pub fn push(&mut self, ordinal: u64, signature: &[u64]) -> Result<()> {
        let hashes = self.record - 1;
        debug_assert_eq!(signature.len(), self.bands * hashes);
        if self.buffers[0].len() + self.record > self.cap {
            self.spill()?;
        }
        for (b, band) in signature.chunks_exact(hashes).enumerate() {
            let buf = &mut self.buffers[b];
            if buf.len() + self.record > buf.capacity() {
                // grow by doubling, never past the cap
                let want = (buf.capacity() * 2).max(self.record * 1024).min(self.cap);
                buf.reserve_exact(want.saturating_sub(buf.len()));
            }
            buf.extend_from_slice(band);
            buf.push(ordinal);
        }
        self.peak_bytes = self.peak_bytes.max(self.held_bytes());
        Ok(())
    }

    /// One band's records in order (values, then ordinal), as a flat vector.
    fn sorted(&self, band: usize) -> Vec<u64> {
        let buf = &self.buffers[band];
        let r = self.record;
        let mut order: Vec<u32> = (0..(buf.len() / r) as u32).collect();
        order.sort_unstable_by(|&x, &y| {
            let (x, y) = (x as usize * r, y as usize * r);
            buf[x..x + r].cmp(&buf[y..y + r])
        });
        let mut out = Vec::with_capacity(buf.len());
        for i in order {
            out.extend_from_slice(&buf[i as usize * r..i as usize * r + r]);
        }
        out
    }

    /// Sorts every band's buffer and writes it as that band's next run.
    fn spill(&mut self) -> Result<()> {
        if self.buffers[0].is_empty() {
            return Ok(());
        }
        for band in 0..self.bands {
            let sorted = self.sorted(band);
            self.runs[band]
                .write(|w| sorted.iter().try_for_each(|v| w.write_all(&v.to_le_bytes())))?;
            self.buffers[band] = Vec::new();
        }
        self.spills += 1;
        Ok(())
    }

    /// Calls `pair(earlier, later)` for every two neighbours with equal values of band `band`,
    /// in datatrove's order. Bands must be asked for in order; a band's runs are removed once
    /// read.
    pub fn pairs(&mut self, band: usize, mut pair: impl FnMut(u64, u64)) -> Result<u64> {
        let r = self.record;
        let mut count = 0u64;
        let mut prev: Vec<u64> = Vec::new();
        let mut visit = |rec: &[u64]| {
            if !prev.is_empty() && prev[..r - 1] == rec[..r - 1] {
                pair(prev[r - 1], rec[r - 1]);
                count += 1;
            }
            prev.clear();
            prev.extend_from_slice(rec);
        };
        if self.spills == 0 {
            let sorted = self.sorted(band);
            self.buffers[band] = Vec::new();
            sorted.chunks_exact(r).for_each(&mut visit);
            return Ok(count);
        }
        // once runs exist, every record goes through them
        self.spill()?;
        let decode = |b: &[u8]| -> Vec<u64> {
            b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
        };
        self.runs[band].merge(decode, |rec| {
            visit(&rec);
            Ok(())
        })?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_pairs(s: &mut BandSorter, bands: usize) -> Vec<Vec<(u64, u64)>> {
        (0..bands)
            .map(|b| {
                let mut v = Vec::new();
                s.pairs(b, |x, y| v.push((x, y))).unwrap();
                v
            })
            .collect()
    }

    #[test]
    fn spilled_runs_give_the_pairs_of_the_in_memory_sort() {
        let dir = tempfile::tempdir().unwrap();
        let mut x: u64 = 7;
        let mut docs = Vec::new();
        for ord in 0..3000u64 {
            let sig: Vec<u64> = (0..6)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (x >> 33) % 5 // few values: many collisions
                })
                .collect();
            docs.push((ord * 3, sig));
        }
        let mut mem = BandSorter::new(3, 2, 1 << 30);
        let mut disk = BandSorter::new(3, 2, 3 * 8 * 3 * 100); // about 100 records per run
        disk.set_dir(dir.path());
        for (o, s) in &docs {
            mem.push(*o, s).unwrap();
            disk.push(*o, s).unwrap();
        }
        assert_eq!(mem.runs(), 0);
        assert!(disk.runs() > 20, "{} runs", disk.runs());
        let (a, b) = (all_pairs(&mut mem, 3), all_pairs(&mut disk, 3));
        assert_eq!(a, b);
        // 25 distinct band values: all but the first of each run of equal values pair
        assert_eq!(a[0].len(), 3000 - 25);
        assert!(a[0].iter().all(|(p, q)| p < q));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "runs are removed");
        assert!(disk.peak_bytes <= 3 * 8 * 3 * 100 + 64);
    }
}
