"""``outlayer sweep``: test accuracy against the initial logit scale, per loss and optimiser."""

from __future__ import annotations

import argparse
from typing import Any

from outlayer._cli import positive_float
from outlayer._cli._lab import add_common, config_from, execute, guard_training

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Every default and choice is :class:`outlayer.lab.sweep.SweepConfig`'s."""
    from outlayer.lab.sweep import SweepConfig

    d, choices = SweepConfig(), SweepConfig.CHOICES
    parser.add_argument("--logit-std", type=positive_float, nargs="+", default=None, metavar="STD",
                        help="standard deviations of the initial logits (default "
                             + " ".join(f"{s:g}" for s in d.logit_stds) + ")")
    parser.add_argument("--losses", nargs="+", choices=choices["losses"], default=None, metavar="LOSS",
                        help=f"among {', '.join(choices['losses'])} (default {' '.join(d.losses)})")
    parser.add_argument("--optimizer", nargs="+", choices=choices["optimizers"], default=None, metavar="OPT",
                        help=f"among {', '.join(choices['optimizers'])} (default {' '.join(d.optimizers)})")
    parser.add_argument("--dataset", default=None, help=f"dataset (default {d.dataset})")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="one learning rate for every point (default: the rate tuned for each point)")
    parser.add_argument("--tune-lr", action="store_true",
                        help="tune every point's rate now, by the procedure of the stored defaults (slow)")
    add_common(parser, SweepConfig)


def run(args: argparse.Namespace) -> int:
    from outlayer.lab import sweep

    config = config_from(sweep.SweepConfig, args, {
        "logit_stds": tuple(args.logit_std) if args.logit_std else None,
        "losses": tuple(args.losses) if args.losses else None,
        "optimizers": tuple(args.optimizer) if args.optimizer else None,
        "dataset": args.dataset, "lr": args.lr, "tune_lr": args.tune_lr or None})
    def guard(data: Any) -> None:
        guard_training(n_features=data.n_features, n_outputs=data.n_classes, n_samples=len(data.y_train),
                       optimizers=config.optimizers, epochs=config.epochs,
                       runs=len(config.logit_stds) * len(config.losses) * len(config.optimizers) * config.seeds)

    return execute(args, config, sweep.run, sweep.summary_lines, dataset=config.dataset, guard=guard)
