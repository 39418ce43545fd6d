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
    import json

    def build() -> str:
        result = build_report(tmp_path_factory.getbasetemp().parent / "quick-report" / "outlayer-report", quick=True)
        return json.dumps({**result, "out": str(result["out"]), "index": str(result["index"])})

    result = json.loads(_once_per_session(tmp_path_factory, "quick-report", build))
    return {**result, "out": Path(result["out"]), "index": Path(result["index"])}


def _session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder this test session's processes share: under xdist the parent of each worker's
    basetemp (pytest-N), else the basetemp itself. (The parent of a plain session's basetemp is
    pytest-of-USER, shared by every session on the machine: results cached there would leak
    between sessions and between checkouts.)"""
    import os

    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once_per_session(tmp_path_factory: pytest.TempPathFactory, name: str, build: Any) -> str:
    """``build()``'s text, computed by the first xdist worker to ask and read back by the others."""
    import fcntl

    shared = _session_root(tmp_path_factory)
    saved = shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not saved.exists():
            saved.write_text(build())
    return saved.read_text()


def _shared_parts(tmp_path_factory: pytest.TempPathFactory, builders: dict[str, Any]) -> dict[str, str]:
    """Each ``builders[name]()``'s text, computed once per session; xdist workers split the parts.

    A worker first computes every part no other worker has claimed (non-blocking locks), then waits
    for the parts others are computing, so two workers that both need all parts finish in about
    half the time one would take.
    """
    import fcntl

    shared = _session_root(tmp_path_factory)
    texts: dict[str, str] = {}
    for blocking in (False, True):
        for name, build in builders.items():
            if name in texts:
                continue
            saved = shared / f"{name}.json"
            with open(shared / f"{name}.lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                except BlockingIOError:
                    continue  # another worker is computing it; come back for it later
                if not saved.exists():
                    saved.write_text(build())
                texts[name] = saved.read_text()
    return texts


@pytest.fixture(scope="session")
def lab_training_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """The four ``outlayer compare`` runs behind the README's training tables (``outlayer.lab_tables``),
    at compare's defaults (10 seeds x 20 epochs, every loss), computed once per test session and
    shared by tests/test_readme_tables.py and the claims of tests/test_experiments.py."""
    import json

    from outlayer import lab_tables
    from outlayer.experiments import compare

    def builder(init: str, optimizer: str) -> Any:
        return lambda: json.dumps(compare(losses=lab_tables.TRAINING_LOSSES, init=init, optimizer=optimizer))

    texts = _shared_parts(tmp_path_factory, {f"lab-run-{init}-{optimizer}": builder(init, optimizer)
                                             for init, optimizer in lab_tables.TRAINING_CELLS})
    return {(init, optimizer): json.loads(texts[f"lab-run-{init}-{optimizer}"])
            for init, optimizer in lab_tables.TRAINING_CELLS}


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


@pytest.fixture(scope="session")
def lab_experiment_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The commands behind the README's experiment tables (:data:`outlayer.lab.tables.README_RUNS`:
    2-3 seeds each, about 30 s of one core in all), computed once per test session and shared by
    the claims and the README check of tests/test_lab.py."""
    import json

    from outlayer.lab import tables

    def builder(name: str) -> Any:
        return lambda: json.dumps(tables.compute((name,))[name])

    texts = _shared_parts(tmp_path_factory, {f"lab-experiment-{name}": builder(name) for name in tables.README_RUNS})
    return {name: json.loads(texts[f"lab-experiment-{name}"]) for name in tables.README_RUNS}
