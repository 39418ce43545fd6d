"""``outlayer priors``: on imbalanced classes, how long each loss lingers at the class priors."""

from __future__ import annotations

import argparse
from typing import Any

from outlayer._cli import positive_float
from outlayer._cli._lab import add_common, config_from, execute, guard_training

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Every default and choice is :class:`outlayer.lab.priors.PriorsConfig`'s."""
    from outlayer.lab.priors import PriorsConfig

    d, choices = PriorsConfig(), PriorsConfig.CHOICES
    parser.add_argument("--ratio", type=positive_float, default=None,
                        help=f"share of the rarest class's samples kept, in (0, 1] (default {d.ratio:g})")
    parser.add_argument("--tolerance", type=positive_float, default=None,
                        help=f"a class is at its prior when its own-sample output is within this of it (default {d.tolerance:g})")
    parser.add_argument("--optimizer", choices=choices["optimizer"], default=None, help=f"default {d.optimizer}")
    add_common(parser, PriorsConfig)


def run(args: argparse.Namespace) -> int:
    from outlayer.lab import priors

    config = config_from(priors.PriorsConfig, args, {"ratio": args.ratio, "tolerance": args.tolerance,
                                                     "optimizer": args.optimizer})
    def guard(_: Any) -> None:  # digits: 64 features, 10 classes, at most its 1078 training samples
        guard_training(n_features=64, n_outputs=10, n_samples=1078, optimizers=(config.optimizer,),
                       epochs=config.epochs, runs=len(priors.LOSSES) * config.seeds)

    return execute(args, config, priors.run, priors.summary_lines, guard=guard)
