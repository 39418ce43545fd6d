"""Fused kernels for the output layer: leaves, which import nothing from the losses.

- :func:`cross_entropy_numba`: softmax-cross-entropy loss and gradient in one sweep on the CPU
  (Numba, the optional extra ``outlayer[fast]``).
- :mod:`outlayer.kernels.triton_ce`: the GPU kernel (needs Triton; imported only when used).

Which kernel runs, and the reference path when none applies, is decided in one place:
:func:`outlayer._dispatch.choose_impl`. The kernels take validated input (``outlayer._validate``)
and refuse NaN/+inf logits from their own max pass.

Importing this package imports NumPy only; numba is imported by :func:`numba_importable` or the
first kernel call, and the kernel is compiled on its first call.
"""

from __future__ import annotations

from outlayer.kernels.cpu import (
    cross_entropy_fused_raw,
    cross_entropy_numba,
    fused_available,
    numba_importable,
    reference_only,
    set_num_threads,
)

__all__ = [
    "cross_entropy_fused_raw",
    "cross_entropy_numba",
    "fused_available",
    "numba_importable",
    "reference_only",
    "set_num_threads",
]
