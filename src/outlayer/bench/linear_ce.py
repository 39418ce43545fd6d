"""Benchmark suite ``linear-ce``: chunked linear+cross-entropy vs the naive full-logits computation.

Cases (forward + backward, gradients of hidden and weight):

* ``torch-naive``: ``F.cross_entropy(h @ W.T, y)`` then ``.backward()`` (the (N, V) logits, their
  log-softmax and their gradient all exist at once);
* ``outlayer``: :func:`outlayer.torch.linear_cross_entropy` (one block of logits at a time);
* ``outlayer-numpy``: :func:`outlayer.linear_ce.linear_cross_entropy_with_grad` (float32 only);
* ``torch-chunked``: torch's own ``F.linear_cross_entropy(..., options=LinearCrossEntropyOptions())``
  (torch >= 2.13), for comparison.

Peak extra memory is :func:`outlayer.bench._common.measure_peak_extra_bytes` (the rise of the
process's peak resident set above its size once the inputs exist); it includes the gradients each
implementation returns. ``tflops`` counts the three matmuls (``6 N d V``); ``gbps`` the minimal
traffic (read ``h`` and ``W``, write their gradients); ``ratio_vs_torch`` is the naive time over
this time (> 1: faster than naive).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["DEFAULT_SHAPES", "QUICK_SHAPES", "measure_case", "run"]

DEFAULT_SHAPES: tuple[tuple[int, int, int], ...] = ((8192, 1024, 32000),)
QUICK_SHAPES: tuple[tuple[int, int, int], ...] = ((1024, 256, 8000),)
SUITE = "linear-ce"


def measure_case(fn: Callable[[], Any], *, repeats: int) -> tuple[float, float | None]:
    """(median milliseconds over ``repeats`` timed calls after one warm-up, peak extra MiB of one call)."""
    from outlayer.bench._common import measure_peak_extra_bytes

    fn()  # warm-up: Numba compilation and first-touch allocations must not count as the kernel's memory
    times = []

    def timed() -> Any:
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1e3)
        return result

    peak = measure_peak_extra_bytes(timed)  # the first timed call also gives the peak: these calls are long
    for _ in range(repeats - 1):
        gc.collect()
        timed()
    return statistics.median(times), peak / 2**20


def _cases(n: int, d: int, v: int, dtype_name: str, chunk_size: int | None) -> dict[str, Callable[[], Any]]:
    import torch

    from outlayer.linear_ce import linear_cross_entropy_with_grad
    from outlayer.torch import linear_cross_entropy

    dtype = getattr(torch, dtype_name)
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(n, d, generator=gen).to(dtype)
    weight = (torch.randn(v, d, generator=gen) / d**0.5).to(dtype)
    target = torch.randint(0, v, (n,), generator=gen)

    def naive() -> Any:
        h, w = hidden.detach().requires_grad_(True), weight.detach().requires_grad_(True)
        torch.nn.functional.cross_entropy(h @ w.T, target).backward()
        return h.grad, w.grad

    def chunked() -> Any:
        h, w = hidden.detach().requires_grad_(True), weight.detach().requires_grad_(True)
        linear_cross_entropy(h, w, target, chunk_size=chunk_size).backward()
        return h.grad, w.grad

    cases: dict[str, Callable[[], Any]] = {"torch-naive": naive, "outlayer": chunked}
    if hasattr(torch.nn, "LinearCrossEntropyOptions"):  # torch >= 2.13 ships its own chunked path
        options = torch.nn.LinearCrossEntropyOptions()

        def torch_chunked() -> Any:
            h, w = hidden.detach().requires_grad_(True), weight.detach().requires_grad_(True)
            torch.nn.functional.linear_cross_entropy(h, w, target, options=options).backward()
            return h.grad, w.grad

        cases["torch-chunked"] = torch_chunked
    if dtype_name == "float32":
        h_np, w_np, t_np = hidden.numpy(), weight.numpy(), target.numpy()
        cases["outlayer-numpy"] = lambda: linear_cross_entropy_with_grad(h_np, w_np, t_np, chunk_size=chunk_size)[1:]
    return cases


def run(
    *,
    quick: bool = False,
    dtypes: Sequence[str] = ("float32", "bfloat16"),
    threads: int | None = None,
    shapes: Sequence[tuple[int, int, int]] | None = None,
    chunk_size: int | None = None,
    repeats: int | None = None,
    impls: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Rows with keys suite, case, N, V, d, dtype, impl, mode, median_ms, peak_extra_mb, gbps, tflops, ratio_vs_torch.

    ``shapes`` are (N, d, V) triples; ``threads`` sets torch's intra-op threads for the run.
    """
    import torch

    for name in dtypes:
        if name not in ("float32", "bfloat16", "float16", "float64"):
            raise ValueError(f"dtype {name!r} is not one of float32, bfloat16, float16, float64")
    shapes = tuple(shapes) if shapes else (QUICK_SHAPES if quick else DEFAULT_SHAPES)
    repeats = repeats or (3 if quick else 5)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    rows: list[dict[str, Any]] = []
    try:
        for n, d, v in shapes:
            for dtype_name in dtypes:
                cases = _cases(n, d, v, dtype_name, chunk_size)
                naive_ms = None
                for impl, fn in cases.items():
                    if impls and impl not in impls:
                        continue
                    median_ms, peak_mb = measure_case(fn, repeats=repeats)
                    naive_ms = median_ms if impl == "torch-naive" else naive_ms
                    itemsize = torch.empty((), dtype=getattr(torch, dtype_name)).element_size()
                    seconds = median_ms / 1e3
                    rows.append(
                        {
                            "suite": SUITE,
                            "case": f"{n}x{d}x{v}",
                            "N": n,
                            "V": v,
                            "d": d,
                            "dtype": dtype_name,
                            "impl": impl,
                            "mode": "forward+backward",
                            "median_ms": median_ms,
                            "peak_extra_mb": peak_mb,
                            "gbps": 2 * (n * d + v * d) * itemsize / seconds / 1e9,
                            "tflops": 6 * n * d * v / seconds / 1e12,
                            # the suites' convention (outlayer.bench.ce): torch time / this time, > 1 is faster
                            "ratio_vs_torch": None if naive_ms is None else naive_ms / median_ms,
                            "threads": torch.get_num_threads(),
                            "chunk_size": chunk_size,
                        }
                    )
    finally:
        torch.set_num_threads(old_threads)
    return rows
