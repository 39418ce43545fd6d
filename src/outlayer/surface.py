"""Error surfaces, gradient fields and descent paths of the output-layer losses.

The lecture's picture, made measurable: a 3-class output with target class 1 (index 0), y3 held
at -1000 (so e^{y3} is exactly 0 in float64, the "y3 -> -inf" limit) and (y1, y2) swept over
[-10, 10]^2. In the "wrong but confident" corner (y1 = -10, y2 = 10) the softmax gives the target
p1 = sigmoid(y1 - y2) ~ 2e-9. There the cross-entropy gradient has norm ~ sqrt(2) while the
gradient of MSE on the probabilities is ~ 1e-8: gradient descent leaves the corner in a few
steps with CE and stays for millions of steps with MSE.

Everything here generalises: any number of classes K, any target class, any pair of swept
logits, any values for the others (a :class:`LogitPlane`), and every loss registered in
:mod:`outlayer.losses`. Each loss and gradient comes from the core
(``get_loss(name).with_grad(..., reduction="none")``, one row per grid point); each optimiser
step from :mod:`outlayer.optim`.

Conventions:

* Class indices are 0-based in the API (``target=0`` is the lecture's class 1); figures label the
  logits y1..yK as the lecture does.
* The two swept logits are called ``u`` (``swept[0]``, the x axis of every figure) and ``v``
  (``swept[1]``, the y axis). A grid ``Surface`` is indexed ``[row, column] = [v, u]``, so
  ``ax.contour(s.axis, s.axis, s.loss)`` draws it the right way round.
* ``grad[..., 0] = dL/du``, ``grad[..., 1] = dL/dv``: the two swept columns of the core's
  per-sample gradient dL/dlogits. "Gradient norm" is the Euclidean norm of that pair, the step
  direction gradient descent sees on the surface.
* A loss is summed over classes per sample, as the core defines it (MSE has no 1/2, no 1/K).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_GOAL",
    "DEFAULT_LR",
    "DEFAULT_RESOLUTION",
    "DEFAULT_STEPS",
    "LECTURE_LIMITS",
    "LECTURE_PLANE",
    "DescentPath",
    "Evaluation",
    "LogitPlane",
    "ProbabilityCurve",
    "Surface",
    "descent_path",
    "evaluate",
    "evaluate_grid",
    "loss_vs_probability",
    "run",
    "steps_to_goal_map",
]

#: Plain-GD learning rate shared by every loss and optimiser. Measured (benchmarks/bench_surface.py,
#: and ``lr_sweep`` in :func:`run`'s output): at 0.5 every loss descends monotonically from the
#: corner (MSE on logits has curvature 2, so GD on it is stable only for lr < 1 and lands
#: exactly on its minimum in one step at 0.5); CE reaches p >= 0.9 in about 30 steps, plain-GD
#: MSE not at any lr from 0.1 to 10 within the budget.
DEFAULT_LR = 0.5
#: Step budget: about 30x what CE needs at DEFAULT_LR and ~1e5x fewer than plain-GD MSE would
#: (its odds against the target, e^{20} at the corner, fall by 8 lr per step: ``run()`` reports
#: the extrapolated count as ``extrapolated_steps_to_p90``).
DEFAULT_STEPS = 1000
#: The target probability a descent path must reach to count as "escaped".
DEFAULT_GOAL = 0.9
#: Grid points per axis for the figures and the optimum search of :func:`run`.
DEFAULT_RESOLUTION = 201
#: Rows per core call in :func:`evaluate` (big grids are evaluated block by block).
_CHUNK_ROWS = 1 << 16
#: The lecture's sweep range for both swept logits.
LECTURE_LIMITS: tuple[float, float] = (-10.0, 10.0)
#: Descent-path optimisers of :func:`run`, in the order they are reported.
DEFAULT_OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam")
#: Learning rates of the plain-GD sweep reported by :func:`run`.
SWEEP_LRS: tuple[float, ...] = (0.1, 0.5, 2.0, 10.0)


# --------------------------------------------------------------------------------- validation


def _is_real_seq(value: Any) -> bool:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return array.ndim <= 1


def _as_int(name: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_positive(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def _check_goal(goal: Any) -> float:
    try:
        number = float(goal)
    except (TypeError, ValueError):
        raise ValueError(f"goal must be a probability in (0, 1), got {goal!r}") from None
    if not 0.0 < number < 1.0:
        raise ValueError(f"goal must be a probability in (0, 1), got {goal!r}")
    return number


def _check_limits(limits: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in limits)
    except (TypeError, ValueError):
        raise ValueError(f"limits must be two numbers lo < hi, got {limits!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"limits must be two finite numbers lo < hi, got {limits!r}")
    return lo, hi


def _check_point(name: str, point: Any) -> tuple[float, float]:
    try:
        u, v = (float(x) for x in point)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers (u, v), got {point!r}") from None
    if not (math.isfinite(u) and math.isfinite(v)):
        raise ValueError(f"{name} must be finite, got {point!r}")
    return u, v


def _check_optimizer(name: Any) -> str:
    from outlayer.optim import OPTIMIZER_NAMES

    if name not in OPTIMIZER_NAMES:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZER_NAMES)}")
    return str(name)


def _check_names(what: str, item: str, names: Any, allowed: Iterable[str]) -> tuple[str, ...]:
    """``names`` (one name or several) as a tuple without repeats, each one of ``allowed``."""
    allowed = tuple(allowed)
    try:
        chosen = (names,) if isinstance(names, str) else tuple(names)
    except TypeError:
        raise ValueError(f"{what} must be names from {', '.join(allowed)}, got {names!r}") from None
    if not chosen:
        raise ValueError(f"{what} must name at least one of {', '.join(allowed)}, got none")
    for name in chosen:
        if name not in allowed:
            raise ValueError(f"unknown {item} {name!r} in {what}; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(chosen))


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
        increasing class order. Must be finite; -1000 stands for -inf (e^-1000 is 0 in float64).
    """

    num_classes: int = 3
    target: int = 0
    swept: tuple[int, int] = (0, 1)
    fixed: float | tuple[float, ...] = -1000.0
    _row: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        k = _as_int("num_classes", self.num_classes, low=2)
        target = _as_int("target", self.target, low=0)
        if target >= k:
            raise ValueError(f"target must be a class index in [0, {k - 1}], got {self.target!r}")
        try:
            swept = tuple(int(_as_int("swept", s, low=0)) for s in self.swept)
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
        if not np.all(np.isfinite(values)):
            raise ValueError(f"fixed values must be finite (use -1000 for -inf), got {self.fixed!r}")
        row = np.zeros(k)
        row[others] = values if values.size == len(others) else values[0]
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

    def wrong_corner(self, limits: tuple[float, float] = LECTURE_LIMITS) -> tuple[float, float]:
        """The "wrong but confident" corner ``(u, v)``: target's logit lowest, the other swept highest.

        With the target not among the swept logits, ``(lo, hi)``, as in the lecture's picture.
        """
        lo, hi = limits
        return (hi, lo) if self.target == self.swept[1] else (lo, hi)

    def describe(self) -> dict[str, Any]:
        """JSON-able description (0-based indices)."""
        others = [c for c in range(self.num_classes) if c not in self.swept]
        return {
            "num_classes": self.num_classes,
            "target": self.target,
            "swept": list(self.swept),
            "fixed": {str(c): float(self._row[c]) for c in others},
        }


#: The lecture's slice: 3 classes, target class 1 (index 0), y3 = -1000, (y1, y2) swept.
LECTURE_PLANE = LogitPlane()


@dataclass(frozen=True)
class Evaluation:
    """Loss, swept gradient and target probability at points of a plane (broadcast shape S)."""

    loss: np.ndarray  #: (*S,) the per-sample loss
    grad: np.ndarray  #: (*S, 2) dL/du, dL/dv
    p_target: np.ndarray  #: (*S,) softmax probability of the target class

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


def evaluate(
    loss: str,
    u: Any,
    v: Any,
    plane: LogitPlane = LECTURE_PLANE,
    loss_options: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Loss, gradient (dL/du, dL/dv) and p(target) at the points ``(u, v)`` of ``plane``.

    ``u`` and ``v`` broadcast to a shape S; the logits (S + (K,)) are flattened to (N, K) rows and
    handed to the core's ``get_loss(loss).with_grad(..., reduction="none")``, whose row-wise
    gradient dL/dlogits gives the two swept columns; p(target) is the core's softmax.
    ``loss_options`` go to the loss (e.g. ``{"label_smoothing": 0.2}`` for "ce-smooth").
    """
    from outlayer.activations import softmax
    from outlayer.losses import get_loss

    logits = plane.logits(u, v)
    shape = logits.shape[:-1]
    rows = logits.reshape(-1, plane.num_classes)
    count = rows.shape[0]
    values, swept_grad, p_target = np.empty(count), np.empty((count, 2)), np.empty(count)
    loss_fn, options = get_loss(loss).with_grad, dict(loss_options or {})
    # Blocks of _CHUNK_ROWS keep the core's temporaries in cache: ~25% faster on a 1001^2 grid.
    for begin in range(0, count, _CHUNK_ROWS):
        block = rows[begin:begin + _CHUNK_ROWS]
        target = np.full(block.shape[0], plane.target, dtype=np.int64)
        block_values, block_grad = loss_fn(block, target, reduction="none", **options)
        values[begin:begin + _CHUNK_ROWS] = block_values
        swept_grad[begin:begin + _CHUNK_ROWS] = block_grad[:, list(plane.swept)]
        p_target[begin:begin + _CHUNK_ROWS] = softmax(block)[:, plane.target]
    return Evaluation(loss=values.reshape(shape), grad=swept_grad.reshape(shape + (2,)), p_target=p_target.reshape(shape))


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
    lo, hi = _check_limits(limits)
    n = _as_int("resolution", resolution, low=2)
    axis = np.linspace(lo, hi, n)
    result = evaluate(loss, axis[np.newaxis, :], axis[:, np.newaxis], plane, loss_options)
    return Surface(
        loss=result.loss, grad=result.grad, p_target=result.p_target,
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
    steps_to_goal: int | None  #: first step index with p_target >= goal, None if never
    diverged: bool  #: the iterates left the finite numbers; the path stops at the last finite point


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
    trace arrays are (T, B, ...) (T = steps + 1 when ``record``, else just the last iterate; without
    ``record`` the loop stops once every row has reached the goal), ``first_hit`` (B,) is the first
    step with p_target >= goal (-1 for never), ``valid`` (B,) how many leading points of a row are
    finite (a diverged row is frozen at its last finite point).
    """
    from outlayer.optim import make_optimizer

    params = np.array(starts, dtype=float).reshape(-1, 2)
    if params.shape[0] % len(runs):
        raise ValueError(f"{params.shape[0]} start rows do not split into {len(runs)} equal blocks")
    block = params.shape[0] // len(runs)
    stepped = []
    for index, run_spec in enumerate(runs):
        name, lr, *hyper = run_spec
        optimizer = make_optimizer(_check_optimizer(name), lr, **dict(hyper[0] if hyper else {}))
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
    for step in range(steps + 1):
        at = evaluate(loss, params[:, 0], params[:, 1], plane, loss_options)
        finite = np.isfinite(at.loss) & np.all(np.isfinite(at.grad), axis=1)
        newly_dead = alive & ~finite
        if np.any(newly_dead):  # diverged: freeze the row at its last finite point and re-evaluate it
            alive &= finite
            valid[newly_dead] = step
            params[newly_dead] = last_good[newly_dead]
            at = evaluate(loss, params[:, 0], params[:, 1], plane, loss_options)
        hit = (first_hit < 0) & alive & (at.p_target >= goal)
        first_hit[hit] = step
        finished = step == steps or (not record and bool(np.all((first_hit >= 0) | ~alive)))
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
    return {k: np.stack(v) for k, v in trace.items()}, first_hit, valid


def descent_paths(
    loss: str,
    runs: Sequence[Run] = tuple((name, DEFAULT_LR) for name in ("sgd", "momentum", "adam")),
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
    start_point = _check_point("start", plane.wrong_corner() if start is None else start)
    steps = _as_int("steps", steps, low=0)
    goal = _check_goal(goal)
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
        paths.append(DescentPath(
            loss_name=str(loss), optimizer=str(run_spec[0]), lr=float(run_spec[1]), goal=goal,
            points=trace["points"][:length, row], loss=trace["loss"][:length, row],
            p_target=trace["p_target"][:length, row], grad_norm=trace["grad_norm"][:length, row],
            steps_to_goal=int(first_hit[row]) if first_hit[row] >= 0 else None, diverged=length <= steps,
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
    NaN where the budget ran out first. All n^2 paths run as one batch.
    """
    lo, hi = _check_limits(limits)
    axis = np.linspace(lo, hi, _as_int("resolution", resolution, low=2))
    uu, vv = np.meshgrid(axis, axis)
    _, first_hit, _ = _descend(
        loss, plane, np.stack([uu.ravel(), vv.ravel()], axis=1), [(optimizer, lr)],
        steps=_as_int("steps", steps, low=0), goal=_check_goal(goal), loss_options=loss_options, record=False,
    )
    return axis, np.where(first_hit >= 0, first_hit, np.nan).astype(float).reshape(uu.shape)


@dataclass(frozen=True)
class ProbabilityCurve:
    """A loss and its swept-gradient norm along a line on which p(target) runs from ~0 to ~1."""

    loss_name: str
    margin: np.ndarray  #: (m,) d: the target's swept logit is +d/2, the other swept logit -d/2
    p_target: np.ndarray  #: (m,) softmax probability of the target along the line
    loss: np.ndarray  #: (m,)
    grad: np.ndarray  #: (m, 2) dL/du, dL/dv
    grad_target: np.ndarray  #: (m,) dL/dy_target (0 when the target is not swept)

    @property
    def grad_norm(self) -> np.ndarray:
        return np.hypot(self.grad[:, 0], self.grad[:, 1])


def loss_vs_probability(
    loss: str,
    plane: LogitPlane = LECTURE_PLANE,
    span: float = 30.0,
    num_points: int = 601,
    loss_options: Mapping[str, Any] | None = None,
) -> ProbabilityCurve:
    """The loss against the target's probability: the lecture's second figure.

    Walks the line through the plane's origin on which the target's swept logit is +d/2 and the
    other swept logit -d/2, d in [-span, span]. In the lecture's plane p1 = sigmoid(d), so the
    curve covers p from sigmoid(-span) to sigmoid(span) (span 30: 1e-13 to 1 - 1e-13), and
    CE = log(1 + e^{-d}), MSE = 2 (1 - p1)^2. If the target is not swept, ``swept[0]`` gets +d/2.
    Losses that are functions of the probabilities (CE, MSE) depend only on p here; MSE on logits
    does not (it also depends on where the line runs).
    """
    span = float(span)
    if not (math.isfinite(span) and span > 0):
        raise ValueError(f"span must be a positive finite number, got {span!r}")
    margin = np.linspace(-span, span, _as_int("num_points", num_points, low=2))
    up, down = (1, 0) if plane.target == plane.swept[1] else (0, 1)
    coords = [None, None]
    coords[up], coords[down] = margin / 2, -margin / 2
    result = evaluate(loss, coords[0], coords[1], plane, loss_options)
    target_slot = plane.swept.index(plane.target) if plane.target in plane.swept else None
    grad_target = result.grad[:, target_slot] if target_slot is not None else np.zeros_like(margin)
    return ProbabilityCurve(
        loss_name=str(loss), margin=margin, p_target=result.p_target, loss=result.loss,
        grad=result.grad, grad_target=grad_target,
    )


# --------------------------------------------------------------------------------------- run()

_RUN_OPTIONS = (
    "losses", "num_classes", "target", "swept", "fixed", "limits", "resolution", "start",
    "optimizers", "lr", "steps", "goal", "map_resolution",
)


def run(out_dir: str | None = None, **options: Any) -> dict[str, Any]:
    """The ``outlayer surface`` lab: measure every loss on a plane, optionally write the figures.

    Options (all optional; the defaults are the lecture's setting): ``losses`` (names, default
    all of ``outlayer.losses.LOSS_NAMES``), ``num_classes`` (3), ``target`` (0), ``swept``
    ((0, 1)), ``fixed`` (-1000.0, or one value per non-swept class), ``limits`` ((-10, 10)),
    ``resolution`` (201 grid points per axis), ``start`` (the wrong corner), ``optimizers``
    (("sgd", "momentum", "adam")), ``lr`` (DEFAULT_LR, the same for every loss and optimiser),
    ``steps`` (DEFAULT_STEPS), ``goal`` (0.9), ``map_resolution`` (41: start points per axis of
    the steps-to-goal maps drawn when ``out_dir`` is given).

    Returns a JSON-able dict: ``setup``; ``losses`` -> name -> ``corner`` (the wrong-but-confident
    corner), ``center`` and ``optimum`` (grid minimum), each with loss, gradient, gradient norm and
    p_target; ``steps_to_p90`` (plain GD, or the first optimiser when "sgd" is not run) and
    ``paths`` per optimiser (steps to the goal, the extrapolated count for a path stuck on a
    plateau, first step length, final point); ``corner_grad_norm_ratio_ce_mse``;
    ``lecture_claim`` (CE reaches the goal and MSE does not?); ``adam_vs_plateau`` (how far an
    adaptive optimiser hides MSE's flat corner); ``lr_sweep`` (plain-GD steps to the goal at
    several learning rates); ``figures`` (name -> file name) when ``out_dir`` is given. JSON has
    no infinity: a non-finite number is reported as null.
    """
    from outlayer.losses import LOSS_NAMES, get_loss

    unknown = sorted(set(options) - set(_RUN_OPTIONS))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r}; choose from {', '.join(_RUN_OPTIONS)}")
    from outlayer._guards import check_surface_run

    check_surface_run(options, writes_figures=out_dir is not None)  # memory and magnitudes, before any work
    losses = _check_names("losses", "loss", options.get("losses", LOSS_NAMES), LOSS_NAMES)
    plane = LogitPlane(
        num_classes=options.get("num_classes", 3), target=options.get("target", 0),
        swept=tuple(options.get("swept", (0, 1))), fixed=options.get("fixed", -1000.0),
    )
    limits = _check_limits(options.get("limits", LECTURE_LIMITS))
    resolution = _as_int("resolution", options.get("resolution", DEFAULT_RESOLUTION), low=2)
    corner = plane.wrong_corner(limits)
    start = _check_point("start", options["start"] if options.get("start") is not None else corner)
    from outlayer.optim import OPTIMIZER_NAMES

    optimizers = _check_names("optimizers", "optimizer", options.get("optimizers", DEFAULT_OPTIMIZERS), OPTIMIZER_NAMES)
    lr = _check_positive("lr", options.get("lr", DEFAULT_LR))
    steps = _as_int("steps", options.get("steps", DEFAULT_STEPS), low=0)
    goal = _check_goal(options.get("goal", DEFAULT_GOAL))
    map_resolution = _as_int("map_resolution", options.get("map_resolution", 41), low=2)

    center = ((limits[0] + limits[1]) / 2,) * 2
    surfaces = {name: evaluate_grid(name, plane, limits, resolution) for name in losses}
    # The reported paths and the plain-GD learning-rate sweep share one batch per loss.
    runs = [(opt, lr) for opt in optimizers] + [("sgd", rate) for rate in SWEEP_LRS]
    paths: dict[str, dict[str, DescentPath]] = {}
    sweeps: dict[str, list[DescentPath]] = {}
    for name in losses:
        computed = descent_paths(name, runs, plane, start, steps=steps, goal=goal)
        paths[name] = dict(zip(optimizers, computed[: len(optimizers)]))
        sweeps[name] = computed[len(optimizers):]
    primary = "sgd" if "sgd" in optimizers else optimizers[0]

    report_losses: dict[str, Any] = {}
    for name in losses:
        surface = surfaces[name]
        best = np.unravel_index(int(np.argmin(surface.loss)), surface.loss.shape)
        optimum = (float(surface.axis[best[1]]), float(surface.axis[best[0]]))
        report_losses[name] = {
            "description": get_loss(name).description,
            "corner": _point_report(name, plane, corner),
            "center": _point_report(name, plane, center),
            "optimum": {**_point_report(name, plane, optimum), "where": "grid minimum"},
            "max_grad_norm": _json_float(np.max(surface.grad_norm)),
            "steps_to_p90": paths[name][primary].steps_to_goal,
            "paths": {opt: _path_report(path) for opt, path in paths[name].items()},
        }

    result: dict[str, Any] = {
        "setup": {
            **plane.describe(),
            "indexing": "0-based class indices; figures call the logits y1..yK",
            "swept_names": [f"y{plane.swept[0] + 1}", f"y{plane.swept[1] + 1}"],
            "limits": list(limits),
            "resolution": resolution,
            "corner": list(corner),
            "start": list(start),
            "center": list(center),
            "lr_rule": "the default lr is lr_sweep.largest_monotone_lr on the lecture's plane: the largest "
                       "swept rate at which plain GD lowers every loss at every step",
            "optimizers": list(optimizers),
            "steps_to_p90_optimizer": primary,
            "lr": lr,
            "steps": steps,
            "goal": goal,
            "losses": list(losses),
        },
        "losses": report_losses,
        "corner_grad_norm_ratio_ce_mse": _ratio(report_losses, "ce", "mse"),
        "lecture_claim": _lecture_claim(paths, primary),
        "adam_vs_plateau": _adam_report(paths, optimizers),
        "lr_sweep": _lr_sweep(sweeps),
    }
    if out_dir is not None:
        result["figures"] = _write_figures(out_dir, surfaces, paths, plane, limits, start, losses,
                                           lr=lr, steps=steps, goal=goal, map_resolution=map_resolution,
                                           primary=primary)
    return result


def _point_report(loss: str, plane: LogitPlane, point: tuple[float, float]) -> dict[str, Any]:
    at = evaluate(loss, point[0], point[1], plane)
    return {
        "point": [float(point[0]), float(point[1])],
        "loss": _json_float(at.loss),
        "grad": [_json_float(g) for g in at.grad],
        "grad_norm": _json_float(at.grad_norm),
        "p_target": _json_float(at.p_target),
    }


def _extrapolated_steps(path: DescentPath) -> float | None:
    """For a path that ran out of budget: steps to the goal if it kept its average pace.

    The pace is measured on the odds against the target, q = (1 - p) / p: on a flat plateau of the
    two-way case (lecture plane) GD lowers q by a constant per step (MSE: 8 lr, as dq/dt = -q dd/dt
    and dd/dt = 8 lr p), so the straight-line extrapolation of q is then the actual count.
    """
    if path.steps_to_goal is not None or path.diverged or len(path.p_target) < 2:
        return None
    odds = (1.0 - path.p_target) / np.maximum(path.p_target, np.finfo(float).tiny)
    pace = (odds[0] - odds[-1]) / (len(odds) - 1)
    window = max(1, (len(odds) - 1) // 10)
    recent_pace = (odds[-1 - window] - odds[-1]) / window
    goal_odds = (1.0 - path.goal) / path.goal
    # only a path still moving at its average pace is on a plateau; one that slowed down has
    # settled somewhere short of the goal (MSE on logits stops at p = 0.73) and gets None
    if not (pace > 0 and recent_pace >= 0.5 * pace) or odds[-1] <= goal_odds:
        return None
    return _json_float(len(odds) - 1 + (odds[-1] - goal_odds) / pace)


def _path_report(path: DescentPath) -> dict[str, Any]:
    first_step = float(np.hypot(*(path.points[1] - path.points[0]))) if len(path.points) > 1 else 0.0
    return {
        "steps_to_p90": path.steps_to_goal,
        "extrapolated_steps_to_p90": _extrapolated_steps(path),
        "first_step_length": _json_float(first_step),
        "diverged": path.diverged,
        "final": {
            "point": [_json_float(x) for x in path.points[-1]],
            "loss": _json_float(path.loss[-1]),
            "p_target": _json_float(path.p_target[-1]),
            "grad_norm": _json_float(path.grad_norm[-1]),
        },
    }


def _lecture_claim(paths: Mapping[str, Mapping[str, DescentPath]], optimizer: str) -> dict[str, Any] | None:
    """Does this run show the lecture's point: CE reaches the goal from the start and MSE does not?"""
    if "ce" not in paths or "mse" not in paths:
        return None
    ce, mse = paths["ce"][optimizer].steps_to_goal, paths["mse"][optimizer].steps_to_goal
    return {"optimizer": optimizer, "ce_steps_to_p90": ce, "mse_steps_to_p90": mse,
            "holds": ce is not None and mse is None}


def _ratio(report: Mapping[str, Any], top: str, bottom: str) -> float | None:
    if top not in report or bottom not in report:
        return None
    a, b = report[top]["corner"]["grad_norm"], report[bottom]["corner"]["grad_norm"]
    return _json_float(a / b) if a is not None and b else None


def _adam_report(paths: Mapping[str, Mapping[str, DescentPath]], optimizers: Sequence[str]) -> dict[str, Any] | None:
    """MSE against CE under each optimiser: steps to the goal and length of the first step.

    Under plain GD the first MSE step from the corner is ~1e-8 the CE step; Adam divides by the
    running gradient scale, so its first step is ~lr for both losses and MSE's plateau vanishes
    (up to eps, which is not negligible next to MSE's ~1e-8 corner gradient).
    """
    if "ce" not in paths or "mse" not in paths:
        return None
    out: dict[str, Any] = {}
    for opt in optimizers:
        ce, mse = paths["ce"][opt], paths["mse"][opt]
        ce_first, mse_first = (_path_report(p)["first_step_length"] for p in (ce, mse))
        out[opt] = {
            "steps_to_p90": {"ce": ce.steps_to_goal, "mse": mse.steps_to_goal},
            "steps_ratio_mse_ce": (_json_float(mse.steps_to_goal / ce.steps_to_goal)
                                   if ce.steps_to_goal and mse.steps_to_goal is not None else None),
            "first_step_length": {"ce": ce_first, "mse": mse_first},
            "first_step_ratio_mse_ce": _json_float(mse_first / ce_first) if ce_first else None,
        }
    return out


def _is_monotone(values: np.ndarray) -> bool:
    """No step increases the loss (beyond float64 rounding of the loss itself)."""
    values = np.asarray(values, dtype=float)
    tolerance = 1e-12 * np.maximum(np.abs(values[:-1]), 1.0)
    return bool(np.all(np.diff(values) <= tolerance))


def _lr_sweep(sweeps: Mapping[str, Sequence[DescentPath]]) -> dict[str, Any]:
    """Plain GD at each rate of SWEEP_LRS: steps to the goal and whether every step lowered the loss.

    ``largest_monotone_lr`` is the largest swept rate at which plain GD descends monotonically
    for every loss: DEFAULT_LR is that rate for the lecture's plane.
    """
    rates = [path.lr for path in next(iter(sweeps.values()))]
    monotone = {name: [_is_monotone(path.loss) and not path.diverged for path in paths]
                for name, paths in sweeps.items()}
    stable = [rate for index, rate in enumerate(rates) if all(flags[index] for flags in monotone.values())]
    return {
        "optimizer": "sgd",
        "lrs": rates,
        "steps_to_p90": {name: [path.steps_to_goal for path in paths] for name, paths in sweeps.items()},
        "monotone": monotone,
        "diverged": {name: [path.diverged for path in paths] for name, paths in sweeps.items()},
        "largest_monotone_lr": max(stable) if stable else None,
    }


def _write_figures(out_dir: str, surfaces: Mapping[str, Surface], paths: Mapping[str, Mapping[str, DescentPath]],
                   plane: LogitPlane, limits: tuple[float, float], start: tuple[float, float],
                   losses: Sequence[str], *, lr: float, steps: int, goal: float, map_resolution: int,
                   primary: str) -> dict[str, str]:
    from outlayer.plots import save_figure
    from outlayer.plots import surface as figures

    curves = {name: loss_vs_probability(name, plane) for name in losses}
    maps = {name: steps_to_goal_map(name, plane, limits, map_resolution, optimizer=primary, lr=lr, steps=steps,
                                    goal=goal) for name in losses}
    built = {
        "surface_3d": figures.surfaces_3d_figure(surfaces, start),
        "surface_paths": figures.contour_paths_figure(surfaces, paths, start),
        "surface_gradients": figures.gradient_heatmaps_figure(surfaces, start),
        "surface_progress": figures.progress_figure(paths, goal),
        "surface_probability": figures.probability_curves_figure(curves),
        "surface_steps_map": figures.steps_map_figure(maps, plane, start, optimizer=primary, lr=lr, steps=steps,
                                                      goal=goal),
    }
    written: dict[str, str] = {}
    for stem, fig in built.items():
        files = save_figure(fig, out_dir, stem)
        written[stem] = files[0].name
        written[f"{stem}_svg"] = files[1].name
    return written
