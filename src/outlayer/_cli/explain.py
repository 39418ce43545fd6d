"""``outlayer explain``: the worked example as a command.

Classes are numbered from 1 here, as on the report's page: ``--target 2`` is the second class, and
classes without names are called 1, 2, ..., K (the library's :func:`~outlayer.explain.explain`
keeps Python's 0-based indices).
"""

from __future__ import annotations

import argparse
import json

from outlayer._cli import finite_float
from outlayer.explain import DEFAULT_CLASSES, DEFAULT_LOGITS, explain, format_explanation


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--logits", nargs="+", type=finite_float, default=list(DEFAULT_LOGITS), metavar="Z",
                        help="one logit per class (default: 2.0 1.0 0.1)")
    parser.add_argument("--target", default=None, metavar="CLASS",
                        help="the true class: its name, or its number counted from 1 (default: 1, the first class)")
    parser.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                        help="class names (default: cat dog rabbit for three logits, else 1 2 ... K)")
    parser.add_argument("--temperature", type=finite_float, default=1.0, help="softmax temperature T > 0 (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    classes = args.classes
    if classes is None:
        count = len(args.logits)
        classes = list(DEFAULT_CLASSES) if count == len(DEFAULT_CLASSES) else [str(k) for k in range(1, count + 1)]
    target = None if args.target is None else target_name(args.target, classes)
    result = explain(args.logits, target=target, classes=classes, temperature=args.temperature)
    print(json.dumps(result, indent=2) if args.json else format_explanation(result))
    return 0


def target_name(value: str, classes: list[str]) -> str:
    """The class ``--target`` names: a class name, else a number counted from 1; ValueError naming it otherwise."""
    if value in classes:
        return value
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"unknown target {value!r}; give a class name ({', '.join(classes)}) or a number from 1 to "
                         f"{len(classes)}") from None
    if not 1 <= number <= len(classes):
        raise ValueError(f"target {number} is out of range: the classes are numbered 1 to {len(classes)}")
    return classes[number - 1]
