"""``outlayer compare``: train the seeds' network with each loss on real data and compare.

Prints a summary table (or, with ``--json``, the object :func:`outlayer.experiments.compare`
returns); ``--out DIR`` also writes per-epoch records (JSON + CSV) and the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from outlayer._cli import UsageError, check_label_column, float_in, logit_float, non_negative_int, positive_float, positive_int, start_work

__all__ = ["configure", "format_summary", "run", "validate"]

#: The argument type of each loss option of the catalogue (:mod:`outlayer.catalogue`): each names its flag.
_OPTION_TYPES = {"label_smoothing": float_in(0.0, 1.0), "true_class_weight": positive_float,
                 "true_class_target": logit_float}


def configure(parser: argparse.ArgumentParser) -> None:
    """Every default and every choice is :class:`outlayer.config.CompareConfig`'s."""
    from outlayer.catalogue import CATALOGUE
    from outlayer.config import CompareConfig

    defaults, choices = CompareConfig(), CompareConfig.CHOICES
    parser.add_argument("--dataset", default=defaults.dataset,
                        help=f"digits, iris, wine, synthetic, ordinal, or a .csv / .npz file (default {defaults.dataset})")
    parser.add_argument("--label-column", default=None, metavar="NAME|INDEX",
                        help="CSV: the column holding the labels (default: the last one)")
    parser.add_argument("--losses", nargs="+", default=list(defaults.losses), choices=choices["losses"], metavar="LOSS",
                        help=f"losses to compare, among {', '.join(choices['losses'])} (default: {' '.join(defaults.losses)})")
    parser.add_argument("--init", default=defaults.init, choices=choices["init"],
                        help="gentle: standard small output weights; confident: initial logits with std "
                             f"{defaults.confident_std:g} (default {defaults.init})")
    parser.add_argument("--optimizer", default=defaults.optimizer, choices=choices["optimizer"],
                        help=f"default {defaults.optimizer}")
    parser.add_argument("--seeds", type=positive_int, default=defaults.seeds,
                        help=f"runs per loss (default {defaults.seeds})")
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs,
                        help=f"epochs per run (default {defaults.epochs})")
    parser.add_argument("--lr", type=positive_float, nargs="+", default=None, metavar="LR",
                        help="learning rate: one for all losses, or one per loss (default: the stored tuned rates)")
    parser.add_argument("--tune-lr", action="store_true",
                        help="pick each loss's rate by the procedure of the defaults: a log grid, the median validation "
                             f"accuracy over tuning seeds {', '.join(map(str, defaults.tuning_seeds))}, the same epochs")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=list(defaults.hidden), metavar="WIDTH",
                        help="hidden layer widths (default: one layer of 64)")
    parser.add_argument("--activation", default=defaults.activation, choices=choices["activation"])
    parser.add_argument("--batch-size", type=positive_int, default=defaults.batch_size)
    parser.add_argument("--target-accuracy", type=float_in(0.0, 1.0, low_open=True), default=defaults.target_accuracy,
                        help=f"report the first epoch reaching this test accuracy, in (0, 1] (default {defaults.target_accuracy:g})")
    parser.add_argument("--split-seeds", action=argparse.BooleanOptionalAction, default=defaults.split_seeds,
                        help="each seed also draws its own train/validation/test split (seed s: split "
                             "--split-seed + s); --no-split-seeds keeps one split (default: on)")
    parser.add_argument("--split-seed", type=non_negative_int, default=defaults.split_seed,
                        help="seed of the train/validation/test split (the first one, with --split-seeds), an integer >= 0 "
                             f"(default {defaults.split_seed})")
    options = {option.name: (loss, option) for loss, entry in CATALOGUE.items() for option in entry.options}
    for name, (loss, option) in options.items():
        parser.add_argument(option.flag, dest=name, type=_OPTION_TYPES[name], default=None,
                            help=f"{loss}: {option.help} (default {option.default:g})")
    parser.add_argument("--quick", action="store_true",
                        help=f"small settings for a smoke test: {CompareConfig.QUICK['seeds']} seeds, "
                             f"{CompareConfig.QUICK['epochs']} epochs")
    from outlayer._cli.pretrain import parse_pretrain

    parser.add_argument("--pretrain", type=parse_pretrain, default=None, metavar="LOSS:EPOCHS",
                        help="Golik et al. 2013: the first EPOCHS of the --epochs train with LOSS (ce:5), then each other "
                             "loss continues; compared per seed with LOSS continued and the loss from scratch "
                             "(outlayer.lab.pretrain; --json prints that experiment's result)")
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


def _aligned(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


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
        f"val / {config['dataset']['n_test']} test, {config['dataset']['n_classes']} classes, split {config['split']}), "
        f"{config['init']} start, {config['optimizer']}, hidden {config['hidden']} {config['activation']}, "
        f"{len(config['seeds'])} seeds x {config['epochs']} epochs, lr {config['lr_source']}",
    ]
    header = ("loss", "lr", "test accuracy [95% CI]", "test-set SE", "test NLL", "ECE",
              f"epochs to {config['target_accuracy']:g}", "|dL/dz| wrong", "failed runs")
    rows = [header]
    for loss, entry in result["summary"].items():
        reach = entry["epochs_to_target"]
        reached = f"{reach['mean']:.1f} ({reach['reached']}/{reach['runs']})" if reach["mean"] is not None else \
            f"never (0/{reach['runs']})"
        se = entry["test_accuracy_binomial_se"]
        failed = ", ".join(f"{entry[kind]} {kind}" for kind in ("collapsed", "diverged") if entry[kind]) or "none"
        rows.append((loss, f"{entry['lr']:g}", _cell(entry["test_accuracy"]), "-" if se is None else f"{se:.3f}",
                     _cell(entry["test_nll"]), _cell(entry["test_ece"]), reached, _cell(entry["grad_misclassified"]),
                     failed))
    lines.extend(_aligned(rows))
    paired = result.get("paired") or {}
    if paired:
        lines.append("paired over seeds (same start and split per seed), a - b: mean [95% paired t] (bootstrap)")
        rows = [("a - b", "test accuracy", "test NLL", "ECE")]
        for name, entry in paired.items():
            cells = []
            for metric in ("test_accuracy", "test_nll", "test_ece"):
                stats = entry[metric]
                boot = stats["bootstrap_ci95"]
                cells.append(_cell({"mean": stats["mean"], "ci95": stats["t_ci95"]})
                             + (f" ({boot[0]:.3f}, {boot[1]:.3f})" if boot else ""))
            rows.append((name, *cells))
        lines.extend(_aligned(rows))
    lines += _divergence_lines(result)
    if result.get("tuning"):
        tuning = result["tuning"]
        seeds = ", ".join(map(str, tuning["procedure"]["tuning_seeds"]))
        lines.append(f"learning rates tuned: median validation accuracy over tuning seeds {seeds} at each rate "
                     "(x: seeds diverged, c: seeds collapsed to one class; * chosen)")
        for loss, entry in tuning["losses"].items():
            cells = []
            for row in entry["rows"]:
                marks = (f" {row['diverged']}x" if row["diverged"] else "") + (f" {row['collapsed']}c" if row["collapsed"] else "")
                cells.append(f"{'*' if row['lr'] == entry['chosen'] else ''}{row['lr']:g}: {row['median']:.3f}{marks}")
            lines.append(f"  {loss}: " + ", ".join(cells))
    if result.get("figures"):
        lines.append(f"wrote {len(result['figures'])} figure files and {len(result['files'])} record files")
    if elapsed is not None:
        lines.append(f"took {elapsed:.1f} s")
    return "\n".join(lines)


def validate(args: argparse.Namespace) -> dict[str, Any]:
    """Check every option and load the dataset before any training; return compare's arguments.

    The dataset is loaded here once (a bad file fails in one line, naming what to fix) so that the
    network's memory can be estimated from its shape and refused beyond the limit; compare() then
    loads each seed's own split (``--split-seeds``) by name.
    """
    from outlayer import _guards
    from outlayer.catalogue import CATALOGUE
    from outlayer.config import LR_GRID, CompareConfig
    from outlayer.data import load_dataset_for

    seeds, epochs = ((CompareConfig.QUICK["seeds"], CompareConfig.QUICK["epochs"]) if args.quick
                     else (args.seeds, args.epochs))
    losses = tuple(dict.fromkeys(args.losses))
    if args.lr is not None and len(args.lr) not in (1, len(losses)):
        raise UsageError(f"--lr takes one value or one per loss ({len(losses)}), got {len(args.lr)}")
    if args.lr is not None and args.tune_lr:
        raise UsageError("--lr and --tune-lr exclude each other: give learning rates or tune them")
    options: dict[str, Any] = {"hidden": tuple(args.hidden), "activation": args.activation,
                               "batch_size": args.batch_size, "target_accuracy": args.target_accuracy,
                               "split_seed": args.split_seed, "split_seeds": args.split_seeds,
                               "label_column": args.label_column}
    for loss, entry in CATALOGUE.items():
        for option in entry.options:
            value = getattr(args, option.name)
            if value is not None:
                if loss not in losses:
                    raise UsageError(f"{option.flag} applies to {loss}, which is not in --losses")
                options[option.name] = value
    if args.out is not None:
        _guards.check_output_dir(args.out, "--out")
    check_label_column(args.dataset, args.label_column)
    data = load_dataset_for(("--dataset", "--label-column"), args.dataset, label_column=args.label_column,
                            split_seed=args.split_seed)
    runs = len(losses) * (seeds + (len(LR_GRID[args.optimizer]) if args.tune_lr else 0))
    _guards.check_network(n_features=data.n_features, hidden=args.hidden, n_outputs=max(data.n_classes, 1),
                          n_samples=len(data.y_train), batch_size=args.batch_size, optimizer=args.optimizer,
                          epochs=epochs, runs=runs,
                          names={"hidden": "--hidden", "batch_size": "--batch-size", "epochs": "--epochs"})
    lr = None if args.lr is None else (args.lr[0] if len(args.lr) == 1 else tuple(args.lr))
    return {"dataset": args.dataset, "losses": losses, "init": args.init, "optimizer": args.optimizer,
            "seeds": seeds, "epochs": epochs, "lr": lr, "tune_lr": args.tune_lr, "out_dir": args.out, **options}


def run(args: argparse.Namespace) -> int:
    if args.pretrain is not None:  # Golik et al.: the lab's CE-then-MSE experiment (outlayer.lab.pretrain)
        from outlayer._cli import pretrain

        return pretrain.run(args)
    from outlayer._io import json_dumps
    from outlayer.experiments import compare

    options = validate(args)
    start_work()
    start = time.perf_counter()
    result = compare(options.pop("dataset"), progress=not args.no_progress, **options)
    elapsed = time.perf_counter() - start
    if args.json:
        sys.stdout.write(json_dumps(result) + "\n")
    else:
        sys.stdout.write(format_summary(result, elapsed) + "\n")
    return 0
