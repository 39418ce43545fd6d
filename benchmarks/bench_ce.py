"""Benchmark the fused softmax-cross-entropy against PyTorch: ``python benchmarks/bench_ce.py [--quick] ...``.

A thin script over ``outlayer bench --suite ce`` (same options), so that the numbers in
benchmarks/README.md can be reproduced from a checkout without installing the CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    try:
        import outlayer  # noqa: F401
    except ImportError:  # a plain checkout: use the source tree
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from outlayer.cli import main

    raise SystemExit(main(["bench", "--suite", "ce", *sys.argv[1:]]))
