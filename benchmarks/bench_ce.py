"""Benchmark the fused softmax-cross-entropy against PyTorch: ``python benchmarks/bench_ce.py [--quick] ...``.

A thin script over ``outlayer bench --suite ce`` (same options), so that the numbers in
benchmarks/README.md can be reproduced from a checkout without installing the CLI. One more
option, ``--shape N,V`` (repeatable), measures only those shapes (the README's headline table:
``--shape 4096,32000``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _shape(text: str) -> tuple[int, int]:
    try:
        n, v = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape must be N,V (two positive integers), got {text!r}") from None
    if n < 1 or v < 1:
        raise argparse.ArgumentTypeError(f"--shape must be N,V (two positive integers), got {text!r}")
    return n, v


if __name__ == "__main__":
    try:
        import outlayer  # noqa: F401
    except ImportError:  # a plain checkout: use the source tree
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--shape", type=_shape, action="append")
    known, rest = parser.parse_known_args()
    if known.shape:
        from outlayer.bench import ce

        chosen, run = tuple(known.shape), ce.run
        ce.run = lambda **options: run(**{**options, "shapes": chosen})  # type: ignore[assignment]  # the CLI's suite, at these shapes
    from outlayer.cli import main

    raise SystemExit(main(["bench", "--suite", "ce", *rest]))
