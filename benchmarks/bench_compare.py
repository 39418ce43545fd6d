"""Benchmarks and measurements of the training lab (issue 4). Not a test: it times and measures.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py speed     # the two speed targets
    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py table     # 2 starts x 2 optimisers x 4 losses
    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py peer      # ce + Adam vs scikit-learn's MLPClassifier
    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py tune      # --tune-lr grids on digits

Each section prints what it measured; ``--json FILE`` also saves the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

from outlayer.data import Dataset, load_dataset
from outlayer.experiments import _one_blas_thread, compare, mean_ci95, train_epoch
from outlayer.nets import init_network, make_head
from outlayer.optim import make_optimizer


def _fmt(stats: dict[str, Any], digits: int = 3) -> str:
    if stats["mean"] is None:
        return "-"
    if stats["ci95"] is None:
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f} [{stats['ci95'][0]:.{digits}f}, {stats['ci95'][1]:.{digits}f}]"


def speed() -> dict[str, Any]:
    """digits, 5 seeds x 2 losses x 30 epochs; one epoch over a synthetic 60000 x 784 set."""
    load_dataset("digits")  # warm the scikit-learn import and the file cache: time training only
    start, cpu_start = time.perf_counter(), time.process_time()
    compare("digits", ("ce", "mse"), init="confident", optimizer="sgd", seeds=5, epochs=30)
    digits_s, digits_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start

    rng = np.random.default_rng(0)
    n, d, k = 60000, 784, 10
    X = rng.standard_normal((n, d)).astype(np.float64)
    y = rng.integers(0, k, size=n)
    head = make_head("ce", k)
    timings = {}
    for label, context in (("one BLAS thread", _one_blas_thread), ("default BLAS threads", None)):
        net = init_network(d, k, (64,), rng=0)
        opt = make_optimizer("sgd", 0.1)
        start, cpu_start = time.perf_counter(), time.process_time()
        if context is None:
            train_epoch(net, head, opt, X, y, 32, np.random.default_rng(1))
        else:
            with context():
                train_epoch(net, head, opt, X, y, 32, np.random.default_rng(1))
        timings[label] = {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu_start}
    result = {"digits_5seeds_2losses_30epochs": {"wall_s": digits_s, "cpu_s": digits_cpu_s},
              "epoch_60000x784_hidden64_batch32": timings,
              "cpus": os.cpu_count(), "load_average_1min": os.getloadavg()[0]}
    print(f"digits, 5 seeds x 2 losses (ce, mse) x 30 epochs, hidden 64, batch 32 (one BLAS thread): "
          f"{digits_s:.2f} s wall, {digits_cpu_s:.2f} s CPU")
    for label, seconds in timings.items():
        print(f"one epoch over 60000 x 784, hidden 64, batch 32 (1875 steps), {label}: "
              f"{seconds['wall_s']:.2f} s wall, {seconds['cpu_s']:.2f} s CPU")
    print(f"({os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.1f})")
    return result


def table(seeds: int = 5, epochs: int = 30) -> dict[str, Any]:
    """Final test accuracy and epochs to 90 % on digits: gentle/confident x sgd/adam x 4 losses."""
    losses = ("ce", "mse", "mse-logits", "scalar")
    out: dict[str, Any] = {}
    print(f"digits, {seeds} seeds x {epochs} epochs, default learning rates; test accuracy mean [95% CI]; "
          "epochs to 0.9 (runs reaching it)")
    for init in ("confident", "gentle"):
        for optimizer in ("sgd", "adam"):
            result = compare("digits", losses, init=init, optimizer=optimizer, seeds=seeds, epochs=epochs)
            for loss, entry in result["summary"].items():
                reach = entry["epochs_to_target"]
                reach_text = f"{reach['mean']:.1f} ({reach['reached']}/{reach['runs']})" if reach["mean"] else \
                    f"never (0/{reach['runs']})"
                print(f"  {init:9s} {optimizer:4s} {loss:10s} lr {entry['lr']:<6g} acc {_fmt(entry['test_accuracy'])}"
                      f"  epochs to 0.9: {reach_text}  diverged {entry['diverged']}")
                out[f"{init}/{optimizer}/{loss}"] = {
                    "lr": entry["lr"], "test_accuracy": entry["test_accuracy"], "epochs_to_target": reach,
                    "test_nll": entry["test_nll"], "test_ece": entry["test_ece"], "diverged": entry["diverged"],
                }
    for name in ("digits", "ordinal"):
        result = compare(name, ("ce", "scalar"), init="gentle", optimizer="adam", seeds=seeds, epochs=epochs)
        for loss, entry in result["summary"].items():
            print(f"  {name:8s} gentle adam {loss:7s} acc {_fmt(entry['test_accuracy'])}")
            out[f"{name}/gentle/adam/{loss}"] = {"test_accuracy": entry["test_accuracy"]}
    return out


def peer(seeds: int = 5, epochs: int = 30) -> dict[str, Any]:
    """``ce`` + Adam (gentle start) against scikit-learn's MLPClassifier: same split, width, batch, epochs."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    data: Dataset = load_dataset("digits")
    ours = compare(data, ("ce",), init="gentle", optimizer="adam", seeds=seeds, epochs=epochs)
    lr = ours["config"]["lr"]["ce"]
    accuracies = []
    for seed in range(seeds):
        model = MLPClassifier(hidden_layer_sizes=(64,), activation="logistic", solver="adam", alpha=0.0,
                              batch_size=32, learning_rate_init=lr, max_iter=epochs, shuffle=True,
                              random_state=seed, n_iter_no_change=epochs + 1, tol=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter = our epoch budget, on purpose
            model.fit(data.X_train, data.y_train)
        accuracies.append(float(model.score(data.X_test, data.y_test)))
    theirs = mean_ci95(accuracies)
    print(f"digits, hidden 64 sigmoid/logistic, Adam lr {lr:g}, batch 32, {epochs} epochs, {seeds} seeds, same split:")
    print(f"  outlayer ce        test accuracy {_fmt(ours['summary']['ce']['test_accuracy'])}")
    print(f"  sklearn MLPClassifier  test accuracy {_fmt(theirs)}")
    return {"outlayer_ce_adam": ours["summary"]["ce"]["test_accuracy"], "sklearn_mlp": theirs, "lr": lr}


def tune() -> dict[str, Any]:
    """--tune-lr on digits for each start and optimiser (first seed, 30 epochs): the chosen rates."""
    out = {}
    for optimizer in ("sgd", "momentum", "adam"):
        for init in ("gentle", "confident"):
            result = compare("digits", ("ce", "mse", "mse-logits", "scalar"), init=init, optimizer=optimizer,
                             seeds=1, epochs=30, tune_lr=True)
            out[f"{optimizer}/{init}"] = result["tuning"]["losses"]
            print(f"  {optimizer:8s} {init:9s} chosen: {result['config']['lr']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", default=["speed"], choices=("speed", "table", "peer", "tune"))
    parser.add_argument("--json", default=None, help="also save the measured numbers to this file")
    args = parser.parse_args()
    results = {section: globals()[section]() for section in args.sections}
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
