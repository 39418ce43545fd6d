"""The one catalogue of the lab's losses: name, label, description, options, colour.

Every part of the lab reads its loss names from here: the network's output heads
(:mod:`outlayer.nets`), the training lab and its configuration, the surface lab, the figures
(one colour per loss everywhere, so a reader learns them once), the report's tables and the
command line's choices. The formulas are not here: each K-output loss is the core's
(:func:`outlayer.losses.get_loss`, named by ``core``); ``scalar`` regresses the class number
with the core's square loss on one output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["CATALOGUE", "LAB_LOSSES", "LossInfo", "LossOption", "PLANE_LOSSES", "loss_info"]


@dataclass(frozen=True)
class LossOption:
    """A keyword option of a loss: the core's argument ``name``, its command-line ``flag``, default."""

    name: str
    flag: str
    default: float
    help: str


@dataclass(frozen=True)
class LossInfo:
    """One loss of the lab.

    ``core`` is the name in :mod:`outlayer.losses`' registry (``None``: not a K-output loss, so it
    has no probabilities and no error surface). ``separable``: the loss is a sum of per-class
    terms, each depending only on its own class's logit (the square loss on logits), so the
    terms of logits held fixed are a constant that the surface lab reports apart.
    """

    name: str
    label: str
    colour: str
    core: str | None
    options: tuple[LossOption, ...] = ()
    separable: bool = False
    own_description: str = field(default="", repr=False)

    @property
    def description(self) -> str:
        """One line; the core's description for the core's losses (one source for it)."""
        if self.core is None:
            return self.own_description
        from outlayer.losses import get_loss

        return get_loss(self.core).description

    @property
    def has_probabilities(self) -> bool:
        return self.core is not None

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(option.name for option in self.options)


_ENTRIES = (
    LossInfo("ce", "cross-entropy (CE)", "#1f77b4", "ce"),
    LossInfo("mse", "MSE on probabilities", "#d62728", "mse"),
    LossInfo("mse-logits", "square loss on logits", "#ff7f0e", "mse-logits", options=(
        LossOption("true_class_weight", "--mse-k", 1.0, "weight k of the true class's term (Hui & Belkin)"),
        LossOption("true_class_target", "--mse-m", 1.0, "target M of the true class (Hui & Belkin)"),
    ), separable=True),
    LossInfo("ce-smooth", "CE + label smoothing", "#2ca02c", "ce-smooth", options=(
        LossOption("label_smoothing", "--smoothing", 0.1, "label smoothing of ce-smooth"),
    )),
    LossInfo("scalar", "one scalar output", "#7f7f7f", None,
             own_description="one output regressing the class number 0..K-1 with the square loss"),
)

#: name -> :class:`LossInfo`, in display order.
CATALOGUE: Mapping[str, LossInfo] = MappingProxyType({entry.name: entry for entry in _ENTRIES})
#: Every loss the training lab can train with.
LAB_LOSSES: tuple[str, ...] = tuple(CATALOGUE)
#: The K-output losses: those with an error surface over the logits.
PLANE_LOSSES: tuple[str, ...] = tuple(name for name, entry in CATALOGUE.items() if entry.core is not None)


def loss_info(name: str) -> LossInfo:
    """The catalogue entry of ``name``; an unknown name raises ValueError listing the known ones."""
    try:
        return CATALOGUE[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LAB_LOSSES)}") from None
