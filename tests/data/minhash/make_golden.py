#!/usr/bin/env python3
"""Golden MinHash signatures from datatrove 0.10.1 itself, for `tests/it/minhash.rs`.

For every document of each corpus (in file order, the documents datatrove's JsonlReader
yields: non-empty `text`), writes one JSON line with 16-hex-digit prefixes of sha256 over
  * `simplified`: `simplify_text(text)` (UTF-8),
  * `words`: the English word tokens of it, joined by U+0000,
  * `signature`: the 112 signature values (`MinhashDedupSignature.get_signature`, default
    `MinhashConfig`) as little-endian u64, or "" when the document has fewer than 5 words,
so that a disagreement can be traced to normalization, tokenization or hashing.

Run with the datatrove-ref environment (`../shared/tools/datatrove-ref/setup.sh`):

    .venv/bin/python tests/data/minhash/make_golden.py ../shared/data/corpora [NAME...]

(with names, only those corpora are rewritten).
"""

import hashlib
import io
import json
import os
import struct
import sys

import zstandard
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.utils.text import simplify_text
from datatrove.utils.word_tokenizers import load_word_tokenizer

CORPORA = [
    "web_c4_en_sample",
    "web_dolma_ccmain2019_sample",
    "sms_spam_collection",
    "multilingual_udhr2_unicode",
    "multilingual_opensubtitles_en_ru_zh",
    "books_gutenberg_top100",
    "news_speeches_reviews_nltk",
]


def h(b):
    return hashlib.sha256(b).hexdigest()[:16]


def main():
    src = sys.argv[1]
    out_dir = os.path.dirname(os.path.abspath(__file__))
    config = MinhashConfig()
    sig = MinhashDedupSignature(output_folder="/tmp/_unused_minhash_sigs", config=config)
    tok = load_word_tokenizer("eng")
    for name in sys.argv[2:] or CORPORA:
        raw = zstandard.ZstdDecompressor().stream_reader(open(f"{src}/{name}.jsonl.zst", "rb"))
        lines = io.TextIOWrapper(raw, encoding="utf-8")
        with open(f"{out_dir}/{name}.jsonl", "w") as out:
            for line in lines:
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                text = d.get("text")
                if not text:
                    continue
                simple = simplify_text(text, config.norm_config)
                words = tok.word_tokenize(simple)
                shingles = sig.get_shingles(text)
                s = ""
                if shingles.size:
                    flat = [v for band in sig.get_signature(shingles) for v in band]
                    s = h(struct.pack(f"<{len(flat)}Q", *flat))
                rec = {
                    "id": str(d.get("id")),
                    "simplified": h(simple.encode("utf-8")),
                    "words": h("\0".join(words).encode("utf-8")),
                    "signature": s,
                }
                out.write(json.dumps(rec) + "\n")
        print(name, file=sys.stderr)


if __name__ == "__main__":
    main()
