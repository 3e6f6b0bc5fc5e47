//! The synonym file of `augment`: a TSV with one headword per line followed by its synonyms
//! (`word<TAB>syn1<TAB>syn2...`). Headwords match case-insensitively; synonyms are used as
//! written and take the case pattern of the word they replace. Errors name the file and line.

use std::borrow::Cow;

use ahash::AHashMap;

use crate::error::{Error, Result};

/// Headword (lowercased) → its synonyms, in file order, without duplicates. (A lookup per
/// word: aHash, not SipHash; the map is only read, so its random hash seed changes nothing.)
#[derive(Debug, Default)]
pub struct Synonyms {
    map: AHashMap<String, Vec<String>>,
}

impl Synonyms {
    /// Reads and parses the file at `path` (relative to the directory sluice runs in).
    pub fn load(path: &str) -> Result<Synonyms> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Invalid(format!(
                "synonyms: cannot read {path}: {e} (relative paths start from the directory \
                 sluice runs in)"
            ))
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
            Error::Invalid(format!("synonyms {path}:{line}: not valid UTF-8"))
        })?;
        Self::parse(text, path)
    }

    /// Parses TSV text; `path` names the file in errors. Blank lines and lines starting with
    /// `#` are skipped; a `\r` before the line end is ignored.
    pub fn parse(text: &str, path: &str) -> Result<Synonyms> {
        let mut map: AHashMap<String, Vec<String>> = AHashMap::new();
        for (n, line) in text.lines().enumerate() {
            let bad = |msg: String| Error::Invalid(format!("synonyms {path}:{}: {msg}", n + 1));
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            let key = fields.next().unwrap_or_default().trim();
            if key.is_empty() {
                return Err(bad("the headword (first field) is empty".into()));
            }
            if key.chars().any(char::is_whitespace) {
                return Err(bad(format!(
                    "the headword `{key}` contains whitespace; headwords are single words \
                     (synonyms may be phrases)"
                )));
            }
            let syns: Vec<&str> = fields.map(str::trim).collect();
            if syns.is_empty() {
                return Err(bad(format!(
                    "`{key}` has no synonyms; expected `word<TAB>synonym[<TAB>synonym...]`"
                )));
            }
            if let Some(i) = syns.iter().position(|s| s.is_empty()) {
                return Err(bad(format!("field {} is empty", i + 2)));
            }
            let key = key.to_lowercase();
            let entry = map.entry(key.clone()).or_default();
            for s in syns {
                if s.to_lowercase() != key && !entry.iter().any(|e| e == s) {
                    entry.push(s.to_string());
                }
            }
        }
        map.retain(|_, v| !v.is_empty());
        if map.is_empty() {
            return Err(Error::Invalid(format!("synonyms {path}: the file has no entries")));
        }
        Ok(Synonyms { map })
    }

    /// The synonyms of `word` (matched case-insensitively), if it has any.
    pub fn get(&self, word: &str) -> Option<&[String]> {
        let key: Cow<str> = if word.chars().any(char::is_uppercase) {
            Cow::Owned(word.to_lowercase())
        } else {
            Cow::Borrowed(word)
        };
        self.map.get(key.as_ref()).map(Vec::as_slice)
    }

    /// Number of headwords.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no headwords (never true for a loaded file).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// `syn` in the case pattern of `word`: all capitals when `word` has two or more letters and
/// all are capitals (`NASA`), a capital first letter when `word` starts with one (`Happy`),
/// else `syn` as written in the file.
pub fn match_case<'s>(word: &str, syn: &'s str) -> Cow<'s, str> {
    let mut letters = word.chars().filter(|c| c.is_alphabetic());
    let first = letters.next();
    let all_upper = first.is_some_and(char::is_uppercase)
        && letters.clone().next().is_some()
        && letters.all(|c| !c.is_lowercase());
    if all_upper {
        return Cow::Owned(syn.to_uppercase());
    }
    match (word.chars().next(), syn.chars().next()) {
        (Some(w), Some(s)) if w.is_uppercase() && !s.is_uppercase() => {
            let mut out: String = s.to_uppercase().collect();
            out.push_str(&syn[s.len_utf8()..]);
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(syn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_merges_and_matches_case_insensitively() {
        let s = Synonyms::parse(
            "# comment\n\nHappy\tglad\tjoyful\r\nhappy\tglad\tcheerful\nbig\tlarge\tBIG\n",
            "s.tsv",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get("HAPPY").unwrap(), ["glad", "joyful", "cheerful"]);
        // the headword itself is not its own synonym
        assert_eq!(s.get("big").unwrap(), ["large"]);
        assert!(s.get("small").is_none());
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let cases = [
            ("ok\tfine\nlonely\n", "s.tsv:2:", "has no synonyms"),
            ("ok\tfine\n\nx\t\ty\n", "s.tsv:3:", "field 2 is empty"),
            ("\tfine\n", "s.tsv:1:", "headword (first field) is empty"),
            ("two words\tpair\n", "s.tsv:1:", "contains whitespace"),
            ("# only a comment\n", "s.tsv:", "no entries"),
        ];
        for (text, at, what) in cases {
            let e = Synonyms::parse(text, "s.tsv").unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn load_reports_missing_files_and_bad_utf8_with_the_line() {
        let e = Synonyms::load("/nonexistent/syn.tsv").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/syn.tsv") && e.contains("cannot read"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.tsv");
        std::fs::write(&p, b"a\tb\nc\td\xff\n").unwrap();
        let e = Synonyms::load(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("bad.tsv:2: not valid UTF-8"), "{e}");
    }

    #[test]
    fn case_pattern_follows_the_replaced_word() {
        assert_eq!(match_case("happy", "glad"), "glad");
        assert_eq!(match_case("Happy", "glad"), "Glad");
        assert_eq!(match_case("HAPPY", "glad"), "GLAD");
        assert_eq!(match_case("I", "me"), "Me");
        assert_eq!(match_case("Éclair", "éclat"), "Éclat");
        assert_eq!(match_case("happy", "New York"), "New York");
    }
}
