"""First-order optimisers on plain NumPy arrays: SGD, SGD with momentum, Adam.

One implementation, shared by the training lab (:mod:`outlayer.experiments`) and the descent
paths on error surfaces (:mod:`outlayer.surface`). An optimiser updates a list of parameter
arrays **in place** from a list of gradient arrays of the same shapes; its state (velocities,
moment estimates) is created on the first :meth:`Optimizer.step` and keyed by position in the
list, so the same list order must be used on every step. Arrays of any shape work, down to a
length-2 vector of logits.

Conventions (those of PyTorch's ``torch.optim``, so results can be compared one to one):

* SGD, momentum mu:  ``v <- mu v + g``;  ``p <- p - lr v``  (``p <- p - lr (g + mu v)`` with Nesterov).
  With mu = 0 this is plain gradient descent ``p <- p - lr g``.
* Adam (Kingma & Ba 2015):  ``m <- b1 m + (1-b1) g``,  ``v <- b2 v + (1-b2) g^2``,
  ``p <- p - lr m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1-b1^t)``, ``v_hat = v / (1-b2^t)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["OPTIMIZER_NAMES", "Adam", "Optimizer", "SGD", "make_optimizer"]

#: Names accepted by :func:`make_optimizer`.
OPTIMIZER_NAMES: tuple[str, ...] = ("sgd", "momentum", "adam")


def _check_real(name: str, value: Any, *, low: float, high: float = math.inf, low_open: bool = True,
                high_open: bool = True) -> float:
    """``value`` as a float inside the interval, else one-line ValueError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    above = number > low if low_open else number >= low
    below = number < high if high_open else number <= high
    if not (math.isfinite(number) and above and below):
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {left}{low:g}, {high:g}{right}, got {value!r}")
    return number


class Optimizer:
    """Base class: holds the learning rate and the per-parameter state, checks the lists."""

    def __init__(self, lr: float) -> None:
        self.lr = _check_real("lr", lr, low=0.0)
        self._state: list[dict[str, Any]] | None = None
        self.steps = 0

    def reset(self) -> None:
        """Forget all state (velocities, moments, step count); the next step starts afresh."""
        self._state = None
        self.steps = 0

    def _check(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} parameter arrays but {len(grads)} gradient arrays")
        for index, (param, grad) in enumerate(zip(params, grads)):
            if not isinstance(param, np.ndarray):
                raise ValueError(f"params[{index}] must be a NumPy array to be updated in place, "
                                 f"got {type(param).__name__}")
            if np.shape(grad) != param.shape:
                raise ValueError(f"grads[{index}] has shape {np.shape(grad)} but params[{index}] "
                                 f"has shape {param.shape}")
            if not np.issubdtype(param.dtype, np.floating):
                raise ValueError(f"params[{index}] must have a floating dtype, got {param.dtype}")
        if self._state is not None:
            shapes = [entry["shape"] for entry in self._state]
            if len(shapes) != len(params) or any(tuple(s) != p.shape for s, p in zip(shapes, params)):
                raise ValueError("the parameter list changed shape since the first step; call reset() first")

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Update every ``params[i]`` in place from ``grads[i]`` (same shape)."""
        self._check(params, grads)
        if self._state is None:
            self._state = [self._init_state(p) for p in params]
        self.steps += 1
        for param, grad, state in zip(params, grads, self._state):
            self._update(param, np.asarray(grad, dtype=param.dtype), state)

    def _init_state(self, param: np.ndarray) -> dict[str, Any]:
        return {"shape": param.shape}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and k != "steps")
        return f"{type(self).__name__}({fields})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``v <- momentum * v + g``, then ``p <- p - lr * v``, or ``p <- p - lr * (g + momentum * v)``
    when ``nesterov`` (PyTorch's formulation; ``v`` starts at 0, so the first step is ``-lr g``).
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        self.momentum = _check_real("momentum", momentum, low=0.0, high=1.0, low_open=False)
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs a momentum > 0, got momentum=0")
        self.nesterov = bool(nesterov)

    def _init_state(self, param: np.ndarray) -> dict[str, Any]:
        state = super()._init_state(param)
        if self.momentum:
            state["velocity"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        if not self.momentum:
            param -= self.lr * grad
            return
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity += grad
        if self.nesterov:
            param -= self.lr * (grad + self.momentum * velocity)
        else:
            param -= self.lr * velocity


class Adam(Optimizer):
    """Adam with bias-corrected first and second moment estimates (Kingma & Ba 2015)."""

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1 = _check_real("beta1", beta1, low=0.0, high=1.0, low_open=False)
        self.beta2 = _check_real("beta2", beta2, low=0.0, high=1.0, low_open=False)
        self.eps = _check_real("eps", eps, low=0.0)

    def _init_state(self, param: np.ndarray) -> dict[str, Any]:
        state = super()._init_state(param)
        state["m"] = np.zeros_like(param)
        state["v"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        m, v = state["m"], state["v"]
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        v *= self.beta2
        v += (1.0 - self.beta2) * np.square(grad)
        bias1 = 1.0 - self.beta1**self.steps
        bias2 = 1.0 - self.beta2**self.steps
        # eps is added to sqrt(v_hat), not v_hat, as in the paper and in torch.optim.Adam
        param -= (self.lr / bias1) * m / (np.sqrt(v / bias2) + self.eps)


def make_optimizer(name: str, lr: float, **hyper: Any) -> Optimizer:
    """Build an optimiser by name.

    ``"sgd"``: :class:`SGD` (plain unless ``momentum`` is given); ``"momentum"``: :class:`SGD`
    with ``momentum=0.9`` unless given; ``"adam"``: :class:`Adam`. Extra keyword arguments are
    the class's hyper-parameters; an unknown one raises ValueError naming it.
    """
    key = str(name).lower()
    if key not in OPTIMIZER_NAMES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    if key == "momentum":
        hyper.setdefault("momentum", 0.9)
    cls: type[Optimizer] = Adam if key == "adam" else SGD
    allowed = {"adam": ("beta1", "beta2", "eps")}.get(key, ("momentum", "nesterov"))
    unknown = sorted(set(hyper) - set(allowed))
    if unknown:
        raise ValueError(f"unknown hyper-parameter {unknown[0]!r} for optimizer {key!r}; "
                         f"allowed: {', '.join(allowed)}")
    return cls(lr, **hyper)
