"""Measuring helpers shared by the benchmark suites: timing, peak memory, the copy baseline, tables.

Timings are medians over repeats after warm-up (the machines these run on are shared and noisy;
the median and the interquartile range say how much). Ratios are only meaningful between rows
of one run: same machine, same threads, same moment.
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: Columns of the bench table, in order; a column no row fills is left out when printing.
TABLE_COLUMNS: tuple[str, ...] = (
    "suite",
    "case",
    "dtype",
    "mode",
    "impl",
    "median_ms",
    "iqr_ms",
    "gbps",
    "tflops",
    "ratio_vs_torch",
    "ratio_vs_copy",
    "peak_extra_mb",
    "peak_x_logits",
    "note",
)

__all__ = [
    "TABLE_COLUMNS",
    "copy_baseline_ms",
    "machine_info",
    "markdown_table",
    "measure_peak_extra_bytes",
    "memory_available_bytes",
    "time_callable",
]


class SuiteSkipped(Exception):
    """A suite that cannot run in this process (its message says why and how to run it)."""


def time_callable(fn: Callable[[], Any], *, warmup: int = 2, repeats: int = 7) -> dict[str, float | int]:
    """Wall time of ``fn()``: ``warmup`` untimed calls, then ``repeats`` timed ones.

    Returns ``{"median_ms", "min_ms", "iqr_ms", "repeats"}`` (IQR = 75th - 25th percentile).
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats!r} must be at least 1")
    for _ in range(max(warmup, 0)):
        fn()
    times_ms = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times_ms.append((time.perf_counter() - start) * 1e3)
    q25, q75 = np.percentile(times_ms, [25, 75])
    return {
        "median_ms": float(statistics.median(times_ms)),
        "min_ms": float(min(times_ms)),
        "iqr_ms": float(q75 - q25),
        "repeats": repeats,
    }


def _status_kib(field: str) -> int | None:
    """A ``/proc/self/status`` field in KiB (Linux), or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _return_freed_memory_to_os() -> None:
    """Make freed buffers leave the resident set so that a later peak counts live memory only.

    glibc keeps freed blocks under its (self-raising, up to 32 MiB) mmap threshold in the heap,
    where reusing them would not raise the peak: pin the threshold at 64 KiB and trim the heap.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD; setting it also stops its dynamic growth
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def measure_peak_extra_bytes(fn: Callable[[], Any]) -> int:
    """Peak memory above the baseline while ``fn()`` runs, in bytes (what it returns included).

    Linux: the rise of the resident set's high-water mark (``VmHWM``, reset to the current size
    by writing 5 to ``/proc/self/clear_refs``) over the resident size before the call; it sees
    every allocation that is touched, whoever makes it (NumPy, torch, numba). Elsewhere, or if
    the reset is refused: tracemalloc's peak, which sees NumPy's allocations only.
    """
    gc.collect()
    _return_freed_memory_to_os()
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        before = _status_kib("VmRSS")
    except OSError:
        before = None
    if before is None:
        import tracemalloc

        tracemalloc.start()
        try:
            result = fn()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        del result
        return int(peak)
    result = fn()
    peak_kib = _status_kib("VmHWM") or before
    del result
    return max(peak_kib - before, 0) * 1024


def copy_baseline_ms(nbytes: int, *, warmup: int = 1, repeats: int = 7) -> float:
    """Median time to copy ``nbytes`` from one buffer to another (read + write: the floor for a
    kernel that reads its input once and writes an output of the same size)."""
    if nbytes <= 0:
        raise ValueError(f"nbytes={nbytes!r} must be positive")
    source = np.ones(nbytes, dtype=np.uint8)  # touched, so its pages exist before timing
    target = np.zeros_like(source)
    try:
        return float(time_callable(lambda: np.copyto(target, source), warmup=warmup, repeats=repeats)["median_ms"])
    finally:
        del source, target


def memory_available_bytes() -> int | None:
    """``MemAvailable`` from /proc/meminfo (Linux), else None."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """The machine and software a table came from: CPU model, cores, threads used, versions."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "memory_gib": None,
    }
    try:
        with open("/proc/meminfo") as meminfo:
            info["memory_gib"] = round(int(meminfo.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = None
    try:
        import numba

        info["numba"] = numba.__version__
        info["numba_threads"] = numba.get_num_threads()
    except ImportError:
        info["numba"] = None
    return info


def _format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "nan"
        magnitude = abs(value)
        return f"{value:.0f}" if magnitude >= 100 else f"{value:.1f}" if magnitude >= 10 else f"{value:.2f}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A GitHub Markdown table of ``rows`` (dicts) with the given ``columns``, one line per row;
    missing values are blank, floats get 3 significant-ish digits."""
    if not columns:
        raise ValueError("columns is empty; name at least one column")
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_format_cell(row.get(column)) for column in columns) + " |")
    return "\n".join(lines) + "\n"
