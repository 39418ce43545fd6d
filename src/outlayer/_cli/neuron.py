"""``outlayer neuron``: Nielsen's single sigmoid neuron, quadratic cost against cross-entropy.

Prints what was run and the measured epochs to each output threshold (or, with ``--json``, the
whole object of :func:`outlayer.neuron.run`) and writes the figures as PNG and SVG when
``--out DIR`` is given. Every default comes from :class:`outlayer.neuron.NeuronConfig`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from outlayer._cli import finite_float, positive_float, positive_int

__all__ = ["configure", "run", "summary"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``outlayer neuron``; the defaults are Nielsen's (``NeuronConfig``)."""
    from outlayer.neuron import COSTS, RATE_SETTINGS, NeuronConfig

    d = NeuronConfig()
    starts = " ".join(f"{w:g} {b:g}" for w, b in d.starts)
    parser.add_argument("--out", metavar="DIR", help="write the figures (PNG + SVG) to this folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.add_argument("--starts", type=finite_float, nargs="+", metavar="W B",
                        help=f"initial (w, b) pairs, flattened (default {starts})")
    parser.add_argument("--costs", nargs="+", choices=COSTS, metavar="COST",
                        help=f"costs to run: {', '.join(COSTS)} (default both)")
    parser.add_argument("--rates", nargs="+", choices=RATE_SETTINGS, metavar="SETTING",
                        help="rate settings: nielsen (each cost at its own rate), equal (one shared rate) "
                             "(default both)")
    parser.add_argument("--quadratic-lr", type=positive_float, default=d.quadratic_lr, metavar="LR",
                        help=f"Nielsen's rate for the quadratic cost (default {d.quadratic_lr:g})")
    parser.add_argument("--cross-entropy-lr", type=positive_float, default=d.cross_entropy_lr, metavar="LR",
                        help=f"Nielsen's rate for cross-entropy (default {d.cross_entropy_lr:g})")
    parser.add_argument("--equal-lr", type=positive_float, default=d.equal_lr, metavar="LR",
                        help=f"the rate both costs share under 'equal' (default {d.equal_lr:g})")
    parser.add_argument("--epochs", type=positive_int, default=d.epochs, metavar="N",
                        help=f"gradient steps per run, at most {NeuronConfig.MAX_EPOCHS} (default {d.epochs})")
    parser.add_argument("--input", type=finite_float, default=d.x, metavar="X",
                        help=f"the neuron's input x (default {d.x:g})")
    parser.add_argument("--target", type=finite_float, default=d.y, metavar="Y",
                        help=f"the target output y in [0, 1] (default {d.y:g})")
    parser.add_argument("--thresholds", type=finite_float, nargs="+", default=list(d.thresholds), metavar="A",
                        help="report the first epoch with output a < A, for each A in (0, 1) (default "
                             + " ".join(f"{t:g}" for t in d.thresholds) + ")")


def _config(args: argparse.Namespace) -> Any:
    from outlayer.neuron import NeuronConfig

    options: dict[str, Any] = {
        "quadratic_lr": args.quadratic_lr,
        "cross_entropy_lr": args.cross_entropy_lr,
        "equal_lr": args.equal_lr,
        "epochs": args.epochs,
        "x": args.input,
        "y": args.target,
        "thresholds": tuple(args.thresholds),
    }
    if args.starts is not None:
        if len(args.starts) % 2:
            count = len(args.starts)
            raise ValueError(f"--starts takes (w, b) pairs, got {count} number{'s' if count != 1 else ''}: "
                             + " ".join(f"{v:g}" for v in args.starts))
        options["starts"] = tuple(zip(args.starts[0::2], args.starts[1::2]))
    if args.costs:
        options["costs"] = tuple(args.costs)
    if args.rates:
        options["rate_settings"] = tuple(args.rates)
    return NeuronConfig(**options)


def run(args: argparse.Namespace) -> int:
    """Run the lab; bad values raise ValueError (one line, exit 2 via :func:`outlayer.cli.main`)."""
    from outlayer import neuron

    config = _config(args)
    result = neuron.run(config, out_dir=args.out)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, allow_nan=False))
    else:
        print(summary(result, out_dir=args.out))
    return 0


def _epochs(value: int | None, limit: int) -> str:
    return f">{limit}" if value is None else str(value)


def summary(result: dict[str, Any], out_dir: str | None = None) -> str:
    """What was run and the measured epochs to each threshold, as a short plain-text table."""
    config = result["config"]
    forms = result["closed_forms"]
    epochs = config["epochs"]
    keys = [format(t, "g") for t in config["thresholds"]]
    rates = {"nielsen": f"Nielsen's (quadratic {config['quadratic_lr']:g}, cross-entropy {config['cross_entropy_lr']:g})",
             "equal": f"equal ({config['equal_lr']:g} for both)"}
    lines = [
        (f"Nielsen's single neuron ({result['source']['title']}, ch. 3): {forms['neuron']}, "
         f"x = {config['x']:g}, target y = {config['y']:g}"),
        f"{epochs} epochs of plain gradient descent (one step per epoch); rates: "
        + ", ".join(rates[s] for s in config["rate_settings"]),
        (f"quadratic {forms['quadratic']['cost']}: dC/dw = {forms['quadratic']['dC/dw']}; "
         f"cross-entropy {forms['cross-entropy']['cost']}: dC/dw = {forms['cross-entropy']['dC/dw']}"),
        "",
    ]
    header = f"{'start (w, b)':<16}{'a(0)':>7}  {'cost':<15}{'lr':>7}  {'rate setting':<16}"
    header += "".join(f"{'a < ' + k:>9}" for k in keys) + f"{'a(' + str(epochs) + ')':>10}{'steepest':>10}"
    lines.append(header)
    for r in result["runs"]:
        start = f"({r['w0']:g}, {r['b0']:g})"
        row = f"{start:<16}{r['output'][0]:>7.3f}  {r['cost']:<15}{r['lr']:>7g}  {', '.join(r['rate_settings']):<16}"
        row += "".join(f"{_epochs(r['epochs_to_output_below'][k], epochs):>9}" for k in keys)
        row += f"{r['output'][-1]:>10.4f}{r['steepest_epoch']:>10}"
        lines.append(row)
    lines.append(f"(epochs to a < A: the first epoch with output below A; >{epochs}: not within the run; "
                 "steepest: the epoch whose step lowered the cost most)")
    for entry in result["equal_rate"]:
        first = keys[0]
        cell = entry["epochs_to_output_below"][first]
        ratio = cell["ratio_quadratic_to_cross_entropy"]
        lines.append(
            f"from ({entry['w0']:g}, {entry['b0']:g}) at the equal rate {entry['lr']:g}: quadratic needs "
            f"{_epochs(cell['quadratic'], epochs)} epochs to a < {first}, cross-entropy "
            f"{_epochs(cell['cross-entropy'], epochs)}" + (f" ({ratio:.3g}x)" if ratio is not None else ""))
    for entry in result["starts"]:
        if entry["ratio_quadratic_to_cross_entropy"] is not None:
            lines.append(f"at ({entry['w0']:g}, {entry['b0']:g}), a = {entry['output']:.3f}: dC/dw quadratic "
                         f"{entry['dC/dw']['quadratic']:.3g}, cross-entropy {entry['dC/dw']['cross-entropy']:.3g} "
                         f"(ratio {entry['ratio_quadratic_to_cross_entropy']:.3g} = {forms['sigma_prime']})")
    if result.get("figures"):
        lines.append("")
        lines.append(f"figures written to {out_dir}: " + ", ".join(sorted(result["figures"].values())))
    return "\n".join(lines)
