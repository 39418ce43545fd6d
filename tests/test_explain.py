"""`outlayer explain`: the worked example, computed by the core and printed step by step."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import outlayer
from outlayer.cli import main
from outlayer.explain import explain, format_explanation


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_worked_example_probabilities_match_torch_softmax() -> None:
    result = explain()
    expected = F.softmax(torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64), dim=0).numpy()
    np.testing.assert_allclose(result["probabilities"], expected, rtol=1e-14)
    assert result["classes"] == ["cat", "dog", "rabbit"] and result["target"] == "cat"


def test_worked_example_cross_entropy_is_minus_log_of_cat_probability() -> None:
    result = explain()
    assert result["cross_entropy"] == pytest.approx(-math.log(result["probabilities"][0]), rel=1e-14)
    logits = torch.tensor([[2.0, 1.0, 0.1]], dtype=torch.float64)
    assert result["cross_entropy"] == pytest.approx(F.cross_entropy(logits, torch.tensor([0])).item(), rel=1e-14)


def test_worked_example_mse_is_0_1848_not_the_seeds_0_198() -> None:
    result = explain()
    p = np.array(result["probabilities"])
    by_hand = (p[0] - 1) ** 2 + p[1] ** 2 + p[2] ** 2
    assert result["mse"] == pytest.approx(by_hand, rel=1e-14)
    assert result["mse"] == pytest.approx(0.1848, abs=5e-5)
    assert abs(result["mse"] - 0.198) > 0.01


def test_worked_example_gradients_match_torch_autograd() -> None:
    result = explain()
    logits = torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64, requires_grad=True)
    F.cross_entropy(logits[None], torch.tensor([0])).backward()
    np.testing.assert_allclose(result["grad_cross_entropy"], logits.grad.numpy(), rtol=1e-12)
    logits.grad = None
    ((F.softmax(logits, dim=0) - torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)) ** 2).sum().backward()
    np.testing.assert_allclose(result["grad_mse"], logits.grad.numpy(), rtol=1e-12)


def test_exponentials_over_their_sum_equal_the_core_probabilities() -> None:
    result = explain(logits=[0.5, -1.0, 3.0, 2.0], target=2)
    np.testing.assert_allclose(np.array(result["exp"]) / result["sum_exp"], result["probabilities"], rtol=1e-14)


def test_temperature_divides_logits_and_gradients_follow_the_chain_rule() -> None:
    temperature = 2.5
    result = explain(temperature=temperature)
    z = torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64, requires_grad=True)
    F.cross_entropy((z / temperature)[None], torch.tensor([0])).backward()
    np.testing.assert_allclose(result["probabilities"], outlayer.softmax(np.array([2.0, 1.0, 0.1]) / temperature))
    np.testing.assert_allclose(result["grad_cross_entropy"], z.grad.numpy(), rtol=1e-12)


def test_two_classes_show_that_softmax_equals_the_sigmoid_of_the_difference() -> None:
    result = explain(logits=[3.0, -1.0])
    assert result["sigmoid"]["sigmoid_of_difference"] == pytest.approx(result["sigmoid"]["softmax_first"], rel=1e-15)
    assert "sigmoid" not in explain()


def test_prediction_is_the_argmax_and_says_whether_it_is_right() -> None:
    result = explain(logits=[0.1, 2.0, 1.0], target="cat")
    assert result["prediction"] == "dog" and result["correct"] is False
    assert "wrong" in format_explanation(result)


def test_cli_prints_every_step_of_the_default_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["explain"], capsys)
    assert code == 0 and err == ""
    for needle in ("exp(2)", "7.389056", "sum = 11.212509", "0.659001", "0.417030", "0.184769", "dCE/dz", "Prediction: cat"):
        assert needle in out


def test_cli_json_is_one_object_equal_to_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["explain", "--logits", "1", "2", "3", "--classes", "a", "b", "c", "--target", "b", "--json"], capsys)
    assert code == 0
    assert json.loads(out) == explain([1.0, 2.0, 3.0], target="b", classes=["a", "b", "c"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--logits", "1", "oops"], "argument --logits: expected a number, got 'oops'"),
        (["--logits", "1", "nan"], "argument --logits: expected a finite number, got 'nan'"),
        (["--logits", "1", "2", "--target", "cat"], "--target: 'cat' is not a class"),
        (["--logits", "1", "2", "--classes", "a", "b", "c"], "--classes names 3 classes but --logits has 2 values"),
        (["--target", "zebra"], "--target: 'zebra' is not a class; give a class name (cat, dog, rabbit)"),
        (["--target", "7"], "--target: target 7 is out of range: the classes are numbered 1 to 3"),
        (["--target", "0"], "--target: target 0 is out of range: the classes are numbered 1 to 3"),
        (["--temperature", "0"], "argument --temperature: expected a positive finite number, got '0'"),
        (["--temperature", "-1"], "argument --temperature: expected a positive finite number, got '-1'"),
        (["--logits", "5"], "--logits needs at least 2 values"),
        (["--classes", "a", "a", "b"], "--classes names 'a' twice"),
        (["--logits", "1e101", "0"], "argument --logits: '1e101' is too large"),
        (["--logits", "1", "2", "--temperature", "1e-100"], "--temperature 1e-100 scales the logits to 2e+100"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_cli_bad_input_prints_one_line_and_exits_2(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["explain", *args], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "target", "classes"),
    [
        (["--target", "2"], "dog", ["cat", "dog", "rabbit"]),  # the second class, as the page counts
        (["--target", "rabbit"], "rabbit", ["cat", "dog", "rabbit"]),
        (["--logits", "1", "2", "3", "4", "--target", "1"], "1", ["1", "2", "3", "4"]),  # unnamed classes: 1..K
        (["--logits", "1", "2", "--classes", "a", "b", "--target", "2"], "b", ["a", "b"]),
    ],
)
def test_cli_numbers_classes_from_1_like_the_page(args: list[str], target: str, classes: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["explain", *args, "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["target"] == target and result["classes"] == classes
    assert result["one_hot"][classes.index(target)] == 1.0
    code, out, _ = run_cli(["explain", "--help"], capsys)
    assert "counted from 1" in out


def test_console_script_exits_2_without_traceback_on_bad_input() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "outlayer", "explain", "--logits", "1", "x"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
