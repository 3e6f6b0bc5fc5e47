//! `language`: identifies the language of a text column with `whatlang` (pure Rust, its
//! trigram model compiled into the crate), adds the columns `lang` and `lang_score`, and keeps
//! the documents in the listed languages whose score reaches `min_score`.
//!
//! Accuracy and speed, measured on the 75-language lingua test sentences, are in
//! `docs/language.md` (`cargo run --example language_accuracy`).

use std::sync::Arc;

use arrow::array::{Array, Float64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, FieldRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use whatlang::Lang;

use super::{
    BatchContext, BuildContext, BuiltStage, Filter, FilterMode, StageBuilder, Verdict,
    string_column,
};
use crate::error::{Error, Result};

/// Name of the detected-language column (ISO 639-1 code; null when undetected).
pub const LANG: &str = "lang";
/// Name of the detection-confidence column (0 to 1; null when undetected).
pub const LANG_SCORE: &str = "lang_score";

/// Reason: no language could be identified (empty or null text, digits or punctuation only).
pub const UNDETECTED: &str = "language_undetected";
/// Reason: a language was identified, but with a score below `min_score`.
pub const LOW_SCORE: &str = "language_low_score";
/// Reason: the identified language is not in `languages`.
pub const NOT_ALLOWED: &str = "language_not_allowed";

/// Identifies the language with `whatlang` (70 languages) and keeps documents in `languages`.
/// Adds the columns `lang` (ISO 639-1 code, null when undetected) and `lang_score` (0 to 1) in
/// both modes, replacing columns of those names. Reasons, checked in this order:
/// `language_undetected`, `language_low_score`, `language_not_allowed`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {
    /// Column to identify.
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// Languages to keep, as ISO 639-1 (`en`, `zh`) or ISO 639-3 (`eng`, `cmn`) codes;
    /// `zho`/`chi`, `fas`/`per` and `no`/`nor` are also accepted. Empty keeps every identified
    /// language (the stage then only tags documents and rejects undetected or low-score ones).
    /// A document in another language is rejected with `language_not_allowed`.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Minimum whatlang confidence, 0 to 1; lower scores are rejected with
    /// `language_low_score`, whatever the language. The confidence measures how far the best
    /// language is ahead of the runner-up, so it is low for short texts and for close pairs
    /// (nb/da, hr/sl/sr, cs/sk). 0 disables the check.
    #[serde(default = "default_min_score")]
    pub min_score: f64,
    /// Identify the language from the first `prefix_bytes` bytes of the text only (cut back to
    /// a character boundary), which bounds the cost of long documents; 0 reads the whole text.
    /// Must be 0 or at least 64.
    #[serde(default = "default_prefix_bytes")]
    pub prefix_bytes: u64,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

/// On the lingua sentences, 0.5 cuts the share of wrong labels among the kept sentences from
/// 5.1 % to 0.9 % while keeping 87 % of them; on 10-sentence documents it keeps 98.5 % with
/// 99.96 % right, losing mostly close pairs such as da/nb (see `docs/language.md`).
fn default_min_score() -> f64 {
    0.5
}

/// 8 KiB: on the mixed en/ru/zh subtitle documents, prefixes of 4 KiB and more give the same
/// language as the whole text for every document, and 8 KiB keeps a 2x margin while capping
/// the cost at about 0.4 ms per document (a 3 MB book takes about 70 ms in full).
fn default_prefix_bytes() -> u64 {
    8192
}

impl Default for LanguageConfig {
    fn default() -> Self {
        LanguageConfig {
            column: super::normalize::default_column(),
            languages: Vec::new(),
            min_score: default_min_score(),
            prefix_bytes: default_prefix_bytes(),
            mode: FilterMode::Drop,
        }
    }
}

/// Every whatlang language with its ISO 639-1 code (all 70 of whatlang 0.18 have one).
const ISO_639_1: &[(Lang, &str)] = &[
    (Lang::Afr, "af"),
    (Lang::Aka, "ak"),
    (Lang::Amh, "am"),
    (Lang::Ara, "ar"),
    (Lang::Aze, "az"),
    (Lang::Bel, "be"),
    (Lang::Ben, "bn"),
    (Lang::Bul, "bg"),
    (Lang::Cat, "ca"),
    (Lang::Ces, "cs"),
    (Lang::Cmn, "zh"),
    (Lang::Cym, "cy"),
    (Lang::Dan, "da"),
    (Lang::Deu, "de"),
    (Lang::Ell, "el"),
    (Lang::Eng, "en"),
    (Lang::Epo, "eo"),
    (Lang::Est, "et"),
    (Lang::Fin, "fi"),
    (Lang::Fra, "fr"),
    (Lang::Guj, "gu"),
    (Lang::Heb, "he"),
    (Lang::Hin, "hi"),
    (Lang::Hrv, "hr"),
    (Lang::Hun, "hu"),
    (Lang::Hye, "hy"),
    (Lang::Ind, "id"),
    (Lang::Ita, "it"),
    (Lang::Jav, "jv"),
    (Lang::Jpn, "ja"),
    (Lang::Kan, "kn"),
    (Lang::Kat, "ka"),
    (Lang::Khm, "km"),
    (Lang::Kor, "ko"),
    (Lang::Lat, "la"),
    (Lang::Lav, "lv"),
    (Lang::Lit, "lt"),
    (Lang::Mal, "ml"),
    (Lang::Mar, "mr"),
    (Lang::Mkd, "mk"),
    (Lang::Mya, "my"),
    (Lang::Nep, "ne"),
    (Lang::Nld, "nl"),
    (Lang::Nob, "nb"),
    (Lang::Ori, "or"),
    (Lang::Pan, "pa"),
    (Lang::Pes, "fa"),
    (Lang::Pol, "pl"),
    (Lang::Por, "pt"),
    (Lang::Ron, "ro"),
    (Lang::Rus, "ru"),
    (Lang::Sin, "si"),
    (Lang::Slk, "sk"),
    (Lang::Slv, "sl"),
    (Lang::Sna, "sn"),
    (Lang::Spa, "es"),
    (Lang::Srp, "sr"),
    (Lang::Swe, "sv"),
    (Lang::Tam, "ta"),
    (Lang::Tel, "te"),
    (Lang::Tgl, "tl"),
    (Lang::Tha, "th"),
    (Lang::Tuk, "tk"),
    (Lang::Tur, "tr"),
    (Lang::Ukr, "uk"),
    (Lang::Urd, "ur"),
    (Lang::Uzb, "uz"),
    (Lang::Vie, "vi"),
    (Lang::Yid, "yi"),
    (Lang::Zul, "zu"),
];

/// Other codes users write for whatlang's languages (macrolanguage and ISO 639-2/B forms).
const ALIASES: &[(&str, Lang)] = &[
    ("zho", Lang::Cmn),
    ("chi", Lang::Cmn),
    ("fas", Lang::Pes),
    ("per", Lang::Pes),
    ("no", Lang::Nob),
    ("nor", Lang::Nob),
];

/// The code the stage writes for `lang`: ISO 639-1, or whatlang's ISO 639-3 code when the
/// language has no 639-1 code.
pub fn lang_code(lang: Lang) -> &'static str {
    ISO_639_1.iter().find(|(l, _)| *l == lang).map_or_else(|| lang.code(), |(_, c)| c)
}

/// Parses an ISO 639-1 or 639-3 code (or an alias such as `zho`), ignoring case.
pub fn parse_lang(code: &str) -> Option<Lang> {
    let code = code.trim().to_ascii_lowercase();
    ISO_639_1
        .iter()
        .find(|(_, c)| *c == code)
        .map(|(l, _)| *l)
        .or_else(|| ALIASES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l))
        .or_else(|| Lang::from_code(code.as_str()))
}

/// Every code the stage can write, sorted (the ISO 639-1 codes of whatlang's languages).
pub fn supported_codes() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Lang::all().iter().map(|l| lang_code(*l)).collect();
    out.sort_unstable();
    out
}

/// The first `max` bytes of `text`, cut back to a character boundary; all of it when `max`
/// is 0.
pub fn prefix(text: &str, max: usize) -> &str {
    if max == 0 || text.len() <= max { text } else { &text[..text.floor_char_boundary(max)] }
}

/// What the stage computes for one text: the language code and whatlang's confidence, or
/// `None` when no language is identified. Deterministic: whatlang breaks ties by fixed
/// table order, never by hash order.
pub fn identify(text: &str, prefix_bytes: usize) -> Option<(&'static str, f64)> {
    whatlang::detect(prefix(text, prefix_bytes)).map(|i| (lang_code(i.lang()), i.confidence()))
}

impl StageBuilder for LanguageConfig {
    const NAME: &'static str = "language";

    fn example() -> Self {
        LanguageConfig { languages: vec!["en".into(), "fr".into()], ..Default::default() }
    }

    fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        let unknown: Vec<&str> =
            self.languages.iter().filter(|c| parse_lang(c).is_none()).map(String::as_str).collect();
        if !unknown.is_empty() {
            out.push(format!(
                "unknown language code{} {}; known ISO 639-1 codes (ISO 639-3 codes also \
                 work): {}",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
                supported_codes().join(", ")
            ));
        }
        if !(0.0..=1.0).contains(&self.min_score) {
            out.push(format!("min_score ({}) must be between 0 and 1", self.min_score));
        }
        if self.prefix_bytes != 0 && self.prefix_bytes < 64 {
            out.push(format!(
                "prefix_bytes ({}) is too short to identify a language; use 0 (whole text) \
                 or at least 64",
                self.prefix_bytes
            ));
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        if let Some(problem) = self.check().into_iter().next() {
            return Err(Error::Invalid(problem));
        }
        let mut allowed: Vec<Lang> = self.languages.iter().filter_map(|c| parse_lang(c)).collect();
        allowed.sort_unstable_by_key(|l| l.code());
        allowed.dedup();
        let filter = LanguageFilter {
            column: self.column.clone(),
            allowed,
            min_score: self.min_score,
            prefix_bytes: usize::try_from(self.prefix_bytes).unwrap_or(usize::MAX),
        };
        Ok(BuiltStage::Filter(Box::new(filter), self.mode))
    }
}

struct LanguageFilter {
    column: String,
    /// Empty keeps every language.
    allowed: Vec<Lang>,
    min_score: f64,
    prefix_bytes: usize,
}

impl LanguageFilter {
    fn decide(&self, found: Option<(Lang, f64)>) -> Option<&'static str> {
        match found {
            None => Some(UNDETECTED),
            Some((_, score)) if score < self.min_score => Some(LOW_SCORE),
            Some((lang, _)) if !self.allowed.is_empty() && !self.allowed.contains(&lang) => {
                Some(NOT_ALLOWED)
            }
            Some(_) => None,
        }
    }
}

impl Filter for LanguageFilter {
    fn reads(&self) -> Option<Vec<&str>> {
        Some(vec![self.column.as_str()])
    }

    fn annotation_fields(&self) -> Vec<FieldRef> {
        vec![
            Arc::new(Field::new(LANG, DataType::Utf8, true)),
            Arc::new(Field::new(LANG_SCORE, DataType::Float64, true)),
        ]
    }

    fn evaluate(&self, batch: &RecordBatch, _: &BatchContext) -> Result<Verdict> {
        let col = string_column(batch, &self.column)?;
        let mut langs = StringBuilder::with_capacity(col.len(), col.len() * 2);
        let mut scores = Float64Builder::with_capacity(col.len());
        let mut reasons = Vec::with_capacity(col.len());
        for text in col.iter() {
            let found = text
                .and_then(|t| whatlang::detect(prefix(t, self.prefix_bytes)))
                .map(|i| (i.lang(), i.confidence()));
            langs.append_option(found.map(|(l, _)| lang_code(l)));
            scores.append_option(found.map(|(_, s)| s));
            reasons.push(self.decide(found));
        }
        Ok(Verdict {
            reasons,
            new_text: None,
            annotations: vec![Arc::new(langs.finish()), Arc::new(scores.finish())],
        })
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Float64Array, StringArray};

    use super::*;
    use crate::stage::test_util::{batch, build_cx, ctx, filter_reasons};

    const EN: &str = "The quick brown fox jumps over the lazy dog while the children watch \
                      from the window of their house.";
    const FR: &str = "Le renard brun saute par-dessus le chien paresseux pendant que les enfants \
                      regardent depuis la fenêtre de leur maison.";
    const DE: &str = "Der schnelle braune Fuchs springt über den faulen Hund, während die Kinder \
                      aus dem Fenster ihres Hauses zuschauen.";
    const RU: &str = "Быстрая коричневая лиса прыгает через ленивую собаку, пока дети смотрят \
                      из окна своего дома.";
    const ZH: &str = "敏捷的棕色狐狸跳过了懒惰的狗，孩子们从他们家的窗户里看着。";

    fn run(config: &LanguageConfig, texts: &[&str]) -> (FilterMode, Verdict, Vec<FieldRef>) {
        let b = batch(texts);
        match config.build(&build_cx(b.schema())).unwrap() {
            BuiltStage::Filter(f, mode) => {
                (mode, f.evaluate(&b, &ctx()).unwrap(), f.annotation_fields())
            }
            _ => panic!("not a filter"),
        }
    }

    fn annotations(v: &Verdict) -> (Vec<Option<String>>, Vec<Option<f64>>) {
        let langs = v.annotations[0].as_any().downcast_ref::<StringArray>().unwrap();
        let scores = v.annotations[1].as_any().downcast_ref::<Float64Array>().unwrap();
        (langs.iter().map(|l| l.map(str::to_string)).collect(), scores.iter().collect())
    }

    #[test]
    fn identifies_hand_written_sentences() {
        let c = LanguageConfig { min_score: 0.0, ..Default::default() };
        let (_, v, _) = run(&c, &[EN, FR, DE, RU, ZH]);
        let (langs, scores) = annotations(&v);
        let langs: Vec<_> = langs.iter().map(|l| l.as_deref().unwrap()).collect();
        assert_eq!(langs, ["en", "fr", "de", "ru", "zh"]);
        assert!(scores.iter().all(|s| s.is_some_and(|s| (0.0..=1.0).contains(&s))), "{scores:?}");
        assert_eq!(v.reasons, vec![None; 5]);
    }

    #[test]
    fn drop_mode_reasons() {
        let c = LanguageConfig::example(); // en, fr; min_score 0.5
        assert_eq!(
            filter_reasons(&c, &[EN, FR, DE, "12345 !!!", ""]),
            vec![None, None, Some(NOT_ALLOWED), Some(UNDETECTED), Some(UNDETECTED)]
        );
        // Two words of a close pair (Danish / Norwegian Bokmål) score below 1.
        let strict = LanguageConfig { min_score: 1.0, ..Default::default() };
        assert_eq!(filter_reasons(&strict, &["jeg er", EN]), vec![Some(LOW_SCORE), None]);
    }

    #[test]
    fn annotate_mode_adds_columns_and_keeps_reasons() {
        let c = LanguageConfig {
            languages: vec!["DE".into(), "rus".into()],
            mode: FilterMode::Annotate,
            ..Default::default()
        };
        let (mode, v, fields) = run(&c, &[DE, RU, EN, "???"]);
        assert_eq!(mode, FilterMode::Annotate);
        assert_eq!(
            fields.iter().map(|f| (f.name().as_str(), f.data_type().clone())).collect::<Vec<_>>(),
            [(LANG, DataType::Utf8), (LANG_SCORE, DataType::Float64)]
        );
        assert_eq!(v.reasons, vec![None, None, Some(NOT_ALLOWED), Some(UNDETECTED)]);
        let (langs, scores) = annotations(&v);
        assert_eq!(
            langs,
            [Some("de".to_string()), Some("ru".to_string()), Some("en".to_string()), None]
        );
        assert!(scores[..3].iter().all(Option::is_some));
        assert_eq!(scores[3], None);
    }

    #[test]
    fn null_text_is_undetected() {
        let c = LanguageConfig::default();
        let b = batch(&[EN]);
        let text: StringArray = vec![None::<&str>].into_iter().collect();
        let b =
            crate::stage::with_column(&b, Field::new("text", DataType::Utf8, true), Arc::new(text))
                .unwrap();
        let BuiltStage::Filter(f, _) = c.build(&build_cx(b.schema())).unwrap() else { panic!() };
        let v = f.evaluate(&b, &ctx()).unwrap();
        assert_eq!(v.reasons, vec![Some(UNDETECTED)]);
        assert!(v.annotations[0].is_null(0) && v.annotations[1].is_null(0));
    }

    #[test]
    fn codes_round_trip_and_check_lists_known_codes() {
        for &lang in Lang::all() {
            let code = lang_code(lang);
            assert_eq!(code.len(), 2, "{lang:?} has no ISO 639-1 code");
            assert_eq!(parse_lang(code), Some(lang));
            assert_eq!(parse_lang(lang.code()), Some(lang));
        }
        assert_eq!(supported_codes().len(), Lang::all().len());
        assert_eq!(parse_lang("ZHO"), Some(Lang::Cmn));
        let ok = LanguageConfig {
            languages: vec!["en".into(), "cmn".into(), "Fr".into()],
            ..Default::default()
        };
        assert!(ok.check().is_empty(), "{:?}", ok.check());
        let bad = LanguageConfig {
            languages: vec!["en".into(), "xx".into(), "english".into()],
            min_score: 1.5,
            prefix_bytes: 10,
            ..Default::default()
        };
        let errors = bad.check();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("`xx`, `english`"), "{}", errors[0]);
        assert!(errors[0].contains("af, ak, am"), "{}", errors[0]);
        assert!(errors[1].contains("min_score"));
        assert!(errors[2].contains("prefix_bytes"));
    }

    #[test]
    fn prefix_cuts_at_char_boundaries() {
        assert_eq!(prefix("ééé", 3), "é");
        assert_eq!(prefix("ééé", 4), "éé");
        assert_eq!(prefix("abc", 0), "abc");
        assert_eq!(prefix("abc", 10), "abc");
        // A long document is identified from its start only.
        let long = format!("{EN} {}", DE.repeat(200));
        assert_eq!(identify(&long, 100).map(|r| r.0), Some("en"));
        assert_eq!(identify(&long, 0).map(|r| r.0), Some("de"));
    }

    #[test]
    fn filter_is_send_sync_and_deterministic() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<LanguageFilter>();
        let c = LanguageConfig::example();
        let texts = [EN, FR, DE, RU, ZH, "jeg er"];
        let (_, a, _) = run(&c, &texts);
        let (_, b, _) = run(&c, &texts);
        assert_eq!(a.reasons, b.reasons);
        assert_eq!(annotations(&a), annotations(&b));
    }
}
