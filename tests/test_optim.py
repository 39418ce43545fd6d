"""outlayer.optim: SGD, momentum, Nesterov and Adam agree with torch.optim step for step."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outlayer.optim import SGD, Adam, make_optimizer

torch = pytest.importorskip("torch")


def _quadratic_grads(params: list[np.ndarray], centres: list[np.ndarray]) -> list[np.ndarray]:
    """Gradient of sum_i ||p_i - c_i||^4 / 4 (non-linear, so the optimisers' paths differ)."""
    return [np.sum((p - c) ** 2) * (p - c) for p, c in zip(params, centres)]


def _run_both(name: str, torch_cls, torch_kwargs: dict, ours_kwargs: dict, steps: int = 25):
    rng = np.random.default_rng(0)
    shapes = [(2,), (3, 4), (5,), ()]
    start = [rng.normal(size=s) for s in shapes]
    centres = [rng.normal(size=s) for s in shapes]
    ours = [p.copy() for p in start]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in start]
    optimizer = make_optimizer(name, **ours_kwargs)
    torch_optimizer = torch_cls(theirs, **torch_kwargs)
    for _ in range(steps):
        optimizer.step(ours, _quadratic_grads(ours, centres))
        torch_optimizer.zero_grad()
        grads = _quadratic_grads([t.detach().numpy() for t in theirs], centres)
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(np.asarray(g))
        torch_optimizer.step()
    return ours, [t.detach().numpy() for t in theirs]


@pytest.mark.parametrize(
    ("name", "torch_name", "ours_kwargs", "torch_kwargs"),
    [
        ("sgd", "SGD", {"lr": 0.05}, {"lr": 0.05}),
        ("momentum", "SGD", {"lr": 0.02}, {"lr": 0.02, "momentum": 0.9}),
        ("sgd", "SGD", {"lr": 0.02, "momentum": 0.8, "nesterov": True},
         {"lr": 0.02, "momentum": 0.8, "nesterov": True}),
        ("adam", "Adam", {"lr": 0.03}, {"lr": 0.03}),
        ("adam", "Adam", {"lr": 0.01, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6},
         {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-6}),
    ],
)
def test_optimizer_trajectory_matches_torch_optim(name, torch_name, ours_kwargs, torch_kwargs):
    ours, theirs = _run_both(name, getattr(torch.optim, torch_name), torch_kwargs, ours_kwargs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_plain_sgd_step_is_minus_lr_times_gradient_on_a_logit_vector():
    logits = np.array([2.0, -1.0])
    grad = np.array([0.25, -0.5])
    SGD(0.1).step([logits], [grad])
    np.testing.assert_array_equal(logits, np.array([2.0, -1.0]) - 0.1 * grad)


def test_adam_first_step_moves_each_coordinate_by_lr_times_sign():
    """With bias correction, step 1 is -lr * g / (|g| + eps): lr times the sign of g (eps tiny)."""
    params = np.array([1.0, 1.0, 1.0])
    grad = np.array([3.0, -1e-3, 40.0])
    Adam(0.01, eps=1e-300).step([params], [grad])
    np.testing.assert_allclose(params, 1.0 - 0.01 * np.sign(grad), rtol=0, atol=1e-15)


def test_reset_forgets_momentum_so_the_next_step_is_a_first_step():
    opt = make_optimizer("momentum", 0.1)
    params = np.zeros(3)
    grad = np.ones(3)
    opt.step([params], [grad])
    opt.step([params], [grad])  # velocity now 1.9
    opt.reset()
    before = params.copy()
    opt.step([params], [grad])
    np.testing.assert_allclose(before - params, 0.1 * grad)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=6), st.sampled_from(["sgd", "momentum", "adam"]))
def test_zero_gradient_leaves_parameters_unchanged(values, name):
    params = np.array(values)
    before = params.copy()
    opt = make_optimizer(name, 0.1)
    for _ in range(3):
        opt.step([params], [np.zeros_like(params)])
    np.testing.assert_array_equal(params, before)


def test_float32_parameters_stay_float32_and_are_updated_in_place():
    params = np.ones((2, 2), dtype=np.float32)
    alias = params
    make_optimizer("adam", 0.1).step([params], [np.ones((2, 2))])
    assert alias is params and params.dtype == np.float32 and np.all(params < 1)


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: make_optimizer("rmsprop", 0.1), "'rmsprop'"),
        (lambda: make_optimizer("sgd", -1.0), "lr"),
        (lambda: make_optimizer("sgd", float("nan")), "lr"),
        (lambda: make_optimizer("sgd", 0.1, momentum=1.0), "momentum"),
        (lambda: make_optimizer("adam", 0.1, beta1=1.5), "beta1"),
        (lambda: make_optimizer("adam", 0.1, momentum=0.9), "'momentum'"),
        (lambda: make_optimizer("sgd", 0.1, nesterov=True), "nesterov"),
    ],
)
def test_bad_hyper_parameters_raise_one_line_naming_the_value(call, needle):
    with pytest.raises(ValueError, match=needle) as info:
        call()
    assert "\n" not in str(info.value)


def test_mismatched_gradient_shape_raises_naming_the_position():
    opt = make_optimizer("sgd", 0.1)
    with pytest.raises(ValueError, match=r"grads\[1\]"):
        opt.step([np.zeros(2), np.zeros(3)], [np.zeros(2), np.zeros(4)])
    with pytest.raises(ValueError, match="2 parameter arrays but 1"):
        opt.step([np.zeros(2), np.zeros(3)], [np.zeros(2)])


def test_changing_the_parameter_list_after_the_first_step_is_refused():
    opt = make_optimizer("adam", 0.1)
    opt.step([np.zeros(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="reset"):
        opt.step([np.zeros(3)], [np.ones(3)])
