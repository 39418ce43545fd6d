"""The report's HTML: one self-contained page with inline styles and script.

Every number on the page is produced by :class:`Numbers`, which looks the value up in the
section's data (the object written to ``data/<section>.json``) and tags it with
``data-key="<section>:<path>"`` and the full-precision ``data-value``, so a test can check each
displayed number against the data files, and the data files against the library.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from string import Template
from typing import Any

__all__ = [
    "Figure",
    "Numbers",
    "Section",
    "lookup",
    "read_asset",
    "render_page",
    "table",
]


def read_asset(name: str) -> str:
    """Text of ``outlayer/report/assets/<name>`` (shipped as package data)."""
    return resources.files("outlayer.report").joinpath("assets", name).read_text(encoding="utf-8")


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
    """Formats the numbers of one section's data as tagged ``<span>`` elements.

    ``numbers("softmax/probs/0", ".3f")`` reads ``data["softmax"]["probs"][0]`` and returns
    ``<span class="num" data-key="explain:softmax/probs/0" data-value="0.659001...">0.659</span>``.
    """

    def __init__(self, section: str, data: Any) -> None:
        self.section = section
        self.data = data

    def value(self, path: str) -> Any:
        return lookup(self.data, path)

    def __call__(self, path: str, fmt: str = ".3f") -> str:
        value = self.value(path)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"data path {self.section}:{path} holds {value!r}, not a number")
        text = format(value, fmt) if math.isfinite(value) else str(value)
        if text.startswith("-") and not any(digit in text.split("e")[0] for digit in "123456789"):
            text = text[1:]  # "-0.000" reads as a bug
        return (
            f'<span class="num" data-key="{self.section}:{html.escape(path)}" '
            f'data-value="{value!r}">{text}</span>'
        )


@dataclass(frozen=True)
class Figure:
    """A figure of the report: ``stem`` is relative to the report folder, without extension."""

    stem: str
    caption: str
    formats: tuple[str, ...] = ("png", "svg")

    def html(self) -> str:
        image = f"{self.stem}.png" if "png" in self.formats else f"{self.stem}.{self.formats[0]}"
        links = " ".join(f'<a href="{html.escape(self.stem)}.{fmt}">{fmt.upper()}</a>' for fmt in self.formats)
        return (
            f'<figure><img src="{html.escape(image)}" alt="{html.escape(_plain(self.caption))}" loading="eager">'
            f"<figcaption>{self.caption} <span class=\"note\">({links})</span></figcaption></figure>"
        )


def _plain(text: str) -> str:
    """Caption text without tags, for the alt attribute."""
    return re.sub(r"<[^>]+>", "", text)


@dataclass
class Section:
    """One section of the page: ``blocks`` are HTML fragments in order; ``data`` is what it shows."""

    key: str
    title: str
    blocks: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, *blocks: str) -> None:
        self.blocks.extend(blocks)

    def paragraph(self, *sentences: str) -> None:
        self.blocks.append("<p>" + " ".join(sentences) + "</p>")

    def figures(self, figures: Iterable[Figure], *, wide: bool = False) -> None:
        """A grid of figures, two per row on a wide screen; ``wide`` ones get a row each."""
        css = "figures wide" if wide else "figures"
        self.blocks.append(f'<div class="{css}">' + "".join(f.html() for f in figures) + "</div>")

    def html(self, number: int) -> str:
        body = "\n".join(self.blocks)
        return f'<section id="{self.key}">\n<h2>{number}. {html.escape(self.title)}</h2>\n{body}\n</section>'


def table(caption: str, header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1) -> str:
    """An HTML table; cells are HTML already (numbers from :class:`Numbers`), columns from
    ``numeric_from`` on are right-aligned."""
    head = "".join(f'<th scope="col">{h}</th>' for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i >= numeric_from else f"<td>{cell}</td>" for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def explorer_html(logits: Sequence[float], target: int, classes: Sequence[str], temperature: float) -> str:
    """The explorer's markup; ``explorer.js`` fills in the rows and every number."""
    initial = json.dumps(
        {"logits": [float(v) for v in logits], "target": int(target), "classes": list(classes), "temperature": float(temperature)}
    )
    return f"""<div id="explorer" data-initial="{html.escape(initial)}">
<h3>Explorer: move the logits</h3>
<div class="explorer-controls">
<label>classes <select id="explorer-classes"></select></label>
<label>target <select id="explorer-target"></select></label>
<label>temperature <input id="explorer-temperature" type="range" min="0.1" max="5" step="0.05" value="{float(temperature)!r}">
<span class="num" id="explorer-temperature-value"></span></label>
</div>
<div class="explorer-loss"><span class="ce">CE = <span class="num" id="explorer-ce"></span></span>
<span class="mse">MSE = <span class="num" id="explorer-mse"></span></span></div>
<table><thead><tr><th scope="col">class</th><th scope="col" colspan="2">logit z</th>
<th scope="col" colspan="2">p = softmax(z / T)</th><th scope="col">&part;CE/&part;z</th><th scope="col">&part;MSE/&part;z</th></tr></thead>
<tbody id="explorer-rows"></tbody></table>
<p class="note">Computed in your browser with the same stable formulas as the Python library
(max-shifted softmax, log-sum-exp); MSE is summed over the classes of the softmax probabilities.</p>
</div>"""


def render_page(*, title: str, subtitle: str, sections: Sequence[Section], version: str) -> str:
    """The whole page: template, inline CSS and JS, a table of contents and the numbered sections."""
    toc = "\n".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in sections)
    body = "\n".join(s.html(i) for i, s in enumerate(sections, start=1))
    return Template(read_asset("page.html")).substitute(
        title=html.escape(title),
        subtitle=subtitle,
        toc=toc,
        sections=body,
        style=read_asset("style.css"),
        script=read_asset("explorer.js"),
        version=html.escape(version),
    )
