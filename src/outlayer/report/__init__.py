"""``outlayer report``: the whole analysis as one self-contained web page.

:func:`build_report` runs the labs (:func:`outlayer.explain.explain`, :func:`outlayer.surface.run`,
:func:`outlayer.experiments.compare`) and writes::

    DIR/index.html      the page: seven sections and the interactive explorer, inline CSS and JS
    DIR/figures/*.svg   the figures the page shows, one file per panel (and each as PNG)
    DIR/data/*.json     every number the page shows, one file per section, also as CSV (path,value)
    DIR/.outlayer-report  the marker that makes DIR safe to replace next time

The page opens from disk with no server and makes no network request. The report is built in a
temporary folder and moved into place at the end (see :mod:`outlayer.report._write`), so a
failed or interrupted run leaves the previous report intact; a lock keeps two runs from writing
the same folder, and what killed runs left behind is cleaned up by the next one. Every argument
(the folder, the dataset, the sizes, the memory the training needs) is checked before any lab
starts. The same arguments give identical data files, except ``data/run.json`` (the command line
and the run time).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import time
from collections.abc import Callable
from typing import Any

from outlayer._guards import check_network, check_output_dir
from outlayer._io import atomic_write_text
from outlayer.report._i18n import DEFAULT_LANGUAGE, Joined, T, check_language
from outlayer.report._jobs import Plan, all_jobs, default_workers, make_plan, run_jobs
from outlayer.report._page import Numbers, render_page
from outlayer.report._progress import Progress
from outlayer.report._sections import (
    build_sections,
    class_label,
    figure_from,
    notation_box,
)
from outlayer.report._write import MARKER, check_target, staged_folder, write_data

__all__ = ["MARKER", "build_report", "canonical_command"]

#: Distributions whose versions the Reproduce section lists.
_VERSIONED = ("numpy", "matplotlib", "scikit-learn", "tqdm")


def canonical_command(out: str | os.PathLike[str], plan: Plan) -> str:
    """The ``outlayer report`` command line that reproduces a run of ``plan`` into ``out``."""
    argv = ["outlayer", "report", "--out", os.fspath(out), "--dataset", plan.dataset, "--seeds", str(plan.seeds)]
    if plan.label_column is not None:
        argv += ["--label-column", str(plan.label_column)]
    if plan.quick:
        argv.append("--quick")
    return shlex.join(argv)


def build_report(
    out: str | os.PathLike[str] = "outlayer-report",
    *,
    dataset: str = "digits",
    seeds: int | None = None,
    quick: bool = False,
    progress: bool = False,
    workers: int | None = None,
    lang: str = DEFAULT_LANGUAGE,
    label_column: str | int | None = None,
    wait: float | None = 0.0,
    on_start: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run the analysis and write the report folder ``out``; return where it is and a summary.

    Args:
      out: the report folder. An existing folder is replaced only if it is empty or an outlayer
        report (has the :data:`MARKER` file); anything else raises ValueError before any work.
      dataset: built-in dataset name or a .csv/.npz path for sections 1, 5 and 6.
      seeds: training seeds per configuration (default: CompareConfig's 10; quick: 2).
      quick: CompareConfig.QUICK's seeds and epochs and coarser surface grids: a smoke-test run of about 20 s.
      progress: write a line per stage with the elapsed time to stderr, and a bar while the
        labs run when stderr is a terminal.
      workers: processes for the labs (default: usable CPUs, at most 4; 1 = no subprocesses).
      lang: the page's language until the reader switches ("en" or "zh"; both are always in it).
      label_column: the label column of a CSV ``dataset`` (name or index; default the last).
      wait: seconds to wait for another process writing ``out`` (0: fail at once; None: for ever).
      on_start: called once every argument is checked, as the labs start (the CLI prints the
        warnings it held back).

    Returns:
      ``{"out", "index" (Paths), "run_time_s", "summary" (lines for the terminal), "sections"}``.
    """
    plan = make_plan(dataset, seeds, quick, label_column)
    check_language(lang)
    out = check_output_dir(out, "--out", replaced=True)
    check_target(out)  # refuse a foreign folder before minutes of work, not after
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers}")
    _check_plan(plan)
    from outlayer import __version__

    started = time.perf_counter()
    marker = json.dumps({"generator": "outlayer report", "version": __version__}) + "\n"
    with staged_folder(out, marker, wait=wait) as stage:
        if on_start is not None:
            on_start()
        jobs = all_jobs(plan)
        status = Progress(len(jobs), enabled=progress)
        status.stage(f"outlayer report {__version__}: {len(jobs)} labs on {workers} "
                     f"worker{'s' if workers != 1 else ''} ({plan.seeds} seeds{', quick' if plan.quick else ''})")
        try:
            results = run_jobs(jobs, stage / "figures", workers=workers, on_done=lambda job: status.lab_done(job.name))
        finally:
            status.close()
        status.stage("labs done; writing the data files and the page")
        worked = results.pop("worked-example")
        results.update(worked["results"])
        classes = Joined(tuple(class_label(name) for name in results["explain"]["classes"]))
        figures = {
            "temperature": figure_from(worked["figures"], "report_temperature", T("softmax.fig_temperature", classes=classes)),
            "gradients": figure_from(worked["figures"], "report_gradients",
                                     T("loss.fig_gradients", classes=classes, first=class_label(results["explain"]["target"]),
                                       second=class_label(results["explain-rabbit"]["target"]))),
        }
        run = {"command": canonical_command(out, plan), "run_time_s": time.perf_counter() - started, "workers": workers}
        main_config = results["gentle-sgd"]["config"]
        reproduce = {"plan": plan.describe(), "seeds": main_config["seeds"], "split_seed": main_config["split_seed"],
                     "versions": _versions(__version__)}
        sections = build_sections(results, figures, run, reproduce)
        for section in sections:
            write_data(stage / "data", section.key, section.data)
        write_data(stage / "data", "run", run)
        plan_numbers = Numbers("reproduce", reproduce)
        subtitle = T("page.subtitle", version=__version__, seeds=plan_numbers("plan/seeds", "d"),
                     quick=T("page.quick") if plan.quick else "")
        page = render_page(title=T("page.title"), subtitle=subtitle, sections=sections, version=__version__,
                           lang=lang, preface=[notation_box()], root=stage)
        atomic_write_text(stage / "index.html", page)
        size = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file())
    status.stage(f"done: {(out / 'index.html')} ({size / 1e6:.1f} MB with figures and data)")
    return {
        "out": out,
        "index": (out / "index.html").resolve(),
        "run_time_s": run["run_time_s"],
        "summary": _summary_lines(results, run),
        "sections": [section.key for section in sections],
    }


def _check_plan(plan: Plan) -> None:
    """Load the dataset (a bad --dataset fails here, in one line, and the import is warmed) and refuse
    a plan whose training would not fit in memory."""
    from outlayer.config import CompareConfig
    from outlayer.data import load_dataset_for

    data = load_dataset_for(("--dataset", "--label-column"), plan.dataset, label_column=plan.label_column)
    largest = max((job for job in all_jobs(plan) if job.kind == "compare"), key=lambda job: len(job.options["losses"]))
    defaults = CompareConfig()
    check_network(n_features=data.n_features, hidden=defaults.hidden, n_outputs=data.n_classes,
                  n_samples=len(data.y_train), batch_size=defaults.batch_size, optimizer="adam", epochs=plan.epochs,
                  runs=len(largest.options["losses"]) * plan.seeds,
                  what=f"the report's training ({plan.seeds} seeds x {plan.epochs} epochs on {data.n_features} "
                       f"features of {plan.dataset!r})",
                  lower={"weights": "the number of features", "activations": "the number of samples",
                         "history": "--seeds"})


def _versions(outlayer_version: str) -> dict[str, str]:
    from importlib import metadata

    versions = {"outlayer": outlayer_version, "python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["platform"] = f"{platform.system()} {platform.machine()}"
    return versions


def _summary_lines(results: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """A one-screen summary for the terminal (the page has the intervals and the explanations)."""

    def accuracy(cell: str, loss: str) -> str:
        mean = results[cell]["summary"][loss]["test_accuracy"]["mean"]
        return "n/a" if mean is None else f"{mean:.1%}"

    def ece(loss: str) -> str:
        mean = results["gentle-sgd"]["summary"][loss]["test_ece"]["mean"]
        return "n/a" if mean is None else f"{mean:.3f}"

    name = results["gentle-sgd"]["config"]["dataset"]["name"]
    worked = results["explain"]
    surface = results["surface"]
    ratio = surface.get("corner_grad_norm_ratio_ce_mse")
    return [
        f"1 labels     {name}: scalar output {accuracy('gentle-sgd', 'scalar')} vs one-hot + CE "
        f"{accuracy('gentle-sgd', 'ce')} test accuracy; ordinal: {accuracy('ordinal', 'scalar')} vs {accuracy('ordinal', 'ce')}",
        f"2 softmax    softmax({worked['logits']}) = [{', '.join(f'{p:.3f}' for p in worked['probabilities'])}]",
        f"3 loss       target {worked['target']}: CE {worked['cross_entropy']:.4f}, MSE {worked['mse']:.4f}",
        f"4 surface    corner gradient norm CE / MSE = {ratio:.3g}" if ratio is not None else "4 surface    (no ratio)",
        f"5 training   confident start, sgd: CE {accuracy('confident-sgd', 'ce')} vs MSE {accuracy('confident-sgd', 'mse')}",
        f"6 beyond     ECE: CE {ece('ce')}, CE + smoothing {ece('ce-smooth')}, square loss on logits {ece('mse-logits')}",
        f"7 reproduce  {run['command']}  ({run['run_time_s']:.1f} s on {run['workers']} workers)",
    ]
