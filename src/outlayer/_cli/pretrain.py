"""``outlayer compare --pretrain ce:EPOCHS``: CE first, then the chosen loss, against CE continued and the loss from scratch."""

from __future__ import annotations

import argparse
import time

from outlayer._cli._lab import emit

__all__ = ["parse_pretrain", "run"]


def parse_pretrain(text: str) -> tuple[str, int]:
    """An argparse type: ``LOSS:EPOCHS`` such as ``ce:5``."""
    from outlayer.catalogue import PLANE_LOSSES

    loss, sep, epochs = text.partition(":")
    if not sep or not epochs.strip().isdigit() or int(epochs) < 1:
        raise argparse.ArgumentTypeError(f"expected LOSS:EPOCHS such as ce:5, got {text!r}")
    if loss not in PLANE_LOSSES:
        raise argparse.ArgumentTypeError(f"unknown pretraining loss {loss!r} in {text!r}; choose from {', '.join(PLANE_LOSSES)}")
    return loss, int(epochs)


def run(args: argparse.Namespace) -> int:
    """The Golik et al. comparison with ``compare``'s options (losses, start, optimiser, seeds, epochs)."""
    from outlayer.cli import UsageError
    from outlayer.lab import pretrain

    loss, epochs = args.pretrain
    if args.quick:
        raise UsageError("--pretrain takes --seeds and --epochs, not --quick")
    if args.lr is not None and len(args.lr) != 1:
        raise UsageError(f"--pretrain takes one --lr (the continuation's rate), got {len(args.lr)}")
    started = time.perf_counter()
    config = pretrain.PretrainConfig(losses=tuple(args.losses), pretrain_loss=loss, pretrain_epochs=epochs,
                                     epochs=args.epochs, init=args.init, optimizer=args.optimizer, seeds=args.seeds,
                                     dataset=args.dataset, lr=args.lr[0] if args.lr else None, tune_lr=args.tune_lr)
    return emit(pretrain.run(config, out_dir=args.out), args, pretrain.summary_lines, started)
