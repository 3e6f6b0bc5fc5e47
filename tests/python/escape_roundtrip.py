"""Python's `json` against sluice: `write DIR` writes DIR/py.jsonl with `json.dumps` (which
escapes every non-ASCII character, surrogate pairs above the BMP) from every Unicode scalar
value plus strings Python writers produce; `check DIR` reads sluice's shard under DIR/out with
pyarrow and compares every text with the strings written.

Exit 0 on success; 3 if pyarrow is missing (the Rust test decides whether that is a skip);
1 on a mismatch.
"""
import json
import sys
from pathlib import Path


def documents():
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    assert len(chars) == 1_112_064
    docs = ["".join(chars[i:i + 4096]) for i in range(0, len(chars), 4096)]
    docs.append("mixed: naïve 𠀀 \U000e0001 \U0010fffd 😀 \x00 \"quoted\" back\\slash /")
    return docs


step, out = sys.argv[1], Path(sys.argv[2])
docs = documents()
if step == "write":
    with open(out / "py.jsonl", "w", encoding="ascii") as f:
        for i, d in enumerate(docs):
            f.write(json.dumps({"id": f"d{i}", "text": d}) + "\n")
    sys.exit(0)

try:
    import pyarrow.parquet as pq
except ImportError as e:
    print(f"pyarrow missing: {e}")
    sys.exit(3)
manifest = json.loads((out / "out" / "manifest.json").read_text())
rows = []
for s in manifest["splits"]["train"]["shards"]:
    rows += pq.read_table(out / "out" / s["path"], columns=["id", "text"]).to_pylist()
got = {r["id"]: r["text"] for r in rows}
if len(got) != len(docs):
    print(f"FAIL: {len(got)} documents read back, {len(docs)} written")
    sys.exit(1)
for i, d in enumerate(docs):
    t = got[f"d{i}"]
    if t != d:
        at = next(k for k, (a, b) in enumerate(zip(t + "\0", d + "\1")) if a != b)
        print(f"FAIL: d{i} differs at character {at}: got {t[at:at+1]!r}, want {d[at:at+1]!r}")
        sys.exit(1)
print(f"python json round trip: {len(docs)} documents, every character equal")
