"""Reference token ids for the id gate: Hugging Face `tokenizers` (the Python binding, pinned by
.ci/run) encodes every document of the given corpora with `encode(text, add_special_tokens=False)`,
truncation and padding off, and writes one `{"id", "n", "sha256"}` line per document, where sha256
is over the ids as consecutive little-endian uint32 (the format of ../shared/data/golden/tokens).

It also writes `adversarial.jsonl`, a corpus made here to break pretokenizers: every Unicode code
point in several contexts, contractions in odd scripts and cases, lone combining marks, digit and
whitespace runs, mixed newlines, very long words, emoji sequences, special-token strings and
repaired invalid UTF-8. It is encoded like the others.

    python3 tests/python/reference_ids.py OUT_DIR NAME=TOKENIZER_JSON[.zst] ... -- CORPUS.jsonl[.zst] ...

Exit status 3 means the `tokenizers` package is missing.
"""
import hashlib
import io
import json
import pathlib
import random
import struct
import subprocess
import sys

try:
    import tokenizers
    from tokenizers import Tokenizer
except ImportError:
    print("the Python package `tokenizers` is not installed", file=sys.stderr)
    sys.exit(3)

EXPECTED_VERSION = "0.23.3"


def read_bytes(path):
    data = pathlib.Path(path).read_bytes()
    if str(path).endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", str(path)], check=True, capture_output=True).stdout
    return data


def read_corpus(path):
    for line in io.StringIO(read_bytes(path).decode("utf-8")):
        if line.strip():
            doc = json.loads(line)
            yield doc["id"], doc.get("text") or ""


def adversarial():
    """(id, text) pairs; deterministic."""
    docs = []
    # Every code point of planes 0-3 and the tag block, and every 61st elsewhere (unassigned and
    # private-use planes; `onig_classes.py --check` covers their classes exhaustively): alone,
    # after a space, after an apostrophe, doubled, between letters and digits, before and after
    # newlines and whitespace runs.
    cps = [
        c
        for c in range(0x110000)
        if not 0xD800 <= c <= 0xDFFF and (c < 0x40000 or 0xE0000 <= c < 0xE0100 or c % 61 == 0)
    ]
    for k in range(0, len(cps), 1024):
        parts = []
        for c in map(chr, cps[k : k + 1024]):
            parts.append(f"x{c} {c}{c}'{c}9{c}a\r\n{c}  {c}\t{c}\n")
        docs.append((f"codepoints-{k:07d}", "".join(parts)))
    samples = {
        "contractions": "it's IT'S it'S I'LL i'Ll you'RE we'Ve I'M he'D 'ſ 'ſs 'ſt 'Ｓ 'ѕ 'ꞩ 'ß 'K 'K ''s '''ll 's's",
        "contractions-scripts": "Дом's 家's مرحبا's 'sa 'tea 'rex 'vex 'me 'lla 'do 'ſ't 'Ⅼl",
        "marks": "\u0301 \u0301a a\u0301 \u0301\u0301\u0301 e\u0308\u0301 ́x '\u0301s 1\u0301 \u0301\n\u20dd",
        "digits": " ".join("1234567890" * k for k in range(1, 6))
        + " ١٢٣٤٥٦ １２３４５ 1.5 1,000,000 2½ Ⅻ ⑫ 𝟙𝟚𝟛𝟜 ¹²³ 0x1F",
        "newlines": "a\r\nb\rc\n\rd\n\n\ne\r\r\nf\u2028g\u2029h\u0085i\x0bj\x0ck \r\n  \r\n\tl",
        "whitespace": "".join(" " * k + "w" + "\t" * k + "1" + "\u00a0" * k + "!" for k in range(1, 20))
        + "\u3000x\u2003y\u200bz\u180ew   ",
        "special-tokens": "<|endoftext|> a<|endoftext|>b <|endoftext|><|endoftext|> <|endoftext "
        "<|begin_of_text|>x<|end_of_text|> <|reserved_special_token_5|> <|<|endoftext|>|> "
        "<|eot_id|>\n<|start_header_id|>user<|end_header_id|>",
        "emoji": "👍🏽 👨‍👩‍👧‍👦 🇩🇪🇯🇵 1️⃣ ❤️ 🏳️‍🌈 😀😀😀 a👍b 👍' 's👍",
        "repaired-utf8": b"caf\xe9 na\xefve \xff\xfe\xfd abc\xc3 \xe2\x82 \xf0\x9f\x98 ok".decode(
            "utf-8", errors="replace"
        ),
        "bom-and-format": "\ufeffHello \u200d\u200c\u200e\u200f\u2066x\u2069 \u00ad \ufffe",
        "scripts": "한국어 ᄀᄁ 日本語テキスト ไทยภาษา हिन्दी العربية עברית ελληνικά ქართული Ελ 中文。",
        "controls": "".join(chr(c) for c in range(0, 32)) + "\x7f\x80\x9f",
        "empty": "",
        "space": " ",
        "newline": "\n",
    }
    docs.extend(samples.items())
    long = {
        "long-letters": "a" * 100_000,
        "long-mixed-word": "ab" * 30_000,
        "long-accented": "é" * 20_000,
        "long-digits": "7" * 10_000,
        "long-punct": "!" * 5_000 + "?" * 3 + ".",
        "long-spaces": " " * 10_000 + "x" + "\n" * 5_000 + "\t" * 3_000,
        "long-cjk": "中" * 20_000,
        "long-emoji": "😀" * 5_000,
    }
    docs.extend(long.items())
    pool = list(
        "aZz09 '\t\n\r\r\n!?.,;:-_()[]<>|/\\\"sStTlLdDmMvVeErR"
        "ſéßДж中あ한١٢\u0301\u0308\u00a0\u3000\u2028\u0085👍\u200d🏽①½Ⅻ\ufeff\ufffd"
    ) + ["<|endoftext|>", "<|begin_of_text|>", "'s", "'LL", "  ", "\n\n", "123456"]
    rng = random.Random(20261203)
    for k in range(3000):
        n = rng.randint(1, 120)
        docs.append((f"random-{k:05d}", "".join(rng.choice(pool) for _ in range(n))))
    return docs


def sha(ids):
    return hashlib.sha256(struct.pack(f"<{len(ids)}I", *ids)).hexdigest()


def main():
    args = sys.argv[1:]
    if "--" not in args or len(args) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sep = args.index("--")
    out = pathlib.Path(args[0])
    toks = [a.split("=", 1) for a in args[1:sep]]
    corpora = [pathlib.Path(c) for c in args[sep + 1 :]]
    if tokenizers.__version__ != EXPECTED_VERSION:
        print(f"tokenizers {tokenizers.__version__}, expected {EXPECTED_VERSION}", file=sys.stderr)
        sys.exit(3)
    out.mkdir(parents=True, exist_ok=True)
    adv = adversarial()
    with open(out / "adversarial.jsonl", "w", encoding="utf-8") as f:
        for i, t in adv:
            f.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")
    sets = [("adversarial", adv)] + [
        (c.name.split(".")[0], list(read_corpus(c))) for c in corpora
    ]
    for name, path in toks:
        tok = Tokenizer.from_str(read_bytes(path).decode("utf-8"))
        tok.no_truncation()
        tok.no_padding()
        (out / name).mkdir(exist_ok=True)
        for corpus, docs in sets:
            with open(out / name / f"{corpus}.jsonl", "w") as f:
                for k in range(0, len(docs), 256):
                    chunk = docs[k : k + 256]
                    encs = tok.encode_batch([t for _, t in chunk], add_special_tokens=False)
                    for (i, _), e in zip(chunk, encs):
                        f.write(json.dumps({"id": i, "n": len(e.ids), "sha256": sha(e.ids)}) + "\n")
            print(f"{name} {corpus}: {len(docs)} docs", file=sys.stderr)


if __name__ == "__main__":
    main()
