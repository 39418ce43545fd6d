"""The labs' settings: one typed place for every default and every allowed value.

:class:`CompareConfig` (the training lab, ``outlayer compare``) and :class:`SurfaceConfig` (the
error-surface lab, ``outlayer surface``) are frozen dataclasses, in the spirit of nanoGPT's
config: the library functions build one from their keyword arguments, the command line reads
its defaults and its choices (``CompareConfig.CHOICES``) from them, and every result carries
``dataclasses.asdict(config)`` under ``"settings"``, so a result says exactly how it was made.
Construction validates: a bad value raises a one-line ValueError naming it, before any work.

The allowed names come from the registries that implement them (:data:`outlayer.catalogue.
LAB_LOSSES`, :data:`outlayer.nets.INITS`, :data:`outlayer.optim.OPTIMIZER_NAMES`), gathered here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from outlayer import _checks as check
from outlayer.catalogue import CATALOGUE, LAB_LOSSES, PLANE_LOSSES
from outlayer.nets import ACTIVATIONS, INITS
from outlayer.optim import OPTIMIZER_NAMES

__all__ = ["CompareConfig", "GRID_EXTENSIONS", "LR_GRID", "SELECTION_RULE", "SurfaceConfig", "TUNING_SEEDS", "settings_of", "tuning_procedure"]

#: Learning rates the tuning tries, per optimiser: log-spaced by a factor of about 3.
LR_GRID: dict[str, tuple[float, ...]] = {
    "sgd": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
    "momentum": (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
    "adam": (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1),
}
#: How many times the tuning extends a grid beyond the end where its best rate sits (per loss).
GRID_EXTENSIONS = 4
#: Seeds of the learning-rate tuning: never among the evaluation seeds (``first_seed`` .. +``seeds``).
TUNING_SEEDS: tuple[int, ...] = (100, 101, 102, 103, 104)
#: How the tuning picks a rate (one sentence, stored with every tuning result).
SELECTION_RULE = ("per loss, the rate with the highest median final validation accuracy over the tuning "
                  "seeds among the rates at which no tuning seed diverged or collapsed to one class (all rates "
                  "when every rate has such a seed), a diverged seed counting as accuracy 0; ties go to the smaller rate; "
                  "while the chosen rate is the largest or smallest tried and beats its neighbour, one more rate beyond it "
                  "is tried")


# ----------------------------------------------------------------------------------- checks
def _set(config: Any, name: str, value: Any) -> None:
    object.__setattr__(config, name, value)  # frozen dataclass: normalise in __post_init__


def _known_options(cls: type, options: Mapping[str, Any]) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return dict(options)


# ------------------------------------------------------------------------------ the training lab
@dataclass(frozen=True)
class CompareConfig:
    """Settings of :func:`outlayer.experiments.compare` (``outlayer compare``).

    Seeds: the evaluation seeds are ``first_seed .. first_seed + seeds - 1``; seed s fixes the
    initial weights and the batch order, the same for every loss (a paired design), and, with
    ``split_seeds`` (the default), also the train/validation/test split (split seed
    ``split_seed + s``), so the intervals include the luck of the split. ``lr``: ``None`` (the
    stored defaults, see :mod:`outlayer.experiments`), one rate for every loss, or a mapping
    {loss: rate} (the others keep their default). ``tune_lr`` picks each loss's rate by the
    procedure that made the defaults, on ``tuning_seeds``, which must be disjoint from the
    evaluation seeds. Loss options (``label_smoothing``, ``true_class_weight``,
    ``true_class_target``) apply to the loss that has them (:mod:`outlayer.catalogue`).
    """

    dataset: str = "digits"
    losses: tuple[str, ...] = ("ce", "mse")
    init: str = "confident"
    optimizer: str = "sgd"
    seeds: int = 10
    epochs: int = 20
    lr: float | Mapping[str, float] | None = None
    tune_lr: bool = False
    first_seed: int = 0
    split_seeds: bool = True
    split_seed: int = 0
    hidden: tuple[int, ...] = (64,)
    activation: str = "sigmoid"
    batch_size: int = 32
    target_accuracy: float = 0.9
    confident_std: float = 30.0
    label_column: str | int | None = None
    label_smoothing: float | None = None
    true_class_weight: float | None = None
    true_class_target: float | None = None
    lr_grid: tuple[float, ...] | None = None
    tuning_seeds: tuple[int, ...] = TUNING_SEEDS
    figure_prefix: str = "compare"
    pretrain: tuple[str, int] | None = None
    pretrain_lr: float | None = None

    #: Allowed values of the settings that take a name.
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "losses": LAB_LOSSES, "init": INITS, "optimizer": OPTIMIZER_NAMES, "activation": ACTIVATIONS,
    }
    #: Settings of :meth:`quick`: a smoke test, not a measurement.
    QUICK: ClassVar[dict[str, int]] = {"seeds": 2, "epochs": 5}

    def __post_init__(self) -> None:
        _set(self, "dataset", str(self.dataset))
        losses = check.names("losses", "loss", self.losses, LAB_LOSSES)
        _set(self, "losses", losses)
        check.choice("init", self.init, INITS)
        check.choice("optimizer", self.optimizer, OPTIMIZER_NAMES)
        check.choice("activation", self.activation, ACTIVATIONS)
        _set(self, "seeds", check.integer("seeds", self.seeds, low=1))
        _set(self, "epochs", check.integer("epochs", self.epochs, low=1))
        _set(self, "first_seed", check.integer("first_seed", self.first_seed, low=0))
        _set(self, "split_seed", check.integer("split_seed", self.split_seed, low=0))
        _set(self, "batch_size", check.integer("batch_size", self.batch_size, low=1))
        hidden = self.hidden if isinstance(self.hidden, Iterable) else (self.hidden,)
        try:
            widths = tuple(check.integer("hidden widths", h, low=1) for h in hidden)
        except ValueError:
            raise ValueError(f"hidden widths must be positive integers, got {self.hidden!r}") from None
        if not widths:
            raise ValueError(f"hidden widths must be positive integers, got {self.hidden!r}")
        _set(self, "hidden", widths)
        _set(self, "target_accuracy", check.real("target_accuracy", self.target_accuracy, low=0.0, high=1.0,
                                            low_open=True, what="a number in (0, 1]"))
        _set(self, "confident_std", check.positive("confident_std", self.confident_std))
        _set(self, "tune_lr", bool(self.tune_lr))
        _set(self, "split_seeds", bool(self.split_seeds))
        _set(self, "lr", self._normalised_lr(losses))
        if self.lr is not None and self.tune_lr:
            raise ValueError("lr and tune_lr exclude each other: give learning rates or tune them")
        if self.lr_grid is not None:
            _set(self, "lr_grid", check.rates("lr_grid", self.lr_grid))
        tuning = tuple(check.integer("tuning seed", s, low=0) for s in self.tuning_seeds)
        if len(set(tuning)) != len(tuning) or not tuning:
            raise ValueError(f"tuning_seeds must be distinct seeds, at least one, got {self.tuning_seeds!r}")
        _set(self, "tuning_seeds", tuning)
        overlap = sorted(set(tuning) & set(self.seed_list))
        if self.tune_lr and overlap:
            raise ValueError(f"evaluation seed {overlap[0]} is also a tuning seed: tune on seeds disjoint from "
                             f"the evaluation (tuning seeds {', '.join(map(str, tuning))})")
        self._check_pretrain(losses)
        for loss in LAB_LOSSES:
            for option in CATALOGUE[loss].options:
                value = getattr(self, option.name)
                if value is None:
                    continue
                if loss not in losses:
                    raise ValueError(f"option {option.name}={value!r} applies to {loss!r}, which is not among "
                                     "the losses")
                _set(self, option.name, check.real(option.name, value, what="a finite number", low=-math.inf,
                                              high=math.inf))

    def _check_pretrain(self, losses: Sequence[str]) -> None:
        """``pretrain`` = (loss, epochs): the first epochs of every run train with that loss (Golik et al. 2013)."""
        if self.pretrain is None:
            if self.pretrain_lr is not None:
                raise ValueError("pretrain_lr applies only with pretrain")
            return
        try:
            loss, epochs = self.pretrain
        except (TypeError, ValueError):
            raise ValueError(f"pretrain must be a (loss, epochs) pair such as ('ce', 5), got {self.pretrain!r}") from None
        check.choice("pretrain loss", loss, PLANE_LOSSES)
        epochs = check.integer("pretrain epochs", epochs, low=1)
        if epochs >= self.epochs:
            raise ValueError(f"pretrain epochs must be fewer than the {self.epochs} epochs in all, got {epochs}")
        if "scalar" in losses:
            raise ValueError("pretraining continues a K-output network: 'scalar' cannot be among the losses")
        _set(self, "pretrain", (loss, epochs))
        if self.pretrain_lr is not None:
            _set(self, "pretrain_lr", check.positive("pretrain_lr", self.pretrain_lr))

    def _normalised_lr(self, losses: Sequence[str]) -> dict[str, float] | None:
        lr = self.lr
        if lr is None:
            return None
        if isinstance(lr, Mapping):
            unknown = sorted(set(lr) - set(losses))
            if unknown:
                raise ValueError(f"learning rate given for {unknown[0]!r}, which is not among the losses compared")
            rates = {name: lr[name] for name in losses if name in lr}
        elif isinstance(lr, (int, float)) and not isinstance(lr, bool):
            rates = {name: lr for name in losses}
        else:
            try:
                values = list(lr)  # type: ignore[call-overload]  # bools were taken above; other non-iterables raise
            except TypeError:
                raise ValueError(f"lr must be a number, a list or a mapping, got {lr!r}") from None
            if len(values) == 1:
                values = values * len(losses)
            if len(values) != len(losses):
                raise ValueError(f"got {len(values)} learning rates for {len(losses)} losses; give one, or one per loss")
            rates = dict(zip(losses, values))
        out = {}
        for name, rate in rates.items():
            try:
                out[name] = check.positive(f"learning rate for {name!r}", rate)
            except ValueError:
                raise ValueError(f"learning rate for {name!r} must be a positive number, got {rate!r}") from None
        return out

    @property
    def seed_list(self) -> list[int]:
        """The evaluation seeds, in run order."""
        return [self.first_seed + i for i in range(self.seeds)]

    def split_seed_of(self, seed: int) -> int:
        """The data split used by the run with ``seed``."""
        return self.split_seed + seed if self.split_seeds else self.split_seed

    @property
    def grid(self) -> tuple[float, ...]:
        """The learning rates the tuning tries: ``lr_grid``, else :data:`LR_GRID` of the optimiser."""
        return self.lr_grid if self.lr_grid is not None else LR_GRID[self.optimizer]

    def loss_options(self) -> dict[str, dict[str, float]]:
        """Per loss compared, the options given for it (the core's defaults apply to the rest)."""
        options: dict[str, dict[str, float]] = {name: {} for name in self.losses}
        for name in self.losses:
            for option in CATALOGUE[name].options:
                value = getattr(self, option.name)
                if value is not None:
                    options[name][option.name] = float(value)
        return options

    @classmethod
    def from_options(cls, **options: Any) -> CompareConfig:
        """The config from keyword options; an unknown option raises ValueError naming it."""
        return cls(**_known_options(cls, options))


def tuning_procedure(config: CompareConfig) -> dict[str, Any]:
    """What a learning-rate tuning for ``config`` depends on (stored with the default rates)."""
    extra: dict[str, Any] = {}
    if config.pretrain is not None:  # the tuned rate is the continuation's, after this pretraining
        extra["pretrain"] = [config.pretrain[0], config.pretrain[1]]
    return {**extra,
        "dataset": config.dataset,
        "epochs": config.epochs,
        "hidden": list(config.hidden),
        "activation": config.activation,
        "batch_size": config.batch_size,
        "confident_std": config.confident_std,
        "split_seeds": config.split_seeds,
        "split_seed": config.split_seed,
        "tuning_seeds": list(config.tuning_seeds),
        "grid_extensions": GRID_EXTENSIONS,
        "metric": "val_accuracy",
        "statistic": "median over the tuning seeds",
        "selection": SELECTION_RULE,
    }


# ------------------------------------------------------------------------------- the surface lab
@dataclass(frozen=True)
class SurfaceConfig:
    """Settings of :func:`outlayer.surface.run` (``outlayer surface``); the defaults are the lecture's.

    3 classes, target class 1 (index 0), the logits y1, y2 swept over [-10, 10]^2 and y3 held at
    -inf (the lecture's "y3 -> -inf": class 3 has probability 0, label smoothing spreads over the
    two live classes only, and the square loss on logits reports its y3^2 term apart as a
    constant). Descent paths start in the wrong-but-confident corner (``start=None``), with one
    learning rate ``lr`` and budget ``steps`` for every loss and optimiser.
    """

    losses: tuple[str, ...] = PLANE_LOSSES
    num_classes: int = 3
    target: int = 0
    swept: tuple[int, int] = (0, 1)
    fixed: float | tuple[float, ...] = -math.inf
    limits: tuple[float, float] = (-10.0, 10.0)
    resolution: int = 201
    start: tuple[float, float] | None = None
    optimizers: tuple[str, ...] = ("sgd", "momentum", "adam")
    lr: float = 0.5
    steps: int = 1000
    goal: float = 0.9
    map_resolution: int = 41
    sweep_lrs: tuple[float, ...] = (0.1, 0.5, 2.0, 10.0)
    margin_span: float = 16.0
    margin_points: int = 161

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"losses": PLANE_LOSSES, "optimizers": OPTIMIZER_NAMES}
    #: Coarser grids and fewer steps for a smoke test (CE escapes the corner in tens of steps).
    QUICK: ClassVar[dict[str, int]] = {"resolution": 61, "steps": 200, "map_resolution": 11}

    def __post_init__(self) -> None:
        _set(self, "losses", check.names("losses", "loss", self.losses, PLANE_LOSSES))
        _set(self, "optimizers", check.names("optimizers", "optimizer", self.optimizers, OPTIMIZER_NAMES))
        _set(self, "num_classes", check.integer("num_classes", self.num_classes, low=2))
        _set(self, "target", check.integer("target", self.target, low=0))
        try:
            swept = tuple(check.integer("swept", s, low=0) for s in self.swept)
        except TypeError:
            raise ValueError(f"swept must be a pair of class indices, got {self.swept!r}") from None
        _set(self, "swept", swept)
        _set(self, "limits", check.limits(self.limits))
        if self.start is not None:
            _set(self, "start", check.point("start", self.start))
        if isinstance(self.fixed, Iterable) and not isinstance(self.fixed, str):
            _set(self, "fixed", tuple(float(x) for x in self.fixed))
        _set(self, "resolution", check.integer("resolution", self.resolution, low=2))
        _set(self, "map_resolution", check.integer("map_resolution", self.map_resolution, low=2))
        _set(self, "steps", check.integer("steps", self.steps, low=0))
        _set(self, "lr", check.positive("lr", self.lr))
        _set(self, "goal", check.probability("goal", self.goal))
        _set(self, "sweep_lrs", check.rates("sweep_lrs", self.sweep_lrs))
        _set(self, "margin_span", check.positive("margin_span", self.margin_span))
        _set(self, "margin_points", check.integer("margin_points", self.margin_points, low=2))

    @classmethod
    def from_options(cls, **options: Any) -> SurfaceConfig:
        """The config from keyword options; an unknown option raises ValueError naming it."""
        return cls(**_known_options(cls, options))


def _json_safe(value: Any) -> Any:
    """asdict() output made JSON-able: tuples as lists, +-inf as the strings JSON lacks numbers for."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    return value


def settings_of(config: CompareConfig | SurfaceConfig) -> dict[str, Any]:
    """``asdict(config)`` as JSON-able data (what a result stores under ``"settings"``)."""
    return _json_safe(asdict(config))

