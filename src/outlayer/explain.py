"""The worked example, step by step: logits -> exponentials -> probabilities -> CE, MSE and their gradients.

Every number comes from the core (:func:`outlayer.softmax`, :func:`outlayer.cross_entropy_with_grad`,
:func:`outlayer.mse_with_grad`); the exponentials and their sum are shown for reading only and
are checked against the core's probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from outlayer.activations import sigmoid, softmax
from outlayer.losses import cross_entropy_with_grad, mse_with_grad

__all__ = ["DEFAULT_CLASSES", "DEFAULT_LOGITS", "explain", "format_explanation"]

DEFAULT_LOGITS: tuple[float, ...] = (2.0, 1.0, 0.1)
DEFAULT_CLASSES: tuple[str, ...] = ("cat", "dog", "rabbit")


def explain(
    logits: Sequence[float] = DEFAULT_LOGITS,
    target: str | int | None = None,
    classes: Sequence[str] | None = None,
    temperature: float = 1.0,
) -> dict[str, Any]:
    """Every step of softmax, cross-entropy and MSE for one sample, as a JSON-able dict.

    Args:
      logits: one score per class (at least 2).
      target: the true class, by name or index; default the first class.
      classes: class names; default cat/dog/rabbit for 3 logits, else "0", "1", ...
      temperature: softmax temperature T (the logits are divided by T).

    Returns:
      A dict with the inputs, ``exp`` (of logits / T, shifted by nothing: the textbook form),
      ``sum_exp``, ``probabilities``, ``cross_entropy`` (natural log), ``mse`` (summed over classes),
      the gradient of each loss with respect to each logit, the prediction, and for two classes
      the sigmoid equivalence.
    """
    values = [float(v) for v in logits]
    if len(values) < 2:
        raise ValueError(f"need at least 2 logits, got {len(values)}")
    for i, v in enumerate(values):
        if not math.isfinite(v):
            raise ValueError(f"logit {v} at position {i} is not a finite number")
    if classes is None:
        classes = DEFAULT_CLASSES if len(values) == len(DEFAULT_CLASSES) else tuple(str(i) for i in range(len(values)))
    classes = [str(c) for c in classes]
    if len(classes) != len(values):
        raise ValueError(f"got {len(values)} logits but {len(classes)} class names; give one name per logit")
    if len(set(classes)) != len(classes):
        raise ValueError(f"class names must be distinct, got {' '.join(classes)}")
    target_index = _target_index(target, classes)

    z = np.asarray(values, dtype=np.float64)
    probs = softmax(z, temperature=temperature)
    ce, ce_grad = cross_entropy_with_grad(z / temperature, np.int64(target_index), reduction="sum")
    mse_value, mse_grad = mse_with_grad(z / temperature, np.int64(target_index), reduction="sum")
    # the losses see z / T, so d/dz = (1/T) d/d(z/T)
    ce_grad, mse_grad = ce_grad / temperature, mse_grad / temperature
    scaled = z / temperature
    # textbook exponentials for display; overflow-safe softmax is the core's job
    with np.errstate(over="ignore"):
        exps = np.exp(scaled)
    one_hot_row = np.zeros(len(values))
    one_hot_row[target_index] = 1.0
    predicted = int(np.argmax(probs))

    result: dict[str, Any] = {
        "classes": classes,
        "logits": values,
        "temperature": float(temperature),
        "target": classes[target_index],
        "target_index": target_index,
        "one_hot": one_hot_row.tolist(),
        "scaled_logits": scaled.tolist(),
        "exp": [float(e) if math.isfinite(e) else None for e in exps],
        "sum_exp": float(exps.sum()) if math.isfinite(exps.sum()) else None,
        "probabilities": probs.tolist(),
        "cross_entropy": float(ce),
        "mse": float(mse_value),
        "grad_cross_entropy": ce_grad.tolist(),
        "grad_mse": mse_grad.tolist(),
        "prediction": classes[predicted],
        "prediction_index": predicted,
        "correct": predicted == target_index,
    }
    if len(values) == 2:
        difference = values[0] - values[1]
        result["sigmoid"] = {
            "difference": difference,
            "sigmoid_of_difference": float(sigmoid(np.float64(difference), temperature=temperature)),
            "softmax_first": float(probs[0]),
        }
    return result


def _target_index(target: str | int | None, classes: list[str]) -> int:
    if target is None:
        return 0
    name = str(target)
    if name in classes:
        return classes.index(name)
    try:
        index = int(name)
    except ValueError:
        raise ValueError(f"unknown target {name!r}; expected one of: {', '.join(classes)}") from None
    if not 0 <= index < len(classes):
        raise ValueError(f"target index {index} is out of range for {len(classes)} classes")
    return index


def format_explanation(result: dict[str, Any]) -> str:
    """The explanation as plain text, one step per block."""
    classes = result["classes"]
    width = max(len(c) for c in classes)
    temperature = result["temperature"]
    k = result["target_index"]
    lines = [
        f"Logits z = [{', '.join(_num(v) for v in result['logits'])}]   target: {result['target']} "
        f"(one-hot y = [{', '.join(_num(v, 0) for v in result['one_hot'])}])",
    ]
    if temperature != 1.0:
        lines.append(f"Temperature T = {_num(temperature)}: every logit is divided by T first.")
    lines += ["", "1. Exponentials (always positive):"]
    terms = [f"exp({_num(s)})" for s in result["scaled_logits"]]
    term_width = max(len(t) for t in terms)
    for c, term, e in zip(classes, terms, result["exp"]):
        lines.append(f"   {c:>{width}}: {term:<{term_width}} = {_num(e) if e is not None else 'overflow'}")
    total = result["sum_exp"]
    lines += [f"   sum = {_num(total) if total is not None else 'overflow (the core shifts by the max instead)'}", ""]
    lines.append("2. Softmax: divide each by the sum (probabilities, summing to 1):")
    for c, p in zip(classes, result["probabilities"]):
        lines.append(f"   p({c:>{width}}) = {p:.6f}  {'#' * round(40 * p)}")
    p_target = result["probabilities"][k]
    lines += [
        "",
        "3. Cross-entropy (natural log): -sum_i y_i ln p_i = -ln p(target)",
        f"   = -ln {p_target:.6f} = {result['cross_entropy']:.6f}",
        "",
        "4. MSE (summed over classes): sum_i (p_i - y_i)^2",
        "   = " + " + ".join(f"({p:.4f} - {int(t)})^2" for p, t in zip(result["probabilities"], result["one_hot"])),
        f"   = {result['mse']:.6f}",
        "",
        "5. Gradients with respect to each logit:",
        f"   {'':>{width}}   dCE/dz      dMSE/dz",
    ]
    for c, gc, gm in zip(classes, result["grad_cross_entropy"], result["grad_mse"]):
        lines.append(f"   {c:>{width}}  {gc:+.6f}   {gm:+.6f}")
    if temperature == 1.0:
        lines.append("   CE: p - one-hot.  MSE: each component carries a factor p, so it fades as softmax saturates.")
    else:  # the losses see y / T, so the chain rule divides both gradients by T
        lines.append(f"   CE: (p - one-hot) / T, with T = {_num(temperature)}.  MSE: also divided by T, and each "
                     "component carries a factor p, so it fades as softmax saturates.")
    verdict = "correct" if result["correct"] else f"wrong (target {result['target']})"
    lines += ["", f"6. Prediction: {result['prediction']} (argmax), {verdict}."]
    if "sigmoid" in result:
        s = result["sigmoid"]
        left = f"sigmoid((z1 - z2) / T) = sigmoid({_num(s['difference'] / temperature)})"
        lines += [
            "",
            "7. Two classes: softmax is the sigmoid of the difference of the logits.",
            f"   {left} = {s['sigmoid_of_difference']:.12f}",
            f"   {'p1 = softmax(z / T)_1':<{len(left)}} = {s['softmax_first']:.12f}",
        ]
    return "\n".join(lines)


def _num(value: float, digits: int = 6) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return text if text not in ("-0", "") else "0"
