"""Measurements behind the lab's caveats, and the Adam question.

:func:`measure` answers the Adam question: why Adam rescues MSE on the toy surface but not in the
network. It also measures the confident start (each sample's p(true class) against the lecture's
corner) and, with :func:`uniform_gradients` and :func:`loss_scales`, the two caveats that are
numbers: MSE's gradient is 2/K of CE's at uniform predictions, and a loss value is on its own
loss's scale.

Adam's first update of a parameter is ``lr m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = g`` and
``sqrt(v_hat) = |g|`` after one step, i.e. ``lr g / (|g| + eps)``: about ``lr`` whatever the
gradient's scale, once |g| is well above eps. One experiment, two settings:

* The toy (the lecture's plane, one "sample"): MSE's corner gradient (~8e-9 per coordinate) is
  all there is, and it is below eps = 1e-8, so Adam's first step is ~0.45 lr instead of plain
  GD's ~4e-9 lr: Adam removes the scale of the gradient, which is the whole plateau of a single
  point.
* The network (the confident start): every parameter's gradient is a sum over the samples of a
  mini-batch. Adam divides that sum by its own size, so it moves every weight at ~lr for MSE too
  (the parameters' |g| are far above eps): the scale is gone here as well. What Adam cannot
  change is which samples the sum comes from. CE's per-sample gradient is ~sqrt(2) on every
  confidently wrong sample, so all of them shape the step; MSE's is ~4 p_true, which spans tens
  of orders of magnitude at this start (p_true from 1e-40 to 0.2), so one or two samples of the
  batch make the whole gradient and Adam's full-size step follows them. Measured: the effective
  number of samples behind the gradient, (sum |g_i|)^2 / sum |g_i|^2 (N when all push equally, 1
  when one sample does), and the share of misclassified samples whose margin (true logit minus
  the largest other) grows after Adam's first step.

:func:`measure` returns the JSON of both; every loss value and gradient is the core's (through
:mod:`outlayer.surface` and :class:`outlayer.nets.OutputHead`), every step :mod:`outlayer.optim`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from outlayer.config import CompareConfig

__all__ = ["first_step_curve", "loss_scales", "measure", "network_start", "summary_lines", "toy_first_steps", "uniform_gradients"]

#: Gradient scales (in units of eps) of the first-step curve: Adam's step over lr against |g| / eps.
_CURVE_RATIOS = tuple(float(x) for x in np.logspace(-3, 3, 25))


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {"median": None, "q10": None, "q90": None, "n": 0}
    q10, median, q90 = np.quantile(values, [0.1, 0.5, 0.9])
    return {"median": float(median), "q10": float(q10), "q90": float(q90), "n": int(values.size)}


def _adam_first_step(params: Sequence[np.ndarray], grads: Sequence[np.ndarray], lr: float) -> list[np.ndarray]:
    """|Delta theta| / lr of one Adam step from fresh state, per parameter array (the optimiser's own step)."""
    from outlayer.optim import make_optimizer

    moved = [p.copy() for p in params]
    make_optimizer("adam", lr).step(moved, [np.asarray(g) for g in grads])
    return [np.abs(after - before) / lr for after, before in zip(moved, params)]


def _margins(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's true-class logit minus its largest other logit (negative: misclassified)."""
    true = logits[np.arange(len(y)), y]
    others = np.where(np.arange(logits.shape[1])[None, :] == y[:, None], -np.inf, logits).max(axis=1)
    return true - others


def _participation(norms: np.ndarray) -> float:
    """(sum n_i)^2 / sum n_i^2: how many samples effectively make a sum of vectors of these sizes."""
    total, squares = float(np.sum(norms)), float(np.sum(np.square(norms)))
    return total * total / squares if squares > 0 else 0.0


def first_step_curve(lr: float = 1.0) -> dict[str, list[float]]:
    """Adam's measured first step over lr for one coordinate whose gradient is ``ratio * eps``."""
    from outlayer.optim import Adam

    eps = Adam(lr).eps
    steps = [float(_adam_first_step([np.zeros(1)], [np.array([r * eps])], lr)[0][0]) for r in _CURVE_RATIOS]
    return {"grad_over_eps": list(_CURVE_RATIOS), "step_over_lr": steps}


def toy_first_steps(lr: float | None = None) -> dict[str, Any]:
    """The lecture's corner: per loss, the gradient per coordinate, over eps, and Adam's first step over lr."""
    from outlayer.config import SurfaceConfig
    from outlayer.optim import Adam
    from outlayer.surface import LECTURE_PLANE, evaluate

    config = SurfaceConfig()
    lr = config.lr if lr is None else lr
    eps = Adam(lr).eps
    corner = LECTURE_PLANE.wrong_corner(config.limits)
    out: dict[str, Any] = {"corner": list(corner), "lr": lr, "eps": eps, "losses": {}}
    for loss in ("ce", "mse"):
        at = evaluate(loss, corner[0], corner[1])
        grad = np.asarray(at.grad, dtype=float).reshape(2)
        step = _adam_first_step([np.asarray(corner, dtype=float)], [grad], lr)[0]
        out["losses"][loss] = {
            "abs_grad": np.abs(grad).tolist(),
            "grad_over_eps": (np.abs(grad) / eps).tolist(),
            "adam_step_over_lr": step.tolist(),
            "sgd_step_over_lr": np.abs(grad).tolist(),  # plain GD moves lr |g|
            "p_target": float(at.p_target),
        }
    return out


def network_start(seed: int, config: CompareConfig, losses: Sequence[str] = ("ce", "mse")) -> dict[str, Any]:
    """One seed's start: p(true class), per-sample gradients, the first batch's gradient and Adam step."""
    from outlayer.experiments import DEFAULT_LR, _data_source, initial_network
    from outlayer.nets import make_head
    from outlayer.optim import Adam

    data = _data_source(config.dataset, config)(seed)
    out: dict[str, Any] = {"seed": seed, "split_seed": config.split_seed_of(seed), "losses": {}}
    for loss in losses:
        head = make_head(loss, data.n_classes)
        net, shuffle_rng = initial_network(data, head, seed, init=config.init, hidden=config.hidden,
                                           activation=config.activation, confident_std=config.confident_std)
        batch = shuffle_rng.permutation(len(data.y_train))[: config.batch_size]  # train_run's first mini-batch
        X, y = data.X_train[batch], data.y_train[batch]
        logits, layer_inputs = net.forward_with_hidden(X)
        _, per_sample = head.loss_and_grad(logits, y, reduction="none")
        _, batch_grad = head.loss_and_grad(logits, y, reduction="mean")
        grads = net.backward(layer_inputs, batch_grad)
        lr = DEFAULT_LR["adam"][config.init][loss]
        steps = _adam_first_step(net.params, grads, lr)
        eps = Adam(lr).eps
        after = net.copy()
        for param, step, grad in zip(after.params, steps, grads):
            param -= np.sign(grad) * step * lr  # Adam's first step moves against the gradient's sign
        train_logits = net.forward(data.X_train)
        wrong = head.predict(train_logits) != data.y_train
        _, train_grad = head.loss_and_grad(train_logits, data.y_train, reduction="none")
        margins = [_margins(model.forward(data.X_train), data.y_train) for model in (net, after)]
        grown = (margins[1] - margins[0]) > 0
        probabilities = head.probabilities(train_logits)
        assert probabilities is not None  # the probe runs ce and mse, which have a distribution
        p_true = probabilities[np.arange(len(data.y_train)), data.y_train]
        batch_norms = np.linalg.norm(per_sample, axis=1)
        out["losses"][loss] = {
            "adam_lr": lr,
            "eps": eps,
            "p_true_train": _quantiles(p_true),
            "misclassified_share": float(np.mean(wrong)),
            "per_sample_grad_norm": {
                "misclassified": _quantiles(np.linalg.norm(train_grad[wrong], axis=1)),
                "correct": _quantiles(np.linalg.norm(train_grad[~wrong], axis=1)),
            },
            "effective_samples_first_batch": _participation(batch_norms),
            "batch_size": int(len(batch)),
            "param_grad_over_eps": _quantiles(np.concatenate([np.abs(g).ravel() for g in grads]) / eps),
            "adam_step_over_lr": _quantiles(np.concatenate([s.ravel() for s in steps])),
            "misclassified_margin_grows": float(np.mean(grown[wrong])) if wrong.any() else None,
            "margin_change_misclassified": float(np.median((margins[1] - margins[0])[wrong])) if wrong.any() else None,
        }
    return out


def measure(seeds: int | None = None, dataset: str = CompareConfig.dataset) -> dict[str, Any]:
    """The toy and the network (confident start, ``seeds`` evaluation seeds), with the first-step curve."""
    from outlayer.surface import LECTURE_PLANE, evaluate

    chosen: dict[str, Any] = {"seeds": seeds} if seeds is not None else {}
    config = CompareConfig(dataset=dataset, init="confident", optimizer="adam", **chosen)
    network = [network_start(seed, config) for seed in config.seed_list]
    summary = {}
    for loss in ("ce", "mse"):
        entries = [n["losses"][loss] for n in network]
        summary[loss] = {
            key: _quantiles(np.array([value for value in values if value is not None]))
            for key, values in (
                ("median_p_true", [e["p_true_train"]["median"] for e in entries]),
                ("median_grad_misclassified", [e["per_sample_grad_norm"]["misclassified"]["median"] for e in entries]),
                ("effective_samples_first_batch", [e["effective_samples_first_batch"] for e in entries]),
                ("median_param_grad_over_eps", [e["param_grad_over_eps"]["median"] for e in entries]),
                ("median_adam_step_over_lr", [e["adam_step_over_lr"]["median"] for e in entries]),
                ("misclassified_margin_grows", [e["misclassified_margin_grows"] for e in entries]),
            )
        }
    corner = LECTURE_PLANE.wrong_corner()
    from outlayer.data import load_dataset

    classes = load_dataset(dataset, split_seed=config.split_seed_of(config.seed_list[0])).n_classes
    return {
        "setup": {"dataset": dataset, "init": "confident", "seeds": config.seed_list,
                  "batch_size": config.batch_size, "confident_std": config.confident_std,
                  "what": "Adam's first step against the gradient scale and eps: the lecture's corner (toy) and the "
                          "first mini-batch of the network at the confident start (each evaluation seed)"},
        "lecture_corner_p_target": float(evaluate("ce", corner[0], corner[1]).p_target),
        "curve": first_step_curve(),
        "toy": toy_first_steps(),
        "network": network,
        "network_summary": summary,
        "uniform_start": uniform_gradients(classes),
        "loss_scales": loss_scales(),
    }


def uniform_gradients(num_classes: int) -> dict[str, float]:
    """|dL/dz| of CE and MSE at uniform predictions (all logits equal), from the core.

    There p = 1/K, and MSE's gradient p * (g - <g, p>) with g = 2 (p - y) is exactly 2/K times CE's
    p - y: before saturation plays any role, MSE pushes 2/K as hard (0.2 for 10 classes).
    """
    from outlayer.losses import get_loss

    logits, target = np.zeros((1, int(num_classes))), np.array([0])
    norms = {name: float(np.linalg.norm(get_loss(name).with_grad(logits, target, reduction="sum")[1]))
             for name in ("ce", "mse")}
    return {"num_classes": int(num_classes), "ce_grad_norm": norms["ce"], "mse_grad_norm": norms["mse"],
            "ratio_mse_ce": norms["mse"] / norms["ce"], "two_over_k": 2.0 / num_classes}


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The measurement in a few lines of text (the benchmark prints them)."""
    toy, net = result["toy"]["losses"], result["network_summary"]
    lines = [f"toy corner: lr {result['toy']['lr']:g}, eps {result['toy']['eps']:g}"]
    for loss in ("ce", "mse"):
        lines.append(f"  {loss}: |g| {max(toy[loss]['abs_grad']):.3g} = {max(toy[loss]['grad_over_eps']):.3g} eps; "
                     f"Adam's first step {min(toy[loss]['adam_step_over_lr']):.3f} lr, plain GD's "
                     f"{max(toy[loss]['sgd_step_over_lr']):.3g} lr")
    lines.append(f"network, confident start, {len(result['setup']['seeds'])} seeds (medians over seeds):")
    for loss in ("ce", "mse"):
        s = net[loss]
        lines.append(f"  {loss}: median p(true) {s['median_p_true']['median']:.2g}; per-parameter |g| "
                     f"{s['median_param_grad_over_eps']['median']:.3g} eps; Adam's first step "
                     f"{s['median_adam_step_over_lr']['median']:.3f} lr; effective samples behind the first batch's "
                     f"gradient {s['effective_samples_first_batch']['median']:.3g} of {result['setup']['batch_size']}; "
                     f"misclassified samples whose margin grows after it {s['misclassified_margin_grows']['median']:.0%}")
    lines.append(f"lecture corner p(target) {result['lecture_corner_p_target']:.3g}")
    return lines


def loss_scales(logits: Sequence[float] = (2.0, 1.0, 0.1), target: int = 0) -> dict[str, Any]:
    """The worked example's CE and its MSE under the conventions in use (the core computes both).

    outlayer and the lecture sum MSE over the classes; PyTorch's ``MSELoss`` averages over them
    (1/K of it), and some texts halve the sum. The same prediction gets three MSE values, none of
    which compares with CE's value in nats: loss values of different losses are not comparable.
    """
    from outlayer.losses import cross_entropy, mse

    z = np.asarray(logits, dtype=float)[None]
    y = np.array([int(target)])
    summed = float(mse(z, y, reduction="sum"))
    k = z.shape[1]
    return {"logits": list(map(float, logits)), "target": int(target), "num_classes": k,
            "ce": float(cross_entropy(z, y, reduction="sum")), "mse_sum": summed, "mse_mean_over_classes": summed / k,
            "mse_half_sum": summed / 2.0}
