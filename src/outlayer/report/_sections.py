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

from outlayer.report._jobs import BEYOND_LOSSES, TEMPERATURES, TRAINING_CELLS
from outlayer.report._page import Figure, Numbers, Section, explorer_html, table

__all__ = ["build_sections", "relation"]

Results = Mapping[str, Mapping[str, Any]]

LOSS_LABELS: dict[str, str] = {
    "ce": "cross-entropy (CE)",
    "mse": "MSE on probabilities",
    "mse-logits": "square loss on logits",
    "ce-smooth": "CE + label smoothing",
    "scalar": "one scalar output",
}


def relation(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """How statistic ``a`` stands to ``b`` ({"mean", "ci95"} from experiments.mean_ci95), in words.

    "clearly above" / "clearly below" only when the 95 % intervals do not overlap; otherwise the
    difference is within the seed-to-seed spread. With a single seed there is no interval and the
    words only say which mean is larger.
    """
    if a["mean"] is None or b["mean"] is None:
        return "not comparable (a run diverged)"
    if a.get("ci95") is None or b.get("ci95") is None:
        if a["mean"] == b["mean"]:
            return "equal to"
        return ("above" if a["mean"] > b["mean"] else "below") + " (one seed, no interval)"
    if a["ci95"][0] > b["ci95"][1]:
        return "clearly above"
    if a["ci95"][1] < b["ci95"][0]:
        return "clearly below"
    return "within the seed-to-seed spread of"


def _stat(numbers: Numbers, path: str, fmt: str = ".1%") -> str:
    """``mean [low, high]`` of a mean_ci95 entry at ``path``, each number tagged."""
    entry = numbers.value(path)
    if entry["mean"] is None:
        return "n/a"
    text = numbers(f"{path}/mean", fmt)
    if entry.get("ci95") is not None:
        text += f' <span class="note">[{numbers(f"{path}/ci95/0", fmt)}, {numbers(f"{path}/ci95/1", fmt)}]</span>'
    return text


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
def surface_section(results: Results) -> Section:
    surface = results["surface"]
    section = Section("surface", "The error surface")
    section.data = {key: value for key, value in surface.items() if key != "figures"}
    n = Numbers(section.key, section.data)
    setup = surface["setup"]
    u, v = setup["swept_names"]
    fixed = ", ".join(f"y{int(c) + 1} = {n(f'setup/fixed/{c}', 'g')}" for c in setup["fixed"])
    target = f"y{setup['target'] + 1}"
    section.paragraph(
        f"The lecture's picture: {n('setup/num_classes', 'd')} classes with {target} the true class's logit, "
        f"{fixed} held fixed (so that class has probability 0), and the error plotted over ({u}, {v}) in "
        f"[{n('setup/limits/0', 'g')}, {n('setup/limits/1', 'g')}]².",
        f"In the wrong-but-confident corner ({u}, {v}) = ({n('setup/start/0', 'g')}, {n('setup/start/1', 'g')}) "
        f"the true class has probability {n('losses/ce/corner/p_target', '.1e')}; the CE gradient there has norm "
        f"{n('losses/ce/corner/grad_norm', '.3f')} and the MSE gradient {n('losses/mse/corner/grad_norm', '.1e')}, "
        f"{n('corner_grad_norm_ratio_ce_mse', '.1e')} times smaller: MSE's surface is flat exactly where the model is most wrong.",
    )
    ce_steps, mse_steps = surface["losses"]["ce"]["steps_to_p90"], surface["losses"]["mse"]["steps_to_p90"]

    def reached(loss: str, value: int | None) -> str:
        if value is None:
            return f"does not get there within {n('setup/steps', 'd')} steps"
        return f"needs {n(f'losses/{loss}/steps_to_p90', 'd')} steps"

    section.paragraph(
        f"Gradient descent ({html.escape(setup['steps_to_p90_optimizer'])}, learning rate {n('setup/lr', 'g')}) "
        f"from that corner until the true class has p ≥ {n('setup/goal', 'g')}: CE {reached('ce', ce_steps)}, "
        f"MSE {reached('mse', mse_steps)}.",
        _adam_sentence(n, surface),
    )
    rows = []
    for loss in setup["losses"]:
        entry = surface["losses"][loss]
        rows.append([LOSS_LABELS.get(loss, html.escape(loss)),
                     n(f"losses/{loss}/corner/loss", ".3g"), n(f"losses/{loss}/corner/grad_norm", ".2e"),
                     n(f"losses/{loss}/max_grad_norm", ".3g"),
                     n(f"losses/{loss}/steps_to_p90", "d") if entry["steps_to_p90"] is not None
                     else f"not within {n('setup/steps', 'd')}"])
    section.add(table(f"At the corner ({n('setup/start/0', 'g')}, {n('setup/start/1', 'g')}) and over the grid",
                      ["loss", "loss at corner", "gradient norm at corner", "largest gradient norm on grid",
                       f"{html.escape(setup['steps_to_p90_optimizer'])} steps to p ≥ {n('setup/goal', 'g')}"], rows))
    captions = {
        "surface_3d": "The error surfaces over the two swept logits.",
        "surface_paths": "Contours and descent paths from the wrong corner, one per optimiser.",
        "surface_gradients": "Gradient norm over the plane (log colour scale) with the descent direction.",
        "surface_progress": "The target's probability along each descent path.",
        "surface_probability": "Loss and gradient norm against the target's probability.",
        "surface_steps_map": "Steps to reach the goal from every start point.",
    }
    section.figures([Figure(f"figures/{Path(surface['figures'][stem]).stem}", caption)
                     for stem, caption in captions.items() if stem in surface["figures"]], wide=True)
    return section


def _adam_sentence(n: Numbers, surface: Mapping[str, Any]) -> str:
    """What Adam does to the plateau, worded from the measured steps (plain GD's are the baseline)."""
    adam = (surface.get("adam_vs_plateau") or {}).get("adam")
    if adam is None:
        return ""
    ce, mse = adam["steps_to_p90"]["ce"], adam["steps_to_p90"]["mse"]
    if mse is None:
        return f"With Adam, MSE does not get there within {n('setup/steps', 'd')} steps either."
    plain_mse = surface["losses"]["mse"]["steps_to_p90"]
    helped = plain_mse is None or mse < plain_mse
    return (f"With Adam, which divides each step by its running gradient size, MSE needs "
            f"{n('adam_vs_plateau/adam/steps_to_p90/mse', 'd')} steps and CE "
            + (f"{n('adam_vs_plateau/adam/steps_to_p90/ce', 'd')}" if ce is not None else "does not get there")
            + (": the adaptive step hides most of MSE's flat corner." if helped else "."))


# ----------------------------------------------------------------------------------- section 5
def training_section(results: Results) -> Section:
    section = Section("training", "Training: CE vs MSE")
    cells = {f"{init}-{opt}": results[f"{init}-{opt}"] for init, opt in TRAINING_CELLS}
    section.data = {"cells": {name: _compare_data(result, ("ce", "mse")) for name, result in cells.items()}}
    n = Numbers(section.key, section.data)
    summaries = {name: cell["summary"] for name, cell in section.data["cells"].items()}
    conf = summaries["confident-sgd"]
    section.paragraph(
        f"The same network trained on {_setup_phrase(n, 'cells/confident-sgd')}: a confident start scales the output "
        f"layer so that the initial logits have a standard deviation of about "
        f"{n('cells/confident-sgd/summary/ce/initial_logit_std/mean', '.0f')}, so most samples begin confidently wrong.",
        f"There CE reaches {_stat(n, 'cells/confident-sgd/summary/ce/test_accuracy')} test accuracy and MSE "
        f"{_stat(n, 'cells/confident-sgd/summary/mse/test_accuracy')}: MSE is "
        f"{relation(conf['mse']['test_accuracy'], conf['ce']['test_accuracy'])} CE.",
    )
    gentle, adam = summaries["gentle-sgd"], summaries["confident-adam"]
    adam_vs_sgd = relation(adam["mse"]["test_accuracy"], conf["mse"]["test_accuracy"])
    adam_effect = {
        "clearly above": ": the rescaled steps win back part of what MSE lost",
        "clearly below": ": the rescaled steps make MSE worse here",
    }.get(adam_vs_sgd, "")
    section.paragraph(
        f"From a gentle start (small random weights) MSE reaches {_stat(n, 'cells/gentle-sgd/summary/mse/test_accuracy')} "
        f"against CE's {_stat(n, 'cells/gentle-sgd/summary/ce/test_accuracy')} "
        f"({relation(gentle['mse']['test_accuracy'], gentle['ce']['test_accuracy'])} it).",
        f"With Adam from the confident start, MSE reaches {_stat(n, 'cells/confident-adam/summary/mse/test_accuracy')} "
        f"and CE {_stat(n, 'cells/confident-adam/summary/ce/test_accuracy')}; MSE with Adam is {adam_vs_sgd} "
        f"MSE with SGD ({_stat(n, 'cells/confident-sgd/summary/mse/test_accuracy')}){adam_effect}.",
    )
    rows = []
    for name in cells:
        for loss in ("ce", "mse"):
            base = f"cells/{name}/summary/{loss}"
            target = n.value(f"{base}/epochs_to_target")
            reached = f"{n(f'{base}/epochs_to_target/reached', 'd')}/{n(f'{base}/epochs_to_target/runs', 'd')}"
            epochs = n(f"{base}/epochs_to_target/mean", ".1f") if target["mean"] is not None else "–"
            rows.append([html.escape(name.replace("-", " start, ")), LOSS_LABELS[loss], _stat(n, f"{base}/test_accuracy"),
                         _stat(n, f"{base}/test_nll", ".3f"), f"{epochs} ({reached} runs)"])
    target_accuracy = n("cells/confident-sgd/config/target_accuracy", ".0%")
    section.add(table("Final test metrics, mean over seeds [95% interval]",
                      ["start, optimiser", "loss", "test accuracy", "test NLL", f"epochs to {target_accuracy} test accuracy"],
                      rows, numeric_from=2))
    figures = [
        _figure(result, f"training_{name}_accuracy", f"Accuracy per epoch, {html.escape(name.replace('-', ' start, '))}.")
        for name, result in cells.items()
    ]
    figures.append(_figure(cells["confident-sgd"], "training_confident-sgd_gradients",
                           "Mean gradient norm on the misclassified training samples, confident start, SGD."))
    section.figures(figures)
    return section


# ----------------------------------------------------------------------------------- section 6
def beyond_section(results: Results) -> Section:
    main = results["gentle-sgd"]
    section = Section("beyond", "Beyond the lecture: square loss on logits, label smoothing, calibration")
    section.data = _compare_data(main, BEYOND_LOSSES)
    section.data["loss_descriptions"] = _descriptions(BEYOND_LOSSES)
    n = Numbers(section.key, section.data)
    s = section.data["summary"]
    section.paragraph(
        "Hui and Belkin (2021) train with the square loss on the raw logits instead of the probabilities; without the "
        "softmax in the loss, its gradient does not fade when the output saturates.",
        f"On {_setup_phrase(n, '')}, it reaches {_stat(n, 'summary/mse-logits/test_accuracy')} test accuracy, "
        f"{relation(s['mse-logits']['test_accuracy'], s['ce']['test_accuracy'])} CE's "
        f"{_stat(n, 'summary/ce/test_accuracy')}.",
    )
    section.paragraph(
        "Calibration asks whether a confidence of 80 % is right 80 % of the time; the expected calibration error (ECE) "
        f"averages the gap between confidence and accuracy over {n('config/ece_bins', 'd')} confidence bins of the test split.",
        f"ECE is {_stat(n, 'summary/ce/test_ece', '.3f')} for CE, {_stat(n, 'summary/ce-smooth/test_ece', '.3f')} with "
        f"label smoothing ({html.escape(section.data['loss_descriptions']['ce-smooth'])}), "
        f"{_stat(n, 'summary/mse/test_ece', '.3f')} for MSE on probabilities and "
        f"{_stat(n, 'summary/mse-logits/test_ece', '.3f')} for the square loss on logits; label smoothing's ECE is "
        f"{relation(s['ce-smooth']['test_ece'], s['ce']['test_ece'])} CE's.",
        "The square loss pulls the logits towards the one-hot values 1 and 0 rather than towards log-probabilities, "
        "so the softmax of its outputs was never trained to be a calibrated probability.",
    )
    rows = [[LOSS_LABELS[loss], _stat(n, f"summary/{loss}/test_accuracy"), _stat(n, f"summary/{loss}/test_nll", ".3f"),
             _stat(n, f"summary/{loss}/test_ece", ".3f")] for loss in BEYOND_LOSSES]
    section.add(table("Final test metrics, mean over seeds [95% interval]", ["loss", "test accuracy", "test NLL", "ECE"], rows))
    section.figures([_figure(main, "beyond_reliability",
                             "Reliability diagram: accuracy against confidence per bin, seeds pooled.")])
    section.figures([_figure(main, "beyond_learning_curves", "Training loss and test NLL per epoch.")], wide=True)
    return section


def _descriptions(losses: Sequence[str]) -> dict[str, str]:
    from outlayer.losses import get_loss

    return {loss: get_loss(loss).description for loss in losses}


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
