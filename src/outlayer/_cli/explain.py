"""``outlayer explain``: the worked example as a command."""

from __future__ import annotations

import argparse
import json

from outlayer._cli import finite_float
from outlayer.explain import DEFAULT_CLASSES, DEFAULT_LOGITS, explain, format_explanation


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--logits", nargs="+", type=finite_float, default=list(DEFAULT_LOGITS), metavar="Z",
                        help="one logit per class (default: 2.0 1.0 0.1)")
    parser.add_argument("--target", default=None,
                        help="the true class, by name or index (default: the first class)")
    parser.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                        help="class names (default: cat dog rabbit for three logits)")
    parser.add_argument("--temperature", type=finite_float, default=1.0, help="softmax temperature T > 0 (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    classes = args.classes
    if classes is None and len(args.logits) == len(DEFAULT_CLASSES):
        classes = list(DEFAULT_CLASSES)
    result = explain(args.logits, target=args.target, classes=classes, temperature=args.temperature)
    print(json.dumps(result, indent=2) if args.json else format_explanation(result))
    return 0
