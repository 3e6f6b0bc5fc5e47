//! `url_filter`: datatrove's `URLFilter`. Drops documents by their URL: a blocked registered
//! domain or host name, a blocked URL, a banned word among the URL's alphanumeric runs, enough
//! "soft" banned words, or a banned subword anywhere in the URL's letters and digits.

use std::collections::HashSet;
use std::path::Path;

use arrow::array::{Array, RecordBatch};
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::psl::{SuffixList, lenient_host};
use super::{StrSet, py_file_lines, read_list_file, require_string_path, string_at_path};
use crate::error::{Error, Result};
use crate::stage::{
    BatchContext, BuildContext, BuiltStage, Filter, FilterMode, ID, StageBuilder, Verdict,
    string_column,
};
use crate::text::pystr::py_strip;

/// Directory of the word lists datatrove 0.10.1 ships (`datatrove/assets`).
const ASSETS: &str = "../shared/data/filters/datatrove_assets";

/// What to do with a document whose URL is null or empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissingUrl {
    /// Fail the run, as datatrove does (`assert url`).
    #[default]
    Error,
    /// Keep the document.
    Keep,
    /// Reject the document with reason `missing_url`.
    Drop,
}

/// Drops documents whose URL is blocked or has banned words (datatrove's `URLFilter`). The
/// checks run in this order and the first match gives the reason: registered domain in
/// `domain_lists` (`domain`), full host name in `domain_lists`
/// (`subdomain`), whole URL in `url_lists` (`url`), a banned word (`hard_blacklisted`), at
/// least `soft_word_threshold` soft-banned words (`soft_blacklisted`), a banned subword
/// (`blacklisted_subword`). List files have one entry per line; lines starting with `#` are
/// comments.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UrlFilterConfig {
    /// Column with the URL: a top-level `Utf8` column, or a dotted path into a struct column
    /// (`meta.url`, where JSONL corpora such as C4 and Dolma keep it). A top-level column whose
    /// name contains the dot wins.
    #[serde(default = "default_url_field")]
    pub url_field: String,
    /// Files of blocked domains (datatrove's integrated list is the UT1 "adult" list in
    /// `url_filterblacklistsv0_3_0.tar.gz`, file `domains`). Entries are stripped and compared
    /// as written, case-sensitively, with the URL's registered domain (`example.co.uk`,
    /// reason `domain`) and then its full host name (`www.example.co.uk`, reason `subdomain`).
    #[serde(default)]
    pub domain_lists: Vec<String>,
    /// Files of blocked URLs (datatrove's tarball file `urls`), compared with the whole URL
    /// string (reason `url`). Entries are stripped; the URL is not.
    #[serde(default)]
    pub url_lists: Vec<String>,
    /// Files of banned words. Entries are reduced to their ASCII letters and digits and
    /// lowercased; a URL is rejected (reason `hard_blacklisted`) when one of its runs of ASCII
    /// letters and digits equals one, case-sensitively (so `PORN` in a URL does not match).
    #[serde(default = "default_banned_words")]
    pub banned_words: Vec<String>,
    /// Files of banned subwords, reduced like `banned_words`. A URL is rejected (reason
    /// `blacklisted_subword`) when one occurs anywhere in its lowercased ASCII letters and
    /// digits (`http://a-bc.com` is searched as `httpabccom`).
    #[serde(default = "default_banned_subwords")]
    pub banned_subwords: Vec<String>,
    /// Files of soft-banned words, reduced like `banned_words` and matched like them; see
    /// `soft_word_threshold`.
    #[serde(default = "default_soft_banned_words")]
    pub soft_banned_words: Vec<String>,
    /// A URL containing at least this many distinct soft-banned words is rejected (reason
    /// `soft_blacklisted`).
    #[serde(default = "two")]
    pub soft_word_threshold: u64,
    /// Public Suffix List file that defines registered domains (only read when
    /// `domain_lists` is set). datatrove's `tldextract` fetches the current list at run time;
    /// the default is the one the system package `publicsuffix` installs. Only the ICANN
    /// section is used, as tldextract does by default.
    #[serde(default = "default_public_suffix_list")]
    pub public_suffix_list: String,
    /// What to do with a document whose URL is null or empty: `error` (datatrove's behaviour),
    /// `keep`, or `drop` (reason `missing_url`).
    #[serde(default)]
    pub missing_url: MissingUrl,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

fn default_url_field() -> String {
    "url".into()
}

fn default_banned_words() -> Vec<String> {
    vec![format!("{ASSETS}/banned_words.txt")]
}

fn default_banned_subwords() -> Vec<String> {
    vec![format!("{ASSETS}/banned_subwords.txt")]
}

fn default_soft_banned_words() -> Vec<String> {
    vec![format!("{ASSETS}/soft_banned_words.txt")]
}

fn two() -> u64 {
    2
}

fn default_public_suffix_list() -> String {
    "/usr/share/publicsuffix/public_suffix_list.dat".into()
}

impl StageBuilder for UrlFilterConfig {
    const NAME: &'static str = "url_filter";

    fn example() -> Self {
        UrlFilterConfig {
            url_field: "meta.url".into(),
            domain_lists: Vec::new(),
            url_lists: Vec::new(),
            banned_words: default_banned_words(),
            banned_subwords: default_banned_subwords(),
            soft_banned_words: default_soft_banned_words(),
            soft_word_threshold: 2,
            public_suffix_list: default_public_suffix_list(),
            missing_url: MissingUrl::Keep,
            mode: FilterMode::Drop,
        }
    }

    fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.url_field.is_empty() {
            out.push("url_field must not be empty".into());
        }
        if self.soft_word_threshold == 0 {
            out.push("soft_word_threshold must be at least 1 (0 rejects every document)".into());
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        require_string_path(&cx.input_schema, &self.url_field)?;
        let texts = |files: &[String]| -> Result<Vec<String>> {
            files.iter().map(|f| read_list_file(Path::new(f))).collect()
        };
        let domain_texts = texts(&self.domain_lists)?;
        let url_texts = texts(&self.url_lists)?;
        let psl = if self.domain_lists.is_empty() {
            None
        } else {
            let path = Path::new(&self.public_suffix_list);
            let list = SuffixList::parse(&read_list_file(path)?);
            if list.len() == 0 {
                return Err(Error::Invalid(format!(
                    "{}: no public suffix rules found",
                    path.display()
                )));
            }
            Some(list)
        };
        let subwords = normalized_words(&texts(&self.banned_subwords)?);
        let mut subwords: Vec<&String> = subwords.iter().filter(|w| !w.is_empty()).collect();
        subwords.sort();
        let subwords = if subwords.is_empty() {
            None
        } else {
            let alternation =
                subwords.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join("|");
            Some(
                Regex::new(&alternation)
                    .map_err(|e| Error::Invalid(format!("cannot compile banned_subwords: {e}")))?,
            )
        };
        let filter = UrlFilter {
            cfg: self.clone(),
            domains: StrSet::new(domain_texts.iter().flat_map(|t| stripped_entries(t))),
            urls: StrSet::new(url_texts.iter().flat_map(|t| stripped_entries(t))),
            psl,
            banned_words: normalized_words(&texts(&self.banned_words)?),
            soft_banned_words: normalized_words(&texts(&self.soft_banned_words)?),
            subwords,
        };
        Ok(BuiltStage::Filter(Box::new(filter), self.mode))
    }
}

/// datatrove `parse_list(..., do_normalize=False)`: every line not starting with `#`, stripped.
fn stripped_entries(text: &str) -> impl Iterator<Item = &str> + '_ {
    py_file_lines(text).filter(|l| !l.starts_with('#')).map(py_strip)
}

/// datatrove `normalize`: only the ASCII letters and digits, lowercased.
fn normalize(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// datatrove `parse_list(...)` with normalization, over several files.
fn normalized_words(texts: &[String]) -> HashSet<String> {
    texts
        .iter()
        .flat_map(|t| py_file_lines(t))
        .filter(|l| !l.starts_with('#'))
        .map(normalize)
        .collect()
}

/// Python `set(re.split(r"[^a-zA-Z0-9]+", url))`: the runs of ASCII letters and digits, plus
/// `""` when the URL starts or ends with another character. Sorted and deduplicated.
fn url_words(url: &str) -> Vec<&str> {
    let sep = |c: char| !c.is_ascii_alphanumeric();
    let mut words: Vec<&str> = url.split(sep).filter(|w| !w.is_empty()).collect();
    if url.is_empty() || url.starts_with(sep) || url.ends_with(sep) {
        words.push("");
    }
    words.sort_unstable();
    words.dedup();
    words
}

struct UrlFilter {
    cfg: UrlFilterConfig,
    domains: StrSet,
    urls: StrSet,
    /// Loaded only when there are domain lists.
    psl: Option<SuffixList>,
    banned_words: HashSet<String>,
    soft_banned_words: HashSet<String>,
    /// One alternation of every non-empty banned subword.
    subwords: Option<Regex>,
}

impl UrlFilter {
    fn decide(&self, url: &str) -> Option<&'static str> {
        if let Some(psl) = &self.psl {
            let parts = psl.host_parts(lenient_host(url));
            if self.domains.contains(&parts.registered_domain) {
                return Some("domain");
            }
            if self.domains.contains(&parts.fqdn) {
                return Some("subdomain");
            }
        }
        if self.urls.contains(url) {
            return Some("url");
        }
        let words = url_words(url);
        if words.iter().any(|w| self.banned_words.contains(*w)) {
            return Some("hard_blacklisted");
        }
        let soft = words.iter().filter(|w| self.soft_banned_words.contains(**w)).count() as u64;
        if soft >= self.cfg.soft_word_threshold {
            return Some("soft_blacklisted");
        }
        if self.subwords.as_ref().is_some_and(|re| re.is_match(&normalize(url))) {
            return Some("blacklisted_subword");
        }
        None
    }
}

impl Filter for UrlFilter {
    fn reads(&self) -> Option<Vec<&str>> {
        let mut cols = super::path_columns(&self.cfg.url_field).to_vec();
        cols.push(ID);
        Some(cols)
    }

    fn evaluate(&self, batch: &RecordBatch, _: &BatchContext) -> Result<Verdict> {
        let urls = string_at_path(batch, &self.cfg.url_field)?;
        let mut reasons = Vec::with_capacity(batch.num_rows());
        for i in 0..urls.len() {
            let url = if urls.is_valid(i) { urls.value(i) } else { "" };
            if url.is_empty() {
                reasons.push(match self.cfg.missing_url {
                    MissingUrl::Keep => None,
                    MissingUrl::Drop => Some("missing_url"),
                    MissingUrl::Error => {
                        let id = string_column(batch, ID).map(|ids| ids.value(i).to_string());
                        return Err(Error::input(
                            format!("document `{}`", id.unwrap_or_default()),
                            format!(
                                "no URL in `{}` (set missing_url: keep or drop to accept \
                                 such documents)",
                                self.cfg.url_field
                            ),
                        ));
                    }
                });
                continue;
            }
            reasons.push(self.decide(url));
        }
        Ok(Verdict::reasons(reasons))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::lists::test_data;

    fn records(urls: &[Option<&str>]) -> RecordBatch {
        let recs: Vec<serde_json::Value> = urls
            .iter()
            .enumerate()
            .map(|(i, u)| serde_json::json!({"id": format!("d{i}"), "text": "t", "meta": {"url": u}}))
            .collect();
        test_data::batch(&recs)
    }

    fn reasons(cfg: &UrlFilterConfig, urls: &[&str]) -> Vec<Option<String>> {
        let b = records(&urls.iter().map(|u| Some(*u)).collect::<Vec<_>>());
        let got = test_data::rejected(cfg, &b);
        (0..urls.len()).map(|i| got.get(&format!("d{i}")).cloned()).collect()
    }

    /// A config whose lists are small files in a temporary directory.
    fn with_lists() -> (tempfile::TempDir, UrlFilterConfig) {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, body: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            vec![p.to_string_lossy().into_owned()]
        };
        let cfg = UrlFilterConfig {
            domain_lists: file("domains", "bad.com\n# comment.com\n  sub.ok.co.uk \n"),
            url_lists: file("urls", "http://ok.com/exact\n"),
            banned_words: file("words", "Bad-Word\n#ignored\n"),
            banned_subwords: file("subwords", "evil\n"),
            soft_banned_words: file("soft", "foo\nbar\nbaz\n"),
            public_suffix_list: file("psl", "com\nuk\nco.uk\n")[0].clone(),
            ..UrlFilterConfig::example()
        };
        (dir, cfg)
    }

    #[test]
    fn reasons_follow_datatrove_order_and_matching() {
        let (_dir, cfg) = with_lists();
        let s = |r: &str| Some(r.to_string());
        assert_eq!(
            reasons(
                &cfg,
                &[
                    "http://www.bad.com/badword",
                    "https://x.sub.ok.co.uk/",
                    "http://sub.ok.co.uk",
                    "http://ok.co.uk/",
                    "http://comment.com/",
                    "http://ok.com/exact",
                    "http://ok.com/exact/",
                    "http://ok.com/a/badword?x",
                    "http://ok.com/a/BadWord",
                    "http://ok.com/foo/foo",
                    "http://foo.com/bar",
                    "http://EVIL.com/",
                    "http://ev-il.com/",
                    "http://ok.com/",
                ]
            ),
            vec![
                s("domain"),
                None, // the fqdn x.sub.ok.co.uk is not listed, nor its domain ok.co.uk
                s("subdomain"),
                None,
                None,
                s("url"),
                None,
                s("hard_blacklisted"),
                None,
                None,
                s("soft_blacklisted"),
                s("blacklisted_subword"),
                s("blacklisted_subword"),
                None,
            ]
        );
    }

    #[test]
    fn url_words_are_python_split_runs() {
        assert_eq!(url_words("http://a.com/"), ["", "a", "com", "http"]);
        assert_eq!(url_words("a//b"), ["a", "b"]);
        assert_eq!(url_words("é"), [""]);
        assert_eq!(normalize("Bad-Word é 2"), "badword2");
    }

    #[test]
    fn missing_urls_fail_keep_or_drop() {
        let (_dir, mut cfg) = with_lists();
        cfg.missing_url = MissingUrl::Error;
        let b = records(&[Some("http://ok.com/"), None, Some("")]);
        let BuiltStage::Filter(f, _) =
            cfg.build(&crate::stage::test_util::build_cx(b.schema())).unwrap()
        else {
            panic!()
        };
        let err = f.evaluate(&b, &crate::stage::test_util::ctx()).err().unwrap().to_string();
        assert!(err.contains("document `d1`") && err.contains("meta.url"), "{err}");
        cfg.missing_url = MissingUrl::Drop;
        assert_eq!(test_data::rejected(&cfg, &b).into_keys().collect::<Vec<_>>(), ["d1", "d2"]);
        cfg.missing_url = MissingUrl::Keep;
        assert!(test_data::rejected(&cfg, &b).is_empty());
    }

    #[test]
    fn top_level_url_column_and_bad_columns() {
        let (_dir, cfg) = with_lists();
        let cfg = UrlFilterConfig { url_field: "text".into(), ..cfg };
        assert_eq!(
            crate::stage::test_util::filter_reasons(&cfg, &["http://bad.com/", "http://ok.com"]),
            vec![Some("domain"), None]
        );
        let b = crate::stage::test_util::batch(&["x"]);
        let bad = UrlFilterConfig { url_field: "url".into(), ..cfg };
        assert!(bad.build(&crate::stage::test_util::build_cx(b.schema())).is_err());
        assert_eq!(UrlFilterConfig { soft_word_threshold: 0, ..bad }.check().len(), 1);
    }

    /// tldextract 5.4 with the system Public Suffix List, on URLs built from its rules
    /// (wildcards, exceptions, IDN suffixes in Unicode and punycode) and on real URLs.
    #[test]
    fn registered_domains_agree_with_tldextract() {
        let psl =
            SuffixList::parse(&std::fs::read_to_string(default_public_suffix_list()).unwrap());
        let fixture = std::fs::read_to_string("tests/fixtures/tldextract_hosts.tsv").unwrap();
        let mut n = 0;
        for line in fixture.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            let p = psl.host_parts(lenient_host(f[0]));
            assert_eq!((p.registered_domain.as_str(), p.fqdn.as_str()), (f[1], f[2]), "{}", f[0]);
            n += 1;
        }
        assert!(n > 800, "{n}");
    }

    /// Every document of the web corpora that have URLs, compared with datatrove 0.10.1 on
    /// the same records: with the default word lists, and with the entries of datatrove's UT1
    /// domain list that match one of these hosts (the full list is 4.5 million lines).
    #[test]
    fn agrees_with_datatrove_on_real_corpora() {
        const UT1_HITS: &str = "fun.com\nluvcelebs.com\nlesbiansexnow.com\nsiyahistanbul.com\n";
        let dir = tempfile::tempdir().unwrap();
        let ut1 = dir.path().join("domains");
        std::fs::write(&ut1, UT1_HITS).unwrap();
        for corpus in ["web_dolma_ccmain2019_sample", "web_c4_en_sample", "web_dolma_ccnet_head"] {
            let b = test_data::batch(&test_data::corpus(corpus));
            let cfg = UrlFilterConfig::example();
            assert_eq!(
                test_data::rejected(&cfg, &b),
                test_data::reference("url_filter", corpus),
                "{corpus}"
            );
            let cfg = UrlFilterConfig {
                domain_lists: vec![ut1.to_string_lossy().into_owned()],
                ..UrlFilterConfig::example()
            };
            assert_eq!(
                test_data::rejected(&cfg, &b),
                test_data::reference("url_filter_ut1", corpus),
                "{corpus}"
            );
        }
    }

    /// A large comparison against datatrove with its complete integrated lists; needs
    /// files outside the repository: `SLUICE_UT1_DIR` (the extracted
    /// `url_filterblacklistsv0_3_0.tar.gz`, with `domains` and `urls`) and
    /// `SLUICE_URL_REFERENCE` (lines `url<TAB>reason`, reason empty when kept).
    #[test]
    #[ignore]
    fn agrees_with_datatrove_on_a_url_dump() {
        let (Ok(ut1), Ok(reference)) =
            (std::env::var("SLUICE_UT1_DIR"), std::env::var("SLUICE_URL_REFERENCE"))
        else {
            panic!("set SLUICE_UT1_DIR and SLUICE_URL_REFERENCE");
        };
        let text = std::fs::read_to_string(reference).unwrap();
        let rows: Vec<(&str, &str)> = text.lines().map(|l| l.split_once('\t').unwrap()).collect();
        let b = records(&rows.iter().map(|(u, _)| Some(*u)).collect::<Vec<_>>());
        let cfg = UrlFilterConfig {
            domain_lists: vec![format!("{ut1}/domains")],
            url_lists: vec![format!("{ut1}/urls")],
            ..UrlFilterConfig::example()
        };
        let got = test_data::rejected(&cfg, &b);
        let mut bad = 0;
        for (i, (url, want)) in rows.iter().enumerate() {
            let got = got.get(&format!("d{i}")).map_or("", String::as_str);
            if got != *want {
                bad += 1;
                eprintln!("{url}\tsluice={got}\tdatatrove={want}");
            }
        }
        eprintln!("{} urls, {bad} disagreements", rows.len());
        assert_eq!(bad, 0);
    }
}
