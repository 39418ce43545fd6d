"""Benchmarks of the fused kernels against PyTorch (``outlayer bench``, ``benchmarks/*.py``).

Each suite is a module ``outlayer.bench.<suite>`` with
``run(*, quick=False, dtypes=("float32", "bfloat16"), threads=None, shapes=None) -> list[dict]``,
one dict per (case, implementation, mode). :mod:`outlayer.bench._common` holds the timing,
peak-memory and table helpers. Nothing here is imported by ``import outlayer``.
"""

from __future__ import annotations

__all__ = ["SUITES"]

#: suite name (as on the command line) -> module
SUITES: dict[str, str] = {
    "ce": "outlayer.bench.ce",
    "linear-ce": "outlayer.bench.linear_ce",
    "vocab-parallel": "outlayer.bench.vocab_parallel",
}
