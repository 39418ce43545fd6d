"""Figures for the lab and the report.

Every figure is a :class:`matplotlib.figure.Figure` built without pyplot, so it works in
notebooks, in threads and on machines with no display, and nothing global is touched.
matplotlib is imported only inside the functions that draw.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from outlayer._io import atomic_write_bytes
from outlayer.catalogue import CATALOGUE

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["LOSS_COLORS", "new_figure", "save_figure", "save_figures"]

#: One colour per loss everywhere (figures, report, explorer), so a reader learns them once:
#: the catalogue's (:mod:`outlayer.catalogue`).
LOSS_COLORS: dict[str, str] = {name: entry.colour for name, entry in CATALOGUE.items()}


def new_figure(width: float = 8.0, height: float = 4.5, **kwargs: object) -> Figure:
    """A fresh Figure (no pyplot state) with a constrained layout."""
    from matplotlib.figure import Figure

    kwargs.setdefault("layout", "constrained")
    return Figure(figsize=(width, height), **kwargs)  # type: ignore[arg-type]


def save_figure(
    fig: Figure,
    out_dir: str | os.PathLike[str],
    stem: str,
    formats: Iterable[str] = ("png", "svg"),
    dpi: int = 120,
) -> list[Path]:
    """Save ``fig`` as ``out_dir/stem.<fmt>`` for each format, each file written atomically.

    SVGs get a fixed hash salt and no date so that the same run writes byte-identical files.
    """
    written = []
    for fmt in formats:
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else ({"Software": None} if fmt == "png" else None)
        if fmt == "svg":
            import matplotlib

            with matplotlib.rc_context({"svg.hashsalt": "outlayer"}):
                fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
        else:
            fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
        written.append(atomic_write_bytes(Path(out_dir) / f"{stem}.{fmt}", buffer.getvalue()))
    return written


def save_figures(
    figures: Mapping[str, Figure],
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = ("png", "svg"),
    dpi: int = 120,
) -> dict[str, str]:
    """Save every ``stem -> figure`` with :func:`save_figure`; return the files written by name.

    The first format's file is listed under ``stem``, each further one under ``stem_<format>``
    (e.g. ``{"surface_3d": "surface_3d.png", "surface_3d_svg": "surface_3d.svg"}``). Each figure
    is released once written, so a long list does not hold every canvas in memory.
    """
    formats = tuple(formats)
    written: dict[str, str] = {}
    for stem, fig in figures.items():
        files = save_figure(fig, out_dir, stem, formats=formats, dpi=dpi)
        written[stem] = files[0].name
        for fmt, path in zip(formats[1:], files[1:]):
            written[f"{stem}_{fmt}"] = path.name
        fig.clear()
    return written
