"""Figures for the lab and the report.

Every figure is a :class:`matplotlib.figure.Figure` built without pyplot, so it works in
notebooks, in threads and on machines with no display, and nothing global is touched.
matplotlib is imported only inside the functions that draw.

Conventions of every figure (tests/test_figures.py checks each one with :func:`layout_problems`):

* **Sized for a phone column.** A panel is :data:`PANEL_WIDTH` inches wide and no text is smaller
  than :data:`TEXT_PT` points. A figure W inches wide shown D CSS px wide draws p-point text at
  ``p * D / (72 W)`` px, so a 4.6 in panel keeps 10 pt text at 10 px down to 331 px: a 360 px
  phone's column. A figure with several panels is a :class:`Panels` (one file per panel), which
  the page lays side by side on a wide screen and stacks on a phone.
* **Language-neutral labels.** Symbols (z₁, p₁, ∂L/∂m, ‖∇L‖), numbers and the short loss names
  of :data:`FIGURE_NAMES`, plus a few technical words the lecture's own slides use (epoch, step,
  lr, seed, accuracy, confidence); the report's captions, in English and Chinese, say what each
  symbol is. No sentences: the page is bilingual and the machines drawing it have no CJK font.
* **Nothing over data.** Legends sit outside the axes (or in a corner the data provably avoid);
  annotations use :data:`ANNOTATION_COLOR`, which no data line, path or bar uses.
* **Reproducible.** :func:`save_figure` writes byte-identical SVG and PNG files for the same data.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from outlayer._io import atomic_write_bytes
from outlayer.catalogue import CATALOGUE

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "ANNOTATION_COLOR",
    "FIGURE_NAMES",
    "LOSS_COLORS",
    "PANEL_HEIGHT",
    "PANEL_WIDTH",
    "REFERENCE_COLOR",
    "STYLE",
    "TEXT_PT",
    "Panels",
    "figure_name",
    "figure_stems",
    "legend_below",
    "log_axis",
    "new_figure",
    "power_of_ten",
    "save_figure",
    "save_figures",
    "styled",
    "subscript",
]

#: One colour per loss everywhere (figures, report, explorer), so a reader learns them once:
#: the catalogue's (:mod:`outlayer.catalogue`).
LOSS_COLORS: dict[str, str] = {name: entry.colour for name, entry in CATALOGUE.items()}
#: Each loss's name in a figure: the page's abbreviations, the same in every language.
FIGURE_NAMES: dict[str, str] = {"ce": "CE", "mse": "MSE", "mse-logits": "MSE(z)", "ce-smooth": "CE+LS",
                                "scalar": "scalar"}
#: Annotation text and arrows: the page's derivation colour, which no data series uses.
ANNOTATION_COLOR = "#7a5a00"
#: Reference lines (zero, the goal, the target accuracy, perfect calibration): dark grey, never a data colour.
REFERENCE_COLOR = "#3c3c3c"
#: Width and default height of one panel, in inches (see the module docstring for the arithmetic).
PANEL_WIDTH = 4.6
PANEL_HEIGHT = 3.5
#: The smallest text of any figure, in points.
TEXT_PT = 10.0
#: matplotlib settings of every figure: one text size, no font smaller, deterministic SVG ids.
STYLE: dict[Any, Any] = {  # Any keys: matplotlib's stubs type rc_context's keys as a Literal
    "font.size": TEXT_PT,
    "axes.titlesize": TEXT_PT + 1,
    "axes.labelsize": TEXT_PT,
    "xtick.labelsize": TEXT_PT,
    "ytick.labelsize": TEXT_PT,
    "legend.fontsize": TEXT_PT,
    "legend.title_fontsize": TEXT_PT,
    "figure.titlesize": TEXT_PT + 1,
    "figure.labelsize": TEXT_PT,
    "axes.titlepad": 4.0,
    "legend.borderaxespad": 0.3,
    "legend.handlelength": 1.6,
    "legend.columnspacing": 1.0,
    "svg.hashsalt": "outlayer",
    "svg.fonttype": "path",  # text as glyph outlines: the same look without any installed font
    "path.simplify": True,
}

_SUBSCRIPTS = str.maketrans("0123456789-+=()", "₀₁₂₃₄₅₆₇₈₉₋₊₌₍₎")
_SUPERSCRIPTS = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")


def subscript(value: object) -> str:
    """``value`` in Unicode subscript digits: ``subscript(12)`` -> ``"₁₂"`` (z₁, p₁ in labels)."""
    return str(value).translate(_SUBSCRIPTS)


def power_of_ten(value: float) -> str:
    """A tick label of a log axis without mathtext: ``1e-8`` -> ``"10⁻⁸"``, ``1`` -> ``"1"``, ``10`` -> ``"10"``.

    mathtext would draw the exponent smaller than the text; Unicode superscripts keep the label
    one size (see :func:`log_axis`).
    """
    import math

    if not value > 0 or not math.isfinite(value):
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:g}"
    exponent = round(exponent)
    if exponent in (0, 1):
        return f"{value:g}"
    return "10" + str(exponent).translate(_SUPERSCRIPTS)


def log_axis(axis: Any, numticks: int = 6) -> None:
    """Label a logarithmic ``axis`` (``ax.xaxis``, ``ax.yaxis``, a colour bar's axis) with
    :func:`power_of_ten` at up to ``numticks`` decades, and no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(numticks=numticks))
    axis.set_major_formatter(FuncFormatter(lambda value, _: power_of_ten(value)))
    axis.set_minor_formatter(NullFormatter())


def figure_name(loss: str) -> str:
    """A loss's name in figures (:data:`FIGURE_NAMES`), else its registry name."""
    return FIGURE_NAMES.get(loss, loss)


class Panels(dict):  # type: ignore[type-arg]
    """One figure drawn as separate panels: ``name -> Figure``, in reading order.

    :func:`save_figures` writes each panel as ``<stem>-<name>.<fmt>``; the report shows the
    panels of one figure side by side where the column is wide enough and one under the other
    on a phone, so every panel keeps its text readable on every screen.
    """


def new_figure(width: float = PANEL_WIDTH, height: float = PANEL_HEIGHT, **kwargs: object) -> Figure:
    """A fresh Figure (no pyplot state) with a constrained layout."""
    from matplotlib.figure import Figure

    kwargs.setdefault("layout", "constrained")
    return Figure(figsize=(width, height), **kwargs)  # type: ignore[arg-type]


F = TypeVar("F", bound=Callable[..., Any])


def styled(function: F) -> F:
    """Draw ``function``'s figures under :data:`STYLE` and pin every text size into the artists.

    Tick labels are created lazily, at draw time; :func:`_pin_text_sizes` stores their size on
    each axis so that a figure saved outside this context still draws them at :data:`TEXT_PT`.
    """

    @functools.wraps(function)
    def draw(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context(STYLE):
            built = function(*args, **kwargs)
            for fig in built.values() if isinstance(built, Mapping) else [built]:
                _pin_text_sizes(fig)
        return built

    return draw  # type: ignore[return-value]


def _pin_text_sizes(fig: Figure) -> None:
    for ax in fig.axes:
        ax.tick_params(which="both", labelsize=TEXT_PT)
        if hasattr(ax, "zaxis"):
            ax.zaxis.set_tick_params(labelsize=TEXT_PT)


def legend_below(fig: Figure, ax: Any = None, ncols: int = 2, **kwargs: Any) -> Any:
    """A legend under the axes (outside every data area), in ``ncols`` columns."""
    handles, labels = (ax if ax is not None else fig.axes[0]).get_legend_handles_labels()
    kwargs.setdefault("frameon", False)
    return fig.legend(handles, labels, loc="outside lower center", ncols=min(ncols, max(1, len(labels))), **kwargs)


def save_figure(
    fig: Figure,
    out_dir: str | os.PathLike[str],
    stem: str,
    formats: Iterable[str] = ("png", "svg"),
    dpi: int = 100,
) -> list[Path]:
    """Save ``fig`` as ``out_dir/stem.<fmt>`` for each format, each file written atomically.

    SVGs get a fixed hash salt and no date, PNGs no software tag, so that the same run writes
    byte-identical files.
    """
    import matplotlib

    written = []
    for fmt in formats:
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else ({"Software": None} if fmt == "png" else None)
        with matplotlib.rc_context(STYLE):
            fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
        data = buffer.getvalue()
        if fmt == "png":
            data = _small_png(data)
        elif fmt == "svg":
            data = _EMBEDDED_PNG.sub(lambda m: b"data:image/png;base64," + _base64(_small_png(_unbase64(m.group(1)))),
                                     data)
        written.append(atomic_write_bytes(Path(out_dir) / f"{stem}.{fmt}", data))
    return written


#: A raster part of an SVG (a 3-D surface, a map): matplotlib embeds it as a base64 PNG.
_EMBEDDED_PNG = re.compile(rb"data:image/png;base64,([A-Za-z0-9+/=\s]+)")


def _base64(data: bytes) -> bytes:
    import base64

    return base64.b64encode(data)


def _unbase64(text: bytes) -> bytes:
    import base64

    return base64.b64decode(b"".join(text.split()))


def _small_png(data: bytes) -> bytes:
    """``data`` (a PNG) with at most 256 colours, no dithering: plots are flat colours and smooth
    colour maps, and a palette image is about a third of the size (deterministic: same input, same
    bytes). Images that already have a palette, or that get no smaller, are kept as they are."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.mode == "P":
        return data
    extrema: Any = image.getextrema()  # per band (low, high); the stubs don't know the band count
    if image.mode == "RGBA" and extrema[3][0] == 255:
        image = image.convert("RGB")  # opaque: the better median-cut palette applies
    if image.mode == "RGBA":
        palette = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    else:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True, dpi=image.info.get("dpi", (100, 100)))
    return out.getvalue() if out.tell() < len(data) else data


def save_figures(
    figures: Mapping[str, Figure | Panels],
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = ("png", "svg"),
    dpi: int = 100,
) -> dict[str, str]:
    """Save every ``stem -> figure`` with :func:`save_figure`; return the files written by name.

    The first format's file is listed under ``stem``, each further one under ``stem_<format>``
    (e.g. ``{"surface_3d": "surface_3d.png", "surface_3d_svg": "surface_3d.svg"}``). A
    :class:`Panels` figure lists its first panel under ``stem`` and each further panel under
    ``stem-<panel>`` (:func:`figure_stems` reads them back in order). Each figure is released once
    written, so a long list does not hold every canvas in memory.
    """
    formats = tuple(formats)
    written: dict[str, str] = {}
    for stem, drawn in figures.items():
        panels = list(drawn.items()) if isinstance(drawn, Panels) else [("", drawn)]
        for index, (name, fig) in enumerate(panels):
            file_stem = f"{stem}-{_slug(name)}" if name else stem
            key = stem if index == 0 else file_stem
            files = save_figure(fig, out_dir, file_stem, formats=formats, dpi=dpi)
            written[key] = files[0].name
            for fmt, path in zip(formats[1:], files[1:]):
                written[f"{key}_{fmt}"] = path.name
            fig.clear()
    return written


def figure_stems(written: Mapping[str, str], stem: str) -> list[str]:
    """The file stems (no extension) of figure ``stem`` in a :func:`save_figures` listing: one for
    a plain figure, one per panel, in order, for :class:`Panels`."""
    if stem not in written:
        raise KeyError(f"no figure {stem!r} among {sorted(written)}")
    stems = [Path(written[stem]).stem]
    panel = re.compile(re.escape(stem) + r"-[a-z0-9-]+")
    stems += [Path(file).stem for key, file in written.items() if panel.fullmatch(key)]
    return stems


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")
    if not slug:
        raise ValueError(f"panel name {name!r} has no letter or digit for a file name")
    return slug
