"""``outlayer surface``: the --json schema, the printed summary, and one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from outlayer.cli import main
from outlayer.losses import LOSS_NAMES

QUICK = ["--resolution", "21", "--steps", "60"]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def test_surface_json_prints_one_object_with_setup_and_per_loss_key_figures(capsys):
    assert main(["surface", "--json", *QUICK]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert captured.err == ""
    setup = result["setup"]
    assert setup["num_classes"] == 3 and setup["target"] == 0 and setup["swept"] == [0, 1]
    assert setup["fixed"] == {"2": "-inf"} and setup["limits"] == [-10.0, 10.0]
    assert setup["steps"] == 60 and setup["resolution"] == 21 and _is_number(setup["lr"])
    assert set(result["losses"]) == set(LOSS_NAMES)
    for entry in result["losses"].values():
        for where in ("corner", "center", "optimum"):
            assert _is_number(entry[where]["loss"]) and _is_number(entry[where]["grad_norm"])
        steps = entry["steps_to_p90"]
        assert steps is None or (isinstance(steps, int) and 0 <= steps <= 60)
    assert result["corner_grad_norm_ratio_ce_mse"] > 1e6
    assert "figures" not in result


def test_surface_json_honours_the_generalised_options(capsys):
    # classes are numbered from 1 on the command line (the JSON keeps 0-based indices)
    assert main(["surface", "--json", *QUICK, "--classes", "5", "--target", "3", "--swept", "5", "3",
                 "--fixed", "0", "1", "-1", "--range", "-4", "6", "--losses", "ce", "mse",
                 "--optimizers", "adam", "--lr", "0.2", "--start", "1", "-3"]) == 0
    result = json.loads(capsys.readouterr().out)
    setup = result["setup"]
    assert setup["fixed"] == {"0": 0.0, "1": 1.0, "3": -1.0}
    assert setup["swept"] == [4, 2] and setup["target"] == 2 and setup["limits"] == [-4.0, 6.0]
    assert setup["start"] == [1.0, -3.0] and setup["lr"] == 0.2 and setup["optimizers"] == ["adam"]
    assert set(result["losses"]) == {"ce", "mse"}
    assert set(result["losses"]["ce"]["paths"]) == {"adam"}
    assert result["losses"]["ce"]["corner"]["point"] == [6.0, -4.0]  # target (swept second) low, y5 high


def test_surface_numbers_classes_and_logits_from_1_like_the_page(capsys):
    assert main(["surface", *QUICK, "--losses", "ce", "mse"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("3 classes, target class 1, sweeping z1, z2 over [-10, 10], z3 = -inf")
    assert main(["surface", "--json", *QUICK, "--losses", "ce", "--target", "2", "--swept", "2", "3"]) == 0
    setup = json.loads(capsys.readouterr().out)["setup"]
    assert setup["target"] == 1 and setup["swept"] == [1, 2] and setup["fixed"] == {"0": "-inf"}
    for argv, named in ((["--target", "0"], "--target 0: with --classes 3 the classes are numbered 1 to 3"),
                        (["--swept", "1", "4"], "--swept 1 4: with --classes 3 the classes are numbered 1 to 3")):
        assert main(["surface", *QUICK, *argv]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and named in captured.err and captured.err.count("\n") == 1
    assert main(["surface", "--help"]) == 0
    assert "numbered from 1" in capsys.readouterr().out


def test_surface_prints_a_summary_table_without_json(capsys):
    assert main(["surface", *QUICK, "--losses", "ce", "mse"]) == 0
    printed = capsys.readouterr().out
    assert "corner gradient norm CE / MSE" in printed and "\nmse " in printed and "steps sgd" in printed


def test_surface_out_writes_every_figure_it_lists_as_png_and_svg(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["surface", "--json", "--resolution", "15", "--steps", "20", "--losses", "ce", "mse",
                 "--out", str(out)]) == 0
    figures = json.loads(capsys.readouterr().out)["figures"]
    assert {"surface_3d", "surface_paths", "surface_gradients", "surface_probability"} <= set(figures)
    for name in figures.values():
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") if name.endswith(".png") else b"<svg" in data[:400]
    assert sorted(path.name for path in out.iterdir()) == sorted(figures.values())  # no temporary leftovers


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--classes", "1"], ("--classes", "'1'")),
        (["--target", "5"], ("--target 5", "--classes 3")),
        (["--swept", "0", "0"], ("--swept 0 0",)),
        (["--range", "5", "-5"], ("--range", "(5.0, -5.0)")),
        (["--lr", "0"], ("--lr", "'0'")),
        (["--lr", "abc"], ("--lr", "'abc'")),
        (["--losses", "hinge"], ("--losses", "'hinge'")),
        (["--optimizers", "rmsprop"], ("--optimizers", "'rmsprop'")),
        (["--fixed", "1", "2", "3"], ("--fixed", "(1.0, 2.0, 3.0)")),
        (["--steps", "-1"], ("--steps", "'-1'")),
        (["--resolution", "1"], ("--resolution", "'1'")),
        (["--goal", "1.5"], ("--goal", "'1.5'")),
        (["--bogus"], ("--bogus",)),
    ],
)
def test_bad_surface_options_exit_2_with_one_line_naming_the_flag_and_value(argv, named, capsys):
    status = main(["surface", *argv])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert all(part in lines[0] for part in named), lines[0]
