"""ONE generator of hostile cross-entropy inputs, and ONE float64 judge, shared by every path's tests.

``cases()`` returns :class:`Case` objects: logits (N, V) with -inf blocks at any position (the
first included), all -inf rows, masked targets, magnitudes up to 1e16, float32 offsets up to 1e6,
ties, one dominant class; label smoothing 0 / 0.1 / 1.0, class weights (with zeros), ignore_index,
every reduction; 1 to 300k classes (the big ones few); float16, bfloat16, float32, float64;
contiguous, read-only and non-contiguous layouts. ``refusals()`` returns inputs that every path
must refuse with :class:`outlayer.InputError` (NaN, -NaN and +inf logits anywhere, ignored rows
included; negative or non-finite class weights; a non-integer ignore_index; probability targets
with ignore_index; uint64 ids beyond int64).

``reference(case)`` is the judge: the core's semantics written out once more, directly, in float64
on the exact values the path receives (the logits rounded to the case's dtype), every term taken
relative to the row max so that 1e16 magnitudes lose nothing. float64 is exact enough: the
quantities are sums of positive terms (no cancellation) and differences against the max, both
correctly rounded to ~1e-16 relative, far below every tolerance in ``tolerance()``.

Nothing here imports outlayer: the judge is independent of the code it judges.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

DTYPES = ("float16", "bfloat16", "float32", "float64")
REDUCTIONS = ("mean", "sum", "none")
IGNORE = -100
#: Unit roundoff of each storage dtype (half an ulp at 1), for the tolerance of returned values.
UNIT_ROUNDOFF = {"float16": 2.0**-11, "bfloat16": 2.0**-8, "float32": 2.0**-24, "float64": 2.0**-53}
#: The smallest positive value of each storage dtype: a result below it rounds to 0 there.
SMALLEST = {"float16": 2.0**-24, "bfloat16": 2.0**-133, "float32": 2.0**-149, "float64": 2.0**-1074}


@dataclass(frozen=True)
class Case:
    """One cross-entropy problem with integer class ids.

    ``logits`` holds float64 values; :meth:`values` is what a path receives (rounded to ``dtype``).
    ``column_masked`` is True when every -inf of the logits lies in columns that are -inf in every
    row (a linear layer can produce those through its bias; see tests/test_path_agreement.py).
    """

    id: str
    logits: np.ndarray
    target: np.ndarray
    dtype: str = "float32"
    weight: np.ndarray | None = None
    ignore_index: int | None = None
    label_smoothing: float = 0.0
    reduction: str = "mean"
    layout: str = "contiguous"  # "contiguous" | "read-only" | "non-contiguous"
    column_masked: bool = True
    refusal: str = ""  # for refusals(): a phrase the error message must contain
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.logits.shape)  # type: ignore[return-value]

    def values(self) -> np.ndarray:
        """The logits as the path sees them, in float64: rounded to the case's dtype and back."""
        return round_to(self.logits, self.dtype)

    def options(self) -> dict[str, Any]:
        return dict(weight=self.weight, ignore_index=self.ignore_index, label_smoothing=self.label_smoothing, reduction=self.reduction)


def round_to(values: np.ndarray, dtype: str) -> np.ndarray:
    """``values`` rounded to ``dtype`` (round to nearest even) and widened back to float64."""
    if dtype == "bfloat16":
        bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
        nan = np.isnan(values)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
        out = rounded.astype(np.uint32).view(np.float32).astype(np.float64)
        return np.where(nan, np.asarray(values, dtype=np.float64), out)
    with np.errstate(over="ignore"):
        return np.asarray(values).astype(dtype).astype(np.float64)


def as_numpy(case: Case, values: np.ndarray | None = None) -> np.ndarray:
    """The case's logits as a NumPy array of its dtype and layout (bfloat16 has no NumPy dtype: ValueError)."""
    if case.dtype == "bfloat16":
        raise ValueError("NumPy has no bfloat16")
    array = np.asarray(case.values() if values is None else values).astype(case.dtype)
    if case.layout == "read-only":
        array.flags.writeable = False
    elif case.layout == "non-contiguous":
        wide = np.zeros((array.shape[0], 2 * array.shape[1]), dtype=array.dtype)
        wide[:, 1::2] = array
        array = wide[:, 1::2]
    return array


def as_torch(case: Case, values: np.ndarray | None = None) -> Any:
    """The case's logits as a torch tensor of its dtype and layout (read-only has no torch meaning: contiguous)."""
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(case.values() if values is None else values)).to(getattr(torch, case.dtype))
    if case.layout == "non-contiguous":
        wide = torch.zeros((tensor.shape[0], 2 * tensor.shape[1]), dtype=tensor.dtype)
        wide[:, 1::2] = tensor
        tensor = wide[:, 1::2]
    return tensor


# ------------------------------------------------------------------------------------------------
# The judge.
# ------------------------------------------------------------------------------------------------
def reference(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """(loss, gradient) in float64: the loss in the case's reduction, the gradient of that loss."""
    loss, grad, _ = reference_with_scale(case)
    return loss, grad


def reference_with_scale(case: Case) -> tuple[np.ndarray, np.ndarray, float]:
    """(loss, gradient, gradient scale): :func:`reference` and the natural size of the gradient,
    ``max_n (sum_c w_c q_c)`` times the reduction's scale (the gradient of a row sums to 0 and its
    entries are bounded by that mass; a gradient that is exactly 0 is judged against it).

    Per row, with m the max over finite logits, K the number of finite logits and
    q = (1 - eps) onehot(y) + eps / K [z_c finite]:
        loss = sum_c w_c q_c (log s - (z_c - m)),   s = sum_c exp(z_c - m)     (0 * anything = 0)
        grad = (sum_c w_c q_c) softmax(z) - w * q
    A term with w_c q_c > 0 on a -inf logit makes the loss inf. A row of only -inf logits has no
    probabilities: loss inf (0 if (1 - eps) w_y = 0), gradient -(1 - eps) w_y at the target.
    Ignored rows give 0 and 0. "mean" divides by the sum of w_y over the rows not ignored
    (0 when that sum is 0: a mean over nothing is 0 with a zero gradient).
    """
    z = case.values()
    n, v = z.shape
    eps = case.label_smoothing
    w = np.ones(v) if case.weight is None else np.asarray(case.weight, dtype=np.float64)
    loss = np.zeros(n)
    grad = np.zeros((n, v))
    denominator = 0.0
    mass_max = 0.0
    for i in range(n):
        y = int(case.target[i])
        if case.ignore_index is not None and y == case.ignore_index:
            continue
        denominator += w[y]
        row = z[i]
        finite = np.isfinite(row)
        k = int(finite.sum())
        if k == 0:
            mass = (1.0 - eps) * w[y]
            loss[i] = math.inf if mass != 0.0 else 0.0
            grad[i, y] = -mass
            mass_max = max(mass_max, mass)
            continue
        m = row[finite].max()
        offsets = np.where(finite, row - m, -np.inf)
        e = np.exp(offsets)
        s = e.sum()
        log_s = math.log(s)
        q = np.where(finite, eps / k, 0.0)
        q[y] += 1.0 - eps
        wq = w * q
        active = wq > 0
        if np.any(active & ~finite):
            loss[i] = math.inf
        else:
            loss[i] = float(np.sum(wq[active] * (log_s - offsets[active])))
        grad[i] = wq.sum() * (e / s) - wq
        mass_max = max(mass_max, float(wq.sum()))
    if case.reduction == "none":
        return loss, grad, mass_max
    if case.reduction == "sum":
        return np.asarray(loss.sum()), grad, mass_max
    if denominator == 0.0:
        return np.asarray(0.0), np.zeros_like(grad), 0.0
    return np.asarray(loss.sum() / denominator), grad / denominator, mass_max / denominator


def compute_dtype(dtype: str) -> str:
    return "float64" if dtype == "float64" else "float32"


def tolerance(case: Case, kind: str) -> dict[str, float]:
    """The stated tolerance of a path's result for ``case`` (kind "loss" or "grad") against the judge.

    float64 paths: 1e-10 relative. float32 compute (float32, and float16 / bfloat16 widened to
    float32): 1e-6 relative on the loss whatever the class count (up to 300k) or offset (1e6),
    gradients 1e-5 relative or within 1e-6 of the gradient's scale (``reference_with_scale``).
    float16 / bfloat16 results are returned in their own dtype, so one rounding of the result (its
    unit roundoff) is added, and values below the dtype's smallest positive number may round to 0.
    ``atol`` here is relative to the gradient's scale for kind "grad".
    """
    out = UNIT_ROUNDOFF[case.dtype] if case.dtype in ("float16", "bfloat16") else 0.0
    if compute_dtype(case.dtype) == "float64":
        return dict(rtol=1e-10, atol=1e-12)
    if kind == "loss":
        return dict(rtol=1e-6 + 2 * out, atol=1e-6)
    return dict(rtol=1e-5 + 2 * out, atol=1e-6)


def assert_matches(case: Case, got_loss: Any, got_grad: Any | None, *, path: str) -> None:
    """``got`` (anything np.asarray takes) equals :func:`reference` within :func:`tolerance`."""
    want_loss, want_grad, scale = reference_with_scale(case)
    floor = SMALLEST[case.dtype]
    got_loss = np.asarray(got_loss, dtype=np.float64).reshape(want_loss.shape)
    tol = tolerance(case, "loss")
    _close(got_loss, want_loss, dict(rtol=tol["rtol"], atol=tol["atol"] + floor), f"{path} {case.id}: loss")
    if got_grad is not None:
        got_grad = np.asarray(got_grad, dtype=np.float64).reshape(want_grad.shape)
        tol = tolerance(case, "grad")
        _close(got_grad, want_grad, dict(rtol=tol["rtol"], atol=tol["atol"] * scale + floor), f"{path} {case.id}: grad")


def _close(got: np.ndarray, want: np.ndarray, tol: dict[str, float], what: str) -> None:
    same_inf = np.isinf(want) & (got == want)
    finite = ~np.isinf(want)
    assert np.array_equal(np.isinf(got), np.isinf(want)) and same_inf.sum() == np.isinf(want).sum(), (
        f"{what}: infinities differ: got {got[np.isinf(got) | np.isinf(want)][:5]}, want {want[np.isinf(got) | np.isinf(want)][:5]}"
    )
    assert not np.isnan(got).any(), f"{what}: NaN in the result at {np.argwhere(np.isnan(got))[:3].tolist()}"
    err = np.abs(got[finite] - want[finite])
    bound = tol["atol"] + tol["rtol"] * np.abs(want[finite])
    if err.size and np.any(err > bound):
        worst = int(np.argmax(err - bound))
        raise AssertionError(
            f"{what}: off by {err[worst]:.3g} where {bound[worst]:.3g} is allowed (want {want[finite][worst]:.17g}, "
            f"got {got[finite][worst]:.17g}; tolerance {tol})"
        )


# ------------------------------------------------------------------------------------------------
# The cases.
# ------------------------------------------------------------------------------------------------
def _pattern(name: str, n: int, v: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """(logits, target, column_masked) for a named pattern of an (n, v) problem."""
    z = rng.standard_normal((n, v)) * 3.0
    target = rng.integers(0, v, n)
    column_masked = True
    block = max(1, min(1024, v // 3))
    if name == "normal":
        pass
    elif name == "masked-first-block":  # the reproducer: the first chunk is all -inf
        z[:, :block] = -np.inf
        target = rng.integers(block, v, n) if v > block else target
        if v <= block:
            z[:, -1] = 0.0
            target[:] = v - 1
            z[:, : v - 1] = -np.inf
    elif name == "masked-middle-block":
        lo = v // 3
        z[:, lo : lo + block] = -np.inf
        target = np.where((target >= lo) & (target < lo + block), 0, target)
    elif name == "masked-last-block":
        z[:, v - block :] = -np.inf
        target = np.minimum(target, max(v - block - 1, 0))
    elif name == "masked-all-but-target":
        z[:] = -np.inf
        z[np.arange(n), target] = rng.standard_normal(n)
        column_masked = False
    elif name == "all-masked-row":  # a row with no possible class, and a masked target elsewhere
        z[0] = -np.inf
        if n > 1:
            z[1, target[1]] = -np.inf
        column_masked = False
    elif name == "huge":  # the reproducer's 1e16 magnitudes
        z = np.where(rng.random((n, v)) < 0.5, 1e16, -1e16) * (1 + rng.integers(0, 3, (n, v)))
    elif name == "offset":  # float32 offsets: every logit near 1e6, differences of 1/8
        z = 1e6 + np.round(rng.standard_normal((n, v)) * 8) / 8
    elif name == "ties":
        z[:] = 2.5
    elif name == "dominant":  # one class with probability ~1, the rest ~1e-22
        z[np.arange(n), target] += 50.0
    else:
        raise ValueError(name)
    return z, target.astype(np.int64), column_masked


PATTERNS = (
    "normal",
    "masked-first-block",
    "masked-middle-block",
    "masked-last-block",
    "masked-all-but-target",
    "all-masked-row",
    "huge",
    "offset",
    "ties",
    "dominant",
)
#: (N, V): 1 class to 300k classes; the big shapes are few (they are the slow ones for the references).
SHAPES = ((3, 1), (4, 2), (5, 7), (6, 130), (4, 3001), (2, 33_000))
BIG_SHAPE = (2, 300_000)


def _fits(pattern: str, dtype: str) -> bool:
    """Patterns whose values the dtype can hold (float16 tops out at 65504; 1e6 offsets need a 24-bit mantissa)."""
    if dtype == "float16" and pattern in ("huge", "offset"):
        return False
    if dtype == "bfloat16" and pattern == "offset":
        return False  # bfloat16 rounds 1e6 + k/8 to one value: a case of ties, already covered
    return True


def cases() -> list[Case]:
    """Every case, deterministic. The options cycle so that each pattern meets every smoothing,
    reduction, weight and ignore setting across dtypes, without the full cross product."""
    out: list[Case] = []
    rng = np.random.default_rng(20240610)
    option_cycle = itertools.cycle(
        itertools.product((0.0, 0.1, 1.0), REDUCTIONS, (False, True), (False, True), ("contiguous", "read-only", "non-contiguous"))
    )
    # advance the cycle by a prime stride per case so that consecutive cases differ in every option
    for pattern, (n, v), dtype in itertools.product(PATTERNS, SHAPES, DTYPES):
        if not _fits(pattern, dtype):
            continue
        if pattern in ("masked-first-block", "masked-middle-block", "masked-last-block") and v < 3:
            continue
        for _ in range(7):
            smoothing, reduction, weighted, ignoring, layout = next(option_cycle)
        out.append(_make(pattern, n, v, dtype, smoothing, reduction, weighted, ignoring, layout, rng))
    # the big ones: a masked first block and an offset, float32 (the 1e-6 claim at 300k classes)
    n, v = BIG_SHAPE
    out.append(_make("masked-first-block", n, v, "float32", 0.1, "mean", False, False, "contiguous", rng))
    out.append(_make("offset", n, v, "float32", 0.0, "none", True, False, "contiguous", rng))
    out.append(_make("normal", n, v, "bfloat16", 0.1, "sum", False, True, "contiguous", rng))
    # the reproducers, verbatim
    first = np.zeros((1, 32768))
    first[0, :1024] = -np.inf
    for dtype in ("float32", "float64"):
        for smoothing in (0.0, 0.1):
            out.append(Case(f"issue-masked-leading-block-{dtype}-eps{smoothing}", first, np.array([5000]), dtype=dtype, label_smoothing=smoothing))
    out.append(Case("issue-1e16-float64", np.array([[1e16, 1e16, -1e16, -1e16]]), np.array([0]), dtype="float64"))
    offset = np.arange(24.0).reshape(6, 4) / 8 + 1e6
    out.append(Case("issue-1e6-offset-smoothing-float32", offset, np.ones(6, dtype=np.int64), dtype="float32", label_smoothing=0.1))
    return out


def _make(pattern, n, v, dtype, smoothing, reduction, weighted, ignoring, layout, rng) -> Case:  # noqa: ANN001
    z, target, column_masked = _pattern(pattern, n, v, rng)
    weight = None
    if weighted:
        weight = rng.integers(2, 25, v) / 8.0  # multiples of 1/8: exact in every dtype, bfloat16 included
        if v > 2:
            weight[rng.integers(0, v)] = 0.0  # a zero weight: its rows count for nothing
    ignore_index = None
    if ignoring:
        # PyTorch's -100, or an id just past the classes (a legal choice that must never index a class weight)
        ignore_index = IGNORE if (n + v) % 2 == 0 else v + 1
        target = target.copy()
        target[rng.integers(0, n)] = ignore_index
    ignored = ("-ign" if ignore_index == IGNORE else "-ign-beyond") if ignoring else ""
    case_id = f"{pattern}-{n}x{v}-{dtype}-eps{smoothing}-{reduction}" + ("-w" if weighted else "") + ignored + f"-{layout}"
    return Case(
        case_id, z, target, dtype=dtype, weight=weight, ignore_index=ignore_index, label_smoothing=smoothing,
        reduction=reduction, layout=layout, column_masked=column_masked,
    )


def refusals() -> list[Case]:
    """Inputs every path refuses with InputError; ``refusal`` is a phrase its message contains."""
    out: list[Case] = []
    rng = np.random.default_rng(7)
    for bad, where, dtype in itertools.product((np.nan, -np.nan, np.inf), ("first", "last", "ignored-row"), ("float32", "float64")):
        n, v = (3, 40_000) if where == "last" else (3, 50)
        z = rng.standard_normal((n, v))
        target = rng.integers(0, v, n)
        ignore_index = None
        if where == "first":
            z[0, 0] = bad
        elif where == "last":
            z[2, v - 1] = bad
        else:
            z[1, 3] = bad
            target[1] = IGNORE
            ignore_index = IGNORE
        name = {True: "nan"}.get(bool(np.isnan(bad)), "inf")
        sign = "negative-" if np.isnan(bad) and np.signbit(bad) else ""
        out.append(Case(f"refuse-{sign}{name}-logit-{where}-{dtype}", z, target, dtype=dtype, ignore_index=ignore_index, refusal="finite or -inf"))
    base = rng.standard_normal((4, 6))
    ids = np.array([0, 1, 2, 3])
    for value in (-1.0, np.nan, np.inf):
        weight = np.ones(6)
        weight[2] = value
        out.append(Case(f"refuse-weight-{value}", base, ids, weight=weight, refusal="weight"))
    out.append(Case("refuse-ignore-index-1.5", base, ids, ignore_index=1.5, refusal="ignore_index"))  # type: ignore[arg-type]
    out.append(Case("refuse-ignore-index-true", base, ids, ignore_index=True, refusal="ignore_index"))  # type: ignore[arg-type]
    out.append(Case("refuse-class-id-out-of-range", base, np.array([0, 1, 6, 3]), refusal="class ids"))
    out.append(Case("refuse-negative-class-id", base, np.array([0, -1, 2, 3]), refusal="class ids"))
    # named by its true value, not wrapped to a negative id
    out.append(Case("refuse-uint64-beyond-int64", base, np.array([0, 2**63 + 1, 2, 3], dtype=np.uint64), refusal=str(2**63 + 1)))
    out.append(Case("refuse-smoothing-1.5", base, ids, label_smoothing=1.5, refusal="label_smoothing"))
    out.append(Case("refuse-reduction-avg", base, ids, reduction="avg", refusal="reduction"))
    return out


def probability_refusals() -> list[tuple[str, np.ndarray, np.ndarray, dict[str, Any], str]]:
    """(id, logits, probability targets, options, phrase): probability-target inputs every path refuses."""
    rng = np.random.default_rng(8)
    z = rng.standard_normal((3, 5))
    p = np.full((3, 5), 0.2)
    negative = p.copy()
    negative[1, 2] = -0.1
    with_nan = p.copy()
    with_nan[2, 4] = np.nan
    return [
        ("refuse-probabilities-with-ignore-index", z, p, dict(ignore_index=1), "ignore_index"),
        ("refuse-negative-probability", z, negative, {}, "non-negative"),
        ("refuse-nan-probability", z, with_nan, {}, "finite"),
    ]


def with_dtype(case: Case, dtype: str) -> Case:
    return replace(case, dtype=dtype, id=case.id.replace(case.dtype, dtype))
