"""The report's page machinery: escaping by default, templates, MathML, figure sizing, progress, --lang.

Fast unit tests (no report run); the rendered page itself is tested in tests/test_report.py and,
in a browser, in tests/test_report_browser.py.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest

from outlayer.report import _math as m
from outlayer.report._i18n import T
from outlayer.report._markup import Markup, attrs, escape, json_script
from outlayer.report._page import (
    Figure,
    FigureSize,
    Numbers,
    Section,
    data_table,
    measure_figure,
    render_page,
    render_template,
)
from outlayer.report._progress import Progress

HOSTILE = '<script>alert("x")</script>&'


# ------------------------------------------------------------------------------ escaping
def test_text_is_escaped_and_markup_passes() -> None:
    assert escape(HOSTILE) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"
    assert escape(Markup("<b>ok</b>")) == "<b>ok</b>"
    assert Markup("<p>") + HOSTILE == "<p>" + str(escape(HOSTILE))
    assert HOSTILE + Markup("<p>") == str(escape(HOSTILE)) + "<p>"
    assert "<p>" + escape(HOSTILE) == "&lt;p&gt;" + str(escape(HOSTILE))  # plain text on the left is text too
    assert Markup(", ").join(["<a>", Markup("<b>")]) == "&lt;a&gt;, <b>"
    assert Markup("<i>{}</i>").format("<x>") == "<i>&lt;x&gt;</i>"
    assert isinstance(Markup("a") + "b", Markup)


def test_numbers_cannot_reach_the_page_without_numbers() -> None:
    with pytest.raises(TypeError, match="numbers go through Numbers"):
        escape(0.5)
    with pytest.raises(TypeError):
        Markup("{}").format(3)


def test_attributes_and_json_are_escaped() -> None:
    assert attrs(data_key='a"b', hidden=True, title=None) == ' data-key="a&quot;b" hidden'
    script = json_script("x", {"text": "</script><b>"})
    assert "</script><b>" not in script[:-len("</script>")] and "<\\/script>" in script


def test_templates_fill_values_escaped_and_translations_in_both_languages() -> None:
    out = render_template("<h3>{{ t:explorer.title }}</h3><div data-x=\"{{ v }}\">{{ m }}</div>",
                          v=HOSTILE, m=Markup("<math></math>"))
    assert 'lang="en"' in out and 'lang="zh-Hans"' in out and "交互演示" in out
    assert escape(HOSTILE) in out and "<math></math>" in out
    with pytest.raises(KeyError, match="missing"):
        render_template("{{ missing }}")


def test_every_section_refuses_raw_html() -> None:
    for key in ("labels", "surface", "training", "beyond"):  # the lab's sections too: no legacy path is left
        section = Section(key, T(f"{key}.title"))
        for call in (lambda: section.add("<p>raw</p>"), lambda: section.p("raw text"),  # noqa: B023
                     lambda: Figure("figures/x", "<b>raw caption</b>").html(None)):  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                call()
    assert not hasattr(Section, "paragraph") and not hasattr(Section, "legacy")


def test_table_cells_escape_text_and_mark_it_language_neutral() -> None:
    out = data_table(T("col.dataset"), [T("col.dataset"), "plain"], [[HOSTILE, Markup("<b>1</b>")]])
    assert escape(HOSTILE) in out and '<span translate="no">' in out and "<b>1</b>" in out
    assert out.startswith('<div class="table-wrap"><table>')


def test_numbers_tag_spans_and_mathml() -> None:
    numbers = Numbers("loss", {"worked": {"p": [0.6590011388859679, -1e-9]}})
    assert numbers.mn("worked/p/0", ".4f") == (
        '<mn class="num" data-key="loss:worked/p/0" data-value="0.6590011388859679">0.6590</mn>')
    assert ">0.000<" in numbers("worked/p/1", ".3f")


def test_mathml_constructors_escape_and_nest() -> None:
    assert m.I("<") == "<mi>&lt;</mi>"
    assert m.O("-") == "<mo>\u2212</mo>"
    formula = m.math(m.frac(m.I("a"), m.N("2")), display=True)
    assert formula == '<math display="block"><mfrac><mi>a</mi><mn>2</mn></mfrac></math>'
    with pytest.raises(TypeError, match="plain text"):
        m.row("x", "y")  # type: ignore[arg-type]
    box = m.derivation(T("deriv.ce.title"), [(m.math(m.I("x")), T("deriv.ce.chain"))], key="ce")
    assert box.startswith('<aside class="derivation" id="deriv-ce">') and box.count("<li>") == 1


# --------------------------------------------------------------------------------- figures
@pytest.fixture(scope="module")
def figure_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One matplotlib figure, 6 x 3 inches, smallest text 8 pt, as SVG and PNG (dpi 120)."""
    from outlayer.plots import new_figure, save_figure

    folder = tmp_path_factory.mktemp("figures")
    fig = new_figure(6.0, 3.0)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="line")
    ax.legend(fontsize=8)
    ax.tick_params(labelsize=9)
    ax.set_title("title", fontsize=12)
    save_figure(fig, folder, "demo")
    return folder


def test_figure_size_and_smallest_text_are_read_from_the_files(figure_files: Path) -> None:
    svg = measure_figure(figure_files / "demo.svg")
    assert svg.width_px == pytest.approx(6 * 96) and svg.height_px == pytest.approx(3 * 96)
    assert svg.min_text_pt == pytest.approx(8)
    png = measure_figure(figure_files / "demo.png")
    assert png.width_px == pytest.approx(6 * 96, rel=1e-3) and png.min_text_pt is None


def test_narrowest_display_keeps_the_smallest_text_at_10_css_px() -> None:
    size = FigureSize(width_px=576, height_px=288, min_text_pt=8)
    width = size.min_display_px()
    # text of s pt is s * 96/72 px at the natural width, scaled by display / natural width
    assert 8 * 96 / 72 * width / 576 >= 10 > 8 * 96 / 72 * (width - 1) / 576
    assert FigureSize(576, 288, None).min_display_px() == math.ceil(0.75 * 576)  # 10 pt assumed


def test_figure_html_has_permalink_svg_png_links_and_its_sizes(figure_files: Path) -> None:
    caption = T("softmax.fig_temperature", classes="a, b, c")
    html = Figure("demo", caption).html(figure_files)
    assert '<figure class="fig" id="fig-demo" style="--fig-w:576px;--fig-min:540px">' in html
    assert '<img src="demo.svg"' in html and 'href="demo.png">PNG' in html and 'href="demo.svg">SVG' in html
    assert 'href="#fig-demo"' in html and "data-tr-alt=" in html
    with pytest.raises(FileNotFoundError):
        Figure("absent", caption).html(figure_files)


def test_figure_of_panels_shows_each_panel_sized_under_one_caption(tmp_path: Path) -> None:
    from outlayer.plots import Panels, new_figure, save_figures
    from outlayer.report._sections import figure_from

    panels = Panels()
    for name in ("ce", "mse-logits"):
        fig = new_figure()
        fig.subplots().plot([0, 1], [1, 0])
        panels[name] = fig
    written = save_figures({"cut": panels, "single": new_figure()}, tmp_path)
    assert written["cut"] == "cut-ce.png" and written["cut-mse-logits_svg"] == "cut-mse-logits.svg"
    figure = figure_from(written, "cut", T("fig.surface_3d"))
    assert figure.panels == ("figures/cut-ce", "figures/cut-mse-logits") and figure.anchor == "fig-cut"
    (tmp_path / "figures").mkdir()
    for file in tmp_path.glob("*.*"):
        file.rename(tmp_path / "figures" / file.name)
    html = figure.html(tmp_path)
    assert html.count("<figure") == 1 and html.count("<figcaption>") == 1 and html.count("<img") == 2
    assert '<figure class="fig multi" id="fig-cut" style="--fig-w:442px;--fig-min:332px;--count:2">' in html
    assert '<div class="panels" data-count="2"' in html
    # every panel carries its own size: 4.6 in (442 px) at 10 pt text keeps 10 px down to 332 px, which
    # fits the column of a 360 px phone (336 px)
    assert html.count('class="fig-frame" style="--fig-w:442px;--fig-min:332px"') == 2
    assert 'href="figures/cut-ce.svg"' in html and 'href="figures/cut-mse-logits.png"' in html
    assert figure_from(written, "single", T("fig.surface_3d")).panels == ()


def test_page_opens_in_the_chosen_language(figure_files: Path) -> None:
    section = Section("labels", T("labels.title"))
    section.p(T("labels.intro"))
    for lang, html_lang, title in (("en", "en", "The output layer"), ("zh", "zh-Hans", "分类网络的输出层")):
        page = render_page(title=T("page.title"), subtitle=T("page.quick"), sections=[section], version="0",
                           lang=lang)
        assert page.startswith(f'<!DOCTYPE html>\n<html lang="{html_lang}" data-lang="{lang}">')
        assert f"<title>{title}" in page
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        render_page(title=T("page.title"), subtitle=T("page.quick"), sections=[], version="0", lang="fr")


# -------------------------------------------------------------------------------- progress
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_writes_a_line_per_stage_with_the_elapsed_time() -> None:
    stream = io.StringIO()
    progress = Progress(2, enabled=True, stream=stream)
    progress.stage("start")
    progress.lab_done("surface")
    progress.lab_done("explain")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert all(line.startswith("[") and " s] " in line for line in lines)
    assert lines[1].endswith("lab 1/2 done: surface") and lines[2].endswith("lab 2/2 done: explain")


def test_progress_draws_a_bar_on_a_terminal_and_nothing_when_disabled() -> None:
    terminal = _Terminal()
    progress = Progress(2, enabled=True, stream=terminal)
    progress.lab_done("surface")
    progress.stage("halfway")
    progress.close()
    text = terminal.getvalue()
    assert "labs 1/2" in text and "halfway" in text and "lab 1/2 done" not in text
    quiet = io.StringIO()
    silent = Progress(2, enabled=False, stream=quiet)
    silent.stage("x")
    silent.lab_done("y")
    silent.close()
    assert quiet.getvalue() == ""


def test_cli_passes_lang_and_progress_to_the_report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from outlayer.cli import main

    calls: list[dict[str, Any]] = []

    def fake_report(out: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return {"index": tmp_path / "index.html", "summary": []}

    monkeypatch.setattr("outlayer.report.build_report", fake_report)
    assert main(["report", "--quick", "--out", str(tmp_path / "r"), "--lang", "zh"]) == 0
    assert calls[-1]["lang"] == "zh" and calls[-1]["progress"] is True
    assert main(["report", "--quick", "--out", str(tmp_path / "r")]) == 0
    assert calls[-1]["lang"] == "en"
    capsys.readouterr()
    try:
        code = main(["report", "--lang", "fr"])
    except SystemExit as exc:  # argparse's own exit, where main() does not catch it
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "invalid choice: 'fr'" in err
    assert len(calls) == 2  # nothing ran


def test_build_report_refuses_an_unknown_language_before_any_work(tmp_path: Path) -> None:
    from outlayer.report import build_report

    with pytest.raises(ValueError, match="unknown language 'de'"):
        build_report(tmp_path / "r", quick=True, lang="de")
    assert not (tmp_path / "r").exists()
