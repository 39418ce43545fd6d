"""outlayer.experiments: statistics, calibration, reproducibility, and the lab's measured claims."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outlayer.data import Dataset, load_dataset
from outlayer.experiments import (
    DEFAULT_LR,
    METRICS,
    compare,
    expected_calibration_error,
    mean_ci95,
    reliability_bins,
    student_t_quantile,
    train_run,
)

scipy_stats = pytest.importorskip("scipy.stats")


# -- statistics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("df", [*range(1, 31), 40, 60, 99, 200])
@pytest.mark.parametrize("q", [0.6, 0.9, 0.95, 0.975, 0.995, 0.025])
def test_student_t_quantile_matches_scipy(df, q):
    assert student_t_quantile(q, df) == pytest.approx(scipy_stats.t.ppf(q, df), rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=12))
def test_mean_ci95_matches_scipy_t_interval(values):
    stats = mean_ci95(values)
    sem = scipy_stats.sem(values)
    assert stats["mean"] == pytest.approx(np.mean(values), abs=1e-9)
    if sem > 0:
        low, high = scipy_stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sem)
        assert stats["ci95"] == pytest.approx([low, high], rel=1e-9, abs=1e-9)
    else:
        assert stats["ci95"][0] == pytest.approx(stats["ci95"][1])


def test_mean_ci95_has_no_interval_from_one_run_and_skips_missing_values():
    assert mean_ci95([0.7])["ci95"] is None
    stats = mean_ci95([0.5, None, 0.7, float("nan")])
    assert stats["n"] == 2 and stats["mean"] == pytest.approx(0.6)
    assert mean_ci95([None])["mean"] is None


def test_ece_on_a_hand_computed_case():
    """Four samples, 15 bins of width 1/15, bin b = (b/15, (b+1)/15].

    conf 0.95 correct, conf 0.95 wrong -> bin 14 (0.95 * 15 = 14.25): accuracy 1/2, confidence 0.95
    conf 0.62 correct                   -> bin 9  (9.3):               accuracy 1,   confidence 0.62
    conf 0.50 wrong                     -> bin 7  (7.5):               accuracy 0,   confidence 0.50
    ECE = 2/4 |0.5 - 0.95| + 1/4 |1 - 0.62| + 1/4 |0 - 0.5| = 0.225 + 0.095 + 0.125 = 0.445.
    """
    probabilities = np.array([[0.95, 0.03, 0.02], [0.95, 0.03, 0.02], [0.62, 0.28, 0.10], [0.50, 0.40, 0.10]])
    y = np.array([0, 1, 0, 1])
    assert expected_calibration_error(probabilities, y) == pytest.approx(0.445, abs=1e-12)
    bins = reliability_bins(probabilities, y)
    assert np.flatnonzero(bins["count"]).tolist() == [7, 9, 14]
    assert bins["count"][14] == 2 and bins["correct_sum"][14] == 1


def test_ece_is_zero_when_confidence_equals_accuracy_in_every_bin():
    # confidence 0.75 everywhere, 3 of 4 right
    probabilities = np.tile([0.75, 0.25], (4, 1))
    assert expected_calibration_error(probabilities, np.array([0, 0, 0, 1])) == pytest.approx(0.0, abs=1e-15)


# -- training ------------------------------------------------------------------------------------
def _separable(n_per_class: int = 20) -> Dataset:
    rng = np.random.default_rng(0)
    centres = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    y = np.repeat(np.arange(3), n_per_class)
    X = centres[y] + 0.5 * rng.normal(size=(len(y), 2))
    return Dataset("separable", X, y, X[:6], y[:6], X, y, classes=(0, 1, 2))


@pytest.mark.parametrize("loss", ["ce", "mse", "mse-logits"])
def test_small_separable_set_reaches_full_training_accuracy(loss):
    run = train_run(_separable(), loss, init="gentle", optimizer="adam", lr=0.03, epochs=30, hidden=(8,))
    assert run["final"]["train_accuracy"] == 1.0
    assert not run["diverged"]


def test_seeded_runs_are_bit_for_bit_reproducible():
    kwargs = {"dataset": "iris", "losses": ("ce", "mse-logits"), "seeds": 2, "epochs": 3, "init": "confident"}
    first, again = compare(**kwargs), compare(**kwargs)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    other = compare(**{**kwargs, "first_seed": 7})
    assert other["runs"][0]["history"][1]["train_loss"] != first["runs"][0]["history"][1]["train_loss"]


def test_losses_start_from_the_same_hidden_layer_at_a_given_seed():
    """Paired design: at one seed every loss sees the same initial test accuracy (same initial net)."""
    result = compare("iris", ("ce", "mse", "ce-smooth"), seeds=1, epochs=1, init="confident")
    starts = {run["history"][0]["test_accuracy"] for run in result["runs"]}
    assert len(starts) == 1


def test_confident_start_records_initial_logit_std_of_30():
    result = compare("iris", ("ce",), seeds=2, epochs=1, init="confident")
    assert all(run["initial_logit_std"] == pytest.approx(30.0, rel=1e-9) for run in result["runs"])


def test_too_large_learning_rate_is_flagged_as_diverged_not_raised():
    run = train_run(load_dataset("iris"), "mse-logits", init="confident", lr=500.0, epochs=20)
    assert run["diverged"]
    assert run["history"][-1]["test_accuracy"] is None and run["final"]["train_loss"] is None


# -- the lab's claims, with thresholds from measured margins (see the issue-4 report) -------------
@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def test_ce_ends_clearly_ahead_of_mse_on_digits_from_the_confident_start_with_sgd(digits):
    result = compare(digits, ("ce", "mse"), init="confident", optimizer="sgd", seeds=2, epochs=8)
    ce, mse = (result["summary"][name]["test_accuracy"]["mean"] for name in ("ce", "mse"))
    # measured at these settings (first seeds 0, 2, 4): margins 0.48, 0.60, 0.65; at 5 seeds x 30
    # epochs 0.966 vs 0.550 (bench_compare.py table). Threshold: well under the smallest.
    assert ce - mse > 0.3


def test_at_the_confident_start_mse_barely_pushes_on_misclassified_samples(digits):
    """Same initial network for both losses (paired seeds); only dL/dlogits differs.

    Measured at epoch 0: CE 1.41 (about sqrt(2): p_true ~ 0, p_wrong ~ 1), MSE 0.0097.
    """
    result = compare(digits, ("ce", "mse"), init="confident", optimizer="sgd", seeds=2, epochs=1)
    ce, mse = (result["curves"][name]["grad_misclassified"]["mean"][0] for name in ("ce", "mse"))
    assert ce > 1.0 and ce > 20 * mse


def test_scalar_is_clearly_worse_than_ce_on_digits(digits):
    result = compare(digits, ("ce", "scalar"), init="gentle", optimizer="adam", seeds=2, epochs=8)
    ce, scalar = (result["summary"][name]["test_accuracy"]["mean"] for name in ("ce", "scalar"))
    # measured (first seeds 0, 2, 4): ce 0.98 vs scalar 0.51-0.52; 5 seeds x 30 epochs: 0.980 vs 0.570
    assert ce - scalar > 0.2


def test_scalar_is_competitive_with_ce_on_the_ordinal_set():
    result = compare("ordinal", ("ce", "scalar"), init="gentle", optimizer="adam", seeds=2, epochs=8)
    ce, scalar = (result["summary"][name]["test_accuracy"]["mean"] for name in ("ce", "scalar"))
    # measured (first seeds 0, 2, 4): scalar - ce = -0.012, +0.062, +0.020; 5 seeds x 30 epochs:
    # 0.903 vs 0.917. On digits the same comparison loses by 0.4 or more.
    assert scalar > ce - 0.05


# -- outputs -------------------------------------------------------------------------------------
def test_compare_writes_records_and_figures_and_lists_them(tmp_path):
    result = compare("iris", ("ce", "scalar"), seeds=2, epochs=2, out_dir=tmp_path, figure_prefix="lab")
    for name in result["figures"].values():
        assert (tmp_path / name).stat().st_size > 1000
    assert {"lab_learning_curves", "lab_accuracy", "lab_gradients", "lab_reliability"} <= set(result["figures"])
    with open(tmp_path / result["files"]["records_csv"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 2 * 3  # losses x seeds x (epochs + 1)
    assert set(rows[0]) == {"loss", "seed", "lr", "epoch", *METRICS}
    assert json.loads((tmp_path / result["files"]["result_json"]).read_text()) == result
    records = json.loads((tmp_path / result["files"]["records_json"]).read_text())
    assert len(records) == len(rows) and records[-1]["loss"] == "scalar" and records[-1]["test_nll"] is None


def test_result_has_the_documented_shape():
    result = compare("iris", ("ce", "mse"), seeds=2, epochs=2)
    assert {"config", "runs", "summary", "curves", "tuning"} <= set(result)
    entry = result["summary"]["ce"]["test_accuracy"]
    assert set(entry) >= {"mean", "ci95"} and len(entry["ci95"]) == 2
    assert entry["ci95"][0] <= entry["mean"] <= entry["ci95"][1]
    assert len(result["runs"]) == 4 and len(result["runs"][0]["history"]) == 3
    assert result["config"]["lr"] == {name: DEFAULT_LR["sgd"]["confident"][name] for name in ("ce", "mse")}
    json.dumps(result, allow_nan=False)


def test_tune_lr_picks_the_grid_rate_with_the_best_validation_accuracy():
    result = compare("iris", ("ce",), seeds=1, epochs=3, tune_lr=True, lr_grid=(0.001, 0.3))
    rows = result["tuning"]["losses"]["ce"]
    best = max(rows, key=lambda row: (row["val_accuracy"], -row["lr"]))
    assert result["config"]["lr"]["ce"] == best["lr"] and result["config"]["lr_source"] == "tuned"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"losses": ("ce", "hinge")}, "'hinge'"),
        ({"init": "bold"}, "'bold'"),
        ({"optimizer": "rmsprop"}, "'rmsprop'"),
        ({"seeds": 0}, "seeds"),
        ({"epochs": 2.5}, "epochs"),
        ({"lr": [0.1, 0.2, 0.3]}, "3 learning rates for 2 losses"),
        ({"lr": -1.0}, "learning rate for 'ce'"),
        ({"lr": {"scalar": 0.1}}, "'scalar'"),
        ({"hidden": (0,)}, "hidden"),
        ({"true_class_weight": 2.0}, "'mse-logits'"),
        ({"colour": "red"}, "unknown option 'colour'"),
        ({"target_accuracy": 1.5}, "target_accuracy"),
    ],
)
def test_bad_compare_arguments_raise_one_line_naming_the_value(kwargs, needle):
    with pytest.raises(ValueError) as info:
        compare("iris", **{"losses": ("ce", "mse"), "seeds": 1, "epochs": 1, **kwargs})
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_default_learning_rates_cover_every_optimizer_start_and_loss():
    from outlayer.nets import HEAD_NAMES, INITS
    from outlayer.optim import OPTIMIZER_NAMES

    for optimizer in OPTIMIZER_NAMES:
        for init in INITS:
            assert set(DEFAULT_LR[optimizer][init]) == set(HEAD_NAMES)
            assert all(rate > 0 for rate in DEFAULT_LR[optimizer][init].values())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(2, 6), st.integers(0, 2**31))
def test_ece_lies_between_0_and_1_and_equals_the_binned_gap(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, k))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, k, size=n)
    ece = expected_calibration_error(probabilities, y)
    assert 0.0 <= ece <= 1.0
    confidence, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, 16)
    expected = sum(
        abs(correct[mask].mean() - confidence[mask].mean()) * mask.mean()
        for low, high in zip(edges[:-1], edges[1:])
        if (mask := (confidence > low) & (confidence <= high)).any()
    )
    assert ece == pytest.approx(expected, abs=1e-12)


def test_progress_bar_is_drawn_only_on_a_terminal(monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, expect_bar in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        compare("iris", ("ce",), seeds=1, epochs=2, progress=True)
        assert ("epoch" in stream.getvalue()) == expect_bar
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    compare("iris", ("ce",), seeds=1, epochs=2, progress=False)
    assert quiet.getvalue() == ""


def test_mean_ci95_is_clipped_to_the_metrics_range_and_never_reports_an_accuracy_above_one():
    stats = mean_ci95([0.99, 1.0, 0.7], bounds=(0.0, 1.0))
    unclipped = mean_ci95([0.99, 1.0, 0.7])
    assert unclipped["ci95"][1] > 1.0  # the symmetric t-interval itself overshoots
    assert stats["ci95"] == [pytest.approx(unclipped["ci95"][0]), 1.0]
    assert stats["mean"] == unclipped["mean"]
