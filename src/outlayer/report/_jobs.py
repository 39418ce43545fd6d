"""The report's computations: calls into the labs, run in parallel worker processes.

Each job is one call of a lab (:func:`outlayer.surface.run`, :func:`outlayer.experiments.compare`,
:func:`outlayer.explain.explain`, :func:`outlayer.probes.measure`, the stored learning-rate
tuning) plus the figures drawn from its result; the report never re-computes what a lab returns. Jobs are independent and deterministic, so running them in
parallel changes the run time only, never a number.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outlayer.catalogue import PLANE_LOSSES
from outlayer.config import CompareConfig, SurfaceConfig

__all__ = ["Job", "Plan", "all_jobs", "default_workers", "make_plan", "run_job", "run_jobs"]

#: (init, optimizer) cells of the training section, in reading order.
TRAINING_CELLS: tuple[tuple[str, str], ...] = (
    ("gentle", "sgd"),
    ("confident", "sgd"),
    ("gentle", "adam"),
    ("confident", "adam"),
)
#: Losses of the "beyond the lecture" section, next to the lecture's two: every loss with probabilities.
BEYOND_LOSSES: tuple[str, ...] = PLANE_LOSSES
#: Temperatures shown for the worked example.
TEMPERATURES: tuple[float, ...] = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Plan:
    """What one report run computes; ``quick`` trades seeds, epochs and grid points for speed."""

    dataset: str
    seeds: int
    epochs: int
    quick: bool
    surface_options: dict[str, Any] = field(default_factory=dict)
    label_column: str | int | None = None  #: of a CSV --dataset (None: the last column)

    def describe(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "seeds": self.seeds, "epochs": self.epochs, "quick": self.quick,
                "surface_options": dict(self.surface_options),
                **({"label_column": self.label_column} if self.label_column is not None else {})}


def make_plan(dataset: str, seeds: int | None, quick: bool, label_column: str | int | None = None) -> Plan:
    """Default: ``outlayer compare``'s seeds and epochs (CompareConfig: 10 x 20, the epochs the default
    learning rates were tuned for) and the surface lab's own settings; quick: CompareConfig.QUICK
    (2 x 5) and SurfaceConfig.QUICK's coarse grids."""
    if seeds is not None and (isinstance(seeds, bool) or int(seeds) != seeds or seeds < 1):
        raise ValueError(f"--seeds must be a positive integer, got {seeds!r}")
    surface: dict[str, Any] = {}
    defaults = CompareConfig()
    if quick:
        # fewer descent steps: CE escapes the corner in tens of steps, MSE in none of them either way
        surface.update(SurfaceConfig.QUICK)
        return Plan(str(dataset), int(seeds or CompareConfig.QUICK["seeds"]), CompareConfig.QUICK["epochs"], True,
                    surface, label_column)
    return Plan(str(dataset), int(seeds or defaults.seeds), defaults.epochs, False, surface, label_column)


@dataclass(frozen=True)
class Job:
    """One lab call: ``kind`` in {"surface", "compare", "explain"}, its keyword arguments, and
    for compare the figures to draw: stem -> (figure function name in plots.training, losses)."""

    name: str
    kind: str
    options: Mapping[str, Any]
    figures: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # experiments: (module, function, kwargs)
    cost: float = 1.0  # relative run time, to start the longest jobs first
    #: lab experiments measured on this job's compare() result (:mod:`outlayer.report._experiments`)
    analyses: tuple[str, ...] = ()


def training_jobs(plan: Plan) -> list[Job]:
    """The compare() calls behind sections 1, 5 and 6 (each (init, optimizer) cell once)."""
    common = {"seeds": plan.seeds, "epochs": plan.epochs}
    jobs = []
    for init, optimizer in TRAINING_CELLS:
        name = f"{init}-{optimizer}"
        losses: tuple[str, ...] = ("ce", "mse")
        figures: dict[str, tuple[str, tuple[str, ...]]] = {
            f"training_{name}_accuracy": ("accuracy_figure", ("ce", "mse")),
        }
        if (init, optimizer) == ("gentle", "sgd"):
            # the main cell also carries section 1 (scalar vs one-hot) and section 6 (beyond)
            losses = ("scalar", *BEYOND_LOSSES)
            figures["labels_dataset_accuracy"] = ("accuracy_figure", ("scalar", "ce"))
            figures["beyond_reliability"] = ("reliability_figure", BEYOND_LOSSES)
            figures["beyond_learning_curves"] = ("learning_curves_figure", BEYOND_LOSSES)
        if (init, optimizer) == ("confident", "sgd"):
            figures["training_confident-sgd_gradients"] = ("gradient_figure", ("ce", "mse"))
        from outlayer.report._experiments import CELL_ANALYSES

        analyses, extra = CELL_ANALYSES.get(name, ((), ()))
        losses = (*losses, *(loss for loss in extra if loss not in losses))
        options = {"dataset": plan.dataset, "losses": losses, "init": init, "optimizer": optimizer, **common}
        if plan.label_column is not None:
            options["label_column"] = plan.label_column
        jobs.append(Job(name, "compare", options, figures, cost=len(losses) + len(analyses) / 2, analyses=analyses))
    jobs.append(Job("ordinal", "compare", {"dataset": "ordinal", "losses": ("scalar", "ce"), "init": "gentle",
                                            "optimizer": "sgd", **common},
                    {"labels_ordinal_accuracy": ("accuracy_figure", ("scalar", "ce"))}, cost=1.0))
    return jobs


#: explain() calls of sections 2 and 3, by result name.
EXPLAIN_CALLS: dict[str, dict[str, Any]] = {
    "explain": {},
    "explain-rabbit": {"target": "rabbit"},
    "explain-two": {"logits": (2.0, 1.0), "classes": ("cat", "dog")},
    **{f"explain-T{t:g}": {"temperature": t} for t in TEMPERATURES},
}


#: (init, optimizer) panels of the learning-rate tuning figure (the stored default rates).
TUNING_PANELS: tuple[tuple[str, str], ...] = TRAINING_CELLS


def all_jobs(plan: Plan) -> list[Job]:
    """Every lab call of a report run: the surface lab, the training cells, the worked example,
    the Adam measurement and the stored learning-rate tuning."""
    worked = Job("worked-example", "explain", {"calls": EXPLAIN_CALLS}, {
        "report_temperature": ("temperature_figure", tuple(f"explain-T{t:g}" for t in TEMPERATURES)),
        "report_gradients": ("gradients_figure", ("explain", "explain-rabbit")),
    }, cost=0.1)
    surface = Job("surface", "surface", dict(plan.surface_options), cost=4.0 if not plan.quick else 2.0)
    probe = Job("adam-probe", "probe", {"seeds": plan.seeds, "dataset": plan.dataset}, cost=0.5)
    tuning = Job("tuning", "tuning", {"panels": TUNING_PANELS}, cost=0.3)
    from outlayer.report._experiments import experiment_jobs

    return [surface, *training_jobs(plan), worked, probe, tuning, *experiment_jobs(plan)]


def default_workers() -> int:
    """Worker processes: the CPUs this process may use, at most 4 (more only adds start-up cost)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cpus))


# ------------------------------------------------------------------------------------ workers
def _subset(result: Mapping[str, Any], losses: Sequence[str]) -> dict[str, Any]:
    """A view of a compare() result restricted to ``losses`` (for a figure about some of them)."""
    return {**result, "curves": {k: result["curves"][k] for k in losses},
            "summary": {k: result["summary"][k] for k in losses}}


def _slim_compare(result: Mapping[str, Any]) -> dict[str, Any]:
    """compare()'s result without the per-epoch history of every run (the curves keep its means)."""
    keys = ("loss", "seed", "lr", "status", "diverged", "collapsed", "epochs_to_target", "final", "calibration")
    runs = [{key: run[key] for key in keys} for run in result["runs"]]
    return {"settings": result["settings"], "config": result["config"], "summary": result["summary"],
            "paired": result["paired"], "curves": result["curves"], "runs": runs}


def run_job(job: Job, figure_dir: str) -> dict[str, Any]:
    """Run one job; figures go to ``figure_dir``; returns the JSON-able result with ``figures``
    (stem -> file name relative to ``figure_dir``)."""
    from outlayer.plots import save_figures

    if job.kind == "explain":
        from outlayer.explain import explain
        from outlayer.report import _figures

        explained = {name: explain(**kwargs) for name, kwargs in job.options["calls"].items()}
        built = {stem: getattr(_figures, function)([explained[name] for name in names])
                 for stem, (function, names) in job.figures.items()}
        return {"results": explained, "figures": save_figures(built, figure_dir)}
    if job.kind == "surface":
        from outlayer.surface import run

        return run(out_dir=figure_dir, **job.options)
    if job.kind == "probe":
        from outlayer import probes
        from outlayer.plots import training

        probe = probes.measure(**job.options)
        built = {"adam_first_step": training.adam_first_step_figure(probe)}
        return {**probe, "figures": save_figures(built, figure_dir)}
    if job.kind == "tuning":
        from outlayer.experiments import default_lr_table
        from outlayer.plots import training

        table = default_lr_table()
        panels = {f"{init} start, {optimizer}": table["tables"][optimizer][init]
                  for init, optimizer in job.options["panels"]}
        built = {"lr_tuning": training.lr_tuning_figure(panels)}
        cells = {f"{init}-{optimizer}": table["tables"][optimizer][init] for init, optimizer in job.options["panels"]}
        return {"command": table["command"], "procedure": table["procedure"], "rates": table["rates"],
                "cells": cells, "figures": save_figures(built, figure_dir)}
    if job.kind == "lab":
        from outlayer.report._experiments import run_lab_job

        return run_lab_job(job, figure_dir)
    if job.kind != "compare":
        raise ValueError(f"unknown job kind {job.kind!r}")
    from outlayer.experiments import compare
    from outlayer.plots import training

    result = compare(**job.options)
    slim = _slim_compare(result)
    built = {stem: getattr(training, function)(_subset(result, losses))
             for stem, (function, losses) in job.figures.items()}
    slim["figures"] = save_figures(built, figure_dir)
    if job.analyses:
        from outlayer.report._experiments import run_analyses

        slim.update(run_analyses(job, result, figure_dir))
    return slim


def run_jobs(jobs: Iterable[Job], figure_dir: Path, *, workers: int | None = None,
             on_done: Callable[[Job], None] | None = None) -> dict[str, dict[str, Any]]:
    """Run every job (longest first) on ``workers`` processes; results by job name.

    ``workers`` defaults to :func:`default_workers`; 1 runs everything in this process (no pool).
    The workers never outlive this process (see :func:`_worker_init`). When a job fails or the run
    is interrupted, the workers still busy are stopped at once (not waited for) and the error is
    raised here; a worker that died (killed, out of memory) is reported as a RuntimeError naming
    its job.
    """
    from concurrent.futures.process import BrokenProcessPool

    jobs = sorted(jobs, key=lambda job: -job.cost)
    if workers is None:
        workers = default_workers()
    figure_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    if workers <= 1:
        for job in jobs:
            results[job.name] = run_job(job, str(figure_dir))
            if on_done is not None:
                on_done(job)
        return results
    pool = _pool(workers)
    try:
        # The workers are forked during the first submit. A Ctrl-C reaching the whole process group
        # in the instant between a fork and the worker's initializer would interrupt the child in
        # the fork handlers (and print a traceback), so SIGINT and SIGTERM wait, blocked, until every
        # worker exists: children inherit the mask and discard the signal once they ignore it.
        with _signals_blocked():
            futures: dict[Future[dict[str, Any]], Job] = {pool.submit(run_job, job, str(figure_dir)): job
                                                          for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                results[job.name] = future.result()  # re-raises a worker's exception here
            except BrokenProcessPool:
                raise RuntimeError(f"a worker process died while running the {job.name!r} lab "
                                   "(killed, or out of memory)") from None
            if on_done is not None:
                on_done(job)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return results


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started, terminate the workers that are running."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + 5.0
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)


#: prctl(2) option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def _worker_init(parent: int) -> None:
    """Run in each worker as it starts: die with the parent, leave Ctrl-C to the parent.

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` makes the kernel kill the worker the moment its
    parent dies, even by kill -9; elsewhere (and as a second line) a watchdog thread exits the
    worker within half a second of the parent's death (the worker is re-parented, so getppid()
    changes). SIGINT is ignored (the parent, which also gets Ctrl-C, stops the workers) and SIGTERM
    gets its default action back (the parent's handler came along with fork).
    """
    import signal
    import sys
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent across the fork (see run_jobs)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="outlayer-parent-watchdog", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back in this thread (delivered when the block ends); POSIX only."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing

    # fork shares the already imported NumPy/scikit-learn with the workers (no second import);
    # where fork is unavailable (Windows) the platform default is used
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init,
                               initargs=(os.getpid(),))
