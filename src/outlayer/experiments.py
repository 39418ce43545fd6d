"""The training lab: the seeds' network trained with each loss on real data, measured honestly.

:func:`compare` trains :class:`outlayer.nets.Network` once per (loss, seed) with mini-batch SGD,
momentum or Adam (:mod:`outlayer.optim`) and records, after every epoch (epoch 0 = the untrained
network): the training loss (each run's own objective), training / validation / test accuracy,
test NLL (cross-entropy of softmax(outputs), whatever loss was trained), the expected
calibration error on the test split (15 equal-width confidence bins), and the mean norm of
``dL/dlogits`` over the misclassified training samples (how hard the loss still pushes on the
samples it gets wrong). Across seeds every final number gets a mean and a 95 % Student-t
interval; the first epoch at which test accuracy reaches a target is reported per run.

Seeds measure training randomness only: the data split is fixed by ``split_seed``; seed ``s``
fixes the initial weights and the mini-batch order, identically for every loss (a paired
design: at a given seed all losses start from the same hidden layer). Runs are bit-for-bit
reproducible.

The ``scalar`` loss has no probabilities: its NLL, ECE and reliability entries are ``null``.
A run whose weights blow up (too large a learning rate) is flagged ``"diverged": true``; its
epochs from the blow-up on hold ``null`` metrics, which the means over seeds leave out (each
statistic's ``n`` says how many runs it rests on, and the summary counts the diverged runs).
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from outlayer.data import Dataset, load_dataset
from outlayer.nets import HEAD_NAMES, INITS, DivergedError, Network, OutputHead, init_network, make_head
from outlayer.optim import OPTIMIZER_NAMES, Optimizer, make_optimizer

__all__ = [
    "DEFAULT_LR",
    "LR_GRID",
    "METRICS",
    "compare",
    "expected_calibration_error",
    "mean_ci95",
    "reliability_bins",
    "student_t_quantile",
    "train_epoch",
    "train_run",
]

#: Default learning rate per optimiser, start and loss: the rate ``tune_lr`` chose on digits
#: (validation split, first seed, hidden 64 sigmoid, batch 32, 30 epochs, grids :data:`LR_GRID`;
#: ``benchmarks/bench_compare.py tune`` reruns it). ``ce-smooth`` takes ``ce``'s rate. A single
#: seed chose them, so they are reasonable, not optimal: pass ``tune_lr=True`` for a fair comparison.
DEFAULT_LR: dict[str, dict[str, dict[str, float]]] = {
    "sgd": {
        "gentle": {"ce": 1.0, "ce-smooth": 1.0, "mse": 3.0, "mse-logits": 0.03, "scalar": 0.03},
        "confident": {"ce": 0.3, "ce-smooth": 0.3, "mse": 10.0, "mse-logits": 0.01, "scalar": 0.03},
    },
    "momentum": {
        "gentle": {"ce": 0.3, "ce-smooth": 0.3, "mse": 0.3, "mse-logits": 0.03, "scalar": 0.1},
        "confident": {"ce": 0.01, "ce-smooth": 0.01, "mse": 0.03, "mse-logits": 0.01, "scalar": 0.003},
    },
    "adam": {
        "gentle": {"ce": 0.03, "ce-smooth": 0.03, "mse": 0.01, "mse-logits": 0.01, "scalar": 0.03},
        "confident": {"ce": 0.03, "ce-smooth": 0.03, "mse": 0.003, "mse-logits": 0.003, "scalar": 0.01},
    },
}

#: Learning rates ``tune_lr`` tries, per optimiser (log-spaced, factor ~3).
LR_GRID: dict[str, tuple[float, ...]] = {
    "sgd": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    "momentum": (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3),
    "adam": (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03),
}

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

#: Where each metric can lie. A t-interval is symmetric and knows nothing of bounds, so with few
#: seeds it can reach past them (an accuracy of 103 %); intervals are clipped to these ranges.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "train_loss": (0.0, math.inf),
    "train_accuracy": (0.0, 1.0),
    "val_accuracy": (0.0, 1.0),
    "test_accuracy": (0.0, 1.0),
    "test_nll": (0.0, math.inf),
    "test_ece": (0.0, 1.0),
    "grad_misclassified": (0.0, math.inf),
}

ECE_BINS = 15

_OPTIONS: dict[str, Any] = {
    "hidden": (64,),
    "activation": "sigmoid",
    "batch_size": 32,
    "target_accuracy": 0.9,
    "split_seed": 0,
    "first_seed": 0,
    "confident_std": 30.0,
    "label_column": None,
    "label_smoothing": None,
    "true_class_weight": None,
    "true_class_target": None,
    "lr_grid": None,
    "figure_prefix": "compare",
}


# -- statistics ----------------------------------------------------------------------------------
def _t_central_probability(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer ``df`` degrees of freedom (t >= 0).

    Closed forms (Abramowitz & Stegun 26.7.3-4) with theta = atan(t / sqrt(df)), c = cos^2 theta:
    odd df:  (2/pi) (theta + sin theta cos theta (1 + 2/3 c + 2*4/(3*5) c^2 + ... [(df-3)/2 terms]))
    even df: sin theta (1 + 1/2 c + 1*3/(2*4) c^2 + ... [(df-2)/2 terms]).
    """
    theta = math.atan(t / math.sqrt(df))
    c = math.cos(theta) ** 2
    if df % 2:
        total, term = 1.0, 1.0
        for j in range(1, (df - 1) // 2):
            term *= c * (2 * j) / (2 * j + 1)
            total += term
        inner = theta + (math.sin(theta) * math.cos(theta) * total if df > 1 else 0.0)
        return 2.0 / math.pi * inner
    total, term = 1.0, 1.0
    for j in range(1, df // 2):
        term *= c * (2 * j - 1) / (2 * j)
        total += term
    return math.sin(theta) * total


def student_t_quantile(q: float, df: int) -> float:
    """The q-quantile of Student's t with integer ``df >= 1``: the t with P(T <= t) = q.

    Inverts the exact CDF (:func:`_t_central_probability`) by bisection to machine precision;
    no SciPy at run time (the tests check it against ``scipy.stats.t.ppf``).
    """
    if not (isinstance(df, (int, np.integer)) and df >= 1):
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {df!r}")
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must lie in (0, 1), got {q!r}")
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -student_t_quantile(1.0 - q, df)
    central = 2.0 * q - 1.0  # P(|T| < t) for the upper quantile t
    low, high = 0.0, 1.0
    while _t_central_probability(high, int(df)) < central:
        low, high = high, 2.0 * high
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        if _t_central_probability(mid, int(df)) < central:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def mean_ci95(
    values: Sequence[float | None], bounds: tuple[float, float] = (-math.inf, math.inf)
) -> dict[str, Any]:
    """Mean, sample standard deviation and 95 % Student-t interval of the finite ``values``.

    ``ci95 = mean -/+ t_{0.975, n-1} s / sqrt(n)``, clipped to ``bounds`` (the values' possible
    range); ``None`` when fewer than 2 finite values (one run says nothing about the spread) or
    when the spread overflows. ``n`` counts the finite values used.
    """
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    n = int(finite.size)
    if n == 0:
        return {"mean": None, "ci95": None, "std": None, "n": 0}
    with np.errstate(over="ignore", invalid="ignore"):  # values near 1e300 (a blow-up) overflow when squared
        mean = float(finite.mean())
        std = float(finite.std(ddof=1)) if n >= 2 else math.nan
    if not math.isfinite(mean):
        return {"mean": None, "ci95": None, "std": None, "n": n}
    if not math.isfinite(std):
        return {"mean": mean, "ci95": None, "std": None, "n": n}
    half = student_t_quantile(0.975, n - 1) * std / math.sqrt(n)
    low, high = max(mean - half, bounds[0]), min(mean + half, bounds[1])
    return {"mean": mean, "ci95": [low, high], "std": std, "n": n}


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
    count = np.array(bins["count"])
    gap = np.abs(np.array(bins["correct_sum"]) - np.array(bins["confidence_sum"]))
    # n_b/N * |acc_b - conf_b| = |correct_sum_b - confidence_sum_b| / N; empty bins add 0
    return float(gap.sum() / count.sum())


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
                rng: np.random.Generator) -> None:
    """One pass over (X, y) in an order drawn from ``rng``: one optimiser step per mini-batch.

    Each step: forward the batch, take ``dL/doutputs`` of the batch-mean loss from the core
    (through ``head``), backpropagate, update. The last batch may be smaller. Raises
    :class:`~outlayer.nets.DivergedError` if the weights blow up.
    """
    params = net.params
    order = rng.permutation(len(y))
    for start in range(0, len(y), batch_size):
        batch = order[start:start + batch_size]
        outputs, layer_inputs = net.forward_with_hidden(X[batch])
        _, grad_outputs = head.loss_and_grad(outputs, y[batch], reduction="mean")
        opt.step(params, net.backward(layer_inputs, grad_outputs))


def train_run(
    data: Dataset,
    loss: str,
    *,
    seed: int = 0,
    init: str = "gentle",
    optimizer: str = "sgd",
    lr: float | None = None,
    epochs: int = 30,
    batch_size: int = 32,
    hidden: Sequence[int] = (64,),
    activation: str = "sigmoid",
    confident_std: float = 30.0,
    target_accuracy: float = 0.9,
    loss_options: Mapping[str, Any] | None = None,
    on_epoch: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train one network with one loss and seed; return its JSON-able record.

    Each epoch visits the training split once in a seeded random order, in mini-batches of
    ``batch_size`` (the last one may be smaller); each batch takes one optimiser step on the
    batch-mean loss. ``history[e]`` holds the metrics after epoch e (e = 0: before training);
    ``epochs_to_target`` is the first epoch whose test accuracy reaches ``target_accuracy``.
    ``lr=None`` takes :data:`DEFAULT_LR` for the optimiser, start and loss.
    """
    head = make_head(loss, data.n_classes, **dict(loss_options or {}))
    if optimizer not in OPTIMIZER_NAMES:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    if lr is None:
        lr = DEFAULT_LR[optimizer][init][loss]
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"epochs must be >= 0 and batch_size >= 1, got epochs={epochs}, batch_size={batch_size}")
    init_rng, shuffle_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    net = init_network(data.n_features, head.n_outputs, hidden, activation=activation, init=init, rng=init_rng,
                       reference_inputs=data.X_train, confident_std=confident_std)
    opt = make_optimizer(optimizer, lr)
    history = []
    diverged = False
    # a too-large learning rate can overflow the logits; such a run is flagged as diverged instead
    with np.errstate(over="ignore", invalid="ignore"), _one_blas_thread():
        history.append({"epoch": 0, **_evaluate(net, head, data)})
        for epoch in range(1, epochs + 1):
            try:
                train_epoch(net, head, opt, data.X_train, data.y_train, batch_size, shuffle_rng)
                record = _evaluate(net, head, data)
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
    reached = next((r["epoch"] for r in history
                    if r["test_accuracy"] is not None and r["test_accuracy"] >= target_accuracy), None)
    final = history[-1]
    reliability = None
    if not diverged and head.has_probabilities:
        with _one_blas_thread():
            reliability = reliability_bins(head.probabilities(net.forward(data.X_test)), data.y_test)
    return {
        "loss": loss,
        "seed": int(seed),
        "lr": float(lr),
        "initial_logit_std": net.initial_logit_std,
        "diverged": diverged,
        "epochs_to_target": reached,
        "final": {key: final[key] for key in METRICS},
        "reliability": reliability,
        "history": history,
    }


# -- the comparison ------------------------------------------------------------------------------
def _resolve_lr(lr: Any, losses: Sequence[str], optimizer: str, init: str) -> dict[str, float]:
    defaults = DEFAULT_LR[optimizer][init]
    if lr is None:
        return {name: defaults[name] for name in losses}
    if isinstance(lr, Mapping):
        unknown = sorted(set(lr) - set(losses))
        if unknown:
            raise ValueError(f"learning rate given for {unknown[0]!r}, which is not among the losses compared")
        rates = {name: float(lr.get(name, defaults[name])) for name in losses}
    elif isinstance(lr, (int, float)):
        rates = {name: float(lr) for name in losses}
    else:
        values = list(lr)
        if len(values) == 1:
            values = values * len(losses)
        if len(values) != len(losses):
            raise ValueError(f"got {len(values)} learning rates for {len(losses)} losses; give one, or one per loss")
        rates = {name: float(v) for name, v in zip(losses, values)}
    for name, rate in rates.items():
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"learning rate for {name!r} must be a positive number, got {rate!r}")
    return rates


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


def _summary(runs: list[dict[str, Any]], losses: Sequence[str], lrs: Mapping[str, float]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in losses:
        mine = [r for r in runs if r["loss"] == name]
        entry: dict[str, Any] = {"lr": lrs[name]}
        for metric in METRICS:
            entry[metric] = mean_ci95([r["final"][metric] for r in mine], METRIC_RANGES[metric])
        reached = [r["epochs_to_target"] for r in mine if r["epochs_to_target"] is not None]
        entry["epochs_to_target"] = {**mean_ci95(reached, (0.0, math.inf)), "reached": len(reached), "runs": len(mine)}
        entry["initial_logit_std"] = mean_ci95([r["initial_logit_std"] for r in mine])
        entry["diverged"] = sum(bool(r["diverged"]) for r in mine)
        pooled = None
        bins = [r["reliability"] for r in mine if r["reliability"] is not None]
        if bins:
            pooled = {key: np.sum([b[key] for b in bins], axis=0).tolist() for key in bins[0]}
        entry["reliability"] = pooled
        summary[name] = entry
    return summary


def _records_table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"loss": r["loss"], "seed": r["seed"], "lr": r["lr"], **record} for r in runs for record in r["history"]]


def _write_outputs(result: dict[str, Any], out_dir: str | os.PathLike[str], prefix: str) -> dict[str, str]:
    from outlayer._io import atomic_write_json, atomic_write_text
    from outlayer.plots import save_figure
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
    for stem, fig in built.items():
        files = save_figure(fig, out, stem)
        written[stem] = files[0].name
        written[f"{stem}_svg"] = files[1].name
    return written


def _tune(data: Dataset, losses: Sequence[str], grid: Sequence[float], seed: int, run_kwargs: dict[str, Any],
          loss_options: Mapping[str, Mapping[str, Any]],
          on_epoch: Callable[[], None] | None) -> tuple[dict[str, float], dict[str, Any]]:
    """Per loss, the grid rate with the best final validation accuracy (ties: the smaller rate)."""
    chosen, table = {}, {}
    for name in losses:
        rows = []
        for rate in grid:
            run = train_run(data, name, seed=seed, lr=rate, loss_options=loss_options[name], on_epoch=on_epoch,
                            **run_kwargs)
            rows.append({"lr": rate, "val_accuracy": run["final"]["val_accuracy"], "diverged": run["diverged"]})
        best = max(rows, key=lambda row: (-1.0 if row["diverged"] or row["val_accuracy"] is None
                                          else row["val_accuracy"], -row["lr"]))
        chosen[name] = best["lr"]
        table[name] = rows
    return chosen, table


def compare(
    dataset: str | os.PathLike[str] | Dataset = "digits",
    losses: Sequence[str] = ("ce", "mse"),
    init: str = "confident",
    optimizer: str = "sgd",
    seeds: int = 5,
    epochs: int = 30,
    lr: float | Sequence[float] | Mapping[str, float] | None = None,
    tune_lr: bool = False,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Train the seeds' network with each loss on ``dataset`` over ``seeds`` seeds; return the results.

    Returns the object ``outlayer compare --json`` prints: ``config``, ``tuning`` (grid results
    when ``tune_lr``), ``runs`` (one per loss and seed, with per-epoch ``history``), ``summary``
    (per loss, each final metric as ``{"mean", "ci95", "std", "n"}``, plus ``epochs_to_target``
    and the pooled reliability bins), ``curves`` (per loss and metric, the per-epoch mean and 95 %
    band) and, when ``out_dir`` is given, ``figures`` (name -> file name; each figure as PNG, with
    its SVG under ``<name>_svg``) and ``files`` (per-epoch records as JSON and CSV, and
    ``<prefix>.json``: this whole result).

    Options: ``hidden`` (tuple of widths, default (64,)), ``activation`` ("sigmoid"/"relu"),
    ``batch_size`` (32), ``target_accuracy`` (0.9), ``split_seed`` (0), ``first_seed`` (0; runs
    use seeds first_seed .. first_seed + seeds - 1), ``confident_std`` (30), ``label_column`` (CSV),
    ``label_smoothing`` (ce-smooth), ``true_class_weight`` / ``true_class_target`` (k and M of
    mse-logits), ``lr_grid`` (rates for ``tune_lr``), ``figure_prefix`` ("compare").
    ``lr``: one rate for all losses, one per loss, a {loss: rate} mapping, or None for
    :data:`DEFAULT_LR` (per optimiser and start). ``tune_lr`` picks each loss's rate on the
    validation split (first seed).
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r}; known: {', '.join(sorted(_OPTIONS))}")
    opts = {**_OPTIONS, **options}
    losses = list(dict.fromkeys(losses))
    if not losses:
        raise ValueError("give at least one loss to compare")
    for name in losses:
        if name not in HEAD_NAMES:
            raise ValueError(f"unknown loss {name!r}; choose from {', '.join(HEAD_NAMES)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    if optimizer not in OPTIMIZER_NAMES:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    if int(seeds) != seeds or seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    hidden = tuple(int(h) for h in (opts["hidden"] if isinstance(opts["hidden"], Sequence) else (opts["hidden"],)))
    if not hidden or any(h < 1 for h in hidden):
        raise ValueError(f"hidden widths must be positive integers, got {opts['hidden']!r}")
    if int(opts["batch_size"]) != opts["batch_size"] or opts["batch_size"] < 1:
        raise ValueError(f"batch_size must be a positive integer, got {opts['batch_size']!r}")
    if not 0.0 < float(opts["target_accuracy"]) <= 1.0:
        raise ValueError(f"target_accuracy must lie in (0, 1], got {opts['target_accuracy']!r}")
    lrs = _resolve_lr(lr, losses, optimizer, init)
    loss_options: dict[str, dict[str, Any]] = {name: {} for name in losses}
    for key, loss_name in (("label_smoothing", "ce-smooth"), ("true_class_weight", "mse-logits"),
                           ("true_class_target", "mse-logits")):
        if opts[key] is not None:
            if loss_name not in losses:
                raise ValueError(f"option {key}={opts[key]!r} applies to {loss_name!r}, which is not among the losses")
            loss_options[loss_name][key] = float(opts[key])

    data = dataset if isinstance(dataset, Dataset) else load_dataset(
        dataset, label_column=opts["label_column"], split_seed=int(opts["split_seed"]))
    seed_list = [int(opts["first_seed"]) + i for i in range(int(seeds))]
    run_kwargs = {
        "init": init, "optimizer": optimizer, "epochs": int(epochs), "batch_size": int(opts["batch_size"]),
        "hidden": hidden, "activation": opts["activation"], "confident_std": float(opts["confident_std"]),
        "target_accuracy": float(opts["target_accuracy"]),
    }
    grid = tuple(float(v) for v in (opts["lr_grid"] or LR_GRID[optimizer]))

    total_epochs = int(epochs) * len(losses) * (len(seed_list) + (len(grid) if tune_lr else 0))
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total_epochs, unit="epoch", desc="compare", file=sys.stderr, leave=False)
    tick = bar.update if bar is not None else None
    try:
        tuning = None
        lr_source = "given" if lr is not None else "default"
        if tune_lr:
            tuned, table = _tune(data, losses, grid, seed_list[0], run_kwargs, loss_options, tick)
            lrs, lr_source = tuned, "tuned"
            tuning = {"grid": list(grid), "selection": "best final validation accuracy, first seed; ties -> smaller rate",
                      "losses": table}
        runs = [
            train_run(data, name, seed=seed, lr=lrs[name], loss_options=loss_options[name], on_epoch=tick, **run_kwargs)
            for name in losses for seed in seed_list
        ]
    finally:
        if bar is not None:
            bar.close()

    result: dict[str, Any] = {
        "config": {
            "dataset": data.describe(),
            "losses": losses,
            "init": init,
            "optimizer": optimizer,
            "seeds": seed_list,
            "epochs": int(epochs),
            "lr": lrs,
            "lr_source": lr_source,
            "hidden": list(hidden),
            "activation": opts["activation"],
            "batch_size": int(opts["batch_size"]),
            "target_accuracy": float(opts["target_accuracy"]),
            "split_seed": int(opts["split_seed"]),
            "confident_std": float(opts["confident_std"]),
            "loss_options": loss_options,
            "ece_bins": ECE_BINS,
            "interval": "95% Student-t over seeds: mean -/+ t(0.975, n-1) s / sqrt(n); null with fewer than 2 runs",
        },
        "tuning": tuning,
        "runs": runs,
        "summary": _summary(runs, losses, lrs),
        "curves": _curves(runs, losses, int(epochs)),
    }
    if out_dir is not None:
        prefix = str(opts["figure_prefix"])
        files = _write_outputs(result, out_dir, prefix)
        result["figures"] = {k: v for k, v in files.items() if not k.startswith("records")}
        result["files"] = {**{k: v for k, v in files.items() if k.startswith("records")},
                           "result_json": f"{prefix}.json"}
        from outlayer._io import atomic_write_json

        atomic_write_json(Path(out_dir) / f"{prefix}.json", result)  # the whole result, as --json prints it
    return result
