"""The command line checks everything before it computes, and says what it did and what is wrong.

One test per case of issue 11 ("Reliability of the command line ..."): output paths, resource
guards, overflowing settings, labels, messages that name the flag as typed, negative option
values, help that lists only accepted values, summaries that describe the run that happened.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from outlayer.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"invalid JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


class _LabRan(BaseException):
    """Raised by a lab replaced in a test: the command got past its validation."""


def _forbid_labs(monkeypatch: pytest.MonkeyPatch) -> None:
    def lab(*args: Any, **kwargs: Any) -> None:
        raise _LabRan

    monkeypatch.setattr("outlayer.experiments.compare", lab)
    monkeypatch.setattr("outlayer.surface.run", lab)
    monkeypatch.setattr("outlayer._cli.bench.run_suites", lab)
    monkeypatch.setattr("outlayer.report.run_jobs", lab)


# ------------------------------------------------------------------------------ output paths
OUT_CASES = {
    "existing file": (lambda root: str(root / "a-file"), "exists and is not a folder"),
    "under a file": (lambda root: str(root / "a-file" / "report"), "is a file, not a folder"),
    "name too long": (lambda root: str(root / ("r" * 300)), "is 300 bytes long"),
    "not writable": (lambda root: "/proc/outlayer-report", "cannot write in '/proc'"),
    "empty": (lambda root: "", "--out is empty"),
}
COMMAND_ARGS = {"compare": ["--dataset", "iris"], "surface": [], "bench": [], "report": ["--quick"]}


@pytest.mark.parametrize("case", sorted(OUT_CASES))
@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
def test_bad_out_is_refused_before_any_work(command: str, case: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("precious")
    _forbid_labs(monkeypatch)
    make, needle = OUT_CASES[case]
    started = time.perf_counter()
    status, out, err = _run([command, *COMMAND_ARGS[command], "--out", make(tmp_path)], capsys)
    assert status == 2 and out == "" and err.count("\n") == 1, err
    assert "--out" in err and needle in err, err
    assert time.perf_counter() - started < 10
    assert (tmp_path / "a-file").read_text() == "precious"


def test_surface_out_empty_no_longer_writes_into_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, err = _run(["surface", "--resolution", "5", "--steps", "2", "--out", ""], capsys)
    assert status == 2 and list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- resource guards
@pytest.mark.parametrize(("argv", "flag"), [
    (["surface", "--resolution", "100000"], "lower --resolution"),
    (["compare", "--hidden", "100000", "100000"], "lower --hidden"),
    (["surface", "--classes", "99999999999999999999"], "lower --classes"),
    (["surface", "--steps", "1000000000000"], "lower --steps"),
    (["compare", "--dataset", "iris", "--epochs", "1000000000000"], "lower --epochs"),
    (["report", "--quick", "--seeds", "1000000000000"], "lower --seeds"),
])
def test_resource_guards_refuse_at_once_with_the_estimate_and_the_limit(
        argv: list[str], flag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OUTLAYER_MEMORY_LIMIT", raising=False)  # the limit from the available memory ...
    monkeypatch.setattr("outlayer._guards.available_memory", lambda: 16 * 2**30)  # ... of a 16 GiB machine
    monkeypatch.chdir(tmp_path)
    _forbid_labs(monkeypatch)
    started = time.perf_counter()
    status, _, err = _run(argv, capsys)
    assert time.perf_counter() - started < 10  # the issue: 60 s of silence, then a MemoryError
    assert status == 2 and err.count("\n") == 1, err
    assert "would need about" in err and "more than the 8 GiB limit (50% of the 16 GiB available;" in err, err
    assert err.rstrip().endswith(flag), err


def test_surface_estimate_for_resolution_100000_is_at_least_the_issue_s_224_gib(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OUTLAYER_MEMORY_LIMIT", "1GiB")
    status, _, err = _run(["surface", "--resolution", "100000", "--losses", "ce"], capsys)
    amount, unit = err.split("would need about ")[1].split(" of memory")[0].split()
    assert status == 2 and float(amount) * {"GiB": 1, "TiB": 1024}[unit] >= 224


# ---------------------------------------------------------------------------------- overflow
@pytest.mark.parametrize(("argv", "named"), [
    (["surface", "--fixed", "1e308"], "argument --fixed: '1e308' is too large"),
    (["surface", "--range", "0.1", "1e308"], "argument --range: '1e308' is too large"),
    (["surface", "--start", "1e200", "0"], "argument --start: '1e200' is too large"),
    (["surface", "--lr", "1e309"], "argument --lr: expected a positive finite number, got '1e309'"),
    (["explain", "--logits", "1e308", "1"], "argument --logits: '1e308' is too large"),
    (["compare", "--mse-m", "1e308", "--losses", "mse-logits"], "argument --mse-m: '1e308' is too large"),
    (["compare", "--lr", "inf"], "argument --lr: expected a positive finite number, got 'inf'"),
])
def test_overflowing_settings_are_refused_naming_the_value(argv: list[str], named: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(argv, capsys)
    assert status == 2 and named in err and err.count("\n") == 1, err


def test_compare_lr_1e308_reports_the_divergence(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["compare", "--dataset", "iris", "--lr", "1e308", "--seeds", "2", "--epochs", "2",
                           "--losses", "ce", "mse"], capsys)
    assert status == 0
    assert "ce: 2 of 2 runs diverged at lr 1e+308" in out
    assert max(len(word) for word in out.split()) < 40  # no 300-digit NLL
    status, out, _ = _run(["compare", "--dataset", "iris", "--lr", "1e308", "--seeds", "1", "--epochs", "1",
                           "--losses", "ce", "mse", "--json"], capsys)
    result = _strict_json(out)  # never NaN or Infinity
    assert result["summary"]["ce"]["diverged"] == 1


def test_surface_huge_lr_reports_diverged_paths(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["surface", "--lr", "1e308", "--resolution", "5", "--steps", "5", "--losses", "ce", "mse"],
                          capsys)
    assert status == 0 and "diverged (left the finite numbers; lr 1e+308 is too large for them)" in out
    status, out, _ = _run(["surface", "--lr", "1e308", "--resolution", "5", "--steps", "5", "--json"], capsys)
    assert status == 0 and _strict_json(out)["setup"]["lr"] == 1e308


# ------------------------------------------------------------------------------------ labels
def test_bytes_labels_work_with_compare_json(crafted_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["compare", "--dataset", str(crafted_files["bytes_y.npz"]), "--seeds", "1", "--epochs", "1",
                           "--hidden", "2", "--losses", "ce", "--json"], capsys)
    assert status == 0 and _strict_json(out)["config"]["dataset"]["classes"] == ["cat", "dog"]


@pytest.mark.parametrize("command", ["compare", "report"])
def test_date_labels_are_refused_before_the_run(command: str, crafted_files: dict[str, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _forbid_labs(monkeypatch)
    extra = ["--out", str(tmp_path / "r")] if command == "report" else []
    status, _, err = _run([command, "--dataset", str(crafted_files["datetime_y.npz"]), *extra], capsys)
    assert status == 2 and "--dataset: " in err and "got dates (datetime64)" in err


def test_an_inf_label_is_refused_up_front_naming_row_and_column(crafted_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    _forbid_labs(monkeypatch)
    status, _, err = _run(["compare", "--dataset", str(crafted_files["inf_label.csv"]), "--json"], capsys)
    assert status == 2 and "row 4, column 'y': label 'inf' is not a finite number" in err
    assert "JSON" not in err


def test_json_outputs_are_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["explain", "--logits", "1e100", "-1e100", "--json"],
                 ["explain", "--temperature", "1e-90", "--json"],
                 ["surface", "--range", "-1e100", "1e100", "--resolution", "5", "--steps", "3", "--json"]):
        status, out, _ = _run(argv, capsys)
        assert status == 0, argv
        _strict_json(out)


# ---------------------------------------------------------------------------------- messages
@pytest.mark.parametrize(("argv", "flag"), [
    (["compare", "--split-seed", "-1"], "argument --split-seed: expected an integer >= 0, got '-1'"),
    (["compare", "--smoothing", "-0.1", "--losses", "ce-smooth"], "argument --smoothing: expected a number in [0, 1]"),
    (["compare", "--target-accuracy", "0"], "argument --target-accuracy"),
    (["compare", "--dataset", "iris", "--label-column", "species"], "--label-column applies to CSV files"),
    (["compare", "--dataset", "mnist"], "--dataset: unknown dataset 'mnist'"),
    (["report", "--dataset", "missing.csv", "--quick"], "--dataset: data file 'missing.csv' does not exist"),
    (["surface", "--swept", "0", "5"], "--swept 0 5: with --classes 3"),
    (["explain", "--temperature", "0"], "argument --temperature"),
    (["bench", "--threads", "0"], "argument --threads"),
])
def test_errors_name_the_flag_as_typed(argv: list[str], flag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _forbid_labs(monkeypatch)
    status, _, err = _run(argv, capsys)
    assert status == 2 and flag in err and err.count("\n") == 1, err


def test_every_typed_option_names_itself_when_given_nonsense(capsys: pytest.CaptureFixture[str]) -> None:
    """For every option of every command that takes a typed value or a choice: a nonsense value is
    refused by a message that contains the option as typed."""
    import argparse

    from outlayer.cli import COMMANDS, _build_parser

    checked = 0
    for command in COMMANDS:
        parser = _build_parser(command)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
        for action in sub._actions:
            if not action.option_strings or (action.type is None and action.choices is None):
                continue
            count = action.nargs if isinstance(action.nargs, int) else 1
            status, _, err = _run([command, action.option_strings[0], *["nonsense"] * count], capsys)
            assert status == 2 and f"argument {action.option_strings[0]}:" in err, (command, err)
            checked += 1
    assert checked >= 25


def test_label_first_csv_suggests_label_column(crafted_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(["compare", "--dataset", str(crafted_files["label_first.csv"])], capsys)
    assert status == 2 and "pass --label-column 0" in err
    status, out, _ = _run(["compare", "--dataset", str(crafted_files["label_first.csv"]), "--label-column", "0",
                           "--seeds", "1", "--epochs", "1", "--hidden", "2", "--losses", "ce", "--json"], capsys)
    assert status == 0 and _strict_json(out)["config"]["dataset"]["classes"] == ["asetosa", "bsetosa"]


@pytest.mark.parametrize(("name", "needle"), [("header_only.csv", "has a header row but no data rows"),
                                              ("unbalanced_quote.csv", "(an unbalanced quote?)")])
def test_short_messages_for_header_only_and_unbalanced_quotes(name: str, needle: str, crafted_files: dict[str, Path],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(["compare", "--dataset", str(crafted_files[name])], capsys)
    assert status == 2 and needle in err and len(err) < 250 and "row 1" not in err, err


@pytest.mark.parametrize(("argv", "check"), [
    (["explain", "--logits", "2", "-1e4", "--json"], lambda r: r["logits"] == [2.0, -1e4]),
    (["explain", "--logits", "-2", "-.5", "-1E+2", "--json"], lambda r: r["logits"] == [-2.0, -0.5, -100.0]),
    (["surface", "--range", "-1e6", "1e6", "--resolution", "5", "--steps", "2", "--losses", "ce", "--json"],
     lambda r: r["setup"]["limits"] == [-1e6, 1e6]),
    (["surface", "--fixed", "-1e3", "--start", "-5", "-1e1", "--resolution", "5", "--steps", "2", "--losses", "ce",
      "--json"], lambda r: r["setup"]["start"] == [-5.0, -10.0]),
])
def test_negative_numbers_are_option_values(argv: list[str], check: Any, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    assert check(_strict_json(out))


def test_bench_help_lists_only_dtypes_some_suite_takes_and_refuses_the_rest_before_timing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from outlayer._cli.bench import SUITE_DTYPES

    assert main(["bench", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for suite, dtypes in SUITE_DTYPES.items():
        assert f"{suite}: {', '.join(dtypes)}" in help_text.replace("- ", "-")
    _forbid_labs(monkeypatch)
    status, _, err = _run(["bench", "--dtype", "float16"], capsys)  # the default suite, ce, has no float16
    assert status == 2 and "--dtype float16 is not measured by suite ce" in err
    status, _, err = _run(["bench", "--dtype", "float8"], capsys)
    assert status == 2 and "invalid choice: 'float8'" in err
    monkeypatch.setattr("outlayer._cli.bench.run_suites", lambda *a, **k: ([], []))
    status, _, _ = _run(["bench", "--suite", "linear-ce", "--dtype", "float16"], capsys)
    assert status == 0


# --------------------------------------------------------------------------------- summaries
def test_explain_temperature_footnote_matches_the_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["explain", "--temperature", "0.5"], capsys)
    assert status == 0 and "CE: (p - one-hot) / T, with T = 0.5" in out and "CE: p - one-hot." not in out
    status, out, _ = _run(["explain", "--temperature", "0.5", "--json"], capsys)
    result = _strict_json(out)
    expected = (np.array(result["probabilities"]) - np.array(result["one_hot"])) / 0.5
    np.testing.assert_allclose(result["grad_cross_entropy"], expected, rtol=1e-12)
    status, out, _ = _run(["explain"], capsys)
    assert "CE: p - one-hot." in out


def test_surface_summary_describes_the_given_start(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["surface", "--start", "100", "100", "--resolution", "5", "--steps", "5",
                           "--losses", "ce", "mse"], capsys)
    assert status == 0
    assert "start (z1, z2) = (100, 100), not the wrong corner (-10, 10)" in out
    assert "start loss" in out and "corner loss" not in out
    ce_row = next(line for line in out.splitlines() if line.startswith("ce "))
    assert ce_row.split()[1] == "0.693"  # ln 2 at (100, 100), not the corner's 20


def test_surface_steps_0_says_no_steps_were_run(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["surface", "--steps", "0", "--resolution", "5", "--losses", "ce", "mse"], capsys)
    assert status == 0 and "never steps" not in out and "never" not in out
    assert "no steps (--steps 0): only the start is evaluated" in out
    assert "no descent steps were run" in out


def test_report_open_says_when_no_browser_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "index.html"
    index.write_text("<html></html>")
    monkeypatch.setattr("outlayer.report.build_report",
                        lambda *a, **k: {"index": index, "summary": ["a line"]})
    monkeypatch.setattr("webbrowser.open", lambda uri: False)
    status, out, err = _run(["report", "--out", str(tmp_path / "r"), "--open"], capsys)
    assert status == 0 and "report written to" in out
    assert err == f"outlayer report: no web browser found; open {index.as_uri()} yourself\n"


def test_no_command_prints_help_and_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run([], capsys)
    from outlayer.cli import COMMANDS

    assert status == 2 and "explain" in out and err == f"outlayer: error: choose a command: {', '.join(COMMANDS)}\n"


def test_a_newline_inside_an_argument_stays_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(["explain", "stray\ntoken"], capsys)
    assert status == 2 and err.count("\n") == 1 and "stray\\ntoken" in err
