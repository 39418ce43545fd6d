"""outlayer: the output layer of classification networks.

Label coding, the softmax family, and classification losses on logits with exact gradients,
for NumPy and any array-API library (torch, JAX, CuPy, array-api-strict). ``import outlayer``
imports NumPy only; the lab (``outlayer.surface``, ``outlayer.experiments``), the report and the
PyTorch front end (``outlayer.torch``) load their heavier dependencies when used.

``outlayer.cross_entropy`` and ``cross_entropy_with_grad`` choose their backend in one place
(:mod:`outlayer._dispatch`; ``impl="auto" | "reference" | "numba"``); the reference they share
with every other path is :func:`outlayer.losses.cross_entropy`. Bad input raises
:class:`InputError` (a ``ValueError``) with one line naming the bad value.
"""

from outlayer._dispatch import cross_entropy, cross_entropy_with_grad
from outlayer._validate import InputError
from outlayer.activations import log_sigmoid, log_softmax, logsumexp, sigmoid, softmax
from outlayer.encoding import LabelCoder, NotFittedError, one_hot
from outlayer.losses import (
    LOSS_NAMES,
    Loss,
    binary_cross_entropy,
    binary_cross_entropy_with_grad,
    get_loss,
    mse,
    mse_with_grad,
    nll_loss,
    nll_loss_with_grad,
)

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "LOSS_NAMES",
    "LabelCoder",
    "Loss",
    "NotFittedError",
    "__version__",
    "binary_cross_entropy",
    "binary_cross_entropy_with_grad",
    "cross_entropy",
    "cross_entropy_with_grad",
    "get_loss",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "mse",
    "mse_with_grad",
    "nll_loss",
    "nll_loss_with_grad",
    "one_hot",
    "sigmoid",
    "softmax",
]
