"""Benchmark suite ``vocab-parallel``: vocabulary-parallel CE vs one process holding all the logits.

Runs only inside a ``torch.distributed`` job: launched by ``torchrun`` (the environment has
``WORLD_SIZE``/``RANK``/``MASTER_ADDR``; the process group is started here with gloo on CPU, NCCL
on CUDA) or in a process that already called ``init_process_group``. Outside one it returns no
rows: a single process has nothing to split. Example::

    torchrun --standalone --nproc-per-node 2 benchmarks/bench_vocab_parallel.py
    torchrun --standalone --nproc-per-node 2 -m outlayer bench     # with the suite selected

Every rank holds an (N, V / world) slice; the rows (from rank 0 only) time forward+backward of
:func:`outlayer.torch.vocab_parallel_cross_entropy` (a barrier closes each iteration, so the time
is the slowest rank's) and, as the reference, ``F.cross_entropy`` on the full (N, V) logits in
rank 0 alone. ``peak_extra_mb`` is rank 0's peak resident rise; ``gbps`` counts one read of the
local logits and one write of their gradient.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

__all__ = ["DEFAULT_SHAPES", "QUICK_SHAPES", "run"]

DEFAULT_SHAPES: tuple[tuple[int, int], ...] = ((4096, 32000),)
QUICK_SHAPES: tuple[tuple[int, int], ...] = ((512, 8000),)
SUITE = "vocab-parallel"


def _ensure_process_group() -> bool:
    """True when a process group exists (started here from torchrun's environment if needed)."""
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    if "WORLD_SIZE" not in os.environ or "MASTER_ADDR" not in os.environ:
        return False
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def run(
    *,
    quick: bool = False,
    dtypes: Sequence[str] = ("float32", "bfloat16"),
    threads: int | None = None,
    shapes: Sequence[tuple[int, int]] | None = None,
    repeats: int | None = None,
) -> list[dict[str, Any]]:
    """Rows with keys suite, case, N, V, d, dtype, impl, mode, median_ms, peak_extra_mb, gbps, tflops, ratio_vs_torch.

    ``shapes`` are (N, V) pairs. Returns [] on ranks other than 0; outside a distributed job, raises
    :class:`SuiteSkipped` (an empty table would look like a result).
    """
    if not _ensure_process_group():
        from outlayer.bench._common import SuiteSkipped

        raise SuiteSkipped("it needs a distributed job: torchrun --standalone --nproc-per-node 2 -m outlayer bench "
                           "--suite vocab-parallel, or PYTHONPATH=src python benchmarks/bench_vocab_parallel.py --spawn 2")
    import torch
    import torch.distributed as dist

    from outlayer.bench.linear_ce import measure_case
    from outlayer.torch import vocab_parallel_cross_entropy

    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() and dist.get_backend() == "nccl" else torch.device("cpu")
    if threads is not None:
        torch.set_num_threads(int(threads))
    shapes = tuple(shapes) if shapes else (QUICK_SHAPES if quick else DEFAULT_SHAPES)
    repeats = repeats or (3 if quick else 5)
    rows: list[dict[str, Any]] = []
    for n, v in shapes:
        for dtype_name in dtypes:
            dtype = getattr(torch, dtype_name)
            gen = torch.Generator().manual_seed(0)
            logits = torch.randn(n, v, generator=gen).to(dtype)
            target = torch.randint(0, v, (n,), generator=gen)
            bounds = [round(i * v / world) for i in range(world + 1)]
            start, stop = bounds[rank], bounds[rank + 1]
            local = logits[:, start:stop].contiguous().to(device)
            target_dev = target.to(device)
            full = logits.to(device) if rank == 0 else None
            del logits

            def sharded() -> Any:
                x = local.detach().requires_grad_(True)
                vocab_parallel_cross_entropy(x, target_dev, vocab_start=start).backward()
                dist.barrier()
                return x.grad

            def single() -> Any:
                x = full.detach().requires_grad_(True)  # type: ignore[union-attr]
                torch.nn.functional.cross_entropy(x, target_dev).backward()
                return x.grad

            sharded_ms, sharded_mb = measure_case(sharded, repeats=repeats)
            results = [("outlayer-vocab-parallel", sharded_ms, sharded_mb, (stop - start))]
            dist.barrier()
            if rank == 0:
                single_ms, single_mb = measure_case(single, repeats=repeats)
                results.insert(0, ("torch-single-process", single_ms, single_mb, v))
            dist.barrier()
            if rank != 0:
                continue
            itemsize = torch.empty((), dtype=dtype).element_size()
            reference_ms = results[0][1]
            for impl, ms, mb, columns in results:
                rows.append(
                    {
                        "suite": SUITE,
                        "case": f"{n}x{v}/{world}",
                        "N": n,
                        "V": v,
                        "d": None,
                        "dtype": dtype_name,
                        "impl": impl,
                        "mode": "forward+backward",
                        "median_ms": ms,
                        "peak_extra_mb": mb,
                        "gbps": 2 * n * columns * itemsize / (ms / 1e3) / 1e9,
                        "tflops": None,
                        "ratio_vs_torch": reference_ms / ms,  # > 1: faster than one process
                        "world_size": world,
                        "device": str(device),
                    }
                )
    return rows
