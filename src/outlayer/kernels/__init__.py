"""Fused kernels for the output layer.

- :func:`cross_entropy_fused`: softmax-cross-entropy loss and gradient in one sweep on the CPU
  (Numba, the optional extra ``outlayer[fast]``; falls back to the NumPy reference without it).
- ``outlayer.kernels.triton_*``: the GPU kernels (need Triton; imported only when used).

Importing this package imports NumPy only; numba is imported by :func:`fused_available` or the
first fused call, and the kernel is compiled on its first call.
"""

from __future__ import annotations

from outlayer.kernels.cpu import (
    FUSED_MIN_ELEMENTS,
    cross_entropy_fused,
    cross_entropy_fused_raw,
    fused_available,
    reference_only,
    set_num_threads,
)

__all__ = [
    "FUSED_MIN_ELEMENTS",
    "cross_entropy_fused",
    "cross_entropy_fused_raw",
    "fused_available",
    "reference_only",
    "set_num_threads",
]
