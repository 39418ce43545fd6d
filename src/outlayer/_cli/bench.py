"""``outlayer bench``: run benchmark suites, print a Markdown table, write bench.md and bench.json."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from outlayer.bench import SUITES
from outlayer.bench._common import TABLE_COLUMNS

__all__ = ["configure", "run", "run_suites"]



def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads {text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--threads {value} must be at least 1")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", nargs="+", choices=sorted(SUITES), default=["ce"], help="suites to run (default: ce)")
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats (a smoke run)")
    parser.add_argument(
        "--dtype", nargs="+", default=["float32", "bfloat16"], metavar="DTYPE",
        help="float32, bfloat16 (default both), float64, float16 where a suite supports it",
    )
    parser.add_argument("--threads", type=_threads, default=None, help="threads for torch and the fused kernel")
    parser.add_argument("--out", type=Path, default=None, help="folder for bench.md and bench.json")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of the table")


def run_suites(
    suites: list[str], *, quick: bool, dtypes: list[str], threads: int | None, log: Any = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of every suite that can run, and one line per suite skipped (module or dependency missing)."""
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for suite in suites:
        if suite not in SUITES:
            raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(sorted(SUITES))}")
        try:
            module = importlib.import_module(SUITES[suite])
        except ImportError as exc:  # the suite's module, torch, triton, ... not installed
            skipped.append(f"suite {suite} skipped: {exc}")
            continue
        try:
            rows.extend(module.run(quick=quick, dtypes=tuple(dtypes), threads=threads))
        except ImportError as exc:
            skipped.append(f"suite {suite} skipped: {exc}")
    return rows, skipped


def _markdown(rows: list[dict[str, Any]], machine: dict[str, Any], skipped: list[str]) -> str:
    from outlayer.bench._common import markdown_table

    columns = [c for c in TABLE_COLUMNS if any(row.get(c) not in (None, "") for row in rows)] or ["suite"]
    lines = [
        "# outlayer bench",
        "",
        f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('memory_gib')} GiB; "
        f"torch {machine.get('torch')} ({machine.get('torch_threads')} threads), numba {machine.get('numba')} "
        f"({machine.get('numba_threads')} threads), numpy {machine.get('numpy')}.",
        "",
        "ratio_vs_torch = PyTorch eager time / this time (same run); ratio_vs_copy = this time / time "
        "to copy the logits' bytes; peak_x_logits = peak extra memory / logits size.",
        "",
        markdown_table(rows, columns),
    ]
    lines += [f"- {line}" for line in skipped]
    return "\n".join(lines).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    from outlayer._io import atomic_write_json, atomic_write_text
    from outlayer.bench._common import machine_info

    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {str(args.out)!r} exists and is not a folder")
    rows, skipped = run_suites(list(args.suite), quick=args.quick, dtypes=list(args.dtype), threads=args.threads)
    for line in skipped:
        print(line, file=sys.stderr)
    machine = machine_info()
    if args.threads is not None:
        machine["threads_requested"] = args.threads
    document = {"machine": machine, "rows": rows, "skipped": skipped, "quick": bool(args.quick)}
    markdown = _markdown(rows, machine, skipped)
    if args.out is not None:
        atomic_write_text(args.out / "bench.md", markdown)
        atomic_write_json(args.out / "bench.json", document)
    if args.json:
        print(json.dumps(document, indent=2, sort_keys=True, allow_nan=False))
    else:
        print(markdown, end="")
    return 0
