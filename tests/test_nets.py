"""outlayer.nets: backprop through the seeds' network matches finite differences and torch autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest

from outlayer.nets import HEAD_NAMES, Network, init_network, make_head

N, D, K = 7, 5, 4


def _setup(loss: str, activation: str = "sigmoid", hidden=(6, 3), seed: int = 0, **loss_options):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = rng.integers(0, K, size=N)
    head = make_head(loss, K, **loss_options)
    net = init_network(D, head.n_outputs, hidden, activation=activation, rng=seed)
    # larger-than-init output weights and non-zero biases so no gradient is trivially small
    net.weights[-1] *= 3.0
    for b in net.biases:
        b[:] = rng.normal(scale=0.5, size=b.shape)
    return net, head, X, y


def _loss_and_grads(net: Network, head, X, y):
    outputs, layer_inputs = net.forward_with_hidden(X)
    loss, grad_outputs = head.loss_and_grad(outputs, y, reduction="mean")
    return float(loss), net.backward(layer_inputs, grad_outputs)


LOSS_CASES = [
    ("ce", {}),
    ("mse", {}),
    ("mse-logits", {}),
    ("mse-logits", {"true_class_weight": 3.0, "true_class_target": 5.0}),
    ("ce-smooth", {"label_smoothing": 0.2}),
    ("scalar", {}),
]


@pytest.mark.parametrize(("loss", "options"), LOSS_CASES)
def test_backprop_matches_central_finite_differences(loss, options):
    net, head, X, y = _setup(loss, **options)
    _, grads = _loss_and_grads(net, head, X, y)
    step = 1e-6
    for param, grad in zip(net.params, grads):
        numeric = np.empty_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + step
            up = float(head.loss_and_grad(net.forward(X), y)[0])
            param[index] = saved - step
            down = float(head.loss_and_grad(net.forward(X), y)[0])
            param[index] = saved
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def _torch_loss(torch, loss: str, outputs, y, options):
    F = torch.nn.functional
    yt = torch.as_tensor(y)
    if loss == "ce":
        return F.cross_entropy(outputs, yt)
    if loss == "ce-smooth":
        return F.cross_entropy(outputs, yt, label_smoothing=options.get("label_smoothing", 0.1))
    if loss == "scalar":
        return ((outputs[:, 0] - yt.to(outputs.dtype)) ** 2).mean()
    target = F.one_hot(yt, K).to(outputs.dtype)
    if loss == "mse":
        return ((torch.softmax(outputs, dim=1) - target) ** 2).sum(dim=1).mean()
    k, big_m = options.get("true_class_weight", 1.0), options.get("true_class_target", 1.0)
    weight = 1.0 + (k - 1.0) * target  # Hui & Belkin: the true class's term weighs k, its target is M
    return (weight * (outputs - big_m * target) ** 2).sum(dim=1).mean()


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize(("loss", "options"), LOSS_CASES)
def test_backprop_matches_torch_autograd_on_the_same_weights(loss, options, activation):
    torch = pytest.importorskip("torch")
    net, head, X, y = _setup(loss, activation=activation, **options)
    ours_loss, ours = _loss_and_grads(net, head, X, y)

    params = [torch.tensor(p, requires_grad=True) for p in net.params]
    a = torch.tensor(X)
    act = torch.sigmoid if activation == "sigmoid" else torch.relu
    for layer in range(len(net.weights)):
        a = a @ params[2 * layer] + params[2 * layer + 1]
        if layer < len(net.weights) - 1:
            a = act(a)
    theirs_loss = _torch_loss(torch, loss, a, y, options)
    theirs_loss.backward()
    assert ours_loss == pytest.approx(theirs_loss.item(), rel=1e-12)
    for mine, param in zip(ours, params):
        np.testing.assert_allclose(mine, param.grad.numpy(), rtol=1e-9, atol=1e-13)


def test_forward_computes_b_prime_plus_w_prime_sigma_of_b_plus_w_x():
    """One hidden layer, written out with the maths' W (the transpose of the stored matrices)."""
    net, _, X, _ = _setup("ce", hidden=(6,))
    W, b, W_out, b_out = (p.copy() for p in net.params)
    x = X[2]
    expected = b_out + W_out.T @ (1.0 / (1.0 + np.exp(-(b + W.T @ x))))
    np.testing.assert_allclose(net.forward(X)[2], expected, rtol=1e-13)


def test_confident_init_scales_initial_logits_to_the_requested_std_and_records_it():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 10))
    gentle = init_network(10, 5, (16,), init="gentle", rng=3, reference_inputs=X)
    confident = init_network(10, 5, (16,), init="confident", rng=3, reference_inputs=X, confident_std=30.0)
    assert gentle.initial_logit_std < 3.0  # standard init: logits of order 1
    assert confident.initial_logit_std == pytest.approx(30.0, rel=1e-12)
    assert float(np.std(confident.forward(X))) == pytest.approx(30.0, rel=1e-12)
    # only the output layer is rescaled: the hidden layer is the same draw
    np.testing.assert_array_equal(gentle.weights[0], confident.weights[0])
    ratio = confident.weights[-1] / gentle.weights[-1]
    np.testing.assert_allclose(ratio, ratio.flat[0])


@pytest.mark.parametrize(("activation", "limit"), [("sigmoid", lambda i, o: math.sqrt(6 / (i + o))),
                                                   ("relu", lambda i, o: math.sqrt(6 / i))])
def test_gentle_init_draws_glorot_or_he_uniform_weights_and_zero_biases(activation, limit):
    net = init_network(300, 10, (200,), activation=activation, rng=0)
    for w in net.weights:
        bound = limit(*w.shape)
        assert np.abs(w).max() <= bound
        # a uniform draw on (-r, r) has standard deviation r / sqrt(3)
        assert np.std(w) == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert all(np.all(b == 0) for b in net.biases)


def test_scalar_head_predicts_the_rounded_output_clipped_to_the_class_range():
    head = make_head("scalar", 3)
    outputs = np.array([[-3.0], [0.4], [0.6], [1.5], [2.49], [99.0]])
    np.testing.assert_array_equal(head.predict(outputs), [0, 0, 1, 2, 2, 2])
    assert head.n_outputs == 1 and head.probabilities(outputs) is None


def test_k_output_heads_predict_argmax_and_give_softmax_probabilities():
    head = make_head("mse-logits", 3)
    outputs = np.array([[1.0, 3.0, 2.0], [0.0, -1.0, -2.0]])
    np.testing.assert_array_equal(head.predict(outputs), [1, 0])
    probabilities = head.probabilities(outputs)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(probabilities[0], np.exp(outputs[0]) / np.exp(outputs[0]).sum())


def test_every_head_name_builds():
    for name in HEAD_NAMES:
        assert make_head(name, 4).n_outputs == (1 if name == "scalar" else 4)


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: init_network(4, 3, (5,), activation="tanh"), "'tanh'"),
        (lambda: init_network(4, 3, (5,), init="wild"), "'wild'"),
        (lambda: init_network(4, 3, (0,)), r"\[4, 0, 3\]"),
        (lambda: init_network(4, 3, (5,), init="confident"), "reference_inputs"),
        (lambda: make_head("hinge", 3), "'hinge'"),
        (lambda: make_head("ce", 3, true_class_weight=2.0), "'true_class_weight'"),
        (lambda: make_head("ce", 1), "at least 2 classes"),
        (lambda: init_network(4, 3, (5,)).forward(np.zeros((2, 7))), r"\(N, 4\)"),
    ],
)
def test_bad_network_arguments_raise_one_line_naming_the_value(call, needle):
    with pytest.raises(ValueError, match=needle) as info:
        call()
    assert "\n" not in str(info.value)
