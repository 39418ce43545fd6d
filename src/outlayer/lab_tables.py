"""The README's lab tables: each computed by the command printed beside it, never typed by hand.

:func:`compute_blocks` runs the commands (through the library calls they make, with the same
defaults) and renders each table as Markdown; ``python benchmarks/bench_compare.py readme
--write`` writes them into README.md between ``<!-- lab-table NAME -->`` markers, and
tests/test_readme_tables.py recomputes them and fails when the README and the code disagree.
The training and paired tables come from the same four ``outlayer compare`` runs (one per start
and optimiser), at ``outlayer compare``'s defaults (:class:`outlayer.config.CompareConfig`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["BLOCKS", "TRAINING_CELLS", "TRAINING_LOSSES", "compute_blocks", "read_blocks", "replace_blocks"]

#: (start, optimiser) rows of the training and paired tables.
TRAINING_CELLS: tuple[tuple[str, str], ...] = (
    ("confident", "sgd"), ("confident", "adam"), ("gentle", "sgd"), ("gentle", "adam"))
#: The losses of the training table; the paired table compares CE with each of the others.
TRAINING_LOSSES: tuple[str, ...] = ("ce", "mse", "mse-logits", "ce-smooth", "scalar")


def _marker(tag: str) -> re.Pattern[str]:
    """``<!-- TAG NAME -->`` ... ``<!-- /TAG NAME -->``: a generated block of a README."""
    return re.compile(rf"<!-- {tag} (?P<name>[a-z-]+) -->\n(?P<body>.*?)<!-- /{tag} (?P=name) -->", re.S)


def _interval(stats: Mapping[str, Any], digits: int = 3, sign: bool = False) -> str:
    if stats.get("mean") is None:
        return "-"
    fmt = f"{'+' if sign else ''}.{digits}f"
    text = format(stats["mean"], fmt)
    interval = stats.get("ci95", stats.get("t_ci95"))
    if interval is not None:
        text += f" [{format(interval[0], fmt)}, {format(interval[1], fmt)}]"
    return text


def _failures(entry: Mapping[str, Any]) -> str:
    notes = [f"{entry[kind]} {kind}" for kind in ("collapsed", "diverged") if entry.get(kind)]
    return f" ({', '.join(notes)})" if notes else ""


def training_command(init: str, optimizer: str) -> str:
    return f"outlayer compare --losses {' '.join(TRAINING_LOSSES)} --init {init} --optimizer {optimizer} --json"


def training_runs(progress: Callable[[str], None] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """The four ``outlayer compare`` runs behind the training and paired tables, by (start, optimiser)."""
    from outlayer.experiments import compare

    runs = {}
    for init, optimizer in TRAINING_CELLS:
        if progress is not None:
            progress(training_command(init, optimizer))
        runs[(init, optimizer)] = compare(losses=TRAINING_LOSSES, init=init, optimizer=optimizer)
    return runs


def training_block(runs: Mapping[tuple[str, str], Mapping[str, Any]]) -> str:
    """Test accuracy per start, optimiser and loss: mean [95% t interval over seeds]."""
    any_run = next(iter(runs.values()))
    config = any_run["config"]
    dataset = config["dataset"]
    lines = [
        "Commands (one per row; every other setting is `outlayer compare`'s default):",
        "",
        *[f"    {training_command(init, optimizer)}" for init, optimizer in TRAINING_CELLS],
        "",
        f"Settings: {dataset['name']} ({dataset['n_classes']} classes; {dataset['n_train']} train / "
        f"{dataset['n_val']} validation / {dataset['n_test']} test samples, a new stratified split per seed), "
        f"hidden {config['hidden']} {config['activation']}, batch {config['batch_size']}, {config['epochs']} epochs, "
        f"{len(config['seeds'])} seeds ({config['seeds'][0]}-{config['seeds'][-1]}), default learning rates. "
        "Test accuracy, mean [95% Student-t interval over seeds]:",
        "",
        "| start, optimiser | " + " | ".join(TRAINING_LOSSES) + " |",
        "|---|" + "---|" * len(TRAINING_LOSSES),
    ]
    for init, optimizer in TRAINING_CELLS:
        summary = runs[(init, optimizer)]["summary"]
        cells = [_interval(summary[loss]["test_accuracy"]) + _failures(summary[loss]) for loss in TRAINING_LOSSES]
        lines.append(f"| {init}, {optimizer} | " + " | ".join(cells) + " |")
    ses = sorted((entry["test_accuracy_binomial_se"], entry["test_accuracy"]["mean"])
                 for run in runs.values() for entry in run["summary"].values()
                 if entry["test_accuracy_binomial_se"] is not None and entry["test_accuracy"]["mean"] > 0.9)
    rates = "; ".join(f"{init}/{optimizer}: " + ", ".join(f"{loss} {runs[(init, optimizer)]['config']['lr'][loss]:g}"
                                                            for loss in TRAINING_LOSSES)
                      for init, optimizer in TRAINING_CELLS)
    lines += ["", f"Learning rates ({any_run['config']['lr_source']}): {rates}."]
    if ses:
        lowest, highest = ses[0], ses[-1]
        lines.append(f"One test set of {dataset['n_test']} samples alone has a binomial standard error of "
                     f"{lowest[0]:.4f} at {lowest[1]:.3f} accuracy to {highest[0]:.4f} at {highest[1]:.3f} "
                     "(the intervals above also vary the split, so they include it).")
    return "\n".join(lines) + "\n"


def paired_block(runs: Mapping[tuple[str, str], Mapping[str, Any]]) -> str:
    """CE minus each other loss, per seed: mean [paired-t 95%] and the bootstrap interval."""
    others = TRAINING_LOSSES[1:]
    lines = [
        "From the same four runs: at each seed both losses start from the same network on the same split, so the "
        "differences are taken per seed. Test accuracy of CE minus the other loss, mean [95% paired-t interval] "
        "(95% percentile bootstrap):",
        "",
        "| start, optimiser | " + " | ".join(f"ce - {loss}" for loss in others) + " |",
        "|---|" + "---|" * len(others),
    ]
    for init, optimizer in TRAINING_CELLS:
        paired = runs[(init, optimizer)]["paired"]
        cells = []
        for loss in others:
            entry = paired[f"ce - {loss}"]["test_accuracy"]
            boot = entry["bootstrap_ci95"]
            cells.append(_interval(entry, sign=True) + (f" ({boot[0]:+.3f}, {boot[1]:+.3f})" if boot else ""))
        lines.append(f"| {init}, {optimizer} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def surface_block(result: Mapping[str, Any]) -> str:
    """The surface lab at its defaults: corner, optimum, reachability, steps per optimiser."""
    setup = result["setup"]
    optimizers = setup["optimizers"]
    names = {"sgd": "plain GD", "momentum": "momentum 0.9", "adam": "Adam"}
    fixed = ", ".join(f"z{int(c) + 1} = {v}" for c, v in setup["fixed"].items())
    swept = ", ".join(setup["swept_names"])
    lines = [
        "Command: `outlayer surface --json` (every default). Settings: "
        f"{setup['num_classes']} classes, target class {setup['target'] + 1}, {fixed} (held out: probability 0, no "
        f"smoothing mass), ({swept}) over [{setup['limits'][0]:g}, {setup['limits'][1]:g}]^2, start "
        f"({setup['start'][0]:g}, {setup['start'][1]:g}), lr {setup['lr']:g} and {setup['steps']} steps for every "
        f"loss and optimiser, goal p(target) >= {setup['goal']:g}. Losses are shown minus their constant part.",
        "",
        "| loss | constant part | loss at corner | gradient norm at corner | p(target) at the plane's optimum | "
        "goal reachable | " + " | ".join(names.get(o, o) for o in optimizers) + " |",
        "|---|---|---|---|---|---|" + "---|" * len(optimizers),
    ]
    for name, entry in result["losses"].items():
        constant = "inf" if entry["constant_is_infinite"] else f"{entry['constant']:g}"
        steps = []
        for optimizer in optimizers:
            path = entry["paths"][optimizer]
            if path["steps_to_p90"] is not None:
                steps.append(str(path["steps_to_p90"]))
            elif not entry["goal_reachable"]:
                steps.append("unreachable")
            else:
                steps.append("diverged" if path["diverged"] else "never")
        lines.append(f"| {name} | {constant} | {entry['corner']['loss']:.4g} | {entry['corner']['grad_norm']:.3g} | "
                     f"{entry['optimum']['p_target']:.3f} | {'yes' if entry['goal_reachable'] else 'no'} | "
                     + " | ".join(steps) + " |")
    ratio = result["corner_grad_norm_ratio_ce_mse"]
    extrapolated = result["losses"].get("mse", {}).get("paths", {}).get("sgd", {}).get("extrapolated_steps_to_p90")
    tail = f"The corner gradient of CE is {ratio:.3g} times MSE's"
    if extrapolated is not None:
        tail += f"; at its pace plain-GD MSE would need about {extrapolated:.2g} steps"
    adam = (result.get("adam_vs_plateau") or {}).get("adam", {}).get("first_step_vs_gradient")
    if adam:
        mse = adam["mse"]
        tail += (f". Adam's first step from the corner is lr |g| / (|g| + eps) per coordinate: {min(mse['step_over_lr']):.2f} lr "
                 f"for MSE (|g| = {max(mse['abs_grad']):.2g} against eps = {mse['eps']:g}) and "
                 f"{min(adam['ce']['step_over_lr']):.2f} lr for CE")
    lines += ["", tail + "."]
    return "\n".join(lines) + "\n"


def rates_block() -> str:
    """The stored default learning rates (from default_lr.json, which records how they were tuned)."""
    from outlayer.catalogue import LAB_LOSSES
    from outlayer.experiments import default_lr_table

    table = default_lr_table()
    procedure = table["procedure"]
    lines = [
        f"Command: `{table['command']}` (writes src/outlayer/default_lr.json, with the validation curve behind "
        f"every rate). Procedure: {procedure['dataset']}, {procedure['epochs']} epochs (the evaluation's budget), "
        f"tuning seeds {', '.join(map(str, procedure['tuning_seeds']))} (disjoint from the evaluation seeds), "
        f"{procedure['selection']}.",
        "",
        "| optimiser, start | " + " | ".join(LAB_LOSSES) + " |",
        "|---|" + "---|" * len(LAB_LOSSES),
    ]
    for optimizer, starts in table["rates"].items():
        for init, rates in starts.items():
            lines.append(f"| {optimizer}, {init} | " + " | ".join(f"{rates[loss]:g}" for loss in LAB_LOSSES) + " |")
    return "\n".join(lines) + "\n"


def adam_block(probe: Mapping[str, Any]) -> str:
    """The Adam measurement (:func:`outlayer.probes.measure`): the toy corner and the network's first step."""
    toy, net = probe["toy"], probe["network_summary"]
    setup = probe["setup"]
    lines = [
        "Command: `python benchmarks/bench_compare.py adam` (`outlayer.probes.measure()`): Adam's first step from "
        f"the lecture's corner (lr {toy['lr']:g}) and from the confident start of the network, first mini-batch of "
        f"{setup['batch_size']}, evaluation seeds {setup['seeds'][0]}-{setup['seeds'][-1]} (medians over seeds), "
        f"eps = {toy['eps']:g}:",
        "",
        "| | CE | MSE |",
        "|---|---|---|",
        "| toy: corner gradient per coordinate | " + " | ".join(f"{max(toy['losses'][loss]['abs_grad']):.3g}" for loss in ("ce", "mse"))
        + " |",
        "| toy: Adam's first step / lr | " + " | ".join(f"{min(toy['losses'][loss]['adam_step_over_lr']):.3f}"
                                                    for loss in ("ce", "mse")) + " |",
        "| network: median p(true class) at the start | " + " | ".join(f"{net[loss]['median_p_true']['median']:.2g}"
                                                                     for loss in ("ce", "mse")) + " |",
        "| network: median weight's gradient / eps | " + " | ".join(f"{net[loss]['median_param_grad_over_eps']['median']:.3g}"
                                                                  for loss in ("ce", "mse")) + " |",
        "| network: median weight's Adam step / lr | " + " | ".join(f"{net[loss]['median_adam_step_over_lr']['median']:.3f}"
                                                                  for loss in ("ce", "mse")) + " |",
        f"| network: effective samples behind the first batch's gradient (of {setup['batch_size']}) | "
        + " | ".join(f"{net[loss]['effective_samples_first_batch']['median']:.1f}" for loss in ("ce", "mse")) + " |",
        "| network: misclassified samples whose margin grows after Adam's first step | "
        + " | ".join(f"{net[loss]['misclassified_margin_grows']['median']:.0%}" for loss in ("ce", "mse")) + " |",
        "",
        f"The lecture's corner has p(target) = {probe['lecture_corner_p_target']:.3g}; at uniform predictions over "
        f"{probe['uniform_start']['num_classes']} classes MSE's gradient is {probe['uniform_start']['ratio_mse_ce']:.3f} "
        "times CE's (2/K).",
    ]
    return "\n".join(lines) + "\n"


#: Block name -> what it needs: "surface", "training" (the four runs), "probe" or nothing.
BLOCKS: dict[str, str] = {"surface": "surface", "training": "training", "paired": "training", "rates": "",
                          "adam": "probe"}


def _needed(result: dict[str, Any] | None) -> dict[str, Any]:
    """A computation a block needs, which compute_blocks ran because the block was named."""
    assert result is not None
    return result


def compute_blocks(names: tuple[str, ...] = tuple(BLOCKS),
                   progress: Callable[[str], None] | None = None) -> dict[str, str]:
    """Run what the named blocks need (each computation once) and render them."""
    needs = {BLOCKS[name] for name in names}
    runs = training_runs(progress) if "training" in needs else {}
    surface_result = None
    if "surface" in needs:
        from outlayer.surface import run

        if progress is not None:
            progress("outlayer surface --json")
        surface_result = run()
    probe = None
    if "probe" in needs:
        from outlayer import probes

        if progress is not None:
            progress("python benchmarks/bench_compare.py adam")
        probe = probes.measure()
    renderers: dict[str, Callable[[], str]] = {
        "surface": lambda: surface_block(_needed(surface_result)),
        "training": lambda: training_block(runs),
        "paired": lambda: paired_block(runs),
        "rates": rates_block,
        "adam": lambda: adam_block(_needed(probe)),
    }
    return {name: renderers[name]() for name in names}


def read_marked_blocks(text: str, tag: str) -> dict[str, str]:
    """The ``tag`` blocks of a README text, by name (what sits between the markers)."""
    return {match["name"]: match["body"] for match in _marker(tag).finditer(text)}


def replace_marked_blocks(text: str, blocks: Mapping[str, str], tag: str) -> str:
    """``text`` with each named ``tag`` block's body replaced; a block missing from the text raises ValueError."""
    missing = sorted(set(blocks) - set(read_marked_blocks(text, tag)))
    if missing:
        raise ValueError(f"README has no '<!-- {tag} {missing[0]} -->' marker to write into")
    return _marker(tag).sub(lambda m: f"<!-- {tag} {m['name']} -->\n{blocks.get(m['name'], m['body'])}"
                                      f"<!-- /{tag} {m['name']} -->", text)


def read_blocks(text: str) -> dict[str, str]:
    """The ``lab-table`` blocks of a README text, by name."""
    return read_marked_blocks(text, "lab-table")


def replace_blocks(text: str, blocks: Mapping[str, str]) -> str:
    """``text`` with each named ``lab-table`` block's body replaced (ValueError for a missing one)."""
    return replace_marked_blocks(text, blocks, "lab-table")
