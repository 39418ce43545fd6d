"""outlayer bench: the measuring helpers, the ``ce`` suite's rows and the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from outlayer.bench import SUITES
from outlayer.bench._common import (
    copy_baseline_ms,
    machine_info,
    markdown_table,
    measure_peak_extra_bytes,
    time_callable,
)
from outlayer.cli import main

REQUIRED_KEYS = {
    "suite", "case", "N", "V", "dtype", "impl", "mode", "median_ms", "peak_extra_mb", "gbps",
    "ratio_vs_torch", "ratio_vs_copy",
}


def test_time_callable_runs_warmup_plus_repeats_and_orders_its_statistics() -> None:
    calls = []
    stats = time_callable(lambda: calls.append(1), warmup=2, repeats=5)
    assert len(calls) == 7
    assert stats["repeats"] == 5
    assert 0 <= stats["min_ms"] <= stats["median_ms"] and stats["iqr_ms"] >= 0


def test_time_callable_refuses_zero_repeats() -> None:
    with pytest.raises(ValueError, match="repeats=0"):
        time_callable(lambda: None, repeats=0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux-only")
def test_peak_extra_memory_sees_numpy_and_torch_allocations() -> None:
    size = 64 * 2**20
    seen_numpy = measure_peak_extra_bytes(lambda: np.ones(size, dtype=np.uint8))
    assert 0.9 * size <= seen_numpy <= 1.5 * size
    torch = pytest.importorskip("torch")
    seen_torch = measure_peak_extra_bytes(lambda: torch.ones(size, dtype=torch.uint8))
    assert 0.9 * size <= seen_torch <= 1.5 * size
    assert measure_peak_extra_bytes(lambda: None) < size / 4


def test_copy_baseline_is_positive_and_refuses_no_bytes() -> None:
    assert copy_baseline_ms(1 << 20, repeats=3) > 0
    with pytest.raises(ValueError, match="nbytes=0"):
        copy_baseline_ms(0)


def test_markdown_table_has_a_header_a_rule_and_one_line_per_row() -> None:
    rows = [{"a": 1.23456, "b": "x|y"}, {"a": 1234.5, "b": None}]
    table = markdown_table(rows, ["a", "b"]).splitlines()
    assert table == ["| a | b |", "|---|---|", "| 1.23 | x\\|y |", "| 1234 |  |"]
    with pytest.raises(ValueError, match="columns"):
        markdown_table(rows, [])


def test_machine_info_names_the_cpu_and_the_versions() -> None:
    info = machine_info()
    assert info["cores"] >= 1 and info["cpu"] and info["numpy"] == np.__version__
    assert {"torch", "numba"} <= set(info)


def test_ce_suite_rows_carry_the_contract_keys_and_consistent_ratios() -> None:
    pytest.importorskip("torch")
    from outlayer.bench import ce

    rows = ce.run(
        shapes=[(64, 300)], dtypes=("float32", "bfloat16"), impls=("outlayer", "outlayer-inplace", "copy-new-buffer"),
        repeats=2, threads=1,
    )
    rows = [row for row in rows if row["dtype"] == "float32"]
    by_key = {(row["impl"], row["mode"]): row for row in rows}
    assert {("copy", "forward+backward"), ("copy-new-buffer", "forward+backward"), ("torch", "forward"), ("torch", "forward+backward")} <= set(by_key)
    for row in rows:
        assert REQUIRED_KEYS <= set(row)
        assert row["suite"] == "ce" and row["N"] == 64 and row["V"] == 300 and row["threads"] == 1
    for mode in ("forward", "forward+backward"):
        torch_ms = by_key[("torch", mode)]["median_ms"]
        ours = by_key.get(("outlayer", mode))
        if ours is not None and ours["median_ms"] is not None:
            assert ours["ratio_vs_torch"] == pytest.approx(torch_ms / ours["median_ms"])
            copy_ms = by_key[("copy", "forward+backward")]["median_ms"]
            assert ours["ratio_vs_copy"] == pytest.approx(ours["median_ms"] / copy_ms)
            assert ours["gbps"] > 0
    json.dumps(rows, allow_nan=False)  # the rows are JSON as they are


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dtypes": ("float8",)}, "float8"),
        ({"impls": ("jax",)}, "jax"),
        ({"shapes": [(0, 10)]}, r"\(0, 10\)"),
        ({"threads": 0}, "threads=0"),
    ],
)
def test_ce_suite_rejects_bad_options(options: dict, message: str) -> None:
    pytest.importorskip("torch")
    from outlayer.bench import ce

    with pytest.raises(ValueError, match=message):
        ce.run(**{"shapes": [(8, 16)], "impls": ("outlayer",), **options})


def _fake_suite_rows(**kwargs: object) -> list[dict]:
    return [
        {"suite": "ce", "case": "2x3", "N": 2, "V": 3, "dtype": kwargs["dtypes"][0], "impl": "outlayer",
         "mode": "forward", "median_ms": 1.5, "peak_extra_mb": 0.0, "gbps": 1.0, "ratio_vs_torch": 2.0,
         "ratio_vs_copy": 3.0, "quick": kwargs["quick"], "threads": kwargs["threads"]}
    ]


def test_cli_prints_the_table_and_writes_markdown_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from outlayer.bench import ce

    monkeypatch.setattr(ce, "run", lambda **kwargs: _fake_suite_rows(**kwargs))
    assert main(["bench", "--suite", "ce", "--quick", "--dtype", "float32", "--threads", "1", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| ce | 2x3 | float32 | forward | outlayer |" in printed
    assert (tmp_path / "bench.md").read_text() == printed
    document = json.loads((tmp_path / "bench.json").read_text())
    assert document["rows"][0]["quick"] is True and document["rows"][0]["threads"] == 1
    assert document["machine"]["threads_requested"] == 1


def test_cli_json_flag_prints_the_document(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from outlayer.bench import ce

    monkeypatch.setattr(ce, "run", lambda **kwargs: _fake_suite_rows(**kwargs))
    assert main(["bench", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rows"][0]["dtype"] == "float32" and document["skipped"] == []


def test_cli_skips_a_suite_whose_module_is_missing_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from outlayer.bench import ce

    monkeypatch.setattr(ce, "run", lambda **kwargs: _fake_suite_rows(**kwargs))
    monkeypatch.setitem(SUITES, "linear-ce", "outlayer.bench.no_such_module")
    assert main(["bench", "--suite", "ce", "linear-ce"]) == 0
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if "linear-ce" in line]
    assert len(skipped) == 1 and skipped[0].startswith("suite linear-ce skipped:")
    assert "suite linear-ce skipped" in captured.out  # listed under the table too


def test_vocab_parallel_suite_outside_a_distributed_job_says_how_to_run_it_instead_of_an_empty_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("torch")
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        pytest.skip("this process is in a distributed job")
    assert main(["bench", "--suite", "vocab-parallel", "--quick"]) == 0
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if line.startswith("suite vocab-parallel skipped:")]
    assert len(skipped) == 1 and "torchrun" in skipped[0] and "--spawn 2" in skipped[0], captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "--threads", "0"], "--threads 0"),
        (["bench", "--threads", "two"], "'two'"),
        (["bench", "--suite", "nope"], "nope"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(argv)
    except SystemExit as exit_info:  # argparse errors may surface as SystemExit
        status = exit_info.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_cli_bad_dtype_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert main(["bench", "--suite", "ce", "--dtype", "float8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "float8" in err[0]


def test_cli_out_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    assert main(["bench", "--out", str(not_a_folder)]) == 2
    assert "file.txt" in capsys.readouterr().err
