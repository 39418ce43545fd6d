"""``outlayer report``: write the whole analysis as one self-contained web page."""

from __future__ import annotations

import argparse
import sys

from outlayer._cli import positive_int
from outlayer.config import CompareConfig

__all__ = ["configure", "open_in_browser", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="outlayer-report", metavar="DIR",
        help="report folder (default: outlayer-report); an existing folder is replaced only if it is an outlayer report",
    )
    parser.add_argument(
        "--dataset", default="digits", metavar="NAME|FILE",
        help="built-in dataset name or a .csv/.npz file for the training sections (default: digits)",
    )
    parser.add_argument("--label-column", default=None, metavar="NAME|INDEX",
                        help="CSV: the column holding the labels (default: the last one)")
    parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                        help=f"training seeds per configuration (default: {CompareConfig.seeds}, quick: {CompareConfig.QUICK['seeds']})")
    parser.add_argument("--quick", action="store_true", help="fewer seeds, epochs and grid points (about 20 s)")
    parser.add_argument("--lang", choices=("en", "zh"), default="en",
                        help="language the page opens in (default: en); the page holds both and switches without reloading")
    parser.add_argument("--open", action="store_true", help="open the page in the default web browser when done")


def open_in_browser(uri: str) -> bool:
    """Open ``uri`` in the default browser; False (and one line on stderr) when there is none."""
    import webbrowser

    try:
        opened = webbrowser.open(uri)
    except webbrowser.Error:
        opened = False
    if not opened:
        sys.stderr.write(f"outlayer report: no web browser found; open {uri} yourself\n")
    return opened


def run(args: argparse.Namespace) -> int:
    from outlayer._cli import check_label_column, start_work
    from outlayer.report import build_report

    check_label_column(args.dataset, args.label_column)

    result = build_report(
        args.out,
        dataset=args.dataset,
        label_column=args.label_column,
        seeds=args.seeds,
        quick=args.quick,
        progress=True,
        lang=args.lang,
        on_start=start_work,
    )
    print(f"report written to {result['index']}")
    for line in result["summary"]:
        print(f"  {line}")
    if args.open:
        open_in_browser(result["index"].as_uri())
    return 0
