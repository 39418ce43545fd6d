"""``outlayer surface``: error surfaces, gradient fields and descent paths of CE vs MSE.

Prints the key figures (or, with ``--json``, the whole object of :func:`outlayer.surface.run`)
and writes the figures as PNG and SVG when ``--out DIR`` is given. Classes and logits are numbered
from 1 in the options and in the printed text, as on the report's page (``--target 1`` is the
lecture's true class, z1); the JSON keeps the library's 0-based indices.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

__all__ = ["configure", "run", "summary", "validate"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``outlayer surface``; every default is the lecture's setting (SurfaceConfig's)."""
    from outlayer._cli import int_at_least, integer, logit_float, non_negative_int, positive_float, probability
    from outlayer.config import SurfaceConfig

    defaults = SurfaceConfig()
    losses, optimizers = SurfaceConfig.CHOICES["losses"], SurfaceConfig.CHOICES["optimizers"]
    parser.add_argument("--out", metavar="DIR", help="write the figures (PNG + SVG) to this folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.add_argument("--losses", nargs="+", metavar="LOSS", choices=losses,
                        help=f"losses to compare, among {', '.join(losses)} (default: all)")
    parser.add_argument("--classes", type=int_at_least(2), default=defaults.num_classes, metavar="K",
                        help=f"number of classes (default {defaults.num_classes})")
    parser.add_argument("--target", type=integer, default=defaults.target + 1, metavar="T",
                        help=f"the true class, numbered from 1 (default {defaults.target + 1})")
    parser.add_argument("--swept", type=integer, nargs=2, default=[c + 1 for c in defaults.swept],
                        metavar=("I", "J"), help="the two logits to sweep, numbered from 1 (default 1 2: z1 and z2)")
    parser.add_argument("--fixed", type=logit_float, nargs="+", default=[defaults.fixed], metavar="V",
                        help="value(s) of the other logits: one for all or one per class; -inf holds a class out "
                             f"(default {defaults.fixed})")
    parser.add_argument("--range", type=logit_float, nargs=2, default=defaults.limits, metavar=("LO", "HI"),
                        help="sweep range of both swept logits, negative values too: --range -1e6 1e6 "
                             f"(default {defaults.limits[0]:g} {defaults.limits[1]:g})")
    parser.add_argument("--resolution", type=int_at_least(2), default=defaults.resolution, metavar="N",
                        help=f"grid points per axis (default {defaults.resolution})")
    parser.add_argument("--start", type=logit_float, nargs=2, default=None, metavar=("U", "V"),
                        help="start of the descent paths (default: the wrong-but-confident corner)")
    parser.add_argument("--optimizers", nargs="+", default=list(defaults.optimizers), metavar="OPT",
                        choices=optimizers,
                        help=f"optimisers for the descent paths, among {', '.join(optimizers)} (default all)")
    parser.add_argument("--lr", type=positive_float, default=defaults.lr,
                        help=f"learning rate of every path (default {defaults.lr})")
    parser.add_argument("--steps", type=non_negative_int, default=defaults.steps,
                        help=f"step budget of every path; 0 evaluates the start only (default {defaults.steps})")
    parser.add_argument("--goal", type=probability, default=defaults.goal,
                        help=f"p(target) a path must reach, in (0, 1) (default {defaults.goal})")


#: The flag of each option of :func:`outlayer.surface.run`, for the guard's messages.
FLAGS = {"resolution": "--resolution", "num_classes": "--classes", "steps": "--steps", "fixed": "--fixed",
         "limits": "--range", "start": "--start"}


def validate(args: argparse.Namespace) -> dict[str, Any]:
    """Check the options together, before any work, naming the flags; return surface.run's options."""
    from outlayer import _guards
    from outlayer._cli import UsageError
    from outlayer.config import SurfaceConfig

    defaults = SurfaceConfig()

    k = args.classes
    for name, numbers in (("--target", [args.target]), ("--swept", list(args.swept))):
        # classes are numbered from 1 for the user, as on the page; the lab counts from 0
        if not all(1 <= number <= k for number in numbers):
            shown = numbers[0] if len(numbers) == 1 else " ".join(map(str, numbers))
            raise UsageError(f"{name} {shown}: with --classes {k} the classes are numbered 1 to {k}")
    target = args.target - 1
    swept = tuple(c - 1 for c in args.swept)
    if swept[0] == swept[1]:
        raise UsageError(f"--swept {args.swept[0]} {args.swept[1]} names the same logit twice; give two different classes")
    others = k - 2
    if len(args.fixed) not in (1, others):
        raise UsageError(f"--fixed takes one value or one per non-swept class ({others}), got {len(args.fixed)}: "
                         f"{tuple(args.fixed)}")
    if target not in swept:
        held = [c for c in range(k) if c not in swept]
        value = args.fixed[0] if len(args.fixed) == 1 else args.fixed[held.index(target)]
        if value == -math.inf:
            raise UsageError(f"--target {args.target} is held out by --fixed -inf (probability 0, every loss inf): "
                             "sweep it with --swept or give it a finite --fixed value")
    lo, hi = args.range
    if not lo < hi:
        raise UsageError(f"--range needs LO < HI, got {(lo, hi)}")
    losses = tuple(dict.fromkeys(args.losses)) if args.losses else defaults.losses
    optimizers = tuple(dict.fromkeys(args.optimizers))
    if args.out is not None:
        _guards.check_output_dir(args.out, "--out")
    _guards.check_surface(resolution=args.resolution, num_classes=k, n_losses=len(losses), steps=args.steps,
                          n_runs=len(optimizers) + len(defaults.sweep_lrs),
                          map_resolution=defaults.map_resolution if args.out is not None else 0, names=FLAGS)
    options: dict[str, Any] = {
        "num_classes": k,
        "target": target,
        "swept": swept,
        "fixed": args.fixed[0] if len(args.fixed) == 1 else tuple(args.fixed),
        "limits": (lo, hi),
        "resolution": args.resolution,
        "start": tuple(args.start) if args.start is not None else None,
        "optimizers": optimizers,
        "lr": args.lr,
        "steps": args.steps,
        "goal": args.goal,
    }
    if args.losses:
        options["losses"] = losses
    return options


def run(args: argparse.Namespace) -> int:
    """Validate everything, run the lab, print the summary or the JSON document."""
    from outlayer import surface
    from outlayer._cli import start_work
    from outlayer._io import json_dumps

    options = validate(args)
    start_work()
    result = surface.run(out_dir=args.out, **options)
    if args.json:
        print(json_dumps(result, indent=2, sort_keys=True))
    else:
        print(summary(result, out_dir=args.out))
    return 0


def _fmt(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) else format(value, spec)


def _cell(path: dict[str, Any], steps: int, reachable: bool = True) -> str:
    """A path's steps to the goal as a table cell: the count, or what happened instead."""
    if path["steps_to_p90"] is not None:
        return str(path["steps_to_p90"])
    if not reachable:
        return "unreachable"
    return "diverged" if path["diverged"] else f"> {steps}"


def _reach(loss: str, count: int | None, steps: int, first: bool) -> str:
    if count is not None:
        return f"{loss} reaches the goal in {count} steps" if first else f"{loss} in {count}"
    return f"{loss} does not reach the goal within {steps} steps" if first else f"{loss} not within {steps}"


def _start_figures(setup: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Loss and gradient norm of each loss at the start point (the core's numbers, via surface.evaluate)."""
    from outlayer import surface

    others = [int(c) for c in sorted(setup["fixed"], key=int)]
    plane = surface.LogitPlane(num_classes=setup["num_classes"], target=setup["target"], swept=tuple(setup["swept"]),
                               fixed=tuple(float(setup["fixed"][str(c)]) for c in others) if len(others) > 1 else
                               (float(setup["fixed"][str(others[0])]) if others else 0.0))
    u, v = setup["start"]
    figures = {}
    for name in names:
        at = surface.evaluate(name, u, v, plane)
        figures[name] = {"loss": float(at.loss), "grad_norm": float(at.grad_norm)}
    return figures


def summary(result: dict[str, Any], out_dir: str | None = None) -> str:
    """The key figures of a :func:`outlayer.surface.run` result as a short plain-text table.

    The first columns describe the start of the descent paths: the wrong-but-confident corner by
    default, or the point given with ``--start`` (then they are computed there, not at the corner).
    """
    setup = result["setup"]
    names = [f"z{c + 1}" for c in setup["swept"]]  # the page's notation: logits z, numbered from 1
    steps = setup["steps"]
    fixed = ", ".join(f"z{int(c) + 1} = {float(v):g}" for c, v in setup["fixed"].items())
    at_corner = list(setup["start"]) == list(setup["corner"])
    where = "corner" if at_corner else "start"
    budget = ("no steps (--steps 0): only the start is evaluated" if steps == 0 else
              f"{steps} steps for every loss and optimiser")
    lines = [
        f"{setup['num_classes']} classes, target class {setup['target'] + 1}, sweeping {names[0]}, {names[1]} "
        f"over [{setup['limits'][0]:g}, {setup['limits'][1]:g}]" + (f", {fixed}" if fixed else ""),
        f"start ({names[0]}, {names[1]}) = ({setup['start'][0]:g}, {setup['start'][1]:g})"
        + ("" if at_corner else f", not the wrong corner ({setup['corner'][0]:g}, {setup['corner'][1]:g})")
        + f"; lr {setup['lr']:g}, {budget}; goal p(target) >= {setup['goal']:g}",
        "",
    ]
    optimizers = setup["optimizers"]
    header = f"{'loss':<12}{where + ' loss':>13}{where + ' |grad|':>15}{'center |grad|':>15}"
    header += "".join(f"{'steps ' + opt:>15}" for opt in optimizers)
    lines.append(header)
    start = None if at_corner else _start_figures(setup, list(result["losses"]))
    for name, entry in result["losses"].items():
        point = entry["corner"] if start is None else start[name]
        row = f"{name:<12}{_fmt(point['loss']):>13}{_fmt(point['grad_norm']):>15}"
        row += f"{_fmt(entry['center']['grad_norm']):>15}"
        row += "".join(f"{_cell(entry['paths'][opt], steps, entry['goal_reachable']):>15}" for opt in optimizers)
        if not entry["goal_reachable"]:
            row += f"  (goal unreachable: optimum p = {entry['optimum']['p_target']:.3g})"
        lines.append(row)
    diverged = [f"{name} / {opt}" for name, entry in result["losses"].items()
                for opt, path in entry["paths"].items() if path["diverged"]]
    if diverged:
        lines.append(f"  diverged (left the finite numbers; lr {setup['lr']:g} is too large for them): "
                     + ", ".join(diverged))
    for name, entry in result["losses"].items():
        for opt, path in entry["paths"].items():
            if path["extrapolated_steps_to_p90"] is not None:
                lines.append(f"  {name} / {opt}: not within {steps} steps; at its pace it would need "
                             f"~{path['extrapolated_steps_to_p90']:.2g}")
    lines.append("")
    ratio = result.get("corner_grad_norm_ratio_ce_mse")
    if ratio is not None:
        corner = "" if at_corner else f" (at the corner ({setup['corner'][0]:g}, {setup['corner'][1]:g}))"
        lines.append(f"corner gradient norm CE / MSE{corner}: {ratio:.3g}")
    adam = (result.get("adam_vs_plateau") or {}).get("adam")
    if steps == 0:
        lines.append("no descent steps were run, so there are no step counts to compare")
    elif adam is not None:
        sgd = (result.get("adam_vs_plateau") or {}).get("sgd")
        lines.append(
            f"Adam: {_reach('MSE', adam['steps_to_p90']['mse'], steps, True)}, "
            f"{_reach('CE', adam['steps_to_p90']['ce'], steps, False)}; first step from the start MSE/CE "
            f"{_fmt(adam['first_step_ratio_mse_ce'])}"
            + (f" (plain GD: {_fmt(sgd['first_step_ratio_mse_ce'])})" if sgd is not None else "")
        )
    sweep = result.get("lr_sweep")
    if sweep and steps > 0:
        rates = ", ".join(f"{rate:g}" for rate in sweep["lrs"])
        lines.append(f"plain-GD steps to the goal at lr {rates} (> {steps}: not within the budget):")
        for name, counts in sweep["steps_to_p90"].items():
            flags = sweep["diverged"][name]
            lines.append(f"  {name:<12}" + ", ".join(
                str(c) if c is not None else ("diverged" if flag else f"> {steps}") for c, flag in zip(counts, flags)))
    if result.get("figures"):
        lines.append("")
        lines.append(f"figures written to {out_dir}: " + ", ".join(sorted(result["figures"].values())))
    return "\n".join(lines)
