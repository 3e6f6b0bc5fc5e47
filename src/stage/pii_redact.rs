//! `pii_redact`: replaces e-mail addresses, IPv4/IPv6 addresses, phone numbers, payment card
//! numbers and IBANs in a text column with a placeholder, and counts the matches per type in
//! the stage's `changes` (stats.json). The detectors live in [`crate::text::pii`]; their
//! precision and recall are in `docs/pii.md`.
//!
//! The output depends only on the text. A document without a match is copied unchanged; a
//! match is replaced by its replacement string, so the text grows only where a replacement is
//! longer than the span it replaces.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BatchContext, BuildContext, BuiltStage, StageBuilder, Transform};
use crate::error::Result;
use crate::text::pii::{Detector, PiiKind};

fn all_types() -> Vec<PiiKind> {
    PiiKind::ALL.to_vec()
}

fn is_all_types(t: &[PiiKind]) -> bool {
    PiiKind::ALL.iter().all(|k| t.contains(k))
}

/// Redacts personal data in a text column.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PiiRedactConfig {
    /// Column to rewrite.
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// Types to find: `email`, `ipv4`, `ipv6`, `phone`, `credit_card`, `iban` (default: all).
    #[serde(default = "all_types", skip_serializing_if = "is_all_types")]
    pub types: Vec<PiiKind>,
    /// One fixed string that replaces every match of every type (for example `[REDACTED]`).
    /// When absent, each type gets its typed placeholder: `<EMAIL>`, `<IPV4>`, `<IPV6>`,
    /// `<PHONE>`, `<CREDIT_CARD>`, `<IBAN>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// Replacement per type, over `replacement` and the placeholders (`{email: "[email]"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_type: BTreeMap<PiiKind, String>,
}

impl Default for PiiRedactConfig {
    fn default() -> Self {
        PiiRedactConfig {
            column: super::normalize::default_column(),
            types: all_types(),
            replacement: None,
            per_type: BTreeMap::new(),
        }
    }
}

impl PiiRedactConfig {
    /// The string that replaces a match of `kind`.
    pub fn replacement_for(&self, kind: PiiKind) -> &str {
        match (self.per_type.get(&kind), &self.replacement) {
            (Some(r), _) | (None, Some(r)) => r,
            (None, None) => kind.placeholder(),
        }
    }
}

impl StageBuilder for PiiRedactConfig {
    const NAME: &'static str = "pii_redact";

    fn example() -> Self {
        PiiRedactConfig {
            types: vec![PiiKind::Email, PiiKind::Phone, PiiKind::Ipv4, PiiKind::Ipv6],
            per_type: [(PiiKind::Email, "<EMAIL_ADDRESS>".to_string())].into(),
            ..Default::default()
        }
    }

    fn check(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.types.is_empty() {
            errs.push("`types` is empty: list at least one of email, ipv4, ipv6, phone, credit_card, iban".into());
        }
        for k in self.per_type.keys() {
            if !self.types.contains(k) {
                errs.push(format!("`per_type` names `{}`, which is not in `types`", k.name()));
            }
        }
        errs
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        if let Some(e) = self.check().into_iter().next() {
            return Err(crate::error::Error::Invalid(format!("pii_redact: {e}")));
        }
        let detector = Detector::new(&self.types);
        Ok(BuiltStage::Transform(Box::new(PiiRedact { cfg: self.clone(), detector })))
    }
}

struct PiiRedact {
    cfg: PiiRedactConfig,
    detector: Detector,
}

impl PiiRedact {
    /// Writes `text` with every match replaced to `out`; counts matches per type in `counts`
    /// (indexed like [`PiiKind::ALL`]).
    fn redact(&self, text: &str, out: &mut String, counts: &mut [u64; 6]) {
        let found = self.detector.find(text);
        let mut last = 0;
        for m in found {
            out.push_str(&text[last..m.range.start]);
            out.push_str(self.cfg.replacement_for(m.kind));
            last = m.range.end;
            if let Some(i) = PiiKind::ALL.iter().position(|k| *k == m.kind) {
                counts[i] += 1;
            }
        }
        out.push_str(&text[last..]);
    }
}

impl Transform for PiiRedact {
    fn apply(&self, batch: RecordBatch, ctx: &BatchContext) -> Result<RecordBatch> {
        self.apply_counted(batch, ctx, &mut BTreeMap::new())
    }

    fn apply_counted(
        &self,
        batch: RecordBatch,
        _: &BatchContext,
        changes: &mut BTreeMap<String, u64>,
    ) -> Result<RecordBatch> {
        let mut counts = [0u64; 6];
        let out = super::rewrite_strings(&batch, &self.cfg.column, |s, buf| {
            self.redact(s, buf, &mut counts)
        })?;
        super::add_changes(changes, PiiKind::ALL.iter().map(|k| k.name()).zip(counts));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::test_util::{batch, build_cx, ctx, texts, transform};

    fn counted(c: &PiiRedactConfig, inputs: &[&str]) -> (Vec<String>, BTreeMap<String, u64>) {
        let b = batch(inputs);
        let BuiltStage::Transform(t) = c.build(&build_cx(b.schema())).unwrap() else {
            panic!("not a transform")
        };
        let mut changes = BTreeMap::new();
        let out = t.apply_counted(b, &ctx(), &mut changes).unwrap();
        (texts(&out), changes)
    }

    const DOC: &str = "Mail jane.roe@example.org or call +44 20 7946 0958 from 192.168.1.20 \
                       (fe80::1ff:fe23:4567:890a); card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32.";

    #[test]
    fn typed_placeholders_and_counts() {
        let (out, changes) =
            counted(&PiiRedactConfig::default(), &[DOC, "nothing here 2019", "a@b.co a@b.co"]);
        assert_eq!(
            out[0],
            "Mail <EMAIL> or call <PHONE> from <IPV4> (<IPV6>); card <CREDIT_CARD>, IBAN <IBAN>."
        );
        assert_eq!(out[1], "nothing here 2019");
        assert_eq!(out[2], "<EMAIL> <EMAIL>");
        let want: BTreeMap<String, u64> =
            [("credit_card", 1), ("email", 3), ("iban", 1), ("ipv4", 1), ("ipv6", 1), ("phone", 1)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        assert_eq!(changes, want);
    }

    #[test]
    fn fixed_replacement_types_and_overrides() {
        let c: PiiRedactConfig = serde_json::from_value(serde_json::json!({
            "types": ["email", "ipv4"],
            "replacement": "[X]",
            "per_type": {"ipv4": "[IP]"}
        }))
        .unwrap();
        assert_eq!(
            transform(&c, &[DOC]),
            vec![
                "Mail [X] or call +44 20 7946 0958 from [IP] (fe80::1ff:fe23:4567:890a); card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32."
            ]
        );
    }

    #[test]
    fn example_redacts_emails_with_its_override() {
        assert_eq!(
            transform(&PiiRedactConfig::example(), &["to: a.b@c.org"]),
            vec!["to: <EMAIL_ADDRESS>"]
        );
    }

    #[test]
    fn bad_configs_are_rejected() {
        let c = PiiRedactConfig { types: vec![], ..Default::default() };
        assert_eq!(c.check().len(), 1);
        let c = PiiRedactConfig {
            types: vec![PiiKind::Email],
            per_type: [(PiiKind::Iban, "x".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(c.check().len(), 1);
        let e = serde_json::from_value::<PiiRedactConfig>(serde_json::json!({"types": ["ssn"]}));
        assert!(e.is_err());
    }

    #[test]
    fn unmatched_text_is_copied_and_output_is_deterministic() {
        let inputs = ["", "é@ü 1.2.3.4.5 12:30:45 v2.0.0.1", DOC];
        let a = transform(&PiiRedactConfig::default(), &inputs);
        assert_eq!(a[0], "");
        assert_eq!(a[1], inputs[1]);
        assert_eq!(a, transform(&PiiRedactConfig::default(), &inputs));
    }
}
