"""``outlayer explain``: the worked example as a command.

Classes are numbered from 1 here, as on the report's page: ``--target 2`` is the second class, and
classes without names are called 1, 2, ..., K (the library's :func:`~outlayer.explain.explain`
keeps Python's 0-based indices).
"""

from __future__ import annotations

import argparse

from outlayer._cli import UsageError, logit_float, positive_float, short, start_work
from outlayer.explain import DEFAULT_CLASSES, DEFAULT_LOGITS, explain, format_explanation

__all__ = ["configure", "run", "validate"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--logits", nargs="+", type=logit_float, default=list(DEFAULT_LOGITS), metavar="Z",
                        help="one logit per class, negative ones too: --logits 2 -1e4 (default: 2.0 1.0 0.1)")
    parser.add_argument("--target", default=None, metavar="CLASS",
                        help="the true class: its name, or its number counted from 1 (default: 1, the first class)")
    parser.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                        help="class names (default: cat dog rabbit for three logits, else 1 2 ... K)")
    parser.add_argument("--temperature", type=positive_float, default=1.0, help="softmax temperature T > 0 (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def validate(args: argparse.Namespace) -> list[str]:
    """Check the options together (flags named); return the class names to use."""
    from outlayer._guards import LOGIT_MAGNITUDE_LIMIT

    classes = args.classes
    if len(args.logits) < 2:
        raise UsageError(f"--logits needs at least 2 values (one per class), got {len(args.logits)}")
    if classes is not None:
        if len(classes) != len(args.logits):
            raise UsageError(f"--classes names {len(classes)} classes but --logits has {len(args.logits)} values; "
                             "give one name per logit")
        duplicate = next((c for i, c in enumerate(classes) if c in classes[:i]), None)
        if duplicate is not None:
            raise UsageError(f"--classes names {short(duplicate)} twice; class names must be distinct")
    else:
        count = len(args.logits)
        classes = list(DEFAULT_CLASSES) if count == len(DEFAULT_CLASSES) else [str(k) for k in range(1, count + 1)]
    if args.target is not None:
        try:
            target_name(args.target, classes)
        except ValueError as exc:
            raise UsageError(f"--target: {exc}") from None
    largest = max(abs(v) for v in args.logits) / args.temperature
    if largest > LOGIT_MAGNITUDE_LIMIT:
        raise UsageError(f"--temperature {args.temperature:g} scales the logits to {largest:.3g}, beyond "
                         f"+/-{LOGIT_MAGNITUDE_LIMIT:g}: raise --temperature or shrink --logits")
    return classes


def run(args: argparse.Namespace) -> int:
    from outlayer._io import json_dumps

    classes = validate(args)
    start_work()
    target = None if args.target is None else target_name(args.target, classes)
    result = explain(args.logits, target=target, classes=classes, temperature=args.temperature)
    print(json_dumps(result, indent=2) if args.json else format_explanation(result))
    return 0


def target_name(value: str, classes: list[str]) -> str:
    """The class ``--target`` names: a class name, else a number counted from 1; ValueError naming it otherwise."""
    if value in classes:
        return value
    try:
        number = int(value)
    except ValueError:
        names = ", ".join(classes)
        names = names if len(names) <= 200 else names[:197] + "..."
        raise ValueError(f"{short(value)} is not a class; give a class name ({names}) "
                         f"or a number from 1 to {len(classes)}") from None
    if not 1 <= number <= len(classes):
        raise ValueError(f"target {number} is out of range: the classes are numbered 1 to {len(classes)}")
    return classes[number - 1]
