"""``outlayer neuron``: the --json schema, the printed summary, the figures and one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from outlayer.cli import main
from outlayer.neuron import NeuronConfig

SRC = Path(__file__).resolve().parents[1] / "src"


def _is_int_or_none(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def test_neuron_json_has_one_run_per_start_cost_and_rate_with_the_documented_fields(capsys):
    assert main(["neuron", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    result = json.loads(captured.out)
    runs = result["runs"]
    # 2 starts x (quadratic at 0.15 for both settings, cross-entropy at 0.005 and at 0.15)
    assert len(runs) == 6
    for entry in runs:
        assert entry["cost"] in ("quadratic", "cross-entropy")
        assert (entry["w0"], entry["b0"]) in ((0.6, 0.9), (2.0, 2.0))
        assert entry["lr"] in (0.15, 0.005) and entry["epochs"] == 300
        assert len(entry["output"]) == 301 and all(0.0 < a < 1.0 for a in entry["output"])
        assert set(entry["epochs_to_output_below"]) == {"0.5", "0.2"}
        assert all(_is_int_or_none(v) for v in entry["epochs_to_output_below"].values())
    assert result["config"]["epochs"] == 300 and result["config"]["starts"] == [[0.6, 0.9], [2.0, 2.0]]
    assert result["closed_forms"]["quadratic"]["dC/dw"] == "(a - y) a (1 - a) x"
    assert result["closed_forms"]["cross-entropy"]["dC/dw"] == "(a - y) x"
    assert "figures" not in result
    assert "NaN" not in captured.out and "Infinity" not in captured.out


def test_neuron_summary_states_what_was_run_and_the_measured_epochs(capsys):
    assert main(["neuron", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert main(["neuron"]) == 0
    printed = capsys.readouterr().out
    assert "x = 1, target y = 0" in printed and "300 epochs" in printed
    assert "Nielsen's (quadratic 0.15, cross-entropy 0.005)" in printed and "equal (0.15 for both)" in printed
    row = next(e for e in result["equal_rate"] if (e["w0"], e["b0"]) == (2.0, 2.0))["epochs_to_output_below"]["0.5"]
    assert (f"from (2, 2) at the equal rate 0.15: quadratic needs {row['quadratic']} epochs to a < 0.5, "
            f"cross-entropy {row['cross-entropy']}") in printed
    for entry in result["runs"]:  # every measured count appears in its run's row
        line = next(line for line in printed.splitlines()
                    if line.startswith(f"({entry['w0']:g}, {entry['b0']:g})") and f" {entry['cost']} " in line
                    and f" {entry['lr']:g} " in line)
        for value in entry["epochs_to_output_below"].values():
            assert (str(value) if value is not None else ">300") in line.split()


def test_neuron_options_change_the_runs(capsys):
    assert main(["neuron", "--json", "--starts", "-1", "3", "--epochs", "50", "--costs", "cross-entropy",
                 "--rates", "equal", "--equal-lr", "0.3", "--input", "2", "--thresholds", "0.9"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(r["cost"], r["w0"], r["b0"], r["lr"], r["epochs"]) for r in result["runs"]] == [
        ("cross-entropy", -1.0, 3.0, 0.3, 50)]
    assert result["config"]["x"] == 2.0 and list(result["runs"][0]["epochs_to_output_below"]) == ["0.9"]
    assert result["equal_rate"] == []  # one cost: nothing to compare


def test_neuron_out_writes_every_figure_it_lists_as_png_and_svg(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["neuron", "--json", "--epochs", "30", "--out", str(out)]) == 0
    figures = json.loads(capsys.readouterr().out)["figures"]
    assert set(figures) == {"neuron_learning", "neuron_learning_svg", "neuron_gradient", "neuron_gradient_svg"}
    for name in figures.values():
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") if name.endswith(".png") else b"<svg" in data[:400]
    assert sorted(path.name for path in out.iterdir()) == sorted(figures.values())  # no temporary leftovers


def test_neuron_summary_lists_the_figures_it_wrote(tmp_path, capsys):
    assert main(["neuron", "--epochs", "20", "--out", str(tmp_path)]) == 0
    assert "neuron_learning.png" in capsys.readouterr().out


def _bad_out(tmp_path: Path, kind: str) -> str:
    blocker = tmp_path / "a-file.txt"
    blocker.write_text("x")
    return str(blocker if kind == "file" else blocker / "sub")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--equal-lr", "-1"], "-1"),
        (["--quadratic-lr", "0"], "0"),
        (["--cross-entropy-lr", "nan"], "nan"),
        (["--equal-lr", "1e9"], "1000000000.0"),
        (["--epochs", "0"], "0"),
        (["--epochs", "-3"], "-3"),
        (["--epochs", str(NeuronConfig.MAX_EPOCHS + 1)], str(NeuronConfig.MAX_EPOCHS)),
        (["--epochs", "1e12"], "1e12"),
        (["--epochs", "abc"], "abc"),
        (["--starts", "nan", "1"], "nan"),
        (["--starts", "inf", "0"], "inf"),
        (["--starts", "1"], "1"),
        (["--starts", "1e9", "0"], "1000000000.0"),
        (["--starts", "1", "1", "1", "1"], "(1.0, 1.0)"),
        (["--target", "2"], "2"),
        (["--input=-inf"], "-inf"),
        (["--thresholds", "1.5"], "1.5"),
        (["--costs", "hinge"], "hinge"),
        (["--rates", "fast"], "fast"),
        (["--bogus"], "--bogus"),
    ],
)
def test_bad_neuron_options_exit_2_with_one_line_naming_the_value(argv, named, capsys):
    status = main(["neuron", *argv])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in captured.err


@pytest.mark.parametrize("kind", ["file", "under-file"])
def test_bad_neuron_out_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, kind):
    out = _bad_out(tmp_path, kind)
    status = main(["neuron", "--out", out])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "a-file.txt" in lines[0] and "not a folder" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file.txt"]


def test_neuron_bad_option_from_a_real_process_prints_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-m", "outlayer", "neuron", "--epochs", "100000000"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr and "100000000" in done.stderr
