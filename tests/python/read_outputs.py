"""Reads a sluice output directory with pyarrow, Hugging Face datasets, polars and DuckDB and
checks that each sees the same rows and types as the manifest says.

Usage: python3 tests/python/read_outputs.py OUT_DIR
Exit 0 on success; 3 if a library is missing (the Rust test decides whether that is a skip);
1 on a real mismatch.
"""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
manifest = json.loads((out / "manifest.json").read_text())
missing = []
checked = []


def expect(cond, msg):
    if not cond:
        print(f"FAIL: {msg}")
        sys.exit(1)


for split, info in manifest["splits"].items():
    files = sorted(str(out / s["path"]) for s in info["shards"])
    if not files:
        continue
    n_docs, n_tokens = info["num_documents"], info["num_tokens"]

    try:
        import pyarrow.parquet as pq
    except ImportError:
        missing.append("pyarrow")
    else:
        rows = tokens = 0
        for f, s in zip(files, sorted(info["shards"], key=lambda s: s["path"])):
            pf = pq.ParquetFile(f)
            expect(pf.metadata.num_row_groups == len(s["row_groups"]), f"{f}: row groups")
            for i in range(pf.metadata.num_row_groups):
                expect(pf.metadata.row_group(i).num_rows == s["row_groups"][i], f"{f}: rg {i} rows")
            t = pf.read()
            expect(str(t.schema.field("input_ids").type) == "list<element: int32 not null>", f"{f}: {t.schema}")
            expect(pf.schema_arrow.field("input_ids").nullable is False, "input_ids nullable")
            rows += t.num_rows
            tokens += sum(t.column("num_tokens").to_pylist())
            lens = [len(x) for x in t.column("input_ids").to_pylist()]
            expect(lens == t.column("num_tokens").to_pylist(), "num_tokens == len(input_ids)")
            expect(pf.metadata.created_by.startswith("sluice"), pf.metadata.created_by)
        expect(rows == n_docs and tokens == n_tokens, f"pyarrow {split}: {rows} rows {tokens} tokens")
        checked.append(f"pyarrow:{split}")

    try:
        import datasets
    except ImportError:
        missing.append("datasets")
    else:
        ds = datasets.load_dataset("parquet", data_files={split: files}, split=split)
        expect(len(ds) == n_docs, f"datasets {split}: {len(ds)}")
        expect(str(ds.features["input_ids"].feature.dtype) == "int32", str(ds.features))
        expect(sum(ds["num_tokens"]) == n_tokens, "datasets tokens")
        checked.append(f"datasets:{split}")

    try:
        import polars as pl
    except ImportError:
        missing.append("polars")
    else:
        df = pl.read_parquet(files)
        expect(df.height == n_docs, f"polars {split}")
        expect(df["num_tokens"].sum() == n_tokens, "polars tokens")
        expect(df.schema["input_ids"] == pl.List(pl.Int32), str(df.schema))
        checked.append(f"polars:{split}")

    try:
        import duckdb
    except ImportError:
        missing.append("duckdb")
    else:
        q = f"SELECT count(*), sum(num_tokens), sum(len(input_ids)) FROM read_parquet({files!r})"
        n, t, t2 = duckdb.sql(q).fetchall()[0]
        expect(n == n_docs and t == n_tokens and t2 == n_tokens, f"duckdb {split}: {n} {t} {t2}")
        checked.append(f"duckdb:{split}")

print("checked:", ", ".join(checked))
if missing:
    print("missing:", ", ".join(sorted(set(missing))))
    sys.exit(3)
