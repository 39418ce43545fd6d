"""``outlayer compare``: JSON output, files, summary table, and one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from outlayer.cli import main


def test_compare_json_prints_one_object_with_config_runs_and_summary(capsys):
    assert main(["compare", "--dataset", "iris", "--losses", "ce", "mse", "--seeds", "2", "--epochs", "2",
                 "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert captured.err == ""  # stderr is not a terminal here: no progress bar
    assert result["config"]["losses"] == ["ce", "mse"] and result["config"]["epochs"] == 2
    assert len(result["runs"]) == 4
    for loss in ("ce", "mse"):
        assert len(result["summary"][loss]["test_accuracy"]["ci95"]) == 2


def test_compare_prints_a_table_and_writes_files_with_out(tmp_path, capsys):
    out = tmp_path / "lab"
    assert main(["compare", "--dataset", "ordinal", "--losses", "ce", "scalar", "--quick", "--init", "gentle",
                 "--optimizer", "adam", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy [95% CI]" in printed and "\nscalar" in printed
    assert (out / "compare_records.csv").exists() and (out / "compare_accuracy.svg").exists()


def test_compare_accepts_a_csv_with_a_named_label_column(tmp_path, capsys):
    lines = ["f1,f2,kind"] + [f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}" for i in range(60)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    assert main(["compare", "--dataset", str(tmp_path / "d.csv"), "--label-column", "kind", "--losses", "ce",
                 "--seeds", "1", "--epochs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["dataset"]["classes"] == ["a", "b"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--dataset", "missing.csv"], "'missing.csv' does not exist"),
        (["--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["--dataset", "{csv}", "--label-column", "nope"], "no column named 'nope'"),
        (["--dataset", "{bad}"], "non-numeric value 'x'"),
        (["--dataset", "{one}"], "only one class"),
        (["--losses", "ce", "mse", "--lr", "0.1", "0.2", "0.3"], "--lr takes one value or one per loss"),
        (["--lr", "-0.1"], "argument --lr"),
        (["--losses", "hinge"], "argument --losses"),
        (["--seeds", "0"], "argument --seeds"),
        (["--mse-k", "2"], "--mse-k applies to mse-logits"),
        (["--lr", "0.1", "--tune-lr"], "exclude each other"),
        (["--target-accuracy", "2"], "--target-accuracy"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_problem(tmp_path, capsys, argv, needle):
    (tmp_path / "ok.csv").write_text("a,b,y\n1,2,u\n3,4,v\n5,6,u\n7,8,v\n")
    (tmp_path / "bad.csv").write_text("a,b,y\n1,2,u\n3,x,v\n")
    (tmp_path / "one.csv").write_text("a,b,y\n1,2,u\n3,4,u\n")
    files = {"{csv}": str(tmp_path / "ok.csv"), "{bad}": str(tmp_path / "bad.csv"), "{one}": str(tmp_path / "one.csv")}
    argv = [files.get(arg, arg) for arg in argv]
    assert main(["compare", *argv, "--seeds", "1", "--epochs", "1"] if "--seeds" not in argv else
                ["compare", *argv]) == 2
    captured = capsys.readouterr()
    assert needle in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""
