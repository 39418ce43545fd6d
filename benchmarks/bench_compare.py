"""Measurements of the training lab. Not a test: it times, tunes and measures.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py speed          # the lab's speed
    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py tune --write   # regenerate default_lr.json
    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py goal           # defaults on 10 seeds
    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py readme --write # the README's lab tables
    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py adam           # the Adam measurement
    PYTHONPATH=src .venv/bin/python benchmarks/bench_compare.py peer           # ce + Adam vs MLPClassifier

``tune`` runs :func:`outlayer.experiments.tune_learning_rates` (the procedure of ``compare
--tune-lr``) for every optimiser, start and loss on digits, two processes at a time, and with
``--write`` stores the result in ``src/outlayer/default_lr.json``: the chosen rates, the
validation-accuracy curve behind each, the procedure and this command. ``--json FILE`` saves
any section's numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from outlayer.catalogue import LAB_LOSSES
from outlayer.config import LR_GRID, CompareConfig, tuning_procedure
from outlayer.data import Dataset, load_dataset
from outlayer.experiments import (
    DEFAULT_LR_FILE,
    _data_source,
    _one_blas_thread,
    compare,
    train_epoch,
)
from outlayer.nets import INITS, init_network, make_head
from outlayer.optim import make_optimizer
from outlayer.stats import mean_ci95

TUNE_COMMAND = "PYTHONPATH=src python benchmarks/bench_compare.py tune --write"


def _fmt(stats: dict[str, Any], digits: int = 3) -> str:
    if stats["mean"] is None:
        return "-"
    if stats["ci95"] is None:
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f} [{stats['ci95'][0]:.{digits}f}, {stats['ci95'][1]:.{digits}f}]"


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())}


def speed() -> dict[str, Any]:
    """compare()'s default (digits, ce + mse, 10 seeds x 20 epochs); one epoch over 60000 x 784."""
    load_dataset("digits")  # warm the scikit-learn import and the file cache: time training only
    start, cpu_start = time.perf_counter(), time.process_time()
    compare("digits")
    default_s, default_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start

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
    result = {"compare_default": {"wall_s": default_s, "cpu_s": default_cpu_s},
              "epoch_60000x784_hidden64_batch32": timings, **_machine()}
    config = CompareConfig()
    print(f"outlayer compare (defaults: {config.dataset}, {' '.join(config.losses)}, {config.seeds} seeds x "
          f"{config.epochs} epochs): {default_s:.2f} s wall, {default_cpu_s:.2f} s CPU")
    for label, seconds in timings.items():
        print(f"one epoch over 60000 x 784, hidden 64, batch 32 (1875 steps), {label}: "
              f"{seconds['wall_s']:.2f} s wall, {seconds['cpu_s']:.2f} s CPU")
    print(f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f})")
    return result


def _tune_cell(job: tuple[str, str, str]) -> tuple[tuple[str, str, str], dict[str, Any], float]:
    optimizer, init, loss = job
    config = CompareConfig(losses=(loss,), init=init, optimizer=optimizer, tune_lr=True)
    start = time.process_time()
    table = _tune_with(config)
    return job, table, time.process_time() - start


def _tune_with(config: CompareConfig) -> dict[str, Any]:
    from outlayer.experiments import tune_learning_rates

    return tune_learning_rates(config, _data_source(config.dataset, config))


def tune(write: bool = False, workers: int = 2) -> dict[str, Any]:
    """The default learning rates: compare --tune-lr's procedure for every optimiser, start and loss."""
    defaults = CompareConfig()
    jobs = [(optimizer, init, loss) for optimizer in LR_GRID for init in INITS for loss in LAB_LOSSES]
    tables: dict[str, dict[str, Any]] = {optimizer: {init: None for init in INITS} for optimizer in LR_GRID}
    started = time.perf_counter()
    cpu = 0.0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for (optimizer, init, loss), table, seconds in pool.map(_tune_cell, jobs):
            cpu += seconds
            cell = tables[optimizer][init]
            if cell is None:
                cell = tables[optimizer][init] = {**table, "losses": {}}
            entry = table["losses"][loss]
            cell["losses"][loss] = entry
            curve = ", ".join(f"{row['lr']:g}:{row['median']:.3f}"
                              + (f"({row['diverged']}x{row['collapsed']}c)" if row["diverged"] + row["collapsed"] else "")
                              for row in entry["rows"])
            print(f"{optimizer:8s} {init:9s} {loss:10s} -> {entry['chosen']:<7g} {curve}", flush=True)
    rates = {optimizer: {init: {loss: tables[optimizer][init]["losses"][loss]["chosen"] for loss in LAB_LOSSES}
                         for init in INITS} for optimizer in LR_GRID}
    procedure = tuning_procedure(defaults)
    out = {"command": TUNE_COMMAND, "procedure": procedure, "grids": {k: list(v) for k, v in LR_GRID.items()},
           "rates": rates, "tables": tables,
           "cost": {"wall_s": time.perf_counter() - started, "cpu_s": cpu, "workers": workers, **_machine()}}
    print(f"tuned {len(jobs)} (optimizer, start, loss) cells in {out['cost']['wall_s']:.0f} s wall, {cpu:.0f} s CPU")
    if write:
        stored = {k: v for k, v in out.items() if k != "cost"}  # the cost varies from run to run
        DEFAULT_LR_FILE.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {DEFAULT_LR_FILE}")
    return out


def goal(seeds: int = 10) -> dict[str, Any]:
    """The goal of the defaults: gentle start, SGD, every loss, 10 seeds, none collapses, all near the median."""
    result = compare("digits", LAB_LOSSES, init="gentle", optimizer="sgd", seeds=seeds)
    out = {}
    for loss, entry in result["summary"].items():
        finals = [r["final"]["test_accuracy"] for r in result["runs"] if r["loss"] == loss]
        median = float(np.median([f for f in finals if f is not None]))
        worst = max(abs(f - median) for f in finals if f is not None)
        out[loss] = {"lr": entry["lr"], "median": median, "max_distance_from_median": worst, "finals": finals,
                     "collapsed": entry["collapsed"], "diverged": entry["diverged"]}
        print(f"{loss:10s} lr {entry['lr']:<6g} median {median:.3f}  farthest seed {worst:.3f} from it  "
              f"collapsed {entry['collapsed']}  diverged {entry['diverged']}  "
              f"{'ok' if worst <= 0.05 and not entry['collapsed'] and not entry['diverged'] else 'FAILS'}")
    return out


def readme(write: bool = False) -> dict[str, Any]:
    """The README's lab tables, each computed by the command printed beside it."""
    from pathlib import Path

    from outlayer import lab_tables

    path = Path(__file__).resolve().parents[1] / "README.md"
    text = path.read_text(encoding="utf-8")
    blocks = lab_tables.compute_blocks()
    for name, block in blocks.items():
        print(f"--- {name}\n{block}")
    if write:
        path.write_text(lab_tables.replace_blocks(text, blocks), encoding="utf-8")
        print(f"updated {path}")
    return blocks


def adam() -> dict[str, Any]:
    """Adam's first step against the gradient scale and eps: the toy corner and the network."""
    from outlayer import probes

    result = probes.measure()
    for line in probes.summary_lines(result):
        print(line)
    return result


def peer(seeds: int = 10) -> dict[str, Any]:
    """``ce`` + Adam (gentle start) against scikit-learn's MLPClassifier: same split, width, batch, epochs."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    data: Dataset = load_dataset("digits")
    ours = compare(data, ("ce",), init="gentle", optimizer="adam", seeds=seeds)
    lr, epochs = ours["config"]["lr"]["ce"], ours["config"]["epochs"]
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
    print(f"digits (split 0 for both), hidden 64 sigmoid/logistic, Adam lr {lr:g}, batch 32, {epochs} epochs, "
          f"{seeds} seeds:")
    print(f"  outlayer ce            test accuracy {_fmt(ours['summary']['ce']['test_accuracy'])}")
    print(f"  sklearn MLPClassifier  test accuracy {_fmt(theirs)}")
    return {"outlayer_ce_adam": ours["summary"]["ce"]["test_accuracy"], "sklearn_mlp": theirs, "lr": lr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", default=["speed"],
                        choices=("speed", "tune", "goal", "readme", "adam", "peer"))
    parser.add_argument("--write", action="store_true", help="tune: store default_lr.json; readme: update README.md")
    parser.add_argument("--json", default=None, help="also save the measured numbers to this file")
    args = parser.parse_args()
    results = {}
    for section in args.sections:
        function = globals()[section]
        results[section] = function(write=args.write) if section in ("tune", "readme") else function()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
