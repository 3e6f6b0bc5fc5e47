//! From signatures to removals, exactly as datatrove 0.10.1's `MinhashDedupBuckets` and
//! `MinhashDedupCluster` decide them for one input stream:
//!
//! 1. **Pairs.** For each band in order, the documents with a signature are sorted by (the band's
//!    values, document index). Only *neighbours* with equal band values make a pair
//!    `(earlier, later)`, so a run `d1 < d2 < … < dk` gives `(d1,d2), (d2,d3), …`.
//! 2. **Union-find** over the pairs in that order (band 0 first). Union by size: the root of
//!    the larger set becomes the root; on a tie, the root of the pair's first document does.
//! 3. Every document in a set except its root is removed. The root survives, and it is not
//!    always the earliest document of its cluster.
//!
//! Documents without a signature (fewer than `n_grams` words) are never in a pair.

use super::bands::BandSorter;

/// Signatures of the documents of one input stream, clustered in memory: the reduce step's
/// [`BandSorter`] and [`UnionFind`] without a scratch directory, for the library and the
/// agreement tests.
pub struct Signatures {
    sorter: BandSorter,
    bands: usize,
}

impl Signatures {
    /// An empty set for signatures of `buckets` bands of `hashes_per_bucket` values.
    pub fn new(buckets: usize, hashes_per_bucket: usize) -> Self {
        Signatures { sorter: BandSorter::new(buckets, hashes_per_bucket, u64::MAX), bands: buckets }
    }

    /// Adds the signature of document `doc` (documents must come in increasing order).
    pub fn push(&mut self, doc: u32, signature: &[u64]) {
        // an unlimited budget never spills, so there is no I/O to fail
        self.sorter.push(u64::from(doc), signature).expect("in memory");
    }

    /// The duplicate pairs `(earlier, later)` in datatrove's order.
    pub fn pairs(mut self) -> Vec<(u32, u32)> {
        let mut pairs = Vec::new();
        for band in 0..self.bands {
            self.sorter.pairs(band, |a, b| pairs.push((a as u32, b as u32))).expect("in memory");
        }
        pairs
    }

    /// The removed documents with their cluster's survivor, `(removed, survivor)`, by removed
    /// document index.
    pub fn removals(self) -> Vec<(u32, u32)> {
        let mut sets = UnionFind::default();
        for (a, b) in self.pairs() {
            sets.union(u64::from(a), u64::from(b));
        }
        sets.removals(false).into_iter().map(|(n, root)| (n as u32, root as u32)).collect()
    }
}

/// Which member of a cluster survives.
pub enum Pick<'a> {
    /// The union-find root (datatrove).
    Root,
    /// The earliest in input order.
    First,
    /// The highest priority (every member has one; not NaN), ties to the earliest.
    Highest(&'a std::collections::HashMap<u64, f64>),
}

/// datatrove's union-find over document ordinals: union by size, the first document's root
/// winning ties. Only documents in a pair are ever in it.
#[derive(Default)]
pub struct UnionFind {
    parent: std::collections::HashMap<u64, u64>,
    size: std::collections::HashMap<u64, u64>,
}

impl UnionFind {
    /// Documents in some pair.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// True when no pair was added.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Bytes held (hashbrown: about 8/7 of the entries, 16 bytes and a control byte each).
    pub fn bytes(&self) -> u64 {
        ((self.parent.capacity() + self.size.capacity()) as u64 * 8 / 7) * 17
    }

    /// The documents in some pair, ascending.
    pub fn members(&self) -> Vec<u64> {
        let mut nodes: Vec<u64> = self.parent.keys().copied().collect();
        nodes.sort_unstable();
        nodes
    }

    /// The removed documents with their cluster's survivor, `(removed, survivor)`, by removed
    /// ordinal. The survivor is the set's root (datatrove's rule), or with `first` the
    /// earliest document of the cluster.
    pub fn removals(&mut self, first: bool) -> Vec<(u64, u64)> {
        self.removals_by(if first { Pick::First } else { Pick::Root })
    }

    /// [`UnionFind::removals`] with any [`Pick`] of the survivor.
    pub fn removals_by(&mut self, pick: Pick) -> Vec<(u64, u64)> {
        let nodes = self.members();
        let roots: Vec<u64> = nodes.iter().map(|&n| self.find(n)).collect();
        let mut survivor: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
        for (&n, &r) in nodes.iter().zip(&roots) {
            // nodes are ascending: the first member seen is the earliest
            let s = survivor.entry(r).or_insert(match pick {
                Pick::Root => r,
                Pick::First | Pick::Highest(_) => n,
            });
            if let Pick::Highest(p) = &pick {
                // strictly higher wins, so ties keep the earliest
                if p[&n] > p[&*s] {
                    *s = n;
                }
            }
        }
        nodes
            .iter()
            .zip(&roots)
            .filter_map(|(&n, r)| {
                let s = survivor[r];
                (s != n).then_some((n, s))
            })
            .collect()
    }

    fn find(&mut self, x: u64) -> u64 {
        let mut root = x;
        while let Some(&p) = self.parent.get(&root) {
            if p == root {
                break;
            }
            root = p;
        }
        // path compression (never changes a root)
        let mut cur = x;
        while cur != root {
            let next = self.parent[&cur];
            self.parent.insert(cur, root);
            cur = next;
        }
        root
    }

    /// Joins the sets of `a` and `b` (a pair `(earlier, later)` in datatrove's order).
    pub fn union(&mut self, a: u64, b: u64) {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (mut sa, mut sb) =
            (self.size.get(&ra).copied().unwrap_or(1), self.size.get(&rb).copied().unwrap_or(1));
        if sa < sb {
            std::mem::swap(&mut ra, &mut rb);
            std::mem::swap(&mut sa, &mut sb);
        }
        self.parent.insert(rb, ra);
        // the root is a member too (for `len` and the earliest member of its cluster)
        self.parent.entry(ra).or_insert(ra);
        self.size.insert(ra, sa + sb);
        self.size.remove(&rb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigs(rows: &[(u32, [u64; 4])]) -> Signatures {
        let mut s = Signatures::new(2, 2);
        for (d, v) in rows {
            s.push(*d, v);
        }
        s
    }

    #[test]
    fn only_neighbours_pair_and_bands_go_in_order() {
        // band 0 = first two values, band 1 = last two
        let s = sigs(&[(0, [1, 1, 9, 9]), (2, [1, 1, 8, 8]), (3, [1, 1, 7, 7]), (5, [2, 2, 7, 7])]);
        assert_eq!(s.pairs(), [(0, 2), (2, 3), (3, 5)]);
    }

    #[test]
    fn the_larger_set_keeps_its_root_even_when_it_is_not_the_earliest() {
        // {5,6,7} join in band 0 (root 5); then (1,5) in band 1: the set of three wins, 1 goes
        let s = sigs(&[(1, [0, 0, 4, 4]), (5, [3, 3, 4, 4]), (6, [3, 3, 5, 5]), (7, [3, 3, 6, 6])]);
        assert_eq!(s.removals(), [(1, 5), (6, 5), (7, 5)]);
        // equal sizes: the first document's root wins
        let s = sigs(&[(1, [0, 0, 4, 4]), (2, [0, 0, 5, 5])]);
        assert_eq!(s.removals(), [(2, 1)]);
    }

    #[test]
    fn first_survivor_is_the_earliest_member() {
        let mut u = UnionFind::default();
        u.union(5, 6);
        u.union(5, 7);
        u.union(1, 6); // the set {5,6,7} wins: root 5, but 1 is the earliest
        assert_eq!(u.removals(false), [(1, 5), (6, 5), (7, 5)]);
        assert_eq!(u.removals(true), [(5, 1), (6, 1), (7, 1)]);
        let p: std::collections::HashMap<u64, f64> =
            [(1, 0.5), (5, 0.5), (6, 2.0), (7, 2.0)].into_iter().collect();
        assert_eq!(u.removals_by(Pick::Highest(&p)), [(1, 6), (5, 6), (7, 6)], "ties: earliest");
        assert_eq!(u.len(), 4);
    }
}
