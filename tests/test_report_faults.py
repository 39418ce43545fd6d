"""``outlayer report`` under faults: kill -9, Ctrl-C, concurrent writers, dying workers.

The promise: the previous report survives any failure, nothing a killed run leaves behind outlives
the next run, no worker outlives its parent, and an interrupted run exits 130, never 0. Real
``outlayer report`` processes are started, interrupted and killed here; the previous report is a
copy of the session's quick report (``quick_report`` in conftest.py).
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from outlayer.cli import main
from outlayer.report import MARKER
from outlayer.report._write import OWNER, ReportBusyError, output_lock, remove_stale, staged_folder, write_data

SRC = Path(__file__).resolve().parents[1] / "src"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _previous_report(quick_report: dict[str, Any], parent: Path) -> tuple[Path, dict[str, bytes]]:
    out = parent / "report"
    shutil.copytree(quick_report["out"], out)
    return out, _snapshot(out)


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2] != "Z"  # a zombie is dead, only not yet reaped


def _start_report(out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "outlayer", "report", "--quick", "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


#: The report runs its labs on this many workers (at most 4); with one CPU it runs them in-process.
CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _wait_for_labs(process: subprocess.Popen[str], parent: Path, timeout: float = 60.0) -> list[int]:
    """Once a running report's labs have started (its staging folder has figures/ and, with two or
    more CPUs, its workers are up): the pid of each worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"report ended early: {process.communicate()}")
        started = any((folder / "figures").is_dir() for folder in parent.glob(".report.new-*"))
        workers = [pid for pid in _children(process.pid) if _alive(pid)]
        if started and (len(workers) >= 2 or CPUS < 2):
            return workers
        time.sleep(0.02)
    raise AssertionError("the report's labs never started")


def _leftovers(parent: Path, name: str = "report") -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


# ---------------------------------------------------------------------------------- kill -9
@pytest.fixture(scope="module")
def killed_run(quick_report: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A report killed with SIGKILL while its workers compute: what it left, and its workers' fate."""
    parent = tmp_path_factory.mktemp("killed")
    out, before = _previous_report(quick_report, parent)
    process = _start_report(out)
    workers = _wait_for_labs(process, parent)
    time.sleep(0.5)
    left = _leftovers(parent)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    deadline = time.monotonic() + 5.0
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"out": out, "parent": parent, "before": before, "left": left, "workers": workers,
            "survivors": [pid for pid in workers if _alive(pid)], "returncode": process.returncode}


@pytest.mark.slow
@pytest.mark.skipif(CPUS < 2, reason="with one CPU the report runs its labs without worker processes")
def test_workers_die_with_their_parent_on_kill_9(killed_run: dict[str, Any]) -> None:
    assert killed_run["returncode"] == -signal.SIGKILL
    assert len(killed_run["workers"]) >= 2
    assert killed_run["survivors"] == []


@pytest.mark.slow
def test_kill_9_keeps_the_previous_report_and_the_next_run_removes_the_stale_staging(
        killed_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    out, parent = killed_run["out"], killed_run["parent"]
    stale = [name for name in killed_run["left"] if ".report.new-" in name]
    assert stale and [p.name for p in parent.iterdir() if ".new-" in p.name] == stale  # the kill left it
    assert _snapshot(out) == killed_run["before"]
    seen: list[list[str]] = []

    def labs(*args: Any, **kwargs: Any) -> None:  # the rerun, stopped as its labs would start
        seen.append(_leftovers(parent))
        raise RuntimeError("stop here")

    monkeypatch.setattr("outlayer.report.run_jobs", labs)
    with pytest.raises(RuntimeError, match="stop here"):
        from outlayer.report import build_report

        build_report(out, quick=True)
    assert len(seen) == 1 and not any(name in seen[0] for name in stale)  # gone before the labs started
    assert _leftovers(parent) == [] and _snapshot(out) == killed_run["before"]


def test_stale_folders_of_a_live_owner_are_kept_and_a_half_swapped_report_is_restored(tmp_path: Path) -> None:
    out = tmp_path / "report"
    live = tmp_path / ".report.new-live"
    live.mkdir()
    (live / OWNER).write_text(f'{{"pid": {os.getpid()}, "start": null}}')
    dead = tmp_path / ".report.new-dead"
    dead.mkdir()
    (dead / OWNER).write_text('{"pid": 999999999, "start": null}')
    foreign = tmp_path / ".report.new-mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("not a report: never removed")
    aside = tmp_path / ".report.old-abc"
    (aside / "report").mkdir(parents=True)
    (aside / "report" / MARKER).write_text("{}")
    (aside / "report" / "index.html").write_text("the previous report")
    (aside / OWNER).write_text('{"pid": 999999999, "start": null}')
    removed = remove_stale(out)
    assert sorted(p.name for p in removed) == [".report.new-dead", ".report.old-abc"]
    assert live.exists() and foreign.exists()
    assert (out / "index.html").read_text() == "the previous report"  # killed between the two renames


# ------------------------------------------------------------------------------------ SIGINT
@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.5])
def test_ctrl_c_during_the_labs_exits_130_and_keeps_the_previous_report(
        quick_report: dict[str, Any], tmp_path: Path, delay: float) -> None:
    out, before = _previous_report(quick_report, tmp_path)
    process = _start_report(out)
    workers = _wait_for_labs(process, tmp_path)
    time.sleep(delay)
    assert process.poll() is None  # still computing: the signal lands in the labs
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: the whole process group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "outlayer report: interrupted" and "Traceback" not in err
    assert _snapshot(out) == before and _leftovers(tmp_path) == []
    deadline = time.monotonic() + 5.0
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in workers if _alive(pid)] == []


def test_ctrl_c_during_the_swap_undoes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report"
    with staged_folder(out, "marker\n") as stage:
        (stage / "index.html").write_text("old")
    real_rename = os.rename

    def rename(src: Any, dst: Any) -> None:
        if Path(dst) == out and ".new-" in Path(src).name:
            signal.raise_signal(signal.SIGINT)  # arrives between the two renames of the swap
        real_rename(src, dst)

    monkeypatch.setattr("outlayer.report._write.os.rename", rename)
    with pytest.raises(KeyboardInterrupt), staged_folder(out, "marker\n") as stage:
        (stage / "index.html").write_text("new")
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_a_sigint_the_work_swallows_still_exits_130(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import outlayer._cli.explain as explain_cli

    def swallowing(args: Any) -> int:
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass  # a library that catches Ctrl-C and carries on
        return 0

    monkeypatch.setattr(explain_cli, "run", swallowing)
    assert main(["explain"]) == 130
    assert capsys.readouterr().err == "outlayer explain: interrupted\n"


def test_sigterm_exits_143_after_cleaning_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def labs(*args: Any, **kwargs: Any) -> None:
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr("outlayer.report.run_jobs", labs)
    assert main(["report", "--quick", "--out", str(tmp_path / "r")]) == 143
    assert capsys.readouterr().err.strip().splitlines()[-1] == "outlayer report: terminated"  # after the progress lines
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- concurrent writers
def test_a_second_writer_fails_at_once_naming_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    with output_lock(out):
        started = time.perf_counter()
        assert main(["report", "--quick", "--out", str(out)]) == 2
        assert time.perf_counter() - started < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is being written by process {os.getpid()}" in err
    assert "choose another --out" in err
    assert [p.name for p in tmp_path.iterdir()] == []  # the lock file goes with its holder


def test_a_waiting_writer_gets_the_lock_when_the_first_lets_go(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with output_lock(out), pytest.raises(ReportBusyError, match="is being written by process"):
        with output_lock(out, wait=0.2):
            pass
    with output_lock(out, wait=0.2):  # free again
        pass


def _hammer(out: str, writer: int, rounds: int, wait: float | None, queue: Any) -> None:
    outcomes: dict[str, int] = {}
    for round_ in range(rounds):
        try:
            with staged_folder(Path(out), "marker\n", wait=wait) as stage:
                (stage / "index.html").write_text(f"{writer}:{round_}")
                (stage / "data").mkdir()
                (stage / "data" / "x.json").write_text("{}")
            outcomes["written"] = outcomes.get("written", 0) + 1
        except ReportBusyError:
            outcomes["busy"] = outcomes.get("busy", 0) + 1
        except BaseException as exc:  # noqa: BLE001 - any other failure is what this test looks for
            outcomes[f"{type(exc).__name__}: {exc}"] = outcomes.get(f"{type(exc).__name__}: {exc}", 0) + 1
    queue.put(outcomes)


@pytest.mark.parametrize(("wait", "rounds"), [(None, 150), (0.0, 150)])
def test_concurrent_writers_never_race(tmp_path: Path, wait: float | None, rounds: int) -> None:
    """Three processes replace the same report folder over and over: with waiting, every swap
    succeeds; without, each attempt either succeeds or is refused as busy; never another error."""
    out = tmp_path / "report"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_hammer, args=(str(out), i, rounds, wait, queue)) for i in range(3)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
    errors = {key: n for result in results for key, n in result.items() if key not in ("written", "busy")}
    assert errors == {}
    written = sum(result.get("written", 0) for result in results)
    assert written == 3 * rounds if wait is None else written >= 1
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "data", "index.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


# ----------------------------------------------------------------------------------- workers
def _slow_or_failing_job(job: Any, figure_dir: str) -> dict[str, Any]:
    if job.name == "bad":
        raise ValueError("this lab failed")
    time.sleep(120)
    return {}


def test_a_failing_job_stops_the_other_workers_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from outlayer.report import _jobs

    monkeypatch.setattr(_jobs, "run_job", _slow_or_failing_job)
    jobs = [_jobs.Job("slow", "compare", {}, cost=2.0), _jobs.Job("bad", "compare", {}, cost=1.0)]
    before = set(_children(os.getpid()))  # helpers other tests started (a resource tracker, ...)
    started = time.perf_counter()
    with pytest.raises(ValueError, match="this lab failed"):
        _jobs.run_jobs(jobs, tmp_path, workers=2)
    assert time.perf_counter() - started < 15  # not the 120 s of the slow job
    time.sleep(0.2)
    assert [pid for pid in set(_children(os.getpid())) - before if _alive(pid)] == []  # the slow worker stopped


def test_worker_initialiser_asks_the_kernel_to_kill_it_with_its_parent() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    import ctypes

    from outlayer.report._jobs import _worker_init

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the initialiser, report the death signal it set
        try:
            _worker_init(os.getppid())
            value = ctypes.c_int()
            ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
            os.write(write, str(value.value).encode())
        finally:
            os._exit(0)
    os.close(write)
    reported = os.read(read, 16).decode()
    os.waitpid(pid, 0)
    assert reported == str(int(signal.SIGKILL))


# --------------------------------------------------------------------------------- data files
OWASP_CELLS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", "=HYPERLINK(\"x\")"]


def test_formula_like_cells_are_written_as_text_numbers_as_numbers(tmp_path: Path) -> None:
    data = {"classes": OWASP_CELLS, "scores": [-0.5, 1e-9, -3], "labels": {label: 1 for label in OWASP_CELLS}}
    _, csv_path = write_data(tmp_path, "labels", data)
    with open(csv_path, newline="") as handle:
        rows = list(csv.reader(handle))
    cells = [cell for row in rows[1:] for cell in row]
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")) or cell.startswith("'"), cell
        assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").replace("e", "").isdigit(), cell
    values = {row[0]: row[1] for row in rows[1:]}
    assert values["classes/0"] == "'=cmd|' /C calc'!A0" and values["classes/2"] == "'-2+3"
    assert values["scores/0"] == "-0.5" and values["scores/2"] == "-3"  # numbers stay numbers
    assert values["labels/=cmd|' /C calc'!A0"] == "1"  # a path cell starts with its section's key


@pytest.mark.slow
def test_report_on_formula_labels_writes_them_as_text(crafted_files: dict[str, Path], tmp_path: Path) -> None:
    """The issue's case end to end: a user CSV whose class labels are formulas."""
    from outlayer.report import build_report

    result = build_report(tmp_path / "r", dataset=str(crafted_files["formula_labels.csv"]), quick=True, seeds=1)
    texts = [p.read_text() for p in (result["out"] / "data").glob("*.csv")]
    assert any("calc" in text for text in texts)  # the labels are in the data files ...
    for text in texts:
        for row in csv.reader(text.splitlines()):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell  # ... never as formulas
                assert not cell.startswith("-") or cell[1:2].isdigit() or cell[1:2] == ".", cell
