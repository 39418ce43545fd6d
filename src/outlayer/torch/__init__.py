"""PyTorch front end: drop-in losses backed by outlayer's fused kernels.

Importing :mod:`outlayer.torch` imports torch; ``import outlayer`` never does. Names are
loaded lazily from their modules so that each piece can be imported on its own.

Every function here takes the backend that :mod:`outlayer._dispatch` chooses (``impl=`` asks for
one), refuses exactly what the core refuses (:mod:`outlayer._validate`'s ``InputError``), and
behaves as a PyTorch citizen: the kernels are ``torch.library`` custom ops (``torch.compile``
with ``fullgraph=True``), second derivatives are right (``create_graph=True``), ``torch.func``
and ``torch.autocast`` work (cross_entropy, linear_cross_entropy; vocab-parallel: double
backward, not torch.func). :mod:`outlayer.torch._grad` holds the shared autograd plumbing.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CrossEntropyLoss",
    "LinearCrossEntropyLoss",
    "cross_entropy",
    "linear_cross_entropy",
    "vocab_parallel_cross_entropy",
    "vocab_parallel_linear_cross_entropy",
]

_WHERE = {
    "cross_entropy": "outlayer.torch._ce",
    "CrossEntropyLoss": "outlayer.torch._ce",
    "linear_cross_entropy": "outlayer.torch._linear",
    "LinearCrossEntropyLoss": "outlayer.torch._linear",
    "vocab_parallel_cross_entropy": "outlayer.torch._parallel",
    "vocab_parallel_linear_cross_entropy": "outlayer.torch._parallel",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'outlayer.torch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
