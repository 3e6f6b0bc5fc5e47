#!/usr/bin/env bash
# Alternating A/B runs of two sluice binaries on the same pipelines (the machine is noisy, so
# runs alternate A B B A ... and each side's median is compared within one invocation):
#   benches/ab.sh OLD_BIN NEW_BIN [CORPUS ...]
#   REPEAT=6 benches/ab.sh /tmp/old/sluice target/release/sluice web_c4_en_sample
# Prints, per corpus and pipeline, the median MB/s of each binary and the ratio new/old:
# `fineweb` (pipelines/fineweb-en.yaml on 1 thread: MB of text per second of the filters'
# thread time), `tokenize` and `curate` (benches/pipelines, 2 threads: MB of text per wall
# second of the whole run).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$(realpath "$1"); NEW=$(realpath "$2"); shift 2
DATA=../shared/data
REPEAT=${REPEAT:-6}
CORPORA=("$@")
[ ${#CORPORA[@]} -gt 0 ] || CORPORA=(web_c4_en_sample books_gutenberg_top100)
TOKENIZER=$(realpath "${TOKENIZER:-$DATA/tokenizers/gpt2/tokenizer.json}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
metric() { # stats.json, kind
  python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
if sys.argv[2] == "fineweb":
    print(s["input"]["text_bytes"] / 1e6 / sum(x["seconds"] for x in s["stages"]))
else:
    print(s["input"]["text_bytes"] / 1e6 / s["wall_seconds"])
PY
}
printf '%-28s %-9s %9s %9s %7s\n' corpus pipeline "old MB/s" "new MB/s" ratio
for corpus in "${CORPORA[@]}"; do
  src="$(cd "$DATA/corpora" && pwd)/$corpus.jsonl.zst"
  sed -e "s|\.\./shared/data/corpora/web_dolma_ccmain2019_sample\.jsonl\.zst|$src|" \
    -e "s|dir: out/fineweb-en|dir: $work/out|" pipelines/fineweb-en.yaml > "$work/fineweb.yaml"
  for p in tokenize curate; do
    sed -e "s|CORPUS|$src|" -e "s|TOKENIZER|$TOKENIZER|" -e "s|OUT|$work/out|" \
      benches/pipelines/$p.yaml > "$work/$p.yaml"
  done
  for p in fineweb tokenize curate; do
    threads=2; [ "$p" = fineweb ] && threads=1
    : > "$work/old.txt"; : > "$work/new.txt"
    for r in $(seq "$REPEAT"); do
      if [ $((r % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
      for side in $order; do
        bin=$OLD; [ "$side" = new ] && bin=$NEW
        rm -rf "$work/out"
        "$bin" run "$work/$p.yaml" --threads "$threads" --quiet --log-level warn \
          --stats-json "$work/s.json"
        metric "$work/s.json" "$p" >> "$work/$side.txt"
      done
    done
    o=$(median < "$work/old.txt"); n=$(median < "$work/new.txt")
    printf '%-28s %-9s %9.2f %9.2f %7.3f\n' "$corpus" "$p" "$o" "$n" "$(echo "$n / $o" | bc -l)"
  done
done
