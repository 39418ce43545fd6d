"""``outlayer report``: write the whole analysis as one self-contained web page."""

from __future__ import annotations

import argparse

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="outlayer-report", metavar="DIR",
        help="report folder (default: outlayer-report); an existing folder is replaced only if it is an outlayer report",
    )
    parser.add_argument(
        "--dataset", default="digits", metavar="NAME|FILE",
        help="built-in dataset name or a .csv/.npz file for the training sections (default: digits)",
    )
    parser.add_argument("--seeds", type=int, default=None, metavar="N", help="training seeds per configuration (default: 5, quick: 2)")
    parser.add_argument("--quick", action="store_true", help="fewer seeds, epochs and grid points (about 20 s)")
    parser.add_argument("--lang", choices=("en", "zh"), default="en",
                        help="language the page opens in (default: en); the page holds both and switches without reloading")
    parser.add_argument("--open", action="store_true", help="open the page in the default web browser when done")


def run(args: argparse.Namespace) -> int:
    from outlayer.report import build_report

    result = build_report(
        args.out,
        dataset=args.dataset,
        seeds=args.seeds,
        quick=args.quick,
        progress=True,
        lang=args.lang,
    )
    print(f"report written to {result['index']}")
    for line in result["summary"]:
        print(f"  {line}")
    if args.open:
        import webbrowser

        webbrowser.open(result["index"].as_uri())
    return 0
