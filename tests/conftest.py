"""Shared fixtures. Append new ones below; keep each small and documented.

Browser: Debian's ``chromium`` driven by Playwright's Python package with ``executable_path``
(Playwright cannot download its own browser here). Tests that need it are skipped with a reason
when either is missing. Report: one quick report per test session (``quick_report``), shared by
tests/test_report.py and tests/test_report_browser.py, so the suite builds it once.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Chromium flags for a sandbox-less CI container: no GPU, no background traffic, no first-run UI.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the system Chromium; skips when it is not installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("system Chromium not found (install Debian's package: apt-get install -y chromium)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """A headless Chromium launched once per session through Playwright; skips without Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    """``outlayer.report.build_report(..., quick=True)``'s result, built once per test session.

    Under pytest-xdist the workers share one report: the first to take the lock builds it in the
    folder all workers share, the others wait and read its result back.
    """
    from outlayer.report import build_report

    if not hasattr(request.config, "workerinput"):  # not an xdist worker
        return build_report(tmp_path_factory.mktemp("quick-report") / "outlayer-report", quick=True)
    import fcntl
    import json

    shared = tmp_path_factory.getbasetemp().parent
    saved = shared / "quick-report.json"
    with open(shared / "quick-report.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not saved.exists():
            result = build_report(shared / "quick-report" / "outlayer-report", quick=True)
            saved.write_text(json.dumps({**result, "out": str(result["out"]), "index": str(result["index"])}))
    result = json.loads(saved.read_text())
    return {**result, "out": Path(result["out"]), "index": Path(result["index"])}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/ at the repository root (git-ignored): screenshots and other test outputs."""
    folder = Path(__file__).resolve().parent.parent / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def crafted_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Hostile dataset files, by name: see tests/crafted.py (shared by the loader tests and the fuzz test)."""
    from crafted import make_crafted_files

    return make_crafted_files(tmp_path_factory.mktemp("crafted"))
