#!/usr/bin/env python3
"""Builds the two 1 GB inputs of the dedup measurements (docs/dedup.md) from ../shared/data/corpora.

    python3 benches/make_dedup_corpus.py distinct   OUT.jsonl   # ~1 GB, few duplicates
    python3 benches/make_dedup_corpus.py replicated OUT.jsonl   # ~1 GB, every document 10 times

The base is every shared corpus but the single-word and word-pair lists (~110 MB of text).

- `distinct`: the base, then nine more copies of it in which every word goes through a
  different substitution cipher per copy (same lengths and word frequencies, unrelated
  shingles), plus planted near-duplicates: one document in 33 of at least 50 words gets a
  copy with 2% of its words replaced, written at the end of the file. MinHash should remove
  about the planted ones and the corpora's own duplicates, times ten.
- `replicated`: the base ten times over, each copy with a different 2% of the words of every
  document of 50 words or more replaced (shorter ones are exact copies). About 90% of the
  documents are near-duplicates of another.

Deterministic: no randomness but hashes of (copy, position, word).
"""
import hashlib
import json
import pathlib
import re
import subprocess
import sys

CORPORA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora"
SKIP = {"multilingual_lingua_single_words_75lang", "multilingual_lingua_word_pairs_75lang"}
WORD = re.compile(r"[^\W\d_]+")
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def h(*parts):
    return int.from_bytes(hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest(), "little")


def base():
    for f in sorted(CORPORA.glob("*.jsonl.zst")):
        if f.name.removesuffix(".jsonl.zst") in SKIP:
            continue
        raw = subprocess.run(["zstd", "-dc", str(f)], check=True, capture_output=True).stdout
        for line in raw.decode().split("\n"):
            if line.strip():
                d = json.loads(line)
                if d.get("text"):
                    yield d["id"], d["text"]


def cipher(k):
    cache = {}

    def word(m):
        w = m.group(0)
        c = cache.get(w)
        if c is None:
            x = h("cipher", k, w.lower())
            c = "".join(LETTERS[(x >> (5 * (i % 12))) % 26 if i < 12 else h(x, i) % 26] for i in range(len(w)))
            if w[0].isupper():
                c = c.capitalize()
            cache[w] = c
        return c

    return lambda text: WORD.sub(word, text)


def mutate(text, k, rate=50):
    words = text.split(" ")
    if len(words) < 50:
        return text
    off = h("offset", k, len(words)) % rate
    for i in range(off, len(words), rate):
        words[i] = f"zq{h('nonce', k, i) % 10**8:08d}"
    return " ".join(words)


def main():
    mode, out = sys.argv[1], pathlib.Path(sys.argv[2])
    docs = list(base())
    with out.open("w") as f:
        planted = []
        for k in range(10):
            enc = (lambda t: t) if k == 0 or mode == "replicated" else cipher(k)
            for i, (doc_id, text) in enumerate(docs):
                t = enc(text) if mode == "distinct" else (text if k == 0 else mutate(text, k))
                f.write(json.dumps({"id": f"c{k}-{doc_id}", "text": t}, ensure_ascii=False) + "\n")
                if mode == "distinct" and h("plant", k, i) % 33 == 0 and len(t.split(" ")) >= 50:
                    planted.append({"id": f"near-c{k}-{doc_id}", "text": mutate(t, k + 100)})
        planted.sort(key=lambda d: h("order", d["id"]))
        for d in planted:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    print(f"{out}: {out.stat().st_size / 1e6:.0f} MB, {len(docs)} base documents, {len(planted)} planted")


if __name__ == "__main__":
    main()
