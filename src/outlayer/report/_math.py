"""MathML for the report's formulas and derivations: native in browsers, no script, no font download.

A formula is built from a handful of constructors that return Markup, e.g.
``math(sub(I("p"), I("i")), O("="), frac(sup(I("e"), sub(I("z"), I("i"))), ...))``. Text given
to them is escaped; numbers from the data come in as ``Numbers.mn(path, fmt)`` (a tagged
``<mn>``), so a formula with the worked example's values is traced like any other number.

:func:`derivation` lays out numbered steps, each a display formula with a translated line
saying what the step does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from outlayer.report._i18n import Msg, block
from outlayer.report._markup import Markup, escape

__all__ = [
    "T_",
    "I",
    "N",
    "O",
    "derivation",
    "frac",
    "join",
    "math",
    "over",
    "paren",
    "row",
    "sqrt",
    "sub",
    "subsup",
    "sum_over",
    "sup",
]

#: U+2212, the minus sign (typeset wider than the hyphen).
MINUS = "\u2212"


def math(*children: Markup, display: bool = False) -> Markup:
    """A ``<math>`` element; ``display`` sets it on its own centred line."""
    mode = ' display="block"' if display else ""
    return Markup(f"<math{mode}>{row(*children)}</math>")


def row(*children: Markup) -> Markup:
    """Children grouped as one ``<mrow>`` (one child is returned as is)."""
    if len(children) == 1:
        return Markup(children[0])
    return Markup("<mrow>" + "".join(_node(c) for c in children) + "</mrow>")


def _node(child: Markup | str) -> Markup:
    if isinstance(child, Markup):
        return child
    raise TypeError(f"MathML children must be built with I/N/O/...; got plain text {child!r}")


def I(name: str, *, normal: bool = False) -> Markup:  # noqa: E743 -- MathML builders are named after their elements (mi, mn, mo) so formulas read like formulas
    """An identifier; one letter is set italic, ``normal`` (or a word) upright."""
    variant = ' mathvariant="normal"' if normal and len(name) == 1 else ""
    return Markup(f"<mi{variant}>{escape(name)}</mi>")


def N(text: str) -> Markup:
    """A literal number that is part of the formula (1, 2), not a measured value."""
    return Markup(f"<mn>{escape(text)}</mn>")


def O(op: str, *, form: str | None = None) -> Markup:  # noqa: E743 -- see I
    """An operator or fence; "-" becomes the minus sign."""
    op = MINUS if op == "-" else op
    extra = f' form="{form}"' if form else ""
    return Markup(f"<mo{extra}>{escape(op)}</mo>")


def T_(text: str) -> Markup:
    """Upright text inside a formula (a function name such as "diag"), language-neutral only."""
    return Markup(f"<mtext>{escape(text)}</mtext>")


def frac(numerator: Markup, denominator: Markup) -> Markup:
    return Markup(f"<mfrac>{numerator}{denominator}</mfrac>")


def sub(base: Markup, index: Markup) -> Markup:
    return Markup(f"<msub>{base}{index}</msub>")


def sup(base: Markup, power: Markup) -> Markup:
    return Markup(f"<msup>{base}{power}</msup>")


def subsup(base: Markup, index: Markup, power: Markup) -> Markup:
    return Markup(f"<msubsup>{base}{index}{power}</msubsup>")


def over(base: Markup, accent: str) -> Markup:
    """``base`` with an accent above (a hat, a bar)."""
    return Markup(f'<mover accent="true">{base}<mo>{escape(accent)}</mo></mover>')


def sqrt(x: Markup) -> Markup:
    return Markup(f"<msqrt>{x}</msqrt>")


def paren(*children: Markup, left: str = "(", right: str = ")") -> Markup:
    """Children between stretchy fences."""
    return row(O(left), *children, O(right))


def sum_over(index: str, upper: Markup | None = None) -> Markup:
    """A summation sign with ``index = 1`` below (and ``upper`` above, if given)."""
    below = row(I(index), O("="), N("1")) if upper is not None else I(index)
    if upper is None:
        return Markup(f"<munder><mo>∑</mo>{below}</munder>")
    return Markup(f"<munderover><mo>∑</mo>{below}{upper}</munderover>")


def derivation(title: Msg, steps: Sequence[tuple[Markup, Msg | None]], *, key: str) -> Markup:
    """A boxed derivation: a title and numbered steps, each a display formula and a line of text.

    ``key`` becomes the box's id (``deriv-KEY``), so a derivation can be linked to.
    """
    items: list[str] = []
    for formula, words in steps:
        text = block([words], "p", class_="step-text") if words is not None else Markup("")
        items.append(f"<li>{formula}{text}</li>")
    return Markup(
        f'<aside class="derivation" id="deriv-{escape(key)}">'
        f"{block([title], 'h4')}<ol>{''.join(items)}</ol></aside>"
    )


def join(items: Iterable[Markup], separator: Markup) -> list[Markup]:
    """``items`` with ``separator`` between them, as a flat list of MathML children."""
    out: list[Markup] = []
    for item in items:
        if out:
            out.append(separator)
        out.append(item)
    return out
