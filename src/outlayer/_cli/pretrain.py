"""``outlayer compare --pretrain ce:EPOCHS``: CE first, then the chosen loss, against CE continued and the loss from scratch."""

from __future__ import annotations

import argparse
import time

from outlayer._cli import UsageError, start_work
from outlayer._cli._lab import emit

__all__ = ["parse_pretrain", "run"]

#: compare's options the experiment does not take: (flag, attribute); a value other than the default is refused.
UNSUPPORTED: tuple[tuple[str, str], ...] = (
    ("--hidden", "hidden"), ("--activation", "activation"), ("--batch-size", "batch_size"),
    ("--target-accuracy", "target_accuracy"), ("--split-seed", "split_seed"), ("--split-seeds", "split_seeds"),
    ("--label-column", "label_column"), ("--smoothing", "label_smoothing"), ("--mse-k", "true_class_weight"),
    ("--mse-m", "true_class_target"), ("--quick", "quick"),
)


def parse_pretrain(text: str) -> tuple[str, int]:
    """An argparse type: ``LOSS:EPOCHS`` such as ``ce:5``."""
    from outlayer.catalogue import PLANE_LOSSES

    loss, sep, epochs = text.partition(":")
    if not sep or not epochs.strip().isdigit() or int(epochs) < 1:
        raise argparse.ArgumentTypeError(f"expected LOSS:EPOCHS such as ce:5, got {text!r}")
    if loss not in PLANE_LOSSES:
        raise argparse.ArgumentTypeError(f"unknown pretraining loss {loss!r} in {text!r}; choose from {', '.join(PLANE_LOSSES)}")
    return loss, int(epochs)


def _defaults(args: argparse.Namespace) -> dict[str, object]:
    from outlayer.config import CompareConfig

    d = CompareConfig()
    return {"hidden": list(d.hidden), "activation": d.activation, "batch_size": d.batch_size,
            "target_accuracy": d.target_accuracy, "split_seed": d.split_seed, "split_seeds": d.split_seeds,
            "label_column": None, "label_smoothing": None, "true_class_weight": None, "true_class_target": None,
            "quick": False}


def run(args: argparse.Namespace) -> int:
    """The Golik et al. comparison with ``compare``'s options (dataset, losses, start, optimiser, seeds, epochs, lr)."""
    from outlayer._cli.compare import validate
    from outlayer.lab import pretrain

    defaults = _defaults(args)
    given = [flag for flag, name in UNSUPPORTED if getattr(args, name, defaults[name]) != defaults[name]]
    if given:
        raise UsageError(f"--pretrain does not take {given[0]} (the experiment trains compare's default network)")
    if args.lr is not None and len(args.lr) != 1:
        raise UsageError(f"--pretrain takes one --lr (the continuation's rate), got {len(args.lr)}")
    loss, epochs = args.pretrain
    config = pretrain.PretrainConfig(losses=tuple(args.losses), pretrain_loss=loss, pretrain_epochs=epochs,
                                     epochs=args.epochs, init=args.init, optimizer=args.optimizer, seeds=args.seeds,
                                     dataset=args.dataset, lr=args.lr[0] if args.lr else None, tune_lr=args.tune_lr)
    validate(args)  # the dataset, the output folder and the memory of the runs, as plain compare checks them
    start_work()
    started = time.perf_counter()
    return emit(pretrain.run(config, out_dir=args.out), args, pretrain.summary_lines, started)
