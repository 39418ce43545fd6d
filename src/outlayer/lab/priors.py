"""The square loss's plateau at the class priors, on imbalanced classes (Hinton's lecture notes).

Hinton's CSC321 notes: with squared error on softmax-like outputs, a network first learns to
output the class proportions (the priors) and lingers there, which looks like a local minimum;
cross-entropy's steep gradient does not let it. Why, in the lecture's terms: once a sample of
class c gets the output p = pi (the priors), MSE's gradient on its true logit is
``2 pi_c (2 pi_c - 1 - sum_i pi_i^2)``, proportional to pi_c, so a rare class is hardly pushed,
while CE's is ``pi_c - 1``, about -1 for a rare class.

Task: digits with imbalanced classes (:func:`imbalanced_digits`): class c keeps a fraction
``ratio^(c / (K - 1))`` of its samples in every split (class 0 all, class 9 ``ratio``), drawn
with a seeded generator, on the split of each seed. Both losses train the same network from the
gentle start, at the same seed, each at its rate tuned on this task by the lab's procedure
(stored in ``lab_lr.json``).

Measured after every mini-batch step t on the training split, per class c:

* ``mean_output[c](t)``: the mean over all training samples of p_c (the curve drawn against the
  prior pi_c, the class's share of the training split);
* ``own_output[c](t)``: the mean of p_c over the training samples of class c. A network that
  outputs the priors whatever the input has own_output[c] = pi_c; one that has learned class c
  has own_output[c] near 1.

A class **lingers at its prior** at step t when ``|own_output[c](t) - pi_c| <= tolerance``
(:attr:`PriorsConfig.tolerance`, 0.05); the result counts, per class, the steps at which it
lingers and the first step at which ``own_output[c]`` reaches 0.5 (the class is learned), and
per seed the steps lingering summed over the classes, compared between the losses per seed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from outlayer import _checks as check
from outlayer.config import CompareConfig
from outlayer.lab import _common
from outlayer.optim import OPTIMIZER_NAMES

__all__ = [
    "LOSSES",
    "SOURCE",
    "PriorsConfig",
    "gradient_at_prior",
    "imbalanced_digits",
    "run",
    "summary_lines",
    "tuning_tasks",
]

SOURCE = {"title": "Geoffrey Hinton, CSC321 lecture notes (Toronto), lecture 10",
          "url": "http://www.cs.toronto.edu/~hinton/csc321/notes/lec10_files/slide0025.htm"}

LOSSES: tuple[str, ...] = ("ce", "mse")


@dataclass(frozen=True)
class PriorsConfig:
    """Settings: the imbalance ``ratio`` (rarest class's share of its samples kept), the tolerance
    that defines "at the prior", the learned threshold, and the training settings."""

    ratio: float = 0.05
    tolerance: float = 0.05
    learned: float = 0.5
    optimizer: str = "sgd"
    init: str = "gentle"
    seeds: int = CompareConfig.seeds
    first_seed: int = 0
    epochs: int = CompareConfig.epochs
    subsample_seed: int = 0

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"optimizer": OPTIMIZER_NAMES}
    QUICK: ClassVar[dict[str, Any]] = {"seeds": 2, "epochs": 4}

    def __post_init__(self) -> None:
        object.__setattr__(self, "ratio", check.real("ratio", self.ratio, low=0.0, high=1.0, low_open=True,
                                                     what="a number in (0, 1]"))
        object.__setattr__(self, "tolerance", check.probability("tolerance", self.tolerance))
        object.__setattr__(self, "learned", check.probability("learned", self.learned))
        check.choice("optimizer", self.optimizer, OPTIMIZER_NAMES)
        object.__setattr__(self, "seeds", _common.bounded("seeds", self.seeds, 1, _common.MAX_SEEDS))
        object.__setattr__(self, "first_seed", check.integer("first_seed", self.first_seed, low=0))
        object.__setattr__(self, "epochs", _common.bounded("epochs", self.epochs, 1, _common.MAX_EPOCHS))
        object.__setattr__(self, "subsample_seed", check.integer("subsample_seed", self.subsample_seed, low=0))
        self.compare_config()

    @property
    def dataset_name(self) -> str:
        return f"digits-imbalanced (ratio {self.ratio:g}, subsample seed {self.subsample_seed})"

    def compare_config(self) -> CompareConfig:
        return CompareConfig(dataset=self.dataset_name, losses=LOSSES, init=self.init, optimizer=self.optimizer,
                             seeds=self.seeds, first_seed=self.first_seed, epochs=self.epochs)

    def data_for(self, seed: int) -> Any:
        """The data of run ``seed``: its split of digits, then the imbalanced subsample."""
        return imbalanced_digits(self.ratio, CompareConfig.split_seed + seed, self.subsample_seed)


@functools.lru_cache(maxsize=32)
def imbalanced_digits(ratio: float = 0.05, split_seed: int = 0, subsample_seed: int = 0) -> Any:
    """Digits (split ``split_seed``) keeping a fraction ``ratio^(c / (K - 1))`` of class c in every split.

    At least one sample of every class is kept in every split; the kept samples are drawn by a
    generator seeded with ``(subsample_seed, split_seed)``. The features keep the full split's
    standardisation.
    """
    from outlayer.data import Dataset, load_dataset

    full = load_dataset("digits", split_seed=split_seed)
    k = full.n_classes
    keep = float(ratio) ** (np.arange(k) / (k - 1))
    rng = np.random.default_rng([subsample_seed, split_seed])
    parts = []
    for X, y in ((full.X_train, full.y_train), (full.X_val, full.y_val), (full.X_test, full.y_test)):
        chosen = []
        for c in range(k):
            members = np.flatnonzero(y == c)
            n = max(1, int(round(keep[c] * members.size)))
            chosen.append(np.sort(rng.permutation(members)[:n]))
        index = np.sort(np.concatenate(chosen))
        parts.append((X[index], y[index]))
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = parts
    return Dataset(name="digits-imbalanced", X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
                   X_test=X_test, y_test=y_test, classes=full.classes)


def _data(config: PriorsConfig, seed: int) -> Any:
    return config.data_for(seed)


def _key(config: PriorsConfig) -> str:
    return f"priors/{config.optimizer}/{config.init}/ratio={config.ratio:g}"


def tuning_tasks(config: PriorsConfig | None = None) -> list[Any]:
    from outlayer.lab.rates import TuningTask

    config = config or PriorsConfig()
    return [TuningTask(_key(config), config.compare_config(), functools.partial(_data, config))]


def gradient_at_prior(prior: Any) -> dict[str, list[float]]:
    """Per class c: dL/dz_c of CE and of MSE for a sample of class c whose output is exactly the priors.

    The logits ``ln pi`` give softmax = pi; the core's gradients are read at the true class.
    """
    from outlayer.losses import cross_entropy_with_grad, mse_with_grad

    prior = np.asarray(prior, dtype=np.float64)
    k = prior.size
    logits = np.tile(np.log(prior), (k, 1))
    target = np.arange(k)
    out = {}
    for name, function in (("ce", cross_entropy_with_grad), ("mse", mse_with_grad)):
        _, grad = function(logits, target, reduction="none")
        out[name] = np.asarray(grad)[target, target].tolist()
    return out


def _trajectory(config: PriorsConfig, loss: str, seed: int, lr: float) -> dict[str, Any]:
    """Train one run, recording the class outputs after every step; return its record."""
    from outlayer.activations import softmax
    from outlayer.experiments import _one_blas_thread, initial_network, train_epoch
    from outlayer.nets import DivergedError, make_head
    from outlayer.optim import make_optimizer

    data = config.data_for(seed)
    k = data.n_classes
    head = make_head(loss, k)
    settings = config.compare_config()
    net, shuffle_rng = initial_network(data, head, seed, init=config.init, hidden=settings.hidden,
                                       activation=settings.activation)
    opt = make_optimizer(config.optimizer, lr)
    members = [data.y_train == c for c in range(k)]
    mean_output, own_output = [], []

    def record() -> None:
        p = np.asarray(softmax(net.forward(data.X_train), axis=1))
        mean_output.append(p.mean(axis=0))
        own_output.append(np.array([p[m, c].mean() for c, m in enumerate(members)]))

    diverged = False
    with np.errstate(over="ignore", invalid="ignore"), _one_blas_thread():
        record()
        try:
            for _ in range(config.epochs):
                train_epoch(net, head, opt, data.X_train, data.y_train, settings.batch_size, shuffle_rng, on_step=record)
        except DivergedError:
            diverged = True
        test_accuracy = None if diverged else float(np.mean(head.predict(net.forward(data.X_test)) == data.y_test))
    prior = np.bincount(data.y_train, minlength=k) / len(data.y_train)
    own = np.array(own_output)
    at_prior = np.abs(own - prior) <= config.tolerance
    learned = own >= config.learned
    first_learned = [int(np.argmax(learned[:, c])) if learned[:, c].any() else None for c in range(k)]
    return {
        "loss": loss, "seed": int(seed), "lr": float(lr), "diverged": diverged,
        "steps": int(own.shape[0] - 1), "steps_per_epoch": int(-(-len(data.y_train) // settings.batch_size)),
        "prior": prior.tolist(), "n_train": len(data.y_train),
        "class_counts": np.bincount(data.y_train, minlength=k).tolist(),
        "mean_output": np.array(mean_output).T, "own_output": own.T,  # (classes, steps + 1); run() averages them
        "steps_at_prior": at_prior.sum(axis=0).astype(int).tolist(),
        "steps_at_prior_total": int(at_prior.sum()),
        "first_step_learned": first_learned,
        "test_accuracy": test_accuracy,
    }


def run(config: PriorsConfig | None = None, *, out_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Train both losses on every seed, recording every step; return the JSON-able result.

    Keys: ``experiment``, ``config``, ``setup`` (dataset sizes, priors, rates, the definitions),
    ``losses`` (loss -> ``runs`` (per seed: ``prior``, ``steps_at_prior`` and ``first_step_learned``
    per class, ``test_accuracy``), ``curves`` (``mean_output`` and ``own_output`` per class and step,
    means over the seeds that did not diverge), and ``summary``: per class the mean over seeds of the steps at the prior and of the first step
    learned, and ``steps_at_prior_total`` as ``{"mean", "ci95", "std", "n"}``), ``paired`` (per
    seed, MSE minus CE of the total steps at the prior and of each class's steps, with paired
    intervals), ``gradient_at_prior`` (per class, CE's and MSE's gradient on the true logit of a sample
    whose output is the priors), ``source``, and ``figures``.
    """
    from outlayer.lab.rates import resolve_rates
    from outlayer.stats import paired_difference

    config = PriorsConfig() if config is None else config
    if not isinstance(config, PriorsConfig):
        raise ValueError(f"config must be a PriorsConfig, got {type(config).__name__}")  # noqa: TRY004
    out = _common.check_out_dir(out_dir)
    rates, source, _ = resolve_rates(_key(config), config.compare_config(),
                                     fallback_rule="the training lab's gentle-start default (tuned on balanced digits)")
    seeds = _common.seed_list(config.seeds, config.first_seed)
    runs = {loss: [_trajectory(config, loss, seed, rates[loss]) for seed in seeds] for loss in LOSSES}
    k = len(runs["ce"][0]["prior"])
    losses: dict[str, Any] = {}
    for loss in LOSSES:
        mine = runs[loss]
        curves = {}
        for key in ("mean_output", "own_output"):
            finished = [r[key] for r in mine if not r["diverged"]]
            curves[key] = np.mean(finished, axis=0).tolist() if finished else None
            for r in mine:
                del r[key]
        losses[loss] = {
            "lr": rates[loss],
            "runs": mine,
            "curves": curves,
            "summary": {
                "steps_at_prior_total": _common.statistic([r["steps_at_prior_total"] for r in mine], (0.0, float("inf"))),
                "steps_at_prior": [_common.statistic([r["steps_at_prior"][c] for r in mine], (0.0, float("inf")))
                                   for c in range(k)],
                "learned_in_run": [sum(r["first_step_learned"][c] is not None for r in mine) for c in range(k)],
                "first_step_learned": [_common.statistic([r["first_step_learned"][c] for r in mine], (0.0, float("inf")))
                                       for c in range(k)],
                "test_accuracy": _common.statistic([r["test_accuracy"] for r in mine], (0.0, 1.0)),
                "diverged": sum(r["diverged"] for r in mine),
            },
        }
    paired = {"steps_at_prior_total": paired_difference([r["steps_at_prior_total"] for r in runs["mse"]],
                                                        [r["steps_at_prior_total"] for r in runs["ce"]]),
              "steps_at_prior": [paired_difference([r["steps_at_prior"][c] for r in runs["mse"]],
                                                   [r["steps_at_prior"][c] for r in runs["ce"]]) for c in range(k)]}
    first = runs["ce"][0]
    priors_mean = np.mean([r["prior"] for r in runs["ce"]], axis=0).tolist()
    gradient = gradient_at_prior(priors_mean)
    result: dict[str, Any] = {
        "experiment": "class-priors",
        "config": _common.jsonable(asdict(config)),
        "setup": {"dataset": "digits-imbalanced", "seeds": seeds, "epochs": config.epochs,
                  "n_train": [r["n_train"] for r in runs["ce"]], "steps_per_epoch": first["steps_per_epoch"],
                  "steps": first["steps"], "prior_mean": priors_mean, "keep": (config.ratio ** (np.arange(k) / (k - 1))).tolist(),
                  "rates": rates, "rates_source": source, "tolerance": config.tolerance, "learned": config.learned,
                  "at_prior": "|mean of p_c over the training samples of class c - pi_c| <= tolerance, after each step",
                  "steps_total": first["steps"] + 1},
        "losses": losses,
        "paired_mse_minus_ce": paired,
        "gradient_at_prior": gradient,
        "source": SOURCE,
    }
    if out is not None:
        from outlayer.plots import priors as figures

        _common.write_result(result, out, "priors", {"priors_outputs": figures.outputs_figure})
    return result


def summary_lines(result: Mapping[str, Any]) -> list[str]:
    """Per class: prior, steps lingering at it and first step learned, CE against MSE."""
    setup = result["setup"]
    lines = [f"imbalanced digits ({setup['n_train'][0]} training samples, ratio {result['config']['ratio']:g}), "
             f"{len(setup['seeds'])} seeds x {setup['epochs']} epochs = {setup['steps']} steps, rates "
             + ", ".join(f"{k} {v:g}" for k, v in setup["rates"].items()) + f" ({setup['rates_source']})",
             f"a class lingers at its prior at a step when {setup['at_prior']} (tolerance {setup['tolerance']:g}); "
             "means over seeds"]
    lines.append(f"{'class':>5} {'prior':>7} {'CE steps at prior':>18} {'MSE steps at prior':>19} "
                 f"{'CE learned at':>14} {'MSE learned at':>15}")

    def cell(stats: Mapping[str, Any]) -> str:
        return "never" if stats["mean"] is None else f"{stats['mean']:.0f}"

    ce, mse = result["losses"]["ce"]["summary"], result["losses"]["mse"]["summary"]
    for c, prior in enumerate(setup["prior_mean"]):
        lines.append(f"{c:>5} {prior:>7.3f} {ce['steps_at_prior'][c]['mean']:>18.0f} {mse['steps_at_prior'][c]['mean']:>19.0f} "
                     f"{cell(ce['first_step_learned'][c]):>14} {cell(mse['first_step_learned'][c]):>15}")
    diff = result["paired_mse_minus_ce"]["steps_at_prior_total"]
    if diff["mean"] is not None:
        interval = f" [{diff['t_ci95'][0]:+.0f}, {diff['t_ci95'][1]:+.0f}]" if diff.get("t_ci95") else ""
        lines.append(f"steps at the prior summed over classes, MSE minus CE per seed: {diff['mean']:+.0f}{interval}")
    return lines
