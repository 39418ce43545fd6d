"""The NumPy twin outlayer.linear_ce equals the naive full-logits computation and the torch version."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outlayer.linear_ce import default_chunk_size, linear_cross_entropy, linear_cross_entropy_with_grad

N, D, V = 23, 6, 17


def make_problem(dtype=np.float64, *, seed=0, n=N, d=D, v=V):
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((n, d)).astype(dtype)
    weight = (rng.standard_normal((v, d)) / np.sqrt(d)).astype(dtype)
    bias = rng.standard_normal(v).astype(dtype)
    target = rng.integers(0, v, n)
    target[::4] = -100
    class_weight = (rng.random(v) + 0.5).astype(dtype)
    return hidden, weight, bias, target, class_weight


def torch_naive(hidden, weight, bias, target, *, class_weight=None, **options):
    """Oracle: F.cross_entropy on the full logits, gradients by autograd (of the sum for "none")."""
    torch = pytest.importorskip("torch")
    h, w, b = (torch.tensor(a, requires_grad=True) for a in (hidden, weight, bias))
    cw = None if class_weight is None else torch.tensor(class_weight)
    loss = torch.nn.functional.cross_entropy(h @ w.T + b, torch.tensor(target), weight=cw, **options)
    loss.sum().backward()
    return loss.detach().numpy(), h.grad.numpy(), w.grad.numpy(), b.grad.numpy()


CASES = list(itertools.product(("mean", "sum", "none"), (False, True), (0.0, 0.3)))


@pytest.mark.parametrize(("reduction", "weighted", "smoothing"), CASES)
def test_loss_and_gradients_match_torch_full_logits(reduction, weighted, smoothing):
    hidden, weight, bias, target, class_weight = make_problem()
    cw = class_weight if weighted else None
    got = linear_cross_entropy_with_grad(
        hidden, weight, target, bias=bias, class_weight=cw, label_smoothing=smoothing, reduction=reduction, chunk_size=5
    )
    expected = torch_naive(hidden, weight, bias, target, class_weight=cw, label_smoothing=smoothing, reduction=reduction)
    for name, g, e in zip(("loss", "dhidden", "dweight", "dbias"), got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12, err_msg=name)


@settings(max_examples=25, deadline=None)
@given(chunk_size=st.integers(1, N + 3), smoothing=st.sampled_from([0.0, 0.1]), float32=st.booleans())
def test_result_does_not_depend_on_chunk_size(chunk_size, smoothing, float32):
    dtype = np.float32 if float32 else np.float64
    hidden, weight, bias, target, class_weight = make_problem(dtype, seed=2)
    options = dict(bias=bias, class_weight=class_weight, label_smoothing=smoothing)
    whole = linear_cross_entropy_with_grad(hidden, weight, target, chunk_size=N, **options)
    chunked = linear_cross_entropy_with_grad(hidden, weight, target, chunk_size=chunk_size, **options)
    tol = dict(rtol=2e-5, atol=1e-6) if float32 else dict(rtol=1e-12, atol=1e-13)
    for g, e in zip(chunked, whole):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, e, **tol)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_numpy_twin_equals_torch_linear_cross_entropy(reduction):
    torch = pytest.importorskip("torch")
    from outlayer.torch import linear_cross_entropy as torch_linear_ce

    hidden, weight, bias, target, class_weight = make_problem(np.float32, seed=5, n=40, d=12, v=33)
    loss, dh, dw, db = linear_cross_entropy_with_grad(
        hidden, weight, target, bias=bias, class_weight=class_weight, label_smoothing=0.1, reduction=reduction, chunk_size=7
    )
    h, w, b = (torch.tensor(a, requires_grad=True) for a in (hidden, weight, bias))
    t_loss = torch_linear_ce(
        h, w, torch.tensor(target), bias=b, class_weight=torch.tensor(class_weight), label_smoothing=0.1, reduction=reduction, chunk_size=7
    )
    t_loss.sum().backward()
    for ours, theirs in ((loss, t_loss.detach()), (dh, h.grad), (dw, w.grad), (db, b.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_loss_only_equals_loss_of_with_grad():
    hidden, weight, bias, target, class_weight = make_problem()
    options = dict(bias=bias, class_weight=class_weight, label_smoothing=0.2, chunk_size=4)
    np.testing.assert_allclose(
        linear_cross_entropy(hidden, weight, target, **options), linear_cross_entropy_with_grad(hidden, weight, target, **options)[0], rtol=1e-13
    )


def test_without_bias_dbias_is_none_and_value_matches_zero_bias():
    hidden, weight, bias, target, _ = make_problem()
    loss, dh, dw, db = linear_cross_entropy_with_grad(hidden, weight, target, chunk_size=3)
    expected = torch_naive(hidden, weight, np.zeros_like(bias), target)
    assert db is None
    for g, e in zip((loss, dh, dw), expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_mean_over_only_ignored_rows_is_zero_with_zero_gradients():
    hidden, weight, bias, target, _ = make_problem()
    loss, dh, dw, db = linear_cross_entropy_with_grad(hidden, weight, np.full(N, -100), bias=bias)
    assert loss == 0.0
    assert not dh.any() and not dw.any() and not db.any()


def test_default_chunk_bounds_block_of_logits():
    rows = default_chunk_size(8192, 32000, 4)
    assert 1 <= rows < 8192
    assert default_chunk_size(10, 5) == 10  # a small batch is one block
    assert default_chunk_size(5, 10**12) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(weight=np.zeros((V, D + 2))), r"hidden shape \(23, 6\) and weight shape \(17, 8\)"),
        (dict(target=np.zeros(N - 1, dtype=int)), r"target shape \(22,\) does not match hidden shape \(23, 6\)"),
        (dict(bias=np.zeros(V + 1)), r"bias shape \(18,\)"),
        (dict(weight=np.zeros((V, D), np.float32)), r"weight dtype float32 does not match hidden dtype float64"),
        (dict(hidden=np.zeros((N, D), dtype=int)), r"hidden must be a float array, got dtype int64"),
        (dict(target=np.full(N, 0.5)), r"target must hold integer class ids, got dtype float64"),
        (dict(target=np.full(N, -7)), r"target must be class ids in \[0, 17\) or ignore_index=-100, got -7 at index 0"),
        (dict(chunk_size=0), r"chunk_size must be a positive integer or None, got 0"),
        (dict(chunk_size="8"), r"got '8'"),
        (dict(class_weight=np.ones(V + 1)), r"class_weight shape \(18,\)"),
        (dict(reduction="mena"), r"got 'mena'"),
    ],
)
def test_bad_input_raises_one_clear_error(change, message):
    hidden, weight, bias, target, _ = make_problem()
    args = dict(hidden=hidden, weight=weight, target=target, bias=bias) | change
    with pytest.raises(ValueError, match=message):
        linear_cross_entropy_with_grad(args.pop("hidden"), args.pop("weight"), args.pop("target"), **args)
