"""The surface lab's result: :func:`run` measures every loss on a plane and assembles the JSON.

Nothing here computes a loss: every number comes from :mod:`outlayer.surface._compute` (which
calls the core). This module decides what the numbers mean: whether a goal is reachable on the
plane at all, which paths count as reaching it (never a diverged one, never one whose goal is
out of reach), how far a stuck path would have to go, and which rate the default is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from outlayer._guards import check_surface_run
from outlayer.catalogue import loss_info
from outlayer.config import SurfaceConfig, settings_of
from outlayer.surface._compute import (
    DescentPath,
    LogitPlane,
    ProbabilityCurve,
    _json_float,
    descent_paths,
    evaluate,
    evaluate_grid,
    margin_cut,
    plane_optimum,
)

__all__ = ["MARGIN_CLOSED_FORMS", "is_monotone", "run"]

#: The margin cut's closed forms in the two-class limit (target swept, every other class held
#: out, or fixed for the separable square loss): m = y_target - y_other on the line
#: y_target = +m/2, y_other = -m/2. Shown beside the measured curve; the tests check each one
#: against the core's numbers. ``{eps}`` is the label smoothing (half of it lands on each class).
MARGIN_CLOSED_FORMS: dict[str, dict[str, str]] = {
    "ce": {"loss": "ln(1 + e^(−m))", "grad": "−1 / (1 + e^m)"},
    "mse": {"loss": "2 / (1 + e^m)²", "grad": "−4 e^m / (1 + e^m)³"},
    "mse-logits": {"loss": "m²/2 − m + 1", "grad": "m − 1"},
    "ce-smooth": {"loss": "ln(1 + e^(−m)) + {half_eps} m", "grad": "{half_eps} − 1 / (1 + e^m)"},
}
#: Loss options under which :data:`MARGIN_CLOSED_FORMS` hold (the core's defaults).
_CLOSED_FORM_OPTIONS = {"mse-logits": {"true_class_weight": 1.0, "true_class_target": 1.0}}
#: Points of the margin cut kept in the JSON (the figure uses every point).
_MARGIN_JSON_POINTS = 81


def run(out_dir: str | None = None, **options: Any) -> dict[str, Any]:
    """The ``outlayer surface`` lab: measure every loss on a plane, optionally write the figures.

    ``options`` are the fields of :class:`outlayer.config.SurfaceConfig` (the lecture's setting
    by default: 3 classes, y3 = -inf, (y1, y2) over [-10, 10]^2, lr 0.5 and 1000 steps from the
    wrong corner for plain GD, momentum 0.9 and Adam).

    Returns a JSON-able dict: ``settings`` (``asdict`` of the config); ``setup``; ``losses`` ->
    name -> ``constant`` (the part of the loss no swept logit changes, split off every reported
    loss), ``corner``, ``center``, ``grid_minimum`` (over the figure's range), ``optimum`` (over
    the whole plane) with loss, gradient and p_target, ``goal_reachable`` (the optimum's
    p_target >= goal), ``steps_to_p90`` (plain GD, or the first optimiser when "sgd" is not run;
    null with ``steps_to_p90_reason`` when the goal is out of reach, the budget ran out or the path
    diverged) and ``paths`` per optimiser; ``corner_grad_norm_ratio_ce_mse``; ``lecture_claim``;
    ``adam_vs_plateau`` (Adam's first step against the gradient scale and eps); ``lr_sweep``
    (plain-GD steps to the goal at several rates; a diverged run reaches nothing); ``margin_cut``
    (loss and dL/dm against the margin m = y1 - y2, closed forms beside it); ``figures`` (name ->
    file name) with ``out_dir``. JSON has no infinity: a non-finite number is null.
    """
    config = SurfaceConfig.from_options(**options)
    check_surface_run(config, writes_figures=out_dir is not None)  # memory and magnitudes, before any work
    plane = LogitPlane(num_classes=config.num_classes, target=config.target, swept=config.swept, fixed=config.fixed)
    limits, goal, primary = config.limits, config.goal, ("sgd" if "sgd" in config.optimizers else config.optimizers[0])
    corner = plane.wrong_corner(limits)
    start = config.start if config.start is not None else corner
    center = ((limits[0] + limits[1]) / 2,) * 2

    surfaces = {name: evaluate_grid(name, plane, limits, config.resolution) for name in config.losses}
    # The reported paths and the plain-GD learning-rate sweep share one batch per loss.
    runs = [(opt, config.lr) for opt in config.optimizers] + [("sgd", rate) for rate in config.sweep_lrs]
    paths: dict[str, dict[str, DescentPath]] = {}
    sweeps: dict[str, list[DescentPath]] = {}
    for name in config.losses:
        computed = descent_paths(name, runs, plane, start, steps=config.steps, goal=goal)
        paths[name] = dict(zip(config.optimizers, computed[: len(config.optimizers)]))
        sweeps[name] = computed[len(config.optimizers):]
    cuts = {name: margin_cut(name, plane, config.margin_span, config.margin_points) for name in config.losses}

    report_losses: dict[str, Any] = {}
    reachable: dict[str, bool] = {}
    for name in config.losses:
        surface = surfaces[name]
        optimum = plane_optimum(name, plane)
        reachable[name] = optimum.reachable(goal)
        best = np.unravel_index(int(np.argmin(surface.loss)), surface.loss.shape)
        grid_minimum = (float(surface.axis[best[1]]), float(surface.axis[best[0]]))
        path_reports = {opt: _path_report(path, reachable[name], optimum.p_target, config.steps)
                        for opt, path in paths[name].items()}
        report_losses[name] = {
            "label": loss_info(name).label,
            "description": loss_info(name).description,
            "constant": _json_float(surface.constant),
            "constant_is_infinite": bool(np.isinf(surface.constant)),
            "corner": _point_report(name, plane, corner),
            "center": _point_report(name, plane, center),
            "grid_minimum": {**_point_report(name, plane, grid_minimum), "where": "grid minimum over the limits"},
            "optimum": {**_point_report(name, plane, optimum.point), "p_target": _json_float(optimum.p_target),
                        "loss": _json_float(optimum.loss), "where": optimum.search},
            "goal_reachable": reachable[name],
            "max_grad_norm": _json_float(np.max(surface.grad_norm)),
            "steps_to_p90": path_reports[primary]["steps_to_p90"],
            "steps_to_p90_reason": path_reports[primary]["reason"],
            "paths": path_reports,
        }

    result: dict[str, Any] = {
        "settings": settings_of(config),
        "setup": {
            **plane.describe(),
            "indexing": "0-based class indices; the figures, the report and the command line number classes "
                        "and logits from 1 (z1..zK)",
            "swept_names": [f"z{plane.swept[0] + 1}", f"z{plane.swept[1] + 1}"],
            "limits": list(limits),
            "resolution": config.resolution,
            "corner": list(corner),
            "start": list(start),
            "center": list(center),
            "lr_rule": "the default lr is lr_sweep.largest_monotone_lr on the lecture's plane: the largest "
                       "swept rate at which plain GD lowers every loss at every step",
            "loss_rule": "every loss is reported minus its constant part (the terms of the logits held fixed, "
                         "for a loss that is a sum of per-class terms); held-out (-inf) classes have p = 0 and "
                         "get no smoothing mass",
            "reach_rule": "a path reaches the goal at its first step with p(target) >= goal, unless it diverged "
                          "or the goal is above the plane's optimum (then it can only pass it while overshooting)",
            "optimizers": list(config.optimizers),
            "steps_to_p90_optimizer": primary,
            "lr": config.lr,
            "steps": config.steps,
            "goal": goal,
            "losses": list(config.losses),
        },
        "losses": report_losses,
        "corner_grad_norm_ratio_ce_mse": _ratio(report_losses, "ce", "mse"),
        "lecture_claim": _lecture_claim(report_losses, primary),
        "adam_vs_plateau": _adam_report(paths, config.optimizers),
        "lr_sweep": _lr_sweep(sweeps, reachable),
        "margin_cut": _margin_report(cuts, plane),
    }
    if out_dir is not None:
        from outlayer.surface._draw import write_figures

        result["figures"] = write_figures(out_dir, config, plane, surfaces, paths, cuts, result)
    return result


def _point_report(loss: str, plane: LogitPlane, point: Sequence[float]) -> dict[str, Any]:
    at = evaluate(loss, point[0], point[1], plane)
    return {
        "point": [float(point[0]), float(point[1])],
        "loss": _json_float(at.loss),
        "grad": [_json_float(g) for g in at.grad],
        "grad_norm": _json_float(at.grad_norm),
        "p_target": _json_float(at.p_target),
    }


def _extrapolated_steps(path: DescentPath) -> float | None:
    """For a path that ran out of budget: steps to the goal if it kept its average pace.

    The pace is measured on the odds against the target, q = (1 - p) / p: on a flat plateau of the
    two-way case (lecture plane) GD lowers q by a constant per step (MSE: 8 lr, as dq/dt = -q dd/dt
    and dd/dt = 8 lr p), so the straight-line extrapolation of q is then the actual count.
    """
    if path.steps_to_goal is not None or path.diverged or len(path.p_target) < 2:
        return None
    odds = (1.0 - path.p_target) / np.maximum(path.p_target, np.finfo(float).tiny)
    pace = (odds[0] - odds[-1]) / (len(odds) - 1)
    window = max(1, (len(odds) - 1) // 10)
    recent_pace = (odds[-1 - window] - odds[-1]) / window
    goal_odds = (1.0 - path.goal) / path.goal
    # only a path still moving at its average pace is on a plateau; one that slowed down has
    # settled somewhere short of the goal and gets None
    if not (pace > 0 and recent_pace >= 0.5 * pace) or odds[-1] <= goal_odds:
        return None
    return _json_float(len(odds) - 1 + (odds[-1] - goal_odds) / pace)


def _path_report(path: DescentPath, reachable: bool, optimum_p: float, steps: int) -> dict[str, Any]:
    first = path.points[1] - path.points[0] if len(path.points) > 1 else np.zeros(2)
    if not reachable:
        counted, reason = None, (f"goal unreachable: the plane's optimum has p(target) = {optimum_p:.3g} < "
                                 f"{path.goal:g}; a path can pass the goal only while overshooting")
    elif path.diverged:
        counted, reason = None, "diverged"
    elif path.steps_to_goal is None:
        counted, reason = None, f"not within {steps} steps"
    else:
        counted, reason = path.steps_to_goal, None
    return {
        "steps_to_p90": counted,
        "reason": reason,
        "first_above_goal": path.first_above_goal,
        "max_p_target": _json_float(path.max_p_target),
        "extrapolated_steps_to_p90": _extrapolated_steps(path) if reachable else None,
        "first_step_length": _json_float(np.hypot(*first)),
        "first_step": [_json_float(x) for x in first],
        "diverged": path.diverged,
        "final": {
            "point": [_json_float(x) for x in path.points[-1]],
            "loss": _json_float(path.loss[-1]),
            "p_target": _json_float(path.p_target[-1]),
            "grad_norm": _json_float(path.grad_norm[-1]),
        },
    }


def _lecture_claim(report: Mapping[str, Any], optimizer: str) -> dict[str, Any] | None:
    """Does this run show the lecture's point: CE reaches the goal from the start and MSE does not?"""
    if "ce" not in report or "mse" not in report:
        return None
    ce, mse = report["ce"]["paths"][optimizer]["steps_to_p90"], report["mse"]["paths"][optimizer]["steps_to_p90"]
    return {"optimizer": optimizer, "ce_steps_to_p90": ce, "mse_steps_to_p90": mse,
            "holds": ce is not None and mse is None}


def _ratio(report: Mapping[str, Any], top: str, bottom: str) -> float | None:
    if top not in report or bottom not in report:
        return None
    a, b = report[top]["corner"]["grad_norm"], report[bottom]["corner"]["grad_norm"]
    return _json_float(a / b) if a is not None and b else None


def _adam_report(paths: Mapping[str, Mapping[str, DescentPath]], optimizers: Sequence[str]) -> dict[str, Any] | None:
    """MSE against CE under each optimiser: steps to the goal and the first step from the start.

    Under plain GD the first MSE step from the corner is ~1e-8 the CE step. Adam's first step is
    ``lr m_hat / (sqrt(v_hat) + eps)`` with m_hat = g and sqrt(v_hat) = |g|: per coordinate
    ``lr |g| / (|g| + eps)``, i.e. ~lr whatever the gradient's scale once |g| >> eps. At MSE's
    corner |g| ~ 8e-9 is below eps = 1e-8, so the step is about 0.45 lr: Adam removes the scale of
    the gradient (down to eps), which is all there is to MSE's plateau on a single point.
    """
    if "ce" not in paths or "mse" not in paths:
        return None
    out: dict[str, Any] = {}
    for opt in optimizers:
        ce, mse = paths["ce"][opt], paths["mse"][opt]
        firsts = {}
        for name, path in (("ce", ce), ("mse", mse)):
            firsts[name] = float(np.hypot(*(path.points[1] - path.points[0]))) if len(path.points) > 1 else 0.0
        out[opt] = {
            "steps_to_p90": {"ce": ce.steps_to_goal, "mse": mse.steps_to_goal},
            "steps_ratio_mse_ce": (_json_float(mse.steps_to_goal / ce.steps_to_goal)
                                   if ce.steps_to_goal and mse.steps_to_goal is not None else None),
            "first_step_length": {k: _json_float(v) for k, v in firsts.items()},
            "first_step_ratio_mse_ce": _json_float(firsts["mse"] / firsts["ce"]) if firsts["ce"] else None,
        }
        if opt == "adam":
            out[opt]["first_step_vs_gradient"] = {
                name: _adam_first_step(path) for name, path in (("ce", ce), ("mse", mse))
            }
    return out


def _adam_first_step(path: DescentPath) -> dict[str, Any]:
    """Adam's measured first step per coordinate, over lr, beside the gradient over eps there."""
    from outlayer.optim import Adam

    eps = Adam(path.lr).eps  # the optimiser's own default, the one the path ran with
    grad = evaluate(path.loss_name, *path.points[0]).grad if len(path.points) else np.zeros(2)
    step = np.abs(path.points[1] - path.points[0]) if len(path.points) > 1 else np.zeros(2)
    return {
        "eps": eps,
        "lr": path.lr,
        "abs_grad": [_json_float(g) for g in np.abs(grad)],
        "grad_over_eps": [_json_float(g) for g in np.abs(grad) / eps],
        "step_over_lr": [_json_float(s) for s in step / path.lr],
    }


def is_monotone(values: np.ndarray) -> bool:
    """No step increases the loss (beyond float64 rounding of the loss itself)."""
    values = np.asarray(values, dtype=float)
    tolerance = 1e-12 * np.maximum(np.abs(values[:-1]), 1.0)
    return bool(np.all(np.diff(values) <= tolerance))


def _lr_sweep(sweeps: Mapping[str, Sequence[DescentPath]], reachable: Mapping[str, bool]) -> dict[str, Any]:
    """Plain GD at each swept rate: steps to the goal and whether every step lowered the loss.

    A diverged path, or one whose goal is out of reach, reaches nothing (null).
    ``largest_monotone_lr`` is the largest swept rate at which plain GD descends monotonically
    for every loss: the default lr is that rate for the lecture's plane.
    """
    rates = [path.lr for path in next(iter(sweeps.values()))]
    monotone = {name: [is_monotone(path.loss) and not path.diverged for path in paths]
                for name, paths in sweeps.items()}
    stable = [rate for index, rate in enumerate(rates) if all(flags[index] for flags in monotone.values())]
    return {
        "optimizer": "sgd",
        "lrs": rates,
        "steps_to_p90": {name: [path.steps_to_goal if reachable[name] else None for path in paths]
                         for name, paths in sweeps.items()},
        "monotone": monotone,
        "diverged": {name: [path.diverged for path in paths] for name, paths in sweeps.items()},
        "largest_monotone_lr": max(stable) if stable else None,
    }


def closed_forms_hold(loss: str, plane: LogitPlane, loss_options: Mapping[str, Any] | None = None) -> bool:
    """Do :data:`MARGIN_CLOSED_FORMS` describe ``loss`` on ``plane`` (the two-class limit)?"""
    if plane.target not in plane.swept or loss not in MARGIN_CLOSED_FORMS:
        return False
    defaults = _CLOSED_FORM_OPTIONS.get(loss, {})
    if any((loss_options or {}).get(k, v) != v for k, v in defaults.items()):
        return False
    others = plane.num_classes - 2
    return loss_info(loss).separable or len(plane.held_out) == others


def _closed_form(loss: str) -> dict[str, str]:
    forms = dict(MARGIN_CLOSED_FORMS[loss])
    if "{half_eps}" in forms["loss"]:
        eps = next(o.default for o in loss_info(loss).options if o.name == "label_smoothing")
        forms = {k: v.replace("{half_eps}", f"{eps / 2:g}") for k, v in forms.items()}
    return forms


def _margin_report(cuts: Mapping[str, ProbabilityCurve], plane: LogitPlane) -> dict[str, Any]:
    """The margin cut in the JSON: every ``step``-th point of each curve and the closed forms."""
    any_curve = next(iter(cuts.values()))
    step = max(1, (len(any_curve.margin) - 1) // (_MARGIN_JSON_POINTS - 1))
    keep = slice(None, None, step)
    target_up = f"y{plane.target + 1}" if plane.target in plane.swept else f"y{plane.swept[0] + 1}"
    other = [f"y{c + 1}" for c in plane.swept if f"y{c + 1}" != target_up][0]
    return {
        "line": f"{target_up} = +m/2, {other} = -m/2, so m = {target_up} - {other}",
        "margin": [float(m) for m in any_curve.margin[keep]],
        "losses": {
            name: {
                "loss": [_json_float(x) for x in curve.loss[keep]],
                "grad_margin": [_json_float(x) for x in curve.grad_margin[keep]],
                "p_target": [_json_float(x) for x in curve.p_target[keep]],
                "closed_form": _closed_form(name) if closed_forms_hold(name, plane) else None,
            }
            for name, curve in cuts.items()
        },
    }
