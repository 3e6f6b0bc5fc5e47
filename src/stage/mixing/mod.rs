//! Counted stages: `mix` (a stated mixture per source or predicate) and `balance` (a class
//! distribution over a label). Both need the whole input's counts before the first copy is
//! decided, so the engine runs a count pass first (see `docs/mixing.md`). The shared machinery
//! is in [`counted`], the exact arithmetic in [`select`].

pub mod balance;
pub mod counted;
pub mod mix;
pub mod select;
