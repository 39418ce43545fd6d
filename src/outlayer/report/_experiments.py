"""The report's subsections for the lab's experiments (:mod:`outlayer.lab`) and Nielsen's neuron.

Three parts, each used through one hook elsewhere:

* :func:`experiment_jobs` (from :func:`outlayer.report._jobs.all_jobs`): one job per experiment,
  with the report's settings (:data:`REPORT_SETTINGS`, trimmed by measurement to fit the page's
  time budget, stated on the page); :func:`run_lab_job` runs one (``kind="lab"``) and draws its
  figures as PNG + SVG.
* :func:`add_experiments` (from :func:`outlayer.report._sections.build_sections`): appends one
  subsection per experiment to "Beyond the lecture" and puts what they show under
  ``data["experiments"]`` of that section, so every number on the page is read back from
  ``data/beyond.json`` (through :class:`~outlayer.report._page.Numbers`).

Every sentence is a catalogue entry (:mod:`outlayer.report._i18n_experiments`); sentences that
compare choose their words from the paired intervals (:func:`outlayer.report._sections.relation_msg`).
Each subsection names the source it reproduces as a plain link (``rel="noreferrer"``): the page
loads nothing from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from outlayer.report._i18n import Joined, Msg, T
from outlayer.report._markup import Markup, attrs
from outlayer.report._page import Figure, Numbers, Section

__all__ = ["EXPERIMENT_JOBS", "REPORT_SETTINGS", "add_experiments", "experiment_jobs", "run_lab_job"]

#: The report's settings of each experiment (default page, --quick page): seeds and grids trimmed
#: by measurement (benchmarks/bench_report.py) so that the whole page stays within its time budget.
REPORT_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "neuron": {"default": {}, "quick": {}},
    "sweep": {"default": {"seeds": 3, "losses": ("ce", "mse")},
              "quick": {"logit_stds": (1.0, 30.0), "losses": ("ce", "mse"), "optimizers": ("sgd",), "seeds": 2,
                        "epochs": 3}},
    "many-classes": {"default": {"seeds": 3, "optimizers": ("sgd",)},
                     "quick": {"seeds": 2, "epochs": 2, "variants": ("ce", "mse-logits", "mse-logits k=15 M=30"),
                               "optimizers": ("sgd",), "per_class": 8}},
    "priors": {"default": {"seeds": 5}, "quick": {"seeds": 2, "epochs": 3}},
}

#: job name -> (module, config class, figures {stem: (plots module, function, keyword arguments)}, relative
#: cost). The page draws what its text needs (the commands draw every figure): it stays within its size budget.
EXPERIMENT_JOBS: dict[str, tuple[str, str, dict[str, tuple[str, str, dict[str, Any]]], float]] = {
    "neuron": ("outlayer.neuron", "NeuronConfig", {"neuron_page": ("outlayer.plots.neuron", "page_panels", {})}, 0.1),
    "sweep": ("outlayer.lab.sweep", "SweepConfig", {"sweep_accuracy": ("outlayer.plots.sweep", "accuracy_figure", {})},
              9.0),
    "many-classes": ("outlayer.lab.many_classes", "ManyClassesConfig",
                     {"many_classes_accuracy": ("outlayer.plots.many_classes", "accuracy_figure", {})}, 11.0),
    "priors": ("outlayer.lab.priors", "PriorsConfig",
               {"priors_outputs": ("outlayer.plots.priors", "outputs_figure",
                                   {"panels": ("mse-mean", "ce-own", "mse-own")})}, 1.5),
}

#: Experiments measured on the training section's own compare() cells rather than trained again:
#: calibration (the cell's runs are its runs) and CE-then-MSE (with SGD, CE continued and MSE from
#: scratch are exactly the cell's CE and MSE runs, so only the pretrained arm is trained).
#: cell -> (analyses, losses the cell must also train).
CELL_ANALYSES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gentle-sgd": (("calibration", "pretrain"), ()),
    "confident-sgd": (("calibration", "pretrain"), ("ce-smooth",)),
}
#: The losses whose reliability diagrams the page draws per start (label smoothing's story; every loss's is in
#: the section's reliability figure, every number in the table): the page stays within its size budget.
RELIABILITY_LOSSES: tuple[str, ...] = ("ce", "ce-smooth")
#: Noise-floor redraws per run on the page (default, quick).
NOISE_RESAMPLES = {"default": 2000, "quick": 200}
#: Epochs of cross-entropy before the switch, out of the cell's epochs (default, quick).
PRETRAIN_EPOCHS = {"default": 5, "quick": 2}


def experiment_jobs(plan: Any) -> list[Any]:
    """One report job per experiment, with the plan's mode (default or quick) of :data:`REPORT_SETTINGS`."""
    from outlayer.report._jobs import Job

    mode = "quick" if plan.quick else "default"
    jobs = []
    for name, (module, config, figures, cost) in EXPERIMENT_JOBS.items():
        settings = dict(REPORT_SETTINGS[name][mode])
        if "seeds" in settings and not plan.quick:
            settings["seeds"] = min(settings["seeds"], plan.seeds) if plan.seeds < 10 else settings["seeds"]
        jobs.append(Job(f"exp-{name}", "lab", {"module": module, "config": config, "settings": settings},
                        {stem: (plot, function, dict(kwargs)) for stem, (plot, function, kwargs) in figures.items()},
                        cost=cost if not plan.quick else cost / 10.0))
    return jobs


def run_analyses(job: Any, result: Mapping[str, Any], figure_dir: str) -> dict[str, Any]:
    """The analyses of a training cell (:data:`CELL_ANALYSES`) on its compare() result, with their figures."""
    from outlayer.lab import calibration, pretrain
    from outlayer.plots import calibration as calibration_figures
    from outlayer.plots import pretrain as pretrain_figures
    from outlayer.plots import save_figures

    config = result["config"]
    mode = "quick" if config["epochs"] < 10 else "default"
    out: dict[str, Any] = {}
    built = {}
    if "calibration" in job.analyses:
        settings = calibration.CalibrationConfig(noise_resamples=NOISE_RESAMPLES[mode])
        cell = calibration.cell_report(result, settings)
        report = {"cells": {job.name: cell}, "setup": {"dataset": config["dataset"], "seeds": config["seeds"],
                                                       "epochs": config["epochs"], "ece_bins": config["ece_bins"],
                                                       "noise_resamples": settings.noise_resamples},
                  "sources": calibration.SOURCES}
        built[f"calibration_{job.name}_reliability"] = calibration_figures.reliability_figure(report, RELIABILITY_LOSSES)
        out["calibration_report"] = report
    if "pretrain" in job.analyses and job.options.get("label_column") is None:  # the experiment reads no CSV column
        settings = pretrain.PretrainConfig(init=config["init"], optimizer=config["optimizer"],
                                           seeds=len(config["seeds"]), epochs=config["epochs"],
                                           pretrain_epochs=PRETRAIN_EPOCHS[mode], dataset=str(job.options["dataset"]))
        report = pretrain.run(settings, baseline=result)
        built[f"pretrain_{job.name}_accuracy"] = pretrain_figures.accuracy_figure(report, differences=False)
        out["pretrain_report"] = report
    figures = save_figures(built, figure_dir)
    for report in out.values():
        report["figures"] = figures
    return out


def run_lab_job(job: Any, figure_dir: str) -> dict[str, Any]:
    """Run one experiment job: its ``run(config)``, then its figures as PNG + SVG in ``figure_dir``."""
    from outlayer.plots import save_figures

    module = importlib.import_module(job.options["module"])
    config = getattr(module, job.options["config"])(**job.options["settings"])
    result = module.run(config)
    built = {stem: getattr(importlib.import_module(plot), function)(result, **kwargs)
             for stem, (plot, function, kwargs) in job.figures.items()}
    result["figures"] = save_figures(built, figure_dir)
    return result


# ------------------------------------------------------------------------------------ helpers
def _link(source: Mapping[str, str]) -> Markup:
    """The source as a plain link in text: the page never loads it, and sends no referrer."""
    return Markup('<a{}><span translate="no">{}</span></a>').format(
        attrs(href=source["url"], rel="noreferrer"), source["title"])


def _figure(result: Mapping[str, Any], stem: str, caption: Msg) -> Figure:
    """The page's figure (one file, or one per panel) of figure ``stem`` that a job drew."""
    from outlayer.report._sections import figure_from

    return figure_from(result["figures"], stem, caption)


def _stat(n: Numbers, path: str, fmt: str = ".1%") -> Markup:
    from outlayer.report._sections import _stat as stat

    return stat(n, path, fmt)


def _difference(n: Numbers, path: str, fmt: str = ".1%") -> Markup:
    from outlayer.report._sections import _difference as difference

    return difference(n, path, fmt)


def _relation(a: Mapping[str, Any], b: Mapping[str, Any], a_name: Msg, b_name: Msg,
              paired: Mapping[str, Any] | None = None, flip: bool = False) -> Msg:
    from outlayer.report._sections import relation_msg

    return relation_msg(a, b, a_name, b_name, {**paired, "flip": flip} if paired is not None else None)


def _neutral(text: str) -> Markup:
    """Text that reads the same in both languages (loss names, symbols), marked so."""
    return Markup('<span translate="no">{}</span>').format(text)


def _subsection(section: Section, key: str, title: Msg) -> None:
    section.add(Markup('<div class="subsection" id="{}">{}</div>').format(key, title.inline("h3")))


def _std_key(std: float) -> str:
    return format(float(std), "g")


def _strip(value: Any, drop: Sequence[str]) -> Any:
    """``value`` without the keys in ``drop``, at any depth (curves and bins the figures show)."""
    if isinstance(value, Mapping):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_strip(v, drop) for v in value]
    return value


# --------------------------------------------------------------------------------- the hook
def add_experiments(section: Section, results: Mapping[str, Mapping[str, Any]]) -> None:
    """Append the experiments' subsections to ``section`` ("Beyond the lecture") and their data."""
    section.data["experiments"] = {}
    n = Numbers(section.key, section.data)
    section.p(T("exp.intro"))
    for job, build in (("exp-neuron", _neuron), ("exp-sweep", _sweep), ("", _calibration), ("", _pretrain),
                       ("exp-many-classes", _many_classes), ("exp-priors", _priors)):
        if not job or job in results:  # the calibration and pretraining builders find their cells themselves
            build(section, n, results)


# ----------------------------------------------------------------------------- Nielsen's neuron
def _neuron(section: Section, n: Numbers, results: Mapping[str, Mapping[str, Any]]) -> None:
    result = results["exp-neuron"]
    data = section.data["experiments"]
    data["neuron"] = {"config": result["config"], "source": result["source"], "starts": result["starts"],
                      "equal_rate": result["equal_rate"],
                      "runs": _strip(result["runs"], ("output", "cost_per_epoch"))}
    _subsection(section, "exp-neuron", T("exp.neuron.title"))
    config = result["config"]
    key = format(config["thresholds"][0], "g")
    sentences = [T("exp.neuron.intro", link=_link(result["source"]))]
    for i, entry in enumerate(result["equal_rate"]):
        cell = entry["epochs_to_output_below"][key]
        at = f"experiments/neuron/equal_rate/{i}"
        start = next(j for j, s in enumerate(result["starts"]) if (s["w0"], s["b0"]) == (entry["w0"], entry["b0"]))
        common = {"w": n(f"{at}/w0", "g"), "b": n(f"{at}/b0", "g"), "a0": n(f"experiments/neuron/starts/{start}/output", ".2f"),
                  "lr": n(f"{at}/lr", "g"), "threshold": n("experiments/neuron/config/thresholds/0", "g")}
        if cell["quadratic"] is not None and cell["cross-entropy"] is not None:
            sentences.append(T("exp.neuron.equal", **common, q=n(f"{at}/epochs_to_output_below/{key}/quadratic", "d"),
                               c=n(f"{at}/epochs_to_output_below/{key}/cross-entropy", "d"),
                               ratio=n(f"{at}/epochs_to_output_below/{key}/ratio_quadratic_to_cross_entropy", ".1f")))
        else:
            sentences.append(T("exp.neuron.never", **common, epochs=n("experiments/neuron/config/epochs", "d")))
    sentences.append(T("exp.neuron.rates", lq=n("experiments/neuron/config/quadratic_lr", "g"),
                       lc=n("experiments/neuron/config/cross_entropy_lr", "g")))
    section.p(*sentences)
    section.figures([_figure(result, "neuron_page", T("exp.neuron.fig"))], wide=True)


# ------------------------------------------------------------------------------------- sweep
def _sweep(section: Section, n: Numbers, results: Mapping[str, Mapping[str, Any]]) -> None:
    result = results["exp-sweep"]
    config = result["config"]
    stds = [float(s) for s in config["logit_stds"]]
    points: dict[str, Any] = {}
    for row in result["rows"]:
        points.setdefault(row["optimizer"], {}).setdefault(row["loss"], {})[_std_key(row["logit_std"])] = {
            "test_accuracy": row["test_accuracy"], "lr": row["lr"], "diverged": row["diverged"],
            "collapsed": row["collapsed"], "drop_from_smallest": _strip(row["drop_from_smallest"], ("differences",))}
    data = section.data["experiments"]
    data["sweep"] = {"config": config, "setup": _strip(result["setup"], ("interval", "paired_interval")), "points": points,
                     "p_true_initial": _strip(result["p_true_initial"], ("per_seed",)),
                     "lecture_corner_p_target": result["lecture_corner_p_target"], "extremes": result["extremes"],
                     "lr_sources": sorted({r["lr_source"] for r in result["rows"]}), "source": result["source"],
                     "n_seeds": len(result["setup"]["seeds"]),
                     "rates_tuned": all(r["lr_source"].startswith("tuned") for r in result["rows"])}
    _subsection(section, "exp-sweep", T("exp.sweep.title"))
    at = "experiments/sweep"
    setup = result["setup"]
    low, high = _std_key(stds[0]), _std_key(stds[-1])
    section.p(
        T("exp.sweep.intro", link=_link(result["source"]),
          stds=Joined(tuple(n(f"{at}/config/logit_stds/{i}", "g") for i in range(len(stds)))),
          dataset=str(setup["dataset"]["name"]), seeds=n(f"{at}/n_seeds", "d"),
          epochs=n(f"{at}/setup/epochs", "d"),
          losses=Joined(tuple(config["losses"])), optimizers=Joined(tuple(config["optimizers"]))),
        T("exp.sweep.rates") if data["sweep"]["rates_tuned"] else T("exp.sweep.rates_fallback"),
        T("exp.sweep.p_true", low_std=n(f"{at}/config/logit_stds/0", "g"),
          low=n(f"{at}/p_true_initial/{low}/median", ".2g"), high_std=n(f"{at}/config/logit_stds/{len(stds) - 1}", "g"),
          high=n(f"{at}/p_true_initial/{high}/median", ".1e"), corner=n(f"{at}/lecture_corner_p_target", ".1e")),
    )
    sentences = []
    for optimizer in config["optimizers"]:
        by = points[optimizer]
        if "ce" in by and data["sweep"]["extremes"][optimizer]["ce"]:
            sentences.append(T("exp.sweep.ce_range", optimizer=optimizer,
                               low=n(f"{at}/extremes/{optimizer}/ce/min/value", ".1%"),
                               high=n(f"{at}/extremes/{optimizer}/ce/max/value", ".1%")))
        for loss in (x for x in config["losses"] if x != "ce"):
            if len(stds) < 2:
                continue
            far_index = stds.index(30.0) if 30.0 in stds and stds[0] < 30.0 else len(stds) - 1
            far = _std_key(stds[far_index])
            drop = by[loss][far]["drop_from_smallest"]
            sentences.append(T("exp.sweep.drop", optimizer=optimizer, loss=loss, low_std=n(f"{at}/config/logit_stds/0", "g"),
                               low=_stat(n, f"{at}/points/{optimizer}/{loss}/{low}/test_accuracy"),
                               far_std=n(f"{at}/config/logit_stds/{far_index}", "g"), far=_stat(n, f"{at}/points/{optimizer}/{loss}/{far}/test_accuracy"),
                               drop=_difference(n, f"{at}/points/{optimizer}/{loss}/{far}/drop_from_smallest"),
                               relation=_relation(by[loss][low]["test_accuracy"], by[loss][far]["test_accuracy"],
                                                  T("exp.sweep.at_low"), T("exp.sweep.at_far"), drop)))
    if sentences:
        section.p(*sentences)
    header: list[Any] = [T("exp.sweep.col_std"), T("exp.sweep.col_p")]
    header += [f"{loss} · {opt}" for opt in config["optimizers"] for loss in config["losses"]]
    rows = []
    for i, std in enumerate(stds):
        key = _std_key(std)
        rows.append([n(f"{at}/config/logit_stds/{i}", "g"), n(f"{at}/p_true_initial/{key}/median", ".1e")]
                    + [_stat(n, f"{at}/points/{opt}/{loss}/{key}/test_accuracy")
                       for opt in config["optimizers"] for loss in config["losses"]])
    section.table(T("exp.sweep.table"), header, rows, numeric_from=0)
    rate_rows = [[f"{loss} · {opt}", *(n(f"{at}/points/{opt}/{loss}/{_std_key(s)}/lr", "g") for s in stds)]
                 for opt in config["optimizers"] for loss in config["losses"]]
    section.table(T("exp.sweep.rates_table"), [T("exp.col.loss_optimizer"),
                                                *(_neutral("σ₀ = ") + n(f"{at}/config/logit_stds/{i}", "g")
                                                  for i in range(len(stds)))], rate_rows)
    section.figures([_figure(result, "sweep_accuracy", T("exp.sweep.fig"))], wide=True)


# ------------------------------------------------------------------------------- calibration
def _calibration(section: Section, n: Numbers, results: Mapping[str, Mapping[str, Any]]) -> None:
    reports = {name: results[name]["calibration_report"] for name in CELL_ANALYSES
               if name in results and "calibration_report" in results[name]}
    if not reports:
        return
    from outlayer.lab import calibration

    cells = {name: _strip(report["cells"][name], ("reliability", "reliability_scaled", "differences", "change",
                                                  "val_nll_before", "val_nll_after", "fitted_on"))
             for name, report in reports.items()}
    smoothing = {name: cell["paired"]["ce - ce-smooth"]["test_ece"] for name, cell in cells.items()
                 if "ce - ce-smooth" in cell["paired"]}
    for cell in cells.values():  # the page shows one pair: CE against CE + label smoothing
        cell["paired"] = {key: value for key, value in cell["paired"].items() if key == "ce - ce-smooth"}
    first = next(iter(reports.values()))
    data = section.data["experiments"]
    data["calibration"] = {"setup": first["setup"], "cells": cells, "smoothing": smoothing,
                           "sources": calibration.SOURCES, "n_seeds": len(first["setup"]["seeds"])}
    _subsection(section, "exp-calibration", T("exp.calib.title"))
    at = "experiments/calibration"
    setup = first["setup"]
    names = list(cells)
    gentle = names[0]
    section.p(
        T("exp.calib.intro", link=_link(calibration.SOURCES["guo2017"]), dataset=str(setup["dataset"]["name"]),
          test=n(f"{at}/setup/dataset/n_test", "d"), seeds=n(f"{at}/n_seeds", "d"),
          epochs=n(f"{at}/setup/epochs", "d"), bins=n(f"{at}/setup/ece_bins", "d")),
        T("exp.calib.same_runs"),
        T("exp.calib.never_raises"),
    )
    ce = cells[gentle]["summary"].get("ce")
    if ce is not None:
        section.p(T("exp.calib.floor", test=n(f"{at}/cells/{gentle}/summary/ce/noise_floor/n_test", "d"),
                    mean=n(f"{at}/cells/{gentle}/summary/ce/noise_floor/mean/mean", ".3f"),
                    q95=n(f"{at}/cells/{gentle}/summary/ce/noise_floor/q95/mean", ".3f"),
                    ece=_stat(n, f"{at}/cells/{gentle}/summary/ce/calibration/ece_before", ".3f"),
                    relation=_relation(ce["calibration"]["ece_before"], ce["noise_floor"]["q95"],
                                       T("exp.calib.ce_ece"), T("exp.calib.floor_name"))))
    sentences = []
    for name in names:
        cell = cells[name]
        if name in smoothing:
            params = dict(link=_link(calibration.SOURCES["muller2019"]),
                          ce=_stat(n, f"{at}/cells/{name}/summary/ce/calibration/ece_before", ".3f"),
                          smooth=_stat(n, f"{at}/cells/{name}/summary/ce-smooth/calibration/ece_before", ".3f"),
                          diff=_difference(n, f"{at}/smoothing/{name}", ".3f"),
                          relation=_relation(cell["summary"]["ce-smooth"]["calibration"]["ece_before"],
                                             cell["summary"]["ce"]["calibration"]["ece_before"],
                                             T("exp.calib.smooth_name"), T("exp.calib.ce_name"), smoothing[name],
                                             flip=True))
            temperature = cell["summary"]["ce"]["calibration"]["temperature"]
            interval = temperature.get("ci95") or [temperature["mean"]] * 2
            confidence = (T("exp.calib.over") if interval[0] > 1 else T("exp.calib.under") if interval[1] < 1
                          else T("exp.calib.neither"))
            sentences.append(T("exp.calib.smooth", init=T(f"init.{cell['init']}"), confidence=confidence,
                               t=_stat(n, f"{at}/cells/{name}/summary/ce/calibration/temperature", ".3g"), **params))
    if sentences:
        section.p(*sentences)
    rows = []
    for name in names:
        for loss, entry in cells[name]["summary"].items():
            if entry["calibration"] is None:
                continue
            base = f"{at}/cells/{name}/summary/{loss}"
            rows.append([_neutral(f"{loss}, σ₀ = ") + n(f"{at}/cells/{name}/initial_logit_std", ".2g"),
                         _stat(n, f"{base}/calibration/temperature", ".3g"),
                         _stat(n, f"{base}/calibration/ece_before", ".3f"), _stat(n, f"{base}/calibration/ece_after", ".3f"),
                         _stat(n, f"{base}/calibration/nll_before", ".3f"), _stat(n, f"{base}/calibration/nll_after", ".3f"),
                         _stat(n, f"{base}/noise_floor/q95", ".3f")])
    section.table(T("exp.calib.table"), [T("exp.col.loss_start"), T("exp.calib.col_t"), T("exp.calib.col_ece_before"),
                                         T("exp.calib.col_ece_after"), T("exp.calib.col_nll_before"),
                                         T("exp.calib.col_nll_after"), T("exp.calib.col_floor")], rows)
    for name, report in reports.items():
        section.figures([_figure(report, f"calibration_{name}_reliability",
                                 T("exp.calib.fig_reliability", init=T(f"init.{cells[name]['init']}")))], wide=True)


# ----------------------------------------------------------------------------------- pretrain
def _pretrain(section: Section, n: Numbers, results: Mapping[str, Mapping[str, Any]]) -> None:
    data = section.data["experiments"]
    data["pretrain"] = {}
    found = [(results[name]["pretrain_report"]["config"]["init"], results[name]["pretrain_report"])
             for name in CELL_ANALYSES if name in results and "pretrain_report" in results[name]]
    if not found:
        return
    for init, result in found:
        losses = _strip(result["losses"], ("curve", "differences", "test_nll", "test_ece"))  # the page shows accuracy
        data["pretrain"][init] = {"config": result["config"], "setup": _strip(result["setup"], ("interval", "paired_interval")),
                                  "source": result["source"], "losses": losses,
                                  "n_seeds": len(result["setup"]["seeds"])}
    _subsection(section, "exp-pretrain", T("exp.pretrain.title"))
    first_init, first = found[0]
    at0 = f"experiments/pretrain/{first_init}"
    loss = next(iter(first["losses"]))
    section.p(T("exp.pretrain.intro", link=_link(first["source"]), p=n(f"{at0}/setup/pretrain_epochs", "d"),
                e=n(f"{at0}/setup/epochs", "d"), rest=n(f"{at0}/setup/continuation_epochs", "d"), loss=loss,
                pre=first["config"]["pretrain_loss"], dataset=str(first["setup"]["dataset"]["name"]),
                seeds=n(f"{at0}/n_seeds", "d"), optimizer=first["config"]["optimizer"]))
    figures = []
    for init, result in found:
        at = f"experiments/pretrain/{init}"
        arms = f"{at}/losses/{loss}/arms"
        paired = result["losses"][loss]["paired"]
        stats = {arm: result["losses"][loss]["arms"][arm]["test_accuracy"] for arm in ("pretrained", "ce", "scratch")}
        names = {"pretrained": T("exp.pretrain.arm_pretrained", loss=loss),
                 "ce": T("exp.pretrain.arm_ce"), "scratch": T("exp.pretrain.arm_scratch", loss=loss)}
        section.p(
            T("exp.pretrain.result", init=T(f"init.{init}"), a=_stat(n, f"{arms}/pretrained/test_accuracy"), b=_stat(n, f"{arms}/ce/test_accuracy"),
              c=_stat(n, f"{arms}/scratch/test_accuracy"), loss=loss,
              lr=n(f"{at}/setup/continuation_lr/{loss}", "g"), source=T("exp.rate_source_tuned")
              if result["setup"]["continuation_lr_source"].startswith("tuned") else T("exp.rate_source_fallback")),
            T("exp.pretrain.paired", d1=_difference(n, f"{at}/losses/{loss}/paired/pretrained - ce/test_accuracy"),
              r1=_relation(stats["pretrained"], stats["ce"], names["pretrained"], names["ce"],
                           paired["pretrained - ce"]["test_accuracy"]),
              d2=_difference(n, f"{at}/losses/{loss}/paired/pretrained - scratch/test_accuracy"),
              r2=_relation(stats["pretrained"], stats["scratch"], names["pretrained"], names["scratch"],
                           paired["pretrained - scratch"]["test_accuracy"])),
        )
        cell = f"{init}-{result['config']['optimizer']}"
        figures.append(_figure(result, f"pretrain_{cell}_accuracy", T("exp.pretrain.fig", init=T(f"init.{init}"))))
    section.figures(figures)


# ------------------------------------------------------------------------------ many classes
def _many_classes(section: Section, n: Numbers, results: Mapping[str, Mapping[str, Any]]) -> None:
    result = results["exp-many-classes"]
    rows_by: dict[str, Any] = {}
    for row in result["rows"]:
        rows_by.setdefault(row["optimizer"], {})[row["variant"]] = _strip(row, ("curve",))
    data = section.data["experiments"]
    data["many_classes"] = {"config": result["config"], "setup": result["setup"], "rows": rows_by,
                            "paired": _strip(result["paired"], ("differences",)), "source": result["source"],
                            "n_seeds": len(result["setup"]["seeds"]),
                            "rates_tuned": all(r["lr_source"].startswith("tuned") for r in result["rows"])}
    _subsection(section, "exp-many-classes", T("exp.many.title"))
    at = "experiments/many_classes"
    variants = list(result["config"]["variants"])
    rescaled = [v for v in variants if v.startswith("mse-logits k")]
    section.p(
        T("exp.many.intro", link=_link(result["source"]), k=n(f"{at}/setup/dataset/n_classes", "d"),
          train=n(f"{at}/setup/dataset/n_train", "d"), test=n(f"{at}/setup/dataset/n_test", "d"),
          features=n(f"{at}/config/n_features", "d"), seeds=n(f"{at}/n_seeds", "d"),
          epochs=n(f"{at}/setup/epochs", "d"), optimizers=Joined(tuple(result["config"]["optimizers"])),
          rates=T("exp.rate_source_tuned") if data["many_classes"]["rates_tuned"] else T("exp.rate_source_fallback"),
          rescalings=Joined(tuple(_neutral("(k, M) = (") + n(f"{at}/setup/rescalings/{v}/k", "g") + Markup(", ")
                                  + n(f"{at}/setup/rescalings/{v}/M", "g") + Markup(")") for v in rescaled))),
        T("exp.many.values"),
    )
    sentences = []
    for optimizer, by in rows_by.items():
        for variant in rescaled:
            key = f"{variant} - mse-logits"
            if key in result["paired"][optimizer]:
                sentences.append(T("exp.many.rescaled", optimizer=optimizer, variant=variant,
                                   acc=_stat(n, f"{at}/rows/{optimizer}/{variant}/test_accuracy"),
                                   plain=_stat(n, f"{at}/rows/{optimizer}/mse-logits/test_accuracy"),
                                   diff=_difference(n, f"{at}/paired/{optimizer}/{key}"),
                                   relation=_relation(by[variant]["test_accuracy"], by["mse-logits"]["test_accuracy"],
                                                      T("exp.many.name_rescaled", variant=variant),
                                                      T("exp.many.name_plain"), result["paired"][optimizer][key])))
            key = f"{variant} - ce"
            if key in result["paired"][optimizer]:
                sentences.append(T("exp.many.vs_ce", ce=_stat(n, f"{at}/rows/{optimizer}/ce/test_accuracy"),
                                   relation=_relation(by[variant]["test_accuracy"], by["ce"]["test_accuracy"],
                                                      T("exp.many.name_rescaled", variant=variant),
                                                      T("exp.many.name_ce"), result["paired"][optimizer][key])))
    if sentences:
        section.p(*sentences)
    optimizers = list(rows_by)
    rows = [[variant, *(_stat(n, f"{at}/rows/{opt}/{variant}/test_accuracy") for opt in optimizers),
             *(n(f"{at}/rows/{opt}/{variant}/lr", "g") for opt in optimizers)] for variant in variants]
    section.table(T("exp.many.table"), [T("exp.col.loss"), *optimizers,
                                        *(T("exp.col.rate_of", optimizer=opt) for opt in optimizers)], rows)
    section.figures([_figure(result, "many_classes_accuracy", T("exp.many.fig"))], wide=True)


# ------------------------------------------------------------------------------------ priors
def _priors(section: Section, n: Numbers, results: Mapping[str, Mapping[str, Any]]) -> None:
    result = results["exp-priors"]
    losses = {loss: {"lr": entry["lr"], "summary": entry["summary"],
                     "runs": [{k: r[k] for k in ("seed", "steps_at_prior_total", "test_accuracy", "diverged")}
                              for r in entry["runs"]]}
              for loss, entry in result["losses"].items()}
    data = section.data["experiments"]
    data["priors"] = {"config": result["config"], "setup": result["setup"], "losses": losses,
                      "paired": _strip(result["paired_mse_minus_ce"], ("differences",)), "source": result["source"],
                      "gradient_at_prior": result["gradient_at_prior"],
                      "n_seeds": len(result["setup"]["seeds"])}
    _subsection(section, "exp-priors", T("exp.priors.title"))
    at = "experiments/priors"
    setup = result["setup"]
    k = len(setup["prior_mean"])
    rare = min(range(k), key=lambda c: setup["prior_mean"][c])
    common = max(range(k), key=lambda c: setup["prior_mean"][c])
    total = {loss: losses[loss]["summary"]["steps_at_prior_total"] for loss in ("ce", "mse")}
    section.p(
        T("exp.priors.intro", link=_link(result["source"])),
        T("exp.priors.setup", ratio=n(f"{at}/config/ratio", "g"), high=n(f"{at}/setup/prior_mean/{common}", ".3f"),
          low=n(f"{at}/setup/prior_mean/{rare}", ".3f"), train=n(f"{at}/setup/n_train/0", "d"),
          seeds=n(f"{at}/n_seeds", "d"), epochs=n(f"{at}/setup/epochs", "d"),
          steps=n(f"{at}/setup/steps", "d"), optimizer=result["config"]["optimizer"],
          ce_lr=n(f"{at}/losses/ce/lr", "g"), mse_lr=n(f"{at}/losses/mse/lr", "g"),
          source=T("exp.rate_source_tuned") if setup["rates_source"].startswith("tuned") else T("exp.rate_source_fallback")),
        T("exp.priors.definition", tol=n(f"{at}/setup/tolerance", "g"), learned=n(f"{at}/setup/learned", "g")),
    )

    def learned(loss: str) -> Msg:
        base = f"{at}/losses/{loss}/summary"
        if losses[loss]["summary"]["first_step_learned"][rare]["mean"] is None:
            return T("exp.priors.learned_never", seeds=n(f"{at}/n_seeds", "d"), steps=n(f"{at}/setup/steps", "d"))
        return T("exp.priors.learned_in", runs=n(f"{base}/learned_in_run/{rare}", "d"), seeds=n(f"{at}/n_seeds", "d"),
                 step=_stat(n, f"{base}/first_step_learned/{rare}", ".0f"))

    section.p(
        T("exp.priors.total", mse=_stat(n, f"{at}/losses/mse/summary/steps_at_prior_total", ".0f"),
          ce=_stat(n, f"{at}/losses/ce/summary/steps_at_prior_total", ".0f"),
          diff=_difference(n, f"{at}/paired/steps_at_prior_total", ".0f"),
          relation=_relation(total["mse"], total["ce"], T("exp.priors.name_mse"), T("exp.priors.name_ce"),
                             result["paired_mse_minus_ce"]["steps_at_prior_total"])),
        T("exp.priors.rare", cls=Markup(str(rare)), prior=n(f"{at}/setup/prior_mean/{rare}", ".3f"),
          ce=learned("ce"), mse=learned("mse")),
        T("exp.priors.why", cls=Markup(str(rare)), mse=n(f"{at}/gradient_at_prior/mse/{rare}", ".3f"),
          ce=n(f"{at}/gradient_at_prior/ce/{rare}", ".3f"), common=Markup(str(common)),
          mse_common=n(f"{at}/gradient_at_prior/mse/{common}", ".3f"), ce_common=n(f"{at}/gradient_at_prior/ce/{common}", ".3f")),
    )
    rows = []
    order = sorted(range(k), key=lambda c: -setup["prior_mean"][c])
    for c in order:
        rows.append([Markup(str(c)), n(f"{at}/setup/prior_mean/{c}", ".3f"),
                     _stat(n, f"{at}/losses/ce/summary/steps_at_prior/{c}", ".0f"),
                     _stat(n, f"{at}/losses/mse/summary/steps_at_prior/{c}", ".0f"),
                     *(_stat(n, f"{at}/losses/{loss}/summary/first_step_learned/{c}", ".0f")
                       + Markup(" ({}/{})").format(n(f"{at}/losses/{loss}/summary/learned_in_run/{c}", "d"),
                                                   n(f"{at}/n_seeds", "d"))
                       if losses[loss]["summary"]["first_step_learned"][c]["mean"] is not None else T("exp.never")
                       for loss in ("ce", "mse"))])
    section.table(T("exp.priors.table"), [T("col.class"), T("exp.priors.col_prior"), T("exp.priors.col_at_ce"),
                                          T("exp.priors.col_at_mse"), T("exp.priors.col_learned_ce"),
                                          T("exp.priors.col_learned_mse")], rows)
    section.figures([_figure(result, "priors_outputs", T("exp.priors.fig"))], wide=True)

