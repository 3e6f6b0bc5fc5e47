#!/usr/bin/env python3
"""Generate the Rust tables of `src/text/` from Python itself.

Writes two files next to this script:

* `unicode_tables.rs`: Python `str` predicates as sorted code-point ranges (`str.isspace`,
  `str.isalpha` = general category L*, general category P* = spaCy's `is_punct`).
* `spacy_en_data.rs`: spaCy's English tokenizer rules (datatrove 0.10.1 = spaCy 3.8.18,
  `spacy.blank("en")`), translated from `spacy_en_tokenizer_rules.json`:
  - the prefix / suffix / infix regexes as ordered lists of alternatives (`Alt`), each a
    literal, a character class or the run `\\.\\.+`, with the fixed-width look-behind and the
    one-character look-ahead that Python's `re` evaluates around it (Rust's `regex` crate has no
    look-around, so `spacy_en_alt.rs` and `spacy_en_affix.rs` interpret these lists with
    Python's `re` semantics);
  - `url_match` as Rust-regex sources: the host-name branch as one regex, the IP branch split
    around its three negative look-aheads;
  - the 1,347 special cases and the sentencizer's `punct_chars`.

Every character class (including `\\w`, `\\d` and `\\S`) is expanded here into explicit ranges by
asking Python's own `re` / `unicodedata`, so the Rust side does not depend on the Unicode
version of the `regex` crate or of `char` methods. Python 3.11 ships Unicode 14.0.0; the
version used is written into both files, and the generator refuses to run on another major
Python version unless `--any-python` is given (tables would silently change).

Usage (from the repository root):

    python3 src/text/gen_tables.py [--rules ../shared/data/reference/spacy_en_tokenizer_rules.json]

The rules file is written by `shared/tools/datatrove-ref/dump_tokenization.py --rules`. The
generator checks the structure of every regex it translates and stops on anything it does
not understand, so a changed rule set cannot be translated half right.
"""

import argparse
import json
import os
import re
import sys
import unicodedata

import re._constants as C
import re._parser as P

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RULES = os.path.join(HERE, "..", "..", "..", "shared", "data", "reference",
                             "spacy_en_tokenizer_rules.json")
MAXCP = 0x10FFFF


# ----------------------------------------------------------------------------------------------
# code-point sets
# ----------------------------------------------------------------------------------------------

def ranges_of(pred):
    """Sorted inclusive ranges of the scalar values (no surrogates) where pred(chr) holds."""
    out = []
    lo = None
    for cp in range(MAXCP + 2):
        ok = cp <= MAXCP and not (0xD800 <= cp <= 0xDFFF) and pred(chr(cp))
        if ok and lo is None:
            lo = cp
        elif not ok and lo is not None:
            out.append((lo, cp - 1))
            lo = None
    # merge across the surrogate gap is not allowed (not chars), keep as is
    return out


def norm_ranges(rs):
    """Sort, drop surrogates, merge overlapping/adjacent ranges."""
    pieces = []
    for lo, hi in rs:
        if lo > hi:
            continue
        if hi < 0xD800 or lo > 0xDFFF:
            pieces.append((lo, hi))
        else:
            if lo < 0xD800:
                pieces.append((lo, 0xD7FF))
            if hi > 0xDFFF:
                pieces.append((0xE000, hi))
    pieces.sort()
    out = []
    for lo, hi in pieces:
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def complement(rs):
    out = []
    prev = 0
    for lo, hi in rs:
        if lo > prev:
            out.append((prev, lo - 1))
        prev = hi + 1
    if prev <= MAXCP:
        out.append((prev, MAXCP))
    return norm_ranges(out)


_CATEGORY_CACHE = {}


def category_ranges(cat):
    """Python `re` category (\\w, \\d, \\s, ...) for str patterns, asked of `re` itself."""
    if cat not in _CATEGORY_CACHE:
        src = {
            C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W",
            C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D",
            C.CATEGORY_SPACE: r"\s", C.CATEGORY_NOT_SPACE: r"\S",
        }[cat]
        rx = re.compile(src)
        _CATEGORY_CACHE[cat] = ranges_of(lambda ch: rx.match(ch) is not None)
    return _CATEGORY_CACHE[cat]


def class_ranges(items):
    """Ranges of an sre `IN` item list."""
    negate = False
    rs = []
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            rs.append((av, av))
        elif op is C.RANGE:
            rs.append(av)
        elif op is C.CATEGORY:
            rs.extend(category_ranges(av))
        else:
            raise SystemExit(f"unsupported class item {op} {av}")
    rs = norm_ranges(rs)
    return complement(rs) if negate else rs


def single_char_ranges(item):
    """Ranges of one sre item that matches exactly one character, else None."""
    op, av = item
    if op is C.LITERAL:
        return [(av, av)]
    if op is C.IN:
        return class_ranges(av)
    return None


# ----------------------------------------------------------------------------------------------
# Rust emission helpers
# ----------------------------------------------------------------------------------------------

def rs_str(s):
    """Rust string literal; non-printable and non-ASCII characters escaped as \\u{..}."""
    out = ['"']
    for ch in s:
        cp = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= cp < 0x7F:
            out.append(ch)
        else:
            out.append("\\u{%x}" % cp)
    out.append('"')
    return "".join(out)


class SetPool:
    """Deduplicated `CharSet` statics."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.sets = {}
        self.order = []

    def name(self, ranges, hint=None):
        key = tuple(ranges)
        if key not in self.sets:
            nm = f"{self.prefix}{len(self.order)}"
            self.sets[key] = nm
            self.order.append((nm, key, hint))
        return self.sets[key]

    def emit(self, out):
        for nm, rs, hint in self.order:
            if hint:
                out.append(f"/// {hint}")
            out.append(charset_static(nm, rs))


def charset_static(name, rs, vis="pub(super)"):
    ascii_bits = [0, 0]
    non_ascii = []
    for lo, hi in rs:
        for cp in range(lo, min(hi, 127) + 1):
            ascii_bits[cp >> 6] |= 1 << (cp & 63)
        if hi >= 128:
            non_ascii.append((max(lo, 128), hi))
    body = ", ".join(f"(0x{lo:x}, 0x{hi:x})" for lo, hi in non_ascii)
    return (f"{vis} static {name}: CharSet = CharSet {{\n"
            f"    ascii: [0x{ascii_bits[0]:016x}, 0x{ascii_bits[1]:016x}],\n"
            f"    ranges: &[{body}],\n}};\n")


def rx_char(cp):
    ch = chr(cp)
    if ch.isascii() and ch.isalnum():
        return ch
    return "\\x{%x}" % cp


def rx_class(rs):
    parts = []
    for lo, hi in rs:
        parts.append(rx_char(lo) if lo == hi else f"{rx_char(lo)}-{rx_char(hi)}")
    return "[" + "".join(parts) + "]"


def to_rust_regex(items):
    """Rust `regex` source of an sre item list without look-around (raises otherwise)."""
    out = []
    for op, av in items:
        if op is C.LITERAL:
            out.append(rx_char(av))
        elif op is C.IN:
            out.append(rx_class(class_ranges(av)))
        elif op is C.BRANCH:
            out.append("(?:" + "|".join(to_rust_regex(b) for b in av[1]) + ")")
        elif op is C.SUBPATTERN:
            out.append("(?:" + to_rust_regex(av[3]) + ")")
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            rep = "{%d,}" % lo if hi is C.MAXREPEAT else "{%d,%d}" % (lo, hi)
            if op is C.MIN_REPEAT:
                rep += "?"
            out.append("(?:" + to_rust_regex(sub) + ")" + rep)
        elif op is C.AT and av is C.AT_BEGINNING:
            out.append("^")
        elif op is C.AT and av is C.AT_END:
            # Python `$` also matches before a final "\n"; the tokenizer never passes a string
            # containing "\n" to these regexes (chunks are split on str.isspace).
            out.append("$")
        else:
            raise SystemExit(f"cannot translate {op} {av} to Rust regex")
    return "".join(out)


# ----------------------------------------------------------------------------------------------
# affix regexes -> ordered alternatives
# ----------------------------------------------------------------------------------------------

def top_alternatives(pattern, anchor):
    """Top-level alternatives of a parsed regex, each with its anchor (AT_BEGINNING for the
    prefix regex, AT_END for the suffix regex, None for infixes) checked and removed."""
    items = list(pattern)
    lead = []
    if anchor is C.AT_BEGINNING and items and items[0] == (C.AT, C.AT_BEGINNING):
        # sre_parse factors the common "^" out of "^a|^b|..."
        lead = [items.pop(0)]
    if len(items) == 1 and items[0][0] is C.BRANCH:
        alts = [lead + list(b) for b in items[0][1][1]]
    else:
        alts = [lead + items]
    out = []
    for a in alts:
        if anchor is C.AT_BEGINNING:
            assert a[0] == (C.AT, C.AT_BEGINNING), a
            a = a[1:]
        elif anchor is C.AT_END:
            assert a[-1] == (C.AT, C.AT_END), a
            a = a[:-1]
        out.append(a)
    for a in out:
        for op, av in a:
            assert op is not C.AT, ("unexpected anchor inside alternative", a)
    return out


def literal_seqs(items):
    """If `items` matches a finite ordered list of literal strings, return it (in the order
    Python's backtracking tries them), else None."""
    seqs = [""]
    for op, av in items:
        if op is C.LITERAL:
            seqs = [s + chr(av) for s in seqs]
        elif op is C.BRANCH:
            subs = []
            for b in av[1]:
                ls = literal_seqs(b)
                if ls is None:
                    return None
                subs.extend(ls)
            seqs = [s + t for s in seqs for t in subs]
        elif op is C.SUBPATTERN and av[1] == 0 and av[2] == 0:
            ls = literal_seqs(av[3])
            if ls is None:
                return None
            seqs = [s + t for s in seqs for t in ls]
        else:
            return None
    return seqs


def convert_alt(items, pool, where):
    """One alternative -> list of Rust `Alt` initialisers (a literal branch expands into
    several alternatives that share the look-around; backtracking order is kept)."""
    items = list(items)
    behind = []
    ahead = None
    if items and items[0][0] is C.ASSERT and items[0][1][0] < 0:
        lb = items.pop(0)[1][1]
        for it in lb:
            rs = single_char_ranges(it)
            assert rs is not None, ("look-behind must be a fixed sequence of classes", lb)
            behind.append(pool.name(rs))
    if items and items[-1][0] in (C.ASSERT, C.ASSERT_NOT) and items[-1][1][0] > 0:
        op, (_, la) = items.pop()
        assert len(la) == 1, ("look-ahead must be one character", la)
        rs = single_char_ranges(la[0])
        assert rs is not None, la
        ahead = (pool.name(rs), op is C.ASSERT_NOT)
    for op, av in items:
        assert op not in (C.ASSERT, C.ASSERT_NOT), ("look-around in the middle", where, items)
    bodies = []
    # the run \.\.+  (LITERAL '.', MAX_REPEAT(1, MAXREPEAT, [LITERAL '.']))
    if (len(items) == 2 and items[0] == (C.LITERAL, ord("."))
            and items[1][0] is C.MAX_REPEAT and items[1][1][0] == 1
            and items[1][1][1] is C.MAXREPEAT and list(items[1][1][2]) == [(C.LITERAL, ord("."))]):
        bodies.append("Body::DotRun")
    elif len(items) == 1 and items[0][0] is C.IN:
        bodies.append(f"Body::Class(&{pool.name(class_ranges(items[0][1]))})")
    else:
        seqs = literal_seqs(items)
        assert seqs is not None and all(seqs), ("unsupported alternative", where, items)
        bodies.extend(f"Body::Lit({rs_str(s)})" for s in seqs)
    la = "None" if ahead is None else f"Some((&{ahead[0]}, {'true' if ahead[1] else 'false'}))"
    bh = "&[" + ", ".join(f"&{b}" for b in behind) + "]"
    return [f"Alt {{ behind: {bh}, body: {b}, ahead: {la} }}" for b in bodies]


def emit_alts(name, alts, pool, doc):
    lines = [f"/// {doc}", f"pub(super) static {name}: &[Alt] = &["]
    for i, a in enumerate(alts):
        for init in convert_alt(a, pool, f"{name}[{i}]"):
            lines.append(f"    {init},")
    lines.append("];\n")
    return lines


# ----------------------------------------------------------------------------------------------
# url_match
# ----------------------------------------------------------------------------------------------

def convert_url(src):
    pat = list(P.parse(src))
    assert pat[0] == (C.AT, C.AT_BEGINNING) and pat[-1] == (C.AT, C.AT_END), pat
    bi = [i for i, (op, _) in enumerate(pat) if op is C.BRANCH]
    assert len(bi) == 1, "url_match: expected one top-level host branch"
    bi = bi[0]
    pre, post = pat[:bi], pat[bi + 1:]
    alts = pat[bi][1][1]
    assert len(alts) == 2, "url_match: expected IP | host-name"
    ip, host = list(alts[0]), list(alts[1])
    nots = []
    while ip and ip[0][0] is C.ASSERT_NOT:
        d, body = ip.pop(0)[1]
        assert d > 0
        nots.append("^" + to_rust_regex(body))
    assert len(nots) == 3, "url_match: expected three negative look-aheads in the IP branch"
    for op, _ in host:
        assert op not in (C.ASSERT, C.ASSERT_NOT)
    return {
        "URL_HOST_RE": to_rust_regex(pre + [(C.BRANCH, (None, [host]))] + post),
        "URL_PRE_RE": to_rust_regex(pre) + "$",
        "URL_IP_RE": "^" + to_rust_regex(ip + post),
        "URL_IP_NOT_RES": nots,
    }


# ----------------------------------------------------------------------------------------------

def header(rules=None):
    py = ".".join(map(str, sys.version_info[:3]))
    h = [
        "// @generated by src/text/gen_tables.py -- do not edit by hand.",
        f"// Python {py}, unicodedata {unicodedata.unidata_version}.",
    ]
    if rules is not None:
        h.append(f"// Rules: spaCy {rules['spacy_version']} English tokenizer "
                 "(shared/data/reference/spacy_en_tokenizer_rules.json).")
    h.append("")
    return h


def gen_unicode_tables():
    out = header()
    out.append("use super::charset::CharSet;\n")
    out.append(f"/// Unicode version of every table in this file (Python's `unicodedata`).")
    out.append(f'pub const UNICODE_VERSION: &str = "{unicodedata.unidata_version}";\n')
    sets = [
        ("PY_SPACE", lambda ch: ch.isspace(), "Python `str.isspace()`."),
        ("PY_ALPHA", lambda ch: ch.isalpha(),
         "Python `str.isalpha()`: general category Lu, Ll, Lt, Lm or Lo."),
        ("PY_PUNCT", lambda ch: unicodedata.category(ch).startswith("P"),
         "General category P* (Pc, Pd, Ps, Pe, Pi, Pf, Po): spaCy's `is_punct` per character."),
    ]
    for name, pred, doc in sets:
        rs = ranges_of(pred)
        out.append(f"/// {doc}")
        out.append(charset_static(name, rs, vis="pub(crate)"))
        count = sum(hi - lo + 1 for lo, hi in rs)
        out.append(f"/// Number of characters in `{name}` (checked by the tests).")
        out.append(f"#[cfg(test)]\npub(crate) const {name}_COUNT: usize = {count};\n")
    return "\n".join(out)


def gen_spacy_data(rules):
    out = header(rules)
    out.append("use super::charset::CharSet;")
    out.append("use super::spacy_en_alt::{Alt, Body};\n")
    pool = SetPool("CS")
    body = []
    body += emit_alts("PREFIX_ALTS", top_alternatives(P.parse(rules["prefix_regex"]),
                                                      C.AT_BEGINNING), pool,
                      "Prefix regex alternatives, in order (Python `re.search`, `^`-anchored).")
    body += emit_alts("SUFFIX_ALTS", top_alternatives(P.parse(rules["suffix_regex"]), C.AT_END),
                      pool, "Suffix regex alternatives (all `$`-anchored).")
    body += emit_alts("INFIX_ALTS", top_alternatives(P.parse(rules["infix_regex"]), None), pool,
                      "Infix regex alternatives, in order (Python `re.finditer`).")
    assert rules.get("token_match_regex") is None, "token_match is not supported"
    url = convert_url(rules["url_match_regex"])
    body.append("/// `url_match`, host-name branch, as one Rust regex (full match).")
    body.append(f"pub(super) const URL_HOST_RE: &str = {rs_str(url['URL_HOST_RE'])};\n")
    body.append("/// `url_match`: scheme and user-info part before the host (full match).")
    body.append(f"pub(super) const URL_PRE_RE: &str = {rs_str(url['URL_PRE_RE'])};\n")
    body.append("/// `url_match`, IP branch without its negative look-aheads, from the host on.")
    body.append(f"pub(super) const URL_IP_RE: &str = {rs_str(url['URL_IP_RE'])};\n")
    body.append("/// The IP branch's negative look-aheads (private ranges), each `^`-anchored.")
    body.append("pub(super) const URL_IP_NOT_RES: &[&str] = &[")
    for s in url["URL_IP_NOT_RES"]:
        body.append(f"    {rs_str(s)},")
    body.append("];\n")

    sc = rules["special_cases"]
    body.append("/// Special cases (tokenizer exceptions): text -> ORTH of each piece, in the order "
                "of the rules file.")
    body.append("pub(super) static SPECIAL_CASES: &[(&str, &[&str])] = &[")
    for k, pieces in sc.items():
        assert "".join(pieces) == k, (k, pieces)
        body.append(f"    ({rs_str(k)}, &[{', '.join(rs_str(p) for p in pieces)}]),")
    body.append("];\n")
    pc = rules["sentencizer_punct_chars"]
    assert all(len(c) == 1 for c in pc)
    body.append("/// The sentencizer's `punct_chars` (sorted).")
    body.append("pub(super) static SENT_PUNCT_CHARS: &[char] = &[")
    line = []
    for c in sorted(pc):
        line.append("'\\u{%x}'" % ord(c))
        if len(line) == 10:
            body.append("    " + ", ".join(line) + ",")
            line = []
    if line:
        body.append("    " + ", ".join(line) + ",")
    body.append("];\n")
    pool.emit(out)
    out += body
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", default=DEFAULT_RULES)
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--any-python", action="store_true")
    a = ap.parse_args()
    if sys.version_info[:2] != (3, 11) and not a.any_python:
        raise SystemExit("expected Python 3.11 (Unicode 14.0.0, the reference's Python); "
                         "pass --any-python to override")
    with open(a.rules, encoding="utf-8") as f:
        rules = json.load(f)
    for name, text in (("unicode_tables.rs", gen_unicode_tables()),
                       ("spacy_en_data.rs", gen_spacy_data(rules))):
        path = os.path.join(a.out_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {path} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
