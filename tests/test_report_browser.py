"""The quick report opened in headless Chromium: loads cleanly, offline, and its explorer agrees
with the library to the last bits.

Skipped (with the reason) when Debian's chromium or Playwright's Python package is missing; see
tests/conftest.py. Screenshots go to test-artifacts/ (git-ignored). With
OUTLAYER_UPDATE_SCREENSHOT=1 the README's docs/report-screenshot.png is rewritten too.
"""

from __future__ import annotations

import math
import os
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


@pytest.fixture(scope="module")
def report_page(browser: Any, quick_report: dict[str, Any]) -> Any:
    """The quick report open in one page, with every request, console error and page error recorded."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    seen = SimpleNamespace(requests=[], errors=[])
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("console", lambda message: seen.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.goto(quick_report["index"].as_uri(), wait_until="load")
    page.wait_for_selector("#explorer[data-ready='true']")
    yield SimpleNamespace(page=page, seen=seen, report=quick_report)
    context.close()


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


def _reset_explorer(page: Any, logits: list[float], target: int, temperature: float) -> None:
    page.select_option("#explorer-classes", str(len(logits)))
    page.select_option("#explorer-target", str(target))
    _set_range(page, "#explorer-temperature", temperature)
    for k, value in enumerate(logits):
        _set_range(page, f"#explorer-logit-{k}", value)


def test_page_has_no_console_errors(report_page: Any) -> None:
    assert report_page.seen.errors == []


def test_page_requests_nothing_beyond_local_files(report_page: Any) -> None:
    outside = [url for url in report_page.seen.requests if not url.startswith(("file://", "data:"))]
    assert report_page.seen.requests, "the page loaded nothing at all (not even itself)"
    assert outside == []


def test_every_figure_loaded(report_page: Any) -> None:
    images = report_page.page.evaluate(
        "Array.from(document.images).map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}))"
    )
    figures = sorted((report_page.report["out"] / "figures").glob("*.png"))
    assert len(images) == len(figures) > 0  # every figure written is shown, and none is missing
    assert [image["src"] for image in images if not image["ok"]] == []


def test_explorer_starts_at_worked_example_with_library_values(report_page: Any) -> None:
    page = report_page.page
    logits, target, temperature = _explorer_state(page)
    ce, ce_grad = outlayer.cross_entropy_with_grad(logits, target, reduction="sum")
    mse, mse_grad = outlayer.mse_with_grad(logits, target, reduction="sum")
    assert logits.tolist() == [2.0, 1.0, 0.1] and target == 0 and temperature == 1.0
    assert _value(page, "#explorer-ce") == pytest.approx(float(ce), rel=1e-13)
    assert _value(page, "#explorer-mse") == pytest.approx(float(mse), rel=1e-13)
    for k in range(3):
        assert _value(page, f"#explorer-ce-grad-{k}") == pytest.approx(float(ce_grad[k]), rel=1e-12, abs=1e-15)
        assert _value(page, f"#explorer-mse-grad-{k}") == pytest.approx(float(mse_grad[k]), rel=1e-12, abs=1e-15)


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


def test_explorer_offers_three_to_ten_classes(report_page: Any) -> None:
    page = report_page.page
    options = page.locator("#explorer-classes option").evaluate_all("els => els.map(e => Number(e.value))")
    assert options == list(range(3, 11))
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
    z=st.lists(st.floats(-800, 800, allow_nan=False, allow_infinity=False), min_size=3, max_size=10),
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


def test_screenshot_saved(report_page: Any, artifacts_dir: Path) -> None:
    page = report_page.page
    _reset_explorer(page, [2.0, 1.0, 0.1], 0, 1.0)
    full = artifacts_dir / "report.png"
    page.screenshot(path=str(full), full_page=True)
    assert full.stat().st_size > 10_000
    if os.environ.get("OUTLAYER_UPDATE_SCREENSHOT") == "1":
        # the README's picture: the page top (title, contents, section 1) in a laptop-sized window
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(REPO / "docs" / "report-screenshot.png"))
