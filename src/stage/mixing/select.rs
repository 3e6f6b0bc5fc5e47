//! The exact arithmetic behind `mix` and `balance`: integer quotas by largest remainder, and
//! which rows of a group are written how often. A group that must give `d` documents out of
//! `n` gives every row `d / n` copies (whole epochs) and one more to the `d % n` rows with the
//! smallest seeded keys (the partial epoch); a token target takes whole epochs of the group's
//! tokens, then rows in key order until the rest is reached. The choice is a threshold on the
//! key, so the write pass needs no more than the key of each row and a tie counter.

use serde::{Deserialize, Serialize};

/// What one group must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// This many documents (copies included).
    Documents(u64),
    /// About this many tokens: whole epochs, then rows in key order up to the closest total.
    Tokens(u64),
}

/// How a group's rows are written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Copies every row of the group gets (whole epochs).
    pub epochs: u32,
    /// Rows whose key is below this get one copy more (the partial epoch).
    pub threshold: u64,
    /// Of the rows whose key equals `threshold`, the first `tie_take` in input order also get
    /// one copy more (ties are duplicate origin keys, or 64-bit collisions).
    pub tie_take: u64,
    /// Documents the group gives (planned, and therefore realised).
    pub documents: u64,
    /// Tokens the group gives.
    pub tokens: u64,
}

/// The selection that meets `target` from `rows` (`(key, tokens)`, in input order). `None`
/// when the copies per row would not fit in a `u32`.
pub fn select(rows: &[(u64, u32)], target: Target) -> Option<Selection> {
    let n = rows.len() as u64;
    let total_tokens: u64 = rows.iter().map(|r| u64::from(r.1)).sum();
    let (epochs, partial) = match target {
        Target::Documents(d) if n > 0 => (d / n, Partial::Rows(d % n)),
        Target::Tokens(t) if total_tokens > 0 => {
            (t / total_tokens, Partial::Tokens(t % total_tokens))
        }
        _ => (0, Partial::Rows(0)),
    };
    let epochs = u32::try_from(epochs).ok().filter(|e| *e < u32::MAX)?;
    if matches!(partial, Partial::Rows(0)) {
        // whole epochs only: no row needs its rank
        let e = u64::from(epochs);
        return Some(Selection {
            epochs,
            documents: e * n,
            tokens: e * total_tokens,
            ..Default::default()
        });
    }
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    order.sort_unstable_by_key(|&i| (rows[i as usize].0, i));
    let m = match partial {
        Partial::Rows(m) => m as usize,
        Partial::Tokens(rest) => closest_prefix(&order, rows, rest),
    };
    let taken = &order[..m];
    let tokens_taken: u64 = taken.iter().map(|&i| u64::from(rows[i as usize].1)).sum();
    let (threshold, tie_take) = match taken.last() {
        None => (0, 0),
        Some(&last) => {
            let t = rows[last as usize].0;
            (t, taken.iter().rev().take_while(|&&i| rows[i as usize].0 == t).count() as u64)
        }
    };
    Some(Selection {
        epochs,
        threshold,
        tie_take,
        documents: u64::from(epochs) * n + m as u64,
        tokens: u64::from(epochs) * total_tokens + tokens_taken,
    })
}

enum Partial {
    Rows(u64),
    Tokens(u64),
}

/// The number of rows, taken in key order, whose tokens come closest to `rest` (the shorter
/// prefix on a tie).
fn closest_prefix(order: &[u32], rows: &[(u64, u32)], rest: u64) -> usize {
    let mut sum = 0u64;
    for (k, &i) in order.iter().enumerate() {
        let next = sum + u64::from(rows[i as usize].1);
        if next >= rest {
            return if next - rest < rest - sum { k + 1 } else { k };
        }
        sum = next;
    }
    order.len()
}

/// Copies of a row with `key` under `sel`, given how many rows with the threshold key came
/// before it in input order (`ties_before`).
pub fn copies(sel: &Selection, key: u64, ties_before: u64) -> u32 {
    let extra = key < sel.threshold || (key == sel.threshold && ties_before < sel.tie_take);
    sel.epochs + u32::from(extra)
}

/// Integer quotas proportional to `shares` that add up to `total` exactly: the floors, then
/// one more for the largest remainders (the earlier group on a tie).
pub fn largest_remainder(shares: &[f64], total: u64) -> Vec<u64> {
    let sum: f64 = shares.iter().sum();
    if shares.is_empty() || sum <= 0.0 {
        return vec![0; shares.len()];
    }
    let exact: Vec<f64> = shares.iter().map(|s| s / sum * total as f64).collect();
    let mut out: Vec<u64> = exact.iter().map(|q| q.floor() as u64).collect();
    let given: u64 = out.iter().sum();
    let mut by_rest: Vec<usize> = (0..shares.len()).collect();
    by_rest.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    if given <= total {
        for &i in by_rest.iter().cycle().take((total - given) as usize) {
            out[i] += 1;
        }
    } else {
        // rounding error in the floats: take the excess from the smallest remainders
        let mut excess = given - total;
        for &i in by_rest.iter().rev().cycle() {
            if excess == 0 {
                break;
            }
            if out[i] > 0 {
                out[i] -= 1;
                excess -= 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: u64) -> Vec<(u64, u32)> {
        (0..n)
            .map(|i| (crate::stage::row_seed(3, &format!("d{i}"), 0), 10 + (i % 7) as u32))
            .collect()
    }

    fn realised(rows: &[(u64, u32)], sel: &Selection) -> (u64, u64) {
        let mut ties = 0;
        let (mut docs, mut toks) = (0, 0);
        for &(k, t) in rows {
            let c = copies(sel, k, ties);
            ties += u64::from(k == sel.threshold);
            docs += u64::from(c);
            toks += u64::from(c) * u64::from(t);
        }
        (docs, toks)
    }

    #[test]
    fn document_targets_are_met_exactly() {
        let r = rows(1000);
        for d in [0, 1, 999, 1000, 1001, 2500, 7000] {
            let s = select(&r, Target::Documents(d)).unwrap();
            assert_eq!(s.documents, d);
            assert_eq!(realised(&r, &s), (s.documents, s.tokens), "{d}");
            assert_eq!(s.epochs as u64, d / 1000);
        }
    }

    #[test]
    fn token_targets_come_within_one_document() {
        let r = rows(1000);
        let total: u64 = r.iter().map(|x| x.1 as u64).sum();
        for t in [5, total / 3, total, total * 2 + 17] {
            let s = select(&r, Target::Tokens(t)).unwrap();
            assert!(s.tokens.abs_diff(t) <= 16, "{t}: {}", s.tokens);
            assert_eq!(realised(&r, &s), (s.documents, s.tokens));
        }
    }

    #[test]
    fn duplicate_keys_are_split_in_input_order() {
        // five rows share one key: taking three of them must take exactly three
        let r: Vec<(u64, u32)> = vec![(9, 1), (5, 1), (5, 1), (5, 1), (5, 1), (5, 1), (1, 1)];
        let s = select(&r, Target::Documents(4)).unwrap();
        assert_eq!((s.threshold, s.tie_take), (5, 3));
        assert_eq!(realised(&r, &s).0, 4);
        let mut ties = 0;
        let got: Vec<u32> = r
            .iter()
            .map(|&(k, _)| {
                let c = copies(&s, k, ties);
                ties += u64::from(k == s.threshold);
                c
            })
            .collect();
        assert_eq!(got, vec![0, 1, 1, 1, 0, 0, 1]);
    }

    #[test]
    fn largest_remainder_adds_up() {
        assert_eq!(largest_remainder(&[0.5, 0.3, 0.2], 10), vec![5, 3, 2]);
        assert_eq!(largest_remainder(&[1.0, 1.0, 1.0], 10), vec![4, 3, 3]);
        assert_eq!(largest_remainder(&[0.335, 0.335, 0.33], 100), vec![34, 33, 33]);
        for total in [0, 1, 7, 999_983, 10u64.pow(12) + 7] {
            let q = largest_remainder(&[0.1, 0.2, 0.3, 0.4], total);
            assert_eq!(q.iter().sum::<u64>(), total);
        }
    }
}
