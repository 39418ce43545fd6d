"""The report's HTML: one self-contained page, text escaped by default, in two languages.

Building blocks (all return or hold :class:`~outlayer.report._markup.Markup`):

* :class:`Numbers` formats a number of a section's data as a tagged ``<span>`` (or ``<mn>`` in
  a formula): ``data-key="<section>:<path>"`` and the full-precision ``data-value``, so a test can
  check every displayed number against the data files, and the data files against the library.
* :class:`Section` collects a section's blocks: ``p(T(...), ...)`` (a translated paragraph),
  ``table(...)``, ``figures([...])``, ``add(Markup)``. Plain ``str`` is text, never HTML.
* :class:`Figure`: a figure file, its translated caption, a permalink ``#fig-...``, and a display
  width that keeps its smallest text at least 10 CSS px (read from the SVG).
* :func:`render_template` fills ``{{ name }}`` and ``{{ t:<key> }}`` fields of an asset (the page
  template, the explorer's and the surface's markup) with escaped values and translations.

A plain ``str`` where HTML is expected raises TypeError: every sentence of the page is a
catalogue message, every number a :class:`Numbers` tag, every formula MathML.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from outlayer.report._i18n import (
    HTML_LANG,
    LANGUAGE_NAMES,
    LANGUAGES,
    Msg,
    T,
    block,
    check_language,
    inline,
    js_messages,
    translated_attribute,
)
from outlayer.report._markup import Markup, attrs, escape, json_script

__all__ = [
    "Figure",
    "Markup",
    "Numbers",
    "Section",
    "data_table",
    "escape",
    "lookup",
    "read_asset",
    "render_page",
    "render_template",
]

#: The smallest text a figure may show, in CSS px, at the width the page gives it.
MIN_FIGURE_TEXT_PX = 10.0
#: Text size assumed for a figure whose SVG is missing (matplotlib's default font size).
ASSUMED_FIGURE_TEXT_PT = 10.0
#: Scripts of the page, inlined in this order (formulas first: the others call it).
SCRIPTS: tuple[str, ...] = ("formulas.js", "page.js", "explorer.js", "surface.js")


def read_asset(name: str) -> str:
    """Text of ``outlayer/report/assets/<name>`` (shipped as package data)."""
    return resources.files("outlayer.report").joinpath("assets", name).read_text(encoding="utf-8")


_TEMPLATE_FIELD = re.compile(r"\{\{\s*(t:)?([A-Za-z0-9_.-]+)\s*\}\}")


def render_template(text: str, **values: Any) -> Markup:
    """``text`` (an asset) with ``{{ name }}`` replaced by ``values[name]`` and ``{{ t:<key> }}`` by the
    catalogue entry ``key`` in both languages. Values are escaped unless Markup; a field without
    a value raises KeyError naming it."""

    def fill(match: re.Match[str]) -> str:
        if match.group(1):
            return T(match.group(2)).inline()
        name = match.group(2)
        if name not in values:
            raise KeyError(f"template field {{{{ {name} }}}} has no value")
        return inline(values[name])

    return Markup(_TEMPLATE_FIELD.sub(fill, text))


def lookup(data: Any, path: str) -> Any:
    """The value at ``path`` ("a/b/0") in nested dicts and lists; KeyError naming the path if absent."""
    node = data
    for part in path.split("/") if path else []:
        if isinstance(node, (list, tuple)):
            try:
                node = node[int(part)]
            except (ValueError, IndexError) as exc:
                raise KeyError(f"no item {part!r} in data path {path!r}") from exc
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"no key {part!r} in data path {path!r}")
    return node


class Numbers:
    """Formats the numbers of one section's data as tagged elements.

    ``numbers("softmax/probs/0", ".3f")`` reads ``data["softmax"]["probs"][0]`` and returns
    ``<span class="num" data-key="explain:softmax/probs/0" data-value="0.659001...">0.659</span>``;
    ``numbers.mn(...)`` the same as a MathML ``<mn>``.
    """

    def __init__(self, section: str, data: Any) -> None:
        self.section = section
        self.data = data

    def value(self, path: str) -> Any:
        return lookup(self.data, path)

    def text(self, path: str, fmt: str = ".3f") -> str:
        """The number at ``path`` formatted, without the tag ("-0.000" is written "0.000")."""
        value = self.value(path)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"data path {self.section}:{path} holds {value!r}, not a number")
        text = format(value, fmt) if math.isfinite(value) else str(value)
        if text.startswith("-") and not any(digit in text.split("e")[0] for digit in "123456789"):
            text = text[1:]  # "-0.000" reads as a bug
        return text

    def _tag(self, tag: str, path: str, fmt: str) -> Markup:
        text = self.text(path, fmt)
        return Markup(f'<{tag} class="num"{attrs(data_key=f"{self.section}:{path}")} '
                      f'data-value="{self.value(path)!r}">{escape(text)}</{tag}>')

    def __call__(self, path: str, fmt: str = ".3f") -> Markup:
        return self._tag("span", path, fmt)

    def mn(self, path: str, fmt: str = ".3f") -> Markup:
        """The number as a MathML ``<mn>``, for a formula with the data's values."""
        return self._tag("mn", path, fmt)


# ------------------------------------------------------------------------------------ figures
@dataclass(frozen=True)
class FigureSize:
    """A figure file's natural width (CSS px at 96 per inch), height, and smallest text (pt, or None)."""

    width_px: float
    height_px: float
    min_text_pt: float | None

    def min_display_px(self) -> int:
        """The narrowest display at which the smallest text is still ``MIN_FIGURE_TEXT_PX``.

        Text of s pt is s * 96/72 px at the natural width W, so at a display width w it is
        s * 4/3 * w / W px; w >= 7.5 W / s keeps it at 10 px or more.
        """
        points = self.min_text_pt or ASSUMED_FIGURE_TEXT_PT
        return math.ceil(MIN_FIGURE_TEXT_PX * 0.75 * self.width_px / points)


_SVG_SIZE = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)(pt|px)?"[^>]*?\sheight="([\d.]+)(pt|px)?"', re.DOTALL)
#: matplotlib draws text as glyph paths scaled by (font size in pt) / 100 ...
_SVG_TEXT_SCALE = re.compile(r"scale\(([\d.]+) -\1\)")
#: ... or, with svg.fonttype "none", as <text> with a font size in user units (pt).
_SVG_FONT_SIZE = re.compile(r"font(?:-size)?:\s*([\d.]+)px")


def measure_figure(path: Path) -> FigureSize:
    """Natural size and smallest text of an SVG or PNG figure file (PNG: from IHDR and pHYs)."""
    if path.suffix == ".svg":
        text = path.read_text(encoding="utf-8", errors="replace")
        size = _SVG_SIZE.search(text)
        if size is None:
            raise ValueError(f"{path} has no width/height on its <svg> element")
        unit = 96 / 72 if size.group(2) in (None, "pt") else 1.0
        scales = [100 * float(s) for s in _SVG_TEXT_SCALE.findall(text)] + [float(s) for s in _SVG_FONT_SIZE.findall(text)]
        return FigureSize(float(size.group(1)) * unit, float(size.group(3)) * unit, min(scales) if scales else None)
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    dpi = 96.0
    offset = 8
    while offset + 8 <= len(data):  # walk the chunks for pHYs (pixels per metre)
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"pHYs":
            per_metre, _, unit = struct.unpack(">IIB", data[offset + 8:offset + 17])
            if unit == 1 and per_metre:
                dpi = per_metre * 0.0254
            break
        if kind == b"IDAT":
            break
        offset += 12 + length
    return FigureSize(width * 96 / dpi, height * 96 / dpi, None)


def _slug(stem: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", Path(stem).name.lower()).strip("-")


@dataclass(frozen=True)
class Figure:
    """A figure of the report: ``stem`` is relative to the report folder, without extension.

    ``caption`` is a :class:`Msg` (or Markup). A figure of several panels (:class:`outlayer.plots.Panels`)
    lists its panel files in ``panels`` (stems, relative to the report folder): they sit side by
    side where the column fits them and one under the other on a phone, under one caption and one
    permalink (``#fig-<stem>``). Each panel shows its SVG when there is one (sharp at any zoom and
    in print), else its PNG, and carries its natural width and the narrowest width at which its
    smallest text is 10 CSS px. ``formats`` is what to expect when the files cannot be looked at
    (no report folder given).
    """

    stem: str
    caption: Msg | Markup
    formats: tuple[str, ...] = ("png", "svg")
    panels: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        return f"fig-{_slug(self.stem)}"

    @property
    def files(self) -> tuple[str, ...]:
        return self.panels or (self.stem,)

    def _formats(self, stem: str, root: Path | None) -> list[str]:
        if root is None:
            return [fmt for fmt in ("svg", "png") if fmt in self.formats]
        formats = [fmt for fmt in ("svg", "png") if (root / f"{stem}.{fmt}").is_file()]
        if not formats:
            raise FileNotFoundError(f"figure {stem!r} has no .svg or .png file in {root}")
        return formats

    def _frame(self, stem: str, formats: Sequence[str], root: Path | None, lang: str) -> tuple[Markup, Markup]:
        """One panel's frame, and the style that sizes it."""
        shown = f"{stem}.{formats[0]}"
        style = Markup("")
        size_attrs = Markup("")
        if root is not None:
            size = measure_figure(root / shown)
            natural = math.ceil(size.width_px)
            style = Markup(f' style="--fig-w:{natural}px;--fig-min:{size.min_display_px()}px"')
            size_attrs = Markup(f' width="{natural}" height="{math.ceil(size.height_px)}"')
        alt = translated_attribute("alt", self.caption, lang) if isinstance(self.caption, Msg) else attrs(
            alt=re.sub(r"<[^>]+>", "", str(self.caption)))
        frame = Markup(f'<div class="fig-frame"{style if self.panels else ""}><a href="{escape(shown)}">'
                       f'<img src="{escape(shown)}"{alt}{size_attrs} loading="eager"></a></div>')
        return frame, style

    def html(self, root: Path | None = None, *, lang: str = LANGUAGES[0]) -> Markup:
        if not isinstance(self.caption, (Msg, Markup)):
            raise TypeError(f"a caption must be T(...) or Markup, not {type(self.caption).__name__} {self.caption!r}")
        files = [(stem, self._formats(stem, root)) for stem in self.files]
        frames = [self._frame(stem, formats, root, lang) for stem, formats in files]
        anchor = escape(self.anchor)
        if self.panels:
            # "PNG 1 2 3 · SVG 1 2 3": one link per panel and format
            links = Markup(" · ").join(
                Markup("{} {}").format(fmt.upper(), Markup(" ").join(
                    Markup('<a href="{}.{}">{}</a>').format(stem, fmt, str(i + 1))
                    for i, (stem, formats) in enumerate(files) if fmt in formats))
                for fmt in ("png", "svg") if any(fmt in formats for _, formats in files))
            body = Markup('<div class="panels" data-count="{}"{}>{}</div>').format(
                str(len(frames)), frames[0][1], Markup("").join(frame for frame, _ in frames))
            # the first panel's size and the panel count let the figure share a row with others
            size = str(frames[0][1])[len(' style="'):-1] + ";" if frames[0][1] else ""
            opening = Markup(f'<figure class="fig multi" id="{anchor}" style="{size}--count:{len(frames)}">')
        else:
            (stem, formats), (frame, style) = files[0], frames[0]
            links = Markup(" ").join(Markup('<a href="{}.{}">{}</a>').format(stem, fmt, fmt.upper())
                                     for fmt in reversed(formats))
            body = frame
            opening = Markup(f'<figure class="fig" id="{anchor}"{style}>')
        return Markup(
            f'{opening}{body}'
            f'<figcaption><span class="scroll-hint" aria-hidden="true">⇠ ⇢ </span>{inline(self.caption)} '
            f'<span class="fig-links" translate="no">({links})'
            f' <a class="permalink" href="#{anchor}"{translated_attribute("aria-label", T("page.permalink"), lang)}>#</a>'
            f"</span></figcaption></figure>"
        )


@dataclass
class _FigureGrid:
    figures: list[Figure]
    wide: bool

    def html(self, root: Path | None, lang: str) -> Markup:
        css = "figures wide" if self.wide else "figures"
        return Markup(f'<div class="{css}">' + "".join(f.html(root, lang=lang) for f in self.figures) + "</div>")


# ------------------------------------------------------------------------------------ tables
def _cell(value: Msg | Markup | str) -> Markup:
    """A table cell: a message in both languages, Markup as is, and plain text (a dataset or package
    name) escaped and marked translate="no": it reads the same in every language."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup('<span translate="no">{}</span>').format(value)
    return inline(value)


def data_table(caption: Msg | Markup, header: Sequence[Msg | Markup | str], rows: Iterable[Sequence[Any]],
               numeric_from: int = 1, cell: Any = _cell) -> Markup:
    """A table as Markup: cells are Markup (numbers), messages, or text (escaped); columns from
    ``numeric_from`` on are right-aligned. It scrolls inside itself on a narrow screen."""
    head = "".join(f'<th scope="col">{cell(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{cell(c)}</td>' if i >= numeric_from else f"<td>{cell(c)}</td>" for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return Markup(f'<div class="table-wrap"><table><caption>{cell(caption)}</caption>'
                  f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


# ----------------------------------------------------------------------------------- sections
@dataclass
class Section:
    """One section of the page: ``blocks`` in order; ``data`` is what it shows (data/<key>.json)."""

    key: str
    title: Msg | str
    blocks: list[Any] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def _trusted(self, block_: Any) -> Any:
        if isinstance(block_, (Markup, _FigureGrid)):
            return block_
        if isinstance(block_, Msg):
            return block([block_])
        raise TypeError(f"section {self.key!r}: a block must be Markup or T(...), not {type(block_).__name__} "
                        f"{str(block_)[:60]!r}")

    def add(self, *blocks: Markup | Msg) -> None:
        """Append trusted blocks (Markup, or a message as its own paragraph)."""
        self.blocks.extend(self._trusted(b) for b in blocks)

    def p(self, *parts: Msg | Markup, **attributes: Any) -> None:
        """A paragraph of translated sentences (and language-neutral Markup), one per language."""
        for part in parts:
            if not isinstance(part, (Msg, Markup)):
                raise TypeError(f"section {self.key!r}: paragraph parts must be T(...) or Markup, got {part!r}")
        self.blocks.append(block(parts, "p", **attributes))

    def table(self, caption: Msg | Markup, header: Sequence[Msg | Markup | str], rows: Iterable[Sequence[Any]],
              numeric_from: int = 1) -> None:
        """Append :func:`data_table` (caption, header, rows)."""
        self.blocks.append(data_table(caption, header, rows, numeric_from))

    def figures(self, figures: Iterable[Figure], *, wide: bool = False) -> None:
        """Figures side by side where the column fits them at readable size; ``wide``: one per row."""
        self.blocks.append(_FigureGrid(list(figures), wide))

    def title_html(self) -> Markup:
        if isinstance(self.title, Msg):
            return self.title.inline()
        return escape(self.title)

    def html(self, number: int, root: Path | None = None, lang: str = LANGUAGES[0]) -> Markup:
        body = "\n".join(b.html(root, lang) if isinstance(b, _FigureGrid) else b for b in self.blocks)
        return Markup(f'<section id="{escape(self.key)}">\n<h2><span class="secnum">{number}.</span> '
                      f"{self.title_html()}</h2>\n{body}\n</section>")


# --------------------------------------------------------------------------------------- page
def render_page(*, title: Msg, subtitle: Msg, sections: Sequence[Section], version: str, lang: str = LANGUAGES[0],
                preface: Sequence[Markup] = (), root: Path | None = None) -> Markup:
    """The whole page: template, inline CSS and JS, language switch, contents, sections.

    ``lang`` is the language shown before the reader chooses; ``root`` is the report folder
    (figures are measured there); ``preface`` blocks come before section 1 (the notation box).
    """
    check_language(lang)
    toc = Markup("\n").join(Markup(f'<li><a href="#{escape(s.key)}">{s.title_html()}</a></li>') for s in sections)
    body = Markup("\n").join(s.html(i, root, lang) for i, s in enumerate(sections, start=1))
    switch = "".join(
        f'<button type="button" data-set-lang="{code}" lang="{HTML_LANG[code]}" translate="no"'
        f' aria-pressed="{"true" if code == lang else "false"}">{escape(LANGUAGE_NAMES[code])}</button>'
        for code in LANGUAGES
    )
    titles = {code: title.plain(code) for code in LANGUAGES}
    script = "\n".join(read_asset(name) for name in SCRIPTS)
    return render_template(
        read_asset("page.html"),
        lang=lang,
        html_lang=HTML_LANG[lang],
        document_title=titles[lang],
        title=title,
        subtitle=subtitle,
        switch=Markup(switch),
        nav_label=translated_attribute("aria-label", T("page.sections"), lang),
        toc=toc,
        preface=Markup("\n").join(preface),
        sections=body,
        style=Markup(read_asset("style.css")),
        messages=json_script("outlayer-messages", {"default": lang, "titles": titles, "text": js_messages()}),
        script=Markup(script.replace("</script", "<\\/script")),
        version=version,
    )


def data_json(value: Any) -> str:
    """``value`` as compact JSON for a ``data-*`` attribute (escaped by :func:`attrs`)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
