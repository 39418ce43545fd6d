"""``outlayer bench``: run benchmark suites, print a Markdown table, write bench.md and bench.json."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from pathlib import Path
from typing import Any

from outlayer.bench import SUITES
from outlayer.bench._common import TABLE_COLUMNS, SuiteSkipped

__all__ = ["SUITE_DTYPES", "configure", "run", "run_suites", "validate"]

#: The dtypes each suite measures (``--dtype`` offers their union; each chosen suite must take each chosen dtype).
SUITE_DTYPES: dict[str, tuple[str, ...]] = {
    "ce": ("float32", "bfloat16", "float64"),
    "linear-ce": ("float32", "bfloat16", "float16", "float64"),
    "vocab-parallel": ("float32", "bfloat16", "float64"),
}
_ALL_DTYPES = tuple(dict.fromkeys(d for dtypes in SUITE_DTYPES.values() for d in dtypes))
#: More threads than this is a typo, not a benchmark.
MAX_THREADS = 1024


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads {text[:40]!r} is not an integer") from None
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"--threads {value} must be from 1 to {MAX_THREADS}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", nargs="+", choices=sorted(SUITES), default=["ce"], help="suites to run (default: ce)")
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats (a smoke run)")
    support = "; ".join(f"{suite}: {', '.join(dtypes)}" for suite, dtypes in SUITE_DTYPES.items())
    parser.add_argument(
        "--dtype", nargs="+", default=["float32", "bfloat16"], metavar="DTYPE", choices=_ALL_DTYPES,
        help=f"dtypes to measure (default: float32 bfloat16); each suite takes its own ({support})",
    )
    parser.add_argument("--threads", type=_threads, default=None,
                        help=f"threads for torch and the fused kernel, 1 to {MAX_THREADS}")
    parser.add_argument("--out", default=None, metavar="DIR", help="folder for bench.md and bench.json")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of the table")


def validate(args: argparse.Namespace) -> None:
    """Every chosen suite takes every chosen dtype, and --out can be written: checked before any timing."""
    from outlayer._cli import UsageError
    from outlayer._guards import check_output_dir

    for suite in dict.fromkeys(args.suite):
        refused = [d for d in dict.fromkeys(args.dtype) if d not in SUITE_DTYPES[suite]]
        if refused:
            raise UsageError(f"--dtype {refused[0]} is not measured by suite {suite} (it takes "
                             f"{', '.join(SUITE_DTYPES[suite])}); drop it or choose another --suite")
    if args.out is not None:
        check_output_dir(args.out, "--out")


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
        except (ImportError, SuiteSkipped) as exc:
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
    from outlayer._cli import start_work
    from outlayer._io import atomic_write_json, atomic_write_text, json_dumps
    from outlayer.bench._common import machine_info

    validate(args)
    start_work()
    # torch's own compile stack calls its deprecated torch.jit.script_method: not the user's to act on
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script(_method)?` is deprecated", category=DeprecationWarning)
    suites, dtypes = list(dict.fromkeys(args.suite)), list(dict.fromkeys(args.dtype))
    rows, skipped = run_suites(suites, quick=args.quick, dtypes=dtypes, threads=args.threads)
    for line in skipped:
        print(line, file=sys.stderr)
    machine = machine_info()
    if args.threads is not None:
        machine["threads_requested"] = args.threads
    document = {"machine": machine, "rows": rows, "skipped": skipped, "quick": bool(args.quick)}
    markdown = _markdown(rows, machine, skipped)
    if args.out is not None:
        atomic_write_text(Path(args.out) / "bench.md", markdown)
        atomic_write_json(Path(args.out) / "bench.json", document)
    if args.json:
        print(json_dumps(document, indent=2, sort_keys=True))
    else:
        print(markdown, end="")
    return 0
