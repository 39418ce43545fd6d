"""Fuzz the command line: every outcome is exit 0, or exit 2 with exactly one line on stderr.

Hypothesis builds argument vectors for every sub-command from the parser itself (every option it
declares, with good values, hostile numbers, junk strings, wrong value counts and stray tokens),
and CSV / NPZ files from hostile cells and dtypes. Each case runs in-process through
``outlayer.cli.main(argv)`` with a time limit (a hang fails the test) and must end in:

* exit 0, with nothing on stderr but ``outlayer CMD: warning: ...`` lines (never a NumPy warning);
* exit 2, with exactly one line ``outlayer...: error: ...`` and no traceback;
* for ``report``: the labs about to start (the lab functions are replaced by a sentinel: a report
  takes a minute, its validation is what is fuzzed here; real reports run in test_report*.py);
* anything else (another status, an exception escaping ``main``) fails the test with the argv.

Before the generated combinations, a sweep tries every declared option alone with each of its good
values and a few hostile ones, so that no option goes untried. The fuzz cannot pass vacuously:
each command's run must see exit 0 and exit 2 from both argparse and the command's own
validation, the combinations must reach most options, and a third of the cases at least must get
past argparse into the command's ``run``. The counts are printed and written to
``test-artifacts/fuzz-cli.json``. Examples per command: :data:`EXAMPLES` (derandomised, so CI is
reproducible; set ``OUTLAYER_FUZZ_EXAMPLES=N`` for a longer, random run).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crafted import CRAFTED
from outlayer.cli import COMMANDS, _build_parser, main

_LONG = int(os.environ.get("OUTLAYER_FUZZ_EXAMPLES", "0"))
#: Generated cases per command (CI), chosen so that the whole module takes well under 60 s.
EXAMPLES = {"explain": 400, "surface": 250, "compare": 120, "report": 120, "bench": 120, "neuron": 150,
            "sweep": 60, "calibration": 60, "many-classes": 60, "priors": 60}
#: Commands whose experiment (:mod:`outlayer.lab`) is replaced by a sentinel once validated, as report's labs.
LAB_RUNS = {"sweep": "outlayer.lab.sweep.run", "calibration": "outlayer.lab.calibration.run",
            "many-classes": "outlayer.lab.many_classes.run", "priors": "outlayer.lab.priors.run"}
CASE_LIMIT_S = 60.0  # a case running longer is a hang
_BASE = settings(deadline=None, derandomize=not _LONG, database=None, suppress_health_check=list(HealthCheck))


def _settings(examples: int) -> settings:
    return settings(_BASE, max_examples=_LONG or examples)

#: Numbers and would-be numbers: boundaries, overflow, denormals, Python-only spellings.
NUMBERS = ["0", "1", "2", "3", "-1", "-2", "0.5", "-0.5", "1e-320", "1e308", "-1e308", "1e309", "-1e4", "-1e6",
           "nan", "-nan", "inf", "-inf", "1_000", "0x10", " 3", "99999999999999999999", "9" * 5000, "1e100",
           "1e101", "-.5", "1e-300"]
#: Strings no option expects.
JUNK = ["", " ", "-", "--", "x", "ä", "١٢", "🙂", "a\nb", "=cmd|' /C calc'!A0", "x" * 300, "-x", "--nope", "\t",
        "None", "[]"]
BUILTINS = ["iris", "wine", "synthetic", "ordinal"]
#: Good values by (command, flag); sizes are tiny or far beyond any memory limit (never in between,
#: which would only make the fuzz slow).
GOOD: dict[tuple[str, str], list[str]] = {
    ("explain", "--logits"): ["2", "1", "0.1", "-1e4", "0", "3.5", "-2", "1e100", "-1e100"],
    ("explain", "--target"): ["0", "1", "2", "cat", "dog", "rabbit", "7", "a"],
    ("explain", "--classes"): ["cat", "dog", "rabbit", "a", "b", "c"],
    ("explain", "--temperature"): ["1", "0.5", "2", "1e-3", "1e3", "1e-99"],
    ("surface", "--classes"): ["2", "3", "4", "5", "1000000000", "99999999999999999999"],
    ("surface", "--target"): ["0", "1", "2", "4"],
    ("surface", "--swept"): ["0", "1", "2", "3"],
    ("surface", "--fixed"): ["-1000", "0", "1", "-1", "5", "1e100"],
    ("surface", "--range"): ["-10", "10", "-1e6", "1e6", "0", "1", "-1e100", "1e100"],
    ("surface", "--resolution"): ["2", "3", "5", "9", "100000", "10000000"],
    ("surface", "--start"): ["-10", "10", "100", "0", "-1e100"],
    ("surface", "--lr"): ["0.5", "0.1", "10", "1e308", "1e-300"],
    ("surface", "--steps"): ["0", "1", "5", "20", "100000000000"],
    ("surface", "--goal"): ["0.9", "0.5", "0.999", "1e-9"],
    ("compare", "--label-column"): ["0", "1", "-1", "kind", "species", "nope", "99"],
    ("compare", "--seeds"): ["1", "2", "1000000000000"],
    ("compare", "--epochs"): ["1", "2", "1000000000000"],
    ("compare", "--lr"): ["0.1", "1", "1e308", "1e-300", "0.03"],
    ("compare", "--hidden"): ["2", "4", "8", "100000000", "1000000000000"],
    ("compare", "--batch-size"): ["8", "32", "1000000000"],
    ("compare", "--target-accuracy"): ["0.5", "1", "0.9"],
    ("compare", "--split-seed"): ["0", "1", "7"],
    ("compare", "--smoothing"): ["0", "0.1", "1"],
    ("compare", "--mse-k"): ["1", "2"],
    ("compare", "--mse-m"): ["1", "5", "-1e4"],
    ("report", "--seeds"): ["1", "2", "1000000000000"],
    ("report", "--label-column"): ["0", "-1", "kind", "nope"],
    ("bench", "--threads"): ["1", "2", "4", "5000"],
    ("neuron", "--starts"): ["0.6", "0.9", "2", "-2", "1e6", "1e7"],
    ("neuron", "--epochs"): ["1", "5", "100001"],
    ("neuron", "--quadratic-lr"): ["0.15", "1e-3", "101"],
    ("neuron", "--cross-entropy-lr"): ["0.005", "1", "1e3"],
    ("neuron", "--equal-lr"): ["0.15", "100", "1e-300"],
    ("neuron", "--input"): ["1", "-1", "1e3", "1e4"],
    ("neuron", "--target"): ["0", "1", "0.5", "2"],
    ("neuron", "--thresholds"): ["0.5", "0.2", "0", "1"],
    ("compare", "--pretrain"): ["ce:1", "ce:5", "mse:2", "ce:0", "zz:1", "ce", "ce:1000000000000"],
    ("sweep", "--logit-std"): ["1", "30", "100", "1e4", "1e5", "0.01"],
    ("sweep", "--seeds"): ["1", "2", "1000000000000"],
    ("sweep", "--epochs"): ["1", "2", "1000000000000"],
    ("sweep", "--lr"): ["0.1", "1e308", "1e-300"],
    ("calibration", "--seeds"): ["1", "2", "1000000000000"],
    ("calibration", "--epochs"): ["1", "2", "1000000000000"],
    ("calibration", "--noise-resamples"): ["10", "200", "5", "1000000000"],
    ("many-classes", "--classes"): ["2", "100", "1", "1000000000"],
    ("many-classes", "--per-class"): ["4", "24", "3", "1000000000"],
    ("many-classes", "--spread"): ["0.9", "1e-300", "1e308"],
    ("many-classes", "--seeds"): ["1", "2", "1000000000000"],
    ("many-classes", "--epochs"): ["1", "2", "1000000000000"],
    ("priors", "--ratio"): ["0.05", "1", "0.5", "2", "1e-300"],
    ("priors", "--tolerance"): ["0.05", "0.5", "1", "2"],
    ("priors", "--seeds"): ["1", "2", "1000000000000"],
    ("priors", "--epochs"): ["1", "2", "1000000000000"],
}
#: Tiny sizes first (generated options come after and override them): a valid case runs in ms.
BASELINE: dict[str, list[str]] = {
    "explain": [],
    "surface": ["--resolution", "5", "--steps", "5"],
    "compare": ["--dataset", "iris", "--seeds", "1", "--epochs", "1", "--hidden", "4"],
    "report": [],
    "bench": [],
    "neuron": ["--epochs", "5"],
    "sweep": ["--seeds", "1", "--epochs", "1"],
    "calibration": ["--seeds", "1", "--epochs", "1"],
    "many-classes": ["--seeds", "1", "--epochs", "1"],
    "priors": ["--seeds", "1", "--epochs", "1"],
}
_WARNING_LINE = re.compile(r"^outlayer [a-z-]+: warning: ")
_ERROR_LINE = re.compile(r"^outlayer( [a-z-]+)?: error: ")
#: ``outlayer report``'s progress: one line per stage with the elapsed time (issue 14).
_PROGRESS_LINE = re.compile(r"^\[ *\d+\.\d s\] ")


class LabsWouldStart(BaseException):
    """``report`` passed its validation: the labs would start now (raised in place of run_jobs)."""


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory, crafted_files: dict[str, Path]) -> dict[str, Any]:
    """Paths the fuzz draws from: crafted datasets, bad output paths, a root for fresh output folders."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "a-file").write_text("not a folder")
    (root / "foreign").mkdir()
    (root / "foreign" / "thesis.tex").write_text("keep")
    bad_out = ["", str(root / "a-file"), str(root / "a-file" / "below"), str(root / ("n" * 300)),
               "/proc/no-such-place/x", str(root / "x\x00y")]
    if os.geteuid() != 0:
        bad_out.append("/")
    datasets = BUILTINS + [str(path) for path in crafted_files.values()] + ["mnist", "missing.csv", str(root)]
    return {"root": root, "bad_out": bad_out, "datasets": datasets, "fresh": iter(range(10**9))}


def _options(command: str) -> list[argparse.Action]:
    parser = _build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return [a for a in sub._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def _count(action: argparse.Action) -> tuple[int, int]:
    if action.nargs == 0 or isinstance(action, (argparse._StoreTrueAction, argparse._StoreConstAction)):
        return 0, 0
    if action.nargs is None:
        return 1, 1
    if isinstance(action.nargs, int):
        return action.nargs, action.nargs
    return {"?": (0, 1), "*": (0, 3), "+": (1, 4)}[str(action.nargs)]


def _good(command: str, action: argparse.Action, places: dict[str, Any]) -> list[str]:
    flag = action.option_strings[0]
    good: list[str] = list(GOOD.get((command, flag), []))
    if action.choices is not None:
        good += [str(c) for c in action.choices]
    if flag == "--dataset":
        good += places["datasets"]
    if flag == "--out":  # only folders that cannot be written (writing figures would only be slow)
        good += places["bad_out"] + ([str(places["root"] / "foreign")] if command == "report" else [])
    return good


def _value(command: str, action: argparse.Action, places: dict[str, Any]) -> st.SearchStrategy[str]:
    flag = action.option_strings[0]
    good = _good(command, action, places)
    if flag == "--out":
        fresh = st.builds(lambda: str(places["root"] / f"out-{next(places['fresh'])}"))
        bad = st.sampled_from(_good(command, action, places))
        # a valid folder only where writing it is cheap (bench's two files; report stops at the labs)
        return st.one_of(bad, fresh) if command in ("report", "bench") else bad
    hostile = st.sampled_from(NUMBERS + JUNK)
    if not good:
        return hostile
    # mostly good values, so that most cases get past argparse into the command's own validation
    return st.integers(0, 99).flatmap(lambda roll: st.sampled_from(good) if roll < 92 else hostile)


@st.composite
def argvs(draw: st.DrawFn, command: str, places: dict[str, Any]) -> list[str]:
    argv = [command, *BASELINE[command]]
    if command == "report":
        argv += ["--out", str(places["root"] / f"report-{next(places['fresh'])}")]
    actions = _options(command)
    chosen = draw(st.lists(st.sampled_from(actions), max_size=6, unique_by=lambda a: a.option_strings[0]))
    for action in chosen:
        low, high = _count(action)
        if draw(st.integers(0, 19)) == 0:  # a wrong number of values now and then
            low, high = max(0, low - 1), high + 1
        values = draw(st.lists(_value(command, action, places), min_size=low, max_size=high))
        argv += [action.option_strings[0], *values]
    if draw(st.integers(0, 19)) == 0:  # a stray token
        argv.insert(draw(st.integers(1, len(argv))), draw(st.sampled_from(JUNK + NUMBERS)))
    return argv


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def hang(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the case ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_case(argv: list[str]) -> tuple[int | str, str, str]:
    """Run ``outlayer ARGV`` in-process; return (status or "labs", stdout, stderr), checking the contract."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _time_limit(CASE_LIMIT_S):
        try:
            status: int | str = main(argv)
        except LabsWouldStart:
            status = "labs"
    text = err.getvalue()
    lines = text.splitlines()
    assert "Traceback" not in text, (argv, text)
    if status == 2:
        assert len(lines) == 1 and _ERROR_LINE.match(lines[0]), (argv, text)
    elif status in (0, "labs"):
        for line in lines:
            assert (_WARNING_LINE.match(line) and "encountered" not in line) or _PROGRESS_LINE.match(line), (argv, text)
    else:
        raise AssertionError(f"exit status {status} for {argv!r}: {text}")
    return status, out.getvalue(), text


def _fuzz(command: str, places: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
          artifacts_dir: Path) -> Counter[str]:
    monkeypatch.setenv("OUTLAYER_MEMORY_LIMIT", "1GiB")  # the same guard limit on every machine
    monkeypatch.chdir(places["root"])
    module = importlib.import_module(COMMANDS[command][0])
    real_run = module.run
    reached: list[bool] = []

    def counted_run(args: argparse.Namespace) -> int:
        reached.append(True)
        return real_run(args)

    monkeypatch.setattr(module, "run", counted_run)
    if command == "report":
        def labs(*args: Any, **kwargs: Any) -> None:
            raise LabsWouldStart

        monkeypatch.setattr("outlayer.report.run_jobs", labs)
    if command == "bench":
        monkeypatch.setattr("outlayer._cli.bench.run_suites", lambda *args, **kwargs: ([], []))
    if command in LAB_RUNS:
        def experiment(*args: Any, **kwargs: Any) -> None:
            raise LabsWouldStart

        monkeypatch.setattr(LAB_RUNS[command], experiment)
    stats: Counter[str] = Counter()
    used: set[str] = set()
    slowest: list[str] = []

    def account(argv: list[str], kind: str) -> None:
        reached.clear()
        started = time.perf_counter()
        status, _, _ = run_case(argv)
        elapsed = int(1000 * (time.perf_counter() - started))
        if elapsed > stats["slowest_ms"]:
            stats["slowest_ms"], slowest[:] = elapsed, argv
        stats[kind] += 1
        stats["reached_run"] += bool(reached)
        if status == 2:
            stats["exit_2_validated" if reached else "exit_2_argparse"] += 1
        else:
            stats[f"exit_{status}"] += 1

    # every option alone, with each good value and a few hostile ones: no option goes untried
    prefix = [command, *BASELINE[command]]
    if command == "report":
        prefix += ["--out", str(places["root"] / "report-sweep")]
    for action in _options(command):
        low, high = _count(action)
        hostile = [] if action.option_strings[0] == "--out" else ["nan", "-1e309", "", "x" * 300]
        for value in [*_good(command, action, places), *hostile][:40]:
            account([*prefix, action.option_strings[0], *[value] * max(low, 1 if high else 0)], "sweep_cases")

    @_settings(EXAMPLES[command])
    @given(argv=argvs(command, places))
    def case(argv: list[str]) -> None:
        used.update(a for a in argv if a.startswith("--"))
        account(argv, "cases")

    case()
    _record(artifacts_dir, command, {**stats, "slowest_argv": slowest})
    flags = {action.option_strings[0] for action in _options(command)}
    # the generated combinations reach most options too (hypothesis favours the first ones listed)
    assert len(flags & used) >= 0.75 * len(flags), f"options never combined: {sorted(flags - used)}"
    assert stats["exit_2_argparse"] > 0 and stats["exit_2_validated"] > 0, stats
    assert stats["exit_0"] + stats["exit_labs"] > 0, stats
    assert stats["reached_run"] >= (stats["cases"] + stats["sweep_cases"]) // 3, stats  # many get past argparse
    leftovers = [p.name for p in places["root"].rglob(".*") if re.search(r"\.(new|old)-|\.lock$", p.name)]
    assert leftovers == [], leftovers  # no staging folder or lock survives a case
    return stats


def _record(artifacts_dir: Path, command: str, stats: dict[str, Any]) -> None:
    print(f"\nfuzz {command}: {dict(stats)}")
    path = artifacts_dir / "fuzz-cli.json"
    with contextlib.suppress(OSError, ValueError):
        document = json.loads(path.read_text()) if path.exists() else {}
        document[command] = dict(stats)
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_fuzzed_argv_exit_0_or_2_with_one_line_and_no_traceback(command: str, places: dict[str, Any],
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 artifacts_dir: Path) -> None:
    _fuzz(command, places, monkeypatch, artifacts_dir)


def test_every_command_is_fuzzed() -> None:
    assert set(EXAMPLES) == set(COMMANDS) == set(BASELINE)


# ----------------------------------------------------------------------------- crafted files
CELLS = ["0", "1", "-2.5", "1e300", "1e400", "-1e-320", "nan", "inf", "", " ", "a", "b", "cat", "=1+1", "@x",
         '"', '"x', 'x"', "\n", ";", "\t", "ä", "1_0", "0x1", "\ufeff", "NA", "-"]


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    width = draw(st.integers(1, 4))
    if draw(st.integers(0, 9)) < 6:  # plausible data (a header now and then) with a few hostile cells
        rows = [[f"c{j}" for j in range(width)]] if draw(st.booleans()) else []
        rows += [[str(draw(st.integers(-3, 3))) for _ in range(width - 1)] + [draw(st.sampled_from("ab"))]
                 for _ in range(draw(st.integers(20, 50)))]
        for _ in range(draw(st.integers(0, 2))):
            row = draw(st.integers(0, len(rows) - 1))
            rows[row][draw(st.integers(0, width - 1))] = draw(st.sampled_from(CELLS))
    else:
        rows = draw(st.lists(st.lists(st.sampled_from(CELLS), min_size=max(1, width - 1), max_size=width + 1),
                             max_size=30))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    return "\n".join(delimiter.join(row) for row in rows) + draw(st.sampled_from(["", "\n", "\r\n"]))


DTYPES = ["float64", "float32", "int8", "uint64", "bool", "complex128", "<U3", "|S3", "datetime64[D]", "float16",
          "object", "f8,f8"]


@st.composite
def npz_files(draw: st.DrawFn) -> bytes:
    plausible = draw(st.integers(0, 9)) < 6  # mostly a usable dataset with one thing changed at most
    n = draw(st.integers(20, 40) if plausible else st.integers(0, 30))
    arrays: dict[str, np.ndarray] = {}
    for name, ndim in (("X", 2), ("y", 1)):
        if draw(st.integers(0, 19 if plausible else 9)) == 0:
            continue  # a missing array
        usual = ("float64", "float32", "int8") if name == "X" else ("int8", "<U3", "uint64", "bool")
        dtype = draw(st.sampled_from(usual) if plausible and draw(st.integers(0, 4)) else st.sampled_from(DTYPES))
        shape = (n, draw(st.integers(1 if plausible else 0, 3))) if ndim == 2 else (
            n + draw(st.sampled_from([0, 0, 0, 0, 0, 1])),)
        if draw(st.integers(0, 19 if plausible else 9)) == 0:
            shape = shape + (2,)  # one dimension too many
        values = np.arange(int(np.prod(shape))).reshape(shape) % (2 if name == "y" else 7)
        if dtype == "object":
            array = values.astype(object)
        elif dtype == "f8,f8":
            array = np.zeros(shape, dtype=dtype)
        elif dtype.startswith("datetime"):
            array = values.astype("datetime64[D]")
        else:
            array = values.astype(dtype)
        if name == "X" and dtype.startswith("float") and array.size and draw(st.integers(0, 3)) == 0:
            with np.errstate(over="ignore"):  # 1e300 in a float32 is inf: one more hostile value
                array.flat[draw(st.integers(0, array.size - 1))] = draw(st.sampled_from([np.nan, np.inf, 1e300, -1e38]))
        arrays[name] = array
    buffer = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buffer, **arrays)
    data = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:  # damaged
        cut = draw(st.integers(0, max(len(data) - 1, 0)))
        data = data[:cut] + bytes([draw(st.integers(0, 255))]) + data[cut + 1:]
    if draw(st.integers(0, 9)) == 0:  # an extra member that is not an array
        extra = io.BytesIO(data)
        with contextlib.suppress(zipfile.BadZipFile), zipfile.ZipFile(extra, "a") as archive:
            archive.writestr("readme.txt", "hi")
        data = extra.getvalue()
    return data


def _dataset_case(path: Path, stats: Counter[str]) -> None:
    status, _, err = run_case(["compare", "--dataset", str(path), "--seeds", "1", "--epochs", "1", "--hidden", "2",
                               "--losses", "ce", "--json"])
    stats["cases"] += 1
    stats[f"exit_{status}"] += 1


@pytest.mark.parametrize("kind", ["csv", "npz"])
def test_fuzzed_data_files_exit_0_or_2_with_one_line(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     artifacts_dir: Path) -> None:
    monkeypatch.setenv("OUTLAYER_MEMORY_LIMIT", "1GiB")
    stats: Counter[str] = Counter()
    path = tmp_path / f"fuzzed.{kind}"

    @_settings(200 if kind == "csv" else 150)
    @given(content=csv_texts() if kind == "csv" else npz_files())
    def case(content: str | bytes) -> None:
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", newline="")
        else:
            path.write_bytes(content)
        _dataset_case(path, stats)

    case()
    _record(artifacts_dir, f"dataset-{kind}", stats)
    assert stats["exit_0"] > 0 and stats["exit_2"] > 0, stats


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_files_through_the_cli_give_the_loader_message(name: str, crafted_files: dict[str, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    expected, needle = CRAFTED[name]
    status, out, err = run_case(["compare", "--dataset", str(crafted_files[name]), "--seeds", "1", "--epochs", "1",
                                 "--hidden", "2", "--losses", "ce", "--json"])
    if expected in ("error", "split-error"):
        assert status == 2 and needle in err, err
    else:
        assert status == 0 and json.loads(out)["config"]["dataset"]["n_classes"] >= 2
        assert (expected == "warn") == (": warning: " in err), err


# -------------------------------------------------------------------------------- subprocesses
SUBPROCESS_CASES = [
    (["surface", "--classes", "99999999999999999999"], 2, "lower --classes"),
    (["surface", "--resolution", "100000"], 2, "would need about"),
    (["compare", "--hidden", "100000", "100000"], 2, "lower --hidden"),
    (["compare", "--dataset", "{fifo}"], 2, "is a FIFO"),
    (["explain", "--logits", "2", "-1e4"], 0, ""),
    (["surface", "--range", "-1e6", "1e6", "--resolution", "5", "--steps", "3", "--losses", "ce"], 0, ""),
    (["report", "--out", ""], 2, "--out is empty"),
    (["bench", "--dtype", "float16"], 2, "--dtype float16 is not measured by suite ce"),
]


@pytest.mark.parametrize(("argv", "status", "needle"), SUBPROCESS_CASES, ids=[" ".join(c[0])[:40] for c in SUBPROCESS_CASES])
def test_console_script_cases_exit_cleanly_and_quickly(argv: list[str], status: int, needle: str,
                                                       crafted_files: dict[str, Path], tmp_path: Path) -> None:
    argv = [str(crafted_files["fifo.csv"]) if a == "{fifo}" else a for a in argv]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
           "OUTLAYER_MEMORY_LIMIT": "8GiB"}  # the same refusals on a machine with a terabyte free
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "outlayer", *argv], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=env, check=False)
    assert time.perf_counter() - started < 30
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    if status == 2:
        assert len(done.stderr.splitlines()) == 1 and needle in done.stderr, done.stderr
