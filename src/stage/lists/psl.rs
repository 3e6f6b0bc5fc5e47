//! The host and Public Suffix List logic of `tldextract` 5.x as datatrove's `URLFilter` calls
//! it (`TLDExtract()`: ICANN section only, private domains excluded): the lenient host
//! extraction from a URL, the suffix trie with wildcard (`*.ck`) and exception (`!www.ck`)
//! rules, and punycode labels decoded before lookup. Only what `registered_domain` and `fqdn`
//! need is kept: IP addresses never have a public suffix, so they need no special case.

use std::collections::HashMap;

use crate::text::pystr::{is_py_alpha, is_py_space, py_strip};

/// Where the PSL's private section starts; tldextract ignores what follows by default.
const PRIVATE_SEPARATOR: &str = "// ===BEGIN PRIVATE DOMAINS===";

/// The ICANN rules of a Public Suffix List, as a trie of labels from the right.
#[derive(Debug)]
pub(crate) struct SuffixList {
    /// Node 0 is the root.
    nodes: Vec<Node>,
}

#[derive(Debug, Default)]
struct Node {
    children: HashMap<String, usize>,
    /// A rule ends here.
    end: bool,
}

/// The parts of a host name that `URLFilter` compares with its domain list.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HostParts {
    /// tldextract `registered_domain`: domain and public suffix (`bbc.co.uk`), or `""`.
    pub registered_domain: String,
    /// tldextract `fqdn`: subdomain, domain and suffix (`forums.bbc.co.uk`), or `""`.
    pub fqdn: String,
}

impl SuffixList {
    /// Parses the text of a `public_suffix_list.dat`, as tldextract does: in the part before
    /// the private section, every line that starts with `[.*!]*` and a word character gives
    /// the rule up to the first whitespace; everything else (comments, blank lines) is skipped.
    pub(crate) fn parse(text: &str) -> Self {
        let public = text.split(PRIVATE_SEPARATOR).next().unwrap_or_default();
        let mut list = SuffixList { nodes: vec![Node::default()] };
        for line in public.split('\n') {
            let rest = line.trim_start_matches(['.', '*', '!']);
            if !rest.starts_with(|c: char| is_py_alpha(c) || c.is_numeric() || c == '_') {
                continue;
            }
            let end = line.find(is_py_space).unwrap_or(line.len());
            list.add(&line[..end]);
        }
        list
    }

    /// Number of rules (for messages).
    pub(crate) fn len(&self) -> usize {
        self.nodes.iter().filter(|n| n.end).count()
    }

    fn add(&mut self, rule: &str) {
        let mut node = 0;
        for label in rule.rsplit('.') {
            node = match self.nodes[node].children.get(label) {
                Some(&child) => child,
                None => {
                    self.nodes.push(Node::default());
                    let child = self.nodes.len() - 1;
                    self.nodes[node].children.insert(label.to_string(), child);
                    child
                }
            };
        }
        self.nodes[node].end = true;
    }

    /// tldextract `suffix_index`: the index of the first label of the public suffix, or
    /// `None` when the host has none.
    fn suffix_index(&self, labels: &[&str]) -> Option<usize> {
        let n = labels.len();
        let (mut node, mut suffix_idx, mut label_idx) = (0, n, n);
        for label in labels.iter().rev() {
            let decoded = decode_label(label);
            if let Some(&child) = self.nodes[node].children.get(&decoded) {
                label_idx -= 1;
                node = child;
                if self.nodes[node].end {
                    suffix_idx = label_idx;
                }
                continue;
            }
            let children = &self.nodes[node].children;
            if children.contains_key("*") {
                let exception = children.contains_key(&format!("!{decoded}"));
                return Some(if exception { label_idx } else { label_idx - 1 });
            }
            break;
        }
        (suffix_idx < n).then_some(suffix_idx)
    }

    /// tldextract's `registered_domain` and `fqdn` of a host (from [`lenient_host`]). Both
    /// keep the host's case; both are `""` when there is no public suffix or no domain label.
    pub(crate) fn host_parts(&self, host: &str) -> HostParts {
        let host = host.replace(['\u{3002}', '\u{ff0e}', '\u{ff61}'], ".");
        let labels: Vec<&str> = host.split('.').collect();
        let empty = HostParts { registered_domain: String::new(), fqdn: String::new() };
        let Some(i) = self.suffix_index(&labels) else {
            return empty;
        };
        let suffix = labels[i..].join(".");
        let domain = if i > 0 { labels[i - 1] } else { "" };
        if suffix.is_empty() || domain.is_empty() {
            return empty;
        }
        let subdomain = if i >= 2 { labels[..i - 1].join(".") } else { String::new() };
        let registered_domain = format!("{domain}.{suffix}");
        let fqdn = if subdomain.is_empty() {
            registered_domain.clone()
        } else {
            format!("{subdomain}.{registered_domain}")
        };
        HostParts { registered_domain, fqdn }
    }
}

/// tldextract `lenient_netloc`: the host of a URL-like string, case preserved. Drops the
/// scheme (when the part before `//` is made of scheme characters and ends with `:`), the
/// path, query and fragment, the user info and the port; strips whitespace and trailing dots.
pub(crate) fn lenient_host(url: &str) -> &str {
    let schemeless = match url.find("//") {
        Some(0) => &url[2..],
        Some(i)
            if i >= 2
                && url.as_bytes()[i - 1] == b':'
                && url[..i - 1]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            &url[i + 2..]
        }
        _ => url,
    };
    let authority = &schemeless[..schemeless.find(['/', '?', '#']).unwrap_or(schemeless.len())];
    let after_userinfo = authority.rsplit('@').next().unwrap_or_default();
    if after_userinfo.starts_with('[')
        && let Some(close) = after_userinfo.find(']')
    {
        return &after_userinfo[..=close];
    }
    let host = after_userinfo.split(':').next().unwrap_or_default();
    py_strip(host).trim_end_matches(['.', '\u{3002}', '\u{ff0e}', '\u{ff61}'])
}

/// tldextract `_decode_punycode`: the label lowercased (Python `str.lower`) and, for an
/// `xn--` label that the `idna` package accepts, decoded.
fn decode_label(label: &str) -> String {
    let lowered = label.to_lowercase();
    if let Some(puny) = lowered.strip_prefix("xn--")
        // `idna.decode` rejects an empty A-label and one that ends with a hyphen.
        && !puny.is_empty()
        && !puny.ends_with('-')
        && let Some(decoded) = punycode_decode(puny)
    {
        return decoded;
    }
    lowered
}

/// RFC 3492 punycode decoding, as Python's `punycode` codec does it (the last `-` separates
/// the basic code points; digits are case-insensitive). `None` for invalid input.
fn punycode_decode(input: &str) -> Option<String> {
    const BASE: u64 = 36;
    if !input.is_ascii() {
        return None;
    }
    let (basic, extended) = match input.rfind('-') {
        Some(p) => (&input[..p], &input[p + 1..]),
        None => ("", input),
    };
    let mut out: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (0x80u64, 0u64, 72u64);
    let mut digits = extended.bytes().peekable();
    let mut first = true;
    while digits.peek().is_some() {
        let old_i = i;
        let mut w = 1u64;
        let mut k = BASE;
        loop {
            let d = match digits.next()? {
                c @ b'a'..=b'z' => u64::from(c - b'a'),
                c @ b'A'..=b'Z' => u64::from(c - b'A'),
                c @ b'0'..=b'9' => u64::from(c - b'0') + 26,
                _ => return None,
            };
            i = i.checked_add(d.checked_mul(w)?)?;
            let t = if k <= bias {
                1
            } else if k >= bias + 26 {
                26
            } else {
                k - bias
            };
            if d < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = out.len() as u64 + 1;
        // Python's `adapt` is given the new length; the RFC's `i - old_i` is the delta.
        bias = adapt(i - old_i, len, first);
        first = false;
        n = n.checked_add(i / len)?;
        i %= len;
        out.insert(usize::try_from(i).ok()?, char::from_u32(u32::try_from(n).ok()?)?);
        i += 1;
    }
    Some(out.into_iter().collect())
}

fn adapt(delta: u64, num_points: u64, first: bool) -> u64 {
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / num_points;
    let mut k = 0;
    while delta > 455 {
        delta /= 35;
        k += 36;
    }
    k + 36 * delta / (delta + 38)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PSL: &str = "// comment\ncom\nuk\nco.uk\n*.ck\n!www.ck\nрф\n\n\
        // ===BEGIN PRIVATE DOMAINS===\nblogspot.com\n";

    fn parts(list: &SuffixList, url: &str) -> (String, String) {
        let p = list.host_parts(lenient_host(url));
        (p.registered_domain, p.fqdn)
    }

    #[test]
    fn hosts_are_extracted_leniently() {
        for (url, host) in [
            ("http://user:pw@Www.Example.COM:8080/a/b?q#f", "Www.Example.COM"),
            ("//example.com/x", "example.com"),
            ("example.com/path", "example.com"),
            ("ftp+x://a.b.", "a.b"),
            ("we ird://a.b/", "we ird"),
            ("http://[::1]:80/", "[::1]"),
            ("http://a.com?x=//b.org", "a.com"),
            ("mailto:x@y.com", "y.com"),
            ("http:// a.com /x", "a.com"),
        ] {
            assert_eq!(lenient_host(url), host, "{url}");
        }
    }

    #[test]
    fn registered_domain_and_fqdn_follow_tldextract() {
        let list = SuffixList::parse(PSL);
        assert_eq!(list.len(), 6);
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(parts(&list, "http://forums.bbc.co.uk/x"), s("bbc.co.uk", "forums.bbc.co.uk"));
        assert_eq!(parts(&list, "http://WWW.Example.COM"), s("Example.COM", "WWW.Example.COM"));
        assert_eq!(parts(&list, "http://co.uk/"), s("", ""));
        assert_eq!(parts(&list, "http://localhost:8080/"), s("", ""));
        assert_eq!(parts(&list, "http://127.0.0.1/"), s("", ""));
        // Private rules are ignored: blogspot.com is not a suffix.
        assert_eq!(parts(&list, "a.b.blogspot.com"), s("blogspot.com", "a.b.blogspot.com"));
        // Wildcard and exception rules.
        assert_eq!(parts(&list, "a.b.c.ck"), s("b.c.ck", "a.b.c.ck"));
        assert_eq!(parts(&list, "a.www.ck"), s("www.ck", "a.www.ck"));
        assert_eq!(parts(&list, "www.ck"), s("www.ck", "www.ck"));
        assert_eq!(parts(&list, "c.ck"), s("", ""));
        // IDN suffixes match in Unicode and in punycode (case-insensitive); output keeps input.
        assert_eq!(parts(&list, "http://пример.рф"), s("пример.рф", "пример.рф"));
        assert_eq!(parts(&list, "http://x.XN--P1AI"), s("x.XN--P1AI", "x.XN--P1AI"));
        // Ideographic full stops separate labels.
        assert_eq!(parts(&list, "a\u{3002}example\u{ff0e}com"), s("example.com", "a.example.com"));
        // Empty labels are kept in the subdomain.
        assert_eq!(parts(&list, "a..b.example.com"), s("example.com", "a..b.example.com"));
        assert_eq!(parts(&list, "..com"), s("", ""));
    }

    #[test]
    fn punycode_decodes_like_python() {
        assert_eq!(punycode_decode("p1ai").as_deref(), Some("рф"));
        assert_eq!(punycode_decode("mnchen-3ya").as_deref(), Some("münchen"));
        assert_eq!(punycode_decode("fiqs8s").as_deref(), Some("中国"));
        assert_eq!(punycode_decode("abc-").as_deref(), Some("abc"));
        assert_eq!(punycode_decode("99999999999999999999"), None);
        assert_eq!(punycode_decode("a!"), None);
        // `idna` rejects A-labels ending with a hyphen, so they are looked up as written.
        assert_eq!(decode_label("XN--ABC-"), "xn--abc-");
        assert_eq!(decode_label("xn--"), "xn--");
    }
}
