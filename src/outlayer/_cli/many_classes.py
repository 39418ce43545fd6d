"""``outlayer many-classes``: CE and the square loss on 100 classes, with and without Hui & Belkin's k, M."""

from __future__ import annotations

import argparse
import time

from outlayer._cli import positive_float, positive_int
from outlayer._cli._lab import add_common, config_from, emit

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

    started = time.perf_counter()
    config = config_from(many_classes.ManyClassesConfig, args, {
        "variants": tuple(args.variants) if args.variants else None,
        "optimizers": tuple(args.optimizer) if args.optimizer else None,
        "n_classes": args.classes, "per_class": args.per_class, "spread": args.spread})
    return emit(many_classes.run(config, out_dir=args.out), args, many_classes.summary_lines, started)
