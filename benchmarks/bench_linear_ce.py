"""Chunked linear+cross-entropy vs naive ``F.cross_entropy(h @ W.T, y)`` on the CPU.

    PYTHONPATH=src python benchmarks/bench_linear_ce.py                      # the goal's shape, float32
    PYTHONPATH=src python benchmarks/bench_linear_ce.py --quick              # small shape, seconds
    PYTHONPATH=src python benchmarks/bench_linear_ce.py --chunk-sweep 64,256,1024,4096 --shape 2048,1024,32000

Goal (issue 7): at N=8192, d=1024, V=32000 float32, ``outlayer`` peak extra memory <= 1/8 of
``torch-naive`` at <= 1.3x its time. Prints a markdown table and the goal's verdict; ``--json``
writes the rows.
"""

from __future__ import annotations

import argparse
import sys

from outlayer._io import atomic_write_json
from outlayer.bench._common import markdown_table
from outlayer.bench.linear_ce import run

# ratio_vs_torch = naive time / this time (> 1: faster), as in every outlayer bench suite
COLUMNS = ("case", "dtype", "impl", "chunk_size", "threads", "median_ms", "peak_extra_mb", "tflops", "ratio_vs_torch")


def _table(rows: list[dict]) -> str:
    return markdown_table(rows, COLUMNS)


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise SystemExit(f"expected comma-separated integers, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--shape", type=_ints, help="N,d,V (default 8192,1024,32000)")
    parser.add_argument("--dtype", action="append", help="float32 (default), bfloat16, ...; repeatable")
    parser.add_argument("--chunk-size", type=int, default=None, help="rows per block (default: outlayer's choice)")
    parser.add_argument("--chunk-sweep", type=_ints, help="measure outlayer at each of these chunk sizes")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--impl", action="append", help="only these implementations (torch-naive, outlayer, outlayer-numpy, torch-chunked)")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    shapes = [tuple(args.shape)] if args.shape else None
    dtypes = tuple(args.dtype or ["float32"])
    rows: list[dict] = []
    if args.chunk_sweep:
        common = dict(quick=args.quick, dtypes=dtypes, shapes=shapes, threads=args.threads, repeats=args.repeats)
        rows += run(**common, impls=("torch-naive", "outlayer"))
        for chunk in args.chunk_sweep:
            for row in run(**common, chunk_size=chunk, impls=("outlayer",)):
                naive = next(r for r in rows if r["impl"] == "torch-naive" and r["case"] == row["case"] and r["dtype"] == row["dtype"])
                row["ratio_vs_torch"] = naive["median_ms"] / row["median_ms"]
                rows.append(row)
    else:
        rows = run(quick=args.quick, dtypes=dtypes, shapes=shapes, threads=args.threads, repeats=args.repeats, chunk_size=args.chunk_size, impls=args.impl)
    print(_table(rows))
    for row in rows:
        naive = next((r for r in rows if r["impl"] == "torch-naive" and r["case"] == row["case"] and r["dtype"] == row["dtype"]), None)
        if row["impl"] == "outlayer" and naive is not None:
            memory_ratio = row["peak_extra_mb"] / naive["peak_extra_mb"] if row["peak_extra_mb"] and naive["peak_extra_mb"] else float("nan")
            time_ratio = row["median_ms"] / naive["median_ms"]
            print(
                f"{row['case']} {row['dtype']} chunk={row['chunk_size']}: memory {memory_ratio:.3f}x naive (goal <= 0.125), "
                f"time {time_ratio:.2f}x naive (goal <= 1.3)"
            )
    if args.json:
        atomic_write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
