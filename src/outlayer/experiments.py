"""The training lab: the seeds' network trained with each loss on real data, measured honestly.

:func:`compare` trains :class:`outlayer.nets.Network` once per (loss, seed) with mini-batch SGD,
momentum or Adam (:mod:`outlayer.optim`) and records, after every epoch (epoch 0 = the untrained
network): the training loss (each run's own objective), training / validation / test accuracy,
test NLL (cross-entropy of softmax(outputs), whatever loss was trained), the expected
calibration error on the test split (15 equal-width confidence bins), and the mean norm of
``dL/dlogits`` over the misclassified training samples (how hard the loss still pushes on the
samples it gets wrong). Every setting and its default lives in :class:`outlayer.config.CompareConfig`.

Design. Seed s fixes the initial weights, the mini-batch order and (``split_seeds``, the
default) the train/validation/test split, identically for every loss: at a given seed all losses
start from the same network on the same data. The comparison is therefore paired: ``"paired"``
holds, for each pair of losses, the per-seed differences of the final test accuracy, NLL and ECE
with their mean, a 95 % paired-t interval and a percentile-bootstrap interval
(:mod:`outlayer.stats`). Each loss's own mean gets a 95 % Student-t interval over seeds, and the
binomial standard error of a test accuracy measured on that many test samples is reported beside
it. Runs are bit-for-bit reproducible.

Failures are named, never averaged silently. A run whose weights blow up is ``"diverged"``: its
epochs from the blow-up on hold ``null`` metrics, which the means leave out (each statistic's
``n`` says how many runs it rests on). A run whose final network predicts one class for every
test sample is ``"collapsed"``; its numbers are real and stay in the means, and the summary
counts such runs beside them (``status`` of a run: "ok", "collapsed" or "diverged").

Learning rates. ``lr=None`` takes :data:`DEFAULT_LR`, read from ``default_lr.json`` beside this
module. That table was made by :func:`tune_learning_rates`, the procedure ``tune_lr=True`` runs:
a log grid per optimiser (:data:`outlayer.config.LR_GRID`), every loss and start trained at every
rate on the tuning seeds (disjoint from the evaluation seeds) for the evaluation's epoch budget,
and the rate with the best median validation accuracy among those at which no tuning seed
diverged or collapsed is chosen (:func:`select_rate`). The file records the procedure and the
command that regenerates it (``python benchmarks/bench_compare.py tune --write``), and the
validation-accuracy curve behind every choice.

The ``scalar`` loss has no probabilities: its NLL, ECE and reliability entries are ``null``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from outlayer.config import CompareConfig, settings_of, tuning_procedure
from outlayer.data import Dataset, load_dataset
from outlayer.nets import DivergedError, Network, OutputHead, init_network, make_head
from outlayer.optim import Optimizer, make_optimizer
from outlayer.stats import binomial_se, mean_ci95, paired_difference, student_t_quantile

__all__ = [
    "DEFAULT_LR",
    "DEFAULT_LR_FILE",
    "METRICS",
    "PAIRED_METRICS",
    "compare",
    "default_lr_table",
    "ece_from_bins",
    "expected_calibration_error",
    "fit_temperature",
    "initial_network",
    "mean_ci95",
    "pretrain_phase",
    "reliability_bins",
    "select_rate",
    "student_t_quantile",
    "train_epoch",
    "train_run",
    "tune_learning_rates",
]

#: The stored default learning rates, with the procedure and command that made them.
DEFAULT_LR_FILE = Path(__file__).with_name("default_lr.json")


def default_lr_table() -> dict[str, Any]:
    """The contents of :data:`DEFAULT_LR_FILE`: ``command``, ``procedure``, ``grids``, ``rates``, ``curves``."""
    return json.loads(DEFAULT_LR_FILE.read_text(encoding="utf-8"))


#: Default learning rate per optimiser, start and loss (``DEFAULT_LR[optimizer][init][loss]``),
#: as chosen by :func:`tune_learning_rates` and stored in :data:`DEFAULT_LR_FILE`.
DEFAULT_LR: dict[str, dict[str, dict[str, float]]] = default_lr_table()["rates"]

#: Per-epoch metrics of every run, in record order.
METRICS: tuple[str, ...] = (
    "train_loss",
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "test_nll",
    "test_ece",
    "grad_misclassified",
)

#: Final metrics whose per-seed differences ``"paired"`` reports.
PAIRED_METRICS: tuple[str, ...] = ("test_accuracy", "test_nll", "test_ece")

#: Where each metric can lie. A t-interval is symmetric and knows nothing of bounds, so with few
#: seeds it can reach past them (an accuracy of 103 %); intervals are clipped to these ranges.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "train_loss": (0.0, math.inf),
    "train_accuracy": (0.0, 1.0),
    "val_accuracy": (0.0, 1.0),
    "test_accuracy": (0.0, 1.0),
    "test_nll": (0.0, math.inf),
    "test_ece": (0.0, 1.0),
    "test_ece_scaled": (0.0, 1.0),
    "grad_misclassified": (0.0, math.inf),
}
#: Where a difference of two values of a metric can lie.
DIFFERENCE_RANGES: dict[str, tuple[float, float]] = {
    "test_accuracy": (-1.0, 1.0), "test_nll": (-math.inf, math.inf), "test_ece": (-1.0, 1.0),
}

ECE_BINS = 15
#: Temperatures tried by :func:`fit_temperature` (log-spaced, factor 10^0.05 ~ 1.12).
TEMPERATURES = tuple(float(t) for t in np.logspace(-3.0, 3.0, 121))

INTERVAL = "95% Student-t over seeds: mean -/+ t(0.975, n-1) s / sqrt(n); null with fewer than 2 runs"
PAIRED_INTERVAL = ("per-seed differences a - b (same seed: same initial weights, batch order and split); "
                   "95% paired-t interval mean -/+ t(0.975, n-1) s_d / sqrt(n) and 95% percentile bootstrap "
                   "(10000 resamples, seed 0)")


# -- calibration ---------------------------------------------------------------------------------
def reliability_bins(probabilities: np.ndarray, y: np.ndarray, n_bins: int = ECE_BINS) -> dict[str, list[float]]:
    """Counts, summed confidence and summed correctness per equal-width confidence bin.

    Confidence = max_i p_i, correct = [argmax p == y]. Bin b holds confidences in
    (b/B, (b+1)/B] (the first bin also takes 0). Sums, not means, so runs can be pooled.
    """
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == y).astype(np.float64)
    index = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    return {
        "count": np.bincount(index, minlength=n_bins).astype(np.float64).tolist(),
        "confidence_sum": np.bincount(index, weights=confidence, minlength=n_bins).tolist(),
        "correct_sum": np.bincount(index, weights=correct, minlength=n_bins).tolist(),
    }


def expected_calibration_error(probabilities: np.ndarray, y: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """ECE = sum_b (n_b / N) |accuracy_b - mean confidence_b| over ``n_bins`` equal-width bins."""
    if len(y) == 0:
        raise ValueError("expected_calibration_error needs at least one sample, got none")
    bins = reliability_bins(probabilities, y, n_bins)
    return float(ece_from_bins(bins["count"], bins["confidence_sum"], bins["correct_sum"]))


def ece_from_bins(count: Any, confidence_sum: Any, correct_sum: Any) -> np.ndarray:
    """ECE from per-bin sums (bins along the last axis; leading axes are independent sets of bins).

    n_b/N * |acc_b - conf_b| = |correct_sum_b - confidence_sum_b| / N, summed over bins b (empty
    bins add 0), N = the total count.
    """
    gap = np.abs(np.asarray(correct_sum, dtype=np.float64) - np.asarray(confidence_sum, dtype=np.float64))
    return gap.sum(axis=-1) / np.asarray(count, dtype=np.float64).sum(axis=-1)


def fit_temperature(logits: np.ndarray, y: np.ndarray, temperatures: Sequence[float] = TEMPERATURES) -> float:
    """The temperature T minimising the NLL of softmax(logits / T) on (logits, y): temperature scaling.

    Searched over ``temperatures`` (the core's cross-entropy at each; ties go to the first).
    Temperature scaling keeps every prediction (argmax is unchanged by T > 0) and only rescales
    confidence, so the ECE after it separates a mere scale mismatch from miscalibration.
    """
    from outlayer.losses import cross_entropy

    if len(y) == 0:
        raise ValueError("fit_temperature needs at least one sample, got none")
    # shift by the row max first (CE is shift-invariant): huge finite logits of a run near divergence
    # would overflow to inf when divided by a small T
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    nll = [float(cross_entropy(shifted / t, y)) for t in temperatures]
    return float(temperatures[int(np.nanargmin(nll))])


# -- one training run ----------------------------------------------------------------------------
def _one_blas_thread() -> Any:
    """A context limiting BLAS to one thread (threadpoolctl ships with scikit-learn), else a no-op.

    Mini-batch products are tiny (32 x 64 by 64 x 64): waking BLAS threads costs more than they
    save (2 digits runs: 7.8 s with OpenBLAS's default threads, 2.1 s with one, on a loaded
    2-core machine), and one thread keeps the summation order, hence the bits, fixed.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _evaluate(net: Network, head: OutputHead, data: Dataset) -> dict[str, float | None]:
    from outlayer.losses import cross_entropy

    train_out = net.forward(data.X_train)
    train_loss, per_sample_grad = head.loss_and_grad(train_out, data.y_train, reduction="none")
    train_pred = head.predict(train_out)
    wrong = train_pred != data.y_train
    grad_norm = np.sqrt(np.sum(np.square(per_sample_grad[wrong]), axis=1))
    test_out = net.forward(data.X_test)
    record: dict[str, float | None] = {
        "train_loss": _finite_or_none(np.mean(train_loss)),
        "train_accuracy": float(np.mean(~wrong)),
        "val_accuracy": float(np.mean(head.predict(net.forward(data.X_val)) == data.y_val)) if len(data.y_val) else None,
        "test_accuracy": float(np.mean(head.predict(test_out) == data.y_test)),
        "test_nll": None,
        "test_ece": None,
        "grad_misclassified": _finite_or_none(grad_norm.mean()) if grad_norm.size else None,
    }
    probabilities = head.probabilities(test_out)
    if probabilities is not None:
        record["test_nll"] = _finite_or_none(cross_entropy(test_out, data.y_test))
        record["test_ece"] = expected_calibration_error(probabilities, data.y_test)
    return record


def train_epoch(net: Network, head: OutputHead, opt: Optimizer, X: np.ndarray, y: np.ndarray, batch_size: int,
                rng: np.random.Generator, on_step: Callable[[], None] | None = None) -> None:
    """One pass over (X, y) in an order drawn from ``rng``: one optimiser step per mini-batch.

    Each step: forward the batch, take ``dL/doutputs`` of the batch-mean loss from the core
    (through ``head``), backpropagate, update. The last batch may be smaller. ``on_step`` is
    called after every step (to measure within an epoch). Raises
    :class:`~outlayer.nets.DivergedError` if the weights blow up.
    """
    params = net.params
    order = rng.permutation(len(y))
    for start in range(0, len(y), batch_size):
        batch = order[start:start + batch_size]
        outputs, layer_inputs = net.forward_with_hidden(X[batch])
        _, grad_outputs = head.loss_and_grad(outputs, y[batch], reduction="mean")
        opt.step(params, net.backward(layer_inputs, grad_outputs))
        if on_step is not None:
            on_step()


def _final_state(net: Network, head: OutputHead, data: Dataset) -> dict[str, Any]:
    """Distinct predicted classes per split, reliability bins and temperature-scaled calibration.

    ``calibration`` (losses with probabilities and a validation split): the temperature T that
    :func:`fit_temperature` fits on the validation split's NLL (Guo et al. 2017), and the NLL of
    both splits and the test ECE before (T = 1) and after dividing the logits by T, with the
    test split's reliability bins after scaling. T is fitted on validation and measured on test.
    """
    from outlayer.losses import cross_entropy

    val_out, test_out = net.forward(data.X_val), net.forward(data.X_test)
    predicted = {
        "val": int(np.unique(head.predict(val_out)).size) if len(data.y_val) else None,
        "test": int(np.unique(head.predict(test_out)).size),
    }
    reliability = calibration = None
    probabilities = head.probabilities(test_out)
    if probabilities is not None:
        reliability = reliability_bins(probabilities, data.y_test)
        if len(data.y_val):
            temperature = fit_temperature(val_out, data.y_val)  # fitted on validation, measured on test
            # shifted by each row's largest logit first: dividing raw logits by a small T could overflow, and
            # softmax and cross-entropy do not change under a shift
            shifted_test = test_out - np.max(test_out, axis=-1, keepdims=True)
            shifted_val = val_out - np.max(val_out, axis=-1, keepdims=True)
            scaled = head.probabilities(shifted_test / temperature)
            calibration = {
                "temperature": temperature,
                "test_ece_scaled": expected_calibration_error(scaled, data.y_test),
                "ece_before": expected_calibration_error(probabilities, data.y_test),
                "nll_before": _finite_or_none(cross_entropy(test_out, data.y_test)),
                "nll_after": _finite_or_none(cross_entropy(shifted_test / temperature, data.y_test)),
                "val_nll_before": _finite_or_none(cross_entropy(val_out, data.y_val)),
                "val_nll_after": _finite_or_none(cross_entropy(shifted_val / temperature, data.y_val)),
                "reliability_scaled": reliability_bins(scaled, data.y_test),
            }
            calibration["ece_after"] = calibration["test_ece_scaled"]
    return {"predicted_classes": predicted, "reliability": reliability, "calibration": calibration}


def initial_network(data: Dataset, head: OutputHead, seed: int, *, init: str = CompareConfig.init,
                    hidden: Sequence[int] = CompareConfig.hidden, activation: str = CompareConfig.activation,
                    confident_std: float = CompareConfig.confident_std) -> tuple[Network, np.random.Generator]:
    """The network run ``seed`` starts from, and the generator of its mini-batch order.

    One seed, two independent streams (``SeedSequence(seed).spawn(2)``): the weights and the batch
    order. Every loss at a seed gets the same network (the output layer's width aside, ``scalar``).
    """
    init_rng, shuffle_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    net = init_network(data.n_features, head.n_outputs, hidden, activation=activation, init=init, rng=init_rng,
                       reference_inputs=data.X_train, confident_std=confident_std)
    return net, shuffle_rng


def train_run(
    data: Dataset,
    loss: str,
    *,
    seed: int = 0,
    init: str = CompareConfig.init,
    optimizer: str = CompareConfig.optimizer,
    lr: float | None = None,
    epochs: int = CompareConfig.epochs,
    batch_size: int = CompareConfig.batch_size,
    hidden: Sequence[int] = CompareConfig.hidden,
    activation: str = CompareConfig.activation,
    confident_std: float = CompareConfig.confident_std,
    target_accuracy: float = CompareConfig.target_accuracy,
    loss_options: Mapping[str, Any] | None = None,
    on_epoch: Callable[[], None] | None = None,
    pretrain: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one network with one loss and seed on ``data``; return its JSON-able record.

    ``pretrain`` = ``{"loss", "epochs", "lr"}`` (Golik, Doetsch & Ney 2013): the first
    ``pretrain["epochs"]`` of the ``epochs`` epochs train with ``pretrain["loss"]`` (a loss with
    probabilities) at its rate ``pretrain["lr"]``, the rest continue from there with ``loss`` and
    a fresh optimiser at ``lr``; the metrics of each epoch are those of the loss that trained it.

    Each epoch visits the training split once in a seeded random order, in mini-batches of
    ``batch_size`` (the last one may be smaller); each batch takes one optimiser step on the
    batch-mean loss. ``history[e]`` holds the metrics after epoch e (e = 0: before training);
    ``epochs_to_target`` is the first epoch whose test accuracy reaches ``target_accuracy``.
    ``lr=None`` takes :data:`DEFAULT_LR` for the optimiser, start and loss. ``status`` is
    "diverged" (the weights blew up), "collapsed" (the final network predicts a single class on
    the test split) or "ok".
    """
    CompareConfig(losses=(loss,), init=init, optimizer=optimizer, epochs=max(int(epochs), 1), batch_size=batch_size,
                  hidden=tuple(hidden), activation=activation, confident_std=confident_std,
                  target_accuracy=target_accuracy)  # validates every setting, one line per bad value
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    head = make_head(loss, data.n_classes, **dict(loss_options or {}))
    if lr is None:
        lr = DEFAULT_LR[optimizer][init][loss]
    net, shuffle_rng = initial_network(data, head, seed, init=init, hidden=hidden, activation=activation,
                                       confident_std=confident_std)
    opt = make_optimizer(optimizer, lr)
    # which head and optimiser train each epoch: the pretraining loss first, if any, then ``loss``
    schedule = [(head, opt)] * epochs
    pretrain_record = None
    if pretrain is not None:
        pre_head, pre_epochs, pre_lr = _pretrain_phase(pretrain, head, epochs)
        schedule[:pre_epochs] = [(pre_head, make_optimizer(optimizer, pre_lr))] * pre_epochs
        pretrain_record = {"loss": pre_head.name, "epochs": pre_epochs, "lr": pre_lr}
    history = []
    diverged = False
    # a too-large learning rate can overflow the logits; such a run is flagged as diverged instead
    with np.errstate(over="ignore", invalid="ignore"), _one_blas_thread():
        history.append({"epoch": 0, **_evaluate(net, schedule[0][0] if schedule else head, data)})
        for epoch, (epoch_head, epoch_opt) in enumerate(schedule, start=1):
            try:
                train_epoch(net, epoch_head, epoch_opt, data.X_train, data.y_train, batch_size, shuffle_rng)
                record = _evaluate(net, epoch_head, data)
            except DivergedError:
                diverged = True
            if diverged or record["train_loss"] is None:
                # the weights blew up: the remaining epochs have no numbers to report
                diverged = True
                history.extend({"epoch": e, **dict.fromkeys(METRICS)} for e in range(epoch, epochs + 1))
                if on_epoch is not None:
                    for _ in range(epoch, epochs + 1):
                        on_epoch()
                break
            history.append({"epoch": epoch, **record})
            if on_epoch is not None:
                on_epoch()
        final_state = {"predicted_classes": {"val": None, "test": None}, "reliability": None, "calibration": None}
        if not diverged:
            try:
                final_state = _final_state(net, head, data)
            except DivergedError:  # pragma: no cover - the last epoch's evaluation already passed
                diverged = True
    reached = next((r["epoch"] for r in history
                    if r["test_accuracy"] is not None and r["test_accuracy"] >= target_accuracy), None)
    final = history[-1]
    collapsed = not diverged and final_state["predicted_classes"]["test"] == 1
    return {
        "loss": loss,
        "seed": int(seed),
        "lr": float(lr),
        "initial_logit_std": net.initial_logit_std,
        "diverged": diverged,
        "collapsed": collapsed,
        "status": "diverged" if diverged else ("collapsed" if collapsed else "ok"),
        "epochs_to_target": reached,
        "final": {key: final[key] for key in METRICS},
        **final_state,
        **({"pretrain": pretrain_record} if pretrain_record is not None else {}),
        "history": history,
    }


def _pretrain_phase(pretrain: Mapping[str, Any], head: OutputHead, epochs: int) -> tuple[OutputHead, int, float]:
    """(head, epochs, lr) of a pretraining phase, checked: a one-line ValueError for a bad value."""
    from outlayer import _checks as check

    unknown = sorted(set(pretrain) - {"loss", "epochs", "lr"})
    if unknown:
        raise ValueError(f"unknown pretrain key {unknown[0]!r}; expected loss, epochs, lr")
    pre_head = make_head(str(pretrain.get("loss", "ce")), head.n_classes)
    if not pre_head.has_probabilities or not head.has_probabilities:
        raise ValueError("pretraining needs two losses with K outputs (not 'scalar')")
    pre_epochs = pretrain.get("epochs")
    if isinstance(pre_epochs, bool) or not isinstance(pre_epochs, (int, np.integer)) or not 1 <= pre_epochs < epochs:
        raise ValueError(f"pretrain epochs must be an integer in [1, {epochs - 1}] (fewer than the {epochs} epochs "
                         f"in all), got {pre_epochs!r}")
    return pre_head, int(pre_epochs), check.positive("pretrain lr", pretrain.get("lr"))


# -- learning-rate tuning ------------------------------------------------------------------------
def select_rate(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The rate :data:`outlayer.config.SELECTION_RULE` picks from one loss's tuning ``rows``.

    Each row: ``lr``, ``median`` (median final validation accuracy over the tuning seeds, a
    diverged seed counting as 0), ``diverged`` and ``collapsed`` (how many seeds). Returns
    ``{"chosen", "failure_free" (some rate had no failed seed), "at_grid_edge"}``.
    """
    if not rows:
        raise ValueError("select_rate needs at least one tuning row, got none")
    clean = [row for row in rows if row["diverged"] == 0 and row["collapsed"] == 0]
    candidates = clean or list(rows)
    best = max(candidates, key=lambda row: (row["median"], -row["lr"]))
    rates = [row["lr"] for row in rows]
    return {"chosen": best["lr"], "failure_free": bool(clean), "at_grid_edge": best["lr"] in (min(rates), max(rates))}


def _tuning_row(rate: float, runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    accuracies = [run["final"]["val_accuracy"] for run in runs]
    scored = [0.0 if run["diverged"] or acc is None else acc for run, acc in zip(runs, accuracies)]
    return {
        "lr": float(rate),
        "val_accuracy": accuracies,
        "median": float(statistics.median(scored)),
        "diverged": sum(bool(run["diverged"]) for run in runs),
        # collapse is judged on the validation split: the tuning never looks at the test split
        "collapsed": sum(not run["diverged"] and run["predicted_classes"]["val"] == 1 for run in runs),
    }


def _extend(rates: Sequence[float], up: bool) -> float:
    """The next rate beyond the high (``up``) or low end of a sorted grid, continuing its pattern.

    The step repeats the ratio two steps back (1, 3, 10, 30 -> 100 -> 300; a constant-ratio grid
    keeps its ratio), rounded to 12 significant digits so that 100 stays 100.
    """
    ends = list(rates[-3:]) if up else list(rates[:3])[::-1]
    if len(ends) >= 3:
        ratio = ends[-2] / ends[-3]
    elif len(ends) == 2:
        ratio = ends[-1] / ends[-2]
    else:
        ratio = 3.0 if up else 1.0 / 3.0
    return float(f"{ends[-1] * ratio:.12g}")


def tune_learning_rates(
    config: CompareConfig,
    data_for: Callable[[int], Dataset],
    *,
    on_epoch: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Choose each loss's learning rate by the procedure of the stored defaults; return the evidence.

    Every loss of ``config`` is trained at every rate of ``config.grid`` on every tuning seed
    (``config.tuning_seeds``, disjoint from the evaluation seeds; ``data_for(seed)`` gives the data
    of a seed, i.e. its split), with the evaluation's settings and epoch budget, and judged by its
    final validation accuracy (:func:`select_rate`). While the chosen rate sits at an end of the
    rates tried and beats its neighbour there, the grid is extended by one more rate beyond that
    end (:func:`_extend`), at most
    :data:`outlayer.config.GRID_EXTENSIONS` times per loss. Returns ``{"procedure", "grid",
    "optimizer", "init", "losses": {loss: {"rows": [...] (sorted by rate), "chosen",
    "failure_free", "at_grid_edge", "extended"}}}``.
    """
    from outlayer.config import GRID_EXTENSIONS

    options = config.loss_options()
    table: dict[str, Any] = {}
    for name in config.losses:
        rows: dict[float, dict[str, Any]] = {}

        def row_at(rate: float, name: str = name, rows: dict[float, dict[str, Any]] = rows) -> None:
            runs = [train_run(data_for(seed), name, seed=seed, lr=rate, loss_options=options[name],
                              on_epoch=on_epoch, **_run_settings(config))
                    for seed in config.tuning_seeds]
            rows[rate] = _tuning_row(rate, runs)

        for rate in config.grid:
            row_at(rate)
        extended = 0
        while True:
            ordered = [rows[rate] for rate in sorted(rows)]
            chosen = select_rate(ordered)
            if not chosen["at_grid_edge"] or extended >= GRID_EXTENSIONS or len(ordered) < 2:
                break
            up = chosen["chosen"] == ordered[-1]["lr"]
            edge, neighbour = (ordered[-1], ordered[-2]) if up else (ordered[0], ordered[1])
            if edge["median"] <= neighbour["median"]:
                break  # a tie won only by the tie rule (the smaller rate): nothing to find beyond it
            row_at(_extend(sorted(rows), up=up))
            extended += 1
        table[name] = {"rows": ordered, **chosen, "extended": extended}
    return {"procedure": tuning_procedure(config), "grid": list(config.grid), "optimizer": config.optimizer,
            "init": config.init, "losses": table}


# -- the comparison ------------------------------------------------------------------------------
def _run_settings(config: CompareConfig) -> dict[str, Any]:
    return {"init": config.init, "optimizer": config.optimizer, "epochs": config.epochs,
            "batch_size": config.batch_size, "hidden": config.hidden, "activation": config.activation,
            "confident_std": config.confident_std, "target_accuracy": config.target_accuracy,
            "pretrain": pretrain_phase(config)}


def pretrain_phase(config: CompareConfig) -> dict[str, Any] | None:
    """``config.pretrain`` as train_run's ``{"loss", "epochs", "lr"}``; the rate defaults to the
    pretraining loss's stored default for the optimiser and start (``pretrain_lr`` overrides it)."""
    if config.pretrain is None:
        return None
    loss, epochs = config.pretrain
    lr = config.pretrain_lr if config.pretrain_lr is not None else DEFAULT_LR[config.optimizer][config.init][loss]
    return {"loss": loss, "epochs": epochs, "lr": lr}


def _curves(runs: list[dict[str, Any]], losses: Sequence[str], epochs: int) -> dict[str, Any]:
    curves: dict[str, Any] = {}
    for name in losses:
        mine = [r for r in runs if r["loss"] == name]
        curves[name] = {}
        for metric in METRICS:
            bounds = METRIC_RANGES[metric]
            stats = [mean_ci95([r["history"][e][metric] for r in mine], bounds) for e in range(epochs + 1)]
            curves[name][metric] = {
                "mean": [s["mean"] for s in stats],
                "low": [s["ci95"][0] if s["ci95"] else None for s in stats],
                "high": [s["ci95"][1] if s["ci95"] else None for s in stats],
            }
    return curves


def _summary(runs: list[dict[str, Any]], losses: Sequence[str], lrs: Mapping[str, float],
             n_test: int) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in losses:
        mine = [r for r in runs if r["loss"] == name]
        entry: dict[str, Any] = {"lr": lrs[name]}
        for metric in METRICS:
            entry[metric] = mean_ci95([r["final"][metric] for r in mine], METRIC_RANGES[metric])
        entry["test_accuracy_binomial_se"] = binomial_se(entry["test_accuracy"]["mean"], n_test)
        entry["n_test"] = n_test
        entry["test_ece_scaled"] = mean_ci95([r["calibration"]["test_ece_scaled"] if r["calibration"] else None
                                              for r in mine], METRIC_RANGES["test_ece_scaled"])
        entry["temperature"] = mean_ci95([r["calibration"]["temperature"] if r["calibration"] else None
                                          for r in mine], (0.0, math.inf))
        entry["calibration"] = _calibration_summary(mine)
        reached = [r["epochs_to_target"] for r in mine if r["epochs_to_target"] is not None]
        entry["epochs_to_target"] = {**mean_ci95(reached, (0.0, math.inf)), "reached": len(reached), "runs": len(mine)}
        entry["initial_logit_std"] = mean_ci95([r["initial_logit_std"] for r in mine])
        entry["runs"] = len(mine)
        entry["diverged"] = sum(r["status"] == "diverged" for r in mine)
        entry["collapsed"] = sum(r["status"] == "collapsed" for r in mine)
        entry["failed_seeds"] = [r["seed"] for r in mine if r["status"] != "ok"]
        pooled = None
        bins = [r["reliability"] for r in mine if r["reliability"] is not None]
        if bins:
            pooled = {key: np.sum([b[key] for b in bins], axis=0).tolist() for key in bins[0]}
        entry["reliability"] = pooled
        summary[name] = entry
    return summary


#: Where each statistic of ``summary[loss]["calibration"]`` can lie.
CALIBRATION_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, math.inf), "ece_before": (0.0, 1.0), "ece_after": (0.0, 1.0),
    "nll_before": (0.0, math.inf), "nll_after": (0.0, math.inf),
    "val_nll_before": (0.0, math.inf), "val_nll_after": (0.0, math.inf),
}


def _calibration_summary(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Temperature scaling over one loss's runs: each statistic of CALIBRATION_RANGES as
    ``{"mean", "ci95", "std", "n"}`` (:func:`outlayer.stats.mean_ci95`), the per-seed changes
    after - before with paired intervals (``"change"``), and the test reliability bins after
    scaling, pooled over the runs. ``None`` for a loss without probabilities."""
    records = [r["calibration"] for r in runs if r["calibration"]]
    if not records:
        return None
    out: dict[str, Any] = {key: mean_ci95([r.get(key) for r in records], bounds)
                           for key, bounds in CALIBRATION_RANGES.items()}
    out["change"] = {
        "ece": paired_difference([r["ece_after"] for r in records], [r["ece_before"] for r in records], (-1.0, 1.0)),
        "nll": paired_difference([r["nll_after"] for r in records], [r["nll_before"] for r in records]),
        "val_nll": paired_difference([r["val_nll_after"] for r in records], [r["val_nll_before"] for r in records]),
    }
    bins = [r["reliability_scaled"] for r in records]
    out["reliability_scaled"] = {key: np.sum([b[key] for b in bins], axis=0).tolist() for key in bins[0]}
    out["fitted_on"] = "validation split NLL; measured on the test split"
    return out


def _paired(runs: list[dict[str, Any]], losses: Sequence[str], seeds: Sequence[int]) -> dict[str, Any]:
    """For each pair of losses (in the order given), per-seed differences of the final metrics."""
    by_key = {(r["loss"], r["seed"]): r for r in runs}
    paired: dict[str, Any] = {}
    for i, a in enumerate(losses):
        for b in losses[i + 1:]:
            entry: dict[str, Any] = {"a": a, "b": b, "seeds": list(seeds)}
            for metric in PAIRED_METRICS:
                values_a = [by_key[(a, s)]["final"][metric] for s in seeds]
                values_b = [by_key[(b, s)]["final"][metric] for s in seeds]
                entry[metric] = paired_difference(values_a, values_b, DIFFERENCE_RANGES[metric])
            paired[f"{a} - {b}"] = entry
    return paired


def _records_table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"loss": r["loss"], "seed": r["seed"], "lr": r["lr"], **record} for r in runs for record in r["history"]]


def _write_outputs(result: dict[str, Any], out_dir: str | os.PathLike[str], prefix: str) -> dict[str, str]:
    from outlayer._io import atomic_write_json, atomic_write_text
    from outlayer.plots import save_figures
    from outlayer.plots import training as figures

    out = Path(out_dir)
    table = _records_table(result["runs"])
    columns = ["loss", "seed", "lr", "epoch", *METRICS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if row[k] is None else row[k]) for k in columns} for row in table)
    written = {
        "records_json": atomic_write_json(out / f"{prefix}_records.json", table).name,
        "records_csv": atomic_write_text(out / f"{prefix}_records.csv", buffer.getvalue()).name,
    }
    built = {
        f"{prefix}_learning_curves": figures.learning_curves_figure(result),
        f"{prefix}_accuracy": figures.accuracy_figure(result),
        f"{prefix}_gradients": figures.gradient_figure(result),
        f"{prefix}_reliability": figures.reliability_figure(result),
    }
    if result.get("tuning"):
        tuning = result["tuning"]
        built[f"{prefix}_lr_tuning"] = figures.lr_tuning_figure({f"{tuning['init']} start, {tuning['optimizer']}": tuning})
    written.update(save_figures(built, out))
    return written


def _data_source(dataset: str | os.PathLike[str] | Dataset, config: CompareConfig) -> Callable[[int], Dataset]:
    """seed -> the Dataset that seed trains on (its split), loaded once per split seed."""
    if isinstance(dataset, Dataset):
        return lambda seed: dataset
    cache: dict[int, Dataset] = {}

    def data_for(seed: int) -> Dataset:
        split = config.split_seed_of(seed)
        if split not in cache:
            cache[split] = load_dataset(dataset, label_column=config.label_column, split_seed=split)
        return cache[split]

    return data_for


def compare(
    dataset: str | os.PathLike[str] | Dataset = CompareConfig.dataset,
    losses: Sequence[str] = CompareConfig.losses,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Train the seeds' network with each loss on ``dataset`` over several seeds; return the results.

    ``options`` are the fields of :class:`outlayer.config.CompareConfig` (``init``,
    ``optimizer``, ``seeds``, ``epochs``, ``lr``, ``tune_lr``, ``split_seeds``, ``hidden``, ...),
    whose defaults apply to the rest. A :class:`~outlayer.data.Dataset` object keeps its own split
    (``split_seeds`` must then be False or left out); a name or a file is split per seed.

    Returns the object ``outlayer compare --json`` prints: ``settings`` (``asdict`` of the
    config), ``config`` (what was resolved from it: the dataset's description, the seeds and the
    split seed of each, the learning rates and where they came from), ``tuning`` (the grid results
    when ``tune_lr``), ``runs`` (one per loss and seed: status, per-epoch ``history``, final
    metrics, predicted classes, calibration), ``summary`` (per loss, each final metric as
    ``{"mean", "ci95", "std", "n"}``, the binomial standard error of the test accuracy, the counts
    of diverged and collapsed runs, epochs to the target, pooled reliability bins), ``paired`` (per
    pair of losses "a - b": per-seed differences of test accuracy, NLL and ECE with their mean,
    paired-t and bootstrap 95 % intervals), ``curves`` (per loss and metric, the per-epoch mean and
    95 % band) and, with ``out_dir``, ``figures`` and ``files`` (records as JSON and CSV, and
    ``<prefix>.json``: this whole result).
    """
    fixed_split = isinstance(dataset, Dataset)
    if fixed_split:
        if options.get("split_seeds"):
            raise ValueError("a Dataset object keeps its own split: pass a dataset name or file to vary the split "
                             "with the seeds, or split_seeds=False")
        options = {**options, "split_seeds": False}
    name = dataset.name if fixed_split else os.fspath(dataset)
    config = CompareConfig.from_options(dataset=name, losses=tuple(losses), **options)
    data_for = _data_source(dataset, config)
    first = data_for(config.seed_list[0])  # a bad dataset fails here, before any training
    seed_list = config.seed_list
    loss_options = config.loss_options()

    n_tuning_runs = len(config.grid) * len(config.tuning_seeds) if config.tune_lr else 0
    total_epochs = config.epochs * len(config.losses) * (len(seed_list) + n_tuning_runs)
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total_epochs, unit="epoch", desc="compare", file=sys.stderr, leave=False)
    tick = bar.update if bar is not None else None
    try:
        tuning = None
        if config.tune_lr:
            tuning = tune_learning_rates(config, data_for, on_epoch=tick)
            lrs = {loss: tuning["losses"][loss]["chosen"] for loss in config.losses}
            lr_source = "tuned"
        else:
            given = config.lr or {}
            lrs = {loss: given.get(loss, DEFAULT_LR[config.optimizer][config.init][loss]) for loss in config.losses}
            lr_source = "given" if given else "default"
        runs = [
            train_run(data_for(seed), loss, seed=seed, lr=lrs[loss], loss_options=loss_options[loss], on_epoch=tick,
                      **_run_settings(config))
            for loss in config.losses for seed in seed_list
        ]
    finally:
        if bar is not None:
            bar.close()

    n_test = len(first.y_test)
    result: dict[str, Any] = {
        "settings": settings_of(config),
        "config": {
            "dataset": first.describe(),
            "losses": list(config.losses),
            "init": config.init,
            "optimizer": config.optimizer,
            "seeds": seed_list,
            "split_seeds": [config.split_seed_of(seed) for seed in seed_list],
            "split": "fixed (a Dataset object)" if fixed_split else ("one per seed" if config.split_seeds else "fixed"),
            "epochs": config.epochs,
            "lr": lrs,
            "lr_source": lr_source,
            "hidden": list(config.hidden),
            "activation": config.activation,
            "batch_size": config.batch_size,
            "target_accuracy": config.target_accuracy,
            "split_seed": config.split_seed,
            "confident_std": config.confident_std,
            "loss_options": loss_options,
            "tuning_seeds": list(config.tuning_seeds),
            "pretrain": pretrain_phase(config),
            "ece_bins": ECE_BINS,
            "interval": INTERVAL,
            "paired_interval": PAIRED_INTERVAL,
            "binomial_se": "sqrt(p (1 - p) / n_test) at the mean test accuracy p: the error of one test set",
        },
        "tuning": tuning,
        "runs": runs,
        "summary": _summary(runs, config.losses, lrs, n_test),
        "paired": _paired(runs, config.losses, seed_list),
        "curves": _curves(runs, config.losses, config.epochs),
    }
    if out_dir is not None:
        prefix = config.figure_prefix
        files = _write_outputs(result, out_dir, prefix)
        result["figures"] = {k: v for k, v in files.items() if not k.startswith("records")}
        result["files"] = {**{k: v for k, v in files.items() if k.startswith("records")},
                           "result_json": f"{prefix}.json"}
        from outlayer._io import atomic_write_json

        atomic_write_json(Path(out_dir) / f"{prefix}.json", result)  # the whole result, as --json prints it
    return result
