"""The quick report opened in headless Chromium at 1440x900 and 390x844: it loads cleanly and
offline, fits the screen, reads in both languages, prints figures whole, and its explorer and
interactive error surface agree with the library to the last bits.

Skipped (with the reason) when Debian's chromium or Playwright's Python package is missing; see
tests/conftest.py. Screenshots go to test-artifacts/ (git-ignored). With
OUTLAYER_UPDATE_SCREENSHOT=1 the README's docs/report-screenshot.png is rewritten too.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import outlayer
from outlayer.explain import explain

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
#: A4 with the print stylesheet's margins (13 + 14 mm, 12 + 12 mm), in CSS px (96 per inch).
A4_CONTENT_PX = ((210 - 24) / 25.4 * 96, (297 - 27) / 25.4 * 96)


def _open(browser: Any, report: dict[str, Any], viewport: tuple[int, int], fragment: str = "") -> SimpleNamespace:
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=1)
    page = context.new_page()
    seen = SimpleNamespace(requests=[], errors=[])
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("console", lambda message: seen.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.goto(report["index"].as_uri() + fragment, wait_until="load")
    page.wait_for_selector("#explorer[data-ready='true']")
    page.wait_for_selector("#isurface[data-ready='true']")
    page.evaluate("window.outlayerSurface.finish()")  # end the descent animation
    return SimpleNamespace(page=page, context=context, seen=seen, report=report)


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def screen(request: pytest.FixtureRequest, browser: Any, quick_report: dict[str, Any]) -> Any:
    """The quick report open at each viewport, with every request, console error and page error recorded."""
    opened = _open(browser, quick_report, VIEWPORTS[request.param])
    opened.name = request.param
    yield opened
    opened.context.close()


@pytest.fixture(scope="module")
def report_page(browser: Any, quick_report: dict[str, Any]) -> Any:
    """The quick report on a desktop screen, for the explorer and surface tests (which change its state)."""
    opened = _open(browser, quick_report, VIEWPORTS["desktop"])
    yield opened
    opened.context.close()


def _value(page: Any, selector: str) -> float:
    """A displayed number at full precision (the page writes String(x) to data-value)."""
    return float(page.locator(selector).get_attribute("data-value"))


def _explorer_state(page: Any) -> tuple[np.ndarray, int, float]:
    logits = np.array([float(v) for v in page.locator(".explorer-logit").evaluate_all("els => els.map(e => e.value)")])
    target = int(page.locator("#explorer-target").input_value())
    temperature = float(page.locator("#explorer-temperature").input_value())
    return logits, target, temperature


def _set_range(page: Any, selector: str, value: float) -> None:
    """Set a slider the way a drag ends: new value, then the input event the page listens to."""
    page.locator(selector).evaluate(
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', {bubbles: true})); }", value
    )


def _english(page: Any) -> None:
    page.evaluate("window.outlayerPage.setLanguage('en', false)")


def _reset_explorer(page: Any, logits: list[float], target: int, temperature: float) -> None:
    """Set the explorer like a reader would (logits on the sliders' 0.1 grid), in English."""
    _english(page)
    page.select_option("#explorer-classes", str(len(logits)))
    page.select_option("#explorer-target", str(target))
    _set_range(page, "#explorer-temperature", temperature)
    for k, value in enumerate(logits):
        _set_range(page, f"#explorer-logit-{k}", value)


# ------------------------------------------------------------------------ loads cleanly, offline
def test_page_has_no_console_errors(screen: Any) -> None:
    assert screen.seen.errors == []


def test_page_requests_nothing_beyond_local_files(screen: Any) -> None:
    outside = [url for url in screen.seen.requests if not url.startswith(("file://", "data:"))]
    assert screen.seen.requests, "the page loaded nothing at all (not even itself)"
    assert outside == []


def test_every_figure_file_is_shown_once_and_every_image_loads(screen: Any) -> None:
    images = screen.page.evaluate(
        "Array.from(document.images).map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}))"
    )
    stems = sorted({p.stem for p in (screen.report["out"] / "figures").iterdir()})
    assert sorted(Path(image["src"]).stem for image in images) == stems  # each figure once, none missing
    assert [image["src"] for image in images if not image["ok"]] == []


# ---------------------------------------------------------------------------------- layout
def test_page_never_scrolls_sideways(screen: Any) -> None:
    for lang in ("en", "zh"):
        screen.page.evaluate("lang => window.outlayerPage.setLanguage(lang, false)", lang)
        width = screen.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], (screen.name, lang, width)
    screen.page.evaluate("window.outlayerPage.setLanguage('en', false)")


@pytest.mark.parametrize("width", [360, 768, 1024, 1920])
def test_page_fits_every_width_from_360_px_to_wide(browser: Any, quick_report: dict[str, Any], width: int) -> None:
    opened = _open(browser, quick_report, (width, 800))
    try:
        for lang in ("en", "zh"):
            opened.page.evaluate("lang => window.outlayerPage.setLanguage(lang, false)", lang)
            scroll, client = opened.page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert scroll <= client, (width, lang)
        narrow = opened.page.evaluate(
            "Array.from(document.querySelectorAll('input[type=range]')).filter(e => e.getBoundingClientRect().width < 150).length")
        assert narrow == 0
        # every panel is drawn to fit a 360 px phone column at 10 px text: none needs to scroll
        scrolling = opened.page.evaluate(
            "Array.from(document.querySelectorAll('.fig-frame')).filter(f => f.scrollWidth > f.clientWidth + 1).length")
        assert scrolling == 0, width
    finally:
        opened.context.close()


def test_every_slider_is_at_least_150_px_wide(screen: Any) -> None:
    widths = screen.page.evaluate(
        "Array.from(document.querySelectorAll('input[type=range]')).map(el => [el.id, el.getBoundingClientRect().width])"
    )
    assert len(widths) >= 5  # 3 logits, the temperature, the held-out logit, the learning rate
    assert [(name, width) for name, width in widths if width < 150] == [], screen.name


def test_tables_scroll_inside_themselves(screen: Any) -> None:
    tables = screen.page.evaluate(
        "Array.from(document.querySelectorAll('main table')).map(t => getComputedStyle(t.parentElement).overflowX)"
    )
    assert tables and set(tables) <= {"auto"}


def _svg_text_sizes(path: Path) -> tuple[float, float]:
    """An SVG figure's width in pt and its smallest text in pt (matplotlib draws text as glyph paths
    scaled by size/100, or as <text> with a font size), read independently of the page code."""
    text = path.read_text()
    width = float(re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', text).group(1))
    sizes = [100 * float(s) for s in re.findall(r"scale\(([\d.]+) -\1\)", text)]
    sizes += [float(s) for s in re.findall(r"font(?:-size)?:\s*([\d.]+)px", text)]
    return width, min(sizes)


def test_every_svg_figure_shows_its_text_at_10_css_px_or_more(screen: Any) -> None:
    shown = screen.page.evaluate(
        "Array.from(document.images).map(img => [img.getAttribute('src'), img.getBoundingClientRect().width])"
    )
    checked = 0
    for src, width in shown:
        if not src.endswith(".svg"):
            continue  # a PNG-only figure carries no text sizes; the page assumes 10 pt for it
        width_pt, smallest_pt = _svg_text_sizes(screen.report["out"] / src)
        # 1 pt of the figure is 96/72 CSS px at its natural width (width_pt * 96/72 px)
        smallest_px = smallest_pt * width / width_pt
        assert smallest_px >= 10 - 1e-6, (screen.name, src, smallest_px)
        checked += 1
    assert checked >= 1


def test_every_figure_fits_its_column_at_10_px_text(screen: Any) -> None:
    """No frame scrolls sideways on desktop or phone: each panel shows whole, its smallest text >= 10 px
    (the test above), and a figure of several panels stacks them on a phone."""
    frames = screen.page.evaluate("""Array.from(document.querySelectorAll('.fig-frame')).map(f => ({
        scrolls: f.scrollWidth > f.clientWidth + 1, width: f.getBoundingClientRect().width,
        panels: f.parentElement.classList.contains('panels') ? f.parentElement.children.length : 1,
        top: f.getBoundingClientRect().top}))""")
    assert frames and [f for f in frames if f["scrolls"]] == []
    if screen.name == "phone":  # one panel per row: each frame below the previous one of its figure
        assert all(f["width"] <= 390 - 24 for f in frames)
    else:  # side by side where the column is wide enough
        tops = [f["top"] for f in frames if f["panels"] > 1]
        assert len(set(tops)) < len(tops)


def test_figures_have_permalinks(screen: Any) -> None:
    links = screen.page.evaluate(
        "Array.from(document.querySelectorAll('figure')).map(f => [f.id, f.querySelector('a.permalink').getAttribute('href')])"
    )
    assert links and all(fid.startswith("fig-") and href == f"#{fid}" for fid, href in links)
    assert len({fid for fid, _ in links}) == len(links)


# ------------------------------------------------------------------------------- languages
def test_language_switch_changes_every_translated_node(report_page: Any) -> None:
    page = report_page.page
    page.evaluate("window.outlayerPage.setLanguage('en', false)")
    messages = json.loads(page.locator("#outlayer-messages").text_content())["text"]

    def shown(lang_attr: str) -> list[bool]:
        return page.evaluate(
            "lang => Array.from(document.querySelectorAll(`[data-msg][lang='${lang}']`)).map(el => getComputedStyle(el).display !== 'none')",
            lang_attr)

    english, chinese = shown("en"), shown("zh-Hans")
    assert len(english) == len(chinese) > 100
    assert all(english) and not any(chinese)
    js_before = page.evaluate("Array.from(document.querySelectorAll('[data-js-msg]')).map(el => el.textContent)")
    alt_before = page.evaluate("Array.from(document.querySelectorAll('img[data-tr-alt]')).map(el => el.alt)")
    page.click("button[data-set-lang='zh']")
    english, chinese = shown("en"), shown("zh-Hans")
    assert not any(english) and all(chinese)
    # the two versions of each message differ (no untranslated copy) ...
    pairs = page.evaluate("""() => {
        const byKey = {};
        document.querySelectorAll('[data-msg]').forEach(el => {
            (byKey[el.dataset.msg + '|' + el.parentElement.tagName] ||= {})[el.lang] = el.textContent; });
        return Object.entries(byKey); }""")
    same = [key for key, texts in pairs if texts.get("en") == texts.get("zh-Hans") and re.search(r"[a-z]{3}", texts["en"])]
    assert same == []
    # ... and the scripts' text, the attributes, the title and the document language follow
    js_after = page.evaluate("""() => Array.from(document.querySelectorAll('[data-js-msg]')).map(el =>
        [el.getAttribute('data-js-msg'), el.textContent])""")
    assert len(js_after) == len(js_before) > 5
    for (key, text), before in zip(js_after, js_before):
        if key in messages["zh"] and messages["zh"][key] != messages["en"][key]:
            assert text != before, key
            assert re.search(r"[\u4e00-\u9fff]", text), (key, text)
    alt_after = page.evaluate("Array.from(document.querySelectorAll('img[data-tr-alt]')).map(el => el.alt)")
    assert alt_after and all(a != b for a, b in zip(alt_after, alt_before))
    assert page.evaluate("document.documentElement.lang") == "zh-Hans"
    assert page.title() == "分类网络的输出层"
    assert "lang=zh" in page.evaluate("location.hash")


def test_language_choice_survives_a_reload_and_travels_in_the_link(browser: Any, quick_report: dict[str, Any]) -> None:
    opened = _open(browser, quick_report, VIEWPORTS["phone"])
    try:
        page = opened.page
        assert page.evaluate("document.documentElement.dataset.lang") == "en"
        page.click("button[data-set-lang='zh']")
        page.goto(quick_report["index"].as_uri(), wait_until="load")  # no fragment: localStorage remembers
        assert page.evaluate("document.documentElement.dataset.lang") == "zh"
        page.goto(quick_report["index"].as_uri() + "#lang=en", wait_until="load")  # a link's language wins,
        assert page.evaluate("document.documentElement.dataset.lang") == "en"  # also in the same tab
        page.goto("about:blank")
        page.goto(quick_report["index"].as_uri() + "#lang=zh", wait_until="load")
        assert page.evaluate("document.documentElement.dataset.lang") == "zh"
        assert opened.seen.errors == []
    finally:
        opened.context.close()


def test_no_node_of_the_page_is_untranslated(report_page: Any) -> None:
    # the lab's sections were the last raw-English ones; now every sentence switches with the language
    assert report_page.page.evaluate("document.querySelectorAll('[data-untranslated]').length") == 0
    for section in ("surface", "training", "beyond"):
        shown = report_page.page.evaluate(
            "id => Array.from(document.querySelectorAll(`#${id} [data-msg]`)).map(el => el.lang)", section)
        assert shown.count("en") == shown.count("zh-Hans") > 10, section


# ----------------------------------------------------------------------------------- explorer
def test_explorer_starts_at_worked_example_with_library_values(report_page: Any) -> None:
    page = report_page.page
    _reset_explorer(page, [2.0, 1.0, 0.1], 0, 1.0)
    logits, target, temperature = _explorer_state(page)
    ce, ce_grad = outlayer.cross_entropy_with_grad(logits, target, reduction="sum")
    mse, mse_grad = outlayer.mse_with_grad(logits, target, reduction="sum")
    assert logits.tolist() == [2.0, 1.0, 0.1] and target == 0 and temperature == 1.0
    assert _value(page, "#explorer-ce") == pytest.approx(float(ce), rel=1e-13)
    assert _value(page, "#explorer-mse") == pytest.approx(float(mse), rel=1e-13)
    for k in range(3):
        assert _value(page, f"#explorer-ce-grad-{k}") == pytest.approx(float(ce_grad[k]), rel=1e-12, abs=1e-15)
        assert _value(page, f"#explorer-mse-grad-{k}") == pytest.approx(float(mse_grad[k]), rel=1e-12, abs=1e-15)


def test_explorer_logits_range_from_minus_20_to_20(report_page: Any) -> None:
    ranges = report_page.page.locator(".explorer-logit").evaluate_all("els => els.map(e => [e.min, e.max])")
    assert ranges and all(r == ["-20", "20"] for r in ranges)


def test_moving_a_slider_changes_ce_to_library_value(report_page: Any) -> None:
    page = report_page.page
    _reset_explorer(page, [2.0, 1.0, 0.1], 0, 1.0)
    before = _value(page, "#explorer-ce")
    slider = page.locator("#explorer-logit-2")
    slider.focus()
    for _ in range(15):  # the keyboard moves a range input by its step (0.1), as a user would
        page.keyboard.press("ArrowRight")
    logits, target, _ = _explorer_state(page)
    expected = float(outlayer.cross_entropy(logits, target, reduction="sum"))
    assert logits[2] == pytest.approx(1.6)
    assert _value(page, "#explorer-ce") != before
    assert _value(page, "#explorer-ce") == pytest.approx(expected, rel=1e-13)
    assert page.locator("#explorer-ce").inner_text() == f"{expected:.4f}"
    assert page.locator("#explorer-logit-number-2").input_value() == "1.6"  # the number box follows


def test_typing_a_logit_moves_its_slider(report_page: Any) -> None:
    page = report_page.page
    _reset_explorer(page, [2.0, 1.0, 0.1], 0, 1.0)
    page.fill("#explorer-logit-number-1", "-13.7")
    assert page.locator("#explorer-logit-1").input_value() == "-13.7"
    expected = float(outlayer.cross_entropy(np.array([2.0, -13.7, 0.1]), 0, reduction="sum"))
    assert _value(page, "#explorer-ce") == pytest.approx(expected, rel=1e-13)


def test_confidently_wrong_shows_mse_gradient_vanishing_in_scientific_notation(report_page: Any) -> None:
    # the case: cat -8, dog 8; MSE's push on cat's logit is ~4.5e-7, not "0.000"
    page = report_page.page
    page.click("#explorer-wrong")
    logits, target, temperature = _explorer_state(page)
    assert logits.tolist() == [-8.0, 8.0, 0.1] and target == 0 and temperature == 1.0
    _, mse_grad = outlayer.mse_with_grad(logits, target, reduction="sum")
    _, ce_grad = outlayer.cross_entropy_with_grad(logits, target, reduction="sum")
    assert _value(page, "#explorer-mse-grad-0") == pytest.approx(float(mse_grad[0]), rel=1e-12)
    assert page.locator("#explorer-mse-grad-0").inner_text() == "\u22124.50\u00d710\u207b\u2077"
    assert page.locator("#explorer-mse-grad-1").inner_text() == "7.41\u00d710\u207b\u2074"
    assert page.locator("#explorer-ce-grad-0").inner_text() == "\u22121.00\u00d710\u2070"
    width = {key: page.locator(f"#explorer-{key}-gbar-0").evaluate("el => el.getBoundingClientRect().width")
             for key in ("ce", "mse")}
    track = page.locator("#explorer-ce-gbar-0").evaluate("el => el.parentElement.getBoundingClientRect().width")
    # log bars: 13 decades (1e-12 .. 10) across the track, so width / track = (log10|g| + 12) / 13
    for key, grad in (("ce", ce_grad[0]), ("mse", mse_grad[0])):
        assert width[key] / track == pytest.approx((math.log10(abs(grad)) + 12) / 13, abs=0.01)


def test_explorer_shows_sum_of_p_and_minus_log_p_target(report_page: Any) -> None:
    page = report_page.page
    logits = [3.3, -1.2, 0.5, 7.0]
    _reset_explorer(page, logits, 2, 1.7)
    p = outlayer.softmax(np.array(logits), temperature=1.7)
    assert _value(page, "#explorer-sum") == pytest.approx(1.0, abs=1e-15)
    assert _value(page, "#explorer-ce") == pytest.approx(-math.log(p[2]), rel=1e-12)


def test_two_class_mode_shows_sigmoid_equals_softmax(report_page: Any) -> None:
    page = report_page.page
    _reset_explorer(page, [1.3, -0.4], 0, 0.8)
    assert page.locator("#explorer-two").is_visible()
    sigmoid = float(outlayer.sigmoid(np.float64((1.3 + 0.4) / 0.8)))
    assert _value(page, "#explorer-sigmoid") == pytest.approx(sigmoid, rel=1e-14)
    assert _value(page, "#explorer-p1") == pytest.approx(float(outlayer.softmax(np.array([1.3, -0.4]) / 0.8)[0]),
                                                         rel=1e-14)
    page.select_option("#explorer-classes", "3")
    assert not page.locator("#explorer-two").is_visible()


def test_reset_returns_to_the_worked_example(report_page: Any) -> None:
    page = report_page.page
    _reset_explorer(page, [5.0, -3.0, 1.0, 2.0], 3, 2.0)
    page.click("#explorer-reset")
    logits, target, temperature = _explorer_state(page)
    assert logits.tolist() == [2.0, 1.0, 0.1] and target == 0 and temperature == 1.0


def test_explorer_setting_is_shared_through_the_link(browser: Any, report_page: Any) -> None:
    page = report_page.page
    _reset_explorer(page, [4.5, -20.0, 0.0, 19.9, -1.1], 3, 0.65)
    fragment = page.evaluate("location.hash")
    assert "z=4.5,-20,0,19.9,-1.1" in fragment and "t=4" in fragment  # the class is 1-based for readers
    assert page.locator("#explorer-link").get_attribute("href") == fragment
    opened = _open(browser, report_page.report, VIEWPORTS["phone"], fragment)
    try:
        logits, target, temperature = _explorer_state(opened.page)
        assert logits.tolist() == [4.5, -20.0, 0.0, 19.9, -1.1] and target == 3 and temperature == 0.65
        expected = explain(logits, target=target, classes=[str(k) for k in range(5)], temperature=temperature)
        assert _value(opened.page, "#explorer-ce") == pytest.approx(expected["cross_entropy"], rel=1e-13)
    finally:
        opened.context.close()


def test_explorer_with_more_classes_target_and_temperature_matches_explain(report_page: Any) -> None:
    page = report_page.page
    logits = [1.5, -2.0, 0.3, 4.2, -0.7, 0.0, 2.6]
    _reset_explorer(page, logits, 4, 2.35)
    z, target, temperature = _explorer_state(page)
    assert z.tolist() == logits and target == 4 and temperature == 2.35
    expected = explain(z, target=target, classes=[str(k) for k in range(len(z))], temperature=temperature)
    assert _value(page, "#explorer-ce") == pytest.approx(expected["cross_entropy"], rel=1e-13)
    assert _value(page, "#explorer-mse") == pytest.approx(expected["mse"], rel=1e-12)
    for k in range(len(z)):
        assert _value(page, f"#explorer-prob-{k}") == pytest.approx(expected["probabilities"][k], rel=1e-13)
        assert _value(page, f"#explorer-ce-grad-{k}") == pytest.approx(expected["grad_cross_entropy"][k], rel=1e-12, abs=1e-15)
        assert _value(page, f"#explorer-mse-grad-{k}") == pytest.approx(expected["grad_mse"][k], rel=1e-12, abs=1e-15)
    assert page.locator("#explorer-name-4").inner_text() == "class 5"  # classes are 1-based for readers


def test_explorer_offers_two_to_ten_classes(report_page: Any) -> None:
    page = report_page.page
    options = page.locator("#explorer-classes option").evaluate_all("els => els.map(e => Number(e.value))")
    assert options == list(range(2, 11))
    page.select_option("#explorer-classes", "10")
    assert page.locator(".explorer-logit").count() == 10
    assert page.locator("#explorer-target option").count() == 10
    page.select_option("#explorer-classes", "3")
    assert page.locator(".explorer-logit").count() == 3


def _torch_reference(z: list[float], target: int, temperature: float) -> dict[str, Any]:
    """CE, MSE and their gradients by PyTorch autograd: an oracle independent of outlayer."""
    torch = pytest.importorskip("torch")
    logits = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    scaled = logits / temperature
    ce = torch.nn.functional.cross_entropy(scaled[None], torch.tensor([target]))
    (ce_grad,) = torch.autograd.grad(ce, logits, retain_graph=True)  # the MSE below reuses `scaled`
    one_hot = torch.nn.functional.one_hot(torch.tensor(target), len(z)).to(torch.float64)
    mse = ((torch.softmax(scaled, 0) - one_hot) ** 2).sum()
    (mse_grad,) = torch.autograd.grad(mse, logits)
    return {"ce": ce.item(), "mse": mse.item(), "ce_grad": ce_grad.tolist(), "mse_grad": mse_grad.tolist()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    z=st.lists(st.floats(-800, 800, allow_nan=False, allow_infinity=False), min_size=2, max_size=10),
    data=st.data(),
    temperature=st.floats(0.05, 20.0),
)
def test_explorer_formulas_match_torch_even_for_extreme_logits(report_page: Any, z: list[float], data: Any,
                                                                temperature: float) -> None:
    # the page's own evaluate(): logits up to +-800 / 0.05 overflow exp() without the max shift
    target = data.draw(st.integers(0, len(z) - 1))
    got = report_page.page.evaluate("([z, t, T]) => window.outlayerExplorer.evaluate(z, t, T)", [z, target, temperature])
    want = _torch_reference(z, target, temperature)
    assert all(math.isfinite(v) for v in [got["ce"], got["mse"], *got["ceGrad"], *got["mseGrad"]])
    assert got["ce"] == pytest.approx(want["ce"], rel=1e-9, abs=1e-12)
    assert got["mse"] == pytest.approx(want["mse"], rel=1e-9, abs=1e-12)
    assert got["ceGrad"] == pytest.approx(want["ce_grad"], rel=1e-9, abs=1e-12)
    assert got["mseGrad"] == pytest.approx(want["mse_grad"], rel=1e-9, abs=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=st.floats(-800, 800, allow_nan=False))
def test_page_sigmoid_matches_the_library(report_page: Any, x: float) -> None:
    got = report_page.page.evaluate("x => window.outlayerFormulas.sigmoid(x)", x)
    assert got == pytest.approx(float(outlayer.sigmoid(np.float64(x))), rel=1e-15, abs=1e-300)


# ------------------------------------------------------------------------ interactive surface
SURFACE_CASES = [
    # (loss, optimizer, lr, held-out logit z3 (None = -inf), start)
    ("ce", "sgd", 0.5, None, (-10.0, 10.0)),
    ("mse", "sgd", 0.5, None, (-10.0, 10.0)),
    ("mse", "adam", 0.5, None, (-10.0, 10.0)),
    ("ce", "momentum", 2.0, 0.0, (-3.0, 4.0)),
    ("mse", "momentum", 0.5, 5.0, (2.5, -7.0)),
    ("ce", "adam", 0.05, -2.0, (-6.2, 1.3)),
    ("mse", "sgd", 10.0, 3.5, (0.0, 0.0)),
]


def _lab_path(loss: str, optimizer: str, lr: float, held_out: float | None, start: tuple[float, float],
              steps: int = 1000) -> Any:
    """The lab's descent path (outlayer.surface.descent_path) for the page's settings."""
    from outlayer.surface import LogitPlane, descent_path

    # the lab's -inf is -1000 (e^-1000 is exactly 0 in float64), the page's is -Infinity
    plane = LogitPlane(fixed=-1000.0 if held_out is None else held_out)
    return descent_path(loss, plane, start, optimizer=optimizer, lr=lr, steps=steps)


@pytest.mark.parametrize(("loss", "optimizer", "lr", "held_out", "start"), SURFACE_CASES)
def test_surface_descent_path_in_the_page_equals_the_lab(report_page: Any, loss: str, optimizer: str, lr: float,
                                                         held_out: float | None, start: tuple[float, float]) -> None:
    got = report_page.page.evaluate(
        """([loss, optimizer, lr, held, start]) => window.outlayerFormulas.descend({loss, optimizer, lr, start,
             heldOut: held === null ? -Infinity : held, steps: 1000, goal: 0.9})""",
        [loss, optimizer, lr, held_out, list(start)])
    want = _lab_path(loss, optimizer, lr, held_out, start)
    np.testing.assert_allclose(np.array(got["points"]), want.points, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["loss"], want.loss, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(got["p"], want.p_target, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(got["gradNorm"], want.grad_norm, rtol=1e-9, atol=1e-15)
    assert got["stepsToGoal"] == want.steps_to_goal
    assert got["diverged"] == want.diverged


def test_surface_readouts_show_the_lab_numbers_for_the_linked_setting(browser: Any, quick_report: dict[str, Any]) -> None:
    opened = _open(browser, quick_report, VIEWPORTS["phone"], "#s3=0&so=adam&slr=0.5&su=-3&sv=4")
    try:
        page = opened.page
        assert page.locator("#isurface-optimizer").input_value() == "adam"
        assert not page.locator("#isurface-inf").is_checked()
        budget = json.loads((quick_report["out"] / "data" / "surface.json").read_text())["setup"]["steps"]
        for loss in ("ce", "mse"):
            want = _lab_path(loss, "adam", 0.5, 0.0, (-3.0, 4.0), steps=budget)
            assert _value(page, f"#isurface-{loss}-grad") == pytest.approx(float(want.grad_norm[0]), rel=1e-12)
            assert _value(page, f"#isurface-{loss}-loss") == pytest.approx(float(want.loss[0]), rel=1e-12)
            assert _value(page, f"#isurface-{loss}-steps") == want.steps_to_goal
            assert page.locator(f"#isurface-{loss}-steps").inner_text() == f"{want.steps_to_goal} steps"
        assert opened.seen.errors == []
    finally:
        opened.context.close()


def test_lecture_corner_reports_mse_not_reachable(report_page: Any) -> None:
    page = report_page.page
    _english(page)
    page.click("#isurface-reset")
    page.evaluate("window.outlayerSurface.finish()")
    budget = json.loads((report_page.report["out"] / "data" / "surface.json").read_text())["setup"]["steps"]
    want = _lab_path("mse", "sgd", 0.5, None, (-10.0, 10.0), steps=budget)
    assert want.steps_to_goal is None
    assert page.locator("#isurface-mse-steps").inner_text() == f"not reached in {budget} steps"
    assert _value(page, "#isurface-mse-grad") == pytest.approx(float(want.grad_norm[0]), rel=1e-12)
    ce = _lab_path("ce", "sgd", 0.5, None, (-10.0, 10.0))
    assert page.locator("#isurface-ce-steps").inner_text() == f"{ce.steps_to_goal} steps"


def test_clicking_a_surface_starts_descent_there(report_page: Any) -> None:
    page = report_page.page
    page.click("#isurface-reset")
    canvas = page.locator("#isurface-mse")
    box = canvas.bounding_box()
    # the plot area is the canvas less its margins (38 px left, 10 right, 10 top, 34 bottom)
    plot_w, plot_h = box["width"] - 48, box["width"] - 44
    canvas.click(position={"x": 38 + 0.75 * plot_w, "y": 10 + 0.25 * plot_h})  # (z1, z2) = (5, 5)
    start = page.evaluate("window.outlayerSurface.state().start")
    assert start == pytest.approx([5.0, 5.0], abs=0.11)
    want = _lab_path("ce", "sgd", 0.5, None, tuple(start))
    assert _value(page, "#isurface-ce-grad") == pytest.approx(float(want.grad_norm[0]), rel=1e-12)
    assert "su=" in page.evaluate("location.hash")


def test_held_out_logit_control_includes_minus_infinity(report_page: Any) -> None:
    page = report_page.page
    page.click("#isurface-reset")
    assert page.locator("#isurface-inf").is_checked()
    assert page.evaluate("window.outlayerSurface.state().heldOut") == float("-inf")
    page.locator("#isurface-inf").uncheck()
    _set_range(page, "#isurface-held", 2.5)
    assert page.evaluate("window.outlayerSurface.state().heldOut") == 2.5
    want = _lab_path("ce", "sgd", 0.5, 2.5, (-10.0, 10.0))
    assert _value(page, "#isurface-ce-loss") == pytest.approx(float(want.loss[0]), rel=1e-12)
    page.click("#isurface-reset")


# ------------------------------------------------------------------------------------ print
def _pdf_pages_of_links(pdf: bytes) -> list[list[str]]:
    """For each page of a (Chromium/Skia) PDF, the URIs of its link annotations, in page order."""
    objects = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.DOTALL)}

    def refs(array: bytes) -> list[int]:
        return [int(n) for n in re.findall(rb"(\d+) 0 R", array)]

    root = next(body for body in objects.values() if re.search(rb"/Type\s*/Pages\b", body) and b"/Parent" not in body)
    pages: list[int] = []

    def walk(body: bytes) -> None:
        for kid in refs(re.search(rb"/Kids\s*\[(.*?)\]", body, re.DOTALL).group(1)):
            if re.search(rb"/Type\s*/Pages\b", objects[kid]):
                walk(objects[kid])
            else:
                pages.append(kid)

    walk(root)
    out = []
    for number in pages:
        annots = re.search(rb"/Annots\s*\[(.*?)\]", objects[number], re.DOTALL)
        uris = []
        for ref in refs(annots.group(1)) if annots else []:
            uri = re.search(rb"/URI\s*\((.*?)\)", objects[ref], re.DOTALL)
            if uri:
                uris.append(uri.group(1).decode("latin-1"))
        out.append(uris)
    return out


def test_pdf_prints_every_figure_whole_on_one_page(report_page: Any, artifacts_dir: Path) -> None:
    page = report_page.page
    page.click("#explorer-reset")
    pdf = page.pdf(format="A4", print_background=True)
    (artifacts_dir / "report.pdf").write_bytes(pdf)
    pages = _pdf_pages_of_links(pdf)
    figures = page.evaluate("Array.from(document.querySelectorAll('figure img')).map(img => img.src)")
    on_pages = {src: {i for i, uris in enumerate(pages) if src in uris} for src in figures}
    # each figure's image is linked (its <a>) exactly where it is drawn: one page, never split
    assert {src: where for src, where in on_pages.items() if len(where) != 1} == {}
    # at true scale (nothing is shrunk to fit, see below): 13 to 14 A4 pages for 43 figure panels, and 5 more
    # for the six experiments of "Beyond the lecture" (text, tables, 17 panels)
    assert 4 <= len(pages) <= 21, len(pages)
    blank = _blank_bottoms(pdf, artifacts_dir)
    if blank is not None:  # no page but the last is more than a third empty (its figure would not fit)
        assert max(blank[:-1]) < 0.36, blank
    # print layout: every figure keeps its caption inside one unbreakable box that fits a page
    page.set_viewport_size({"width": int(A4_CONTENT_PX[0]), "height": 900})
    page.emulate_media(media="print")
    try:
        boxes = page.evaluate("""() => Array.from(document.querySelectorAll('figure')).map(f => ({
            id: f.id, breakInside: getComputedStyle(f).breakInside, height: f.getBoundingClientRect().height,
            caption: f.lastElementChild.tagName}))""")
        # nothing is wider than the paper (a wide table would make the browser shrink every page to fit it)
        too_wide = page.evaluate("""w => Array.from(document.querySelectorAll('body *')).filter(
            e => e.getBoundingClientRect().right > w + 1).map(e => e.tagName + '.' + e.className).slice(0, 5)""",
                                 A4_CONTENT_PX[0])
    finally:
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": VIEWPORTS["desktop"][0], "height": VIEWPORTS["desktop"][1]})
    assert all(b["breakInside"] == "avoid" and b["caption"] == "FIGCAPTION" for b in boxes)
    assert too_wide == []
    assert [b["id"] for b in boxes if b["height"] > A4_CONTENT_PX[1]] == []


def _blank_bottoms(pdf: bytes, folder: Path) -> list[float] | None:
    """Per PDF page, the share of its height left blank at the bottom (margin included), from a
    low-resolution rendering by poppler's pdftoppm; None when pdftoppm is not installed."""
    import shutil
    import subprocess

    if shutil.which("pdftoppm") is None:
        return None
    from PIL import Image

    source = folder / "blank-check.pdf"
    source.write_bytes(pdf)
    for old in folder.glob("blank-check-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(source), str(folder / "blank-check")], check=True)
    shares = []
    for image in sorted(folder.glob("blank-check-*.png")):
        pixels = np.asarray(Image.open(image).convert("L"))
        inked = np.where((pixels < 245).sum(axis=1) > 2)[0]
        shares.append(1 - (inked.max() + 1) / pixels.shape[0] if len(inked) else 1.0)
    return shares


def test_pdf_prints_the_explorer_with_its_current_numbers(report_page: Any) -> None:
    page = report_page.page
    page.click("#explorer-wrong")
    page.emulate_media(media="print")
    try:
        visible = page.evaluate("""() => ['#explorer-ce', '#explorer-mse-grad-0', '#isurface-mse-grad', '#explorer-logit-0']
            .map(s => { const r = document.querySelector(s).getBoundingClientRect(); return r.width > 0 && r.height > 0; })""")
        text = page.locator("#explorer-mse-grad-0").inner_text()
    finally:
        page.emulate_media(media="screen")
    assert visible == [True, True, True, True]
    assert text == "\u22124.50\u00d710\u207b\u2077"
    page.click("#explorer-reset")


# ------------------------------------------------------------------------------- screenshots
def test_screenshots_saved(screen: Any, artifacts_dir: Path) -> None:
    page = screen.page
    for lang in ("en", "zh"):
        page.evaluate("lang => window.outlayerPage.setLanguage(lang, false)", lang)
        path = artifacts_dir / f"report-{screen.name}-{lang}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
    page.evaluate("window.outlayerPage.setLanguage('en', false)")
    if screen.name == "desktop" and os.environ.get("OUTLAYER_UPDATE_SCREENSHOT") == "1":
        # the README's pictures: the page top (title, contents, notation) in a laptop-sized window,
        # and the explorer in the confidently wrong setting
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(REPO / "docs" / "report-screenshot.png"))
        page.click("#explorer-wrong")
        page.locator("#explorer").screenshot(path=str(REPO / "docs" / "report-explorer.png"))
        page.click("#explorer-reset")


def test_pdf_link_parser_reads_a_hand_made_pdf() -> None:
    # the checker above must itself be able to fail: two pages, one link each, nested page tree
    pdf = (b"1 0 obj <</Type /Pages /Kids [2 0 R 5 0 R]>> endobj 2 0 obj <</Type /Page /Parent 1 0 R "
           b"/Annots [3 0 R]>> endobj 3 0 obj <</Type /Annot /A <</S /URI /URI (file:///a.svg)>>>> endobj "
           b"5 0 obj <</Type /Pages /Parent 1 0 R /Kids [6 0 R]>> endobj 6 0 obj <</Type /Page /Parent 5 0 R "
           b"/Annots [7 0 R 8 0 R]>> endobj 7 0 obj <</A <</URI (file:///a.svg)>>>> endobj "
           b"8 0 obj <</A <</URI (https://x)>>>> endobj")
    assert _pdf_pages_of_links(pdf) == [["file:///a.svg"], ["file:///a.svg", "https://x"]]
