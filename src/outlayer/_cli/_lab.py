"""What the commands of the lab's experiments share: --seeds/--epochs/--quick/--json/--out, checking
the input before any work (:mod:`outlayer._guards`), and printing the result."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from outlayer._cli import positive_int, start_work

__all__ = ["add_common", "config_from", "emit", "execute", "guard_training"]


def add_common(parser: argparse.ArgumentParser, config_cls: Any, *, seeds: bool = True) -> None:
    """--seeds, --epochs, --quick, --json and --out, with the defaults of ``config_cls``."""
    defaults = config_cls()
    if seeds:
        parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                            help=f"evaluation seeds 0..N-1 (default {defaults.seeds})")
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help=f"epochs per run (default {defaults.epochs})")
    quick = ", ".join(f"{k} {' '.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in config_cls.QUICK.items())
    parser.add_argument("--quick", action="store_true", help=f"a smoke test, not a measurement: {quick}")
    parser.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    parser.add_argument("--out", metavar="DIR", help="write the result (JSON) and its figures (PNG + SVG) to DIR")


def config_from(config_cls: Any, args: argparse.Namespace, options: Mapping[str, Any]) -> Any:
    """The config: ``options`` given on the command line over --quick's settings over the defaults."""
    chosen: dict[str, Any] = dict(config_cls.QUICK) if args.quick else {}
    for name in ("seeds", "epochs"):
        if getattr(args, name, None) is not None:
            chosen[name] = getattr(args, name)
    chosen.update({k: v for k, v in options.items() if v is not None})
    return config_cls(**chosen)


def guard_training(*, n_features: int, n_outputs: int, n_samples: int, optimizers: Any, epochs: int,
                   runs: int) -> None:
    """Refuse, in one line, training runs whose memory (weights, activations, history) exceeds the limit."""
    from outlayer import _guards
    from outlayer.config import CompareConfig

    for optimizer in optimizers:
        _guards.check_network(n_features=n_features, hidden=CompareConfig.hidden, n_outputs=n_outputs,
                              n_samples=n_samples, batch_size=CompareConfig.batch_size, optimizer=optimizer,
                              epochs=epochs, runs=runs, names={"hidden": "the hidden layer", "batch_size": "the batch",
                                                               "epochs": "--epochs"},
                              lower={"history": "--epochs or --seeds"})


def execute(args: argparse.Namespace, config: Any, run: Callable[..., dict[str, Any]],
            lines: Callable[[dict[str, Any]], list[str]], *, dataset: str | None = None,
            guard: Callable[[Any], None] | None = None) -> int:
    """Check the output folder, the dataset and the memory the runs need (``guard(data)``, data None
    without a dataset) before any work; then run the experiment and print its result."""
    from outlayer import _guards

    if args.out is not None:
        _guards.check_output_dir(args.out, "--out")
    data = None
    if dataset is not None:
        from outlayer.data import load_dataset_for

        data = load_dataset_for(("--dataset", "--label-column"), dataset)  # a bad name or file: one line
    if guard is not None:
        guard(data)
    start_work()
    started = time.perf_counter()
    return emit(run(config, out_dir=args.out), args, lines, started)


def emit(result: dict[str, Any], args: argparse.Namespace, lines: Callable[[dict[str, Any]], list[str]],
         started: float) -> int:
    """Print the JSON or the summary (and where the files went, how long it took)."""
    from outlayer._io import json_dumps

    if args.json:
        sys.stdout.write(json_dumps(result) + "\n")
        return 0
    text = list(lines(result))
    if result.get("figures"):
        text.append(f"wrote the result and {len(result['figures'])} figure files to {args.out}")
    text.append(f"took {time.perf_counter() - started:.1f} s")
    sys.stdout.write("\n".join(text) + "\n")
    return 0
