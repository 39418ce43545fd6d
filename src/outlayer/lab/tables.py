"""The README's tables of the lab's experiments, each computed by the command printed beside it.

:data:`README_RUNS` names one command per experiment (small settings: 2 or 3 seeds, so that the
test suite can recompute every table); :func:`compute` runs them through the library calls the
commands make, and :func:`blocks` renders each as Markdown. ``python benchmarks/bench_lab.py
readme --write`` writes them into README.md between ``<!-- lab-experiment NAME -->`` markers,
and tests/test_lab.py recomputes them and fails when the README and the code disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from outlayer.lab_tables import read_marked_blocks, replace_marked_blocks

__all__ = ["README_RUNS", "blocks", "compute", "read_blocks", "replace_blocks"]

def _sweep() -> dict[str, Any]:
    from outlayer.lab import sweep

    return sweep.run(sweep.SweepConfig(losses=("ce", "mse"), optimizers=("sgd",), seeds=3))


def _calibration() -> dict[str, Any]:
    from outlayer.lab import calibration

    return calibration.run(calibration.CalibrationConfig(losses=("ce", "ce-smooth"), seeds=3))


def _pretrain() -> dict[str, Any]:
    from outlayer.lab import pretrain

    return pretrain.run(pretrain.PretrainConfig(init="gentle", seeds=3))


def _many_classes() -> dict[str, Any]:
    from outlayer.lab import many_classes

    return many_classes.run(many_classes.ManyClassesConfig(optimizers=("sgd",), seeds=3,
                                                           variants=("ce", "mse-logits", "mse-logits k=15 M=30")))


def _priors() -> dict[str, Any]:
    from outlayer.lab import priors

    return priors.run(priors.PriorsConfig(seeds=3))


#: name -> (the command, the library call it makes).
README_RUNS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "sweep": ("outlayer sweep --losses ce mse --optimizer sgd --seeds 3", _sweep),
    "calibration": ("outlayer calibration --losses ce ce-smooth --seeds 3", _calibration),
    "pretrain": ("outlayer compare --pretrain ce:5 --init gentle --seeds 3", _pretrain),
    "many-classes": ("outlayer many-classes --optimizer sgd --seeds 3 --variants ce mse-logits 'mse-logits k=15 M=30'",
                     _many_classes),
    "priors": ("outlayer priors --seeds 3", _priors),
}


def compute(names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Each experiment's result for its README command."""
    return {name: README_RUNS[name][1]() for name in (names or README_RUNS)}


def _stat(stats: Mapping[str, Any] | None, fmt: str = ".3f", sign: bool = False) -> str:
    if not stats or stats.get("mean") is None:
        return "-"
    spec = ("+" if sign else "") + fmt
    text = format(stats["mean"], spec)
    interval = stats.get("ci95") or stats.get("t_ci95")
    if interval:
        text += f" [{format(interval[0], spec)}, {format(interval[1], spec)}]"
    return text


def _sweep_block(result: Mapping[str, Any]) -> str:
    setup = result["setup"]
    losses = result["config"]["losses"]
    lines = [f"Command: `{README_RUNS['sweep'][0]}`. Settings: {setup['dataset']['name']}, {len(setup['seeds'])} seeds "
             f"(0-{setup['seeds'][-1]}), {setup['epochs']} epochs, each point at its rate tuned by the stored defaults' "
             "procedure. Test accuracy, mean [95% t interval over seeds]; p(true class) before training, median over "
             "the training samples (median over seeds):", "",
             "| initial logit std | median p(true class) | " + " | ".join(f"{loss}, learning rate" for loss in losses)
             + " |", "|---|---|" + "---|" * len(losses)]
    for std in result["config"]["logit_stds"]:
        rows = {r["loss"]: r for r in result["rows"] if r["logit_std"] == std and r["optimizer"] == "sgd"}
        lines.append(f"| {std:g} | {result['p_true_initial'][format(std, 'g')]['median']:.2g} | "
                     + " | ".join(f"{_stat(rows[loss]['test_accuracy'])}, {rows[loss]['lr']:g}" for loss in losses) + " |")
    lines.append("")
    lines.append(f"The lecture's corner has p(target) = {result['lecture_corner_p_target']:.3g}.")
    return "\n".join(lines) + "\n"


def _calibration_block(result: Mapping[str, Any]) -> str:
    setup = result["setup"]
    lines = [f"Command: `{README_RUNS['calibration'][0]}`. Settings: {setup['dataset']['name']} "
             f"({setup['dataset']['n_test']} test samples), {len(setup['seeds'])} seeds, {setup['epochs']} epochs, "
             f"{setup['ece_bins']} bins; T fitted on the validation NLL; mean [95% t interval over seeds]:", "",
             "| start, loss | T | ECE before | ECE after | NLL before | NLL after | ECE noise floor (95th pct) |",
             "|---|---|---|---|---|---|---|"]
    for cell in result["cells"].values():
        for loss, entry in cell["summary"].items():
            c = entry["calibration"]
            lines.append(f"| {cell['init']}, {loss} | {_stat(c['temperature'], '.3g')} | {_stat(c['ece_before'])} | "
                         f"{_stat(c['ece_after'])} | {_stat(c['nll_before'])} | {_stat(c['nll_after'])} | "
                         f"{entry['noise_floor']['q95']['mean']:.3f} |")
    lines.append("")
    for name, diff in result["smoothing_ece_ce_minus_smooth"].items():
        lines.append(f"{name}: ECE of CE minus CE + label smoothing, per seed: {_stat(diff, sign=True)}.")
    return "\n".join(lines) + "\n"


def _pretrain_block(result: Mapping[str, Any]) -> str:
    setup = result["setup"]
    config = result["config"]
    lines = [f"Command: `{README_RUNS['pretrain'][0]}`. Settings: {setup['dataset']['name']}, {config['init']} start, "
             f"{config['optimizer']}, {len(setup['seeds'])} seeds, {setup['pretrain_epochs']} epochs of CE then "
             f"{setup['continuation_epochs']} of the loss (continuation rate "
             + ", ".join(f"{k} {v:g}" for k, v in setup["continuation_lr"].items())
             + ", tuned by the stored defaults' procedure). Test accuracy, mean [95% t interval]; differences per seed "
             "[95% paired t]:", "",
             "| arm | test accuracy | | paired difference | test accuracy |", "|---|---|---|---|---|"]
    for loss, entry in result["losses"].items():
        arms, paired = entry["arms"], entry["paired"]
        names = {"pretrained": f"ce then {loss}", "ce": "ce continued", "scratch": f"{loss} from scratch"}
        keys = list(paired)
        for arm, key in zip(("pretrained", "ce", "scratch"), keys):
            a, b = key.split(" - ")
            lines.append(f"| {names[arm]} | {_stat(arms[arm]['test_accuracy'])} | | {names[a]} - {names[b]} | "
                         f"{_stat(paired[key]['test_accuracy'], sign=True)} |")
    return "\n".join(lines) + "\n"


def _many_classes_block(result: Mapping[str, Any]) -> str:
    setup = result["setup"]
    data = setup["dataset"]
    lines = [f"Command: `{README_RUNS['many-classes'][0]}`. Settings: {data['n_classes']} synthetic Gaussian classes "
             f"({data['n_features']} features, {data['n_train']} train / {data['n_test']} test), {len(setup['seeds'])} "
             f"seeds, {setup['epochs']} epochs, {setup['init']} start, rates tuned on this task. Test accuracy, mean "
             "[95% t interval]:", "", "| optimiser | loss | k | M | learning rate | test accuracy |",
             "|---|---|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['optimizer']} | {row['variant']} | {row['k']:g} | {row['M']:g} | {row['lr']:g} | "
                     f"{_stat(row['test_accuracy'])} |")
    lines.append("")
    for optimizer, pairs in result["paired"].items():
        for key, diff in pairs.items():
            lines.append(f"{optimizer}, {key}, per seed: {_stat(diff, sign=True)}.")
    return "\n".join(lines) + "\n"


def _priors_block(result: Mapping[str, Any]) -> str:
    setup = result["setup"]
    ce, mse = (result["losses"][loss]["summary"] for loss in ("ce", "mse"))
    lines = [f"Command: `{README_RUNS['priors'][0]}`. Settings: digits, class c keeps "
             f"{result['config']['ratio']:g}^(c/9) of its samples ({setup['n_train'][0]} training samples), "
             f"{len(setup['seeds'])} seeds, {setup['epochs']} epochs = {setup['steps']} steps of {result['config']['optimizer']}"
             f" (rates ce {setup['rates']['ce']:g}, mse {setup['rates']['mse']:g}, tuned on this task). A class is at "
             f"its prior after a step when the mean of p_c over its own training samples is within "
             f"{setup['tolerance']:g} of pi_c; learned when that reaches {setup['learned']:g}. Means over seeds:", "",
             "| class | prior | steps at the prior, ce | steps at the prior, mse | learned at step, ce | learned at step, mse |",
             "|---|---|---|---|---|---|"]

    def learned(summary: Mapping[str, Any], c: int) -> str:
        stats = summary["first_step_learned"][c]
        return "never" if stats["mean"] is None else f"{stats['mean']:.0f} ({summary['learned_in_run'][c]}/{len(setup['seeds'])})"

    for c, prior in enumerate(setup["prior_mean"]):
        lines.append(f"| {c} | {prior:.3f} | {ce['steps_at_prior'][c]['mean']:.0f} | {mse['steps_at_prior'][c]['mean']:.0f} "
                     f"| {learned(ce, c)} | {learned(mse, c)} |")
    lines.append("")
    lines.append("Steps at the prior summed over the classes, MSE minus CE per seed: "
                 f"{_stat(result['paired_mse_minus_ce']['steps_at_prior_total'], '.0f', sign=True)}.")
    return "\n".join(lines) + "\n"


_RENDER: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "sweep": _sweep_block, "calibration": _calibration_block, "pretrain": _pretrain_block,
    "many-classes": _many_classes_block, "priors": _priors_block,
}


def blocks(results: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Markdown of each computed experiment, by name."""
    return {name: _RENDER[name](result) for name, result in results.items()}


def read_blocks(text: str) -> dict[str, str]:
    """The ``<!-- lab-experiment NAME -->`` blocks of a README's text, by name."""
    return read_marked_blocks(text, "lab-experiment")


def replace_blocks(text: str, new: Mapping[str, str]) -> str:
    """``text`` with each named block's body replaced; a block without its markers raises ValueError."""
    return replace_marked_blocks(text, new, "lab-experiment")
