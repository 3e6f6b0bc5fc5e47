#!/usr/bin/env bash
# End-to-end benchmark over real corpora in ../shared/data/corpora: runs the tokenize-only and
# the curate (normalize + filters + tokenize) pipelines at each thread count, plus the raw
# `tokenizers` encode speed on the same text (the ceiling), and prints MB/s, docs/s and peak RSS.
#
#   benches/e2e.sh [CORPUS ...]        default: web_c4_en_sample books_gutenberg_top100
#   THREADS="1 2" REPEAT=3 TOKENIZER=../shared/data/tokenizers/gpt2/tokenizer.json benches/e2e.sh
#
# Each cell is the median of REPEAT runs (wall time of the whole run: read, decompress, parse,
# stages, write).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data
THREADS=${THREADS:-"1 2"}
REPEAT=${REPEAT:-3}
TOKENIZER=${TOKENIZER:-$DATA/tokenizers/gpt2/tokenizer.json}
CORPORA=("$@")
[ ${#CORPORA[@]} -gt 0 ] || CORPORA=(web_c4_en_sample books_gutenberg_top100)
cargo build --release --quiet --bin sluice --example raw_tokenize
BIN=target/release/sluice
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-28s %-9s %3s %9s %10s %9s %10s\n' corpus pipeline thr "MB/s" "docs/s" "wall s" "peak RSS"
for corpus in "${CORPORA[@]}"; do
  src="$(cd "$DATA/corpora" && pwd)/$corpus.jsonl.zst"
  for p in tokenize curate; do
    sed -e "s|CORPUS|$src|" -e "s|TOKENIZER|$(realpath "$TOKENIZER")|" -e "s|OUT|$work/out|" \
      benches/pipelines/$p.yaml > "$work/$p.yaml"
    for t in $THREADS; do
      for r in $(seq "$REPEAT"); do
        "$BIN" run "$work/$p.yaml" --threads "$t" --quiet --log-level warn --stats-json "$work/s$r.json"
      done
      mbs=$(for r in $(seq "$REPEAT"); do python3 -c "import json,sys;s=json.load(open(sys.argv[1]));print(s['input']['text_bytes']/1e6/s['wall_seconds'])" "$work/s$r.json"; done | median)
      dps=$(for r in $(seq "$REPEAT"); do python3 -c "import json,sys;s=json.load(open(sys.argv[1]));print(s['input']['records']/s['wall_seconds'])" "$work/s$r.json"; done | median)
      wall=$(for r in $(seq "$REPEAT"); do python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['wall_seconds'])" "$work/s$r.json"; done | median)
      rss=$(python3 -c "import json,sys;print(f\"{json.load(open(sys.argv[1]))['peak_rss_bytes']/2**20:.0f} MB\")" "$work/s1.json")
      printf '%-28s %-9s %3s %9.2f %10.0f %9.2f %10s\n' "$corpus" "$p" "$t" "$mbs" "$dps" "$wall" "$rss"
    done
  done
  for t in $THREADS; do
    target/release/examples/raw_tokenize "$TOKENIZER" "$src" "$t" "$REPEAT"
  done
done
