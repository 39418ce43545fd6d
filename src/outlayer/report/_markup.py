"""A tiny trusted-HTML type for the report: text is escaped unless it is :class:`Markup`.

Like markupsafe's ``Markup`` (no dependency): a ``str`` subclass that says "this is HTML I
trust". :func:`escape` turns anything else into safe text; ``+``, :meth:`Markup.join` and
:meth:`Markup.format` escape their non-Markup operands, so a caption, a class name or a
dataset name from a CSV header can never inject a tag. Only the report's own code makes
Markup: the page template, the assets, MathML built by :mod:`outlayer.report._math`, numbers
from :class:`outlayer.report._page.Numbers`, and the few catalogue entries marked trusted.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["Markup", "attrs", "escape", "json_script"]


class Markup(str):
    """A string of trusted HTML; every operation with plain text escapes the text."""

    __slots__ = ()

    def __new__(cls, text: str = "") -> Markup:
        return super().__new__(cls, text)

    def __html__(self) -> Markup:
        return self

    def __add__(self, other: Any) -> Markup:
        return Markup(str.__add__(self, escape(other)))

    def __radd__(self, other: Any) -> Markup:
        return Markup(str.__add__(escape(other), self))

    def join(self, items: Any) -> Markup:  # type: ignore[override]
        return Markup(str.join(self, (escape(item) for item in items)))

    def format(self, *args: Any, **kwargs: Any) -> Markup:  # type: ignore[override]
        """``str.format`` with every argument escaped (Markup arguments pass unchanged)."""
        return Markup(str.format(self, *(escape(a) for a in args), **{k: escape(v) for k, v in kwargs.items()}))

    def __repr__(self) -> str:
        return f"Markup({str.__repr__(self)})"


def escape(value: Any) -> Markup:
    """``value`` as safe HTML: Markup (or anything with ``__html__``) unchanged, text escaped.

    Numbers are refused: a number on the page must come from the data through ``Numbers``, so
    that a test can trace it; a stray ``f"{x:.3f}"`` would not be.
    """
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    if isinstance(value, str):
        return Markup(html.escape(value, quote=True))
    raise TypeError(f"only text or Markup can go on the page, got {type(value).__name__} {value!r} "
                    "(numbers go through Numbers)")


def attrs(**values: Any) -> Markup:
    """`` name="value"`` pairs, escaped; ``data_key`` is written ``data-key``; None and False are left out."""
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(f' {name}' if value is True else f' {name}="{escape(value)}"')
    return Markup("".join(parts))


def json_script(element_id: str, value: Any) -> Markup:
    """``<script type="application/json">`` holding ``value``; "</" is written "<\\/" so no text ends the script."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return Markup(f'<script type="application/json" id="{escape(element_id)}">{text}</script>')
