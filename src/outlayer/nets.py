"""The seeds' network ``y = b' + W' sigma(b + W x)`` and its output heads, in NumPy.

:class:`Network` is a fully connected net with sigmoid or ReLU hidden layers (one or more) and
a linear output layer producing ``n_outputs`` logits. Samples are rows: for a batch ``X`` of
shape (N, D) the first layer computes ``sigma(X @ W + b)`` with ``W`` of shape (D, H), i.e. the
transpose of the maths' ``W`` (rows are inputs, so a batch is one matrix product and there is no
Python loop over samples).

Backpropagation takes ``dL/dlogits`` from the core loss (:class:`OutputHead` calls
``outlayer.losses``' ``with_grad``) and only adds the chain rule through the layers, so there is
one implementation of every loss gradient in the project.

An :class:`OutputHead` couples a loss name with what the network's outputs mean:

* ``ce``, ``ce-smooth``, ``mse`` (on softmax probabilities, the lecture's), ``mse-logits`` (square
  loss on the raw outputs, Hui & Belkin 2021, options ``true_class_weight`` k and
  ``true_class_target`` M): K outputs, prediction = argmax, probabilities = softmax(outputs).
* ``scalar``: one output regressing the class number 0..K-1 with the square loss
  ``(y - c)^2`` (the core's ``mse(on="logits")`` on (N, 1) arrays); prediction = the output
  rounded to the nearest integer and clipped to [0, K-1]; it has no probabilities.

Initialisation (:func:`init_network`): ``gentle`` = Glorot-uniform (sigmoid) or He-uniform
(ReLU) weights, zero biases; ``confident`` = the same, then the output layer multiplied so that
the initial logits on the reference inputs have a standard deviation of ``confident_std`` (30
by default): most samples then start confidently wrong, the lecture's corner where MSE on
probabilities hardly learns. The achieved standard deviation is recorded in ``initial_logit_std``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from outlayer.catalogue import LAB_LOSSES, loss_info

__all__ = [
    "ACTIVATIONS",
    "DivergedError",
    "HEAD_NAMES",
    "INITS",
    "Network",
    "OutputHead",
    "init_network",
    "make_head",
]

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "relu")
INITS: tuple[str, ...] = ("gentle", "confident")
#: Losses the lab can train with (:data:`outlayer.catalogue.LAB_LOSSES`): the core's K-output
#: losses plus the one-output ``scalar``.
HEAD_NAMES: tuple[str, ...] = LAB_LOSSES


class DivergedError(ArithmeticError):
    """A layer produced NaN or infinite values: training has diverged (learning rate too large)."""


def _finite(z: np.ndarray, layer: int) -> np.ndarray:
    if not np.isfinite(z).all():
        raise DivergedError(f"layer {layer} of the network produced non-finite values")
    return z


def _activate(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        from outlayer.activations import sigmoid

        return np.asarray(sigmoid(z))
    return np.maximum(z, 0.0)


@dataclass(eq=False)  # arrays inside: identity, not element-wise ==
class Network:
    """Weights ``weights[l]`` (fan_in, fan_out) and biases ``biases[l]`` (fan_out,) per layer.

    The last layer is linear (it outputs logits); all others apply ``activation``.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: str = "sigmoid"
    initial_logit_std: float | None = None

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ValueError(f"need one bias per weight matrix, got {len(self.weights)} and {len(self.biases)}")
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise ValueError(f"layer {i}: weight shape {w.shape} and bias shape {b.shape} do not fit")
            if i and w.shape[0] != self.weights[i - 1].shape[1]:
                raise ValueError(f"layer {i} expects {w.shape[0]} inputs but layer {i - 1} gives {self.weights[i - 1].shape[1]}")

    @property
    def params(self) -> list[np.ndarray]:
        """All parameter arrays in a fixed order (W0, b0, W1, b1, ...), for an optimiser."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    @property
    def n_inputs(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.weights[-1].shape[1])

    def copy(self) -> Network:
        return Network([w.copy() for w in self.weights], [b.copy() for b in self.biases], self.activation,
                       self.initial_logit_std)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Logits (N, n_outputs) for inputs X (N, n_inputs)."""
        return self.forward_with_hidden(X)[0]

    def forward_with_hidden(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits and the layer inputs ``[X, a_1, ..., a_L]`` that :meth:`backward` needs.

        Raises :class:`DivergedError` when a pre-activation or an output is NaN or infinite
        (weights blown up by too large a step), so that callers can tell divergence from bugs.
        """
        X = np.asarray(X, dtype=self.weights[0].dtype)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"inputs must have shape (N, {self.n_inputs}), got {X.shape}")
        layer_inputs = [X]
        a = X
        for layer, (w, b) in enumerate(zip(self.weights[:-1], self.biases[:-1])):
            a = _activate(_finite(a @ w + b, layer), self.activation)
            layer_inputs.append(a)
        return _finite(a @ self.weights[-1] + self.biases[-1], len(self.weights) - 1), layer_inputs

    def backward(self, layer_inputs: Sequence[np.ndarray], grad_logits: np.ndarray) -> list[np.ndarray]:
        """Gradients in :attr:`params` order, given ``dL/dlogits`` (N, n_outputs).

        Chain rule, layer by layer from the top: for ``z = a W + b``, ``dL/dW = a^T dL/dz``,
        ``dL/db = sum over rows of dL/dz``, ``dL/da = dL/dz W^T``; through the activation
        ``dL/dz = dL/da * sigma'(z)`` with ``sigma' = a (1 - a)`` (sigmoid) or ``[z > 0]`` (ReLU),
        both written in terms of the stored output ``a``.
        """
        delta = np.asarray(grad_logits, dtype=self.weights[0].dtype)
        grads: list[np.ndarray] = []
        for layer in range(len(self.weights) - 1, -1, -1):
            a = layer_inputs[layer]
            grads.append(delta.sum(axis=0))
            grads.append(a.T @ delta)
            if layer:
                delta = delta @ self.weights[layer].T
                if self.activation == "sigmoid":
                    delta *= a * (1.0 - a)
                else:
                    delta *= a > 0
        grads.reverse()  # built as (b_L, W_L, b_{L-1}, ...): reverse to (W0, b0, W1, b1, ...)
        return grads


def init_network(
    n_inputs: int,
    n_outputs: int,
    hidden: Sequence[int] = (64,),
    *,
    activation: str = "sigmoid",
    init: str = "gentle",
    rng: np.random.Generator | int | None = 0,
    reference_inputs: np.ndarray | None = None,
    confident_std: float = 30.0,
    dtype: Any = np.float64,
) -> Network:
    """A freshly initialised :class:`Network` D -> hidden... -> n_outputs.

    Weights ~ U(-r, r) with r = sqrt(6 / (fan_in + fan_out)) (Glorot, for sigmoid) or
    sqrt(6 / fan_in) (He, for ReLU); biases 0. ``init="confident"`` then rescales the output
    weights by ``confident_std / std(initial logits on reference_inputs)`` (the output biases are
    0, so the logits scale exactly), giving logits of standard deviation ``confident_std``.
    ``initial_logit_std`` records the standard deviation achieved on ``reference_inputs``
    (``None`` when no reference inputs are given for a gentle start).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    sizes = [int(n_inputs), *(int(h) for h in hidden), int(n_outputs)]
    if any(s < 1 for s in sizes):
        raise ValueError(f"layer sizes must be positive integers, got {sizes}")
    if not (math.isfinite(confident_std) and confident_std > 0):
        raise ValueError(f"confident_std must be a positive number, got {confident_std!r}")
    rng = np.random.default_rng(rng)
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = math.sqrt(6.0 / fan_in) if activation == "relu" else math.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype))
        biases.append(np.zeros(fan_out, dtype=dtype))
    net = Network(weights, biases, activation)
    if init == "confident" and reference_inputs is None:
        raise ValueError("init='confident' needs reference_inputs to measure the initial logits on")
    if reference_inputs is not None:
        std = float(np.std(net.forward(reference_inputs)))
        if init == "confident":
            if std == 0.0:
                raise ValueError("initial logits are constant on the reference inputs; cannot scale them to confident_std")
            net.weights[-1] *= confident_std / std
            std = float(np.std(net.forward(reference_inputs)))
        net.initial_logit_std = std
    return net


@dataclass(frozen=True)
class OutputHead:
    """A loss together with how the network's outputs are read.

    ``loss_options`` go to the core loss (e.g. ``label_smoothing`` for ``ce-smooth``,
    ``true_class_weight`` / ``true_class_target`` for ``mse-logits``).
    """

    name: str
    n_classes: int
    loss_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        loss_info(self.name)  # an unknown name raises, listing the known ones
        if self.n_classes < 2:
            raise ValueError(f"need at least 2 classes, got {self.n_classes}")

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.has_probabilities else 1

    @property
    def has_probabilities(self) -> bool:
        return loss_info(self.name).has_probabilities

    def loss_and_grad(self, outputs: np.ndarray, y: np.ndarray, reduction: str = "mean") -> tuple[Any, np.ndarray]:
        """(loss, dL/doutputs) from the core loss; ``y`` are integer class ids (N,)."""
        if not self.has_probabilities:
            from outlayer.losses import mse_with_grad

            # one real number per sample: the class id as a float row of the outputs' shape
            codes = np.asarray(y, dtype=outputs.dtype).reshape(-1, 1)
            return mse_with_grad(outputs, codes, on="logits", reduction=reduction)
        from outlayer.losses import get_loss

        return get_loss(str(loss_info(self.name).core)).with_grad(outputs, y, reduction=reduction,
                                                                  **self.loss_options)

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        """Class ids (N,): argmax, or for ``scalar`` the rounded output clipped to [0, K-1]."""
        if not self.has_probabilities:
            return np.clip(np.rint(outputs[:, 0]), 0, self.n_classes - 1).astype(np.int64)
        return np.argmax(outputs, axis=1)

    def probabilities(self, outputs: np.ndarray) -> np.ndarray | None:
        """softmax(outputs) (N, K), or ``None`` for ``scalar`` (a single number has no distribution)."""
        if not self.has_probabilities:
            return None
        from outlayer.activations import softmax

        return np.asarray(softmax(outputs, axis=1))


def make_head(name: str, n_classes: int, **loss_options: Any) -> OutputHead:
    """An :class:`OutputHead`; options irrelevant to the loss raise ValueError naming them."""
    allowed = loss_info(name).option_names
    unknown = sorted(set(loss_options) - set(allowed))
    if unknown:
        raise ValueError(f"option {unknown[0]!r} does not apply to loss {name!r}")
    return OutputHead(name, int(n_classes), dict(loss_options))
