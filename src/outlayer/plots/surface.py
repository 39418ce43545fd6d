"""Figures of the error-surface lab (:mod:`outlayer.surface`).

Each function takes data only: the lab's arrays (:class:`~outlayer.surface.Surface`,
:class:`~outlayer.surface.DescentPath`, ...) and the numbers the lab measured (step counts,
closed forms), and returns :class:`~outlayer.plots.Panels`, one panel per loss (or per
optimiser, or per quantity), each :data:`~outlayer.plots.PANEL_WIDTH` inches wide so that it
reads on a phone. Nothing here calls a loss or the lab; the only arithmetic is what drawing needs
(strides, colour limits, clipping for log scales).

Conventions: the x axis is always the first swept logit (u), the y axis the second (v), labelled
z₁, z₂ (1-based, as everywhere a reader sees a class), the true class's marked "(t)"; the start of
the descent paths is a gold star in every map; the dashed line is where p_t reaches the goal.
Labels are symbols and the short loss names (:data:`~outlayer.plots.FIGURE_NAMES`): the report's
captions explain them in each language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from outlayer.plots import (
    ANNOTATION_COLOR,
    LOSS_COLORS,
    PANEL_WIDTH,
    REFERENCE_COLOR,
    Panels,
    figure_name,
    legend_below,
    log_axis,
    new_figure,
    styled,
    subscript,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from outlayer.surface import DescentPath, LogitPlane, ProbabilityCurve, Surface

__all__ = [
    "OPTIMIZER_STYLES",
    "axis_labels",
    "contour_paths_figure",
    "gradient_heatmaps_figure",
    "margin_cut_figure",
    "probability_curves_figure",
    "progress_figure",
    "steps_map_figure",
    "surfaces_3d_figure",
]

#: Line style per optimiser: colours no loss uses (the loss colours mean losses everywhere).
OPTIMIZER_STYLES: dict[str, dict[str, object]] = {
    "sgd": {"color": "#9467bd", "linestyle": "-", "label": "GD"},
    "momentum": {"color": "#e377c2", "linestyle": "--", "label": "momentum 0.9"},
    "adam": {"color": "#17becf", "linestyle": ":", "label": "Adam"},
}
_CORNER_STYLE = {"marker": "*", "s": 220, "color": "#ffd700", "edgecolor": "black", "linewidths": 1.0, "zorder": 6}
#: The goal's dashed line: white with a dark edge, visible on every colour map.
_GOAL_STYLE = {"colors": "white", "linestyles": [(0, (4, 2.5))], "linewidths": 1.3}
_MAP_SIZE = (PANEL_WIDTH, 3.9)


def _optimizer_label(optimizer: str) -> str:
    return str(OPTIMIZER_STYLES.get(optimizer, {"label": optimizer})["label"])


def axis_labels(plane: LogitPlane) -> tuple[str, str]:
    """The swept logits' names, 1-based, with the true class's marked: ``("z₁ (t)", "z₂")``."""
    return tuple(f"z{subscript(index + 1)}" + (" (t)" if index == plane.target else "")  # type: ignore[return-value]
                 for index in plane.swept)


def p_label(plane: LogitPlane) -> str:
    """The true class's probability, 1-based: ``"p₁"``."""
    return f"p{subscript(plane.target + 1)}"


def _map(ax: Axes, axis: np.ndarray, values: np.ndarray, max_pixels: int = 121, **style: object):
    """``values[r, c]`` (at u = axis[c], v = axis[r]) as an image of at most ``max_pixels`` per side,
    one pixel per grid point: the SVG embeds that small image and the browser scales it, so a map
    costs a few kB whatever the screen (matplotlib's ``interpolation="none"``)."""
    stride = max(1, math.ceil(len(axis) / max_pixels))
    shown = values[::stride, ::stride]
    kept = axis[::stride]
    half = (kept[1] - kept[0]) / 2 if len(kept) > 1 else 0.5
    return ax.imshow(shown, origin="lower", extent=(kept[0] - half, kept[-1] + half, kept[0] - half, kept[-1] + half),
                     interpolation="none", aspect="equal", **style)


def _mark_corner(ax: Axes, corner: Sequence[float]) -> None:
    ax.scatter([corner[0]], [corner[1]], clip_on=False, **_CORNER_STYLE)


def _frame(ax: Axes, axis: np.ndarray, plane: LogitPlane, title: str) -> None:
    """Square map over the sweep range, a little margin so the corner star is not cut, labelled axes."""
    pad = 0.04 * (axis[-1] - axis[0])
    ax.set_xlim(axis[0] - pad, axis[-1] + pad)
    ax.set_ylim(axis[0] - pad, axis[-1] + pad)
    ax.set_aspect("equal")
    x_label, y_label = axis_labels(plane)
    ax.set_xlabel(x_label, labelpad=1)
    ax.set_ylabel(y_label, labelpad=1)
    ax.set_title(title)
    ticks = np.linspace(axis[0], axis[-1], 5)
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])


def _goal_contour(ax: Axes, surface: Surface, goal: float) -> bool:
    """Dashed line where p_t = goal; False when the plane never crosses the goal."""
    if not surface.p_target.min() < goal < surface.p_target.max():
        return False
    import matplotlib.patheffects as effects

    lines = ax.contour(surface.axis, surface.axis, surface.p_target, levels=[goal], **_GOAL_STYLE)
    lines.set(path_effects=[effects.withStroke(linewidth=2.4, foreground=REFERENCE_COLOR)])
    return True


def _goal_handle(goal: float, plane: LogitPlane):
    import matplotlib.patheffects as effects
    from matplotlib.lines import Line2D

    return Line2D([], [], color="white", linestyle=(0, (4, 2.5)), linewidth=1.3, label=f"{p_label(plane)} = {goal:g}",
                  path_effects=[effects.withStroke(linewidth=2.4, foreground=REFERENCE_COLOR)])


@styled
def surfaces_3d_figure(surfaces: Mapping[str, Surface], corner: Sequence[float],
                       corner_losses: Mapping[str, float | None] | None = None,
                       titles: Mapping[str, str] | None = None, max_points: int = 101) -> Panels:
    """The lecture's figure: each loss as a 3-D surface over the two swept logits, one panel each.

    Each panel keeps its own vertical scale (the losses live on different scales, each drawn
    minus its constant part); the grid is thinned to about ``max_points`` per axis so the file
    stays light. The start is a star at height ``corner_losses[name]`` (the lab's number).
    ``titles`` replaces the short loss names above the panels.
    """
    panels = Panels()
    for name, surface in surfaces.items():
        fig = new_figure(PANEL_WIDTH, 3.5, layout=None)
        ax = fig.add_axes((-0.01, 0.0, 0.91, 0.98), projection="3d")
        stride = max(1, math.ceil(len(surface.axis) / max_points))
        axis = surface.axis[::stride]
        uu, vv = np.meshgrid(axis, axis)
        ax.plot_surface(uu, vv, surface.loss[::stride, ::stride], cmap="viridis", linewidth=0, antialiased=True,
                        rcount=len(axis), ccount=len(axis), rasterized=True)
        ticks = np.linspace(surface.axis[0], surface.axis[-1], 3)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.zaxis.set_major_locator(_max_n_locator(4))
        corner_loss = (corner_losses or {}).get(surface.loss_name)
        if corner_loss is not None:
            ax.scatter([corner[0]], [corner[1]], [corner_loss], marker="*", s=180, color="#ffd700",
                       edgecolor="black", depthshade=False, zorder=10)
        x_label, y_label = axis_labels(surface.plane)
        ax.set_xlabel(x_label, labelpad=7)
        ax.set_ylabel(y_label, labelpad=7)
        ax.set_zlabel(figure_name(name), labelpad=6)
        ax.view_init(elev=28, azim=-50)
        ax.set_box_aspect(None, zoom=0.95)
        fig.suptitle((titles or {}).get(name, figure_name(name)), y=0.97)
        panels[name] = fig
    return panels


def _max_n_locator(n: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n)


@styled
def contour_paths_figure(
    surfaces: Mapping[str, Surface],
    paths: Mapping[str, Mapping[str, DescentPath]],
    corner: Sequence[float],
    titles: Mapping[str, str] | None = None,
    marks: Mapping[str, Mapping[str, str]] | None = None,
) -> Panels:
    """Filled contours of each loss (one panel per loss) with every optimiser's descent path.

    Colours are per panel (the losses have different units). The legend under each map gives
    each optimiser's outcome: ``marks[loss][optimizer]`` (e.g. "31", "> 200", "—"), else the
    path's own step count. A path that never left its start is annotated with how far it moved.
    """
    panels = Panels()
    for name, surface in surfaces.items():
        fig = new_figure(PANEL_WIDTH, 4.6)
        ax = fig.subplots()
        from matplotlib.colors import BoundaryNorm

        levels = np.linspace(float(np.min(surface.loss)), float(np.max(surface.loss)), 25)
        # 24 bands of grey, as filled contours would draw them, in one small image
        filled = _map(ax, surface.axis, surface.loss, cmap="Greys", norm=BoundaryNorm(levels, 256))
        bar = fig.colorbar(filled, ax=ax, shrink=0.92, pad=0.02)
        bar.set_label(figure_name(name), labelpad=4)
        bar.locator = _max_n_locator(5)
        bar.update_ticks()
        per_loss = paths.get(name, {})
        goal = next(iter(per_loss.values())).goal if per_loss else 0.9
        handles = []
        for optimizer, path in per_loss.items():
            style = dict(OPTIMIZER_STYLES.get(optimizer, {"color": "black", "linestyle": "-", "label": optimizer}))
            outcome = (marks or {}).get(name, {}).get(optimizer) or _default_mark(path)
            style["label"] = f"{style['label']}: {outcome}"
            (line,) = ax.plot(path.points[:, 0], path.points[:, 1], linewidth=2.0, marker="o", markersize=2.5,
                              markevery=max(1, len(path.points) // 50), **style)
            handles.append(line)
        if _goal_contour(ax, surface, goal):
            handles.append(_goal_handle(goal, surface.plane))
        _mark_corner(ax, corner)
        _note_stuck(ax, surface, per_loss, corner)
        _frame(ax, surface.axis, surface.plane, (titles or {}).get(name, figure_name(name)))
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
        panels[name] = fig
    return panels


def _default_mark(path: DescentPath) -> str:
    if path.steps_to_goal is not None:
        return str(path.steps_to_goal)
    return "—" if path.diverged else f"> {len(path.points) - 1}"


def _note_stuck(ax: Axes, surface: Surface, paths: Mapping[str, DescentPath], corner: Sequence[float]) -> None:
    """Annotate a path that never got away from its start (it is hidden under the star) with how far
    it moved: ``‖z₂₀₀ − z₀‖ ≤ 1.1e-05`` after the budget of 200 steps."""
    reach = 0.02 * (surface.axis[-1] - surface.axis[0])
    stuck = [path for path in paths.values() if float(np.max(np.hypot(*(path.points - path.points[0]).T))) < reach]
    if not stuck:
        return
    names = ", ".join(_optimizer_label(p.optimizer) for p in stuck)
    moved = max(float(np.max(np.hypot(*(p.points - p.points[0]).T))) for p in stuck)
    last = len(stuck[0].points) - 1
    ax.annotate(f"{names}\n‖z{subscript(last)} − z₀‖ ≤ {moved:.1e}", xy=(corner[0], corner[1]), xytext=(0.55, 0.74),
                textcoords="axes fraction", ha="center", color=ANNOTATION_COLOR,
                bbox={"boxstyle": "round", "fc": "white", "ec": ANNOTATION_COLOR, "alpha": 0.95},
                arrowprops={"arrowstyle": "->", "color": ANNOTATION_COLOR, "linewidth": 1.5})


@styled
def gradient_heatmaps_figure(surfaces: Mapping[str, Surface], corner: Sequence[float],
                             titles: Mapping[str, str] | None = None, arrows: int = 9) -> Panels:
    """‖∇L‖ over the plane on one logarithmic colour scale shared by every panel, with the descent direction.

    Arrows show the direction of -∇L (unit length: the colour carries the magnitude). Magnitudes
    below 1e-12 of the largest are drawn at that floor (the log scale has no zero). The norm at
    the start is written beside the star.
    """
    from matplotlib.colors import LogNorm

    top = max(float(s.grad_norm.max()) for s in surfaces.values())
    positive = [float(s.grad_norm[s.grad_norm > 0].min()) for s in surfaces.values() if np.any(s.grad_norm > 0)]
    floor = max(min(positive, default=top * 1e-12), top * 1e-12)
    norm = LogNorm(vmin=floor, vmax=top)  # one scale: a dark cell means the same small push in every panel
    panels = Panels()
    for name, surface in surfaces.items():
        fig = new_figure(*_MAP_SIZE)
        ax = fig.subplots()
        magnitude = np.clip(surface.grad_norm, floor, None)
        image = _map(ax, surface.axis, magnitude, norm=norm, cmap="magma")
        stride = max(1, len(surface.axis) // arrows)
        sub = slice(stride // 2, None, stride)
        direction = -surface.grad[sub, sub]
        length = np.hypot(direction[..., 0], direction[..., 1])
        unit = np.divide(direction, length[..., None], out=np.zeros_like(direction), where=length[..., None] > 0)
        ax.quiver(surface.axis[sub], surface.axis[sub], unit[..., 0], unit[..., 1], color="white", alpha=0.9,
                  edgecolor="black", linewidth=0.4, scale=arrows * 1.6, width=0.005)
        _goal_contour(ax, surface, 0.9)
        _mark_corner(ax, corner)
        _frame(ax, surface.axis, surface.plane, (titles or {}).get(name, figure_name(name)))
        at_corner = _nearest(surface, corner)
        ax.annotate(f"‖∇{figure_name(name)}‖ = {at_corner:.1e}", xy=(corner[0], corner[1]), xytext=(0.58, 0.86),
                    textcoords="axes fraction", ha="center", color=ANNOTATION_COLOR,
                    bbox={"boxstyle": "round", "fc": "white", "ec": ANNOTATION_COLOR, "alpha": 0.95},
                    arrowprops={"arrowstyle": "->", "color": ANNOTATION_COLOR, "linewidth": 1.2})
        bar = fig.colorbar(image, ax=ax, shrink=0.92, pad=0.02)
        log_axis(bar.ax.yaxis)
        bar.set_label("‖∇L‖", labelpad=4)
        panels[name] = fig
    return panels


def _nearest(surface: Surface, point: Sequence[float]) -> float:
    column = int(np.argmin(np.abs(surface.axis - point[0])))
    row = int(np.argmin(np.abs(surface.axis - point[1])))
    return float(surface.grad_norm[row, column])


@styled
def progress_figure(paths: Mapping[str, Mapping[str, DescentPath]], goal: float = 0.9,
                    marks: Mapping[str, Mapping[str, str]] | None = None, p_name: str = "pₜ") -> Panels:
    """p_t along each descent path, one panel per optimiser, one line per loss, on a logit scale.

    The logit scale shows both a path stuck at p ~ 1e-9 and one at p ~ 1 - 1e-6. The legend gives
    each loss's outcome (``marks``, as in :func:`contour_paths_figure`); ``p_name`` is the
    true class's symbol (``"p₁"``).
    """
    optimizers = list(dict.fromkeys(opt for per_loss in paths.values() for opt in per_loss))
    panels = Panels()
    for optimizer in optimizers:
        fig = new_figure(PANEL_WIDTH, 4.1)
        ax = fig.subplots()
        for name, per_loss in paths.items():
            path = per_loss.get(optimizer)
            if path is None:
                continue
            outcome = (marks or {}).get(name, {}).get(optimizer) or _default_mark(path)
            steps = np.arange(len(path.p_target))
            p = np.clip(path.p_target, 1e-15, 1 - 1e-15)  # the logit scale has no 0 or 1
            ax.plot(steps + 1, p, color=LOSS_COLORS.get(name, "#7f7f7f"), linewidth=2,
                    label=f"{figure_name(name)}: {outcome}")
        ax.axhline(goal, color=REFERENCE_COLOR, linestyle="--", linewidth=1, label=f"{p_name} = {goal:g}")
        ax.set_xscale("log")
        log_axis(ax.xaxis)
        ax.set_yscale("logit")
        ax.set_ylim(1e-10, 1 - 1e-6)
        ax.set_yticks([1e-9, 1e-6, 1e-3, 0.5, 1 - 1e-3, 1 - 1e-6], ["10⁻⁹", "10⁻⁶", "10⁻³", "0.5", "1−10⁻³", "1−10⁻⁶"])
        ax.minorticks_off()
        ax.set_xlabel("step + 1")
        ax.set_ylabel(p_name)
        lr = next(iter(paths.values()))[optimizer].lr
        ax.set_title(f"{_optimizer_label(optimizer)}, lr {lr:g}")
        ax.grid(True, which="major", alpha=0.3)
        legend_below(fig, ax, ncols=2)
        panels[optimizer] = fig
    return panels


@styled
def probability_curves_figure(curves: Mapping[str, ProbabilityCurve], p_name: str = "pₜ") -> Panels:
    """Loss and gradient magnitude against p_t: the lecture's "steep CE, flat MSE", two panels.

    ``loss``: the loss minus its minimum along the line, against p on a linear axis (the worst
    case is p -> 0 on the left). ``gradient``: ‖∇L‖ on a log scale against p on a logit scale.
    """
    loss_fig = new_figure(PANEL_WIDTH, 3.9)
    left = loss_fig.subplots()
    grad_fig = new_figure(PANEL_WIDTH, 3.9)
    right = grad_fig.subplots()
    ceiling = 0.0
    for name, curve in curves.items():
        excess = curve.loss - np.min(curve.loss)
        left.plot(curve.p_target, excess, color=LOSS_COLORS.get(name, "#7f7f7f"), linewidth=2, label=figure_name(name))
        inside = (curve.p_target > 0.01) & (curve.p_target < 0.99)
        ceiling = max(ceiling, float(np.max(excess[inside])) if np.any(inside) else 0.0)
        p = np.clip(curve.p_target, 1e-15, 1 - 1e-15)  # the logit scale has no 0 or 1
        right.plot(p, np.clip(curve.grad_norm, 1e-300, None), color=LOSS_COLORS.get(name, "#7f7f7f"), linewidth=2,
                   label=figure_name(name))
    left.set_xlim(0, 1)
    left.set_ylim(0, min(ceiling * 1.05, 6.0) if ceiling > 0 else 1.0)
    left.set_xlabel(p_name)
    left.set_ylabel("L − min L")
    left.grid(alpha=0.3)
    right.set_xscale("logit")
    right.set_xticks([1e-12, 1e-6, 0.5, 1 - 1e-6, 1 - 1e-12], ["10⁻¹²", "10⁻⁶", "0.5", "1−10⁻⁶", "1−10⁻¹²"])
    right.minorticks_off()
    right.set_yscale("log")
    log_axis(right.yaxis)
    right.set_xlabel(f"{p_name} (logit scale)")
    right.set_ylabel("‖∇L‖")
    right.grid(alpha=0.3, which="major")
    for fig, ax in ((loss_fig, left), (grad_fig, right)):
        legend_below(fig, ax, ncols=4)
    return Panels(loss=loss_fig, gradient=grad_fig)


@styled
def steps_map_figure(
    maps: Mapping[str, tuple[np.ndarray, np.ndarray]],
    plane: LogitPlane,
    corner: Sequence[float],
    *,
    optimizer: str,
    lr: float,
    steps: int,
    goal: float,
) -> Panels:
    """From each start point, the steps an optimiser needs to reach p_t >= goal; one panel per loss.

    One logarithmic colour scale for every panel; grey where the budget ran out first (the
    title gives that share of the starts).
    """
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm

    never_grey = colormaps["viridis_r"].with_extremes(bad="#bbbbbb")  # NaN = never within the budget
    norm = LogNorm(vmin=1, vmax=max(steps, 2))
    panels = Panels()
    for name, (axis, counts) in maps.items():
        fig = new_figure(*_MAP_SIZE)
        ax = fig.subplots()
        image = _map(ax, axis, np.ma.masked_invalid(np.maximum(counts, 1)), norm=norm, cmap=never_grey)
        never = float(np.mean(np.isnan(counts)))
        _mark_corner(ax, corner)
        _frame(ax, axis, plane, f"{figure_name(name)}: {never:.0%} > {steps}")
        bar = fig.colorbar(image, ax=ax, shrink=0.92, pad=0.02)
        log_axis(bar.ax.yaxis)
        bar.set_label(f"steps to {p_label(plane)} ≥ {goal:g} ({_optimizer_label(optimizer)}, lr {lr:g})", labelpad=4)
        panels[name] = fig
    return panels


@styled
def margin_cut_figure(curves: Mapping[str, ProbabilityCurve],
                      closed_forms: Mapping[str, Mapping[str, str] | None], margin: str = "m") -> Panels:
    """The 1-D margin cut: each loss (panel ``loss``) and its derivative dL/dm (panel ``slope``)
    against the margin m.

    Solid lines are the lab's numbers (the core's loss and gradient along the line); each legend
    entry prints the closed form of that curve where one is known (the tests check the closed
    forms against the same numbers). The loss is on a log scale when every value is positive.
    The slope's size at m << 0 is how hard the loss pushes a confidently wrong prediction (CE:
    about -1; MSE: about -4 e^m, vanishing). ``margin`` names the axis (``"m = z₁ − z₂"``).
    """
    loss_fig = new_figure(PANEL_WIDTH, 4.4)
    left = loss_fig.subplots()
    slope_fig = new_figure(PANEL_WIDTH, 4.4)
    right = slope_fig.subplots()
    for name, curve in curves.items():
        forms = closed_forms.get(name) or {}
        short = figure_name(name)
        left.plot(curve.margin, curve.loss, color=LOSS_COLORS.get(name, "#7f7f7f"), linewidth=2,
                  label=f"{short}: {forms['loss']}" if "loss" in forms else short)
        right.plot(curve.margin, curve.grad_margin, color=LOSS_COLORS.get(name, "#7f7f7f"), linewidth=2,
                   label=f"{short}: {forms['grad']}" if "grad" in forms else short)
    if all(float(np.min(c.loss)) > 0 for c in curves.values()):
        left.set_yscale("log")
        log_axis(left.yaxis)
    # the probability losses' slopes live in [-1, 1]; an unbounded slope (the square loss on logits'
    # m - 1) would flatten them to a line, so it may leave the frame (its legend entry says how it goes)
    slopes = [c.grad_margin for c in curves.values()]
    bounded = [s for s in slopes if np.all(np.abs(s) <= 2.0)]
    if bounded:
        right.set_ylim(min(-1.1, min(float(np.min(s)) for s in bounded)) - 0.1, 0.5)
    for fig, ax, ylabel in ((loss_fig, left, "L"), (slope_fig, right, "∂L/∂m")):
        ax.axvline(0.0, color=REFERENCE_COLOR, linewidth=0.6)
        ax.set_xlabel(margin)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        legend_below(fig, ax, ncols=1)
    right.axhline(0.0, color=REFERENCE_COLOR, linewidth=0.6)
    return Panels(loss=loss_fig, slope=slope_fig)
