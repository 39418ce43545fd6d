"""The one place that decides which backend computes a cross-entropy: reference, Numba or Triton.

API for callers (stable; the NumPy core entry points below, ``outlayer.linear_ce``, the torch
drop-ins and vocab-parallel CE all go through it)::

    IMPLS = ("auto", "reference", "numba", "triton")     (outlayer._validate.IMPLS)
    FUSED_MIN_ELEMENTS = 32768       below this many logits "auto" picks the reference on the CPU
    DISABLE_ENV = "OUTLAYER_DISABLE_FUSED"   set to 1: "auto" picks the reference everywhere

    choose_impl(impl="auto", *, library, device, dtype, n_elements, class_ids=True,
                differentiable=False) -> "reference" | "numba" | "triton"
        THE predicate. library: "numpy" | "torch" | other; device: "cpu" | "cuda" | other;
        dtype: "float16" | "bfloat16" | "float32" | "float64"; class_ids: integer targets
        (False: probability rows); differentiable: the caller needs the array library's own
        autograd through the computation (only the reference gives that). An explicit
        impl="numba"/"triton" that cannot run raises InputError saying why; "auto" never raises.
    choose_impl_for(logits, *, impl="auto", class_ids=True, differentiable=False) -> str
        the same, reading library, device, dtype and size from a NumPy array or torch tensor.
    numba_usable() -> bool;  triton_usable(device) -> bool     what is installed and allowed
    fused_cross_entropy(logits, target, *, impl, weight=None, ignore_index=None,
                        label_smoothing=0.0, reduction="mean", with_grad=True, grad_out=None,
                        name="logits") -> (loss, grad)
        run a validated (N, V) class-id problem on impl "numba" (NumPy arrays; bfloat16 as its
        uint16 bits) or "triton" (torch tensors on CUDA, or on the CPU under TRITON_INTERPRET=1).
        grad_out may be logits itself (in place). NaN/+inf logits raise InputError from the
        kernel's max pass.
    cross_entropy(logits, target, *, weight=None, ignore_index=None, label_smoothing=0.0,
                  reduction="mean", axis=-1, impl="auto")            -> loss
    cross_entropy_with_grad(... same ...)                              -> (loss, grad)
        the public ``outlayer.cross_entropy`` / ``outlayer.cross_entropy_with_grad``: validated once
        (``outlayer._validate``), then run where :func:`choose_impl` says. The reference is
        :func:`outlayer.losses.cross_entropy` (any array-API library, autograd-friendly); NumPy
        input of at least FUSED_MIN_ELEMENTS logits with class ids goes to the Numba kernel.

What "auto" picks, for class-id targets (probability rows and autograd callers: the reference)::

    CUDA tensor, float32/bfloat16/float16, Triton installed     -> triton
    CPU, NumPy or torch, float32/float64 (torch: bfloat16 too),
      numba installed, >= FUSED_MIN_ELEMENTS logits              -> numba
    anything else (CUDA without Triton included)                 -> reference

Every backend gives the core's semantics (``outlayer.losses``), on the same validated inputs;
tests/test_path_agreement.py runs one adversarial generator through all of them.

A front end (e.g. ``outlayer.torch``) validates with ``outlayer._validate`` and then::

    impl = choose_impl_for(logits, impl=options.impl, class_ids=<integer target>)
    "numba"     -> fused_cross_entropy(<NumPy view of the CPU tensor's memory; bfloat16 as
                   tensor.view(torch.int16).numpy().view(np.uint16)>, ..., impl="numba")
    "triton"    -> fused_cross_entropy(<the tensor>, ..., impl="triton")
    "reference" -> outlayer.losses.cross_entropy(...) on the tensors (differentiable by autograd)

wrapping the kernels in its own autograd function (so it passes ``differentiable=False``).

Layering: core (encoding, activations, losses, _validate) -> kernels -> this module -> torch front
end -> lab -> report -> CLI. This module imports the core and the kernels, never the layers above.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from outlayer import losses as _losses
from outlayer._validate import IMPLS, InputError, check_impl, check_logits, error

__all__ = [
    "DISABLE_ENV",
    "FUSED_MIN_ELEMENTS",
    "IMPLS",
    "choose_impl",
    "choose_impl_for",
    "cross_entropy",
    "cross_entropy_with_grad",
    "fused_cross_entropy",
    "numba_usable",
    "triton_usable",
]

Array = Any

#: Below this many logits the thread start-up of the Numba kernel outweighs its gain (measured:
#: benchmarks/README.md); "auto" then runs the reference on the CPU.
FUSED_MIN_ELEMENTS = 1 << 15

#: Setting this environment variable to 1 makes "auto" choose the reference path everywhere
#: (an explicit ``impl="numba"`` or ``"triton"`` still runs that kernel).
DISABLE_ENV = "OUTLAYER_DISABLE_FUSED"

NUMBA_DTYPES = {"numpy": ("float32", "float64"), "torch": ("float32", "float64", "bfloat16")}
TRITON_DTYPES = ("float32", "bfloat16", "float16")


def _disabled_by_environment() -> bool:
    return os.environ.get(DISABLE_ENV, "") not in ("", "0")


def numba_usable() -> bool:
    """Whether the Numba kernel can run here (numba imports; the legacy ``reference_only`` block is off)."""
    from outlayer.kernels import cpu

    return cpu.fused_available()


def _triton_interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")


def triton_usable(device: str) -> bool:
    """Whether the Triton kernel can run on ``device``: CUDA with Triton installed, or the CPU under
    ``TRITON_INTERPRET=1`` (how CI tests it)."""
    if device != "cuda" and not (device == "cpu" and _triton_interpreting()):
        return False
    from outlayer.kernels.triton_ce import triton_available

    return triton_available()


def _numba_obstacle(library: str, device: str, dtype: str, class_ids: bool, differentiable: bool) -> str | None:
    """Why the Numba kernel cannot take this call (None: it can)."""
    if library not in NUMBA_DTYPES:
        return f"it runs on NumPy arrays and torch CPU tensors, not {library}"
    if device != "cpu":
        return f"it runs on the CPU, not {device}"
    if dtype not in NUMBA_DTYPES[library]:
        return f"it takes {', '.join(NUMBA_DTYPES[library])} logits, not {dtype}"
    if not class_ids:
        return "it takes class-id targets, not probability rows"
    if differentiable:
        return "it builds no autograd graph of the array library (use outlayer.torch for torch tensors)"
    if not numba_usable():
        return "numba is not installed (pip install 'outlayer[fast]')"
    return None


def _triton_obstacle(library: str, device: str, dtype: str, class_ids: bool, differentiable: bool) -> str | None:
    """Why the Triton kernel cannot take this call (None: it can)."""
    if library != "torch":
        return f"it runs on torch tensors, not {library}"
    if dtype not in TRITON_DTYPES:
        return f"it takes {', '.join(TRITON_DTYPES)} logits, not {dtype}"
    if not class_ids:
        return "it takes class-id targets, not probability rows"
    if differentiable:
        return "it builds no autograd graph (the torch front end wraps it)"
    if not triton_usable(device):
        return f"it needs a CUDA device (or TRITON_INTERPRET=1 on the CPU) and Triton installed; here: {device}"
    return None


def choose_impl(
    impl: str = "auto",
    *,
    library: str,
    device: str,
    dtype: str,
    n_elements: int,
    class_ids: bool = True,
    differentiable: bool = False,
) -> str:
    """The backend for one call: ``"reference"``, ``"numba"`` or ``"triton"`` (module docstring).

    ``impl="auto"`` picks the fastest backend that applies and never raises; an explicit kernel
    that cannot run raises :class:`InputError` naming the reason, so a request is never silently
    ignored. ``impl="reference"`` always runs the reference.
    """
    impl = check_impl(impl)
    if impl == "reference":
        return "reference"
    if impl in ("numba", "triton"):
        obstacle = (_numba_obstacle if impl == "numba" else _triton_obstacle)(library, device, dtype, class_ids, differentiable)
        if obstacle is not None:
            raise error("impl", f"a backend that can run this call ({impl!r} cannot: {obstacle})", impl)
        return impl
    if _disabled_by_environment():
        return "reference"
    if device == "cuda":
        return "triton" if _triton_obstacle(library, device, dtype, class_ids, differentiable) is None else "reference"
    if device == "cpu" and n_elements >= FUSED_MIN_ELEMENTS:
        return "numba" if _numba_obstacle(library, device, dtype, class_ids, differentiable) is None else "reference"
    return "reference"


def _describe(array: Array) -> tuple[str, str, str, int]:
    """(library, device, dtype name, number of elements) of a NumPy array or a torch tensor."""
    if isinstance(array, (np.ndarray, np.generic, list, tuple, int, float)):
        values = np.asarray(array)
        return "numpy", "cpu", values.dtype.name, int(values.size)
    module = type(array).__module__.split(".")[0]
    if module == "torch":
        return "torch", array.device.type, str(array.dtype).removeprefix("torch."), int(array.numel())
    size = 1
    for n in getattr(array, "shape", ()):
        size *= int(n)
    return module, "other", str(getattr(array, "dtype", "unknown")), size


def choose_impl_for(logits: Array, *, impl: str = "auto", class_ids: bool = True, differentiable: bool = False) -> str:
    """:func:`choose_impl` with library, device, dtype and size read from ``logits``."""
    library, device, dtype, n_elements = _describe(logits)
    return choose_impl(
        impl, library=library, device=device, dtype=dtype, n_elements=n_elements, class_ids=class_ids, differentiable=differentiable
    )


def fused_cross_entropy(
    logits: Array,
    target: Array,
    *,
    impl: str,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    with_grad: bool = True,
    grad_out: Array | None = None,
    name: str = "logits",
) -> tuple[Array, Array | None]:
    """Run a validated (N, V) class-id problem on a fused kernel (``impl`` "numba" or "triton").

    numba: NumPy ``logits`` (float32, float64, or bfloat16 as uint16 bits; read-only and strided
    arrays are fine), ``target`` (N,) integers, ``weight`` (V,) or None; returns NumPy arrays.
    triton: torch tensors (CUDA, or CPU under TRITON_INTERPRET=1); returns a float32 loss and the
    gradient in the logits' dtype. ``grad_out`` may be ``logits`` (in place). The loss is 0-d for
    "mean"/"sum" and (N,) for "none"; ``grad`` is None without ``with_grad``.
    """
    if impl == "numba":
        from outlayer.kernels.cpu import cross_entropy_numba

        return cross_entropy_numba(
            logits,
            target,
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=reduction,
            with_grad=with_grad,
            grad_out=grad_out,
            name=name,
        )
    if impl == "triton":
        from outlayer.kernels.triton_ce import cross_entropy_cuda

        in_place = grad_out is not None and grad_out is logits
        if grad_out is not None and not in_place:
            raise InputError("grad_out must be None or logits itself on the Triton path")
        return cross_entropy_cuda(
            logits,
            target,
            weight=weight,
            ignore_index=-1 if ignore_index is None else ignore_index,  # validated ids are never negative
            label_smoothing=label_smoothing,
            reduction=reduction,
            in_place=in_place and with_grad,
            with_grad=with_grad,
            name=name,
        )
    raise error("impl", "'numba' or 'triton' for a fused kernel", impl)


# ------------------------------------------------------------------------------------------------
# The public NumPy / array-API cross-entropy: validate once, choose, run.
# ------------------------------------------------------------------------------------------------
def _run(
    logits: Array,
    target: Array,
    *,
    weight: Array | None,
    ignore_index: int | None,
    label_smoothing: float,
    reduction: str,
    axis: int,
    impl: str,
    need_grad: bool,
) -> tuple[Array, Array | None]:
    problem = _losses._prepare_cross_entropy(
        logits, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction, axis=axis, impl=impl
    )
    rows = problem.rows
    is_numpy = rows.xp is np
    chosen = choose_impl(
        problem.options.impl,
        library="numpy" if is_numpy else rows.xp.__name__.split(".")[-1],
        device="cpu" if is_numpy else _device_type(rows.z),
        dtype=np.dtype(rows.out_dtype).name if is_numpy else str(rows.out_dtype).removeprefix("torch."),
        n_elements=int(np.prod(rows.shape)),
        class_ids=problem.target.ids is not None,
        differentiable=not is_numpy,  # the core computes in the caller's library, for its autograd
    )
    if chosen == "reference":
        return _losses._reference_cross_entropy(problem, need_grad)
    weight_rows = None if problem.weight is None else np.asarray(problem.weight)
    try:
        loss, grad = fused_cross_entropy(
            rows.z,
            problem.target.raw_ids,
            impl=chosen,
            weight=weight_rows,
            ignore_index=problem.options.ignore_index,
            label_smoothing=problem.options.label_smoothing,
            reduction=problem.options.reduction,
            with_grad=need_grad,
        )
    except InputError:
        # The kernel names (row, column) of its (N, V) view; name the caller's index instead
        # (one more pass, on the error path only).
        check_logits(rows.caller, rows.xp)
        raise
    if problem.options.reduction == "none":
        loss = np.reshape(loss, rows.batch_shape)
    return loss, (rows.from_rows(grad) if grad is not None else None)


def _device_type(array: Array) -> str:
    device = getattr(array, "device", None)
    return str(getattr(device, "type", device or "other"))


def cross_entropy(
    logits: Array,
    target: Array,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    axis: int = -1,
    impl: str = "auto",
) -> Array:
    """Softmax cross-entropy from logits, on the backend :func:`choose_impl` picks.

    The arguments and semantics are :func:`outlayer.losses.cross_entropy`'s (the reference), plus
    ``impl``: "auto" (the default: the Numba kernel for large NumPy inputs with class ids, the
    reference otherwise), "reference", or "numba" (an error where it cannot run). Every backend
    accepts and refuses the same inputs and returns the same values to rounding.
    """
    return _run(
        logits, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
        reduction=reduction, axis=axis, impl=impl, need_grad=False,
    )[0]


def cross_entropy_with_grad(
    logits: Array,
    target: Array,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    axis: int = -1,
    impl: str = "auto",
) -> tuple[Array, Array]:
    """:func:`cross_entropy` and its exact gradient w.r.t. the logits (see
    :func:`outlayer.losses.cross_entropy_with_grad` for the closed form)."""
    loss, grad = _run(
        logits, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
        reduction=reduction, axis=axis, impl=impl, need_grad=True,
    )
    assert grad is not None
    return loss, grad

