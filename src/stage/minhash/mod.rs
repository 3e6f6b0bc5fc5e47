//! MinHash near-duplicate detection, exact to datatrove 0.10.1 (issue 19). So far the two
//! halves of the decision, checked against datatrove itself in `tests/it/minhash.rs`:
//! [`signature`] (equal signatures on every document of five shared corpora) and [`cluster`]
//! (band pairs, union-find and survivors: the same removed documents and the same survivor of
//! every cluster on three corpora). The `minhash_dedup` stage that runs them over the engine's
//! count pass and phases comes next.

pub mod cluster;
pub mod signature;
