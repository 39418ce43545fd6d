"""Figures of the error-surface lab (:mod:`outlayer.surface`).

Each function takes data only: the lab's arrays (:class:`~outlayer.surface.Surface`,
:class:`~outlayer.surface.DescentPath`, ...) and the numbers and words the lab measured (titles,
step counts, closed forms), and returns a :class:`matplotlib.figure.Figure` built with
:func:`outlayer.plots.new_figure`. Nothing here calls a loss or the lab; the only arithmetic is
what drawing needs (strides, colour limits, clipping for log scales). The x axis is always the first swept logit (u), the y axis the
second (v), and the wrong-but-confident start corner is marked with a star in every map.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from outlayer.plots import LOSS_COLORS, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from outlayer.surface import DescentPath, LogitPlane, ProbabilityCurve, Surface

__all__ = [
    "contour_paths_figure",
    "gradient_heatmaps_figure",
    "margin_cut_figure",
    "probability_curves_figure",
    "progress_figure",
    "steps_map_figure",
    "surfaces_3d_figure",
]

#: Line style per optimiser, readable on the light-to-dark colour maps used below.
OPTIMIZER_STYLES: dict[str, dict[str, object]] = {
    "sgd": {"color": "#d62728", "linestyle": "-", "label": "plain GD"},
    "momentum": {"color": "#ff7f0e", "linestyle": "--", "label": "momentum 0.9"},
    "adam": {"color": "#17becf", "linestyle": ":", "label": "Adam"},
}
_CORNER_STYLE = {"marker": "*", "s": 260, "color": "#ffd700", "edgecolor": "black", "linewidths": 1.0, "zorder": 6}


def _grid_shape(count: int) -> tuple[int, int]:
    """Rows and columns for ``count`` panels: side by side up to 2, then two columns."""
    return (1, count) if count <= 2 else (math.ceil(count / 2), 2)


def _color(name: str) -> str:
    return LOSS_COLORS.get(name, "#7f7f7f")


def _axis_labels(plane: LogitPlane, short: bool = False) -> tuple[str, str]:
    """Axis names in the lecture's 1-based notation, saying which logit is the target's."""
    names = []
    for index in plane.swept:
        role = "target" if index == plane.target else "wrong class"
        names.append(f"y{index + 1} ({role})" if short else f"y{index + 1}: logit of class {index + 1} ({role})")
    return names[0], names[1]


def _title(surface: Surface, titles: Mapping[str, str] | None) -> str:
    return (titles or {}).get(surface.loss_name, surface.loss_name)


def _start_label(plane: LogitPlane, axis: np.ndarray, start: Sequence[float]) -> str:
    """Call the start the wrong-but-confident corner only when it is that corner."""
    is_corner = np.allclose(start, plane.wrong_corner((float(axis[0]), float(axis[-1]))))
    return "start: wrong but confident" if is_corner else "start of the paths"


def _mark_corner(ax: Axes, corner: Sequence[float], plane: LogitPlane, axis: np.ndarray, label: bool = True) -> None:
    ax.scatter([corner[0]], [corner[1]], label=_start_label(plane, axis, corner) if label else None, clip_on=False,
               **_CORNER_STYLE)


def _frame(ax: Axes, axis: np.ndarray, plane: LogitPlane, title: str) -> None:
    """Square map over the sweep range, a little margin so the corner star is not cut, labelled axes."""
    pad = 0.03 * (axis[-1] - axis[0])
    ax.set_xlim(axis[0] - pad, axis[-1] + pad)
    ax.set_ylim(axis[0] - pad, axis[-1] + pad)
    ax.set_aspect("equal")
    x_label, y_label = _axis_labels(plane)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title, fontsize=9)


def _goal_contour(ax: Axes, surface: Surface, goal: float = 0.9, color: str = "white") -> None:
    """Dashed line where p(target) = goal: the region past it counts as "escaped"."""
    if surface.p_target.min() < goal < surface.p_target.max():
        lines = ax.contour(surface.axis, surface.axis, surface.p_target, levels=[goal], colors=color,
                           linestyles="--", linewidths=1.2)
        # label the line in the upper right, away from the legend in the lower left
        corner_hint = surface.axis[-1] - 0.25 * (surface.axis[-1] - surface.axis[0])
        ax.clabel(lines, fmt={goal: f"p = {goal:g}"}, fontsize=8, manual=[(corner_hint, corner_hint)])


def surfaces_3d_figure(surfaces: Mapping[str, Surface], corner: Sequence[float],
                       corner_losses: Mapping[str, float | None] | None = None,
                       titles: Mapping[str, str] | None = None, max_points: int = 41) -> Figure:
    """The lecture's figure: each loss as a 3-D surface over the two swept logits, side by side.

    Each panel keeps its own z scale (the losses live on different scales, each drawn minus its
    constant part); the grid is thinned to about ``max_points`` per axis so the figure stays
    light. The start corner is a star at height ``corner_losses[name]`` (the lab's number).
    """
    rows, cols = _grid_shape(len(surfaces))
    fig = new_figure(5.2 * cols, 4.6 * rows)
    for index, surface in enumerate(surfaces.values()):
        ax = fig.add_subplot(rows, cols, index + 1, projection="3d")
        stride = max(1, math.ceil(len(surface.axis) / max_points))
        axis = surface.axis[::stride]
        uu, vv = np.meshgrid(axis, axis)
        ax.plot_surface(uu, vv, surface.loss[::stride, ::stride], cmap="viridis", linewidth=0, antialiased=True,
                        rcount=len(axis), ccount=len(axis), alpha=0.95, rasterized=True)
        ticks = np.linspace(surface.axis[0], surface.axis[-1], 5)
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        corner_loss = (corner_losses or {}).get(surface.loss_name)
        if corner_loss is not None:
            ax.scatter([corner[0]], [corner[1]], [corner_loss], marker="*", s=200, color="#ffd700",
                       edgecolor="black", depthshade=False, zorder=10,
                       label=_start_label(surface.plane, surface.axis, corner))
        x_label, y_label = _axis_labels(surface.plane, short=True)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_zlabel("loss")
        ax.set_title(_title(surface, titles), fontsize=9)
        ax.view_init(elev=28, azim=-50)
        if index == 0 and corner_loss is not None:
            ax.legend(loc="upper left", fontsize=8)
    fig.suptitle("Error surfaces over two logits: the start corner (star) is flat for MSE, steep for CE")
    return fig


def _reach_text(path: DescentPath, reach: Mapping[str, Mapping[str, str]] | None, name: str) -> str:
    """The lab's words for a path's outcome ("12 steps", "never", "goal unreachable")."""
    if reach is not None and path.optimizer in reach.get(name, {}):
        return reach[name][path.optimizer]
    return "never" if path.steps_to_goal is None else f"{path.steps_to_goal} steps"


def contour_paths_figure(
    surfaces: Mapping[str, Surface],
    paths: Mapping[str, Mapping[str, DescentPath]],
    corner: Sequence[float],
    titles: Mapping[str, str] | None = None,
    reach: Mapping[str, Mapping[str, str]] | None = None,
) -> Figure:
    """Filled contour maps of each loss with the descent paths of every optimiser drawn on them.

    Colours are per panel (the losses have different units); the legend gives each optimiser's
    outcome (``reach[loss][optimizer]``, the lab's words), the dashed line is p(target) = goal.
    """
    rows, cols = _grid_shape(len(surfaces))
    fig = new_figure(5.6 * cols, 4.8 * rows)
    for index, (name, surface) in enumerate(surfaces.items()):
        ax = fig.add_subplot(rows, cols, index + 1)
        filled = ax.contourf(surface.axis, surface.axis, surface.loss, levels=24, cmap="Greys")
        filled.set_rasterized(True)  # thousands of contour polygons would make a heavy SVG
        fig.colorbar(filled, ax=ax, label="loss", shrink=0.9)
        goal = next(iter(paths[name].values())).goal if paths.get(name) else 0.9
        _goal_contour(ax, surface, goal, color="#2ca02c")
        for optimizer, path in paths.get(name, {}).items():
            style = dict(OPTIMIZER_STYLES.get(optimizer, {"color": "black", "linestyle": "-", "label": optimizer}))
            style["label"] = f"{style['label']} (lr {path.lr:g}): {_reach_text(path, reach, name)}"
            ax.plot(path.points[:, 0], path.points[:, 1], linewidth=2.0, marker="o", markersize=2.5,
                    markevery=max(1, len(path.points) // 200), **style)
        _mark_corner(ax, corner, surface.plane, surface.axis)
        _note_stuck(ax, surface, paths.get(name, {}), corner)
        _frame(ax, surface.axis, surface.plane, _title(surface, titles))
        ax.legend(loc="lower left", fontsize=7, framealpha=0.9, title=f"steps to p(target) >= {goal:g}",
                  title_fontsize=7)
    fig.suptitle("Descent paths from the wrong-but-confident corner (same learning rate and budget for every loss)")
    return fig


def _note_stuck(ax: Axes, surface: Surface, paths: Mapping[str, DescentPath], corner: Sequence[float]) -> None:
    """Say so in words when a path never got away from its start (it is hidden under the star)."""
    reach = 0.02 * (surface.axis[-1] - surface.axis[0])
    stuck = [path for path in paths.values()
             if float(np.max(np.hypot(*(path.points - path.points[0]).T))) < reach]
    if not stuck:
        return
    names = ", ".join(str(OPTIMIZER_STYLES.get(p.optimizer, {"label": p.optimizer})["label"]) for p in stuck)
    moved = max(float(np.max(np.hypot(*(p.points - p.points[0]).T))) for p in stuck)
    ax.annotate(f"{names}: still here after {len(stuck[0].points) - 1} steps\n(moved at most {moved:.1e})",
                xy=(corner[0], corner[1]), xytext=(0.5, 0.72), textcoords="axes fraction", ha="center", fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "alpha": 0.9},
                arrowprops={"arrowstyle": "->", "color": "#d62728", "linewidth": 1.5})


def gradient_heatmaps_figure(surfaces: Mapping[str, Surface], corner: Sequence[float],
                             titles: Mapping[str, str] | None = None, arrows: int = 15) -> Figure:
    """|grad L| over the plane on one shared logarithmic colour scale, with the descent direction.

    Arrows show the direction of -grad L (unit length: the colour carries the magnitude).
    Magnitudes below 1e-12 of the largest are drawn at that floor (the log scale has no zero).
    """
    from matplotlib.colors import LogNorm

    rows, cols = _grid_shape(len(surfaces))
    fig = new_figure(5.2 * cols, 4.6 * rows)
    top = max(float(s.grad_norm.max()) for s in surfaces.values())
    positive = [float(s.grad_norm[s.grad_norm > 0].min()) for s in surfaces.values() if np.any(s.grad_norm > 0)]
    floor = max(min(positive, default=top * 1e-12), top * 1e-12)
    norm = LogNorm(vmin=floor, vmax=top)
    axes = []
    image = None
    for index, surface in enumerate(surfaces.values()):
        ax = fig.add_subplot(rows, cols, index + 1)
        axes.append(ax)
        magnitude = np.clip(surface.grad_norm, floor, None)
        image = ax.pcolormesh(surface.axis, surface.axis, magnitude, norm=norm, cmap="magma", shading="auto",
                              rasterized=True)
        stride = max(1, len(surface.axis) // arrows)
        sub = slice(stride // 2, None, stride)
        direction = -surface.grad[sub, sub]
        length = np.hypot(direction[..., 0], direction[..., 1])
        unit = np.divide(direction, length[..., None], out=np.zeros_like(direction), where=length[..., None] > 0)
        ax.quiver(surface.axis[sub], surface.axis[sub], unit[..., 0], unit[..., 1], color="white", alpha=0.9,
                  edgecolor="black", linewidth=0.4, scale=arrows * 1.6, width=0.004)
        _goal_contour(ax, surface, 0.9, color="#2ca02c")
        _mark_corner(ax, corner, surface.plane, surface.axis, label=index == 0)
        _frame(ax, surface.axis, surface.plane, _title(surface, titles))
        at_corner = _nearest(surface, corner)
        ax.annotate(f"|grad| at the start = {at_corner:.1e}", xy=(corner[0], corner[1]), xytext=(0.55, 0.85),
                    textcoords="axes fraction", ha="center", fontsize=9, color="black",
                    bbox={"boxstyle": "round", "fc": "white", "alpha": 0.9},
                    arrowprops={"arrowstyle": "->", "color": "black", "linewidth": 1.2})
    axes[0].legend(loc="lower left", fontsize=8)
    fig.colorbar(image, ax=axes, label="|grad L| over the two logits (shared log scale)", shrink=0.9)
    fig.suptitle("Gradient magnitude (colour) and descent direction (arrows)")
    return fig


def _nearest(surface: Surface, point: Sequence[float]) -> float:
    column = int(np.argmin(np.abs(surface.axis - point[0])))
    row = int(np.argmin(np.abs(surface.axis - point[1])))
    return float(surface.grad_norm[row, column])


def progress_figure(paths: Mapping[str, Mapping[str, DescentPath]], goal: float = 0.9,
                    reach: Mapping[str, Mapping[str, str]] | None = None) -> Figure:
    """p(target) along each descent path, one panel per optimiser, on a logit scale.

    The logit scale shows both a path stuck at p ~ 1e-9 and one at p ~ 1 - 1e-6.
    """
    optimizers = list(dict.fromkeys(opt for per_loss in paths.values() for opt in per_loss))
    fig = new_figure(4.6 * len(optimizers), 4.2)
    axes = fig.subplots(1, len(optimizers), squeeze=False)[0]
    for ax, optimizer in zip(axes, optimizers):
        for name, per_loss in paths.items():
            path = per_loss.get(optimizer)
            if path is None:
                continue
            reached = _reach_text(path, reach, name)
            steps = np.arange(len(path.p_target))
            p = np.clip(path.p_target, 1e-15, 1 - 1e-15)  # the logit scale has no 0 or 1
            ax.plot(steps + 1, p, color=_color(name), linewidth=2, label=f"{name}: {reached}")
        ax.axhline(goal, color="black", linestyle="--", linewidth=1, label=f"p = {goal:g}")
        ax.set_xscale("log")
        ax.set_yscale("logit")
        ax.set_ylim(1e-10, 1 - 1e-6)
        ax.set_xlabel("step + 1 (log scale)")
        ax.set_ylabel("p(target) (logit scale)")
        style = OPTIMIZER_STYLES.get(optimizer, {"label": optimizer})
        lr = next(iter(paths.values()))[optimizer].lr
        ax.set_title(f"{style['label']}, lr {lr:g}")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="center right")
    fig.suptitle("How fast each loss leaves the corner: p(target) along the descent path")
    return fig


def probability_curves_figure(curves: Mapping[str, ProbabilityCurve]) -> Figure:
    """Loss and gradient magnitude against p(target): the lecture's "steep CE, flat MSE" figure.

    Left: the loss minus its minimum along the line, against p on a linear axis (the worst case
    is p -> 0 on the left). Right: |grad L| on a log scale against p on a logit scale.
    """
    fig = new_figure(11.0, 4.4)
    left, right = fig.subplots(1, 2)
    ceiling = 0.0
    for name, curve in curves.items():
        excess = curve.loss - np.min(curve.loss)
        left.plot(curve.p_target, excess, color=_color(name), linewidth=2, label=name)
        inside = (curve.p_target > 0.01) & (curve.p_target < 0.99)
        ceiling = max(ceiling, float(np.max(excess[inside])) if np.any(inside) else 0.0)
        p = np.clip(curve.p_target, 1e-15, 1 - 1e-15)  # the logit scale has no 0 or 1
        right.plot(p, np.clip(curve.grad_norm, 1e-300, None), color=_color(name), linewidth=2, label=name)
    left.set_xlim(0, 1)
    left.set_ylim(0, min(ceiling * 1.05, 6.0) if ceiling > 0 else 1.0)
    left.set_xlabel("p(target): the model's probability for the correct class")
    left.set_ylabel("loss minus its minimum on the line")
    left.set_title("Loss against the prediction (worst case at the left)")
    left.legend()
    left.grid(alpha=0.3)
    right.set_xscale("logit")
    right.set_xticks([1e-12, 1e-8, 1e-4, 0.5, 1 - 1e-4, 1 - 1e-8, 1 - 1e-12],
                     ["1e-12", "1e-8", "1e-4", "0.5", "1-1e-4", "1-1e-8", "1-1e-12"])
    right.minorticks_off()
    right.set_yscale("log")
    right.set_xlabel("p(target) (logit scale)")
    right.set_ylabel("|grad L| over the two logits (log scale)")
    right.set_title("|grad L|: CE stays ~1 when wrong, MSE vanishes")
    right.legend()
    right.grid(alpha=0.3, which="major")
    return fig


def steps_map_figure(
    maps: Mapping[str, tuple[np.ndarray, np.ndarray]],
    plane: LogitPlane,
    corner: Sequence[float],
    *,
    optimizer: str,
    lr: float,
    steps: int,
    goal: float,
) -> Figure:
    """From each start point, the steps an optimiser needs to reach p(target) >= goal.

    One shared logarithmic colour scale; grey where the budget ran out first.
    """
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm

    never_grey = colormaps["viridis_r"].with_extremes(bad="#bbbbbb")  # NaN = never within the budget
    rows, cols = _grid_shape(len(maps))
    fig = new_figure(5.2 * cols, 4.6 * rows)
    norm = LogNorm(vmin=1, vmax=max(steps, 2))
    axes = []
    image = None
    for index, (name, (axis, counts)) in enumerate(maps.items()):
        ax = fig.add_subplot(rows, cols, index + 1)
        axes.append(ax)
        image = ax.pcolormesh(axis, axis, np.ma.masked_invalid(np.maximum(counts, 1)), norm=norm, cmap=never_grey,
                              shading="auto", rasterized=True)
        never = float(np.mean(np.isnan(counts)))
        _mark_corner(ax, corner, plane, axis, label=index == 0)
        _frame(ax, axis, plane, f"{name}: never within {steps} steps from {never:.0%} of starts (grey)")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.colorbar(image, ax=axes, label=f"steps to p(target) >= {goal:g} (log scale, 0 drawn as 1)", shrink=0.9)
    style = OPTIMIZER_STYLES.get(optimizer, {"label": optimizer})
    fig.suptitle(f"Where {style['label']} (lr {lr:g}) gets stuck: steps to p(target) >= {goal:g} from each start")
    return fig


def margin_cut_figure(curves: Mapping[str, ProbabilityCurve],
                      closed_forms: Mapping[str, Mapping[str, str] | None], line: str) -> Figure:
    """The 1-D margin cut: each loss and its derivative dL/dm against the margin m.

    Solid lines are the lab's numbers (the core's loss and gradient along the line ``line``);
    each legend entry prints the closed form of that curve where one is known (the tests check
    the closed forms against the same numbers). Left: the loss, on a log scale when every value
    is positive. Right: dL/dm, whose size at m << 0 is how hard the loss pushes a confidently
    wrong prediction (CE: about -1; MSE: about -4 e^m, vanishing).
    """
    fig = new_figure(11.0, 4.4)
    left, right = fig.subplots(1, 2)
    for name, curve in curves.items():
        forms = closed_forms.get(name) or {}
        loss_label = f"{name}: {forms['loss']}" if "loss" in forms else name
        grad_label = f"{name}: {forms['grad']}" if "grad" in forms else name
        left.plot(curve.margin, curve.loss, color=_color(name), linewidth=2, label=loss_label)
        right.plot(curve.margin, curve.grad_margin, color=_color(name), linewidth=2, label=grad_label)
    if all(float(np.min(c.loss)) > 0 for c in curves.values()):
        left.set_yscale("log")
    # the probability losses' slopes live in [-1, 1]; an unbounded slope (the square loss on logits'
    # m - 1) would flatten them to a line, so it may leave the frame (its legend entry says how it goes)
    slopes = [c.grad_margin for c in curves.values()]
    low = min(-1.1, min(float(np.min(s)) for s in slopes if np.all(np.abs(s) <= 2.0))) if any(
        np.all(np.abs(s) <= 2.0) for s in slopes) else None
    if low is not None:
        right.set_ylim(low - 0.1, 0.5)
    for ax, ylabel, title in ((left, "loss (minus its constant part)", "Loss along the margin"),
                              (right, "dL/dm", "Its slope: the push on the margin")):
        ax.axvline(0.0, color="black", linewidth=0.6)
        ax.set_xlabel(f"margin m ({line})")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    right.axhline(0.0, color="black", linewidth=0.6)
    fig.suptitle("The margin cut: measured curves (lines) and their closed forms (legend)")
    return fig
