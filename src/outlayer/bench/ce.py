"""Benchmark suite ``ce``: softmax-cross-entropy over (N, V) logits, fused kernel vs PyTorch.

Implementations (each in "forward" and "forward+backward" mode; the gradient is returned, so
its buffer counts in the peak memory of every implementation alike):

* ``torch``: ``torch.nn.functional.cross_entropy`` eager (log_softmax + nll_loss), ``.backward()``;
* ``torch.compile``: the same function through ``torch.compile`` (where it compiles);
* ``outlayer``: :func:`outlayer.torch.cross_entropy` (the fused Numba kernel on CPU);
* ``outlayer-inplace``: the same with ``inplace=True`` (gradient written over the logits);
* ``numpy-ref``: the core's NumPy reference, ``outlayer.cross_entropy_with_grad(..., impl="reference")``
  (float32 only, shapes up to 1 GiB of logits);
* ``copy``: ``np.copyto`` of the logits' bytes into an existing buffer, the floor for one read
  and one write;
* ``copy-new-buffer``: the same copy into a freshly allocated buffer (``np.copy``): what any
  out-of-place gradient also pays, the operating system's zeroing of new pages (page faults).

Columns: ``gbps`` is the minimal traffic over the time (forward: read the logits once;
forward+backward: read them and write the gradient); ``ratio_vs_torch`` = torch eager time /
this time (above 1: faster than PyTorch), ``ratio_vs_copy`` = this time / copy time (1 is the
memory-bandwidth floor for forward+backward); ``peak_x_logits`` = peak extra memory / logits size.
A case whose estimated memory exceeds what the machine has free is listed with a note, untimed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from outlayer.bench._common import (
    copy_baseline_ms,
    measure_peak_extra_bytes,
    memory_available_bytes,
    time_callable,
)

__all__ = ["DEFAULT_SHAPES", "IMPLS", "QUICK_SHAPES", "SUITE", "run"]

SUITE = "ce"
#: The anchors' shapes: Liger Kernel's (4096, 32000) and (16384, 32768), a 250k vocabulary with
#: an odd row count, and a 128k vocabulary.
DEFAULT_SHAPES: tuple[tuple[int, int], ...] = ((4096, 32000), (16384, 32768), (511, 250002), (8192, 131072))
QUICK_SHAPES: tuple[tuple[int, int], ...] = ((512, 8000),)
IMPLS = ("copy", "copy-new-buffer", "torch", "torch.compile", "outlayer", "outlayer-inplace", "numpy-ref")
MODES = ("forward", "forward+backward")

_DTYPES = ("float32", "bfloat16", "float64")
# Peak memory of forward+backward in units of the logits' size (input excluded), to skip a case
# that would not fit: PyTorch keeps log-softmax and a gradient plus a temporary; the reference
# holds a few float64-free temporaries; the copy baseline allocates a source and a target.
_MEMORY_FACTOR = {"copy": 2.2, "copy-new-buffer": 1.2, "torch": 3.5, "torch.compile": 3.5, "outlayer": 1.2, "outlayer-inplace": 1.2, "numpy-ref": 6.0}
_NUMPY_REF_MAX_BYTES = 1 << 30
_MEMORY_HEADROOM = 0.7  # use at most this share of the free memory (the machine is shared)


def _implementations(dtype: Any, chosen: Sequence[str]) -> dict[str, dict[str, Callable[..., Any]]]:
    """impl -> mode -> fn(logits, target) for torch tensors, for the chosen implementations."""
    import torch
    import torch.nn.functional as F

    from outlayer.torch import cross_entropy

    def forward_of(loss_fn: Callable[..., Any]) -> Callable[..., Any]:
        def forward(logits: Any, target: Any) -> Any:
            with torch.no_grad():
                return loss_fn(logits, target)

        return forward

    def forward_backward_of(loss_fn: Callable[..., Any]) -> Callable[..., Any]:
        def forward_backward(logits: Any, target: Any) -> Any:
            leaf = logits.detach().requires_grad_()
            loss_fn(leaf, target).backward()
            return leaf.grad

        return forward_backward

    def inplace_forward_backward(logits: Any, target: Any) -> Any:
        leaf = logits.detach().requires_grad_()
        cross_entropy(leaf, target, inplace=True).backward()
        return leaf.grad

    impls: dict[str, dict[str, Callable[..., Any]]] = {
        "torch": {"forward": forward_of(F.cross_entropy), "forward+backward": forward_backward_of(F.cross_entropy)},
        "outlayer": {"forward": forward_of(cross_entropy), "forward+backward": forward_backward_of(cross_entropy)},
        "outlayer-inplace": {"forward+backward": inplace_forward_backward},
    }
    if "torch.compile" in chosen:  # importing dynamo alone takes seconds: only when asked
        # A fresh cache per case: dynamo stops recompiling after 8 variants (shapes x dtypes x
        # grad modes) and silently runs eager code after that.
        torch._dynamo.reset()
        compiled = torch.compile(F.cross_entropy, dynamic=False)
        impls["torch.compile"] = {"forward": forward_of(compiled), "forward+backward": forward_backward_of(compiled)}
    if dtype == torch.float32 and "numpy-ref" in chosen:
        from outlayer import cross_entropy as np_cross_entropy
        from outlayer import cross_entropy_with_grad as np_cross_entropy_with_grad

        def reference_forward(logits: Any, target: Any) -> Any:
            return np_cross_entropy(logits.numpy(), target.numpy(), impl="reference")

        def reference_forward_backward(logits: Any, target: Any) -> Any:
            return np_cross_entropy_with_grad(logits.numpy(), target.numpy(), impl="reference")

        impls["numpy-ref"] = {"forward": reference_forward, "forward+backward": reference_forward_backward}
    return impls


def _row(n: int, v: int, dtype_name: str, impl: str, mode: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "suite": SUITE,
        "case": f"{n}x{v}",
        "N": n,
        "V": v,
        "dtype": dtype_name,
        "impl": impl,
        "mode": mode,
        "median_ms": None,
        "min_ms": None,
        "iqr_ms": None,
        "repeats": 0,
        "peak_extra_mb": None,
        "peak_x_logits": None,
        "gbps": None,
        "ratio_vs_torch": None,
        "ratio_vs_copy": None,
        "note": "",
    }
    row.update(values)
    return row


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:160]


def run(
    *,
    quick: bool = False,
    dtypes: Sequence[str] = ("float32", "bfloat16"),
    threads: int | None = None,
    shapes: Sequence[tuple[int, int]] | None = None,
    impls: Sequence[str] | None = None,
    repeats: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Time each implementation on each (N, V) shape and dtype; one row per (case, impl, mode).

    Args:
      quick: a small shape and 3 repeats (a smoke run, e.g. in CI).
      dtypes: any of "float32", "bfloat16", "float64".
      threads: threads for torch and for the fused kernel (None: their defaults).
      shapes: (N, V) pairs; default DEFAULT_SHAPES (QUICK_SHAPES when quick).
      impls: a subset of IMPLS (torch eager always runs: the ratios need it).
      repeats: timed repeats per row (default 7, 3 when quick; the largest shapes use 3).
      progress: called with one line per finished row (e.g. ``print``).
    """
    import torch

    from outlayer._dispatch import numba_usable as fused_available
    from outlayer.kernels import set_num_threads

    for name in dtypes:
        if name not in _DTYPES:
            raise ValueError(f"dtype {name!r} is not one of {', '.join(_DTYPES)}")
    chosen = tuple(IMPLS) if impls is None else tuple(impls)
    for name in chosen:
        if name not in IMPLS:
            raise ValueError(f"impl {name!r} is not one of {', '.join(IMPLS)}")
    chosen = tuple(name for name in IMPLS if name in chosen or name in ("torch", "copy"))
    shapes = tuple(shapes) if shapes else (QUICK_SHAPES if quick else DEFAULT_SHAPES)
    for shape in shapes:
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape {shape!r} is not a pair (N, V) of positive integers")
    default_repeats = repeats or (3 if quick else 7)

    old_torch_threads = torch.get_num_threads()
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads={threads!r} must be at least 1")
        torch.set_num_threads(int(threads))
    fused_threads = set_num_threads(threads) if fused_available() else None
    rows: list[dict[str, Any]] = []
    compile_error: str | None = None
    try:
        for n, v in shapes:
            for dtype_name in dtypes:
                dtype = getattr(torch, dtype_name)
                generator = torch.Generator().manual_seed(0)
                logits = torch.randn(n, v, generator=generator).to(dtype)
                target = torch.randint(0, v, (n,), generator=generator)
                logits_bytes = logits.numel() * logits.element_size()
                large = logits_bytes > (1 << 31)
                case_repeats = min(default_repeats, 3) if large else default_repeats
                warmup = 1 if large or quick else 2
                implementations = _implementations(dtype, chosen)
                copy_ms = None
                torch_ms: dict[str, float] = {}
                for impl in chosen:
                    available = memory_available_bytes()
                    need = _MEMORY_FACTOR[impl] * logits_bytes
                    if impl.startswith("copy"):
                        modes: tuple[str, ...] = ("forward+backward",)
                    else:
                        modes = tuple(m for m in MODES if m in implementations.get(impl, {}))
                    skip = None
                    if not impl.startswith("copy") and impl not in implementations:
                        skip = "not for this dtype"
                    elif impl == "numpy-ref" and logits_bytes > _NUMPY_REF_MAX_BYTES:
                        skip = "skipped: reference path limited to 1 GiB of logits"
                    elif impl.startswith("outlayer") and not fused_available():
                        skip = "skipped: numba missing (reference path)"
                    elif impl == "torch.compile" and compile_error is not None:
                        skip = f"does not compile here: {compile_error}"
                    elif available is not None and need > _MEMORY_HEADROOM * available:
                        skip = f"skipped: needs ~{need / 2**30:.1f} GiB, {available / 2**30:.1f} GiB free"
                    if skip is not None:
                        if not impl.startswith("copy") and impl not in implementations:
                            continue
                        for mode in modes:
                            rows.append(_row(n, v, dtype_name, impl, mode, note=skip))
                        continue
                    if impl == "copy":
                        copy_ms = copy_baseline_ms(logits_bytes, repeats=case_repeats)
                        rows.append(
                            _row(
                                n, v, dtype_name, "copy", "forward+backward",
                                median_ms=copy_ms, repeats=case_repeats,
                                gbps=2 * logits_bytes / (copy_ms / 1e3) / 1e9, ratio_vs_copy=1.0,
                            )
                        )
                        continue
                    if impl == "copy-new-buffer":
                        raw = logits.view(torch.int16) if dtype == torch.bfloat16 else logits
                        source = raw.numpy()
                        timing = time_callable(source.copy, warmup=warmup, repeats=case_repeats)
                        rows.append(
                            _row(
                                n, v, dtype_name, impl, "forward+backward",
                                median_ms=timing["median_ms"], iqr_ms=timing["iqr_ms"], repeats=case_repeats,
                                gbps=2 * logits_bytes / (timing["median_ms"] / 1e3) / 1e9,
                                ratio_vs_copy=timing["median_ms"] / copy_ms if copy_ms else None,
                            )
                        )
                        continue
                    scratch = logits.clone() if impl == "outlayer-inplace" else logits
                    for mode in modes:
                        fn = implementations[impl][mode]
                        note = ""
                        try:
                            start = time.perf_counter()
                            fn(scratch, target)
                            first_call_s = time.perf_counter() - start
                            timing = time_callable(lambda: fn(scratch, target), warmup=warmup - 1, repeats=case_repeats)
                            peak = measure_peak_extra_bytes(lambda: fn(scratch, target))
                        except Exception as exc:  # torch.compile without a working toolchain, ...
                            if impl == "torch.compile":
                                compile_error = _first_line(exc)
                            rows.append(_row(n, v, dtype_name, impl, mode, note=_first_line(exc)))
                            continue
                        if impl == "torch.compile":
                            note = f"first call {first_call_s:.1f} s"
                        if impl == "outlayer-inplace":
                            note = "gradient written over the logits"
                        median_ms = float(timing["median_ms"])
                        if impl == "torch":
                            torch_ms[mode] = median_ms
                        moved = logits_bytes * (2 if mode == "forward+backward" else 1)
                        rows.append(
                            _row(
                                n, v, dtype_name, impl, mode,
                                median_ms=median_ms,
                                min_ms=timing["min_ms"],
                                iqr_ms=timing["iqr_ms"],
                                repeats=case_repeats,
                                peak_extra_mb=peak / 2**20,
                                peak_x_logits=peak / logits_bytes,
                                gbps=moved / (median_ms / 1e3) / 1e9,
                                ratio_vs_torch=(torch_ms[mode] / median_ms) if mode in torch_ms else None,
                                ratio_vs_copy=(median_ms / copy_ms) if copy_ms else None,
                                first_call_s=first_call_s,
                                note=note,
                            )
                        )
                        if progress is not None:
                            progress(f"{SUITE} {n}x{v} {dtype_name} {impl} {mode}: {median_ms:.1f} ms")
                    del scratch
                del logits, target, implementations
    finally:
        torch.set_num_threads(old_torch_threads)
        if fused_threads is not None:
            set_num_threads(None)
    for row in rows:
        row["threads"] = int(threads) if threads is not None else old_torch_threads
        row["fused_threads"] = fused_threads
    return rows
