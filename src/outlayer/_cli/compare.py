"""``outlayer compare``: train the seeds' network with each loss on real data and compare.

Prints a summary table (or, with ``--json``, the object :func:`outlayer.experiments.compare`
returns); ``--out DIR`` also writes per-epoch records (JSON + CSV) and the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from outlayer._cli import (UsageError, check_label_column, float_in, logit_float, non_negative_int, positive_float, positive_int,
                           start_work)

__all__ = ["configure", "format_summary", "run"]

_LOSSES = ("ce", "mse", "mse-logits", "ce-smooth", "scalar")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="digits",
                        help="digits (default), iris, wine, synthetic, ordinal, or a .csv / .npz file")
    parser.add_argument("--label-column", default=None, metavar="NAME|INDEX",
                        help="CSV: the column holding the labels (default: the last one)")
    parser.add_argument("--losses", nargs="+", default=["ce", "mse"], choices=_LOSSES, metavar="LOSS",
                        help=f"losses to compare, among {', '.join(_LOSSES)} (default: ce mse)")
    parser.add_argument("--init", default="confident", choices=("gentle", "confident"),
                        help="gentle: standard small output weights; confident: initial logits with std 30")
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "momentum", "adam"))
    parser.add_argument("--seeds", type=positive_int, default=5, help="runs per loss (default 5)")
    parser.add_argument("--epochs", type=positive_int, default=30, help="epochs per run (default 30)")
    parser.add_argument("--lr", type=positive_float, nargs="+", default=None, metavar="LR",
                        help="learning rate: one for all losses, or one per loss (default: per-loss defaults)")
    parser.add_argument("--tune-lr", action="store_true",
                        help="pick each loss's learning rate from a grid on the validation split")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[64], metavar="WIDTH",
                        help="hidden layer widths (default: one layer of 64)")
    parser.add_argument("--activation", default="sigmoid", choices=("sigmoid", "relu"))
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--target-accuracy", type=float_in(0.0, 1.0, low_open=True), default=0.9,
                        help="report the first epoch reaching this test accuracy, in (0, 1] (default 0.9)")
    parser.add_argument("--split-seed", type=non_negative_int, default=0,
                        help="seed of the train/validation/test split, an integer >= 0 (default 0)")
    parser.add_argument("--smoothing", type=float_in(0.0, 1.0), default=None,
                        help="ce-smooth: label smoothing in [0, 1] (default 0.1)")
    parser.add_argument("--mse-k", type=positive_float, default=None,
                        help="mse-logits: weight k of the true class's term (Hui & Belkin)")
    parser.add_argument("--mse-m", type=logit_float, default=None,
                        help="mse-logits: target M of the true class (Hui & Belkin)")
    parser.add_argument("--quick", action="store_true", help="small settings for a smoke test: 2 seeds, 5 epochs")
    parser.add_argument("--out", default=None, metavar="DIR", help="write records and figures to DIR")
    parser.add_argument("--json", action="store_true", help="print the full result as one JSON object")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")


def _number(value: float, digits: int) -> str:
    """Fixed point for ordinary values; 3 significant digits beyond 1e6 (a blown-up NLL is not 300 digits)."""
    return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.3g}"


def _cell(stats: dict[str, Any], digits: int = 3) -> str:
    if stats["mean"] is None:
        return "-"
    text = _number(stats["mean"], digits)
    if stats["ci95"] is not None:
        text += f" [{_number(stats['ci95'][0], digits)}, {_number(stats['ci95'][1], digits)}]"
    return text


#: A mean test NLL above this means the network gives the true class a probability below e^-100:
#: near-certain wrong answers, the mark of weights that blew up without overflowing.
_BLOWN_UP_NLL = 100.0


def _divergence_lines(result: dict[str, Any]) -> list[str]:
    """One line per loss whose runs diverged (weights overflowed) or blew up (astronomical NLL)."""
    lines = []
    for loss, entry in result["summary"].items():
        runs = entry["epochs_to_target"]["runs"]
        if entry.get("diverged"):
            lines.append(f"{loss}: {entry['diverged']} of {runs} runs diverged at lr {entry['lr']:g} (the weights "
                         "overflowed); the table leaves them out: try a smaller --lr")
        nll = entry["test_nll"]["mean"]
        if nll is not None and nll > _BLOWN_UP_NLL:
            lines.append(f"{loss}: test NLL {nll:.3g} means near-certain wrong answers: the weights blew up at "
                         f"lr {entry['lr']:g}; try a smaller --lr")
    return lines


def format_summary(result: dict[str, Any], elapsed: float | None = None) -> str:
    """The human-readable table: one row per loss, means with their 95 % intervals."""
    config = result["config"]
    lines = [
        f"dataset {config['dataset']['name']} ({config['dataset']['n_train']} train / {config['dataset']['n_val']} "
        f"val / {config['dataset']['n_test']} test, {config['dataset']['n_classes']} classes), {config['init']} start, "
        f"{config['optimizer']}, hidden {config['hidden']} {config['activation']}, {len(config['seeds'])} seeds x "
        f"{config['epochs']} epochs, lr {config['lr_source']}",
    ]
    header = ("loss", "lr", "test accuracy [95% CI]", "test NLL", "ECE", f"epochs to {config['target_accuracy']:g}",
              "|dL/dz| wrong")
    rows = [header]
    for loss, entry in result["summary"].items():
        reach = entry["epochs_to_target"]
        reached = f"{reach['mean']:.1f} ({reach['reached']}/{reach['runs']})" if reach["mean"] is not None else \
            f"never (0/{reach['runs']})"
        rows.append((loss, f"{entry['lr']:g}", _cell(entry["test_accuracy"]), _cell(entry["test_nll"]),
                     _cell(entry["test_ece"]), reached, _cell(entry["grad_misclassified"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    lines += _divergence_lines(result)
    if result.get("tuning"):
        lines.append("learning rates tuned on the validation split: " +
                     ", ".join(f"{loss} {rate:g}" for loss, rate in config["lr"].items()))
    if result.get("figures"):
        lines.append(f"wrote {len(result['figures'])} figure files and {len(result['files'])} record files")
    if elapsed is not None:
        lines.append(f"took {elapsed:.1f} s")
    return "\n".join(lines)


def validate(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """Check every option and load the dataset before any training; return (dataset, compare's options).

    The dataset is loaded here (a bad file fails in one line, naming what to fix) and handed to
    :func:`outlayer.experiments.compare` as a :class:`~outlayer.data.Dataset`; the network's memory
    is estimated from the dataset's shape and the options, and refused beyond the limit.
    """
    from outlayer import _guards
    from outlayer.data import load_dataset_for
    from outlayer.experiments import LR_GRID

    seeds, epochs = (2, 5) if args.quick else (args.seeds, args.epochs)
    losses = tuple(dict.fromkeys(args.losses))
    if args.lr is not None and len(args.lr) not in (1, len(losses)):
        raise UsageError(f"--lr takes one value or one per loss ({len(losses)}), got {len(args.lr)}")
    if args.lr is not None and args.tune_lr:
        raise UsageError("--lr and --tune-lr exclude each other: give learning rates or tune them")
    options: dict[str, Any] = {"hidden": tuple(args.hidden), "activation": args.activation,
                               "batch_size": args.batch_size, "target_accuracy": args.target_accuracy,
                               "split_seed": args.split_seed}
    for flag, key, loss in (("smoothing", "label_smoothing", "ce-smooth"), ("mse_k", "true_class_weight", "mse-logits"),
                            ("mse_m", "true_class_target", "mse-logits")):
        value = getattr(args, flag)
        if value is not None:
            if loss not in losses:
                raise UsageError(f"--{flag.replace('_', '-')} applies to {loss}, which is not in --losses")
            options[key] = value
    if args.out is not None:
        _guards.check_output_dir(args.out, "--out")
    check_label_column(args.dataset, args.label_column)
    data = load_dataset_for(("--dataset", "--label-column"), args.dataset, label_column=args.label_column,
                            split_seed=args.split_seed)
    runs = len(losses) * (seeds + (len(LR_GRID[args.optimizer]) if args.tune_lr else 0))
    n_outputs = max(data.n_classes, 1)
    _guards.check_network(n_features=data.n_features, hidden=args.hidden, n_outputs=n_outputs,
                          n_samples=len(data.y_train), batch_size=args.batch_size, optimizer=args.optimizer,
                          epochs=epochs, runs=runs,
                          names={"hidden": "--hidden", "batch_size": "--batch-size", "epochs": "--epochs"})
    lr = args.lr if args.lr is None or len(args.lr) > 1 else args.lr[0]
    return data, {"losses": losses, "init": args.init, "optimizer": args.optimizer, "seeds": seeds,
                  "epochs": epochs, "lr": lr, "tune_lr": args.tune_lr, "out_dir": args.out, **options}


def run(args: argparse.Namespace) -> int:
    from outlayer._io import json_dumps
    from outlayer.experiments import compare

    data, options = validate(args)
    start_work()
    start = time.perf_counter()
    result = compare(data, progress=not args.no_progress, **options)
    elapsed = time.perf_counter() - start
    if args.json:
        sys.stdout.write(json_dumps(result) + "\n")
    else:
        sys.stdout.write(format_summary(result, elapsed) + "\n")
    return 0
