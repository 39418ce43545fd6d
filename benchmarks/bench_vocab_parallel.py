"""Vocabulary-parallel cross-entropy vs one process holding all the logits.

    torchrun --standalone --nproc-per-node 2 benchmarks/bench_vocab_parallel.py      # any launcher
    PYTHONPATH=src python benchmarks/bench_vocab_parallel.py --spawn 2 --quick        # no torchrun
    PYTHONPATH=src python benchmarks/bench_vocab_parallel.py --spawn 2 --linear 4096,1024,32000

``--spawn K`` starts K local processes itself (gloo, ``file://`` rendezvous). Rank 0 prints a
markdown table; ``--json`` writes its rows.

``--linear N,d,V`` measures the linear form instead: ``vocab_parallel_linear_cross_entropy``
(blocks of rows, no rank holds its (N, V / K) logits) against the same loss through the logits
form on each rank's materialised ``hidden @ local_weight.T`` (what the linear form did before it
was chunked), forward + backward of hidden and the weight slice; rank 0's time and peak memory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from outlayer._io import atomic_write_json
from outlayer.bench._common import markdown_table
from outlayer.bench.vocab_parallel import run

COLUMNS = ("case", "dtype", "impl", "world_size", "median_ms", "peak_extra_mb", "gbps", "ratio_vs_torch")


def _table(rows: list[dict]) -> str:
    return markdown_table(rows, COLUMNS)


def _measure_linear(args: argparse.Namespace) -> list[dict]:
    import torch
    import torch.distributed as dist

    from outlayer.bench.linear_ce import measure_case
    from outlayer.torch import vocab_parallel_cross_entropy, vocab_parallel_linear_cross_entropy

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n, d, v = (int(x) for x in args.linear.split(","))
    rank, world = dist.get_rank(), dist.get_world_size()
    bounds = [round(i * v / world) for i in range(world + 1)]
    start, stop = bounds[rank], bounds[rank + 1]
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(n, d, generator=gen)
    weight = torch.randn(v, d, generator=gen) / d**0.5
    target = torch.randint(0, v, (n,), generator=gen)
    local_weight = weight[start:stop].contiguous()
    del weight

    def chunked() -> object:
        h, w = hidden.detach().requires_grad_(True), local_weight.detach().requires_grad_(True)
        vocab_parallel_linear_cross_entropy(h, w, target, vocab_start=start, chunk_size=args.chunk_size).backward()
        dist.barrier()
        return h.grad, w.grad

    def materialised() -> object:
        h, w = hidden.detach().requires_grad_(True), local_weight.detach().requires_grad_(True)
        logits = h @ w.T  # (N, V / K) on every rank
        vocab_parallel_cross_entropy(logits, target, vocab_start=start).backward()
        dist.barrier()
        return h.grad, w.grad

    rows = []
    for impl, fn in (("logits-form-materialised", materialised), ("outlayer-linear-chunked", chunked)):
        dist.barrier()
        ms, mb = measure_case(fn, repeats=args.repeats or 3)
        rows.append({"case": f"{n}x{d}x{v}/{world}", "dtype": "float32", "impl": impl, "world_size": world, "median_ms": ms, "peak_extra_mb": mb})
    for row in rows:
        row["ratio_vs_torch"] = rows[0]["median_ms"] / row["median_ms"]  # > 1: faster than the materialised form
    return rows if rank == 0 else []


def _measure(args: argparse.Namespace) -> None:
    if args.linear:
        rows = _measure_linear(args)
        if rows:
            print(_table(rows), flush=True)
            if args.json:
                atomic_write_json(args.json, rows)
        return
    shapes = [tuple(int(x) for x in args.shape.split(","))] if args.shape else None
    rows = run(quick=args.quick, dtypes=tuple(args.dtype or ["float32"]), shapes=shapes, threads=args.threads, repeats=args.repeats)
    if rows:  # rank 0 only
        print(_table(rows), flush=True)
        if args.json:
            atomic_write_json(args.json, rows)


def _spawned(rank: int, world: int, init_file: str, args: argparse.Namespace) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        _measure(args)
    finally:
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawn", type=int, default=0, metavar="K", help="start K local processes instead of using torchrun")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--shape", help="N,V (default 4096,32000)")
    parser.add_argument("--dtype", action="append")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--threads", type=int, default=None, help="torch threads per process")
    parser.add_argument("--linear", metavar="N,d,V", help="measure the linear form at this shape instead")
    parser.add_argument("--chunk-size", type=int, default=None, help="rows per block of the linear form (default: about 64 MiB of logits)")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.spawn:
        import torch.multiprocessing as mp

        with tempfile.TemporaryDirectory() as tmp:
            mp.spawn(_spawned, args=(args.spawn, str(Path(tmp) / "rendezvous"), args), nprocs=args.spawn, join=True)
        return 0
    _measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
