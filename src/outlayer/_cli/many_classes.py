"""``outlayer many-classes``: CE and the square loss on 100 classes, with and without Hui & Belkin's k, M."""

from __future__ import annotations

import argparse
from typing import Any

from outlayer._cli import positive_float, positive_int
from outlayer._cli._lab import add_common, config_from, execute, guard_training

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Every default and choice is :class:`outlayer.lab.many_classes.ManyClassesConfig`'s."""
    from outlayer.lab.many_classes import ManyClassesConfig

    d, choices = ManyClassesConfig(), ManyClassesConfig.CHOICES
    parser.add_argument("--variants", nargs="+", choices=choices["variants"], default=None, metavar="VARIANT",
                        help="losses and rescalings: " + ", ".join(repr(v) for v in choices["variants"]) + " (default all)")
    parser.add_argument("--optimizer", nargs="+", choices=choices["optimizers"], default=None, metavar="OPT",
                        help=f"default {' '.join(d.optimizers)}")
    parser.add_argument("--classes", type=positive_int, default=None, metavar="K",
                        help=f"classes of the synthetic task (default {d.n_classes})")
    parser.add_argument("--per-class", type=positive_int, default=None, metavar="N",
                        help=f"samples per class (default {d.per_class})")
    parser.add_argument("--spread", type=positive_float, default=None,
                        help=f"standard deviation of the class means, in units of the noise (default {d.spread:g})")
    add_common(parser, ManyClassesConfig)


def run(args: argparse.Namespace) -> int:
    from outlayer.lab import many_classes

    config = config_from(many_classes.ManyClassesConfig, args, {
        "variants": tuple(args.variants) if args.variants else None,
        "optimizers": tuple(args.optimizer) if args.optimizer else None,
        "n_classes": args.classes, "per_class": args.per_class, "spread": args.spread})
    def guard(_: Any) -> None:
        from outlayer import _guards

        samples = config.n_classes * config.per_class
        _guards.check_dataset(samples * config.n_features, f"a synthetic task of {samples} x {config.n_features} values",
                              "--classes or --per-class")
        guard_training(n_features=config.n_features, n_outputs=config.n_classes, n_samples=samples,
                       optimizers=config.optimizers, epochs=config.epochs,
                       runs=len(config.variants) * len(config.optimizers) * config.seeds)

    return execute(args, config, many_classes.run, many_classes.summary_lines, guard=guard)
