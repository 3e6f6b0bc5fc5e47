#!/usr/bin/env python3
"""Golden MinHash decisions from datatrove 0.10.1, for `tests/it/minhash.rs` (run with the
datatrove-ref environment, `../shared/tools/datatrove-ref/setup.sh`:
   .venv/bin/python tests/data/minhash/make_decisions.py --input CORPUS.jsonl[.zst] --out DIR \
       [--n-grams 5 --buckets 14 --hashes 8 --seed 1] [--golden tests/data/minhash/NAME.decisions.json]).
Same 4 steps as shared/tools/datatrove-ref/minhash_ref.py, plus cluster ids/sizes, so that not only *which*
docs are removed but also *which doc survives each cluster* can be compared. Writes DIR/decisions.jsonl:
  {"idx": i, "id": ..., "kept": bool, "cluster": root_idx or null, "cluster_size": n}
idx = 0-based position among the documents the JsonlReader yields (lines with falsy "text" or invalid JSON are
skipped by the reader and get no idx and no line). "cluster" is the idx of the cluster's surviving (kept) doc."""
import argparse, json, os

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True); ap.add_argument("--out", required=True)
    ap.add_argument("--n-grams", type=int, default=5); ap.add_argument("--buckets", type=int, default=14)
    ap.add_argument("--hashes", type=int, default=8); ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--golden", help="also write the compact golden file: documents, and [idx, survivor idx] per removed document")
    a = ap.parse_args()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupSignature, MinhashDedupBuckets,
                                                  MinhashDedupCluster, MinhashDedupFilter)
    cfg = MinhashConfig(n_grams=a.n_grams, num_buckets=a.buckets, hashes_per_bucket=a.hashes, seed=a.seed)
    w = os.path.abspath(os.path.join(a.out, "work"))
    src_dir, name = os.path.split(os.path.abspath(a.input))
    comp = "zstd" if name.endswith(".zst") else ("gzip" if name.endswith(".gz") else None)
    reader = lambda: JsonlReader(src_dir, glob_pattern=name, compression=comp)
    run = lambda steps, tasks, tag: LocalPipelineExecutor(steps, tasks=tasks, workers=min(tasks, os.cpu_count() or 1),
                                                          logging_dir=f"{w}/logs/{tag}").run()
    run([reader(), MinhashDedupSignature(output_folder=f"{w}/sigs", config=cfg)], 1, "sigs")
    run([MinhashDedupBuckets(input_folder=f"{w}/sigs", output_folder=f"{w}/buckets", config=cfg)], cfg.num_buckets, "buckets")
    run([MinhashDedupCluster(input_folder=f"{w}/buckets", output_folder=f"{w}/remove", config=cfg,
                             save_cluster_id=True, save_cluster_size=True)], 1, "cluster")
    run([reader(), MinhashDedupFilter(input_folder=f"{w}/remove", load_cluster_ids=True, load_cluster_sizes=True,
                                      exclusion_writer=JsonlWriter(f"{w}/removed", compression=None)),
         JsonlWriter(f"{w}/kept", compression=None)], 1, "filter")
    docs = {}  # id -> (kept, cluster_id, size)   (ids assumed unique)
    for sub, kept in (("kept", True), ("removed", False)):
        d = f"{w}/{sub}"
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            for l in open(os.path.join(d, f)):
                if l.strip():
                    j = json.loads(l); m = j.get("metadata", {})
                    docs[j["id"]] = (kept, m.get("minhash_cluster_id", -1), m.get("minhash_cluster_size", 1))
    # re-read input order with the same reader to get idx
    order = [doc.id for doc in reader()()]
    root_of_cid = {}
    for i, did in enumerate(order):
        kept, cid, _ = docs[did]
        if cid != -1 and kept:
            root_of_cid[cid] = i
    with open(os.path.join(a.out, "decisions.jsonl"), "w") as out:
        for i, did in enumerate(order):
            kept, cid, size = docs[did]
            out.write(json.dumps({"idx": i, "id": did, "kept": kept,
                                  "cluster": root_of_cid.get(cid) if cid != -1 else None,
                                  "cluster_size": size}, ensure_ascii=False) + "\n")
    if a.golden:
        removed = [[i, root_of_cid[docs[did][1]]] for i, did in enumerate(order) if not docs[did][0]]
        with open(a.golden, "w") as g:
            json.dump({"config": str(cfg), "documents": len(order), "removed": removed}, g)
            g.write("\n")
    print(f"{cfg}: {len(order)} docs, kept {sum(v[0] for v in docs.values())}, removed {sum(not v[0] for v in docs.values())}")

if __name__ == "__main__":
    main()
