"""outlayer.stats: every interval checked against SciPy, missing values never counted."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outlayer.stats import (
    binomial_se,
    bootstrap_ci95,
    finite_values,
    mean_ci95,
    paired_difference,
    student_t_quantile,
)

scipy_stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("df", [*range(1, 31), 40, 60, 99, 200])
@pytest.mark.parametrize("q", [0.6, 0.9, 0.95, 0.975, 0.995, 0.025])
def test_student_t_quantile_matches_scipy(df, q):
    assert student_t_quantile(q, df) == pytest.approx(scipy_stats.t.ppf(q, df), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("q", "df"), [(0.0, 3), (1.0, 3), (0.5, 0), (0.9, 2.5), (0.9, True)])
def test_student_t_quantile_rejects_bad_levels_and_degrees_of_freedom(q, df):
    with pytest.raises(ValueError):
        student_t_quantile(q, df)


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


def test_missing_values_are_dropped_and_counted():
    assert finite_values([1.0, None, math.nan, math.inf, -2.0]).tolist() == [1.0, -2.0]
    stats = mean_ci95([0.5, None, 0.7, float("nan")])
    assert stats["n"] == 2 and stats["mean"] == pytest.approx(0.6)
    assert mean_ci95([0.7])["ci95"] is None and mean_ci95([None])["mean"] is None


def test_mean_ci95_is_clipped_to_the_given_range():
    clipped, raw = mean_ci95([0.99, 1.0, 0.7], bounds=(0.0, 1.0)), mean_ci95([0.99, 1.0, 0.7])
    assert raw["ci95"][1] > 1.0 and clipped["ci95"] == [pytest.approx(raw["ci95"][0]), 1.0]


def test_bootstrap_interval_agrees_with_scipys_percentile_bootstrap():
    values = np.random.default_rng(5).normal(0.3, 0.1, size=12)
    ours = bootstrap_ci95(values)
    theirs = scipy_stats.bootstrap((values,), np.mean, n_resamples=100_000, method="percentile",
                                   confidence_level=0.95, random_state=1).confidence_interval
    width = theirs.high - theirs.low
    # two Monte-Carlo estimates of the same quantiles: they agree to a few percent of the width
    assert ours[0] == pytest.approx(theirs.low, abs=0.05 * width)
    assert ours[1] == pytest.approx(theirs.high, abs=0.05 * width)


def test_bootstrap_is_deterministic_and_needs_two_values():
    values = [0.1, 0.4, 0.35, 0.2]
    assert bootstrap_ci95(values) == bootstrap_ci95(list(values))
    assert bootstrap_ci95([0.5]) is None and bootstrap_ci95([0.5, None]) is None
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_ci95(values, resamples=1)


def test_paired_t_interval_matches_scipys_related_samples_test():
    rng = np.random.default_rng(0)
    shared = rng.normal(0.8, 0.1, size=10)  # what the two runs of a seed share
    a, b = shared + 0.02 + rng.normal(0, 0.01, 10), shared + rng.normal(0, 0.01, 10)
    paired = paired_difference(a.tolist(), b.tolist())
    interval = scipy_stats.ttest_rel(a, b).confidence_interval(0.95)
    assert paired["t_ci95"] == pytest.approx([interval.low, interval.high], rel=1e-9)
    assert paired["mean"] == pytest.approx(float(np.mean(a - b)))
    # the point of pairing: the shared part cancels, the paired interval is far narrower
    unpaired_width = mean_ci95(a)["ci95"][1] - mean_ci95(a)["ci95"][0]
    assert paired["t_ci95"][1] - paired["t_ci95"][0] < 0.5 * unpaired_width


def test_paired_difference_leaves_out_pairs_with_a_missing_side():
    paired = paired_difference([0.9, None, 0.8, 0.95], [0.5, 0.6, None, 0.55])
    assert paired["differences"] == [pytest.approx(0.4), None, None, pytest.approx(0.4)]
    assert paired["n"] == 2 and paired["mean"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1.0], [1.0, 2.0])


def test_binomial_standard_error_of_a_test_accuracy():
    # 97 % on 450 samples: sqrt(0.97 * 0.03 / 450) = 0.00804, the 0.8 %
    assert binomial_se(0.97, 450) == pytest.approx(math.sqrt(0.97 * 0.03 / 450), rel=1e-15)
    assert binomial_se(0.97, 450) == pytest.approx(0.00804, abs=1e-5)
    assert binomial_se(None, 450) is None and binomial_se(0.5, 0) is None
    with pytest.raises(ValueError, match="proportion"):
        binomial_se(1.5, 10)
