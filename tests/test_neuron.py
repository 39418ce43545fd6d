"""Nielsen's single neuron (:mod:`outlayer.neuron`): the maths, the measured claims, the config and the figures."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import numpy as np
import pytest

from outlayer import sigmoid
from outlayer.neuron import (
    CLOSED_FORMS,
    COSTS,
    NeuronConfig,
    cost_with_grad,
    cross_entropy_cost_with_grad,
    epochs_to_output_below,
    gradient_curve,
    quadratic_cost_with_grad,
    run,
    simulate,
)

# (w, b, x, y) points: Nielsen's starts, the saturated corners, soft targets, a negative input
POINTS = [
    (0.6, 0.9, 1.0, 0.0), (2.0, 2.0, 1.0, 0.0), (-3.0, 1.0, 1.0, 0.0), (5.0, 3.0, 1.0, 0.0),
    (0.6, 0.9, 1.0, 1.0), (2.0, -1.0, -0.5, 0.3), (-1.2, 0.4, 2.5, 0.75), (0.0, 0.0, 1.0, 0.5),
]


@pytest.fixture(scope="module")
def default_result() -> dict:
    return run()


def _find(result: dict, cost: str, start: tuple[float, float], setting: str) -> dict:
    matches = [r for r in result["runs"]
               if r["cost"] == cost and (r["w0"], r["b0"]) == start and setting in r["rate_settings"]]
    assert len(matches) == 1, matches
    return matches[0]


# ----------------------------------------------------------------------------------- the maths
def _reference_cost(cost: str, w: float, b: float, x: float, y: float) -> float:
    """The costs straight from their definitions, in float64 (the test's own oracle)."""
    a = 1.0 / (1.0 + math.exp(-(w * x + b)))
    if cost == "quadratic":
        return (y - a) ** 2 / 2.0
    return -(y * math.log(a) + (1.0 - y) * math.log(1.0 - a))


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize(("w", "b", "x", "y"), POINTS)
def test_cost_equals_its_definition(cost, w, b, x, y):
    value = float(cost_with_grad(cost, w, b, x, y)["cost"])
    assert value == pytest.approx(_reference_cost(cost, w, b, x, y), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize(("w", "b", "x", "y"), POINTS)
def test_closed_form_gradients_equal_central_finite_differences(cost, w, b, x, y):
    at = cost_with_grad(cost, w, b, x, y)
    h = 1e-6
    for name, (dw, db) in (("dC/dw", (h, 0.0)), ("dC/db", (0.0, h))):
        plus = float(cost_with_grad(cost, w + dw, b + db, x, y)["cost"])
        minus = float(cost_with_grad(cost, w - dw, b - db, x, y)["cost"])
        numeric = (plus - minus) / (2 * h)
        assert float(at[name]) == pytest.approx(numeric, rel=1e-6, abs=1e-9), name


@pytest.mark.parametrize("cost", COSTS)
def test_closed_form_gradients_equal_torch_autograd(cost):
    torch = pytest.importorskip("torch")
    for w, b, x, y in POINTS:
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        a = torch.sigmoid(wt * x + bt)
        if cost == "quadratic":
            value = (y - a) ** 2 / 2
        else:
            value = torch.nn.functional.binary_cross_entropy(a, torch.tensor(y, dtype=torch.float64))
        value.backward()
        at = cost_with_grad(cost, w, b, x, y)
        assert float(at["cost"]) == pytest.approx(value.item(), rel=1e-10, abs=1e-14)
        assert float(at["dC/dw"]) == pytest.approx(wt.grad.item(), rel=1e-10, abs=1e-14)
        assert float(at["dC/db"]) == pytest.approx(bt.grad.item(), rel=1e-10, abs=1e-14)


def test_quadratic_gradient_equals_its_closed_form_a_minus_y_times_sigma_prime():
    z = np.linspace(-12.0, 12.0, 241)
    for y in (0.0, 1.0, 0.3):
        a = 1.0 / (1.0 + np.exp(-z))
        _, grad = quadratic_cost_with_grad(z, y)
        np.testing.assert_allclose(grad, (a - y) * a * (1.0 - a), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("y", [0.0, 1.0])
def test_cross_entropy_gradient_is_exactly_a_minus_y_with_no_sigma_prime_factor(y):
    z = np.linspace(-30.0, 30.0, 601)
    _, grad = cross_entropy_cost_with_grad(z, y)
    np.testing.assert_array_equal(grad, np.asarray(sigmoid(z)) - y)


def test_cross_entropy_gradient_is_a_minus_y_for_soft_targets():
    z = np.linspace(-20.0, 20.0, 401)
    for y in (0.25, 0.5, 0.9):
        _, grad = cross_entropy_cost_with_grad(z, y)
        np.testing.assert_allclose(grad, np.asarray(sigmoid(z)) - y, rtol=0, atol=4e-16)


def test_ratio_of_quadratic_to_cross_entropy_gradient_is_sigma_prime():
    z = np.linspace(-15.0, 15.0, 301)
    z = z[z != 0.0]
    a = np.asarray(sigmoid(z))
    for y in (0.0, 1.0):
        ratio = quadratic_cost_with_grad(z, y)[1] / cross_entropy_cost_with_grad(z, y)[1]
        np.testing.assert_allclose(ratio, a * (1.0 - a), rtol=1e-9)


def test_quadratic_gradient_vanishes_when_badly_wrong_while_cross_entropy_stays_near_one():
    # a -> 1 with target 0: as wrong as the neuron can be
    for z in (4.0, 8.0, 12.0):
        quadratic = float(quadratic_cost_with_grad(z, 0.0)[1])
        cross_entropy = float(cross_entropy_cost_with_grad(z, 0.0)[1])
        assert cross_entropy > 0.98
        assert quadratic < 0.02 * cross_entropy


def test_chain_rule_scales_the_weight_gradient_by_the_input():
    for cost in COSTS:
        at = cost_with_grad(cost, 0.7, -0.2, 3.0, 0.0)
        assert float(at["dC/dw"]) == 3.0 * float(at["dC/dz"])
        assert float(at["dC/db"]) == float(at["dC/dz"])


def test_gradient_curve_holds_both_closed_forms_over_the_unit_interval():
    curve = gradient_curve(NeuronConfig(gradient_points=99))
    a = np.asarray(curve["a"])
    assert a.size == 99 and 0.0 < a.min() and a.max() < 1.0 and np.all(np.diff(a) > 0)
    np.testing.assert_allclose(curve["dC/dw"]["cross-entropy"], a, rtol=1e-12)
    np.testing.assert_allclose(curve["dC/dw"]["quadratic"], a * a * (1.0 - a), rtol=1e-9)
    np.testing.assert_allclose(curve["ratio_quadratic_to_cross_entropy"], a * (1.0 - a), rtol=1e-9)


# ------------------------------------------------------------------------------ the training
def test_training_matches_torch_autograd_and_torch_optim_sgd_step_for_step(default_result):
    torch = pytest.importorskip("torch")
    for entry in default_result["runs"]:
        w = torch.tensor(entry["w0"], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(entry["b0"], dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([w, b], lr=entry["lr"])
        outputs = []
        for t in range(entry["epochs"] + 1):
            a = torch.sigmoid(w * 1.0 + b)
            outputs.append(a.item())
            if t == entry["epochs"]:
                break
            cost = a**2 / 2 if entry["cost"] == "quadratic" else -torch.log1p(-a)
            optimizer.zero_grad()
            cost.backward()
            optimizer.step()
        np.testing.assert_allclose(entry["output"], outputs, rtol=1e-9, atol=1e-12)


def test_output_has_epochs_plus_one_entries_starting_at_the_start(default_result):
    for entry in default_result["runs"]:
        assert len(entry["output"]) == len(entry["cost_per_epoch"]) == entry["epochs"] + 1 == 301
        assert entry["output"][0] == pytest.approx(1.0 / (1.0 + math.exp(-(entry["w0"] + entry["b0"]))), rel=1e-15)


def test_a_run_shared_by_both_rate_settings_is_run_once(default_result):
    runs = default_result["runs"]
    keys = [(r["cost"], r["w0"], r["b0"], r["lr"]) for r in runs]
    assert len(keys) == len(set(keys)) == 6
    assert _find(default_result, "quadratic", (2.0, 2.0), "nielsen") is _find(default_result, "quadratic", (2.0, 2.0),
                                                                              "equal")
    assert _find(default_result, "cross-entropy", (2.0, 2.0), "nielsen")["lr"] == 0.005


def test_epochs_to_output_below_is_the_first_epoch_strictly_below():
    assert epochs_to_output_below([0.9, 0.6, 0.5, 0.49, 0.3], 0.5) == 3
    assert epochs_to_output_below([0.4, 0.6], 0.5) == 0
    assert epochs_to_output_below([0.9, 0.8], 0.5) is None


def test_quadratic_takes_at_least_5x_the_epochs_of_cross_entropy_to_reach_a_below_half_from_2_2_at_equal_rate(
        default_result):
    quadratic = _find(default_result, "quadratic", (2.0, 2.0), "equal")["epochs_to_output_below"]["0.5"]
    cross_entropy = _find(default_result, "cross-entropy", (2.0, 2.0), "equal")["epochs_to_output_below"]["0.5"]
    assert quadratic is not None and cross_entropy is not None
    assert quadratic >= 5 * cross_entropy
    row = next(e for e in default_result["equal_rate"] if (e["w0"], e["b0"]) == (2.0, 2.0))
    assert row["epochs_to_output_below"]["0.5"] == {
        "quadratic": quadratic, "cross-entropy": cross_entropy,
        "ratio_quadratic_to_cross_entropy": quadratic / cross_entropy}


def test_the_slowdown_is_worse_from_the_more_wrong_start_at_equal_rate(default_result):
    ratios = {(e["w0"], e["b0"]): e["epochs_to_output_below"]["0.5"]["ratio_quadratic_to_cross_entropy"]
              for e in default_result["equal_rate"]}
    assert ratios[(2.0, 2.0)] > 2 * ratios[(0.6, 0.9)]


def test_starting_outputs_are_nielsens_0_82_and_0_98(default_result):
    outputs = {(s["w0"], s["b0"]): s["output"] for s in default_result["starts"]}
    assert round(outputs[(0.6, 0.9)], 2) == 0.82
    assert round(outputs[(2.0, 2.0)], 2) == 0.98


def test_quadratic_from_0_6_0_9_ends_near_0_09_after_300_epochs_as_published(default_result):
    assert round(_find(default_result, "quadratic", (0.6, 0.9), "nielsen")["final"]["output"], 2) == 0.09


def test_quadratic_from_2_2_barely_moves_for_the_first_150_epochs(default_result):
    output = _find(default_result, "quadratic", (2.0, 2.0), "nielsen")["output"]
    assert output[150] > 0.9 and output[0] - output[150] < 0.06
    assert output[300] < 0.25  # then learning kicks in


def test_cross_entropy_learns_fastest_at_the_start_and_quadratic_from_2_2_only_after_150_epochs(default_result):
    for entry in default_result["runs"]:
        if entry["cost"] == "cross-entropy":
            assert entry["steepest_epoch"] == 1
    assert _find(default_result, "quadratic", (2.0, 2.0), "nielsen")["steepest_epoch"] > 150


def test_run_is_deterministic_json_and_figures_byte_for_byte(tmp_path):
    config = NeuronConfig(epochs=40, gradient_points=21)
    first = run(config, out_dir=tmp_path / "one")
    second = run(config, out_dir=tmp_path / "two")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    for name in first["figures"].values():
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_result_json_has_no_nan_or_infinity_even_where_a_ratio_is_undefined():
    # y = 0.5 puts a = y on the 3-point grid: cross-entropy's gradient is 0 there, the ratio is null
    result = run(NeuronConfig(y=0.5, gradient_points=3, epochs=5))
    text = json.dumps(result, allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
    assert result["gradient_curve"]["ratio_quadratic_to_cross_entropy"][1] is None


def test_result_carries_the_config_the_closed_forms_and_the_source(default_result):
    assert default_result["config"] == json.loads(json.dumps(asdict(NeuronConfig())))
    assert default_result == json.loads(json.dumps(default_result))  # a saved JSON file redraws the same figures
    assert default_result["closed_forms"] == CLOSED_FORMS
    assert CLOSED_FORMS["quadratic"]["dC/dw"] == "(a - y) a (1 - a) x"
    assert CLOSED_FORMS["cross-entropy"]["dC/dw"] == "(a - y) x"
    assert default_result["source"]["url"].startswith("http://neuralnetworksanddeeplearning.com/chap3")


def test_extreme_allowed_settings_stay_finite():
    config = NeuronConfig(starts=((1e6, -1e6), (-1e6, 1e6)), x=1e3, equal_lr=100.0, quadratic_lr=100.0,
                          cross_entropy_lr=100.0, epochs=50)
    result = run(config)
    json.dumps(result, allow_nan=False)
    for entry in result["runs"]:
        values = entry["output"] + entry["cost_per_epoch"] + list(entry["final"].values())
        assert all(isinstance(v, float) and math.isfinite(v) for v in values)


# -------------------------------------------------------------------------------- the config
@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"epochs": 0}, "0"),
        ({"epochs": NeuronConfig.MAX_EPOCHS + 1}, str(NeuronConfig.MAX_EPOCHS)),
        ({"epochs": 10**12}, str(10**12)),
        ({"epochs": 2.5}, "2.5"),
        ({"epochs": True}, "True"),
        ({"equal_lr": -0.15}, "-0.15"),
        ({"quadratic_lr": 0.0}, "0.0"),
        ({"cross_entropy_lr": math.inf}, "inf"),
        ({"equal_lr": math.nan}, "nan"),
        ({"equal_lr": 1000.0}, "1000.0"),
        ({"starts": ((math.nan, 0.0),)}, "nan"),
        ({"starts": ((0.0, -math.inf),)}, "-inf"),
        ({"starts": ((1e7, 0.0),)}, "10000000.0"),
        ({"starts": ((1.0, 2.0, 3.0),)}, "(1.0, 2.0, 3.0)"),
        ({"starts": ()}, "0"),
        ({"starts": ((1.0, 1.0), (1.0, 1.0))}, "(1.0, 1.0)"),
        ({"x": math.inf}, "inf"),
        ({"y": 1.5}, "1.5"),
        ({"thresholds": (0.5, 1.0)}, "1.0"),
        ({"thresholds": (0.5, 0.5)}, "0.5"),
        ({"costs": ("hinge",)}, "hinge"),
        ({"costs": ()}, "()"),
        ({"rate_settings": ("fast",)}, "fast"),
        ({"gradient_points": 2}, "2"),
    ],
)
def test_bad_config_raises_one_line_value_error_naming_the_value(options, named):
    with pytest.raises(ValueError) as error:
        NeuronConfig(**options)
    message = str(error.value)
    assert named in message and "\n" not in message


def test_huge_epochs_are_refused_before_any_training(monkeypatch):
    from outlayer import neuron

    monkeypatch.setattr(neuron, "simulate", lambda config: pytest.fail("trained despite a bad config"))
    with pytest.raises(ValueError, match="epochs must lie in"):
        neuron.run(NeuronConfig(epochs=10**9))


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_bad_out_dir_is_refused_before_any_training(tmp_path, monkeypatch, where):
    from outlayer import neuron

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker if where == "file" else blocker / "figures"
    monkeypatch.setattr(neuron, "simulate", lambda config: pytest.fail("trained despite a bad --out"))
    with pytest.raises(ValueError, match="not a folder"):
        neuron.run(out_dir=out)


def test_costs_and_settings_are_kept_in_display_order():
    config = NeuronConfig(costs=("cross-entropy", "quadratic"), rate_settings=("equal", "nielsen"))
    assert config.costs == COSTS and config.rate_settings == ("nielsen", "equal")


def test_simulate_runs_one_cost_alone():
    runs = simulate(NeuronConfig(costs=("cross-entropy",), rate_settings=("equal",), epochs=10))
    assert [r.cost_name for r in runs] == ["cross-entropy", "cross-entropy"]
    assert all(r.output.shape == (11,) for r in runs)


# ------------------------------------------------------------------------------- the figures
def _figures(result):
    from outlayer.plots import neuron as figures

    return [figures.learning_figure(result), figures.gradient_figure(result)]


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_every_figure_text_is_at_least_10px_when_shown_700px_wide(default_result):
    for fig in _figures(default_result):
        width_in = fig.get_figwidth()
        for text in _texts(fig):
            pixels = text.get_fontsize() * 700.0 / (72.0 * width_in)
            assert pixels >= 10.0, (text.get_text(), text.get_fontsize())


def test_no_legend_lies_over_any_axes(default_result):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for fig in _figures(default_result):
        FigureCanvasAgg(fig)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for ax in fig.axes:
                if ax.axison:
                    assert not box.overlaps(ax.get_window_extent(renderer)), legend


def test_annotation_colours_differ_from_data_colours(default_result):
    from matplotlib.colors import to_hex

    for fig in _figures(default_result):
        data = {to_hex(line.get_color()) for ax in fig.axes for line in ax.get_lines()
                if line.get_linestyle() in ("-", "--") and len(line.get_xdata()) > 2}
        assert data, "no data lines found"
        for text in _texts(fig):
            assert to_hex(text.get_color()) not in data, text.get_text()


def test_figures_state_the_closed_forms_beside_the_curves(default_result):
    learning, gradient = _figures(default_result)
    learning_text = " ".join(t.get_text() for t in _texts(learning))
    gradient_text = " ".join(t.get_text() for t in _texts(gradient))
    for form in (CLOSED_FORMS["quadratic"]["dC/dw"], CLOSED_FORMS["cross-entropy"]["dC/dw"]):
        assert form in learning_text and form in gradient_text
    assert CLOSED_FORMS["sigma_prime"] in gradient_text
    assert "232" in learning_text and "17" in learning_text  # the measured epochs sit beside the curves


def test_learning_figure_has_one_output_and_one_cost_panel_per_start():
    result = run(NeuronConfig(starts=((0.6, 0.9), (2.0, 2.0), (-1.0, 3.0)), epochs=30))
    fig = _figures(result)[0]
    titled = [ax for ax in fig.axes if ax.get_title().startswith("start (w, b)")]
    assert len(titled) == 3
    log_panels = [ax for ax in fig.axes if ax.axison and ax.get_yscale() == "log"]
    assert len(log_panels) == 3
