"""``outlayer explain``: the worked example as a command."""

from __future__ import annotations

import argparse

from outlayer._cli import UsageError, logit_float, positive_float, short, start_work
from outlayer.explain import DEFAULT_CLASSES, DEFAULT_LOGITS, explain, format_explanation

__all__ = ["configure", "run", "validate"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--logits", nargs="+", type=logit_float, default=list(DEFAULT_LOGITS), metavar="Z",
                        help="one logit per class, negative ones too: --logits 2 -1e4 (default: 2.0 1.0 0.1)")
    parser.add_argument("--target", default=None,
                        help="the true class, by name or index (default: the first class)")
    parser.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                        help="class names (default: cat dog rabbit for three logits)")
    parser.add_argument("--temperature", type=positive_float, default=1.0, help="softmax temperature T > 0 (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def validate(args: argparse.Namespace) -> list[str] | None:
    """Check the options together (flags named); return the class names to use."""
    from outlayer._guards import LOGIT_MAGNITUDE_LIMIT

    classes = args.classes
    if classes is None and len(args.logits) == len(DEFAULT_CLASSES):
        classes = list(DEFAULT_CLASSES)
    if len(args.logits) < 2:
        raise UsageError(f"--logits needs at least 2 values (one per class), got {len(args.logits)}")
    if classes is not None:
        if len(classes) != len(args.logits):
            raise UsageError(f"--classes names {len(classes)} classes but --logits has {len(args.logits)} values; "
                             "give one name per logit")
        duplicate = next((c for i, c in enumerate(classes) if c in classes[:i]), None)
        if duplicate is not None:
            raise UsageError(f"--classes names {short(duplicate)} twice; class names must be distinct")
    names = classes if classes is not None else [str(i) for i in range(len(args.logits))]
    if args.target is not None and args.target not in names:
        try:
            index = int(args.target)
        except ValueError:
            raise UsageError(f"--target {short(args.target)} is not a class; choose one of {', '.join(names)[:200]} "
                             "or an index") from None
        if not 0 <= index < len(names):
            raise UsageError(f"--target {index} is out of range: the classes are numbered 0 to {len(names) - 1}")
    largest = max(abs(v) for v in args.logits) / args.temperature
    if largest > LOGIT_MAGNITUDE_LIMIT:
        raise UsageError(f"--temperature {args.temperature:g} scales the logits to {largest:.3g}, beyond "
                         f"+/-{LOGIT_MAGNITUDE_LIMIT:g}: raise --temperature or shrink --logits")
    return classes


def run(args: argparse.Namespace) -> int:
    from outlayer._io import json_dumps

    classes = validate(args)
    start_work()
    result = explain(args.logits, target=args.target, classes=classes, temperature=args.temperature)
    print(json_dumps(result, indent=2) if args.json else format_explanation(result))
    return 0
