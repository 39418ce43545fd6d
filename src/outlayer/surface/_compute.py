"""The surface lab's computations: losses, gradients, optima and descent paths on a logit plane.

Everything here is arrays in, arrays out; :mod:`outlayer.surface._assemble` turns them into the
lab's JSON result and :mod:`outlayer.surface._draw` into figures. Each loss and gradient comes
from the core (``get_loss(name).with_grad(..., reduction="none")``, one row per point), each
optimiser step from :mod:`outlayer.optim`.

Held-out logits and constant parts. A logit held at -inf is a class that cannot occur: its
probability is exactly 0 and label smoothing spreads over the live classes only, so the core is
called on the live classes (the exact limit, and what the core's -inf policy computes). A loss
that is a sum of per-class terms (the square loss on logits, ``separable`` in
:mod:`outlayer.catalogue`) gets the terms of every held-out class split off: they do not depend
on the swept logits, so the lab reports the loss minus that constant part, and the constant
apart (``Evaluation.constant``; for y3 = -1000 the y3^2 term is 1e6, for y3 = -inf it is inf).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from outlayer import _checks as check
from outlayer.catalogue import loss_info
from outlayer.config import SurfaceConfig

__all__ = [
    "DEFAULT_GOAL",
    "DEFAULT_LR",
    "DEFAULT_OPTIMIZERS",
    "DEFAULT_RESOLUTION",
    "DEFAULT_STEPS",
    "LECTURE_LIMITS",
    "LECTURE_PLANE",
    "SWEEP_LRS",
    "DescentPath",
    "Evaluation",
    "LogitPlane",
    "PlaneOptimum",
    "ProbabilityCurve",
    "Surface",
    "descent_path",
    "descent_paths",
    "evaluate",
    "evaluate_grid",
    "loss_vs_probability",
    "margin_cut",
    "plane_optimum",
    "steps_to_goal_map",
]

_DEFAULTS = SurfaceConfig()
#: Plain-GD learning rate shared by every loss and optimiser (:class:`~outlayer.config.SurfaceConfig`).
#: Measured (``lr_sweep`` in :func:`outlayer.surface.run`'s output, benchmarks/bench_surface.py):
#: the largest swept rate at which plain GD lowers every loss at every step from the corner.
DEFAULT_LR = _DEFAULTS.lr
#: Step budget: about 30x what CE needs at DEFAULT_LR and ~1e5x fewer than plain-GD MSE would
#: (its odds against the target, e^{20} at the corner, fall by 8 lr per step).
DEFAULT_STEPS = _DEFAULTS.steps
#: The target probability a descent path must reach to count as "escaped".
DEFAULT_GOAL = _DEFAULTS.goal
#: Grid points per axis for the figures.
DEFAULT_RESOLUTION = _DEFAULTS.resolution
#: Rows per core call in :func:`evaluate` (big grids are evaluated block by block).
_CHUNK_ROWS = 1 << 16
#: The lecture's sweep range for both swept logits.
LECTURE_LIMITS: tuple[float, float] = _DEFAULTS.limits
#: Descent-path optimisers of :func:`outlayer.surface.run`, in the order they are reported.
DEFAULT_OPTIMIZERS: tuple[str, ...] = _DEFAULTS.optimizers
#: Learning rates of the plain-GD sweep reported by :func:`outlayer.surface.run`.
SWEEP_LRS: tuple[float, ...] = _DEFAULTS.sweep_lrs


# --------------------------------------------------------------------------------- validation


def _is_real_seq(value: Any) -> bool:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return array.ndim <= 1


def _json_float(value: Any) -> float | None:
    """A plain float, or None for NaN/inf (JSON has no infinities)."""
    number = float(np.asarray(value).reshape(-1)[0]) if np.size(value) == 1 else float(value)
    return number + 0.0 if math.isfinite(number) else None  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class LogitPlane:
    """A 2-D slice of the K-dimensional logit space: two swept logits, the others held fixed.

    Args:
      num_classes: K >= 2.
      target: the correct class, 0-based.
      swept: the two logits that vary, ``(u_index, v_index)``, distinct, 0-based.
      fixed: the values of the K - 2 other logits: one number for all, or one per class in
        increasing class order. Finite, or -inf for a held-out class (probability exactly 0).
    """

    num_classes: int = 3
    target: int = 0
    swept: tuple[int, int] = (0, 1)
    fixed: float | tuple[float, ...] = -math.inf
    _row: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        k = check.integer("num_classes", self.num_classes, low=2)
        target = check.integer("target", self.target, low=0)
        if target >= k:
            raise ValueError(f"target must be a class index in [0, {k - 1}], got {self.target!r}")
        try:
            swept = tuple(int(check.integer("swept", s, low=0)) for s in self.swept)
        except TypeError:
            raise ValueError(f"swept must be a pair of class indices, got {self.swept!r}") from None
        if len(swept) != 2 or swept[0] == swept[1] or max(swept) >= k:
            raise ValueError(f"swept must be two distinct class indices in [0, {k - 1}], got {self.swept!r}")
        others = [c for c in range(k) if c not in swept]
        values = np.atleast_1d(np.asarray(self.fixed, dtype=float)) if _is_real_seq(self.fixed) else None
        if values is None or values.ndim != 1 or values.size not in (1, len(others)) or (
            values.size == 1 and np.ndim(self.fixed) == 1 and len(others) != 1
        ):
            raise ValueError(
                f"fixed must be one number or {len(others)} numbers (one per non-swept class), got {self.fixed!r}"
            )
        if np.any(np.isnan(values)) or np.any(values == np.inf):
            raise ValueError(f"fixed values must be finite or -inf (a held-out class), got {self.fixed!r}")
        row = np.zeros(k)
        row[others] = values if values.size == len(others) else values[0]
        if row[target] == -np.inf:
            raise ValueError(f"target {target} is held out (its fixed logit is -inf, so its probability is 0 and "
                             "every loss is inf): sweep it or give it a finite fixed value")
        object.__setattr__(self, "num_classes", k)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "swept", swept)
        fixed = float(values[0]) if np.ndim(self.fixed) == 0 else tuple(float(x) for x in values)
        object.__setattr__(self, "fixed", fixed)
        object.__setattr__(self, "_row", row)

    def logits(self, u: Any, v: Any) -> np.ndarray:
        """Logits of shape ``broadcast(u, v).shape + (K,)``: ``u``, ``v`` in the swept slots."""
        u, v = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(v, dtype=float))
        out = np.empty(u.shape + (self.num_classes,))
        out[...] = self._row
        out[..., self.swept[0]] = u
        out[..., self.swept[1]] = v
        return out

    @property
    def held_out(self) -> tuple[int, ...]:
        """The classes whose logit is -inf (never the target: its logit would make every loss inf)."""
        return tuple(c for c in range(self.num_classes) if c not in self.swept and self._row[c] == -np.inf)

    def wrong_corner(self, limits: tuple[float, float] = LECTURE_LIMITS) -> tuple[float, float]:
        """The "wrong but confident" corner ``(u, v)``: target's logit lowest, the other swept highest.

        With the target not among the swept logits, ``(lo, hi)``, as in the lecture's picture.
        """
        lo, hi = limits
        return (hi, lo) if self.target == self.swept[1] else (lo, hi)

    def describe(self) -> dict[str, Any]:
        """JSON-able description (0-based indices; JSON has no infinity, so -inf is the string "-inf")."""
        others = [c for c in range(self.num_classes) if c not in self.swept]
        return {
            "num_classes": self.num_classes,
            "target": self.target,
            "swept": list(self.swept),
            "fixed": {str(c): float(self._row[c]) if np.isfinite(self._row[c]) else "-inf" for c in others},
            "held_out": list(self.held_out),
        }


#: The lecture's slice: 3 classes, target class 1 (index 0), y3 = -inf, (y1, y2) swept.
LECTURE_PLANE = LogitPlane()


@dataclass(frozen=True)
class Evaluation:
    """Loss, swept gradient and target probability at points of a plane (broadcast shape S).

    ``loss`` is the loss minus its constant part ``constant`` (0 unless the loss is a sum of
    per-class terms and some logits are held fixed: then the fixed classes' terms, inf for a
    logit at -inf); the full loss is ``loss + constant``.
    """

    loss: np.ndarray  #: (*S,) the per-sample loss, minus ``constant``
    grad: np.ndarray  #: (*S, 2) dL/du, dL/dv
    p_target: np.ndarray  #: (*S,) softmax probability of the target class
    constant: float = 0.0  #: the part of the loss that no swept logit changes

    @property
    def grad_norm(self) -> np.ndarray:
        """(*S,) Euclidean norm of (dL/du, dL/dv)."""
        return np.hypot(self.grad[..., 0], self.grad[..., 1])


@dataclass(frozen=True)
class Surface(Evaluation):
    """:class:`Evaluation` on a square grid: ``loss[r, c]`` is at ``u = axis[c]``, ``v = axis[r]``."""

    loss_name: str = ""
    axis: np.ndarray = field(default_factory=lambda: np.empty(0))  #: (n,) values of u and of v
    plane: LogitPlane = LECTURE_PLANE


@dataclass(frozen=True)
class _Reduction:
    """Which logit columns :func:`evaluate` hands to the core, and the constant it leaves out."""

    columns: tuple[int, ...]  #: the kept classes, in class order
    target: int  #: the target's index among them
    constant: float  #: the dropped classes' part of the loss (0, a finite number, or inf)


_REDUCTIONS: dict[tuple[Any, ...], _Reduction] = {}


def _reduction(loss: str, plane: LogitPlane, options: Mapping[str, Any]) -> _Reduction:
    """Drop the held-out (-inf) classes, and for a separable loss every fixed class; cached per call site.

    Dropping a -inf class is exact for every loss (p = 0, no smoothing mass, a zero term). For a
    separable loss the fixed classes' terms do not depend on the swept logits; their sum is the
    core's loss on the full row minus the core's loss on the kept columns, at any point.
    """
    key = (loss, plane, tuple(sorted(options.items())))
    if key in _REDUCTIONS:
        return _REDUCTIONS[key]
    from outlayer.losses import get_loss

    separable = loss_info(loss).separable
    fixed = [c for c in range(plane.num_classes) if c not in plane.swept and c != plane.target]
    dropped = [c for c in fixed if separable or c in plane.held_out]
    columns = tuple(c for c in range(plane.num_classes) if c not in dropped)
    constant = 0.0
    if dropped and separable:
        with np.errstate(over="ignore", invalid="ignore"):
            row = plane.logits(0.0, 0.0)[None]
            target = np.array([plane.target])
            loss_fn = get_loss(str(loss_info(loss).core)).value
            full = float(loss_fn(row, target, reduction="sum", **options))
            kept = float(loss_fn(row[:, list(columns)], np.array([columns.index(plane.target)]), reduction="sum",
                                 **options))
        constant = full - kept if math.isfinite(full) else math.inf
    reduction = _Reduction(columns, columns.index(plane.target), constant)
    if len(_REDUCTIONS) > 256:  # planes are few in practice; keep the cache bounded anyway
        _REDUCTIONS.clear()
    _REDUCTIONS[key] = reduction
    return reduction


def evaluate(
    loss: str,
    u: Any,
    v: Any,
    plane: LogitPlane = LECTURE_PLANE,
    loss_options: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Loss (minus its constant part), gradient (dL/du, dL/dv) and p(target) at the points ``(u, v)``.

    ``u`` and ``v`` broadcast to a shape S; the logits (S + (K,)) are flattened to (N, K) rows,
    the held-out columns (and, for a separable loss, every fixed column) are dropped (see the
    module docstring), and the rows go to the core's ``get_loss(loss).with_grad(...,
    reduction="none")``, whose row-wise gradient dL/dlogits gives the two swept columns.
    p(target) is the core's softmax of the full rows. ``loss_options`` go to the loss (e.g.
    ``{"label_smoothing": 0.2}`` for "ce-smooth").
    """
    from outlayer.activations import softmax
    from outlayer.losses import get_loss

    options = dict(loss_options or {})
    info = loss_info(loss)
    if info.core is None:
        raise ValueError(f"loss {loss!r} has no error surface over the logits (it has one output)")
    reduction = _reduction(loss, plane, options)
    logits = plane.logits(u, v)
    shape = logits.shape[:-1]
    rows = logits.reshape(-1, plane.num_classes)
    kept = list(reduction.columns)
    swept = [kept.index(c) for c in plane.swept]
    count = rows.shape[0]
    values, swept_grad, p_target = np.empty(count), np.empty((count, 2)), np.empty(count)
    loss_fn = get_loss(info.core).with_grad
    # Blocks of _CHUNK_ROWS keep the core's temporaries in cache: ~25% faster on a 1001^2 grid.
    for begin in range(0, count, _CHUNK_ROWS):
        block = rows[begin:begin + _CHUNK_ROWS]
        target = np.full(block.shape[0], reduction.target, dtype=np.int64)
        block_values, block_grad = loss_fn(block[:, kept] if len(kept) < plane.num_classes else block, target,
                                           reduction="none", **options)
        values[begin:begin + _CHUNK_ROWS] = block_values
        swept_grad[begin:begin + _CHUNK_ROWS] = block_grad[:, swept]
        p_target[begin:begin + _CHUNK_ROWS] = softmax(block)[:, plane.target]
    return Evaluation(loss=values.reshape(shape), grad=swept_grad.reshape(shape + (2,)),
                      p_target=p_target.reshape(shape), constant=reduction.constant)


def evaluate_grid(
    loss: str,
    plane: LogitPlane = LECTURE_PLANE,
    limits: tuple[float, float] = LECTURE_LIMITS,
    resolution: int = DEFAULT_RESOLUTION,
    loss_options: Mapping[str, Any] | None = None,
) -> Surface:
    """The loss surface over ``[lo, hi]^2`` in the swept logits, ``resolution`` points per axis.

    Returns a :class:`Surface` whose arrays are (n, n) (``grad`` (n, n, 2)), rows = v, columns = u.
    """
    lo, hi = check.limits(limits)
    n = check.integer("resolution", resolution, low=2)
    axis = np.linspace(lo, hi, n)
    result = evaluate(loss, axis[np.newaxis, :], axis[:, np.newaxis], plane, loss_options)
    return Surface(
        loss=result.loss, grad=result.grad, p_target=result.p_target, constant=result.constant,
        loss_name=str(loss), axis=axis, plane=plane,
    )


@dataclass(frozen=True)
class DescentPath:
    """One optimiser's path on a plane, ``steps + 1`` recorded points (index 0 = the start)."""

    loss_name: str
    optimizer: str
    lr: float
    goal: float
    points: np.ndarray  #: (T, 2) the (u, v) iterates
    loss: np.ndarray  #: (T,)
    p_target: np.ndarray  #: (T,)
    grad_norm: np.ndarray  #: (T,)
    steps_to_goal: int | None  #: first step index with p_target >= goal; None if never, or if the path diverged
    diverged: bool  #: the iterates overflowed (the path stops at its last finite point) or the loss grew
    first_above_goal: int | None = None  #: first step with p_target >= goal, diverged or not

    @property
    def max_p_target(self) -> float:
        """The highest p(target) along the path (a path can pass the goal while overshooting)."""
        return float(np.max(self.p_target))


#: One descent run: an optimiser name, its learning rate and optional hyper-parameters for
#: ``outlayer.optim.make_optimizer`` (defaults: momentum 0.9; Adam 0.9, 0.999, eps 1e-8).
Run = tuple[str, float] | tuple[str, float, Mapping[str, Any]]


def _descend(
    loss: str,
    plane: LogitPlane,
    starts: np.ndarray,
    runs: Sequence[Run],
    *,
    steps: int,
    goal: float,
    loss_options: Mapping[str, Any] | None,
    record: bool,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Descend from the B rows of ``starts`` (B, 2) at once, one evaluation of the core per step.

    The rows are split into ``len(runs)`` equal consecutive blocks; block r is stepped by its own
    optimiser ``runs[r]`` (a view into the shared parameter array, updated in place). Rows never
    interact: the batch only amortises the per-call cost. Returns ``(trace, first_hit, valid)``:
    trace arrays are (T, B, ...) (T = steps + 1 when ``record``, else just the last iterate; every
    row takes the whole budget, so that a row that passes the goal and diverges later is known as
    diverged), ``first_hit`` (B,) is the first step with p_target >= goal (-1 for never),
    ``valid`` (B,) how many leading points of a row are finite (a diverged row is frozen at its last
    finite point; ``valid <= steps`` means it diverged).
    """
    from outlayer.optim import make_optimizer

    params = np.array(starts, dtype=float).reshape(-1, 2)
    if params.shape[0] % len(runs):
        raise ValueError(f"{params.shape[0]} start rows do not split into {len(runs)} equal blocks")
    block = params.shape[0] // len(runs)
    stepped = []
    for index, run_spec in enumerate(runs):
        name, lr, *hyper = run_spec
        optimizer = make_optimizer(name, lr, **dict(hyper[0] if hyper else {}))
        stepped.append((optimizer, params[index * block:(index + 1) * block]))  # a view: updated in place
    # A diverging path (say MSE on logits at lr > 1) overflows on purpose: it is detected and frozen.
    with np.errstate(over="ignore", invalid="ignore"):
        return _descend_loop(loss, plane, params, stepped, steps=steps, goal=goal, loss_options=loss_options,
                             record=record)


def _descend_loop(loss: str, plane: LogitPlane, params: np.ndarray, stepped: Sequence[tuple[Any, np.ndarray]], *,
                  steps: int, goal: float, loss_options: Mapping[str, Any] | None,
                  record: bool) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    batch = params.shape[0]
    block = batch // len(stepped)
    first_hit = np.full(batch, -1, dtype=np.int64)
    valid = np.full(batch, steps + 1, dtype=np.int64)
    alive = np.ones(batch, dtype=bool)
    last_good = params.copy()
    trace: dict[str, list[np.ndarray]] = {"points": [], "loss": [], "p_target": [], "grad_norm": []}
    initial_loss = None
    for step in range(steps + 1):
        at = evaluate(loss, params[:, 0], params[:, 1], plane, loss_options)
        if initial_loss is None:
            initial_loss = at.loss.copy()
        finite = np.isfinite(at.loss) & np.all(np.isfinite(at.grad), axis=1)
        newly_dead = alive & ~finite
        if np.any(newly_dead):  # diverged: freeze the row at its last finite point and re-evaluate it
            alive &= finite
            valid[newly_dead] = step
            params[newly_dead] = last_good[newly_dead]
            at = evaluate(loss, params[:, 0], params[:, 1], plane, loss_options)
        hit = (first_hit < 0) & alive & (at.p_target >= goal)
        first_hit[hit] = step
        finished = step == steps or not np.any(alive)
        if record or finished:
            for key, value in (("points", params.copy()), ("loss", at.loss), ("p_target", at.p_target),
                               ("grad_norm", at.grad_norm)):
                trace[key].append(value)
        if finished:
            break
        last_good[alive] = params[alive]
        grad = np.where(alive[:, None], at.grad, 0.0)
        for index, (optimizer, view) in enumerate(stepped):
            optimizer.step([view], [grad[index * block:(index + 1) * block]])
        params[~alive] = last_good[~alive]  # momentum would keep moving frozen rows
        escaped = alive & ~np.all(np.isfinite(params), axis=1)
        if np.any(escaped):
            alive &= ~escaped
            valid[escaped] = step + 1
            params[escaped] = last_good[escaped]
    stacked: dict[str, Any] = {k: np.stack(v) for k, v in trace.items()}
    stacked["initial_loss"] = initial_loss
    return stacked, first_hit, valid


def _grew(final: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """Rows whose loss ended above where it started (beyond rounding): an unstable, growing oscillation."""
    return np.asarray(final) > np.asarray(initial) + 1e-12 * np.maximum(np.abs(initial), 1.0)


#: descent_paths' default runs: each optimiser at the default rate.
_EVERY_OPTIMIZER: tuple[Run, ...] = tuple((name, DEFAULT_LR) for name in ("sgd", "momentum", "adam"))


def descent_paths(
    loss: str,
    runs: Sequence[Run] = _EVERY_OPTIMIZER,
    plane: LogitPlane = LECTURE_PLANE,
    start: tuple[float, float] | None = None,
    *,
    steps: int = DEFAULT_STEPS,
    goal: float = DEFAULT_GOAL,
    loss_options: Mapping[str, Any] | None = None,
) -> list[DescentPath]:
    """One descent path of ``loss`` per run (optimiser, lr[, hyper-parameters]), all from ``start``.

    ``start`` defaults to the plane's wrong corner of the lecture's range
    (:meth:`LogitPlane.wrong_corner`). Every path takes exactly ``steps`` steps: at each, the core
    gradient (dL/du, dL/dv) goes to ``outlayer.optim.make_optimizer(name, lr, **hyper).step``.
    ``steps_to_goal`` is the first recorded index t with p_target >= ``goal`` (t = 0 is the
    start), None if there is none. The runs share one core evaluation per step.
    """
    start_point = check.point("start", plane.wrong_corner() if start is None else start)
    steps = check.integer("steps", steps, low=0)
    goal = check.probability("goal", goal)
    runs = list(runs)
    if not runs:
        raise ValueError("runs must name at least one (optimizer, lr) pair, got none")
    for run_spec in runs:
        if isinstance(run_spec, str) or len(run_spec) not in (2, 3):
            raise ValueError(f"each run must be (optimizer, lr) or (optimizer, lr, options), got {run_spec!r}")
    starts = np.repeat(np.asarray([start_point]), len(runs), axis=0)
    trace, first_hit, valid = _descend(loss, plane, starts, runs, steps=steps, goal=goal,
                                       loss_options=loss_options, record=True)
    paths = []
    for row, run_spec in enumerate(runs):
        length = int(valid[row])
        # overflowed, or still finite but climbing (a step size past the stable range): it reaches nothing
        diverged = bool(length <= steps or _grew(trace["loss"][length - 1, row], trace["initial_loss"][row]))
        hit = int(first_hit[row]) if first_hit[row] >= 0 else None
        paths.append(DescentPath(
            loss_name=str(loss), optimizer=str(run_spec[0]), lr=float(run_spec[1]), goal=goal,
            points=trace["points"][:length, row], loss=trace["loss"][:length, row],
            p_target=trace["p_target"][:length, row], grad_norm=trace["grad_norm"][:length, row],
            steps_to_goal=None if diverged else hit, diverged=diverged, first_above_goal=hit,
        ))
    return paths


def descent_path(
    loss: str,
    plane: LogitPlane = LECTURE_PLANE,
    start: tuple[float, float] | None = None,
    *,
    optimizer: str = "sgd",
    lr: float = DEFAULT_LR,
    steps: int = DEFAULT_STEPS,
    goal: float = DEFAULT_GOAL,
    loss_options: Mapping[str, Any] | None = None,
    optimizer_options: Mapping[str, Any] | None = None,
) -> DescentPath:
    """:func:`descent_paths` for a single optimiser: ``make_optimizer(optimizer, lr, **optimizer_options)``."""
    return descent_paths(loss, [(optimizer, lr, dict(optimizer_options or {}))], plane, start, steps=steps,
                         goal=goal, loss_options=loss_options)[0]


def steps_to_goal_map(
    loss: str,
    plane: LogitPlane = LECTURE_PLANE,
    limits: tuple[float, float] = LECTURE_LIMITS,
    resolution: int = 41,
    *,
    optimizer: str = "sgd",
    lr: float = DEFAULT_LR,
    steps: int = DEFAULT_STEPS,
    goal: float = DEFAULT_GOAL,
    loss_options: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """From every start point of a (n, n) grid, the steps until p_target >= goal.

    Returns ``(axis, steps)``: ``steps[r, c]`` is for the start ``u = axis[c]``, ``v = axis[r]``,
    NaN where the budget ran out first or the path diverged. All n^2 paths run as one batch.
    """
    lo, hi = check.limits(limits)
    axis = np.linspace(lo, hi, check.integer("resolution", resolution, low=2))
    uu, vv = np.meshgrid(axis, axis)
    steps = check.integer("steps", steps, low=0)
    trace, first_hit, valid = _descend(
        loss, plane, np.stack([uu.ravel(), vv.ravel()], axis=1), [(optimizer, lr)],
        steps=steps, goal=check.probability("goal", goal), loss_options=loss_options, record=False,
    )
    # a diverged path (overflowed, or its loss grew) reaches nothing
    reached = (first_hit >= 0) & (valid > steps) & ~_grew(trace["loss"][-1], trace["initial_loss"])
    return axis, np.where(reached, first_hit, np.nan).astype(float).reshape(uu.shape)


@dataclass(frozen=True)
class ProbabilityCurve:
    """A loss and its gradient along the margin cut: a line on which p(target) runs from ~0 to ~1.

    On the line the target's swept logit is +m/2 and the other swept logit -m/2 (``swept[0]``
    takes +m/2 when the target is not swept), so m is their difference y_target - y_other: the
    margin. ``loss`` is the loss minus its constant part ``constant`` (see :class:`Evaluation`).
    """

    loss_name: str
    margin: np.ndarray  #: (m,) the margin m: the logit going up is +m/2, the other -m/2
    p_target: np.ndarray  #: (m,) softmax probability of the target along the line
    loss: np.ndarray  #: (m,)
    grad: np.ndarray  #: (m, 2) dL/du, dL/dv
    grad_target: np.ndarray  #: (m,) dL/dy_target (0 when the target is not swept)
    up: int = 0  #: which swept slot (0 = u, 1 = v) holds +m/2
    constant: float = 0.0

    @property
    def grad_norm(self) -> np.ndarray:
        return np.hypot(self.grad[:, 0], self.grad[:, 1])

    @property
    def grad_margin(self) -> np.ndarray:
        """dL/dm along the line: the chain rule on the core's gradient, (dL/dy_up - dL/dy_down) / 2."""
        return 0.5 * (self.grad[:, self.up] - self.grad[:, 1 - self.up])


def loss_vs_probability(
    loss: str,
    plane: LogitPlane = LECTURE_PLANE,
    span: float = 30.0,
    num_points: int = 601,
    loss_options: Mapping[str, Any] | None = None,
) -> ProbabilityCurve:
    """The loss against the target's probability along the margin cut, m in [-span, span].

    In the lecture's plane (y3 = -inf) p1 = sigmoid(m), so the curve covers p from
    sigmoid(-span) to sigmoid(span) (span 30: 1e-13 to 1 - 1e-13), and CE = log(1 + e^{-m}),
    MSE = 2 (1 - p1)^2. Losses that are functions of the probabilities (CE, MSE) depend only on
    p here; the square loss on logits does not (it also depends on where the line runs).
    """
    span = float(span)
    if not (math.isfinite(span) and span > 0):
        raise ValueError(f"span must be a positive finite number, got {span!r}")
    margin = np.linspace(-span, span, check.integer("num_points", num_points, low=2))
    up, down = (1, 0) if plane.target == plane.swept[1] else (0, 1)
    coords: list[Any] = [None, None]
    coords[up], coords[down] = margin / 2, -margin / 2
    result = evaluate(loss, coords[0], coords[1], plane, loss_options)
    target_slot = plane.swept.index(plane.target) if plane.target in plane.swept else None
    grad_target = result.grad[:, target_slot] if target_slot is not None else np.zeros_like(margin)
    return ProbabilityCurve(
        loss_name=str(loss), margin=margin, p_target=result.p_target, loss=result.loss,
        grad=result.grad, grad_target=grad_target, up=up, constant=result.constant,
    )


def margin_cut(
    loss: str,
    plane: LogitPlane = LECTURE_PLANE,
    span: float = SurfaceConfig.margin_span,
    num_points: int = SurfaceConfig.margin_points,
    loss_options: Mapping[str, Any] | None = None,
) -> ProbabilityCurve:
    """The 1-D margin cut of the lab's report: :func:`loss_vs_probability` over m in [-span, span]."""
    return loss_vs_probability(loss, plane, span, num_points, loss_options)


@dataclass(frozen=True)
class PlaneOptimum:
    """Where a loss is lowest on a plane, and the target probability there."""

    point: tuple[float, float]
    loss: float  #: minus the constant part, like every loss of the lab
    p_target: float  #: the highest p(target) among the (near-)minimisers found
    search: str

    def reachable(self, goal: float) -> bool:
        """Can a descent that converges to the optimum end with p(target) >= goal?"""
        return self.p_target >= goal


#: Half-widths of the square boxes :func:`plane_optimum` searches, around the origin.
OPTIMUM_RADII: tuple[float, ...] = (10.0, 100.0, 1000.0)


def plane_optimum(
    loss: str,
    plane: LogitPlane = LECTURE_PLANE,
    loss_options: Mapping[str, Any] | None = None,
    *,
    radii: Sequence[float] = OPTIMUM_RADII,
    resolution: int = 201,
    refinements: int = 8,
) -> PlaneOptimum:
    """The minimum of ``loss`` over the whole plane (not just the figure's range), by grid search.

    Grids of ``resolution``^2 points over [-R, R]^2 for each R in ``radii`` (a loss whose infimum
    lies at infinity, like CE's, is then lowest on the largest box's edge, where p(target) is
    within e^{-1000} of its limit); the lowest point is refined ``refinements`` times on a 21 x 21
    grid spanning two steps of the grid it came from on each side (each refinement 5x finer). Among grid points within rounding of the minimum, the one with the
    highest p(target) is kept: a loss whose minimum is a whole valley (label smoothing's, along
    y1 - y2 = constant) has one p along it, and a loss that underflows to 0 far out (CE) has p = 1
    there.
    """
    best: tuple[float, float, float, float, float] | None = None  # (loss, -p, u, v, grid step)

    def search(us: np.ndarray, vs: np.ndarray) -> None:
        nonlocal best
        at = evaluate(loss, us[np.newaxis, :], vs[:, np.newaxis], plane, loss_options)
        low = float(np.nanmin(at.loss))
        near = at.loss <= low + 1e-12 * (1.0 + abs(low))
        p = np.where(near, at.p_target, -1.0)
        row, col = np.unravel_index(int(np.argmax(p)), p.shape)
        step = float(us[1] - us[0])
        candidate = (float(at.loss[row, col]), -float(at.p_target[row, col]), float(us[col]), float(vs[row]), step)
        tie = 1e-12 * (1.0 + abs(best[0])) if best is not None else 0.0
        if best is None or candidate[0] < best[0] - tie or (abs(candidate[0] - best[0]) <= tie and candidate[1] < best[1]):
            best = candidate

    with np.errstate(over="ignore", invalid="ignore"):
        for radius in radii:
            axis = np.linspace(-radius, radius, resolution)
            search(axis, axis)
        for _ in range(refinements):
            assert best is not None
            u, v, step = best[2], best[3], best[4]
            search(np.linspace(u - 2 * step, u + 2 * step, 21), np.linspace(v - 2 * step, v + 2 * step, 21))
    assert best is not None
    boxes = ", ".join(f"{r:g}" for r in radii)
    return PlaneOptimum(point=(best[2], best[3]), loss=best[0], p_target=-best[1],
                        search=f"grid minimum over [-R, R]^2 for R = {boxes} ({resolution}^2 points each), "
                               f"refined {refinements} times; ties: the highest p(target)")
