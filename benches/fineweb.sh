#!/usr/bin/env bash
# FineWeb quality chain benchmark (issue 3's speed goal): runs pipelines/fineweb-en.yaml over
# real corpora in ../shared/data/corpora on one thread and prints, per corpus, the chain's MB of
# text and documents per core-second (the four filters' thread-seconds from stats.json, so
# reading and writing are excluded), each filter's MB/s, and the ratio to datatrove 0.10.1's
# CPU speed on the same file (../shared/data/golden/datatrove-0.10.1/SUMMARY.md).
#
#   benches/fineweb.sh [CORPUS ...]   default: web_c4_en_sample web_dolma_ccmain2019_sample
#                                              books_gutenberg_top100
#   REPEAT=5 THREADS=1 benches/fineweb.sh
#
# Each number is the best of REPEAT runs: on a shared machine noise only ever slows a run down.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data
THREADS=${THREADS:-1}
REPEAT=${REPEAT:-3}
CORPORA=("$@")
[ ${#CORPORA[@]} -gt 0 ] || CORPORA=(web_c4_en_sample web_dolma_ccmain2019_sample books_gutenberg_top100)
cargo build --release --quiet --bin sluice
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for corpus in "${CORPORA[@]}"; do
  src="$(cd "$DATA/corpora" && pwd)/$corpus.jsonl.zst"
  sed -e "s|\.\./shared/data/corpora/web_dolma_ccmain2019_sample\.jsonl\.zst|$src|" \
    -e "s|dir: out/fineweb-en|dir: $work/out|" pipelines/fineweb-en.yaml > "$work/fw.yaml"
  for r in $(seq "$REPEAT"); do
    target/release/sluice run "$work/fw.yaml" --threads "$THREADS" --quiet --log-level warn \
      --stats-json "$work/s$r.json"
  done
  python3 - "$corpus" "$DATA/golden/datatrove-0.10.1/SUMMARY.md" "$work"/s*.json <<'PY'
import json, sys
corpus, summary, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = [json.load(open(p)) for p in paths]
mb = runs[0]["input"]["text_bytes"] / 1e6
docs = runs[0]["input"]["records"]
chain = min(sum(s["seconds"] for s in r["stages"]) for r in runs)
per = {}
for s in runs[0]["stages"]:
    best = min(x["seconds"] for r in runs for x in r["stages"] if x["id"] == s["id"])
    per[s["id"]] = s["bytes_in"] / 1e6 / best if best else float("inf")
ref = None
try:
    col = None
    for line in open(summary):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "text MB / CPU-s" in cells:
            col = cells.index("text MB / CPU-s")
        elif col is not None and cells and cells[0] == f"`{corpus}.jsonl.zst`":
            ref = float(cells[col])
            break
except (OSError, ValueError, IndexError):
    ref = None
ratio = f"{mb / chain / ref:.0f}x datatrove ({ref} MB/s)" if ref else "(no reference speed found)"
print(f"{corpus:<30} {mb:7.1f} MB {docs:6d} docs  chain {mb / chain:6.2f} MB/s/core "
      f"{docs / chain:8.0f} docs/s/core  {ratio}")
print("    " + "  ".join(f"{k} {v:.1f}" for k, v in per.items()) + "  (MB/s per filter)")
PY
done
