"""The seven sections of the report, built from the labs' results (never re-computed here).

Each builder takes the job results (see :mod:`outlayer.report._jobs`) and returns a
:class:`~outlayer.report._page.Section` whose ``data`` is written to ``data/<key>.json``; every
number in its text goes through :class:`~outlayer.report._page.Numbers`, i.e. is read back from
that data. Sentences that compare two results choose their words from the measured numbers
(:func:`relation`), so the text stays true whatever a run measures.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from outlayer.catalogue import CATALOGUE
from outlayer.report._jobs import BEYOND_LOSSES, TEMPERATURES, TRAINING_CELLS
from outlayer.report._page import Figure, Numbers, Section, explorer_html, table

__all__ = ["build_sections", "relation"]

Results = Mapping[str, Mapping[str, Any]]

#: Each loss's name on the page: the catalogue's label (:mod:`outlayer.catalogue`).
LOSS_LABELS: dict[str, str] = {name: entry.label for name, entry in CATALOGUE.items()}


def relation(a: Mapping[str, Any], b: Mapping[str, Any], paired: Mapping[str, Any] | None = None) -> str:
    """How ``a`` stands to ``b``, in words that the numbers of this run support.

    With ``paired`` (the per-seed difference a - b from ``compare()["paired"]``, or its mirror
    b - a with ``"flip": True``): "clearly above" / "clearly below" only when both its 95 %
    paired-t and bootstrap intervals exclude 0, otherwise "not clearly different from". Without
    it, ``a`` and ``b`` are {"mean", "ci95"} statistics and "clearly" needs intervals that do not
    overlap; overlapping intervals do not show equality, so the words stay "not clearly different
    from". With a single seed there is no interval and the words only say which mean is larger.
    """
    if a.get("mean") is None or b.get("mean") is None:
        return "not comparable (a run diverged)"
    if paired is not None:
        sign = -1.0 if paired.get("flip") else 1.0
        t, boot = paired.get("t_ci95"), paired.get("bootstrap_ci95")
        if paired.get("mean") is None:
            return "not comparable (a run diverged)"
        if t is None:
            mean = sign * paired["mean"]
            return "equal to" if mean == 0 else ("above" if mean > 0 else "below") + " (one seed, no interval)"
        intervals = [sorted((sign * low, sign * high)) for low, high in (t, boot or t)]
        if all(low > 0 for low, _ in intervals):
            return "clearly above"
        if all(high < 0 for _, high in intervals):
            return "clearly below"
        return "not clearly different from"
    if a.get("ci95") is None or b.get("ci95") is None:
        if a["mean"] == b["mean"]:
            return "equal to"
        return ("above" if a["mean"] > b["mean"] else "below") + " (one seed, no interval)"
    if a["ci95"][0] > b["ci95"][1]:
        return "clearly above"
    if a["ci95"][1] < b["ci95"][0]:
        return "clearly below"
    return "not clearly different from"


def _paired_data(result: Mapping[str, Any], losses: Sequence[str]) -> dict[str, Any]:
    """The paired differences of ``compare()`` between the given losses."""
    return {key: entry for key, entry in result.get("paired", {}).items() if entry["a"] in losses and entry["b"] in losses}


def _paired(section_paired: Mapping[str, Any], a: str, b: str) -> tuple[str, Mapping[str, Any], bool]:
    """(key, entry of the test accuracy difference, flipped): the stored entry for a - b or b - a."""
    if f"{a} - {b}" in section_paired:
        return f"{a} - {b}", section_paired[f"{a} - {b}"], False
    return f"{b} - {a}", section_paired[f"{b} - {a}"], True


def _interval(numbers: Numbers, path: str, fmt: str, key: str, extra: str | None = None) -> str:
    """``mean [low, high]`` of the statistic at ``path`` (interval under ``key``), and the ``extra``
    interval in parentheses when there is one; each number tagged."""
    entry = numbers.value(path)
    if entry["mean"] is None:
        return "n/a"
    text = numbers(f"{path}/mean", fmt)
    if entry.get(key) is not None:
        text += f' <span class="note">[{numbers(f"{path}/{key}/0", fmt)}, {numbers(f"{path}/{key}/1", fmt)}]'
        if extra is not None and entry.get(extra) is not None:
            text += f' (bootstrap {numbers(f"{path}/{extra}/0", fmt)}, {numbers(f"{path}/{extra}/1", fmt)})'
        text += "</span>"
    return text


def _difference(numbers: Numbers, path: str, fmt: str = ".1%") -> str:
    """``mean [t low, t high] (bootstrap low, high)`` of a paired difference at ``path``, tagged."""
    return _interval(numbers, path, fmt, "t_ci95", "bootstrap_ci95")


def _paired_relation(summary: Mapping[str, Any], paired: Mapping[str, Any], a: str, b: str,
                     metric: str = "test_accuracy") -> str:
    _, entry, flipped = _paired(paired, a, b)
    return relation(summary[a][metric], summary[b][metric], {**entry[metric], "flip": flipped})


def _stat(numbers: Numbers, path: str, fmt: str = ".1%") -> str:
    """``mean [low, high]`` of a mean_ci95 entry at ``path``, each number tagged."""
    return _interval(numbers, path, fmt, "ci95")


def _compare_data(result: Mapping[str, Any], losses: Sequence[str]) -> dict[str, Any]:
    """The part of a compare() result a section shows: config, and summary/curves/runs of ``losses``."""
    return {
        "config": result["config"],
        "summary": {k: result["summary"][k] for k in losses},
        "curves": {k: result["curves"][k] for k in losses},
        "runs": [r for r in result["runs"] if r["loss"] in losses],
    }


def _setup_phrase(numbers: Numbers, prefix: str) -> str:
    """"digits (10 classes, 450 test samples), 5 seeds, 20 epochs of sgd from a gentle start"."""
    at = (lambda path: f"{prefix}/{path}") if prefix else (lambda path: path)
    config = numbers.value(at("config"))
    return (f"{html.escape(str(config['dataset']['name']))} ({numbers(at('config/dataset/n_classes'), 'd')} classes, "
            f"{numbers(at('config/dataset/n_test'), 'd')} test samples), {len(config['seeds'])} seeds, "
            f"{numbers(at('config/epochs'), 'd')} epochs of {html.escape(config['optimizer'])} from a "
            f"{html.escape(config['init'])} start")


def _figure(result: Mapping[str, Any], stem: str, caption: str) -> Figure:
    """A PNG figure a job drew into figures/ (``result["figures"]``: stem -> file name)."""
    return Figure(f"figures/{Path(result['figures'][stem]).stem}", caption, formats=("png",))


# ----------------------------------------------------------------------------------- section 1
def labels_section(results: Results) -> Section:
    main, ordinal = results["gentle-sgd"], results["ordinal"]
    section = Section("labels", "Labels: class numbers vs one-hot")
    section.data = {"dataset": _compare_data(main, ("scalar", "ce")), "ordinal": _compare_data(ordinal, ("scalar", "ce"))}
    n = Numbers(section.key, section.data)
    summary = section.data["dataset"]["summary"]
    section.paragraph(
        "A classifier can give one output and read the class off its value (rounded to the nearest class number), "
        "or give one output per class and learn one-hot targets through softmax and cross-entropy.",
        f"On {_setup_phrase(n, 'dataset')}, the single output reaches {_stat(n, 'dataset/summary/scalar/test_accuracy')} "
        f"test accuracy and the one-hot output {_stat(n, 'dataset/summary/ce/test_accuracy')}; the scalar output is "
        f"{relation(summary['scalar']['test_accuracy'], summary['ce']['test_accuracy'])} the one-hot one.",
        "Class numbers tell the network that class 2 lies between classes 1 and 3, an order and a distance that "
        "names of things do not have.",
    )
    ordinal_summary = section.data["ordinal"]["summary"]
    section.paragraph(
        "The exception is a label that really is a position on a line.",
        f"On the ordinal set, whose {n('ordinal/config/dataset/n_classes', 'd')} classes are consecutive intervals of "
        f"one hidden number, the single output reaches {_stat(n, 'ordinal/summary/scalar/test_accuracy')} against "
        f"{_stat(n, 'ordinal/summary/ce/test_accuracy')} for one-hot: there it is "
        f"{relation(ordinal_summary['scalar']['test_accuracy'], ordinal_summary['ce']['test_accuracy'])} the one-hot output.",
    )
    rows = [
        [html.escape(str(n.value(f"{part}/config/dataset/name"))), LOSS_LABELS[loss],
         _stat(n, f"{part}/summary/{loss}/test_accuracy")]
        for part in ("dataset", "ordinal") for loss in ("scalar", "ce")
    ]
    section.add(table("Test accuracy, mean over seeds [95% interval]", ["dataset", "output", "test accuracy"], rows,
                      numeric_from=2))
    section.figures([
        _figure(main, "labels_dataset_accuracy", f"Accuracy per epoch on {html.escape(str(n.value('dataset/config/dataset/name')))}: scalar vs one-hot."),
        _figure(ordinal, "labels_ordinal_accuracy", "Accuracy per epoch on the ordinal set: scalar vs one-hot."),
    ])
    return section


# ----------------------------------------------------------------------------------- section 2
def softmax_section(results: Results, figure: Figure) -> Section:
    worked, two = results["explain"], results["explain-two"]
    temperatures = [results[f"explain-T{t:g}"] for t in TEMPERATURES]
    section = Section("softmax", "The network and softmax")
    two_class = {
        **two["sigmoid"],
        "abs_difference": abs(two["sigmoid"]["sigmoid_of_difference"] - two["sigmoid"]["softmax_first"]),
    }
    section.data = {"worked": worked, "temperatures": temperatures, "two_class": {**two, "sigmoid": two_class}}
    n = Numbers(section.key, section.data)
    classes = worked["classes"]
    logits = ", ".join(n(f"worked/logits/{i}", ".1f") for i in range(len(classes)))
    section.paragraph(
        "The network's last layer is linear: it turns the hidden features into one raw score (a logit) per class, "
        f"any real number. For the worked example the logits are [{logits}] for {', '.join(map(html.escape, classes))}.",
        f"Softmax exponentiates each score, which makes it positive, and divides by the sum of the exponentials "
        f"({n('worked/sum_exp', '.4f')}), so the outputs are probabilities that add up to 1.",
    )
    rows = [[html.escape(c), n(f"worked/logits/{i}", ".1f"), n(f"worked/exp/{i}", ".4f"),
             n(f"worked/probabilities/{i}", ".4f")] for i, c in enumerate(classes)]
    section.add(table("The worked example step by step", ["class", "logit z", "exp(z)", "softmax p"], rows))
    top = worked["target_index"]
    p_by_t = [t["probabilities"][top] for t in temperatures]
    sharpens = all(a > b for a, b in zip(p_by_t, p_by_t[1:]))
    listed = ", ".join(
        f"{n(f'temperatures/{i}/probabilities/{top}', '.3f')} at T = {n(f'temperatures/{i}/temperature', 'g')}"
        for i in range(len(temperatures))
    )
    section.paragraph(
        "A temperature T divides the logits before softmax.",
        f"The probability of {html.escape(classes[top])} is {listed}"
        + ("; a low temperature sharpens the distribution towards the largest logit and a high one flattens it."
           if sharpens else "."),
    )
    section.paragraph(
        "With two classes softmax needs only the difference of the two logits, and it is the sigmoid of that difference.",
        f"For logits [{n('two_class/logits/0', '.1f')}, {n('two_class/logits/1', '.1f')}], softmax gives "
        f"{n('two_class/sigmoid/softmax_first', '.15f')} for the first class and sigmoid of the difference gives "
        f"{n('two_class/sigmoid/sigmoid_of_difference', '.15f')}, a difference of {n('two_class/sigmoid/abs_difference', '.1e')}.",
    )
    section.figures([figure])
    return section


# ----------------------------------------------------------------------------------- section 3
def loss_section(results: Results, figure: Figure) -> Section:
    worked, wrong = results["explain"], results["explain-rabbit"]
    section = Section("loss", "The loss: cross-entropy vs MSE")
    section.data = {
        "worked": worked,
        "wrong": wrong,
        "wrong_target_push_ratio": abs(wrong["grad_cross_entropy"][wrong["target_index"]] / wrong["grad_mse"][wrong["target_index"]]),
    }
    n = Numbers(section.key, section.data)
    t, tw = worked["target_index"], wrong["target_index"]
    section.paragraph(
        f"Take {html.escape(worked['target'])} as the true class, one-hot [{', '.join(n(f'worked/one_hot/{i}', 'g') for i in range(len(worked['classes'])))}].",
        f"Cross-entropy is minus the log of the probability given to the true class: "
        f"−ln {n(f'worked/probabilities/{t}', '.4f')} = {n('worked/cross_entropy', '.4f')}.",
        f"MSE, summed over the classes of the probability vector, is {n('worked/mse', '.4f')}.",
    )
    section.paragraph(
        f"The gradient of CE with respect to the logits is p minus the one-hot target "
        f"({n(f'worked/grad_cross_entropy/{t}', '.4f')} on the {html.escape(worked['target'])} logit); "
        f"MSE's gradient passes through the softmax, so every component is multiplied by a probability "
        f"({n(f'worked/grad_mse/{t}', '.4f')} on the same logit).",
        f"If the true class were {html.escape(wrong['target'])}, which gets p = {n(f'wrong/probabilities/{tw}', '.4f')}, "
        f"CE would be {n('wrong/cross_entropy', '.4f')} and its gradient on the {html.escape(wrong['target'])} logit "
        f"{n(f'wrong/grad_cross_entropy/{tw}', '.4f')}, {n('wrong_target_push_ratio', '.1f')} times MSE's "
        f"{n(f'wrong/grad_mse/{tw}', '.4f')} (a step against the gradient raises that logit): the more confidently "
        "wrong the model, the more the softmax factor shrinks MSE's push.",
    )
    header = ["class", "p", "one-hot", "∂CE/∂z", "∂MSE/∂z"]
    for key, result in (("worked", worked), ("wrong", wrong)):
        rows = [[html.escape(c), n(f"{key}/probabilities/{i}", ".4f"), n(f"{key}/one_hot/{i}", "g"),
                 n(f"{key}/grad_cross_entropy/{i}", ".4f"), n(f"{key}/grad_mse/{i}", ".4f")]
                for i, c in enumerate(result["classes"])]
        caption = (f"Target {html.escape(result['target'])}: CE = {n(f'{key}/cross_entropy', '.4f')}, "
                   f"MSE = {n(f'{key}/mse', '.4f')}")
        section.add(table(caption, header, rows))
    section.figures([figure])
    section.add(explorer_html(worked["logits"], t, worked["classes"], worked["temperature"]))
    return section


# ----------------------------------------------------------------------------------- section 4
def _fixed_text(numbers: Numbers, setup: Mapping[str, Any]) -> str:
    """"y3 = −∞" for a held-out logit, else its tagged value."""
    parts = []
    for c, value in setup["fixed"].items():
        shown = "−∞" if value == "-inf" else numbers(f"setup/fixed/{c}", "g")
        parts.append(f"y{int(c) + 1} = {shown}")
    return ", ".join(parts)


def _steps_cell(numbers: Numbers, loss: str, entry: Mapping[str, Any], optimizer: str,
                steps_path: str = "setup/steps") -> str:
    path = entry["paths"][optimizer]
    if path["steps_to_p90"] is not None:
        return numbers(f"losses/{loss}/paths/{optimizer}/steps_to_p90", "d")
    if not entry["goal_reachable"]:
        return "unreachable"
    if path["diverged"]:
        return "diverged"
    return f"> {numbers(steps_path, 'd')}"


def surface_section(results: Results) -> Section:
    surface = results["surface"]
    section = Section("surface", "The error surface")
    section.data = {key: value for key, value in surface.items() if key != "figures"}
    n = Numbers(section.key, section.data)
    setup = surface["setup"]
    losses = surface["losses"]
    u, v = setup["swept_names"]
    target = f"y{setup['target'] + 1}"
    held_out = bool(setup.get("held_out"))
    section.paragraph(
        f"The lecture's picture: {n('setup/num_classes', 'd')} classes with {target} the true class's logit, "
        f"{_fixed_text(n, setup)} held fixed"
        + (" (that class cannot occur: its probability is exactly 0 and label smoothing gives it no mass)"
           if held_out else "")
        + f", and the error plotted over ({u}, {v}) in [{n('setup/limits/0', 'g')}, {n('setup/limits/1', 'g')}]².",
        f"In the wrong-but-confident corner ({u}, {v}) = ({n('setup/start/0', 'g')}, {n('setup/start/1', 'g')}) "
        f"the true class has probability {n('losses/ce/corner/p_target', '.1e')}; the CE gradient there has norm "
        f"{n('losses/ce/corner/grad_norm', '.3f')} and the MSE gradient {n('losses/mse/corner/grad_norm', '.1e')}, "
        f"{n('corner_grad_norm_ratio_ce_mse', '.1e')} times smaller: MSE's surface is flat exactly where the model is "
        "most wrong.",
    )
    primary = setup["steps_to_p90_optimizer"]
    ce_steps, mse_steps = losses["ce"]["steps_to_p90"], losses["mse"]["steps_to_p90"]

    def reached(loss: str, value: int | None) -> str:
        if value is None:
            return f"does not get there within {n('setup/steps', 'd')} steps"
        return f"needs {n(f'losses/{loss}/steps_to_p90', 'd')} steps"

    stuck = losses["mse"]["paths"][primary]["extrapolated_steps_to_p90"]
    sentences = [f"Gradient descent ({html.escape(primary)}, learning rate {n('setup/lr', 'g')}) from that corner until "
                 f"the true class has p ≥ {n('setup/goal', 'g')}: CE {reached('ce', ce_steps)}, "
                 f"MSE {reached('mse', mse_steps)}."]
    if stuck is not None:
        sentences.append(f"At the pace it keeps on the plateau, MSE would need about "
                         f"{n(f'losses/mse/paths/{primary}/extrapolated_steps_to_p90', '.1e')} steps.")
    section.paragraph(*sentences)
    unreachable = [loss for loss, entry in losses.items() if not entry["goal_reachable"]]
    reach_sentences = ["A goal counts only where it can be reached: each loss's lowest point on the whole plane "
                       "is searched, and a path that passes the goal on its way elsewhere (overshooting) or diverges "
                       "is not counted."]
    for loss in unreachable:
        reach_sentences.append(
            f"The {html.escape(LOSS_LABELS.get(loss, loss))} is lowest at ({n(f'losses/{loss}/optimum/point/0', '.3g')}, "
            f"{n(f'losses/{loss}/optimum/point/1', '.3g')}), where p = {n(f'losses/{loss}/optimum/p_target', '.3f')} "
            f"&lt; {n('setup/goal', 'g')}: its goal is unreachable, so it has no step count"
            + ("; some of its paths cross the goal while overshooting."
               if any(path["first_above_goal"] is not None for path in losses[loss]["paths"].values()) else "."))
    for loss in losses:
        if loss in unreachable or loss not in ("ce-smooth",):
            continue
        reach_sentences.append(
            f"{html.escape(LOSS_LABELS.get(loss, loss))} tops out at p = {n(f'losses/{loss}/optimum/p_target', '.3f')} "
            f"(its smoothed target), above the goal.")
    constants = [loss for loss, entry in losses.items() if entry["constant_is_infinite"] or entry["constant"]]
    if constants:
        reach_sentences.append(
            "Every loss is shown minus its constant part, the terms no swept logit changes: for the "
            + ", ".join(html.escape(LOSS_LABELS.get(loss, loss)) for loss in constants)
            + " that is the held-out logit's square, "
            + ("infinite" if all(losses[loss]["constant_is_infinite"] for loss in constants) else "a constant")
            + " here.")
    section.paragraph(*reach_sentences)
    section.paragraph(*_adam_sentence(n, surface))
    optimizers = setup["optimizers"]
    names = {"sgd": "plain GD", "momentum": "momentum 0.9", "adam": "Adam"}
    rows = []
    for loss, entry in losses.items():
        constant = "∞" if entry["constant_is_infinite"] else n(f"losses/{loss}/constant", ".3g")
        rows.append([LOSS_LABELS.get(loss, html.escape(loss)), constant,
                     n(f"losses/{loss}/corner/loss", ".3g"), n(f"losses/{loss}/corner/grad_norm", ".3g"),
                     n(f"losses/{loss}/optimum/p_target", ".3f"), "yes" if entry["goal_reachable"] else "no",
                     *[_steps_cell(n, loss, entry, opt) for opt in optimizers]])
    section.add(table(f"At the corner ({n('setup/start/0', 'g')}, {n('setup/start/1', 'g')}), over the plane, and "
                      f"steps to p ≥ {n('setup/goal', 'g')} (learning rate {n('setup/lr', 'g')})",
                      ["loss", "constant part", "loss at corner", "|gradient| at corner", "p at optimum",
                       "reachable", *[names.get(opt, html.escape(opt)) for opt in optimizers]], rows))
    captions = {
        "surface_3d": "The error surfaces over the two swept logits (each minus its constant part).",
        "surface_paths": "Contours and descent paths from the wrong corner, one per optimiser.",
        "surface_gradients": "Gradient norm over the plane (log colour scale) with the descent direction.",
        "surface_progress": "The target's probability along each descent path.",
        "surface_margin_cut": "The margin cut: each loss and its slope against m = y1 − y2, closed forms in the legend.",
        "surface_probability": "Loss and gradient norm against the target's probability.",
        "surface_steps_map": "Steps to reach the goal from every start point (grey: never, or unreachable).",
    }
    section.figures([Figure(f"figures/{Path(surface['figures'][stem]).stem}", caption)
                     for stem, caption in captions.items() if stem in surface.get("figures", {})], wide=True)
    return section


def _adam_sentence(n: Numbers, surface: Mapping[str, Any]) -> list[str]:
    """What Adam does on the toy, worded from its measured first step (section 5 measures the network)."""
    adam = (surface.get("adam_vs_plateau") or {}).get("adam")
    if adam is None:
        return []
    ce, mse = adam["steps_to_p90"]["ce"], adam["steps_to_p90"]["mse"]
    first = adam.get("first_step_vs_gradient")
    steps = (f"With Adam, MSE needs {n('adam_vs_plateau/adam/steps_to_p90/mse', 'd')} steps"
             if mse is not None else f"With Adam, MSE does not get there within {n('setup/steps', 'd')} steps")
    steps += (f" and CE {n('adam_vs_plateau/adam/steps_to_p90/ce', 'd')}." if ce is not None
              else " and CE does not get there.")
    if first is None:
        return [steps]
    return [
        steps,
        "Adam's first step is lr |g| / (|g| + eps) in each coordinate: "
        f"{n('adam_vs_plateau/adam/first_step_vs_gradient/mse/step_over_lr/0', '.2f')} lr for MSE, whose corner "
        f"gradient {n('adam_vs_plateau/adam/first_step_vs_gradient/mse/abs_grad/0', '.2g')} is of the order of "
        f"eps = {n('adam_vs_plateau/adam/first_step_vs_gradient/mse/eps', 'g')}, and "
        f"{n('adam_vs_plateau/adam/first_step_vs_gradient/ce/step_over_lr/0', '.2f')} lr for CE.",
        "On this single point the gradient's scale is the whole plateau, and Adam divides it away.",
        "Section 5 measures why the same division does not rescue MSE in the network.",
    ]


# ----------------------------------------------------------------------------------- section 5
def _cell_name(name: str) -> str:
    return html.escape(name.replace("-", " start, "))


def _failures_text(numbers: Numbers, base: str, entry: Mapping[str, Any]) -> str:
    parts = [f"{numbers(f'{base}/{kind}', 'd')} {kind}" for kind in ("collapsed", "diverged") if entry[kind]]
    return ", ".join(parts) if parts else "none"


def training_section(results: Results) -> Section:
    section = Section("training", "Training: CE vs MSE")
    cells = {f"{init}-{opt}": results[f"{init}-{opt}"] for init, opt in TRAINING_CELLS}
    probe = {key: value for key, value in results["adam-probe"].items() if key != "figures"}
    tuning = {key: value for key, value in results["tuning"].items() if key != "figures"}
    section.data = {
        "cells": {name: {**_compare_data(result, ("ce", "mse")), "paired": _paired_data(result, ("ce", "mse"))}
                  for name, result in cells.items()},
        "tuning": tuning,
        "probe": probe,
    }
    n = Numbers(section.key, section.data)
    data = section.data["cells"]
    summaries = {name: cell["summary"] for name, cell in data.items()}

    def versus(name: str, a: str = "mse", b: str = "ce") -> str:
        return _paired_relation(summaries[name], data[name]["paired"], a, b)

    section.paragraph(
        f"The same network trained on {_setup_phrase(n, 'cells/confident-sgd')}: a confident start scales the output "
        f"layer so that the initial logits have a standard deviation of about "
        f"{n('cells/confident-sgd/summary/ce/initial_logit_std/mean', '.0f')}, so most samples begin confidently wrong.",
        f"There CE reaches {_stat(n, 'cells/confident-sgd/summary/ce/test_accuracy')} test accuracy and MSE "
        f"{_stat(n, 'cells/confident-sgd/summary/mse/test_accuracy')}.",
        "At each seed both losses start from the same network, see the mini-batches in the same order and use the "
        "same train/validation/test split, so the two runs of a seed form a pair.",
        f"Per seed, CE minus MSE is {_difference(n, 'cells/confident-sgd/paired/ce - mse/test_accuracy')} "
        f"(mean, [95% paired-t interval], (95% bootstrap interval)): MSE is {versus('confident-sgd')} CE.",
    )
    adam_vs_sgd = relation(summaries["confident-adam"]["mse"]["test_accuracy"],
                           summaries["confident-sgd"]["mse"]["test_accuracy"])
    section.paragraph(
        f"From a gentle start (small random weights) MSE reaches {_stat(n, 'cells/gentle-sgd/summary/mse/test_accuracy')} "
        f"against CE's {_stat(n, 'cells/gentle-sgd/summary/ce/test_accuracy')}; per seed CE minus MSE is "
        f"{_difference(n, 'cells/gentle-sgd/paired/ce - mse/test_accuracy')}, so MSE is {versus('gentle-sgd')} CE.",
        f"With Adam from the confident start, MSE reaches {_stat(n, 'cells/confident-adam/summary/mse/test_accuracy')} "
        f"and CE {_stat(n, 'cells/confident-adam/summary/ce/test_accuracy')} (per seed CE minus MSE: "
        f"{_difference(n, 'cells/confident-adam/paired/ce - mse/test_accuracy')}, MSE {versus('confident-adam')} CE).",
        f"Between runs with different optimisers there is no pairing: MSE with Adam is {adam_vs_sgd} MSE with SGD "
        f"({_stat(n, 'cells/confident-sgd/summary/mse/test_accuracy')}), judged by the two 95% intervals.",
    )
    section.paragraph(*_adam_network_sentences(n, versus('confident-adam'), probe))
    section.paragraph(*_rate_sentences(n, tuning, data))
    section.add("<h3>Caveats</h3>")
    section.paragraph(*_caveat_sentences(n, data))
    rows = []
    for name in cells:
        for loss in ("ce", "mse"):
            base = f"cells/{name}/summary/{loss}"
            entry = n.value(base)
            target = entry["epochs_to_target"]
            reached = f"{n(f'{base}/epochs_to_target/reached', 'd')}/{n(f'{base}/epochs_to_target/runs', 'd')}"
            epochs = n(f"{base}/epochs_to_target/mean", ".1f") if target["mean"] is not None else "–"
            se = n(f"{base}/test_accuracy_binomial_se", ".1%") if entry["test_accuracy_binomial_se"] is not None else "–"
            rows.append([_cell_name(name), LOSS_LABELS[loss], n(f"{base}/lr", "g"), _stat(n, f"{base}/test_accuracy"), se,
                         _stat(n, f"{base}/test_nll", ".3f"), f"{epochs} ({reached} runs)",
                         _failures_text(n, base, entry)])
    target_accuracy = n("cells/confident-sgd/config/target_accuracy", ".0%")
    section.add(table("Final test metrics, mean over seeds [95% interval]; the test-set standard error is the binomial "
                      "error of one test set at that accuracy",
                      ["start, optimiser", "loss", "learning rate", "test accuracy", "test-set SE", "test NLL",
                       f"epochs to {target_accuracy} test accuracy", "collapsed or diverged runs"],
                      rows, numeric_from=2))
    paired_rows = [[_cell_name(name), _difference(n, f"cells/{name}/paired/ce - mse/test_accuracy"),
                    _difference(n, f"cells/{name}/paired/ce - mse/test_nll", ".3f"),
                    _difference(n, f"cells/{name}/paired/ce - mse/test_ece", ".3f")] for name in cells]
    section.add(table("CE minus MSE, per seed: mean [95% paired t] (95% bootstrap)",
                      ["start, optimiser", "test accuracy", "test NLL", "ECE"], paired_rows, numeric_from=1))
    figures = [
        _figure(result, f"training_{name}_accuracy", f"Accuracy per epoch, {_cell_name(name)}.")
        for name, result in cells.items()
    ]
    figures.append(_figure(cells["confident-sgd"], "training_confident-sgd_gradients",
                           "Mean gradient norm on the misclassified training samples, confident start, SGD."))
    figures.append(_figure(results["tuning"], "lr_tuning",
                           "How the default learning rates were chosen: median validation accuracy over the tuning "
                           "seeds at each rate (star: chosen; open: some seed diverged or collapsed)."))
    figures.append(_figure(results["adam-probe"], "adam_first_step",
                           "Adam's first step against the gradient's scale, on the toy corner and in the network."))
    section.figures(figures)
    return section


def _adam_network_sentences(n: Numbers, adam_words: str, probe: Mapping[str, Any]) -> list[str]:
    """The Adam question: why the toy's rescue does (not) carry over, worded from the probe's numbers.

    ``adam_words``: how MSE stands to CE with Adam from the confident start (paired over seeds).
    """
    net = probe["network_summary"]
    fewer = (net["mse"]["effective_samples_first_batch"]["median"] < 0.5 * net["ce"]["effective_samples_first_batch"]["median"]
             and net["mse"]["misclassified_margin_grows"]["median"] < net["ce"]["misclassified_margin_grows"]["median"])
    question = ("Why does Adam rescue MSE on the toy surface (section 4) but not here?" if adam_words == "clearly below"
                else f"Adam rescues MSE on the toy surface (section 4); here MSE with Adam is {adam_words} CE.")
    sentences = [
        question,
        f"On the toy, Adam's first step is {n('probe/toy/losses/mse/adam_step_over_lr/0', '.2f')} lr for MSE against "
        f"{n('probe/toy/losses/ce/adam_step_over_lr/0', '.2f')} lr for CE, because a single point's gradient "
        f"({n('probe/toy/losses/mse/abs_grad/0', '.2g')}) is all there is and Adam divides it by its own size.",
        f"In the network the first Adam step is {n('probe/network_summary/mse/median_adam_step_over_lr/median', '.2f')} "
        f"lr for the median weight under MSE and {n('probe/network_summary/ce/median_adam_step_over_lr/median', '.2f')} "
        f"lr under CE; the median weight's gradient is "
        f"{n('probe/network_summary/mse/median_param_grad_over_eps/median', '.1e')} eps under MSE"
        + (", so the gradient's scale is divided away here too."
           if net["mse"]["median_param_grad_over_eps"]["median"] > 100 else "."),
        "What Adam cannot change is which samples the gradient comes from.",
        f"CE's per-sample gradient is {n('probe/network_summary/ce/median_grad_misclassified/median', '.2f')} on the "
        f"median misclassified sample and MSE's {n('probe/network_summary/mse/median_grad_misclassified/median', '.1e')}; "
        f"the first mini-batch's gradient rests on {n('probe/network_summary/ce/effective_samples_first_batch/median', '.1f')} "
        f"effective samples of {n('probe/setup/batch_size', 'd')} under CE and on "
        f"{n('probe/network_summary/mse/effective_samples_first_batch/median', '.1f')} under MSE (medians over seeds; "
        "effective samples = (sum |g_i|)² / sum |g_i|²).",
        f"Adam's first step raises the margin of {n('probe/network_summary/ce/misclassified_margin_grows/median', '.0%')} "
        f"of the misclassified training samples under CE and of "
        f"{n('probe/network_summary/mse/misclassified_margin_grows/median', '.0%')} under MSE.",
    ]
    if fewer:
        sentences.append("A full-size step that follows a few samples helps few of the others: Adam removes the "
                         "gradient's scale, not MSE's deafness to the confidently wrong samples.")
    return sentences


def _rate_sentences(n: Numbers, tuning: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    procedure = tuning["procedure"]
    seeds = ", ".join(str(s) for s in procedure["tuning_seeds"])
    failed = sum(cell["summary"][loss]["collapsed"] + cell["summary"][loss]["diverged"]
                 for cell in data.values() for loss in ("ce", "mse"))
    sentences = [
        f"Each loss trains at its own default learning rate (table), chosen by the procedure that "
        f"<code>outlayer compare --tune-lr</code> runs: a log grid of rates, {n('tuning/procedure/epochs', 'd')} epochs "
        f"(this section's budget), and the median validation accuracy over the tuning seeds {seeds}, which are never "
        "evaluation seeds.",
        "A rate at which some tuning seed diverged or collapsed to a single predicted class is passed over.",
        f"The rates are stored with the procedure and the command that regenerates them "
        f"(<code>{html.escape(tuning['command'])}</code>).",
    ]
    if failed:
        sentences.append(f"{failed} run(s) of this section collapsed or diverged; the table names them, and their "
                         "numbers stay in the means.")
    else:
        sentences.append("No run of this section collapsed to one class or diverged.")
    return sentences


def _caveat_sentences(n: Numbers, data: Mapping[str, Any]) -> list[str]:
    """The caveats that keep the comparison honest, each with its number."""
    conf = data["confident-sgd"]
    paired = conf["paired"]["ce - mse"]["test_accuracy"]
    sentences = []
    if paired["t_ci95"] is not None and conf["summary"]["ce"]["test_accuracy"]["ci95"] is not None:
        sentences.append(
            "Comparisons between losses are paired by seed: from the confident start CE minus MSE lies in "
            f"[{n('cells/confident-sgd/paired/ce - mse/test_accuracy/t_ci95/0', '.1%')}, "
            f"{n('cells/confident-sgd/paired/ce - mse/test_accuracy/t_ci95/1', '.1%')}], while the two losses' own "
            f"intervals, [{n('cells/confident-sgd/summary/ce/test_accuracy/ci95/0', '.1%')}, "
            f"{n('cells/confident-sgd/summary/ce/test_accuracy/ci95/1', '.1%')}] and "
            f"[{n('cells/confident-sgd/summary/mse/test_accuracy/ci95/0', '.1%')}, "
            f"{n('cells/confident-sgd/summary/mse/test_accuracy/ci95/1', '.1%')}], also carry the luck of each seed's "
            "split and start, which the two runs of a seed share.")
    sentences += [
        f"Loss values of different losses are not comparable: for the worked example CE is "
        f"{n('probe/loss_scales/ce', '.4f')} and MSE {n('probe/loss_scales/mse_sum', '.4f')} summed over the classes as "
        f"the lecture writes it, {n('probe/loss_scales/mse_mean_over_classes', '.4f')} averaged over them as PyTorch's "
        "MSELoss does; which number is larger says nothing about which loss punishes more.",
        f"MSE pushes less even before any saturation: at uniform predictions over "
        f"{n('probe/uniform_start/num_classes', 'd')} classes its gradient is "
        f"{n('probe/uniform_start/ratio_mse_ce', '.3f')} times CE's (2/K), so its learning rate must be larger for the "
        "same step.",
        f"The confident start is no standard initialisation (a gentle start gives logits of standard deviation "
        f"{n('cells/gentle-sgd/summary/ce/initial_logit_std/mean', '.2f')}, this one "
        f"{n('cells/confident-sgd/summary/ce/initial_logit_std/mean', '.0f')}): the median p(true class) of the "
        f"training samples is between {n('probe/network_summary/mse/median_p_true/q10', '.0e')} and "
        f"{n('probe/network_summary/mse/median_p_true/q90', '.0e')} across seeds (10th to 90th percentile), far past "
        f"the lecture's corner ({n('probe/lecture_corner_p_target', '.1e')}).",
    ]
    return sentences


# ----------------------------------------------------------------------------------- section 6
def beyond_section(results: Results) -> Section:
    main = results["gentle-sgd"]
    section = Section("beyond", "Beyond the lecture: square loss on logits, label smoothing, calibration")
    section.data = _compare_data(main, BEYOND_LOSSES)
    section.data["paired"] = _paired_data(main, BEYOND_LOSSES)
    section.data["loss_descriptions"] = _descriptions(BEYOND_LOSSES)
    n = Numbers(section.key, section.data)
    s = section.data["summary"]
    paired = section.data["paired"]
    section.paragraph(
        "Hui and Belkin (2021) train with the square loss on the raw logits instead of the probabilities; without the "
        "softmax in the loss, its gradient does not fade when the output saturates.",
        f"On {_setup_phrase(n, '')}, it reaches {_stat(n, 'summary/mse-logits/test_accuracy')} test accuracy against "
        f"CE's {_stat(n, 'summary/ce/test_accuracy')}; per seed CE minus it is "
        f"{_difference(n, 'paired/ce - mse-logits/test_accuracy')}, so it is "
        f"{_paired_relation(s, paired, 'mse-logits', 'ce')} CE.",
    )
    scaled = s["mse-logits"]["test_ece_scaled"]["mean"]
    raw = s["mse-logits"]["test_ece"]["mean"]
    mismatch = (scaled is not None and raw is not None and scaled < 0.5 * raw)
    section.paragraph(
        "Calibration asks whether a confidence of 80 % is right 80 % of the time; the expected calibration error (ECE) "
        f"averages the gap between confidence and accuracy over {n('config/ece_bins', 'd')} confidence bins of the test "
        "split.",
        f"ECE is {_stat(n, 'summary/ce/test_ece', '.3f')} for CE, {_stat(n, 'summary/ce-smooth/test_ece', '.3f')} with "
        f"label smoothing ({html.escape(section.data['loss_descriptions']['ce-smooth'])}), "
        f"{_stat(n, 'summary/mse/test_ece', '.3f')} for MSE on probabilities and "
        f"{_stat(n, 'summary/mse-logits/test_ece', '.3f')} for the square loss on logits.",
        f"Per seed CE's ECE minus smoothing's is {_difference(n, 'paired/ce - ce-smooth/test_ece', '.3f')}, so "
        f"smoothing's ECE is {_paired_relation(s, paired, 'ce-smooth', 'ce', 'test_ece')} CE's.",
        "The square loss pulls the logits towards the one-hot values 1 and 0 rather than towards log-probabilities, "
        "so the softmax of its outputs was never trained to be a probability.",
        f"One temperature per run, fitted on the validation split (it changes no prediction), brings its ECE to "
        f"{_stat(n, 'summary/mse-logits/test_ece_scaled', '.3f')} (mean temperature "
        f"{n('summary/mse-logits/temperature/mean', '.3g')}), against {_stat(n, 'summary/ce/test_ece_scaled', '.3f')} "
        "for CE"
        + (": most of its raw ECE measures a scale mismatch, not a wrong ranking of confidence." if mismatch else
           ": temperature scaling removes only part of its raw ECE."),
    )
    rows = [[LOSS_LABELS[loss], _stat(n, f"summary/{loss}/test_accuracy"), _stat(n, f"summary/{loss}/test_nll", ".3f"),
             _stat(n, f"summary/{loss}/test_ece", ".3f"), _stat(n, f"summary/{loss}/test_ece_scaled", ".3f")]
            for loss in BEYOND_LOSSES]
    section.add(table("Final test metrics, mean over seeds [95% interval]",
                      ["loss", "test accuracy", "test NLL", "ECE", "ECE after temperature scaling"], rows))
    section.figures([_figure(main, "beyond_reliability",
                             "Reliability diagram: accuracy against confidence per bin, seeds pooled.")])
    section.figures([_figure(main, "beyond_learning_curves", "Training loss and test NLL per epoch.")], wide=True)
    return section


def _descriptions(losses: Sequence[str]) -> dict[str, str]:
    return {loss: CATALOGUE[loss].description for loss in losses}


# ----------------------------------------------------------------------------------- section 7
def reproduce_section(run: Mapping[str, Any], reproduce: Mapping[str, Any]) -> Section:
    """Section 7: command, seeds, versions, run time. ``run`` (command, time) is not deterministic and
    goes to data/run.json; ``reproduce`` (plan, seeds, versions) does and goes to data/reproduce.json."""
    section = Section("reproduce", "Reproduce")
    section.data = dict(reproduce)
    n = Numbers(section.key, section.data)
    t = Numbers("run", run)
    section.paragraph(
        f"This page took {t('run_time_s', '.1f')} s to compute on {t('workers', 'd')} worker processes.",
        f"Every number on it is in the <a href=\"data/\">data/</a> folder as JSON and CSV; the same command gives "
        "identical data files (all but data/run.json, which holds the command and the run time).",
        f"Training seeds: {', '.join(str(s) for s in section.data['seeds'])} "
        f"(data split seed {n('split_seed', 'd')}).",
    )
    section.add(f"<pre>{html.escape(run['command'])}</pre>")
    rows = [[html.escape(name), html.escape(version)] for name, version in section.data["versions"].items()]
    section.add(table("Versions", ["package", "version"], rows, numeric_from=2))
    return section


def build_sections(results: Results, figures: Mapping[str, Figure], run: Mapping[str, Any],
                   reproduce: Mapping[str, Any]) -> list[Section]:
    """Sections 1-7 in the seeds' order."""
    return [
        labels_section(results),
        softmax_section(results, figures["temperature"]),
        loss_section(results, figures["gradients"]),
        surface_section(results),
        training_section(results),
        beyond_section(results),
        reproduce_section(run, reproduce),
    ]
