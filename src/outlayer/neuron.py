"""Nielsen's single neuron: the binary case of the lecture's argument, measured.

Michael Nielsen, *Neural Networks and Deep Learning*, ch. 3, "The cross-entropy cost function"
(http://neuralnetworksanddeeplearning.com/chap3.html). One sigmoid neuron
``a = sigmoid(z)``, ``z = w x + b``, is taught to map the input ``x = 1`` to the target ``y = 0``
by plain gradient descent (one step per epoch, the whole "data set" is that one example), once
with the quadratic cost and once with cross-entropy:

* quadratic      ``C = (y - a)^2 / 2``                   ``dC/dz = (a - y) a (1 - a)``
* cross-entropy  ``C = -[y ln a + (1 - y) ln(1 - a)]``   ``dC/dz = a - y``

and by the chain rule ``dC/dw = x dC/dz``, ``dC/db = dC/dz``. The quadratic gradient carries
``sigma'(z) = a (1 - a)``, which is ~0.018 at Nielsen's badly wrong start (w, b) = (2, 2)
(a = 0.98): the neuron that is most wrong learns slowest. Cross-entropy's gradient is the error
``a - y`` itself, largest when the neuron is most wrong. That is the lecture's MSE-vs-CE
argument with two classes (softmax of ``[z, 0]`` is ``[sigmoid(z), 1 - sigmoid(z)]``).

No formula is written here: both costs and their logit gradients come from the core
(:func:`quadratic_cost_with_grad` is the core's squared error on the two-class softmax, see its
docstring; :func:`cross_entropy_cost_with_grad` is :func:`outlayer.binary_cross_entropy_with_grad`),
and every update is an :class:`outlayer.optim.SGD` step. Defaults and allowed values live in
:class:`NeuronConfig`, which the command line (``outlayer neuron``) reads. Nothing is random:
a run is a pure function of its config, bit for bit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from outlayer.activations import sigmoid
from outlayer.losses import binary_cross_entropy_with_grad, mse_with_grad
from outlayer.optim import SGD

__all__ = [
    "CLOSED_FORMS",
    "COSTS",
    "RATE_SETTINGS",
    "SOURCE",
    "NeuronConfig",
    "NeuronRun",
    "cost_with_grad",
    "cross_entropy_cost_with_grad",
    "epochs_to_output_below",
    "gradient_curve",
    "quadratic_cost_with_grad",
    "run",
    "simulate",
]

#: The two costs, in display order.
COSTS: tuple[str, ...] = ("quadratic", "cross-entropy")

#: ``"nielsen"``: each cost at Nielsen's own rate (0.15 quadratic, 0.005 cross-entropy);
#: ``"equal"``: both costs at one shared rate, so the epochs are comparable.
RATE_SETTINGS: tuple[str, ...] = ("nielsen", "equal")

#: The book this experiment reproduces (a link in text; the report makes no network request).
SOURCE: dict[str, str] = {
    "author": "Michael A. Nielsen",
    "title": "Neural Networks and Deep Learning",
    "chapter": "3, Improving the way neural networks learn: the cross-entropy cost function",
    "url": "http://neuralnetworksanddeeplearning.com/chap3.html",
}

#: The closed forms, as text: the JSON, the summary and the figures all print these strings.
CLOSED_FORMS: dict[str, Any] = {
    "neuron": "a = sigmoid(z), z = w x + b",
    "sigma_prime": "sigma'(z) = a (1 - a)",
    "chain_rule": "dC/dw = x dC/dz, dC/db = dC/dz",
    "quadratic": {
        "cost": "C = (y - a)^2 / 2",
        "dC/dz": "(a - y) a (1 - a)",
        "dC/dw": "(a - y) a (1 - a) x",
        "dC/db": "(a - y) a (1 - a)",
    },
    "cross-entropy": {
        "cost": "C = -[y ln a + (1 - y) ln(1 - a)]",
        "dC/dz": "a - y",
        "dC/dw": "(a - y) x",
        "dC/db": "a - y",
    },
    "ratio": "quadratic dC/dz / cross-entropy dC/dz = a (1 - a) = sigma'(z)",
}


# ------------------------------------------------------------------------------------- the costs
def _two_class_rows(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit rows ``[z, 0]`` and target rows ``[y, 1 - y]``: the neuron as a two-class softmax."""
    return np.stack([z, np.zeros_like(z)], axis=-1), np.stack([y, 1.0 - y], axis=-1)


def quadratic_cost_with_grad(z: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Nielsen's quadratic cost ``C = (y - a)^2 / 2`` of ``a = sigmoid(z)`` and ``dC/dz``, elementwise.

    Computed by the core's :func:`outlayer.mse_with_grad` on the two-class softmax, not by a second
    copy of the formula. The softmax of the logit row ``[z, 0]`` is ``[a, 1 - a]`` (see
    :func:`outlayer.sigmoid`), and the core's squared error (summed over classes, no 1/2) against
    the row ``[y, 1 - y]`` is

        (a - y)^2 + ((1 - a) - (1 - y))^2 = 2 (a - y)^2 = 4 C,

    so ``C = mse / 4``. The second logit is the constant 0, so ``dC/dz`` is a quarter of the core's
    gradient with respect to the first logit:

        dC/dz = (a - y) da/dz = (a - y) sigma'(z) = (a - y) a (1 - a).

    Args:
      z: logits, any shape (float64).
      y: targets in [0, 1], broadcastable to ``z``.

    Returns:
      ``(C, dC/dz)``, both of ``z``'s shape.
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.broadcast_to(np.asarray(y, dtype=np.float64), z.shape)
    logits, target = _two_class_rows(z, y)
    loss, grad = mse_with_grad(logits, target, on="probs", reduction="none")
    return np.asarray(loss) / 4.0, np.asarray(grad)[..., 0] / 4.0


def cross_entropy_cost_with_grad(z: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy ``C = -[y ln a + (1 - y) ln(1 - a)]`` of ``a = sigmoid(z)`` and ``dC/dz = a - y``.

    The core's :func:`outlayer.binary_cross_entropy_with_grad` on the logit (log-sigmoid inside,
    so ``ln(1 - a)`` does not round to ``ln 0`` at large ``z``). Its gradient is
    ``(1 - y) a - y (1 - a) = a - y``: no ``sigma'(z)`` factor.
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.broadcast_to(np.asarray(y, dtype=np.float64), z.shape)
    loss, grad = binary_cross_entropy_with_grad(z, y, reduction="none")
    return np.asarray(loss), np.asarray(grad)


_COST_FUNCTIONS = {"quadratic": quadratic_cost_with_grad, "cross-entropy": cross_entropy_cost_with_grad}


def _check_cost(cost: str) -> str:
    if cost not in COSTS:
        raise ValueError(f"unknown cost {cost!r}; choose from {', '.join(COSTS)}")
    return cost


def cost_with_grad(cost: str, w: Any, b: Any, x: float, y: float) -> dict[str, np.ndarray]:
    """The neuron at ``(w, b)``: output ``a``, cost ``C`` and ``dC/dz``, ``dC/dw``, ``dC/db``.

    The chain rule through ``z = w x + b``: ``dC/dw = x dC/dz`` and ``dC/db = dC/dz``.
    ``w`` and ``b`` may be arrays (one entry per neuron); everything broadcasts.
    """
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    z = w * x + b
    loss, dz = _COST_FUNCTIONS[_check_cost(cost)](z, y)
    return {"z": z, "a": np.asarray(sigmoid(z)), "cost": loss, "dC/dz": dz, "dC/dw": x * dz, "dC/db": dz}


# ------------------------------------------------------------------------------------ the config
def _finite(name: str, value: Any, *, low: float = -math.inf, high: float = math.inf,
            low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float in the interval, else a one-line ValueError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    ok = math.isfinite(number) and (number > low if low_open else number >= low) and (
        number < high if high_open else number <= high)
    if not ok:
        left, right = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name} must be a finite number in {left}{low:g}, {high:g}{right}, got {value!r}")
    return number


@dataclass(frozen=True)
class NeuronConfig:
    """Every setting of the experiment; the defaults are Nielsen's, the limits are checked here.

    Attributes:
      starts: initial ``(w, b)`` pairs; Nielsen's (0.6, 0.9) (a = 0.82) and (2.0, 2.0) (a = 0.98).
      costs: which of :data:`COSTS` to run.
      rate_settings: which of :data:`RATE_SETTINGS` to run.
      quadratic_lr, cross_entropy_lr: the ``"nielsen"`` rates, 0.15 and 0.005 as in the book
        (Nielsen notes they are not comparable with each other; compare the curves' shapes).
      equal_lr: the ``"equal"`` rate, shared by both costs (0.15, the quadratic cost's rate).
      epochs: gradient steps per run (one example, so one step per epoch); 300 as in the book.
      x, y: the input and the target (1 and 0 in the book).
      thresholds: outputs ``a`` whose first crossing (``a < threshold``) is reported.
      gradient_points: points of the ``dC/dw`` against ``a`` curve over (0, 1).
    """

    starts: tuple[tuple[float, float], ...] = ((0.6, 0.9), (2.0, 2.0))
    costs: tuple[str, ...] = COSTS
    rate_settings: tuple[str, ...] = RATE_SETTINGS
    quadratic_lr: float = 0.15
    cross_entropy_lr: float = 0.005
    equal_lr: float = 0.15
    epochs: int = 300
    x: float = 1.0
    y: float = 0.0
    thresholds: tuple[float, ...] = (0.5, 0.2)
    gradient_points: int = 199

    #: Guards, so a typo cannot start an hour-long run or overflow z = w x + b: with |start| <= 1e6,
    #: |x| <= 1e3, lr <= 100 and |dC/dz| <= 1 every z stays below ~1e13 for MAX_EPOCHS epochs.
    MAX_EPOCHS: ClassVar[int] = 100_000
    MAX_LR: ClassVar[float] = 100.0
    MAX_ABS_START: ClassVar[float] = 1e6
    MAX_ABS_X: ClassVar[float] = 1e3
    MAX_STARTS: ClassVar[int] = 16
    MAX_GRADIENT_POINTS: ClassVar[int] = 10_000

    def __post_init__(self) -> None:
        starts = tuple(self.starts)
        if not 1 <= len(starts) <= self.MAX_STARTS:
            raise ValueError(f"starts needs 1 to {self.MAX_STARTS} (w, b) pairs, got {len(starts)}")
        checked = []
        for pair in starts:
            if isinstance(pair, (str, bytes)) or np.ndim(pair) != 1 or len(pair) != 2:
                raise ValueError(f"each start must be a (w, b) pair, got {pair!r}")
            w, b = (_finite(f"start {name}", v, low=-self.MAX_ABS_START, high=self.MAX_ABS_START)
                    for name, v in zip("wb", pair))
            checked.append((w, b))
        if len(set(checked)) != len(checked):
            raise ValueError(f"starts must be distinct, got {checked!r}")
        object.__setattr__(self, "starts", tuple(checked))
        object.__setattr__(self, "costs", self._names("costs", self.costs, COSTS))
        object.__setattr__(self, "rate_settings", self._names("rate_settings", self.rate_settings, RATE_SETTINGS))
        for name in ("quadratic_lr", "cross_entropy_lr", "equal_lr"):
            object.__setattr__(self, name, _finite(name, getattr(self, name), low=0.0, high=self.MAX_LR,
                                                   low_open=True))
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)):
            raise ValueError(f"epochs must be an integer, got {self.epochs!r}")  # noqa: TRY004 (bad input: exit 2)
        if not 1 <= self.epochs <= self.MAX_EPOCHS:
            raise ValueError(f"epochs must lie in [1, {self.MAX_EPOCHS}], got {self.epochs!r}")
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "x", _finite("input x", self.x, low=-self.MAX_ABS_X, high=self.MAX_ABS_X))
        object.__setattr__(self, "y", _finite("target y", self.y, low=0.0, high=1.0))
        thresholds = tuple(_finite("threshold", t, low=0.0, high=1.0, low_open=True, high_open=True)
                           for t in self.thresholds)
        if not thresholds or len({self._key(t) for t in thresholds}) != len(thresholds):
            raise ValueError(f"thresholds must be one or more distinct numbers in (0, 1), got {self.thresholds!r}")
        object.__setattr__(self, "thresholds", thresholds)
        points = self.gradient_points
        if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or not (
                3 <= points <= self.MAX_GRADIENT_POINTS):
            raise ValueError(f"gradient_points must be an integer in [3, {self.MAX_GRADIENT_POINTS}], got {points!r}")
        object.__setattr__(self, "gradient_points", int(points))

    @staticmethod
    def _names(field: str, values: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
        names = (values,) if isinstance(values, str) else tuple(values)
        for name in names:
            if name not in allowed:
                raise ValueError(f"unknown {field} entry {name!r}; choose from {', '.join(allowed)}")
        if not names or len(set(names)) != len(names):
            raise ValueError(f"{field} must be one or more distinct names from {', '.join(allowed)}, got {values!r}")
        return tuple(n for n in allowed if n in names)  # display order, whatever order was given

    @staticmethod
    def _key(threshold: float) -> str:
        """The JSON key of a threshold: ``0.5 -> "0.5"``."""
        return format(threshold, "g")

    def lr(self, cost: str, setting: str) -> float:
        """The learning rate of ``cost`` under ``setting`` (one of :data:`RATE_SETTINGS`)."""
        _check_cost(cost)
        if setting == "equal":
            return self.equal_lr
        if setting == "nielsen":
            return self.quadratic_lr if cost == "quadratic" else self.cross_entropy_lr
        raise ValueError(f"unknown rate setting {setting!r}; choose from {', '.join(RATE_SETTINGS)}")

    def run_specs(self) -> list[tuple[str, tuple[float, float], float, tuple[str, ...]]]:
        """``(cost, start, lr, settings)`` per distinct run, in display order.

        A run shared by two settings (the quadratic cost at 0.15 is both Nielsen's rate and the
        equal rate) is run once and lists both settings.
        """
        specs: dict[tuple[str, tuple[float, float], float], list[str]] = {}
        for start in self.starts:
            for cost in self.costs:
                for setting in self.rate_settings:
                    specs.setdefault((cost, start, self.lr(cost, setting)), []).append(setting)
        return [(cost, start, lr, tuple(settings)) for (cost, start, lr), settings in specs.items()]


# -------------------------------------------------------------------------------------- training
@dataclass(frozen=True)
class NeuronRun:
    """One trajectory: ``output[t]``, ``cost[t]``, ``w[t]``, ``b[t]`` after ``t`` steps, ``t = 0..epochs``."""

    cost_name: str
    start: tuple[float, float]
    lr: float
    settings: tuple[str, ...]
    output: np.ndarray
    cost: np.ndarray
    w: np.ndarray
    b: np.ndarray
    dC_dw: np.ndarray
    dC_db: np.ndarray


def simulate(config: NeuronConfig) -> list[NeuronRun]:
    """Train every run of ``config`` (see :meth:`NeuronConfig.run_specs`) with plain SGD.

    All runs of one cost share one call of the core per epoch (arrays with one entry per run);
    runs of one cost and rate share one :class:`~outlayer.optim.SGD`, which updates its slice of
    those arrays in place. The state after ``t`` steps is recorded for ``t = 0..epochs``.
    """
    specs = config.run_specs()
    epochs, x, y = config.epochs, config.x, config.y
    runs: list[NeuronRun | None] = [None] * len(specs)
    for cost in config.costs:
        # this cost's runs, ordered so that runs with the same rate are contiguous (one slice each)
        members = sorted((i for i, spec in enumerate(specs) if spec[0] == cost), key=lambda i: (specs[i][2], i))
        if not members:
            continue
        w = np.array([specs[i][1][0] for i in members], dtype=np.float64)
        b = np.array([specs[i][1][1] for i in members], dtype=np.float64)
        groups: list[tuple[SGD, list[np.ndarray], slice]] = []
        begin = 0
        for end in range(1, len(members) + 1):
            if end == len(members) or specs[members[end]][2] != specs[members[begin]][2]:
                part = slice(begin, end)
                groups.append((SGD(specs[members[begin]][2]), [w[part], b[part]], part))  # views of w, b
                begin = end
        history = {key: np.empty((epochs + 1, len(members))) for key in ("a", "cost", "w", "b", "dC/dw", "dC/db")}
        for t in range(epochs + 1):
            at = cost_with_grad(cost, w, b, x, y)
            history["w"][t], history["b"][t] = w, b
            for key in ("a", "cost", "dC/dw", "dC/db"):
                history[key][t] = at[key]
            if t < epochs:
                for optimizer, params, part in groups:
                    optimizer.step(params, [at["dC/dw"][part], at["dC/db"][part]])
        for column, index in enumerate(members):
            _, start, lr, settings = specs[index]
            runs[index] = NeuronRun(
                cost_name=cost, start=start, lr=lr, settings=settings, output=history["a"][:, column].copy(),
                cost=history["cost"][:, column].copy(), w=history["w"][:, column].copy(),
                b=history["b"][:, column].copy(), dC_dw=history["dC/dw"][:, column].copy(),
                dC_db=history["dC/db"][:, column].copy(),
            )
    return [r for r in runs if r is not None]


def epochs_to_output_below(output: Sequence[float] | np.ndarray, threshold: float) -> int | None:
    """The first epoch ``t`` (0 = the start) with ``output[t] < threshold``; None if it never gets there."""
    below = np.flatnonzero(np.asarray(output) < threshold)
    return int(below[0]) if below.size else None


def _steepest_epoch(cost: np.ndarray) -> int | None:
    """The epoch ``t >= 1`` whose step lowered the cost most (``cost[t-1] - cost[t]`` largest)."""
    drops = cost[:-1] - cost[1:]
    return int(np.argmax(drops)) + 1 if drops.size else None


def gradient_curve(config: NeuronConfig | None = None) -> dict[str, Any]:
    """``dC/dw`` of both costs against the output ``a`` over (0, 1), at the config's ``x`` and ``y``.

    The grid is uniform in ``a`` (``gradient_points`` points, endpoints excluded). Each point's
    logit is ``z = ln a - ln(1 - a)`` (sigmoid's inverse), placed in the bias (``w = 0, b = z``,
    which works for any ``x``, 0 included); the gradients come from :func:`cost_with_grad`, and
    ``a`` is reported as the core's ``sigmoid(z)``. ``ratio`` is quadratic over cross-entropy
    (null where cross-entropy's gradient is 0, i.e. ``a = y``).
    """
    config = config or NeuronConfig()
    n = config.gradient_points
    grid = np.arange(1, n + 1, dtype=np.float64) / (n + 1)
    z = np.log(grid) - np.log1p(-grid)
    at = {cost: cost_with_grad(cost, np.zeros_like(z), z, config.x, config.y) for cost in COSTS}
    quadratic, cross_entropy = at["quadratic"]["dC/dw"], at["cross-entropy"]["dC/dw"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cross_entropy != 0, quadratic / cross_entropy, np.nan)
    return {
        "x": config.x,
        "y": config.y,
        "a": _floats(at["cross-entropy"]["a"]),
        "dC/dw": {cost: _floats(at[cost]["dC/dw"]) for cost in COSTS},
        "ratio_quadratic_to_cross_entropy": _floats(ratio),
    }


# ------------------------------------------------------------------------------------------ run()
def _json_float(value: Any) -> float | None:
    """A plain float, or None for NaN/inf (JSON has neither)."""
    number = float(value)
    return number + 0.0 if math.isfinite(number) else None  # + 0.0 turns -0.0 into 0.0


def _jsonable(value: Any) -> Any:
    """Tuples as lists, recursively, so the result equals its own JSON round trip."""
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _floats(values: np.ndarray) -> list[float | None]:
    values = np.asarray(values, dtype=np.float64)
    if np.all(np.isfinite(values)):
        return (values + 0.0).tolist()  # the fast path: every entry is already a JSON number
    return [_json_float(v) for v in values]


def _run_report(neuron: NeuronRun, config: NeuronConfig) -> dict[str, Any]:
    return {
        "cost": neuron.cost_name,
        "w0": neuron.start[0],
        "b0": neuron.start[1],
        "lr": neuron.lr,
        "rate_settings": list(neuron.settings),
        "epochs": config.epochs,
        "output": _floats(neuron.output),
        "cost_per_epoch": _floats(neuron.cost),
        "epochs_to_output_below": {NeuronConfig._key(t): epochs_to_output_below(neuron.output, t)
                                   for t in config.thresholds},
        "steepest_epoch": _steepest_epoch(neuron.cost),
        "initial": {"output": _json_float(neuron.output[0]), "cost": _json_float(neuron.cost[0]),
                    "dC/dw": _json_float(neuron.dC_dw[0]), "dC/db": _json_float(neuron.dC_db[0])},
        "final": {"w": _json_float(neuron.w[-1]), "b": _json_float(neuron.b[-1]),
                  "output": _json_float(neuron.output[-1]), "cost": _json_float(neuron.cost[-1])},
    }


def _equal_rate_comparison(runs: Sequence[Mapping[str, Any]], config: NeuronConfig) -> list[dict[str, Any]]:
    """Per start, at the equal rate: epochs of each cost to each threshold and quadratic / cross-entropy."""
    if "equal" not in config.rate_settings or len(config.costs) < 2:
        return []
    table = []
    for w0, b0 in config.starts:
        found = {r["cost"]: r for r in runs
                 if (r["w0"], r["b0"]) == (w0, b0) and "equal" in r["rate_settings"]}
        row: dict[str, Any] = {"w0": w0, "b0": b0, "lr": config.equal_lr, "epochs_to_output_below": {}}
        for key in (NeuronConfig._key(t) for t in config.thresholds):
            quadratic = found["quadratic"]["epochs_to_output_below"][key]
            cross_entropy = found["cross-entropy"]["epochs_to_output_below"][key]
            ratio = quadratic / cross_entropy if quadratic is not None and cross_entropy else None
            row["epochs_to_output_below"][key] = {"quadratic": quadratic, "cross-entropy": cross_entropy,
                                                  "ratio_quadratic_to_cross_entropy": ratio}
        table.append(row)
    return table


def _start_report(config: NeuronConfig) -> list[dict[str, Any]]:
    """Per start: ``a``, each cost's ``dC/dw`` there, and their ratio (``sigma'(z)`` when ``y`` is 0 or 1)."""
    table = []
    for w0, b0 in config.starts:
        at = {cost: cost_with_grad(cost, w0, b0, config.x, config.y) for cost in COSTS}
        quadratic, cross_entropy = float(at["quadratic"]["dC/dz"]), float(at["cross-entropy"]["dC/dz"])
        table.append({
            "w0": w0, "b0": b0, "z": _json_float(at["quadratic"]["z"]), "output": _json_float(at["quadratic"]["a"]),
            "dC/dw": {cost: _json_float(at[cost]["dC/dw"]) for cost in COSTS},
            "ratio_quadratic_to_cross_entropy": _json_float(quadratic / cross_entropy) if cross_entropy else None,
        })
    return table


def _check_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, an ``out_dir`` that is a file or lies under one (one-line ValueError)."""
    out = Path(out_dir)
    if str(out_dir) == "":
        raise ValueError("--out must name a folder, got ''")
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                what = "exists and is not a folder" if path == out else f"lies under {str(path)!r}, which is not a folder"
                raise ValueError(f"--out {str(out)!r} {what}")
            if not os.access(path, os.W_OK | os.X_OK):
                raise ValueError(f"--out {str(out)!r}: cannot write in {str(path)!r}")
            break
    return out


def run(config: NeuronConfig | None = None, out_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``outlayer neuron`` lab: train every run of ``config`` and, with ``out_dir``, write the figures.

    Returns a JSON-able dict (no NaN or infinity):

    * ``runs``: one object per distinct run with ``cost``, ``w0``, ``b0``, ``lr``, ``rate_settings``
      (the settings that use this rate), ``epochs``, ``output`` (``a`` after each of 0..epochs
      steps, so ``epochs + 1`` numbers), ``cost_per_epoch``, ``epochs_to_output_below``
      (threshold -> first epoch with ``a < threshold``, or null), ``steepest_epoch`` (the step
      that lowered the cost most: 1 when learning is fastest at the start), ``initial`` and
      ``final`` values;
    * ``starts``: per start, the output, each cost's ``dC/dw`` there and their ratio;
    * ``equal_rate``: per start, each cost's epochs to each threshold at the equal rate, and
      their ratio (quadratic / cross-entropy);
    * ``gradient_curve``: ``dC/dw`` of both costs against ``a`` (see :func:`gradient_curve`);
    * ``config`` (``asdict`` of the config), ``closed_forms`` (:data:`CLOSED_FORMS`), ``source``;
    * ``figures`` (name -> file name, PNG and SVG) when ``out_dir`` is given.
    """
    config = NeuronConfig() if config is None else config
    if not isinstance(config, NeuronConfig):
        raise ValueError(f"config must be a NeuronConfig, got {type(config).__name__}")  # noqa: TRY004 (as above)
    out = _check_out_dir(out_dir) if out_dir is not None else None
    runs = [_run_report(neuron, config) for neuron in simulate(config)]
    result: dict[str, Any] = {
        "experiment": "nielsen-neuron",
        "config": _jsonable(asdict(config)),
        "closed_forms": CLOSED_FORMS,
        "source": SOURCE,
        "starts": _start_report(config),
        "runs": runs,
        "equal_rate": _equal_rate_comparison(runs, config),
        "gradient_curve": gradient_curve(config),
    }
    if out is not None:
        result["figures"] = _write_figures(result, out)
    return result


def _write_figures(result: Mapping[str, Any], out: Path) -> dict[str, str]:
    from outlayer.plots import neuron as figures
    from outlayer.plots import save_figure

    built = {
        "neuron_learning": figures.learning_figure(result),
        "neuron_gradient": figures.gradient_figure(result),
    }
    written: dict[str, str] = {}
    for stem, fig in built.items():
        files = save_figure(fig, out, stem)
        written[stem] = files[0].name
        written[f"{stem}_svg"] = files[1].name
    return written
