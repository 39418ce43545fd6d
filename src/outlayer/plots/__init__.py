"""Figures for the lab and the report.

Every figure is a :class:`matplotlib.figure.Figure` built without pyplot, so it works in
notebooks, in threads and on machines with no display, and nothing global is touched.
matplotlib is imported only inside the functions that draw.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from outlayer._io import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["new_figure", "save_figure"]

#: One colour per loss everywhere (figures, report, explorer), so a reader learns them once.
LOSS_COLORS: dict[str, str] = {
    "ce": "#1f77b4",
    "mse": "#d62728",
    "mse-logits": "#ff7f0e",
    "ce-smooth": "#2ca02c",
    "scalar": "#7f7f7f",
}


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
