"""The learning rates the lab's experiments train at, tuned by the procedure of the stored defaults.

The training lab's defaults (:data:`outlayer.experiments.DEFAULT_LR`) were tuned for two
starts, gentle and confident (initial logits of standard deviation 30), on digits. The
experiments here leave those settings (a sweep of the initial logit scale, a pretrained
network, 100 classes, imbalanced classes), so each gets its own rates, chosen by the **same
procedure** (:func:`outlayer.experiments.tune_learning_rates`: a log grid, the evaluation's epoch
budget, the median validation accuracy over the tuning seeds 100-104, never an evaluation seed,
rates at which a tuning seed diverged or collapsed passed over), and stored in ``lab_lr.json``
beside this module with the validation curve behind every rate and the command that regenerates
the file (:data:`TUNE_COMMAND`).

An entry applies only to the settings it was tuned for: :func:`stored_rates` compares the
entry's procedure (dataset, epochs, network, start, seeds, ...) with the one the experiment is
about to run and returns nothing when they differ; the experiment then says which fallback it
used (``lr_source`` in its result).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outlayer.config import CompareConfig, settings_of, tuning_procedure

__all__ = ["LAB_LR_FILE", "TUNE_COMMAND", "TuningTask", "lab_lr_table", "resolve_rates", "stored_rates", "tune"]

#: The stored rates (package data).
LAB_LR_FILE = Path(__file__).with_name("lab_lr.json")
#: The command that regenerates :data:`LAB_LR_FILE`.
TUNE_COMMAND = "PYTHONPATH=src python benchmarks/bench_lab.py tune --write"


@dataclass(frozen=True)
class TuningTask:
    """One tuning: ``key`` names it in the file, ``config`` holds the settings (its losses are tuned,
    each with the options of ``config``), ``data_for(seed)`` gives the data a tuning seed trains on."""

    key: str
    config: CompareConfig
    data_for: Callable[[int], Any]


@functools.lru_cache(maxsize=1)
def _table_text() -> str:
    return LAB_LR_FILE.read_text(encoding="utf-8") if LAB_LR_FILE.is_file() else "{}"


def lab_lr_table() -> dict[str, Any]:
    """The contents of :data:`LAB_LR_FILE`: ``command``, ``entries`` (key -> entry); empty when absent."""
    return json.loads(_table_text())


def _comparable(procedure: Mapping[str, Any]) -> str:
    return json.dumps(procedure, sort_keys=True)


def stored_rates(key: str, config: CompareConfig) -> dict[str, float] | None:
    """The stored rates {loss: rate} of ``key``, if they were tuned for exactly ``config``'s settings.

    "Exactly": the stored procedure equals :func:`outlayer.config.tuning_procedure` of
    ``config``, the optimiser, start and loss options match, and every loss of ``config`` has a
    rate. Otherwise ``None``.
    """
    entry = lab_lr_table().get("entries", {}).get(key)
    if entry is None:
        return None
    stored, wanted = dict(entry["procedure"]), _procedure(config)
    stored_options, wanted_options = stored.pop("loss_options", {}), wanted.pop("loss_options")
    if _comparable(stored) != _comparable(wanted):
        return None
    rates = entry["rates"]  # each loss's rate was chosen on its own: a subset of the losses keeps its rates
    if any(loss not in rates or stored_options.get(loss) != wanted_options[loss] for loss in config.losses):
        return None
    return {loss: float(rates[loss]) for loss in config.losses}


def _procedure(config: CompareConfig) -> dict[str, Any]:
    """What a stored rate depends on: the tuning procedure plus the optimiser, start and loss options."""
    return {**tuning_procedure(config), "optimizer": config.optimizer, "init": config.init,
            "loss_options": config.loss_options()}


def tune(task: TuningTask) -> dict[str, Any]:
    """Run the procedure for ``task``; return the entry :data:`LAB_LR_FILE` stores under its key."""
    from outlayer.experiments import tune_learning_rates

    tuning = tune_learning_rates(task.config, task.data_for)
    return {
        "procedure": _procedure(task.config),
        "settings": settings_of(task.config),
        "rates": {loss: tuning["losses"][loss]["chosen"] for loss in task.config.losses},
        "curves": {loss: {"rows": [{k: row[k] for k in ("lr", "median", "diverged", "collapsed")}
                                   for row in entry["rows"]],
                          "chosen": entry["chosen"], "failure_free": entry["failure_free"],
                          "at_grid_edge": entry["at_grid_edge"], "extended": entry["extended"]}
                   for loss, entry in tuning["losses"].items()},
    }


def resolve_rates(key: str, config: CompareConfig, *, given: Mapping[str, float] | None = None,
                  tune_lr: bool = False, data_for: Callable[[int], Any] | None = None,
                  fallback: Callable[[str], float] | None = None,
                  fallback_rule: str = "the training lab's stored default for the optimiser and start"
                  ) -> tuple[dict[str, float], str, dict[str, Any] | None]:
    """The rate of every loss of ``config``: ``(rates, source, tuning entry or None)``.

    In order: ``given`` rates; with ``tune_lr``, the procedure run now (``data_for`` needed);
    the rates stored under ``key`` when they were tuned for these settings; else ``fallback``
    (default :data:`outlayer.experiments.DEFAULT_LR` for the optimiser and start), named by
    ``fallback_rule`` in the source.
    """
    from outlayer.experiments import DEFAULT_LR

    if given:
        missing = [loss for loss in config.losses if loss not in given]
        if not missing:
            return {loss: float(given[loss]) for loss in config.losses}, "given", None
    if tune_lr:
        if data_for is None:
            raise ValueError("tuning the learning rates needs the data of the tuning seeds")
        entry = tune(TuningTask(key, config, data_for))
        return dict(entry["rates"]), "tuned now (the stored defaults' procedure)", entry
    stored = stored_rates(key, config)
    if stored is not None:
        entry = lab_lr_table()["entries"][key]
        return stored, f"tuned by the stored defaults' procedure ({TUNE_COMMAND})", entry
    pick = fallback or (lambda loss: DEFAULT_LR[config.optimizer][config.init][loss])
    rates = {loss: float(given[loss]) if given and loss in given else float(pick(loss)) for loss in config.losses}
    return rates, f"not tuned for these settings: {fallback_rule}", None


def tuned_entries(tasks: Sequence[TuningTask], workers: int = 1) -> dict[str, Any]:
    """Tune every task (``workers`` processes); the ``entries`` of a new :data:`LAB_LR_FILE`."""
    if workers <= 1:
        return {task.key: tune(task) for task in tasks}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {task.key: pool.submit(tune, task) for task in tasks}
        return {key: future.result() for key, future in futures.items()}
