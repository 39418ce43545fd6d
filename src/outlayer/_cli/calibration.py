"""``outlayer calibration``: temperature scaling for every loss, ECE's noise floor, an overconfident start."""

from __future__ import annotations

import argparse
from typing import Any

from outlayer._cli import positive_int
from outlayer._cli._lab import add_common, config_from, execute, guard_training

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Every default and choice is :class:`outlayer.lab.calibration.CalibrationConfig`'s."""
    from outlayer.lab.calibration import CalibrationConfig

    d, choices = CalibrationConfig(), CalibrationConfig.CHOICES
    parser.add_argument("--losses", nargs="+", choices=choices["losses"], default=None, metavar="LOSS",
                        help=f"losses trained from the gentle start (default {' '.join(d.losses)})")
    parser.add_argument("--optimizer", choices=choices["optimizer"], default=None,
                        help=f"default {d.optimizer}")
    parser.add_argument("--dataset", default=None, help=f"dataset (default {d.dataset})")
    parser.add_argument("--no-confident", action="store_true",
                        help="skip the overconfident baseline (CE and CE + smoothing from the confident start)")
    parser.add_argument("--noise-resamples", type=positive_int, default=None, metavar="N",
                        help=f"redraws of a calibrated model per run for ECE's noise floor (default {d.noise_resamples})")
    add_common(parser, CalibrationConfig)


def run(args: argparse.Namespace) -> int:
    from outlayer.lab import calibration

    config = config_from(calibration.CalibrationConfig, args, {
        "losses": tuple(args.losses) if args.losses else None, "optimizer": args.optimizer, "dataset": args.dataset,
        "confident": False if args.no_confident else None, "noise_resamples": args.noise_resamples})
    def guard(data: Any) -> None:
        runs = (len(config.losses) + (2 if config.confident else 0)) * config.seeds
        guard_training(n_features=data.n_features, n_outputs=data.n_classes, n_samples=len(data.y_train),
                       optimizers=(config.optimizer,), epochs=config.epochs, runs=runs)

    return execute(args, config, calibration.run, calibration.summary_lines, dataset=config.dataset, guard=guard)
