"""What the commands of the lab's experiments share: --quick/--json/--out and printing the result."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from outlayer._cli import positive_int

__all__ = ["add_common", "config_from", "emit"]


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


def emit(result: dict[str, Any], args: argparse.Namespace, lines: Callable[[dict[str, Any]], list[str]],
         started: float) -> int:
    """Print the JSON or the summary (and where the files went, how long it took)."""
    if args.json:
        sys.stdout.write(json.dumps(result, allow_nan=False) + "\n")
        return 0
    text = list(lines(result))
    if result.get("figures"):
        text.append(f"wrote the result and {len(result['figures'])} figure files to {args.out}")
    text.append(f"took {time.perf_counter() - started:.1f} s")
    sys.stdout.write("\n".join(text) + "\n")
    return 0
