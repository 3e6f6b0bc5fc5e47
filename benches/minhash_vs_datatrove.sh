#!/usr/bin/env bash
# minhash_dedup vs datatrove 0.10.1's four-step MinHash pipeline (MinhashConfig defaults: word
# 5-grams, 14 buckets x 8 hashes, seed 1), both on one core, on one JSONL corpus:
#
#   benches/minhash_vs_datatrove.sh CORPUS.jsonl[.zst|.gz]
#   REPEAT=3 SLUICE=/tmp/sluice DTREF=/tmp/dtref benches/minhash_vs_datatrove.sh ../shared/data/corpora/web_c4_en_sample.jsonl.zst
#
#   DTREF   the datatrove reference harness with its venv (default /tmp/dtref); set it up with
#             cp -r ../shared/tools/datatrove-ref /tmp/dtref && (cd /tmp/dtref && bash setup.sh)
#   SLUICE  the sluice binary (default target/release/sluice; this script does not build it)
#   REPEAT  runs of each side (default 1); every number printed is the median over the runs
#
# Prints the machine load, then Markdown tables: per phase seconds, docs/s and MB/s (MB = 1e6
# bytes of UTF-8 text of the non-empty documents) for each side, and the agreement (documents
# removed by each, |symmetric difference| of the removed id sets, survivors that agree).
# Phases: sluice `sign` = count_pass.sign_thread_seconds (shingling + hashing only, no reading),
# `reduce` = reduce.cluster_seconds (band sort, pairs, union-find), `write pass` = the stage's
# seconds in the write pass, `total` = wall_seconds of the run. datatrove: each of the four steps
# timed separately in one process (LocalPipelineExecutor tasks=1 workers=1; buckets: 14 tasks on
# 1 worker), `signatures` includes reading the corpus and sorting the signature files; `read` is
# a reader-only pass for reference. The corpus needs an `id` field (datatrove's reader otherwise
# invents ids that sluice does not share).
set -euo pipefail
[ $# -eq 1 ] || { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
CORPUS=$(realpath -m "$1")
[ -f "$CORPUS" ] || { echo "error: corpus $1 not found" >&2; exit 2; }
SLUICE=${SLUICE:-}
[ -n "$SLUICE" ] && SLUICE=$(realpath -m "$SLUICE")
cd "$(dirname "$0")/.."
SLUICE=${SLUICE:-$PWD/target/release/sluice}
DTREF=${DTREF:-/tmp/dtref}
REPEAT=${REPEAT:-1}
PY="$DTREF/.venv/bin/python"
if [ ! -x "$PY" ] || ! "$PY" -c 'import datatrove, pyarrow, zstandard' 2>/dev/null; then
  cat >&2 <<EOF
error: no datatrove reference venv at $DTREF (need $PY with datatrove 0.10.1 and pyarrow).
Set it up (PyPI only), then rerun, or point DTREF at an existing one:
  cp -r ../shared/tools/datatrove-ref /tmp/dtref && (cd /tmp/dtref && bash setup.sh)
EOF
  exit 2
fi
[ -x "$SLUICE" ] || { echo "error: no sluice binary at $SLUICE (cargo build --release, or set SLUICE)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "corpus: $CORPUS"
echo "load before the runs: $(uptime)"

cat > "$work/p.yaml" <<EOF
name: minhash_vs_datatrove
sources:
  - { name: s, paths: ["$CORPUS"] }
stages:
  - { id: near, type: minhash_dedup }
output: { dir: $work/sluice }
EOF

cat > "$work/dt.py" <<'PY'
import json, os, resource, shutil, sys, time
corpus, out = sys.argv[1], sys.argv[2]
from loguru import logger
logger.remove(); logger.add(sys.stderr, level="WARNING")
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupSignature, MinhashDedupBuckets,
                                              MinhashDedupCluster, MinhashDedupFilter)
shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
w, cfg = f"{out}/steps", MinhashConfig()
src_dir, name = os.path.split(corpus)
comp = "zstd" if name.endswith(".zst") else ("gzip" if name.endswith(".gz") else None)
reader = lambda: JsonlReader(src_dir, glob_pattern=name, compression=comp)
def timed(tag, steps, tasks):
    t0 = time.perf_counter()
    LocalPipelineExecutor(steps, tasks=tasks, workers=1, logging_dir=f"{w}/logs/{tag}").run()
    return time.perf_counter() - t0
ids, nbytes = [], 0
for d in reader().run():  # documents as datatrove's reader sees them (non-empty text), untimed
    ids.append(d.id); nbytes += len(d.text.encode("utf-8"))
json.dump(ids, open(f"{out}/doc_ids.json", "w"))
r = {"docs": len(ids), "text_bytes": nbytes}
r["read"] = timed("read", [reader()], 1)
r["signatures"] = timed("sigs", [reader(), MinhashDedupSignature(output_folder=f"{w}/sigs", config=cfg)], 1)
r["buckets"] = timed("buckets", [MinhashDedupBuckets(input_folder=f"{w}/sigs", output_folder=f"{w}/buckets",
                                                     config=cfg)], cfg.num_buckets)
r["cluster"] = timed("cluster", [MinhashDedupCluster(input_folder=f"{w}/buckets", output_folder=f"{w}/remove",
                                                     config=cfg)], 1)
r["filter"] = timed("filter", [reader(), MinhashDedupFilter(input_folder=f"{w}/remove",
                                exclusion_writer=JsonlWriter(f"{w}/removed", compression=None)),
                               JsonlWriter(f"{w}/kept", compression=None)], 1)
r["total"] = r["signatures"] + r["buckets"] + r["cluster"] + r["filter"]
# survivors (untimed): its cluster step again, saving cluster ids
MinhashDedupCluster(input_folder=f"{w}/buckets", output_folder=f"{w}/cid", config=cfg,
                    save_cluster_id=True).run(None, 0, 1)
removed = []
for f in sorted(os.listdir(f"{w}/removed")) if os.path.isdir(f"{w}/removed") else []:
    removed += [json.loads(l)["id"] for l in open(f"{w}/removed/{f}") if l.strip()]
r["removed_ids"] = removed
json.dump(r, open(f"{out}/result.json", "w"))
PY

for i in $(seq "$REPEAT"); do
  echo "run $i/$REPEAT, load $(cut -d' ' -f1-3 /proc/loadavg): sluice" >&2
  rm -rf "$work/sluice"
  "$SLUICE" run "$work/p.yaml" --threads 1 --quiet --log-level warn --stats-json "$work/sluice-$i.json"
  echo "run $i/$REPEAT, load $(cut -d' ' -f1-3 /proc/loadavg): datatrove" >&2
  "$PY" "$work/dt.py" "$CORPUS" "$work/dt-$i" 2> "$work/dt-$i.log" || { cat "$work/dt-$i.log" >&2; exit 1; }
  cp "$work/dt-$i/result.json" "$work/dt-$i.json"
done
echo "load after the runs: $(uptime)"

"$PY" - "$work" "$REPEAT" <<'PY'
import glob, json, statistics, struct, sys
import pyarrow.parquet as pq
work, n = sys.argv[1], int(sys.argv[2])
sl = [json.load(open(f"{work}/sluice-{i}.json")) for i in range(1, n + 1)]
dt = [json.load(open(f"{work}/dt-{i}.json")) for i in range(1, n + 1)]
med = lambda xs: statistics.median(xs)
docs, mb = sl[0]["input"]["documents"], sl[0]["input"]["text_bytes"] / 1e6
near = lambda s: s["dedup"]["near"]
sphase = {
    "sign": med([near(s)["count_pass"]["sign_thread_seconds"] for s in sl]),
    "reduce": med([near(s)["reduce"]["cluster_seconds"] for s in sl]),
    "write pass": med([sum(x["seconds"] for x in s["stages"] if x["id"] == "near") for s in sl]),
    "total": med([s["wall_seconds"] for s in sl]),
}
dphase = {k: med([d[k] for d in dt]) for k in ("read", "signatures", "buckets", "cluster", "filter", "total")}
rate = lambda s: (f"{docs / s:,.0f}", f"{mb / s:,.2f}") if s > 0 else ("-", "-")
print(f"\n{docs} documents, {mb:.2f} MB of text (datatrove's reader: {dt[0]['docs']} documents, "
      f"{dt[0]['text_bytes'] / 1e6:.2f} MB); one core; median of {n} run(s)\n")
print("| phase | sluice phase | sluice s | docs/s | MB/s | datatrove step | datatrove s | docs/s | MB/s | sluice speed / datatrove |")
print("|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
rows = [("signatures", "sign", ["signatures"]), ("buckets + cluster", "reduce", ["buckets", "cluster"]),
        ("filter / write", "write pass", ["filter"]), ("total", "total", ["total"])]
for phase, sk, dks in rows:
    s, d = sphase[sk], sum(dphase[k] for k in dks)
    # sluice's write-pass time is the stage's own decision time only (datatrove's filter step also
    # reads and writes the corpus), so that row gets no ratio
    ratio = f"{d / s:,.1f}x" if s > 0 and sk != "write pass" else "-"
    print(f"| {phase} | {sk} | {s:.4g} | {rate(s)[0]} | {rate(s)[1]} | {' + '.join(dks)} | {d:.4g} | "
          f"{rate(d)[0]} | {rate(d)[1]} | {ratio} |")
print(f"\ndatatrove steps: " + ", ".join(f"{k} {dphase[k]:.4f} s" for k in ("read", "signatures", "buckets",
      "cluster", "filter")) + " (`read`: a reader-only pass, included in `signatures` and `filter`)")
print("sluice: `sign` is thread time of shingling and hashing only; `write pass` is the stage's own time, "
      "reading and Parquet writing are only in `total`.")
# agreement (last run of each)
surv = {}
for f in sorted(glob.glob(f"{work}/sluice/duplicates/near*.parquet")):
    for r in pq.read_table(f, columns=["doc_id", "duplicate_of"]).to_pylist():
        surv[r["doc_id"]] = r["duplicate_of"]
last = f"{work}/dt-{n}"
ids = json.load(open(f"{last}/doc_ids.json"))
rem, members, dsurv = set(), {}, {}
for f in glob.glob(f"{last}/steps/cid/*.remove"):
    b = open(f, "rb").read(); rem |= set(struct.unpack(f"<{len(b) // 4}I", b))
for f in glob.glob(f"{last}/steps/cid/*.clusters"):
    b = open(f, "rb").read(); v = struct.unpack(f"<{len(b) // 4}I", b)
    for i in range(0, len(v), 2):
        members.setdefault(v[i + 1], []).append(v[i])
for ms in members.values():
    root = [m for m in ms if m not in rem]
    for m in ms:
        if len(root) == 1 and m != root[0]:
            dsurv[ids[m]] = ids[root[0]]
S, D = set(surv), set(dt[-1]["removed_ids"])
both = S & D
same = sum(1 for k in both if surv[k] == dsurv.get(k))
print("\n| documents | removed by sluice | removed by datatrove | symmetric difference | only sluice | only datatrove | same survivor |")
print("|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {docs} | {len(S)} | {len(D)} | {len(S ^ D)} | {len(S - D)} | {len(D - S)} | {same}/{len(both)} |")
for tag, xs in (("only sluice", sorted(S - D)), ("only datatrove", sorted(D - S))):
    if xs:
        print(f"\n{tag} (first 20): {', '.join(xs[:20])}")
diff = [k for k in sorted(both) if surv[k] != dsurv.get(k)]
if diff:
    print("\nsurvivor differs (first 20): " + ", ".join(f"{k}: sluice {surv[k]}, datatrove {dsurv.get(k)}" for k in diff[:20]))
PY
