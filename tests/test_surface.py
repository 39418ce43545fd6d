"""outlayer.surface: error surfaces, gradients and descent paths, checked against closed forms,
finite differences, PyTorch and the lecture's claim that GD leaves the corner with CE, not MSE."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from outlayer import surface
from outlayer.losses import LOSS_NAMES
from outlayer.surface import LECTURE_PLANE, LogitPlane

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def lecture() -> dict:
    """``surface.run()`` with every default (the lecture's setting), computed once."""
    return surface.run()


# ------------------------------------------------------------------------------ closed forms


def test_lecture_grid_matches_the_y3_to_minus_infinity_closed_forms_at_sampled_points():
    """y3 = -inf: p1 = sigmoid(y1 - y2), MSE = 2 (1 - p1)^2, CE = log(1 + e^(y2 - y1))."""
    ce = surface.evaluate_grid("ce", resolution=101)
    mse = surface.evaluate_grid("mse", resolution=101)
    rng = np.random.default_rng(3)
    rows, cols = rng.integers(0, 101, size=(2, 200))
    y1, y2 = ce.axis[cols], ce.axis[rows]
    p1 = expit(y1 - y2)
    np.testing.assert_allclose(ce.p_target[rows, cols], p1, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ce.loss[rows, cols], np.logaddexp(0.0, y2 - y1), rtol=1e-12, atol=1e-15)
    one_minus_p1 = expit(y2 - y1)  # 1 - p1 without cancellation
    np.testing.assert_allclose(mse.loss[rows, cols], 2 * one_minus_p1**2, rtol=1e-9, atol=1e-15)


def test_grid_orientation_rows_are_the_second_swept_logit():
    grid = surface.evaluate_grid("ce", resolution=5)
    # column 0 is y1 = -10, row 4 is y2 = +10: the wrong-but-confident corner, CE = log(1 + e^20)
    assert grid.loss[4, 0] == pytest.approx(np.logaddexp(0.0, 20.0), rel=1e-12)
    assert grid.loss[0, 4] == pytest.approx(np.logaddexp(0.0, -20.0), rel=1e-12)


def test_loss_vs_probability_follows_minus_log_p_for_ce_and_2_one_minus_p_squared_for_mse():
    ce = surface.loss_vs_probability("ce")
    mse = surface.loss_vs_probability("mse")
    np.testing.assert_allclose(ce.p_target, expit(ce.margin), rtol=1e-12)
    np.testing.assert_allclose(ce.loss, np.logaddexp(0.0, -ce.margin), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(mse.loss, 2 * expit(-mse.margin) ** 2, rtol=1e-9, atol=1e-15)
    # dCE/dy1 = p1 - 1 and dMSE/dy1 = -4 p1 (1 - p1)^2 in the two-way limit
    np.testing.assert_allclose(ce.grad_target, -expit(-ce.margin), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(mse.grad_target, -4 * expit(mse.margin) * expit(-mse.margin) ** 2,
                               rtol=1e-6, atol=1e-15)


def test_ce_gradient_stays_near_one_when_wrong_while_mse_gradient_vanishes():
    ce = surface.loss_vs_probability("ce")
    mse = surface.loss_vs_probability("mse")
    wrong = ce.p_target < 1e-6
    assert np.all(np.abs(ce.grad_target[wrong]) > 0.99)
    assert np.all(np.abs(mse.grad_target[wrong]) < 4e-6)


# ------------------------------------------------------------------------------ gradients


def _central_differences(loss: str, plane: LogitPlane, u: np.ndarray, v: np.ndarray, h: float) -> np.ndarray:
    du = (surface.evaluate(loss, u + h, v, plane).loss - surface.evaluate(loss, u - h, v, plane).loss) / (2 * h)
    dv = (surface.evaluate(loss, u, v + h, plane).loss - surface.evaluate(loss, u, v - h, plane).loss) / (2 * h)
    return np.stack([du, dv], axis=-1)


PLANES = {
    "lecture": LECTURE_PLANE,
    "k5_target_swept_second": LogitPlane(num_classes=5, target=3, swept=(1, 3), fixed=(0.5, -2.0, 1.0)),
    "k4_target_not_swept": LogitPlane(num_classes=4, target=2, swept=(0, 3), fixed=(0.0, 1.5)),
}


@pytest.mark.parametrize("plane_name", sorted(PLANES))
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_grid_gradient_matches_finite_differences(loss, plane_name):
    plane = PLANES[plane_name]
    grid = surface.evaluate_grid(loss, plane, limits=(-6.0, 6.0), resolution=25)
    uu, vv = np.meshgrid(grid.axis, grid.axis)
    h = 1e-5
    numeric = _central_differences(loss, plane, uu, vv, h)
    # rounding in the loss itself (MSE on logits is ~1e6 here) limits what differences can resolve
    tolerance = 1e-6 + 50 * np.finfo(float).eps * np.abs(grid.loss)[..., None] / h
    assert np.all(np.abs(grid.grad - numeric) <= tolerance + 1e-5 * np.abs(numeric))


@settings(max_examples=40, deadline=None)
@given(u=st.floats(-12, 12), v=st.floats(-12, 12))
def test_swept_gradients_match_torch_autograd_on_the_full_logit_vector(u, v):
    plane = PLANES["k5_target_swept_second"]
    logits = torch.tensor(plane.logits(u, v), requires_grad=True)
    target = torch.tensor(plane.target)
    probs = torch.softmax(logits, dim=-1)
    p_target = probs[plane.target].item()
    one_hot = torch.nn.functional.one_hot(target, plane.num_classes).double()
    references = {
        "ce": torch.nn.functional.cross_entropy(logits[None], target[None]),
        "mse": torch.sum((probs - one_hot) ** 2),
        "mse-logits": torch.sum((logits - one_hot) ** 2),
        "ce-smooth": torch.nn.functional.cross_entropy(logits[None], target[None], label_smoothing=0.1),
    }
    for name, reference in references.items():
        (grad,) = torch.autograd.grad(reference, logits)
        ours = surface.evaluate(name, u, v, plane)
        # the square loss on logits reports its fixed classes' terms apart, as a constant
        assert float(ours.loss) + ours.constant == pytest.approx(reference.item(), rel=1e-10, abs=1e-12)
        expected = grad.numpy()[list(plane.swept)]
        np.testing.assert_allclose(ours.grad, expected, rtol=1e-8, atol=1e-12)
        assert float(ours.p_target) == pytest.approx(p_target, rel=1e-12, abs=1e-300)


def test_plane_places_swept_and_fixed_logits_where_asked():
    plane = LogitPlane(num_classes=5, target=4, swept=(4, 0), fixed=(7.0, 8.0, 9.0))
    np.testing.assert_array_equal(plane.logits(1.0, 2.0), [2.0, 7.0, 8.0, 9.0, 1.0])
    assert LogitPlane(num_classes=4, fixed=-3.0).logits(0.0, 0.0).tolist() == [0.0, 0.0, -3.0, -3.0]


def test_wrong_corner_puts_the_target_low_and_the_other_swept_logit_high():
    assert LECTURE_PLANE.wrong_corner((-10, 10)) == (-10, 10)
    assert LogitPlane(target=1).wrong_corner((-4, 6)) == (6, -4)
    plane = LogitPlane(num_classes=5, target=3, swept=(1, 3), fixed=0.0)
    u, v = plane.wrong_corner()
    assert float(surface.evaluate("ce", u, v, plane).p_target) < 1e-8


# ------------------------------------------------------------------------------ descent paths


def test_from_the_corner_ce_reaches_p90_and_plain_gd_mse_does_not():
    """The lecture's claim at the default budget: lr 0.5, 1000 plain-GD steps from (y1, y2) = (-10, 10)."""
    assert (surface.DEFAULT_LR, surface.DEFAULT_STEPS) == (0.5, 1000)
    ce, mse = (surface.descent_path(name, LECTURE_PLANE, (-10.0, 10.0), optimizer="sgd", lr=0.5, steps=1000)
               for name in ("ce", "mse"))
    assert ce.steps_to_goal is not None and ce.steps_to_goal <= 100
    assert ce.p_target[ce.steps_to_goal] >= 0.9 > ce.p_target[ce.steps_to_goal - 1]
    assert mse.steps_to_goal is None
    assert mse.p_target[-1] < 1e-8  # not merely slow: still at the start's p ~ 2e-9
    assert len(mse.points) == 1001 and np.all(np.diff(mse.loss) <= 0)


def test_descent_path_steps_are_the_optimizers_steps_on_the_core_gradient():
    path = surface.descent_path("ce", steps=3)
    for t in range(3):
        gradient = surface.evaluate("ce", *path.points[t]).grad
        np.testing.assert_allclose(path.points[t + 1], path.points[t] - surface.DEFAULT_LR * gradient, rtol=1e-14)


def test_batched_runs_match_separate_runs():
    runs = [("sgd", 0.5), ("momentum", 0.3), ("adam", 0.2, {"beta1": 0.8})]
    together = surface.descent_paths("mse", runs, steps=40)
    for run_spec, path in zip(runs, together):
        alone = surface.descent_path("mse", optimizer=run_spec[0], lr=run_spec[1], steps=40,
                                     optimizer_options=run_spec[2] if len(run_spec) == 3 else None)
        np.testing.assert_array_equal(path.points, alone.points)
        assert path.steps_to_goal == alone.steps_to_goal


def test_adams_first_step_is_lr_times_g_over_g_plus_eps_so_it_removes_the_gradient_scale(lecture):
    """Adam's first update is lr g / (|g| + eps) per coordinate (m_hat = g, sqrt(v_hat) = |g|).

    At CE's corner |g| ~ 1 >> eps: a full lr step. At MSE's corner |g| ~ 8e-9 < eps = 1e-8: a step
    of lr |g| / (|g| + eps) ~ 0.45 lr, still ~1e7 times plain GD's, which is why Adam leaves
    MSE's corner in tens of steps on this one-point toy.
    """
    adam = lecture["adam_vs_plateau"]["adam"]
    sgd = lecture["adam_vs_plateau"]["sgd"]
    assert sgd["steps_to_p90"]["mse"] is None and sgd["first_step_ratio_mse_ce"] < 1e-7
    for loss in ("ce", "mse"):
        first = adam["first_step_vs_gradient"][loss]
        g, eps = np.array(first["abs_grad"]), first["eps"]
        np.testing.assert_allclose(first["step_over_lr"], g / (g + eps), rtol=1e-6)
    mse_step = adam["first_step_vs_gradient"]["mse"]["step_over_lr"]
    assert 0.4 < min(mse_step) and max(mse_step) < 0.5
    assert min(adam["first_step_vs_gradient"]["ce"]["step_over_lr"]) > 0.999
    assert adam["steps_to_p90"]["mse"] is not None and adam["steps_ratio_mse_ce"] < 2


def test_a_diverging_path_is_flagged_and_stops_at_its_last_finite_point():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow is expected and must not leak as a warning
        path = surface.descent_path("mse-logits", lr=10.0, steps=1000)
    assert path.diverged and len(path.points) < 1001
    assert np.all(np.isfinite(path.points)) and np.all(np.isfinite(path.loss))


def test_paths_generalise_to_other_planes_and_targets():
    plane = LogitPlane(num_classes=5, target=3, swept=(1, 3), fixed=(0.5, -2.0, 1.0))
    ce, mse = (surface.descent_path(name, plane) for name in ("ce", "mse"))
    assert ce.points[0].tolist() == [10.0, -10.0]  # target is swept[1]: its logit starts low
    assert ce.steps_to_goal is not None and mse.steps_to_goal is None


def test_steps_to_goal_map_is_zero_past_the_goal_and_empty_in_mses_corner():
    axis, ce = surface.steps_to_goal_map("ce", resolution=5, steps=200)
    _, mse = surface.steps_to_goal_map("mse", resolution=5, steps=200)
    assert ce[0, -1] == 0 and not np.any(np.isnan(ce))  # (y1, y2) = (10, -10) starts at p ~ 1
    assert np.isnan(mse[-1, 0])  # the corner (-10, 10)
    assert axis.tolist() == [-10.0, -5.0, 0.0, 5.0, 10.0]


# ------------------------------------------------------------------------------ run()


def test_run_reports_corner_gradient_norms_and_their_ratio(lecture):
    ce, mse = lecture["losses"]["ce"], lecture["losses"]["mse"]
    assert ce["corner"]["grad_norm"] == pytest.approx(math.sqrt(2) * expit(20.0), rel=1e-9)
    p = expit(-20.0)
    assert mse["corner"]["grad_norm"] == pytest.approx(math.sqrt(2) * 4 * p * (1 - p) ** 2, rel=1e-6)
    assert lecture["corner_grad_norm_ratio_ce_mse"] == pytest.approx(
        ce["corner"]["grad_norm"] / mse["corner"]["grad_norm"])
    assert ce["center"]["loss"] == pytest.approx(math.log(2)) and mse["center"]["loss"] == pytest.approx(0.5)
    assert ce["grid_minimum"]["point"] == [10.0, -10.0]
    assert ce["optimum"]["p_target"] == 1.0 and ce["goal_reachable"]


def test_plain_gd_mse_would_need_e20_over_8_lr_steps_at_its_pace(lecture):
    """On the plateau the odds against the target (e^20 at the corner) fall by 8 lr per GD step."""
    lr = lecture["setup"]["lr"]
    extrapolated = lecture["losses"]["mse"]["paths"]["sgd"]["extrapolated_steps_to_p90"]
    assert extrapolated == pytest.approx(math.exp(20) / (8 * lr), rel=1e-3)
    assert lecture["losses"]["ce"]["paths"]["sgd"]["extrapolated_steps_to_p90"] is None  # it got there
    assert lecture["losses"]["mse-logits"]["paths"]["sgd"]["extrapolated_steps_to_p90"] is None  # settled at p=0.73
    assert lecture["lecture_claim"]["holds"]


def test_run_reports_every_registered_loss_and_optimizer(lecture):
    assert list(lecture["losses"]) == list(LOSS_NAMES)
    for entry in lecture["losses"].values():
        assert set(entry["paths"]) == {"sgd", "momentum", "adam"}
        assert entry["steps_to_p90"] == entry["paths"]["sgd"]["steps_to_p90"]


def test_default_lr_is_the_largest_swept_rate_with_monotone_plain_gd(lecture):
    sweep = lecture["lr_sweep"]
    assert sweep["largest_monotone_lr"] == surface.DEFAULT_LR == lecture["setup"]["lr"]
    assert all(counts.count(None) == 0 for counts in (sweep["steps_to_p90"]["ce"],))
    assert sweep["steps_to_p90"]["mse"] == [None] * len(sweep["lrs"])  # no rate rescues plain-GD MSE


def test_figures_label_their_axes_and_mark_the_start_corner():
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure

    from outlayer.plots import Panels
    from outlayer.plots import surface as figures

    losses = ("ce", "mse")
    grids = {name: surface.evaluate_grid(name, resolution=21) for name in losses}
    paths = {name: {"sgd": surface.descent_path(name, steps=20)} for name in losses}
    corner_losses = {name: float(surface.evaluate(name, -10.0, 10.0).loss) for name in losses}
    built = [
        figures.surfaces_3d_figure(grids, (-10.0, 10.0), corner_losses),
        figures.contour_paths_figure(grids, paths, (-10.0, 10.0)),
        figures.gradient_heatmaps_figure(grids, (-10.0, 10.0)),
    ]
    for panels in built:
        assert isinstance(panels, Panels) and list(panels) == list(losses)  # one panel per loss, in order
        for name, fig in panels.items():
            assert isinstance(fig, Figure)
            (ax,) = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
            # the page's notation: logits z, 1-based, the true class's marked (t)
            assert ax.get_xlabel() == "z₁ (t)" and ax.get_ylabel() == "z₂"
            stars = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_sizes())
                     and c.get_sizes()[0] > 100 and np.asarray(c.get_offsets()).shape == (1, 2)]
            assert stars, name  # the start corner's star
    heat = built[2]
    norms = {id(image.norm) for fig in heat.values() for ax in fig.axes for image in ax.images}
    assert len(norms) == 1  # the gradient maps share one (logarithmic) colour scale
    curves = figures.probability_curves_figure({name: surface.loss_vs_probability(name) for name in losses})
    assert list(curves) == ["loss", "gradient"] and curves["gradient"].axes[0].get_yscale() == "log"
    cut = figures.margin_cut_figure({name: surface.margin_cut(name) for name in losses},
                                    {"ce": surface.MARGIN_CLOSED_FORMS["ce"], "mse": None}, "m = z₁ − z₂")
    labels = cut["loss"].axes[0].get_legend_handles_labels()[1]
    assert labels == ["CE: " + surface.MARGIN_CLOSED_FORMS["ce"]["loss"], "MSE"]
    assert cut["loss"].axes[0].get_xlabel() == "m = z₁ − z₂"


def test_figure_functions_never_call_the_lab_or_the_core():
    """Figures receive data only: the plotting modules import nothing that computes a loss."""
    import ast
    from pathlib import Path

    import outlayer.plots

    def runtime_nodes(tree: ast.AST):  # every node except those under `if TYPE_CHECKING:` (type hints only)
        for node in ast.iter_child_nodes(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                continue
            yield node
            yield from runtime_nodes(node)

    for path in Path(outlayer.plots.__file__).parent.glob("*.py"):
        nodes = list(runtime_nodes(ast.parse(path.read_text())))
        imported = {node.module for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names}
        forbidden = {m for m in imported if m.startswith(("outlayer.surface", "outlayer.losses", "outlayer.experiments",
                                                          "outlayer.activations", "outlayer.nets"))}
        assert forbidden == set(), path.name


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"num_classes": 1}, "1"),
        ({"target": 3}, "3"),
        ({"swept": (1, 1)}, "(1, 1)"),
        ({"swept": (0, 7)}, "(0, 7)"),
        ({"fixed": (1.0, 2.0)}, "(1.0, 2.0)"),
        ({"fixed": float("nan")}, "nan"),
        ({"limits": (5, -5)}, "(5, -5)"),
        ({"resolution": 1}, "1"),
        ({"lr": 0}, "0"),
        ({"steps": -1}, "-1"),
        ({"goal": 1.5}, "1.5"),
        ({"losses": ("ce", "hinge")}, "hinge"),
        ({"optimizers": ("rmsprop",)}, "rmsprop"),
        ({"start": (0, float("inf"))}, "inf"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_options_raise_one_line_value_error_naming_the_value(options, named):
    with pytest.raises(ValueError) as info:
        surface.run(**options)
    message = str(info.value)
    assert "\n" not in message and named in message


# ------------------------------------------------------------------------------ honest goals


def test_square_loss_on_logits_cannot_reach_the_goal_on_the_lecture_plane(lecture):
    """Its optimum on the plane is (y1, y2) = (1, 0), where p1 = sigmoid(1) = 0.731 < 0.9.

    Momentum and Adam pass p >= 0.9 while overshooting; that is not reaching the goal.
    """
    entry = lecture["losses"]["mse-logits"]
    assert entry["optimum"]["point"] == pytest.approx([1.0, 0.0], abs=1e-3)
    assert entry["optimum"]["p_target"] == pytest.approx(expit(1.0), abs=1e-3)
    assert entry["goal_reachable"] is False
    assert entry["steps_to_p90"] is None and "unreachable" in entry["steps_to_p90_reason"]
    for optimizer, path in entry["paths"].items():
        assert path["steps_to_p90"] is None and path["extrapolated_steps_to_p90"] is None, optimizer
    overshooting = [path for path in entry["paths"].values() if path["first_above_goal"] is not None]
    assert overshooting and all(path["final"]["p_target"] < 0.9 for path in overshooting)
    assert lecture["lr_sweep"]["steps_to_p90"]["mse-logits"] == [None] * len(lecture["lr_sweep"]["lrs"])


@pytest.mark.parametrize(("loss", "p_optimum"), [("ce", 1.0), ("mse", 1.0), ("ce-smooth", 0.95)])
def test_the_other_losses_reach_the_goal_and_smoothing_tops_out_at_one_minus_half_eps(lecture, loss, p_optimum):
    entry = lecture["losses"][loss]
    assert entry["goal_reachable"] is True
    # with y3 = -inf the smoothed target puts eps/2 on each live class: p1 -> 1 - 0.05
    assert entry["optimum"]["p_target"] == pytest.approx(p_optimum, abs=2e-4)


def test_held_out_logit_gets_no_smoothing_mass_so_the_smoothed_loss_is_the_two_class_one():
    """y3 = -inf: CE + smoothing over the plane is the core's smoothed CE of the two live logits."""
    from outlayer.losses import cross_entropy

    u, v = np.array([-10.0, 0.0, 3.0]), np.array([10.0, 0.0, -2.0])
    ours = surface.evaluate("ce-smooth", u, v)
    two_class = cross_entropy(np.stack([u, v], axis=1), np.zeros(3, dtype=np.int64), label_smoothing=0.1,
                              reduction="none")
    np.testing.assert_allclose(ours.loss, two_class, rtol=1e-14)
    assert ours.constant == 0.0 and np.all(np.isfinite(ours.loss))


def test_finite_held_logit_takes_smoothing_mass_and_moves_the_optimum_off_the_figure():
    """y3 = -1000 held finite: smoothing puts eps/3 on class 3, so the minimum is where p = q.

    q = (1 - eps + eps/3, eps/3, eps/3): y2 = y3 = -1000 and y1 - y2 = ln(q1 / q2), far outside
    [-10, 10]^2, with minimum value the entropy of q; inside the figure the loss has no minimum.
    """
    plane = LogitPlane(fixed=-1000.0)
    optimum = surface.plane_optimum("ce-smooth", plane)
    q = np.array([1 - 0.1 + 0.1 / 3, 0.1 / 3, 0.1 / 3])
    assert optimum.point == pytest.approx([-1000.0 + math.log(q[0] / q[1]), -1000.0], abs=1e-2)
    assert optimum.loss == pytest.approx(float(-np.sum(q * np.log(q))), rel=1e-6)
    assert optimum.p_target == pytest.approx(q[0], abs=1e-5)
    grid = surface.evaluate_grid("ce-smooth", plane, resolution=41)
    row, col = np.unravel_index(int(np.argmin(grid.loss)), grid.loss.shape)
    assert grid.axis[row] == -10.0  # the figure's minimum sits on its lower edge: the loss still falls past it
    with_inf = surface.plane_optimum("ce-smooth")  # y3 = -inf: a valley y1 - y2 = ln(0.95 / 0.05) through the figure
    assert with_inf.point[0] - with_inf.point[1] == pytest.approx(math.log(19.0), abs=1e-2)
    assert with_inf.p_target == pytest.approx(0.95, abs=1e-4)


@settings(max_examples=25, deadline=None)
@given(u=st.floats(-20, 20), v=st.floats(-20, 20), y3=st.floats(-50, 50))
def test_square_loss_on_logits_reports_its_fixed_terms_as_a_constant(u, v, y3):
    """The constant is y3^2 wherever (u, v) is: the full loss minus the swept terms, from the core."""
    from outlayer.losses import mse

    plane = LogitPlane(fixed=y3)
    at = surface.evaluate("mse-logits", u, v, plane)
    full = float(mse(plane.logits(u, v)[None], np.array([0]), on="logits", reduction="sum"))
    assert at.constant == pytest.approx(y3 * y3, rel=1e-12, abs=1e-12)
    assert float(at.loss) + at.constant == pytest.approx(full, rel=1e-12, abs=1e-9)
    assert float(at.loss) == pytest.approx((u - 1.0) ** 2 + v * v, rel=1e-12, abs=1e-12)


def test_default_lecture_plane_holds_y3_at_minus_infinity_and_the_square_loss_constant_is_infinite(lecture):
    assert lecture["setup"]["fixed"] == {"2": "-inf"} and lecture["setup"]["held_out"] == [2]
    entry = lecture["losses"]["mse-logits"]
    assert entry["constant"] is None and entry["constant_is_infinite"]
    assert entry["corner"]["loss"] == pytest.approx((-10.0 - 1.0) ** 2 + 10.0**2)  # 221 = the loss minus y3^2
    assert lecture["losses"]["ce"]["constant"] == 0.0


def test_a_path_that_diverges_reaches_nothing_even_after_passing_the_goal():
    """Plain GD on the square loss at lr 2 oscillates with growing amplitude (factor 1 - 2 lr = -3).

    With a goal of 0.7 (below the optimum's 0.731, so reachable) the oscillation passes p >= 0.7
    at the first step, grows for ~300 steps and overflows: it reaches nothing. Within a shorter
    budget it is still finite, but its loss has grown: it counts as diverged all the same.
    """
    path = surface.descent_path("mse-logits", lr=2.0, goal=0.7, steps=1000)
    assert path.first_above_goal == 1 and path.diverged and path.steps_to_goal is None
    assert len(path.points) < 1001  # overflowed, stopped at its last finite point
    short = surface.descent_path("mse-logits", lr=2.0, goal=0.7, steps=50)
    assert np.all(np.isfinite(short.loss)) and short.diverged and short.steps_to_goal is None
    _, counts = surface.steps_to_goal_map("mse-logits", resolution=5, lr=2.0, steps=200, goal=0.7)
    assert np.isnan(counts[:, 0]).all()  # starts away from the optimum diverge: none counts
    stable = surface.descent_path("mse-logits", lr=0.5, goal=0.7)
    assert not stable.diverged and stable.steps_to_goal == 1  # lr 0.5 lands on (1, 0) in one step


# ------------------------------------------------------------------------------ margin cut

#: The margin cut's closed forms as NumPy functions of m, for the strings in surface.MARGIN_CLOSED_FORMS.
CLOSED_FORMS = {
    "ce": (lambda m: np.logaddexp(0.0, -m), lambda m: -expit(-m)),
    "mse": (lambda m: 2.0 * expit(-m) ** 2, lambda m: -4.0 * expit(m) * expit(-m) ** 2),
    "mse-logits": (lambda m: m * m / 2 - m + 1.0, lambda m: m - 1.0),
    "ce-smooth": (lambda m: np.logaddexp(0.0, -m) + 0.05 * m, lambda m: 0.05 - expit(-m)),
}


@pytest.mark.parametrize("loss", sorted(CLOSED_FORMS))
def test_margin_cut_closed_forms_match_the_core_curve(loss):
    curve = surface.margin_cut(loss)
    value, slope = CLOSED_FORMS[loss]
    np.testing.assert_allclose(curve.loss, value(curve.margin), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(curve.grad_margin, slope(curve.margin), rtol=1e-7, atol=1e-12)
    assert set(surface.MARGIN_CLOSED_FORMS) == set(CLOSED_FORMS)


def test_margin_cut_in_the_result_carries_its_closed_forms_only_where_they_hold(lecture):
    cut = lecture["margin_cut"]
    assert cut["line"] == "y1 = +m/2, y2 = -m/2, so m = y1 - y2"
    assert cut["losses"]["ce"]["closed_form"] == surface.MARGIN_CLOSED_FORMS["ce"]
    assert "0.05 m" in cut["losses"]["ce-smooth"]["closed_form"]["loss"]
    finite = surface.run(losses=("ce", "mse-logits"), fixed=-1.0, resolution=11, steps=5)["margin_cut"]["losses"]
    assert finite["ce"]["closed_form"] is None  # y3 = -1 takes probability: not the two-class limit
    assert finite["mse-logits"]["closed_form"] is not None  # its y3 term is the constant part


def test_run_carries_its_settings_as_asdict_of_the_config(lecture):
    from outlayer.config import SurfaceConfig, settings_of

    assert lecture["settings"] == settings_of(SurfaceConfig())
