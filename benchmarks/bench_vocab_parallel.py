"""Vocabulary-parallel cross-entropy vs one process holding all the logits.

    torchrun --standalone --nproc-per-node 2 benchmarks/bench_vocab_parallel.py      # any launcher
    PYTHONPATH=src python benchmarks/bench_vocab_parallel.py --spawn 2 --quick        # no torchrun

``--spawn K`` starts K local processes itself (gloo, ``file://`` rendezvous). Rank 0 prints a
markdown table; ``--json`` writes its rows.
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


def _measure(args: argparse.Namespace) -> None:
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
