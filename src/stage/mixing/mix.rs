//! `mix` (counted): the final mixture, stated per source or per `when:` predicate, written
//! exactly. Each group asks for exactly one of `share_of_tokens`, `share_of_documents`,
//! `repeat` or `count`; shares are relative (they add up to 1, over an optional total) and
//! absolute requests are not mixed with them. A count pass measures every group, the reduce
//! step turns the requests into integer targets (largest remainder) and stops the run when a
//! group cannot reach its target within its `max_repeat`; the write pass gives every document
//! its whole epochs plus, for the partial epoch, one copy more when its seeded key is among
//! the smallest.

use arrow::array::{Array, RecordBatch};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::counted::{Counted, GroupTarget, GroupTotals, Grouping};
use super::select::{Target, largest_remainder};
use crate::error::{Error, Result};
use crate::sql::SqlExpr;
use crate::stage::{BuildContext, BuiltStage, FilterMode, SOURCE, StageBuilder, string_column};

/// Writes a stated mixture exactly: per group (a source, or the documents a `when:` predicate
/// selects; a document belongs to the first group that takes it) one request. Shares
/// (`share_of_tokens` or `share_of_documents`, adding up to 1) give the output's composition;
/// `repeat` and `count` give each group's size. Oversampling repeats whole shuffled epochs
/// plus a partial epoch chosen by the seeded hash of each document's origin key; downsampling
/// keeps the documents with the smallest keys. Realised counts equal the plan exactly.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MixConfig {
    /// The mixture's components, tried in order for each document.
    pub groups: Vec<MixGroup>,
    /// Size of the output in tokens, with `share_of_tokens`. Default: the largest output in
    /// which no group repeats a document more than its `max_repeat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// Size of the output in documents, with `share_of_documents`. Default as for
    /// `total_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_documents: Option<u64>,
}

/// One component of a `mix`: which documents (`source` or `when`), and exactly one request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MixGroup {
    /// The documents of this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Or: the documents this SQL predicate selects (`source = 'web' AND num_tokens > 500`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Name in the stats and the manifest (default: the source name; required with `when`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Share of the output's tokens (0 to 1); needs `tokenize` before `mix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_of_tokens: Option<f64>,
    /// Share of the output's documents (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_of_documents: Option<f64>,
    /// Copies per document on average (0.25 keeps a quarter, 2.5 writes every document twice
    /// and half of them a third time); the group gives `round(repeat × documents)` documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<f64>,
    /// Exactly this many documents (copies included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The most copies of one document this group may write on average (its target over its
    /// size). Default: 1 (no document repeats) for shares and `count`; `repeat` is its own
    /// cap. A target beyond the cap stops the run before anything is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_repeat: Option<f64>,
}

/// The kind of request of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Request {
    ShareOfTokens(f64),
    ShareOfDocuments(f64),
    Repeat(f64),
    Count(u64),
}

impl MixGroup {
    fn label(&self) -> String {
        self.name.clone().or_else(|| self.source.clone()).unwrap_or_default()
    }

    fn request(&self) -> std::result::Result<Request, String> {
        let set: Vec<Request> = [
            self.share_of_tokens.map(Request::ShareOfTokens),
            self.share_of_documents.map(Request::ShareOfDocuments),
            self.repeat.map(Request::Repeat),
            self.count.map(Request::Count),
        ]
        .into_iter()
        .flatten()
        .collect();
        match set.as_slice() {
            [r] => Ok(*r),
            [] => {
                Err("give one of `share_of_tokens`, `share_of_documents`, `repeat`, `count`".into())
            }
            _ => Err("give only one of `share_of_tokens`, `share_of_documents`, `repeat`, `count`"
                .into()),
        }
    }

    fn describe(r: Request) -> String {
        match r {
            Request::ShareOfTokens(s) => format!("share_of_tokens {s}"),
            Request::ShareOfDocuments(s) => format!("share_of_documents {s}"),
            Request::Repeat(x) => format!("repeat {x}"),
            Request::Count(c) => format!("count {c}"),
        }
    }
}

const MAX_REPEAT: f64 = 10_000.0;

impl StageBuilder for MixConfig {
    const NAME: &'static str = "mix";

    fn example() -> Self {
        let share = |source: &str, s: f64, cap: Option<f64>| MixGroup {
            source: Some(source.into()),
            share_of_tokens: Some(s),
            max_repeat: cap,
            ..Default::default()
        };
        MixConfig {
            groups: vec![
                share("web", 0.6, None),
                share("books", 0.3, Some(3.0)),
                share("wiki", 0.1, Some(2.0)),
            ],
            total_tokens: Some(1_000_000_000),
            total_documents: None,
        }
    }

    fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.groups.is_empty() {
            out.push("`groups` is empty".to_string());
        }
        let mut kinds = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            let at = format!("groups[{i}]");
            match (&g.source, &g.when) {
                (Some(_), Some(_)) => out.push(format!("{at}: give `source` or `when`, not both")),
                (None, None) => out.push(format!("{at}: give `source` or `when`")),
                (None, Some(w)) if w.trim().is_empty() => {
                    out.push(format!("{at}: `when` is empty"))
                }
                (None, Some(_)) if g.name.is_none() => {
                    out.push(format!("{at}: a `when` group needs a `name`"))
                }
                _ => {}
            }
            match g.request() {
                Err(e) => out.push(format!("{at}: {e}")),
                Ok(r) => {
                    kinds.push(r);
                    let bad = match r {
                        Request::ShareOfTokens(s) | Request::ShareOfDocuments(s) => {
                            !(s.is_finite() && (0.0..=1.0).contains(&s))
                        }
                        Request::Repeat(x) => !(x.is_finite() && (0.0..=MAX_REPEAT).contains(&x)),
                        Request::Count(_) => false,
                    };
                    if bad {
                        out.push(format!(
                            "{at}: {} is out of range (shares 0 to 1, repeat 0 to {MAX_REPEAT})",
                            MixGroup::describe(r)
                        ));
                    }
                    if let (Request::Repeat(x), Some(cap)) = (r, g.max_repeat)
                        && x > cap
                    {
                        out.push(format!("{at}: repeat {x} is above its max_repeat {cap}"));
                    }
                }
            }
            if let Some(cap) = g.max_repeat
                && !(cap.is_finite() && (0.0..=MAX_REPEAT).contains(&cap))
            {
                out.push(format!("{at}: max_repeat must be between 0 and {MAX_REPEAT}, got {cap}"));
            }
        }
        let mut names: Vec<String> = self.groups.iter().map(MixGroup::label).collect();
        names.sort();
        for w in names.windows(2) {
            if w[0] == w[1] && !w[0].is_empty() {
                out.push(format!("two groups are named `{}`", w[0]));
            }
        }
        let tokens = kinds.iter().filter(|r| matches!(r, Request::ShareOfTokens(_))).count();
        let docs = kinds.iter().filter(|r| matches!(r, Request::ShareOfDocuments(_))).count();
        let shares = tokens + docs;
        if shares > 0 && shares < kinds.len() {
            out.push(
                "shares are relative and `repeat`/`count` absolute: use shares for every group \
                 or for none"
                    .into(),
            );
        } else if tokens > 0 && docs > 0 {
            out.push(
                "use `share_of_tokens` for every group or `share_of_documents` for every group"
                    .into(),
            );
        } else if shares == kinds.len() && shares > 0 {
            let sum: f64 = kinds
                .iter()
                .map(|r| match r {
                    Request::ShareOfTokens(s) | Request::ShareOfDocuments(s) => *s,
                    _ => 0.0,
                })
                .sum();
            if (sum - 1.0).abs() > 1e-6 {
                out.push(format!("the shares add up to {sum}; they must add up to 1"));
            }
        }
        if self.total_tokens.is_some() && self.total_documents.is_some() {
            out.push("give `total_tokens` or `total_documents`, not both".into());
        }
        if self.total_tokens.is_some() && tokens == 0 {
            out.push("`total_tokens` goes with `share_of_tokens`".into());
        }
        if self.total_documents.is_some() && docs == 0 {
            out.push("`total_documents` goes with `share_of_documents`".into());
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        let problems = self.check();
        if !problems.is_empty() {
            return Err(Error::Invalid(problems.join("; ")));
        }
        let names: Vec<&str> = cx.sources.iter().map(|(n, _)| n.as_str()).collect();
        let mut matchers = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            matchers.push(match (&g.source, &g.when) {
                (Some(s), _) => {
                    if !names.contains(&s.as_str()) {
                        return Err(Error::Invalid(format!(
                            "groups[{i}]: no source named `{s}` (sources: {})",
                            names.join(", ")
                        )));
                    }
                    Matcher::Source(s.clone())
                }
                (None, Some(w)) => Matcher::When(SqlExpr::compile(w, &cx.input_schema)?),
                (None, None) => unreachable!("checked"),
            });
        }
        let by_tokens = self.groups.iter().any(|g| g.share_of_tokens.is_some());
        if by_tokens && cx.token_count.is_none() {
            return Err(Error::Invalid(
                "`share_of_tokens` counts tokens: put `tokenize` before this stage, or use \
                 `share_of_documents`"
                    .into(),
            ));
        }
        let grouping = MixGrouping {
            groups: self.groups.clone(),
            matchers,
            total_tokens: self.total_tokens,
            total_documents: self.total_documents,
            by_tokens,
        };
        Ok(BuiltStage::Ordered(
            Box::new(Counted::new(grouping, cx.token_count.clone(), "mix")),
            FilterMode::Drop,
        ))
    }
}

enum Matcher {
    Source(String),
    When(SqlExpr),
}

struct MixGrouping {
    groups: Vec<MixGroup>,
    matchers: Vec<Matcher>,
    total_tokens: Option<u64>,
    total_documents: Option<u64>,
    by_tokens: bool,
}

impl Grouping for MixGrouping {
    fn assign(&self, batch: &RecordBatch) -> Result<(Vec<String>, Vec<Option<u32>>)> {
        let n = batch.num_rows();
        let mut out: Vec<Option<u32>> = vec![None; n];
        let sources = string_column(batch, SOURCE)?;
        for (g, m) in self.matchers.iter().enumerate() {
            match m {
                Matcher::Source(s) => {
                    for (i, slot) in out.iter_mut().enumerate() {
                        if slot.is_none() && sources.value(i) == s {
                            *slot = Some(g as u32);
                        }
                    }
                }
                Matcher::When(e) => {
                    let hit = e.evaluate_bool(batch)?;
                    for (i, slot) in out.iter_mut().enumerate() {
                        if slot.is_none() && hit.is_valid(i) && hit.value(i) {
                            *slot = Some(g as u32);
                        }
                    }
                }
            }
        }
        Ok((self.groups.iter().map(MixGroup::label).collect(), out))
    }

    fn targets(&self, found: &[GroupTotals]) -> Result<Vec<GroupTarget>> {
        // the configured groups come first, in order (`known`), and no other group exists
        let totals = found;
        if totals.len() != self.groups.len() {
            return Err(Error::Internal(
                "mix: the counted groups differ from the configured ones".into(),
            ));
        }
        let requests: Vec<Request> =
            self.groups.iter().map(|g| g.request().expect("checked")).collect();
        let caps: Vec<Option<f64>> = self
            .groups
            .iter()
            .zip(&requests)
            .map(|(g, r)| match (g.max_repeat, r) {
                (Some(c), _) => Some(c),
                (None, Request::Repeat(_)) => None,
                (None, _) => Some(1.0),
            })
            .collect();
        let avail = |t: &GroupTotals| if self.by_tokens { t.tokens } else { t.documents };
        let unit = if self.by_tokens { "tokens" } else { "documents" };
        let shares: Option<Vec<f64>> = requests
            .iter()
            .map(|r| match r {
                Request::ShareOfTokens(s) | Request::ShareOfDocuments(s) => Some(*s),
                _ => None,
            })
            .collect();
        let mut out = Vec::with_capacity(requests.len());
        let make = |r: Request, target: Target, cap: Option<f64>, share: Option<f64>| GroupTarget {
            target,
            requested: MixGroup::describe(r),
            requested_share: share,
            max_repeat: cap,
            capped: false,
        };
        let limit = |i: usize| -> u64 {
            (avail(&totals[i]) as f64 * caps[i].unwrap_or(1.0)).floor() as u64
        };
        let mut shorts = Vec::new();
        if let Some(shares) = shares {
            let total = match self.total_tokens.or(self.total_documents) {
                Some(t) => t,
                None => default_total(&shares, &(0..shares.len()).map(limit).collect::<Vec<_>>()),
            };
            let quotas = largest_remainder(&shares, total);
            for (i, q) in quotas.iter().enumerate() {
                if *q > limit(i) {
                    shorts.push(self.short(
                        i,
                        unit,
                        *q,
                        caps[i].unwrap_or(1.0),
                        avail(&totals[i]),
                        totals,
                        total,
                    ));
                }
                let target =
                    if self.by_tokens { Target::Tokens(*q) } else { Target::Documents(*q) };
                out.push(make(requests[i], target, caps[i], Some(shares[i])));
            }
        } else {
            for (i, r) in requests.iter().enumerate() {
                let docs = totals[i].documents;
                let want = match r {
                    Request::Repeat(x) => (x * docs as f64).round() as u64,
                    Request::Count(c) => *c,
                    _ => unreachable!("shares are handled above"),
                };
                if let Some(cap) = caps[i]
                    && want > (docs as f64 * cap).floor() as u64
                {
                    shorts.push(self.short(i, "documents", want, cap, docs, totals, 0));
                }
                out.push(make(*r, Target::Documents(want), caps[i], None));
            }
        }
        if !shorts.is_empty() {
            return Err(Error::Invalid(shorts.join("\n")));
        }
        Ok(out)
    }

    fn ungrouped(&self, rows: u64) -> String {
        format!(
            "{rows} documents belong to no group of `mix` (every document must: add a group for \
             them, such as `{{ when: \"true\", name: rest, share_of_... }}`, or filter them out \
             before `mix`)"
        )
    }

    fn unit(&self) -> &'static str {
        if self.by_tokens { "tokens" } else { "documents" }
    }

    fn known(&self) -> Vec<String> {
        self.groups.iter().map(MixGroup::label).collect()
    }
}

impl MixGrouping {
    /// The message for group `i`, which cannot give `want` units within its cap.
    #[allow(clippy::too_many_arguments)]
    fn short(
        &self,
        i: usize,
        unit: &str,
        want: u64,
        cap: f64,
        avail: u64,
        totals: &[GroupTotals],
        total: u64,
    ) -> String {
        let t = &totals[i];
        let request = MixGroup::describe(self.groups[i].request().expect("checked"));
        let most = (avail as f64 * cap).floor() as u64;
        let of_total = if total > 0 { format!(" of {total} {unit}") } else { String::new() };
        let default = if self.groups[i].max_repeat.is_none() { " (the default)" } else { "" };
        let needed = if avail == 0 { f64::INFINITY } else { want as f64 / avail as f64 };
        format!(
            "group `{}` cannot meet its target: {request}{of_total} needs {want} {unit}, but it \
             has {avail} {unit} ({} documents), and with max_repeat {cap}{default} it can give \
             at most {most} (short by {}). Raise its `max_repeat` to at least {needed:.3}, lower \
             its request or the total, or add data to it",
            t.name,
            t.documents,
            want - most
        )
    }
}

/// The largest total whose quotas all fit their limits.
fn default_total(shares: &[f64], limits: &[u64]) -> u64 {
    let mut total = shares
        .iter()
        .zip(limits)
        .filter(|(s, _)| **s > 0.0)
        .map(|(s, l)| (*l as f64 / s).floor() as u64)
        .min()
        .unwrap_or(0);
    // rounding can push one quota a unit over its limit: step down until every one fits
    while total > 0 && largest_remainder(shares, total).iter().zip(limits).any(|(q, l)| q > l) {
        total -= 1;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(v: &[(&str, u64, u64)]) -> Vec<GroupTotals> {
        v.iter()
            .map(|(n, d, t)| GroupTotals { name: n.to_string(), documents: *d, tokens: *t })
            .collect()
    }

    fn grouping(cfg: &MixConfig, by_tokens: bool) -> MixGrouping {
        MixGrouping {
            groups: cfg.groups.clone(),
            matchers: Vec::new(),
            total_tokens: cfg.total_tokens,
            total_documents: cfg.total_documents,
            by_tokens,
        }
    }

    fn share(source: &str, s: f64, cap: Option<f64>) -> MixGroup {
        MixGroup {
            source: Some(source.into()),
            share_of_tokens: Some(s),
            max_repeat: cap,
            ..Default::default()
        }
    }

    #[test]
    fn token_shares_become_exact_quotas() {
        let cfg = MixConfig {
            groups: vec![share("web", 0.5, None), share("books", 0.5, Some(4.0))],
            total_tokens: Some(1001),
            total_documents: None,
        };
        assert!(cfg.check().is_empty());
        let t =
            grouping(&cfg, true).targets(&totals(&[("web", 10, 600), ("books", 5, 200)])).unwrap();
        assert_eq!(t[0].target, Target::Tokens(501));
        assert_eq!(t[1].target, Target::Tokens(500));
    }

    #[test]
    fn a_short_group_stops_the_plan_and_names_the_cap() {
        let cfg = MixConfig {
            groups: vec![share("web", 0.5, None), share("books", 0.5, Some(2.0))],
            total_tokens: Some(1000),
            total_documents: None,
        };
        let err = grouping(&cfg, true)
            .targets(&totals(&[("web", 10, 600), ("books", 5, 200)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("group `books`"), "{err}");
        assert!(err.contains("at most 400 (short by 100)"), "{err}");
        assert!(err.contains("`max_repeat` to at least 2.500"), "{err}");
    }

    #[test]
    fn the_default_total_is_the_largest_that_fits() {
        let cfg = MixConfig {
            groups: vec![share("web", 0.75, None), share("books", 0.25, None)],
            ..Default::default()
        };
        // books (100 tokens, no repeats) bounds the total at 400; web gives 300 of its 900
        let t =
            grouping(&cfg, true).targets(&totals(&[("web", 9, 900), ("books", 1, 100)])).unwrap();
        assert_eq!((t[0].target, t[1].target), (Target::Tokens(300), Target::Tokens(100)));
    }

    #[test]
    fn absolute_requests_and_checks() {
        let cfg = MixConfig {
            groups: vec![
                MixGroup { source: Some("a".into()), repeat: Some(2.5), ..Default::default() },
                MixGroup { source: Some("b".into()), count: Some(3), ..Default::default() },
            ],
            ..Default::default()
        };
        assert!(cfg.check().is_empty(), "{:?}", cfg.check());
        let t = grouping(&cfg, false).targets(&totals(&[("a", 3, 0), ("b", 7, 0)])).unwrap();
        assert_eq!((t[0].target, t[1].target), (Target::Documents(8), Target::Documents(3)));
        let mut mixed = cfg.clone();
        mixed.groups[1] = MixGroup {
            source: Some("b".into()),
            share_of_documents: Some(1.0),
            ..Default::default()
        };
        assert!(mixed.check().iter().any(|e| e.contains("relative")), "{:?}", mixed.check());
        let mut two = cfg.clone();
        two.groups[0].count = Some(1);
        assert!(two.check().iter().any(|e| e.contains("only one")));
        let bad_sum = MixConfig {
            groups: vec![share("a", 0.5, None), share("b", 0.3, None)],
            ..Default::default()
        };
        assert!(
            bad_sum.check().iter().any(|e| e.contains("add up to 0.8")),
            "{:?}",
            bad_sum.check()
        );
    }
}
