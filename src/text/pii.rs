//! PII detectors for `pii_redact`: e-mail addresses, IPv4 and IPv6 addresses, phone numbers,
//! payment card numbers and IBANs. Pure functions over `&str`: [`Detector::find`] returns
//! non-overlapping matches `(kind, byte range)` in text order.
//!
//! Each type has a cheap candidate regex (the `regex` crate, which has no look-around) and a
//! validator written in code: word boundaries, IPv4 octet ranges, `std::net::Ipv6Addr`
//! parsing, the Luhn check and issuer prefixes for cards, the per-country length and mod-97
//! check for IBANs, and digit counts and separator shapes for phones. The detectors prefer
//! precision: a bare run of digits is never a phone number. `docs/pii.md` lists what they
//! catch, what they deliberately miss, and their precision and recall on a labelled set.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::ops::Range;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A type of personal data.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// E-mail address (`name@example.org`).
    Email,
    /// Dotted-quad IPv4 address (`192.168.0.1`).
    Ipv4,
    /// IPv6 address, full or `::`-compressed (`2001:db8::1`).
    Ipv6,
    /// Phone number: international `+CC ...` or a common national format.
    Phone,
    /// Payment card number (13–19 digits, Luhn-valid, known issuer prefix).
    CreditCard,
    /// International bank account number (country length and mod-97 checked).
    Iban,
}

impl PiiKind {
    /// Every type, in the order overlaps are resolved (earlier wins).
    pub const ALL: [PiiKind; 6] = [
        PiiKind::Email,
        PiiKind::Iban,
        PiiKind::CreditCard,
        PiiKind::Ipv6,
        PiiKind::Ipv4,
        PiiKind::Phone,
    ];

    /// The name used in configs and stats (`email`, `credit_card`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Ipv4 => "ipv4",
            PiiKind::Ipv6 => "ipv6",
            PiiKind::Phone => "phone",
            PiiKind::CreditCard => "credit_card",
            PiiKind::Iban => "iban",
        }
    }

    /// The typed placeholder (`<EMAIL>`, `<CREDIT_CARD>`, ...).
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "<EMAIL>",
            PiiKind::Ipv4 => "<IPV4>",
            PiiKind::Ipv6 => "<IPV6>",
            PiiKind::Phone => "<PHONE>",
            PiiKind::CreditCard => "<CREDIT_CARD>",
            PiiKind::Iban => "<IBAN>",
        }
    }

    /// Parses a config/stats name.
    pub fn from_name(s: &str) -> Option<PiiKind> {
        PiiKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// One detected span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiMatch {
    /// What was found.
    pub kind: PiiKind,
    /// Byte range in the text (always on character boundaries).
    pub range: Range<usize>,
}

/// The compiled detectors for a set of types.
#[derive(Debug, Clone)]
pub struct Detector {
    kinds: Vec<PiiKind>,
    email: Regex,
    ipv4: Regex,
    ipv6: Regex,
    card: Regex,
    iban: Regex,
    phones: Vec<(PhoneShape, Regex)>,
}

/// The phone formats, each with its own digit-count rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhoneShape {
    /// `+CC` and 6–14 more digits.
    International,
    /// US/Canada `(555) 123-4567`, `555-123-4567`, `555.123.4567`, optional `1-`/`+1 `.
    Nanp,
    /// National numbers with a trunk `0`: UK, German, French and similar grouped forms.
    Trunk,
}

fn re(p: &str) -> Regex {
    // The patterns are constants; a failure here is a bug caught by every test.
    Regex::new(p).expect("constant PII pattern compiles")
}

impl Detector {
    /// Detectors for `kinds` (duplicates are ignored).
    pub fn new(kinds: &[PiiKind]) -> Detector {
        let mut ks: Vec<PiiKind> = PiiKind::ALL.into_iter().filter(|k| kinds.contains(k)).collect();
        ks.dedup();
        Detector {
            kinds: ks,
            email: re(
                r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}",
            ),
            ipv4: re(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"),
            ipv6: re(
                r"[0-9A-Fa-f:]*:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9A-Fa-f:]*:[0-9A-Fa-f]*:[0-9A-Fa-f:]*",
            ),
            card: re(r"[0-9]+(?:[ \-][0-9]+)*"),
            iban: re(r"[A-Z]{2}[0-9]{2} ?[A-Z0-9]{1,4}(?: ?[A-Z0-9]{1,4}){2,8}"),
            phones: vec![
                (
                    PhoneShape::International,
                    re(r"(?:\+|00)[0-9]{1,3}(?:[ .\-]?\(0\))?(?:[ .\-]?\(?[0-9]{1,5}\)?){1,6}"),
                ),
                (
                    PhoneShape::Nanp,
                    re(
                        r"(?:\+?1[ .\-])?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[.\-]|[2-9][0-9]{2} )[0-9]{3}[.\-][0-9]{4}",
                    ),
                ),
                (
                    PhoneShape::Trunk,
                    re(
                        r"(?:\(0[0-9]{1,4}\) ?|0[0-9]{1,4}(?:[ ./\-]| [/\-] ))[0-9]{2,8}(?:[ .\-][0-9]{2,4}){0,3}",
                    ),
                ),
            ],
        }
    }

    /// The types this detector looks for.
    pub fn kinds(&self) -> &[PiiKind] {
        &self.kinds
    }

    /// Every match in `text`, non-overlapping, in text order. Where candidates of two types
    /// overlap, the earlier type of [`PiiKind::ALL`] wins (an e-mail over the phone-like digits
    /// inside it); within one type, the longer candidate.
    pub fn find(&self, text: &str) -> Vec<PiiMatch> {
        let b = text.as_bytes();
        let has_at = memchr::memchr(b'@', b).is_some();
        let has_colon = memchr::memchr(b':', b).is_some();
        let digits = b.iter().filter(|c| c.is_ascii_digit()).take(7).count();
        let mut found: Vec<PiiMatch> = Vec::new();
        let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
        for &kind in &self.kinds {
            let mut cands: Vec<Range<usize>> = Vec::new();
            match kind {
                PiiKind::Email if has_at => self.emails(text, &mut cands),
                PiiKind::Ipv4 if digits >= 4 => self.ipv4s(text, &mut cands),
                PiiKind::Ipv6 if has_colon => self.ipv6s(text, &mut cands),
                PiiKind::CreditCard if digits >= 7 => self.cards(text, &mut cands),
                PiiKind::Iban if digits >= 4 => self.ibans(text, &mut cands),
                PiiKind::Phone if digits >= 7 => self.phones(text, &mut cands),
                _ => {}
            }
            cands.sort_by_key(|r| (std::cmp::Reverse(r.len()), r.start));
            for r in cands {
                let before = taken.range(..r.end).next_back();
                if before.is_some_and(|(_, &e)| e > r.start) {
                    continue;
                }
                taken.insert(r.start, r.end);
                found.push(PiiMatch { kind, range: r });
            }
        }
        found.sort_by_key(|m| m.range.start);
        found
    }

    fn emails(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let b = text.as_bytes();
        for m in self.email.find_iter(text) {
            let (mut s, e) = (m.start(), m.end());
            // A local part does not start with a dot (`...name@x.org` keeps `name@x.org`).
            while s < e && b[s] == b'.' {
                s += 1;
            }
            let at = match text[s..e].find('@') {
                Some(i) => s + i,
                None => continue,
            };
            let local = &text[s..at];
            if local.is_empty() || local.ends_with('.') || local.contains("..") {
                continue;
            }
            if e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_' || b[e] == b'@') {
                continue;
            }
            if s > 0 && b[s - 1] == b'@' {
                continue;
            }
            // `kiosk.Valid`: a mixed-case "TLD" is a sentence run on after a full stop.
            let tld = text[s..e].rsplit('.').next().unwrap_or("");
            if tld.bytes().any(|c| c.is_ascii_lowercase())
                && tld.bytes().any(|c| c.is_ascii_uppercase())
            {
                continue;
            }
            out.push(s..e);
        }
    }

    fn ipv4s(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let b = text.as_bytes();
        for m in self.ipv4.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            // Not part of a longer dotted number or a word (`1.2.3.4.5`, `v1.2.3.4`, `x10.0.0.1`).
            if s > 0 && (word_before(text, s) || b[s - 1] == b'.' || b[s - 1] == b'-') {
                continue;
            }
            if e < b.len() && word_after(text, e) {
                continue;
            }
            if e + 1 < b.len() && matches!(b[e], b'.' | b'-' | b',') && b[e + 1].is_ascii_digit() {
                continue;
            }
            let ok = m.as_str().split('.').all(|o| {
                (o.len() == 1 || !o.starts_with('0')) && o.parse::<u16>().is_ok_and(|v| v <= 255)
            });
            if ok && !after_version_word(text, s) {
                out.push(s..e);
            }
        }
    }

    fn ipv6s(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let b = text.as_bytes();
        for m in self.ipv6.find_iter(text) {
            let (mut s, mut e) = (m.start(), m.end());
            // A sentence-final `:` is not part of the address (`::` is).
            if e - s > 2 && b[e - 1] == b':' && b[e - 2] != b':' {
                e -= 1;
            }
            let mut ok = valid_ipv6(text, s, e, true);
            if !ok && s > 0 && word_before(text, s) {
                // `IPv6:2001:db8::1`: the token glued to a label by its first colon.
                if let Some(i) = text[s..e].find(':')
                    && b.get(s + i + 1) != Some(&b':')
                {
                    s += i + 1;
                    ok = valid_ipv6(text, s, e, false);
                }
            }
            if ok {
                out.push(s..e);
            }
        }
    }

    fn cards(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let b = text.as_bytes();
        for m in self.card.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            if e - s < 13 {
                continue;
            }
            if s > 0
                && (word_before(text, s) || matches!(b[s - 1], b'.' | b'-' | b',' | b'/' | b'+'))
            {
                continue;
            }
            if e < b.len() && word_after(text, e) {
                continue;
            }
            if e + 1 < b.len() && matches!(b[e], b'.' | b',' | b'/') && b[e + 1].is_ascii_digit() {
                continue;
            }
            // Digit groups; a card is a run of at most five whole groups, one kind of
            // separator, in a grouping people write (a number next to it may share the run).
            let mut groups: Vec<(Range<usize>, u8)> = Vec::new();
            let mut gs = s;
            for (i, &c) in b.iter().enumerate().take(e).skip(s) {
                if !c.is_ascii_digit() {
                    groups.push((gs..i, c));
                    gs = i + 1;
                }
            }
            groups.push((gs..e, 0));
            let mut i = 0;
            'next: while i < groups.len() {
                for len in (1..=5.min(groups.len() - i)).rev() {
                    let g = &groups[i..i + len];
                    let one_sep = g[..len - 1].iter().all(|(_, c)| *c == g[0].1);
                    let sizes: Vec<usize> = g.iter().map(|(r, _)| r.len()).collect();
                    if len > 1 && !(one_sep && card_grouping(&sizes)) {
                        continue;
                    }
                    let r = g[0].0.start..g[len - 1].0.end;
                    let digits: Vec<u8> = b[r.clone()]
                        .iter()
                        .filter(|c| c.is_ascii_digit())
                        .map(|c| c - b'0')
                        .collect();
                    if valid_card(&digits) {
                        out.push(r);
                        i += len;
                        continue 'next;
                    }
                }
                i += 1;
            }
        }
    }

    fn ibans(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let b = text.as_bytes();
        for m in self.iban.find_iter(text) {
            let s = m.start();
            if s > 0 && word_before(text, s) {
                continue;
            }
            let Some(len) = iban_length(&b[s..s + 2]) else { continue };
            // Walk to the country's length; a space may only separate groups.
            let mut chars: Vec<u8> = Vec::with_capacity(34);
            let mut e = s;
            while e < m.end() && chars.len() < len {
                if b[e] != b' ' {
                    chars.push(b[e]);
                }
                e += 1;
            }
            if chars.len() != len || (e < b.len() && word_after(text, e)) {
                continue;
            }
            if iban_checksum(&chars) {
                out.push(s..e);
            }
        }
    }

    fn phones(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let b = text.as_bytes();
        for (shape, re) in &self.phones {
            for m in re.find_iter(text) {
                let (s, mut e) = (m.start(), m.end());
                // A closing parenthesis only belongs to the number when it closes a group.
                if b[e - 1] == b')' && !text[s..e - 1].contains('(') {
                    e -= 1;
                }
                if s > 0
                    && (word_before(text, s)
                        || matches!(b[s - 1], b'.' | b'-' | b'/' | b'+' | b','))
                {
                    continue;
                }
                if e < b.len() && word_after(text, e) {
                    continue;
                }
                if e + 1 < b.len()
                    && matches!(b[e], b'.' | b'-' | b'/' | b',' | b':')
                    && b[e + 1].is_ascii_digit()
                {
                    continue;
                }
                let cand = &text[s..e];
                if valid_phone(*shape, cand) {
                    out.push(s..e);
                }
            }
        }
    }
}

/// Whether the character ending at byte `i` is a letter, digit or `_` (any script).
fn word_before(text: &str, i: usize) -> bool {
    text.get(..i)
        .and_then(|t| t.chars().next_back())
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Whether the character starting at byte `i` is a letter, digit or `_` (any script).
fn word_after(text: &str, i: usize) -> bool {
    text.get(i..).and_then(|t| t.chars().next()).is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// `version 1.2.3.4`, `v. 10.0.0.1`, `ver 1.0.0.0`: a dotted quad named as a version.
fn after_version_word(text: &str, s: usize) -> bool {
    let mut from = s.saturating_sub(16);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let before = text[from..s].to_ascii_lowercase();
    let before = before.trim_end();
    ["version", "ver", "v.", "build", "release", "firmware", "update"]
        .iter()
        .any(|w| before.ends_with(w))
}

/// `check_before: false` for a candidate cut after a `label:`.
fn valid_ipv6(text: &str, s: usize, e: usize, check_before: bool) -> bool {
    let b = text.as_bytes();
    if s >= e {
        return false;
    }
    if check_before && s > 0 && (word_before(text, s) || b[s - 1] == b'.' || b[s - 1] == b':') {
        return false;
    }
    if e < b.len() && (word_after(text, e) || b[e] == b':') {
        return false;
    }
    if e + 1 < b.len() && b[e] == b'.' && b[e + 1].is_ascii_digit() {
        return false;
    }
    let cand = &text[s..e];
    if cand.parse::<Ipv6Addr>().is_err() {
        return false;
    }
    // At least two hex groups, or the loopback `::1`; a bare `::` is C++ scope, not an address.
    let groups = cand.split(':').filter(|g| !g.is_empty()).count();
    let hex = cand.bytes().filter(u8::is_ascii_hexdigit).count();
    (groups >= 2 && hex >= 4) || cand == "::1"
}

/// Card groupings people write: 4-4-4-4(-3), 4-4-4-1..4 (13–15 digits), Amex 4-6-5, Diners 4-6-4.
fn card_grouping(sizes: &[usize]) -> bool {
    match sizes {
        [4, 6, 5] | [4, 6, 4] => true,
        [4, 4, 4, last] => (1..=4).contains(last),
        [4, 4, 4, 4, last] => (1..=3).contains(last),
        _ => false,
    }
}

/// 13–19 digits, a known issuer prefix for the length, and the Luhn check.
pub fn valid_card(d: &[u8]) -> bool {
    let n = d.len();
    if !(13..=19).contains(&n) {
        return false;
    }
    let p = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + x as u32);
    let issuer = match d[0] {
        4 => matches!(n, 13 | 16 | 19), // Visa
        5 => (51..=55).contains(&p(2)) && n == 16 || p(2) == 50 || (56..=59).contains(&p(2)), // Mastercard, Maestro
        2 => (2221..=2720).contains(&p(4)) && n == 16, // Mastercard 2-series
        3 => {
            (matches!(p(2), 34 | 37) && n == 15) // Amex
                || ((300..=305).contains(&p(3)) || matches!(p(2), 36 | 38 | 39)) && (14..=19).contains(&n) // Diners
                || (3528..=3589).contains(&p(4)) && (16..=19).contains(&n) // JCB
        }
        6 => {
            (p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3))) && (16..=19).contains(&n) // Discover
                || p(2) == 62 && (16..=19).contains(&n) // UnionPay
                || matches!(p(2), 63 | 67) && (12..=19).contains(&n) // Maestro
        }
        _ => false,
    };
    issuer && luhn(d)
}

/// The Luhn mod-10 check over decimal digits.
pub fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = x as u32;
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// IBAN length per country (SWIFT IBAN registry).
fn iban_length(cc: &[u8]) -> Option<usize> {
    const TABLE: &[(&[u8; 2], usize)] = &[
        (b"AD", 24),
        (b"AE", 23),
        (b"AL", 28),
        (b"AT", 20),
        (b"AZ", 28),
        (b"BA", 20),
        (b"BE", 16),
        (b"BG", 22),
        (b"BH", 22),
        (b"BR", 29),
        (b"BY", 28),
        (b"CH", 21),
        (b"CR", 22),
        (b"CY", 28),
        (b"CZ", 24),
        (b"DE", 22),
        (b"DK", 18),
        (b"DO", 28),
        (b"EE", 20),
        (b"EG", 29),
        (b"ES", 24),
        (b"FI", 18),
        (b"FO", 18),
        (b"FR", 27),
        (b"GB", 22),
        (b"GE", 22),
        (b"GI", 23),
        (b"GL", 18),
        (b"GR", 27),
        (b"GT", 28),
        (b"HR", 21),
        (b"HU", 28),
        (b"IE", 22),
        (b"IL", 23),
        (b"IQ", 23),
        (b"IS", 26),
        (b"IT", 27),
        (b"JO", 30),
        (b"KW", 30),
        (b"KZ", 20),
        (b"LB", 28),
        (b"LC", 32),
        (b"LI", 21),
        (b"LT", 20),
        (b"LU", 20),
        (b"LV", 21),
        (b"MC", 27),
        (b"MD", 24),
        (b"ME", 22),
        (b"MK", 19),
        (b"MR", 27),
        (b"MT", 31),
        (b"MU", 30),
        (b"NL", 18),
        (b"NO", 15),
        (b"PK", 24),
        (b"PL", 28),
        (b"PS", 29),
        (b"PT", 25),
        (b"QA", 29),
        (b"RO", 24),
        (b"RS", 22),
        (b"SA", 24),
        (b"SC", 31),
        (b"SE", 24),
        (b"SI", 19),
        (b"SK", 24),
        (b"SM", 27),
        (b"ST", 25),
        (b"SV", 28),
        (b"TL", 23),
        (b"TN", 24),
        (b"TR", 26),
        (b"UA", 29),
        (b"VA", 22),
        (b"VG", 24),
        (b"XK", 20),
    ];
    TABLE.iter().find(|(c, _)| c.as_slice() == cc).map(|&(_, n)| n)
}

/// ISO 13616 check: move the first four characters to the end, letters to 10..35, mod 97 == 1.
pub fn iban_checksum(chars: &[u8]) -> bool {
    if chars.len() < 5 || !chars.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return false;
    }
    let mut r: u32 = 0;
    for &c in chars[4..].iter().chain(&chars[..4]) {
        r = if c.is_ascii_digit() {
            (r * 10 + (c - b'0') as u32) % 97
        } else {
            (r * 100 + (c - b'A' + 10) as u32) % 97
        };
    }
    r == 1
}

fn valid_phone(shape: PhoneShape, cand: &str) -> bool {
    let digits = cand.bytes().filter(u8::is_ascii_digit).count();
    let seps =
        cand.bytes().filter(|c| matches!(c, b' ' | b'.' | b'-' | b'/' | b'(' | b')')).count();
    // Dotted and dashed groups must not mix within the number (`12.34-56` is not a phone).
    let has = |c: u8| cand.as_bytes().contains(&c);
    if has(b'.') && (has(b'-') || has(b'/')) {
        return false;
    }
    match shape {
        PhoneShape::International => {
            // `(0)` is the trunk prefix written inside an international number, `00` the
            // international prefix written instead of `+`; neither is counted.
            let trunk = usize::from(cand.contains("(0)"));
            let plus = cand.starts_with('+');
            let (prefix, zeros) = if plus { (1, 0) } else { (2, 2) };
            let n = digits.saturating_sub(trunk + zeros);
            let cc_first = cand.as_bytes().get(prefix).copied();
            cc_first != Some(b'0') && (8..=15).contains(&n) && (seps > 0 || (plus && n >= 10))
        }
        // `555 234-5678` (a space after the area code) only with a dash after the exchange.
        PhoneShape::Nanp => (10..=11).contains(&digits) && !(has(b'.') && has(b' ') && !has(b'(')),
        PhoneShape::Trunk => {
            // Dots only for the French `01.23.45.67.89` and the Italian `02.45486217`.
            if has(b'.') {
                let groups: Vec<&str> = cand.split('.').collect();
                return (groups.len() == 5 && groups.iter().all(|g| g.len() == 2))
                    || (groups.len() == 2 && (6..=8).contains(&groups[1].len()));
            }
            // A digit after the trunk 0 (not `00`, the international prefix).
            let b = cand.as_bytes();
            let first = if b[0] == b'(' { 1 } else { 0 };
            b.get(first + 1).is_some_and(|&c| c != b'0') && (9..=12).contains(&digits)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(kind: PiiKind, text: &str) -> Vec<&str> {
        Detector::new(&[kind]).find(text).iter().map(|m| &text[m.range.clone()]).collect()
    }

    fn all(text: &str) -> Vec<(PiiKind, &str)> {
        Detector::new(&PiiKind::ALL)
            .find(text)
            .iter()
            .map(|m| (m.kind, &text[m.range.clone()]))
            .collect()
    }

    #[test]
    fn emails() {
        let k = PiiKind::Email;
        assert_eq!(
            find(k, "mail john.doe+x@mail.example.co.uk."),
            vec!["john.doe+x@mail.example.co.uk"]
        );
        assert_eq!(find(k, "<a@b.org>, c_d@e-f.net"), vec!["a@b.org", "c_d@e-f.net"]);
        assert!(find(k, "@handle and a@b and x@y.z and foo@@bar.com").is_empty());
        assert!(find(k, "a..b@example.com").is_empty());
    }

    #[test]
    fn ipv4() {
        let k = PiiKind::Ipv4;
        assert_eq!(find(k, "from 192.168.0.1, to 10.0.0.255."), vec!["192.168.0.1", "10.0.0.255"]);
        assert!(find(k, "1.2.3.4.5 and 256.1.1.1 and 01.2.3.4 and v1.2.3.4").is_empty());
        assert!(find(k, "version 2.0.0.1 and 3.14.15.92.6").is_empty());
    }

    #[test]
    fn ipv6() {
        let k = PiiKind::Ipv6;
        assert_eq!(
            find(k, "hosts 2001:0db8:85a3:0000:0000:8a2e:0370:7334 and fe80::1 and ::1."),
            vec!["2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::1", "::1"]
        );
        assert_eq!(find(k, "IPv6:2001:db8::ff00:42:8329"), vec!["2001:db8::ff00:42:8329"]);
        assert_eq!(find(k, "[::ffff:192.0.2.128]:80"), vec!["::ffff:192.0.2.128"]);
        assert!(find(k, "at 12:30:45, std::vector, a::b, 00:1A:2B:3C:4D:5E, ::").is_empty());
    }

    #[test]
    fn cards() {
        let k = PiiKind::CreditCard;
        assert_eq!(
            find(k, "card 4111 1111 1111 1111, amex 3782-822463-10005, 5555555555554444."),
            vec!["4111 1111 1111 1111", "3782-822463-10005", "5555555555554444"]
        );
        assert!(
            find(k, "4111 1111 1111 1112 and 1234567890123456 and 4111-1111 1111-1111").is_empty()
        );
        assert_eq!(find(k, "no. 2020 4111 1111 1111 1111"), vec!["4111 1111 1111 1111"]);
    }

    #[test]
    fn ibans() {
        let k = PiiKind::Iban;
        assert_eq!(
            find(k, "pay GB82 WEST 1234 5698 7654 32 or DE89370400440532013000."),
            vec!["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"]
        );
        assert!(find(k, "GB82 WEST 1234 5698 7654 33 and XX12 3456 7890 1234").is_empty());
    }

    #[test]
    fn phones() {
        let k = PiiKind::Phone;
        for p in [
            "+1 415 555 2671",
            "+44 (0)20 7946 0958",
            "+49 30 1234567",
            "+33 1 23 45 67 89",
            "+14155552671",
            "(555) 234-5678",
            "555-234-5678",
            "555.234.5678",
            "555 234-5678",
            "1-800-555-0199",
            "020 7946 0958",
            "01632 960123",
            "030 12345678",
            "089/1234567",
            "(030) 1234567",
            "06 12 34 56 78",
            "06.12.34.56.78",
        ] {
            assert_eq!(find(k, &format!("call {p} now")), vec![p], "{p}");
        }
        for n in [
            "in 2019 and 1999-2005",
            "12:30:45",
            "on 12.10.2019 or 05/12/2020",
            "$1,234,567.89",
            "ISBN 978-3-16-148410-0",
            "id 1234567890",
            "+5 points",
            "1.2.3.4",
            "3.14159265",
            "pages 100-200",
            "555 234.5678",
            "555 234 5678",
        ] {
            assert!(find(k, n).is_empty(), "{n}: {:?}", find(k, n));
        }
    }

    #[test]
    fn overlaps_resolve_by_type_order() {
        assert_eq!(
            all("x 4111111111111111@mail.com"),
            vec![(PiiKind::Email, "4111111111111111@mail.com")]
        );
        assert_eq!(
            all("a@b.com 10.0.0.1 +1 415 555 2671"),
            vec![
                (PiiKind::Email, "a@b.com"),
                (PiiKind::Ipv4, "10.0.0.1"),
                (PiiKind::Phone, "+1 415 555 2671")
            ]
        );
    }

    #[test]
    fn no_panics_on_odd_input() {
        let d = Detector::new(&PiiKind::ALL);
        for t in [
            "",
            "@",
            ":",
            "::::",
            "+",
            "+(",
            "(0",
            "é@é.é",
            "1-",
            "GB82",
            "0 ",
            "é1.2.3.4é",
            "::ffff:1.2.3.4",
        ] {
            for m in d.find(t) {
                assert!(t.is_char_boundary(m.range.start) && t.is_char_boundary(m.range.end));
            }
        }
    }
}
