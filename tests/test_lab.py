"""The lab's experiments (:mod:`outlayer.lab`): their claims, their JSON, their figures and their commands.

One computation per experiment and session: the README's runs (``lab_experiment_runs`` in
conftest.py: 2-3 seeds, the full epoch budget, the stored tuned rates), shared by the claims, the
shapes, the figures and the README check.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from outlayer.lab import calibration, many_classes, pretrain, priors, sweep


def _no_nan(result: dict) -> dict:
    """The result as JSON (NaN or infinity would raise) and back: it must equal itself."""
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    return result


@pytest.fixture(scope="session")
def quick_results(lab_experiment_runs) -> dict:
    """Every experiment as the README runs it (2-3 seeds, 20 epochs; conftest.py computes them once)."""
    return {name.replace("-", "_"): result for name, result in lab_experiment_runs.items()}


@pytest.fixture(scope="session")
def sgd_sweep(lab_experiment_runs) -> dict:
    """The sweep's claim run (the README's): CE and MSE with SGD at every default logit std, 3 seeds, 20 epochs."""
    return lab_experiment_runs["sweep"]


def test_quick_settings_are_valid_configs() -> None:
    for config in (sweep.SweepConfig, calibration.CalibrationConfig, pretrain.PretrainConfig,
                   many_classes.ManyClassesConfig, priors.PriorsConfig):
        quick = config(**config.QUICK)
        assert quick.epochs <= 4 and quick.seeds <= 2


# ------------------------------------------------------------------------------- the sweep
def test_sweep_rows_have_logit_std_loss_optimizer_and_test_accuracy_mean_and_interval(quick_results) -> None:
    result = _no_nan(quick_results["sweep"])
    config = result["config"]
    assert len(result["rows"]) == len(config["logit_stds"]) * len(config["losses"]) * len(config["optimizers"])
    for row in result["rows"]:
        assert {"logit_std", "loss", "optimizer", "test_accuracy", "lr", "lr_source"} <= set(row)
        assert {"mean", "ci95", "n"} <= set(row["test_accuracy"])
        assert row["test_accuracy"]["n"] == config["seeds"]
        assert 0.0 <= row["test_accuracy"]["mean"] <= 1.0


def test_sweep_scales_the_initial_logits_to_each_std(quick_results) -> None:
    for row in quick_results["sweep"]["rows"]:
        assert row["initial_logit_std"]["mean"] == pytest.approx(row["logit_std"], rel=1e-9)


def test_sweep_marks_the_lecture_corner_computed_by_the_core(quick_results) -> None:
    from outlayer.losses import cross_entropy
    from outlayer.surface import LECTURE_PLANE

    corner = quick_results["sweep"]["lecture_corner_p_target"]
    # the lecture's plane: logits (-10, 10, -inf), target class 1: p = e^-10 / (e^-10 + e^10)
    y1, y2 = LECTURE_PLANE.wrong_corner()
    logits = np.array([[y1, y2, -np.inf]])
    assert corner == pytest.approx(math.exp(-float(cross_entropy(logits, np.array([0])))), rel=1e-12)
    assert 1e-9 < corner < 3e-9


def test_sweep_initial_p_true_falls_with_the_logit_scale(quick_results) -> None:
    result = quick_results["sweep"]
    medians = [result["p_true_initial"][format(s, "g")]["median"] for s in result["config"]["logit_stds"]]
    assert all(a > b for a, b in zip(medians, medians[1:]))


def test_ce_accuracy_stays_at_least_0_9_at_every_logit_std_with_sgd(sgd_sweep) -> None:
    for row in sgd_sweep["rows"]:
        assert row["lr_source"].startswith("tuned"), row["lr_source"]  # the claim is about the tuned rates
        if row["loss"] == "ce":
            assert row["test_accuracy"]["mean"] >= 0.9, row


def test_mse_accuracy_falls_by_at_least_20_points_between_std_1_and_30_with_sgd(sgd_sweep) -> None:
    at = {row["logit_std"]: row for row in sgd_sweep["rows"] if row["loss"] == "mse"}
    assert at[1.0]["test_accuracy"]["mean"] - at[30.0]["test_accuracy"]["mean"] >= 0.20
    drop = at[30.0]["drop_from_smallest"]
    assert drop["mean"] == pytest.approx(at[1.0]["test_accuracy"]["mean"] - at[30.0]["test_accuracy"]["mean"])
    assert drop["t_ci95"][0] > 0  # per seed, not only on average


def test_sweep_rates_at_std_30_are_the_stored_confident_defaults() -> None:
    from outlayer.experiments import DEFAULT_LR
    from outlayer.lab.rates import stored_rates

    config = sweep.SweepConfig()
    rates = stored_rates("sweep/sgd/std=30", config.compare_config("sgd", 30.0))
    assert rates == {loss: DEFAULT_LR["sgd"]["confident"][loss] for loss in config.losses}


def test_stored_rates_apply_only_to_the_settings_they_were_tuned_for() -> None:
    from outlayer.lab.rates import stored_rates

    config = sweep.SweepConfig()
    assert stored_rates("sweep/sgd/std=10", config.compare_config("sgd", 10.0)) is not None
    shorter = sweep.SweepConfig(epochs=5)
    assert stored_rates("sweep/sgd/std=10", shorter.compare_config("sgd", 10.0)) is None


# ------------------------------------------------------------------------------ calibration
def test_compare_summary_has_calibration_with_temperature_ece_and_nll_before_and_after() -> None:
    from outlayer.experiments import compare

    result = _no_nan(compare("iris", ("ce", "mse"), seeds=2, epochs=3, init="gentle"))
    for loss in ("ce", "mse"):
        entry = result["summary"][loss]["calibration"]
        for key in ("temperature", "ece_before", "ece_after", "nll_before", "nll_after"):
            assert {"mean", "ci95", "std", "n"} <= set(entry[key]) and entry[key]["n"] == 2, key
        assert entry["ece_after"]["mean"] == result["summary"][loss]["test_ece_scaled"]["mean"]
        assert entry["nll_before"]["mean"] == pytest.approx(result["summary"][loss]["test_nll"]["mean"])


def test_temperature_scaling_never_raises_the_validation_nll_of_any_run(quick_results) -> None:
    for cell in quick_results["calibration"]["cells"].values():
        for loss, entry in cell["summary"].items():
            change = entry["calibration"]["change"]["val_nll"]
            assert all(d <= 1e-12 for d in change["differences"]), (loss, change)


def test_temperature_scaling_lowers_the_validation_nll_of_a_miscalibrated_loss() -> None:
    from outlayer.experiments import compare

    result = compare("digits", ("mse-logits",), seeds=2, epochs=3, init="gentle")
    change = result["summary"]["mse-logits"]["calibration"]["change"]["val_nll"]
    assert all(d < -0.1 for d in change["differences"]), change  # the square loss's logits are far too small


def test_fit_temperature_is_never_worse_than_t_equal_1_on_the_data_it_fits() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from outlayer.experiments import TEMPERATURES, fit_temperature
    from outlayer.losses import cross_entropy

    assert 1.0 in TEMPERATURES

    @settings(max_examples=40, deadline=None)
    @given(st.integers(0, 2**31 - 1), st.integers(2, 8), st.integers(1, 40), st.floats(0.01, 100.0))
    def check(seed: int, k: int, n: int, scale: float) -> None:
        rng = np.random.default_rng(seed)
        logits = rng.standard_normal((n, k)) * scale
        y = rng.integers(0, k, n)
        t = fit_temperature(logits, y)
        assert float(cross_entropy(logits / t, y)) <= float(cross_entropy(logits, y)) + 1e-12

    check()


def test_ece_noise_floor_is_the_ece_of_a_calibrated_model_at_that_size() -> None:
    from outlayer.experiments import expected_calibration_error

    rng = np.random.default_rng(0)
    n, k = 450, 10
    confidence = rng.uniform(0.3, 1.0, n)
    probabilities = np.full((n, k), 0.0)
    probabilities[:, 0] = confidence
    probabilities[:, 1:] = ((1 - confidence) / (k - 1))[:, None]
    from outlayer.experiments import reliability_bins

    bins = reliability_bins(probabilities, np.zeros(n, dtype=np.int64))
    floor = calibration.ece_noise_floor(bins, resamples=4000, seed=1)
    # direct simulation: each sample right with probability equal to its own confidence
    direct = [expected_calibration_error(probabilities, np.where(rng.random(n) < confidence, 0, 1))
              for _ in range(400)]
    assert floor["mean"] == pytest.approx(np.mean(direct), rel=0.1)
    assert 0.9 <= np.mean(np.array(direct) <= floor["q95"]) <= 0.99
    bigger = calibration.ece_noise_floor({key: np.asarray(v) * 4 for key, v in bins.items()}, resamples=4000)
    assert bigger["mean"] == pytest.approx(floor["mean"] / 2, rel=0.15)  # the floor shrinks as 1/sqrt(n)


def test_calibration_result_has_noise_floor_and_smoothing_per_cell(quick_results) -> None:
    result = _no_nan(quick_results["calibration"])
    assert set(result["cells"]) == {"gentle-sgd", "confident-sgd"}
    for cell in result["cells"].values():
        for entry in cell["summary"].values():
            assert entry["noise_floor"]["q95"]["mean"] >= entry["noise_floor"]["mean"]["mean"] > 0
    assert set(result["smoothing_ece_ce_minus_smooth"]) == {"gentle-sgd", "confident-sgd"}


# ------------------------------------------------------------------------------- pretraining
def test_pretraining_with_sgd_trains_the_first_epochs_exactly_as_ce_then_switches() -> None:
    from outlayer.data import load_dataset
    from outlayer.experiments import train_run

    data = load_dataset("iris")
    ce = train_run(data, "ce", init="gentle", lr=0.3, epochs=5)
    switched = train_run(data, "mse", init="gentle", lr=0.3, epochs=5, pretrain={"loss": "ce", "epochs": 2, "lr": 0.3})
    continued = train_run(data, "ce", init="gentle", lr=0.3, epochs=5, pretrain={"loss": "ce", "epochs": 2, "lr": 0.3})
    assert switched["history"][:3] == ce["history"][:3]
    assert switched["history"][3]["train_loss"] != ce["history"][3]["train_loss"]
    assert continued["history"] == ce["history"]  # SGD keeps no state: CE continued is CE
    assert switched["pretrain"] == {"loss": "ce", "epochs": 2, "lr": 0.3}


@pytest.mark.parametrize(("pretrain_option", "named"), [
    ({"loss": "ce", "epochs": 5, "lr": 0.1}, "pretrain epochs"), ({"loss": "ce", "epochs": 0, "lr": 0.1}, "pretrain epochs"),
    ({"loss": "scalar", "epochs": 1, "lr": 0.1}, "K outputs"), ({"loss": "ce", "epochs": 1, "lr": -1}, "pretrain lr"),
    ({"loss": "ce", "epochs": 1, "lr": 0.1, "rate": 1}, "unknown pretrain key"),
])
def test_bad_pretraining_is_refused_naming_the_value(pretrain_option, named) -> None:
    from outlayer.data import load_dataset
    from outlayer.experiments import train_run

    with pytest.raises(ValueError, match=named):
        train_run(load_dataset("iris"), "mse", init="gentle", lr=0.1, epochs=5, pretrain=pretrain_option)


def test_pretrain_result_pairs_the_three_arms_by_seed(quick_results) -> None:
    result = _no_nan(quick_results["pretrain"])
    entry = result["losses"]["mse"]
    assert set(entry["arms"]) == set(pretrain.ARMS)
    for key, paired in entry["paired"].items():
        a, b = key.split(" - ")
        acc = paired["test_accuracy"]
        assert acc["seeds"] == result["setup"]["seeds"]
        assert acc["mean"] == pytest.approx(entry["arms"][a]["test_accuracy"]["mean"] - entry["arms"][b]["test_accuracy"]["mean"])


def test_pretrain_from_a_baseline_equals_training_every_arm() -> None:
    from outlayer.experiments import compare

    config = pretrain.PretrainConfig(seeds=2, epochs=3, pretrain_epochs=1, dataset="iris")
    baseline = compare("iris", ("ce", "mse", "mse-logits"), init="gentle", seeds=2, epochs=3)
    assert pretrain.run(config, baseline=baseline) == pretrain.run(config)


def test_pretrain_refuses_a_baseline_with_other_settings() -> None:
    from outlayer.experiments import compare

    config = pretrain.PretrainConfig(seeds=2, epochs=3, pretrain_epochs=1, dataset="iris")
    other = compare("iris", ("ce", "mse"), init="gentle", seeds=2, epochs=2)
    with pytest.raises(ValueError, match="epochs"):
        pretrain.run(config, baseline=other)
    with pytest.raises(ValueError, match="optimizer"):
        pretrain.run(pretrain.PretrainConfig(seeds=2, epochs=3, pretrain_epochs=1, dataset="iris", optimizer="adam"),
                     baseline=compare("iris", ("ce", "mse"), init="gentle", seeds=2, epochs=3, optimizer="adam"))


# ------------------------------------------------------------------------------ many classes
def test_many_class_task_is_seeded_stratified_and_has_100_classes() -> None:
    a, b = many_classes.many_class_dataset(seed=3), many_classes.many_class_dataset(seed=3)
    assert a.n_classes == 100 and np.array_equal(a.X_train, b.X_train)
    counts = np.bincount(a.y_train, minlength=100)
    assert counts.min() == counts.max()  # every class equally often in training
    assert not np.array_equal(a.X_train, many_classes.many_class_dataset(seed=4).X_train)


def test_many_classes_rows_carry_k_and_m_and_pair_each_rescaling_with_the_plain_loss(quick_results) -> None:
    result = _no_nan(quick_results["many_classes"])
    by_variant = {row["variant"]: row for row in result["rows"]}
    assert (by_variant["mse-logits k=15 M=30"]["k"], by_variant["mse-logits k=15 M=30"]["M"]) == (15.0, 30.0)
    assert (by_variant["mse-logits"]["k"], by_variant["mse-logits"]["M"]) == (1.0, 1.0)
    assert "mse-logits k=15 M=30 - mse-logits" in result["paired"]["sgd"]
    assert "mse-logits k=15 M=30 - ce" in result["paired"]["sgd"]
    assert result["setup"]["chance"] == pytest.approx(0.01)


# ------------------------------------------------------------------------------------ priors
def test_imbalanced_digits_keep_fewer_samples_of_each_later_class() -> None:
    data = priors.imbalanced_digits(0.05, 0, 0)
    counts = np.bincount(data.y_train, minlength=10)
    assert all(a >= b for a, b in zip(counts, counts[1:])) and counts[-1] >= 1
    assert counts[-1] / counts[0] == pytest.approx(0.05, abs=0.03)


def test_mse_lingers_at_the_class_priors_longer_than_ce(lab_experiment_runs) -> None:
    result = _no_nan(lab_experiment_runs["priors"])
    assert result["setup"]["rates_source"].startswith("tuned")
    paired = result["paired_mse_minus_ce"]["steps_at_prior_total"]
    assert paired["t_ci95"][0] > 0, paired
    ce, mse = (result["losses"][loss]["summary"] for loss in ("ce", "mse"))
    rare = int(np.argmin(result["setup"]["prior_mean"]))
    assert mse["steps_at_prior"][rare]["mean"] > ce["steps_at_prior"][rare]["mean"]


def test_gradient_at_the_priors_is_proportional_to_the_prior_under_mse_and_prior_minus_1_under_ce() -> None:
    prior = np.array([0.5, 0.3, 0.15, 0.05])
    g = priors.gradient_at_prior(prior)
    np.testing.assert_allclose(g["ce"], prior - 1, rtol=1e-12)
    np.testing.assert_allclose(g["mse"], 2 * prior * (2 * prior - 1 - np.sum(prior**2)), rtol=1e-12)


def test_priors_steps_at_prior_follow_the_definition(quick_results) -> None:
    result = quick_results["priors"]
    curves = result["losses"]["mse"]["curves"]["own_output"]
    assert len(curves) == 10 and len(curves[0]) == result["setup"]["steps_total"]
    for run in result["losses"]["mse"]["runs"]:
        assert 0 <= run["steps_at_prior_total"] <= 10 * result["setup"]["steps_total"]


# ------------------------------------------------------------------------------- the figures
@pytest.fixture(scope="module")
def drawn(quick_results) -> dict:
    """Every panel of every experiment's figure, by "figure/panel"."""
    from outlayer.neuron import run as run_neuron
    from outlayer.plots import calibration as c
    from outlayer.plots import many_classes as m
    from outlayer.plots import neuron as neuron_plots
    from outlayer.plots import pretrain as p
    from outlayer.plots import priors as pr
    from outlayer.plots import sweep as s

    figures = {"sweep": s.accuracy_figure(quick_results["sweep"]),
               "reliability": c.reliability_figure(quick_results["calibration"]),
               "ece": c.ece_figure(quick_results["calibration"]), "pretrain": p.accuracy_figure(quick_results["pretrain"]),
               "many-classes": m.accuracy_figure(quick_results["many_classes"]),
               "priors": pr.outputs_figure(quick_results["priors"]),
               "neuron": neuron_plots.page_panels(run_neuron())}
    return {f"{name}/{panel}": fig for name, panels in figures.items() for panel, fig in panels.items()}


def test_every_experiment_figure_follows_the_figure_conventions(drawn) -> None:
    """outlayer.plots' checker: nothing cut off or overlapping, no text under 10 pt or in mathtext, no legend over
    data, no annotation in a data colour; one phone-sized panel per file."""
    from outlayer.plots import PANEL_WIDTH
    from outlayer.plots._layout import layout_problems

    assert len(drawn) >= 16
    problems = {name: layout_problems(fig) for name, fig in drawn.items()}
    assert {name: found for name, found in problems.items() if found} == {}
    assert {name: fig.get_figwidth() for name, fig in drawn.items() if fig.get_figwidth() > PANEL_WIDTH + 1e-9} == {}


def test_experiment_figure_labels_are_language_neutral(drawn) -> None:
    import re

    from outlayer.plots import FIGURE_NAMES
    from outlayer.plots._layout import drawn_texts
    from test_figures import ALLOWED_WORDS

    allowed = ALLOWED_WORDS | {name.lower() for name in FIGURE_NAMES.values()} | {"mse(z)"}
    for name, fig in drawn.items():
        words = {w.lower() for artist, *_ in drawn_texts(fig)[0] for w in re.findall(r"[A-Za-z]{2,}", artist.get_text())}
        assert words <= allowed, (name, sorted(words - allowed))


def test_reliability_panels_show_the_bin_counts(drawn) -> None:
    panel = drawn["reliability/gentle-sgd-ce"]
    counts = panel.axes[1]
    assert counts.get_yscale() == "log" and len(counts.patches) == 15  # one bar per confidence bin


def test_experiments_write_png_and_svg_and_their_json(tmp_path) -> None:
    result = priors.run(priors.PriorsConfig(seeds=1, epochs=1), out_dir=tmp_path)
    for panel in ("ce-mean", "ce-own", "mse-mean", "mse-own"):  # one file per panel, in both formats
        assert (tmp_path / f"priors_outputs-{panel}.png").is_file() and (tmp_path / f"priors_outputs-{panel}.svg").is_file()
    assert json.loads((tmp_path / "priors.json").read_text()) == result


# ---------------------------------------------------------------------------- the commands
@pytest.mark.parametrize(("argv", "named"), [
    (["sweep", "--logit-std", "0"], "positive"), (["sweep", "--logit-std", "1", "1"], "distinct"),
    (["sweep", "--losses", "scalar"], "invalid choice"), (["sweep", "--optimizer", "rmsprop"], "invalid choice"),
    (["sweep", "--seeds", "0"], "positive integer"), (["sweep", "--lr", "1", "--tune-lr"], "exclude"),
    (["sweep", "--dataset", "nope"], "unknown dataset"),
    (["calibration", "--losses", "foo"], "invalid choice"), (["calibration", "--noise-resamples", "5"], "noise_resamples"),
    (["many-classes", "--classes", "1"], "n_classes"), (["many-classes", "--variants", "mse"], "invalid choice"),
    (["priors", "--ratio", "0"], "positive"), (["priors", "--ratio", "1.5"], "ratio"),
    (["priors", "--tolerance", "1"], "tolerance"),
    (["compare", "--pretrain", "ce"], "LOSS:EPOCHS"), (["compare", "--pretrain", "zz:3"], "unknown pretraining loss"),
    (["compare", "--pretrain", "ce:20"], "fewer than"), (["compare", "--pretrain", "ce:5", "--losses", "ce"], "continue"),
    (["compare", "--pretrain", "ce:5", "--lr", "1", "2"], "one --lr"),
    (["compare", "--pretrain", "ce:5", "--losses", "scalar"], "unknown loss"),
    (["sweep", "--out", "/dev/null"], "not a folder"), (["sweep", "--seeds", "1000000000000"], "at most"),
    (["priors", "--epochs", "1000000000000"], "at most"), (["compare", "--pretrain", "ce:2", "--hidden", "8"], "--hidden"),
])
def test_bad_experiment_options_give_one_line_and_exit_2(argv, named, capsys) -> None:
    from outlayer.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert named in err, err


def test_priors_command_prints_its_json(capsys) -> None:
    from outlayer.cli import main

    assert main(["priors", "--seeds", "1", "--epochs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["experiment"] == "class-priors"


def test_compare_pretrain_command_prints_the_three_arms(capsys) -> None:
    from outlayer.cli import main

    assert main(["compare", "--pretrain", "ce:1", "--epochs", "2", "--seeds", "2", "--dataset", "iris",
                 "--init", "gentle"]) == 0
    out = capsys.readouterr().out
    assert "ce then mse" in out and "mse from scratch" in out and "pretrained - scratch" in out


# ----------------------------------------------------------------------------- the README
def test_readme_experiment_tables_are_what_their_commands_compute_today(lab_experiment_runs) -> None:
    from pathlib import Path

    from outlayer.lab import tables

    readme = tables.read_blocks((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8"))
    assert set(readme) == set(tables.README_RUNS)
    for name, block in tables.blocks(lab_experiment_runs).items():
        assert readme[name] == block, (
            f"README's '{name}' experiment table is stale: run PYTHONPATH=src python benchmarks/bench_lab.py readme --write")


def test_readme_experiment_commands_are_the_library_calls_they_name() -> None:
    """Each README command, parsed by the real command line, builds the config its table was computed with."""
    import argparse
    import importlib
    import shlex
    from unittest import mock

    from outlayer.cli import COMMANDS
    from outlayer.lab import tables

    for name, (command, call) in tables.README_RUNS.items():
        argv = shlex.split(command)[1:]
        parser = argparse.ArgumentParser()
        module = importlib.import_module(COMMANDS[argv[0]][0])
        module.configure(parser)
        args = parser.parse_args(argv[1:])
        lab = {"sweep": sweep, "calibration": calibration, "compare": pretrain, "many-classes": many_classes,
               "priors": priors}[argv[0]]
        seen: dict = {}

        def capture(key: str, seen: dict = seen):  # bound now: each loop pass has its own seen
            def run(config, **_):
                seen[key] = config
                raise _Captured

            return run

        with mock.patch.object(lab, "run", side_effect=capture("cli")), pytest.raises(_Captured):
            module.run(args)
        with mock.patch.object(lab, "run", side_effect=capture("call")), pytest.raises(_Captured):
            call()
        assert seen["cli"] == seen["call"], name


class _Captured(Exception):
    """Raised by a stand-in for an experiment's run(): the config is all the test wants."""
