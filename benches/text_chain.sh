#!/usr/bin/env bash
# The text-quality chain (benches/pipelines/text-chain.yaml: normalize + clean + pii_redact) at
# one thread over real corpora: MB of text per core-second of the three stages (reading and
# writing excluded) and each stage's MB/s, median of REPEAT runs.
#
#   REPEAT=5 benches/text_chain.sh [CORPUS ...]   default: web_c4_en_sample web_dolma_ccmain2019_sample
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
CORPORA=("$@")
[ ${#CORPORA[@]} -gt 0 ] || CORPORA=(web_c4_en_sample web_dolma_ccmain2019_sample)
cargo build --release --quiet --bin sluice
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for corpus in "${CORPORA[@]}"; do
  src="$(cd ../shared/data/corpora && pwd)/$corpus.jsonl.zst"
  sed -e "s|CORPUS|$src|" -e "s|OUT|$work/out|" benches/pipelines/text-chain.yaml > "$work/p.yaml"
  for r in $(seq "$REPEAT"); do
    target/release/sluice run "$work/p.yaml" --threads 1 --quiet --log-level warn --stats-json "$work/s$r.json"
  done
  python3 - "$corpus" "$work" "$REPEAT" <<'PY'
import json, statistics, sys
corpus, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = [json.load(open(f"{work}/s{r}.json")) for r in range(1, n + 1)]
mb = runs[0]["input"]["text_bytes"] / 1e6
chain = statistics.median(mb / sum(s["seconds"] for s in r["stages"]) for r in runs)
per = {s["id"]: statistics.median(mb / r["stages"][i]["seconds"] for r in runs)
       for i, s in enumerate(runs[0]["stages"])}
print(f"{corpus:<30} chain {chain:7.1f} MB/s per core  " + "  ".join(f"{k} {v:.0f}" for k, v in per.items()))
PY
done
