"""Error surfaces, gradient fields and descent paths of the output-layer losses.

The lecture's picture, made measurable: a 3-class output with target class 1 (index 0), y3 held
at -inf (the lecture's "y3 -> -inf": class 3 has probability 0) and (y1, y2) swept over
[-10, 10]^2. In the "wrong but confident" corner (y1 = -10, y2 = 10) the softmax gives the target
p1 = sigmoid(y1 - y2) ~ 2e-9. There the cross-entropy gradient has norm ~ sqrt(2) while the
gradient of MSE on the probabilities is ~ 1e-8: gradient descent leaves the corner in a few
steps with CE and stays for millions of steps with MSE.

Everything here generalises: any number of classes K, any target class, any pair of swept
logits, any values (or -inf) for the others (a :class:`LogitPlane`), and every K-output loss of
:mod:`outlayer.catalogue`. The package is split by job: :mod:`~outlayer.surface._compute`
(losses and gradients from the core, plane optima, descent paths, margin cuts: arrays only),
:mod:`~outlayer.surface._assemble` (:func:`run`: the lab's JSON result, with every setting from
:class:`outlayer.config.SurfaceConfig`) and :mod:`~outlayer.surface._draw` (the figures).

Conventions:

* Class indices are 0-based in the API (``target=0`` is the lecture's class 1); figures label the
  logits y1..yK as the lecture does.
* The two swept logits are called ``u`` (``swept[0]``, the x axis of every figure) and ``v``
  (``swept[1]``, the y axis). A grid ``Surface`` is indexed ``[row, column] = [v, u]``, so
  ``ax.contour(s.axis, s.axis, s.loss)`` draws it the right way round.
* ``grad[..., 0] = dL/du``, ``grad[..., 1] = dL/dv``: the two swept columns of the core's
  per-sample gradient dL/dlogits. "Gradient norm" is the Euclidean norm of that pair.
* A loss is summed over classes per sample, as the core defines it (MSE has no 1/2, no 1/K), and
  reported minus its constant part (the terms no swept logit changes; see ``Evaluation.constant``).
* A descent path that diverges reaches nothing: its ``steps_to_goal`` is None.
"""

from __future__ import annotations

from outlayer.surface._assemble import MARGIN_CLOSED_FORMS, is_monotone, run
from outlayer.surface._compute import (
    DEFAULT_GOAL,
    DEFAULT_LR,
    DEFAULT_OPTIMIZERS,
    DEFAULT_RESOLUTION,
    DEFAULT_STEPS,
    LECTURE_LIMITS,
    LECTURE_PLANE,
    SWEEP_LRS,
    DescentPath,
    Evaluation,
    LogitPlane,
    PlaneOptimum,
    ProbabilityCurve,
    Surface,
    descent_path,
    descent_paths,
    evaluate,
    evaluate_grid,
    loss_vs_probability,
    margin_cut,
    plane_optimum,
    steps_to_goal_map,
)

__all__ = [
    "DEFAULT_GOAL",
    "DEFAULT_LR",
    "DEFAULT_OPTIMIZERS",
    "DEFAULT_RESOLUTION",
    "DEFAULT_STEPS",
    "LECTURE_LIMITS",
    "LECTURE_PLANE",
    "MARGIN_CLOSED_FORMS",
    "SWEEP_LRS",
    "DescentPath",
    "Evaluation",
    "LogitPlane",
    "PlaneOptimum",
    "ProbabilityCurve",
    "Surface",
    "descent_path",
    "descent_paths",
    "evaluate",
    "evaluate_grid",
    "is_monotone",
    "loss_vs_probability",
    "margin_cut",
    "plane_optimum",
    "run",
    "steps_to_goal_map",
]
