"""Checks of a drawn figure against the conventions of :mod:`outlayer.plots`.

:func:`layout_problems` draws a figure once (Agg) and records every piece of text as it is
rendered, then reports, one line each: text outside the figure or outside its clip box (cut
off), two texts drawn over each other, text smaller than :data:`~outlayer.plots.TEXT_PT` (or
mathtext, whose scripts are), a legend whose box covers data (a line,
a band, a bar, a marker, or an area-filling map), and an annotation drawn in a colour that a data
series of the same axes uses. tests/test_figures.py runs it on every figure of the lab and the
report; anyone adding a figure can run it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import TEXT_PT

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["drawn_texts", "layout_problems"]

#: Slack for rounding in the layout engine, in display pixels.
_TOLERANCE_PX = 1.0


def drawn_texts(fig: Figure) -> tuple[list[tuple[Any, Any, float, bool]], Any]:
    """Draw ``fig`` with Agg; return ``[(text artist, window extent, size in pt, mathtext?)]`` of every
    piece of text actually rendered (ticks outside the view and invisible artists are not), and the
    renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    canvas = FigureCanvasAgg(fig)
    seen: list[tuple[Any, float, bool]] = []
    original = RendererAgg.draw_text

    def recording(self: Any, gc: Any, x: float, y: float, s: str, prop: Any, angle: float, ismath: Any = False,
                  mtext: Any = None) -> Any:
        if mtext is not None and s.strip():
            seen.append((mtext, float(prop.get_size_in_points()), bool(ismath)))
        return original(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    RendererAgg.draw_text = recording  # type: ignore[method-assign]
    try:
        canvas.draw()
    finally:
        RendererAgg.draw_text = original  # type: ignore[method-assign]
    renderer = canvas.get_renderer()
    texts = []
    done = set()
    for artist, size, math in seen:
        if id(artist) in done:
            continue
        done.add(id(artist))
        texts.append((artist, artist.get_window_extent(renderer), size, math))
    return texts, renderer


def layout_problems(fig: Figure, min_text_pt: float = TEXT_PT) -> list[str]:
    """Everything that breaks the figure conventions, one line each (empty when the figure is clean)."""
    texts, renderer = drawn_texts(fig)
    problems = []
    frame = fig.bbox
    for artist, box, size, math in texts:
        label = f"text {artist.get_text()!r}"
        if (box.x0 < frame.x0 - _TOLERANCE_PX or box.y0 < frame.y0 - _TOLERANCE_PX
                or box.x1 > frame.x1 + _TOLERANCE_PX or box.y1 > frame.y1 + _TOLERANCE_PX):
            problems.append(f"{label} is cut off by the figure's edge ({_box(box)} outside {_box(frame)})")
        clip = artist.get_clip_box() if artist.get_clip_on() else None
        if clip is not None and not _inside(box, clip):
            problems.append(f"{label} is cut off by its clip box")
        if size < min_text_pt - 1e-9:
            problems.append(f"{label} is {size:g} pt, below {min_text_pt:g} pt")
        if math:
            problems.append(f"{label} is mathtext, whose sub- and superscripts are smaller than the text "
                            "(write z₁, 10⁻⁸ with Unicode instead)")
    problems += _overlap_problems(texts)
    problems += _legend_problems(fig, renderer)
    problems += _annotation_problems(fig)
    return problems


def _overlap_problems(texts: list[tuple[Any, Any, float, bool]]) -> list[str]:
    """Two pieces of text drawn over each other (more than the rounding slack in both directions)."""
    problems = []
    for i, (a, box_a, _, _) in enumerate(texts):
        for b, box_b, _, _ in texts[i + 1:]:
            width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if width > 2 * _TOLERANCE_PX and height > 2 * _TOLERANCE_PX:
                problems.append(f"text {a.get_text()!r} overlaps text {b.get_text()!r}")
    return problems


def _box(box: Any) -> str:
    return f"[{box.x0:.0f}, {box.y0:.0f}, {box.x1:.0f}, {box.y1:.0f}]"


def _inside(box: Any, outer: Any) -> bool:
    return (box.x0 >= outer.x0 - _TOLERANCE_PX and box.y0 >= outer.y0 - _TOLERANCE_PX
            and box.x1 <= outer.x1 + _TOLERANCE_PX and box.y1 <= outer.y1 + _TOLERANCE_PX)


def _legend_problems(fig: Figure, renderer: Any) -> list[str]:
    from matplotlib.collections import Collection, PathCollection, QuadMesh
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    legends: list[Any] = [legend for legend in fig.legends] + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    problems = []
    for legend in legends:
        if not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if not ax.get_visible() or not box.overlaps(ax.get_window_extent(renderer)):
                continue
            if hasattr(ax, "zaxis"):
                problems.append("a legend lies over a 3-D axes")
                continue
            for artist in ax.get_children():
                if artist is legend or not artist.get_visible():
                    continue
                what = None
                if isinstance(artist, (AxesImage, QuadMesh)):
                    what = "a map"
                elif isinstance(artist, Line2D) and _path_hits(artist, box):
                    what = f"the line {artist.get_label()!r}"
                elif isinstance(artist, PathCollection) and len(np.asarray(artist.get_offsets())):
                    points = artist.get_offset_transform().transform(np.asarray(artist.get_offsets(), dtype=float))
                    if any(box.x0 - 6 <= x <= box.x1 + 6 and box.y0 - 6 <= y <= box.y1 + 6 for x, y in points):
                        what = "a marker"
                elif isinstance(artist, Collection) and not isinstance(artist, PathCollection):
                    transform = artist.get_transform()
                    if any(path.transformed(transform).intersects_bbox(box, filled=True) for path in artist.get_paths()):
                        what = "an area (band or contour)"
                elif isinstance(artist, Patch) and artist is not ax.patch and artist.get_window_extent(renderer).overlaps(box):
                    what = "a bar or patch"
                if what:
                    problems.append(f"a legend ({', '.join(t.get_text() for t in legend.get_texts())[:60]}) covers "
                                    f"{what} in the axes {ax.get_title()!r}")
                    break
    return problems


def _path_hits(line: Any, box: Any) -> bool:
    from matplotlib.path import Path

    xy = line.get_xydata()
    if xy is None or len(xy) == 0:
        return False
    points = line.get_transform().transform(np.asarray(xy, dtype=float))
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) == 0:
        return False
    if line.get_marker() not in (None, "None", "", " ") and any(box.x0 - 4 <= x <= box.x1 + 4 and box.y0 - 4 <= y <= box.y1 + 4
                                                              for x, y in points):
        return True
    if line.get_linestyle() in ("None", "", " ") or len(points) < 2:
        return False
    return Path(points).intersects_bbox(box, filled=False)


def _annotation_problems(fig: Figure) -> list[str]:
    from matplotlib.collections import Collection
    from matplotlib.colors import to_hex
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.text import Annotation

    problems = []
    for ax in fig.axes:
        data: set[str] = set()
        for artist in ax.get_children():
            if not artist.get_visible() or isinstance(artist, AxesImage):
                continue
            if isinstance(artist, Line2D):
                data.add(to_hex(artist.get_color()))
            elif isinstance(artist, Collection) and artist.get_array() is None:  # colour-mapped collections are maps
                faces: Any = artist.get_facecolor()  # runtime: an (n, 4) RGBA array; the stubs say a colour union
                edges: Any = artist.get_edgecolor()
                data.update(to_hex(c) for c in faces if c[3] > 0)
                data.update(to_hex(c) for c in edges if len(c) and c[3] > 0)
            elif isinstance(artist, Patch) and artist is not ax.patch:
                face: Any = artist.get_facecolor()  # runtime: an RGBA tuple
                if face[3] > 0:
                    data.add(to_hex(face))
        for text in ax.texts:
            colours = {to_hex(text.get_color())}
            if isinstance(text, Annotation) and text.arrow_patch is not None:
                colours.add(to_hex(text.arrow_patch.get_edgecolor()))
            clash = colours & data
            if clash:
                problems.append(f"the annotation {text.get_text()!r} is drawn in {', '.join(sorted(clash))}, a data "
                                f"colour of the axes {ax.get_title()!r}")
    return problems
