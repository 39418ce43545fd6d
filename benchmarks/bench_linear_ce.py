"""Chunked linear+cross-entropy vs naive ``F.cross_entropy(h @ W.T, y)`` on the CPU.

    PYTHONPATH=src python benchmarks/bench_linear_ce.py                      # the goal's shape, float32
    PYTHONPATH=src python benchmarks/bench_linear_ce.py --quick              # small shape, seconds
    PYTHONPATH=src python benchmarks/bench_linear_ce.py --chunk-sweep 64,256,1024,4096 --shape 2048,1024,32000
    PYTHONPATH=src python benchmarks/bench_linear_ce.py --fresh-process          # memory incl. first call
    PYTHONPATH=src python benchmarks/bench_linear_ce.py --gemms --shape 4096,1024,32000   # time vs 3 GEMMs

Goal (issue 7): at N=8192, d=1024, V=32000 float32, ``outlayer`` peak extra memory <= 1/8 of
``torch-naive`` at <= 1.3x its time. Prints a markdown table and the goal's verdict; ``--json``
writes the rows.

``--fresh-process`` (issue 10): each implementation runs once in a new interpreter, so its peak
includes everything the first call does (Numba's compilation of the kernel, thread pools, the
allocator's first growth): the rise of the process's resident high-water mark from just before
the call (inputs built, modules imported) to its end. With ``--cold-cache`` Numba compiles from
scratch (an empty NUMBA_CACHE_DIR), as on a fresh installation. Goal: <= 1/8 of the naive peak.

``--gemms`` times the three matrix products linear+CE cannot avoid (``H W^T``, ``dZ W``,
``dZ^T H``) at the same shape, in torch and in NumPy (their BLAS differ), next to ``outlayer``
(torch) and ``outlayer-numpy``; each is compared with its own library's GEMMs.
Goal (issue 10): linear+CE within 1.1x of the three GEMMs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


FRESH_IMPLS = ("torch-naive", "outlayer", "outlayer-numpy")

# One call of one implementation in a new interpreter; prints {"peak_extra_mb", "seconds"}.
_FRESH_CODE = """
import json, sys, time
import numpy as np, torch
from outlayer.bench._common import measure_peak_extra_bytes
impl, n, d, v, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
chunk = int(sys.argv[6]) or None
if threads > 0:
    torch.set_num_threads(threads)
gen = torch.Generator().manual_seed(0)
hidden = torch.randn(n, d, generator=gen)
weight = torch.randn(v, d, generator=gen) / d ** 0.5
target = torch.randint(0, v, (n,), generator=gen)
if impl == "torch-naive":
    def call():
        h, w = hidden.detach().requires_grad_(True), weight.detach().requires_grad_(True)
        torch.nn.functional.cross_entropy(h @ w.T, target).backward()
        return h.grad, w.grad
elif impl == "outlayer":
    from outlayer.torch import linear_cross_entropy
    def call():
        h, w = hidden.detach().requires_grad_(True), weight.detach().requires_grad_(True)
        linear_cross_entropy(h, w, target, chunk_size=chunk).backward()
        return h.grad, w.grad
else:
    from outlayer.linear_ce import linear_cross_entropy_with_grad
    h_np, w_np, t_np = hidden.numpy(), weight.numpy(), target.numpy()
    def call():
        return linear_cross_entropy_with_grad(h_np, w_np, t_np, chunk_size=chunk)[1:]
start = time.perf_counter()
peak = measure_peak_extra_bytes(call)
print(json.dumps({"peak_extra_mb": peak / 2 ** 20, "seconds": time.perf_counter() - start}))
"""


def fresh_process_rows(shape: tuple[int, int, int], *, cold_cache: bool, threads: int | None, chunk_size: int | None = None) -> list[dict]:
    """Peak extra memory of one forward+backward per implementation, each in a new interpreter."""
    n, d, v = shape
    src = str(Path(__file__).resolve().parents[1] / "src")
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for impl in FRESH_IMPLS:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
            if cold_cache:
                env["NUMBA_CACHE_DIR"] = str(Path(cache) / impl)  # empty: the kernel compiles in this call
            done = subprocess.run(
                [sys.executable, "-c", _FRESH_CODE, impl, str(n), str(d), str(v), str(threads or 0), str(chunk_size or 0)],
                capture_output=True, text=True, env=env, check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"{impl} failed in its fresh process:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"case": f"{n}x{d}x{v}", "impl": impl, "cold_cache": cold_cache, "chunk_size": chunk_size, **result})
    naive = next(row["peak_extra_mb"] for row in rows if row["impl"] == "torch-naive")
    for row in rows:
        row["memory_vs_naive"] = row["peak_extra_mb"] / naive
    return rows


def gemm_rows(shape: tuple[int, int, int], *, repeats: int, threads: int | None) -> list[dict]:
    """Median seconds of the three GEMMs of linear+CE, of outlayer (torch) and of outlayer-numpy."""
    import torch

    from outlayer.linear_ce import linear_cross_entropy_with_grad
    from outlayer.torch import linear_cross_entropy

    if threads:
        torch.set_num_threads(threads)
    n, d, v = shape
    gen = torch.Generator().manual_seed(0)
    hidden, weight = torch.randn(n, d, generator=gen), torch.randn(v, d, generator=gen) / d**0.5
    target = torch.randint(0, v, (n,), generator=gen)
    logits_grad = torch.randn(n, v, generator=gen)

    def gemms() -> tuple:
        return hidden @ weight.T, logits_grad @ weight, logits_grad.T @ hidden

    h_np, w_np, t_np, dz_np = hidden.numpy(), weight.numpy(), target.numpy(), logits_grad.numpy()

    def numpy_gemms() -> tuple:  # NumPy's BLAS (OpenBLAS in the wheels) is not torch's: its own baseline
        return h_np @ w_np.T, (w_np.T @ dz_np.T).T, dz_np.T @ h_np

    def chunked() -> None:
        h, w = hidden.detach().requires_grad_(True), weight.detach().requires_grad_(True)
        linear_cross_entropy(h, w, target).backward()

    cases = {
        "three GEMMs (torch)": gemms,
        "outlayer (torch)": chunked,
        "three GEMMs (numpy)": numpy_gemms,
        "outlayer-numpy": lambda: linear_cross_entropy_with_grad(h_np, w_np, t_np),
    }
    rows = []
    for name, fn in cases.items():
        fn()  # warm-up: compilation, first-touch allocations
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        times.sort()
        rows.append({"case": f"{n}x{d}x{v}", "impl": name, "median_s": times[len(times) // 2], "min_s": times[0]})
    # against torch's GEMMs (the fastest here), and each against its own library's, in the same run
    for row, own in zip(rows, (rows[0], rows[0], rows[2], rows[2])):
        row["vs_gemms"] = row["median_s"] / rows[0]["median_s"]
        row["vs_own_gemms"] = row["median_s"] / own["median_s"]
    return rows


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
    parser.add_argument("--fresh-process", action="store_true", help="peak memory of one call per implementation, each in a new interpreter")
    parser.add_argument("--cold-cache", action="store_true", help="with --fresh-process: compile Numba from an empty cache")
    parser.add_argument("--gemms", action="store_true", help="time linear+CE against its three GEMMs")
    args = parser.parse_args(argv)
    if args.fresh_process or args.gemms:
        shape = tuple(args.shape) if args.shape else ((1024, 256, 8000) if args.quick else (8192, 1024, 32000))
        if args.fresh_process:
            rows = fresh_process_rows(shape, cold_cache=args.cold_cache, threads=args.threads, chunk_size=args.chunk_size)  # type: ignore[arg-type]
            print(markdown_table(rows, ("case", "impl", "cold_cache", "chunk_size", "peak_extra_mb", "memory_vs_naive", "seconds")))
            for row in rows[1:]:
                print(f"{row['case']} {row['impl']}: fresh-process peak {row['memory_vs_naive']:.3f}x naive (goal <= 0.125)")
        else:
            rows = gemm_rows(shape, repeats=args.repeats or 3, threads=args.threads)  # type: ignore[arg-type]
            print(markdown_table(rows, ("case", "impl", "median_s", "min_s", "vs_gemms", "vs_own_gemms")))
            for row in (rows[1], rows[3]):
                print(
                    f"{row['case']} {row['impl']}: {row['vs_gemms']:.2f}x torch's three GEMMs, "
                    f"{row['vs_own_gemms']:.2f}x its own library's (goal <= 1.1)"
                )
        if args.json:
            atomic_write_json(args.json, rows)
        return 0
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
