"""``outlayer surface``: error surfaces, gradient fields and descent paths of CE vs MSE.

Prints the key figures (or, with ``--json``, the whole object of :func:`outlayer.surface.run`)
and writes the figures as PNG and SVG when ``--out DIR`` is given. Classes and logits are numbered
from 1 in the options and in the printed text, as on the report's page (``--target 1`` is the
lecture's true class, z1); the JSON keeps the library's 0-based indices.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``outlayer surface``; every default is the lecture's setting (SurfaceConfig's)."""
    from outlayer.config import SurfaceConfig

    defaults = SurfaceConfig()

    parser.add_argument("--out", metavar="DIR", help="write the figures (PNG + SVG) to this folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.add_argument("--losses", nargs="+", metavar="LOSS", choices=SurfaceConfig.CHOICES["losses"],
                        help=f"losses to compare, among {', '.join(SurfaceConfig.CHOICES['losses'])} (default: all)")
    parser.add_argument("--classes", type=int, default=defaults.num_classes, metavar="K",
                        help=f"number of classes (default {defaults.num_classes})")
    parser.add_argument("--target", type=int, default=defaults.target + 1, metavar="T",
                        help=f"the true class, numbered from 1 (default {defaults.target + 1})")
    parser.add_argument("--swept", type=int, nargs=2, default=[c + 1 for c in defaults.swept], metavar=("I", "J"),
                        help="the two logits to sweep, numbered from 1 (default 1 2: z1 and z2)")
    parser.add_argument("--fixed", type=float, nargs="+", default=[defaults.fixed], metavar="V",
                        help="value(s) of the other logits: one for all or one per class; -inf holds a class out "
                             f"(default {defaults.fixed})")
    parser.add_argument("--range", type=float, nargs=2, default=defaults.limits, metavar=("LO", "HI"),
                        help="sweep range of both swept logits (default -10 10)")
    parser.add_argument("--resolution", type=int, default=defaults.resolution, metavar="N",
                        help=f"grid points per axis (default {defaults.resolution})")
    parser.add_argument("--start", type=float, nargs=2, default=None, metavar=("U", "V"),
                        help="start of the descent paths (default: the wrong-but-confident corner)")
    parser.add_argument("--optimizers", nargs="+", default=list(defaults.optimizers), metavar="OPT",
                        choices=SurfaceConfig.CHOICES["optimizers"],
                        help="optimisers for the descent paths: sgd, momentum, adam (default all three)")
    parser.add_argument("--lr", type=float, default=defaults.lr,
                        help=f"learning rate of every path (default {defaults.lr})")
    parser.add_argument("--steps", type=int, default=defaults.steps,
                        help=f"step budget of every path (default {defaults.steps})")
    parser.add_argument("--goal", type=float, default=defaults.goal,
                        help=f"p(target) a path must reach (default {defaults.goal})")


def run(args: argparse.Namespace) -> int:
    """Run the lab; bad values raise ValueError (one line, exit 2 via :func:`outlayer.cli.main`)."""
    from outlayer import surface

    for name, numbers in (("--target", [args.target]), ("--swept", args.swept)):
        # checked here, before the lab would name them 0-based (a bad --classes is the lab's to report)
        if args.classes >= 2 and not all(1 <= number <= args.classes for number in numbers):
            shown = numbers[0] if len(numbers) == 1 else tuple(numbers)
            raise ValueError(f"{name} takes class numbers from 1 to {args.classes}, got {shown}")
    options: dict[str, Any] = {
        "num_classes": args.classes,
        "target": args.target - 1,
        "swept": tuple(c - 1 for c in args.swept),
        "fixed": args.fixed[0] if len(args.fixed) == 1 else tuple(args.fixed),
        "limits": tuple(args.range),
        "resolution": args.resolution,
        "start": tuple(args.start) if args.start is not None else None,
        "optimizers": tuple(args.optimizers),
        "lr": args.lr,
        "steps": args.steps,
        "goal": args.goal,
    }
    if args.losses:
        options["losses"] = tuple(args.losses)
    result = surface.run(out_dir=args.out, **options)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, allow_nan=False))
    else:
        print(summary(result, out_dir=args.out))
    return 0


def _fmt(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) else format(value, spec)


def _steps(value: int | None) -> str:
    return "never" if value is None else str(value)


def summary(result: dict[str, Any], out_dir: str | None = None) -> str:
    """The key figures of a :func:`outlayer.surface.run` result as a short plain-text table."""
    setup = result["setup"]
    names = [f"z{c + 1}" for c in setup["swept"]]  # the page's notation: logits z, numbered from 1
    fixed = ", ".join(f"z{int(c) + 1} = {v:g}" if isinstance(v, float) else f"z{int(c) + 1} = {v}"
                      for c, v in setup["fixed"].items())
    lines = [
        f"{setup['num_classes']} classes, target class {setup['target'] + 1}, sweeping {names[0]}, {names[1]} "
        f"over [{setup['limits'][0]:g}, {setup['limits'][1]:g}]" + (f", {fixed}" if fixed else ""),
        f"start ({names[0]}, {names[1]}) = ({setup['start'][0]:g}, {setup['start'][1]:g}); lr {setup['lr']:g}, "
        f"{setup['steps']} steps for every loss and optimiser; goal p(target) >= {setup['goal']:g}",
        "",
    ]
    optimizers = setup["optimizers"]
    header = f"{'loss':<12}{'corner loss':>13}{'corner |grad|':>15}{'center |grad|':>15}"
    header += "".join(f"{'steps ' + opt:>15}" for opt in optimizers)
    lines.append(header)
    for name, entry in result["losses"].items():
        row = f"{name:<12}{_fmt(entry['corner']['loss']):>13}{_fmt(entry['corner']['grad_norm']):>15}"
        row += f"{_fmt(entry['center']['grad_norm']):>15}"
        row += "".join(f"{_steps(entry['paths'][opt]['steps_to_p90']):>15}" for opt in optimizers)
        if not entry["goal_reachable"]:
            row += f"  (goal unreachable: optimum p = {entry['optimum']['p_target']:.3g})"
        lines.append(row)
    for name, entry in result["losses"].items():
        for opt, path in entry["paths"].items():
            if path["extrapolated_steps_to_p90"] is not None:
                lines.append(f"  {name} / {opt}: never within {setup['steps']} steps; at its pace it would need "
                             f"~{path['extrapolated_steps_to_p90']:.2g}")
    lines.append("")
    ratio = result.get("corner_grad_norm_ratio_ce_mse")
    if ratio is not None:
        lines.append(f"corner gradient norm CE / MSE: {ratio:.3g}")
    adam = (result.get("adam_vs_plateau") or {}).get("adam")
    if adam is not None:
        sgd = (result.get("adam_vs_plateau") or {}).get("sgd")
        lines.append(
            f"Adam: MSE reaches the goal in {_steps(adam['steps_to_p90']['mse'])} steps vs CE "
            f"{_steps(adam['steps_to_p90']['ce'])}; first step from the corner MSE/CE "
            f"{_fmt(adam['first_step_ratio_mse_ce'])}"
            + (f" (plain GD: {_fmt(sgd['first_step_ratio_mse_ce'])})" if sgd is not None else "")
        )
    sweep = result.get("lr_sweep")
    if sweep:
        rates = ", ".join(f"{rate:g}" for rate in sweep["lrs"])
        lines.append(f"plain-GD steps to the goal at lr {rates}:")
        for name, counts in sweep["steps_to_p90"].items():
            lines.append(f"  {name:<12}" + ", ".join(_steps(c) for c in counts))
    if result.get("figures"):
        lines.append("")
        lines.append(f"figures written to {out_dir}: " + ", ".join(sorted(result["figures"].values())))
    return "\n".join(lines)
