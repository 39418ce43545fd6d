"""The lab's experiments (:mod:`outlayer.lab`): tune their learning rates, time them, print their tables.

Not a test: it tunes and measures. Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_lab.py tune --write      # regenerate lab_lr.json
    PYTHONPATH=src .venv/bin/python benchmarks/bench_lab.py tune --only sweep # one experiment's tunings
    PYTHONPATH=src .venv/bin/python benchmarks/bench_lab.py rates             # the stored rates as a table
    PYTHONPATH=src .venv/bin/python benchmarks/bench_lab.py time              # CPU and wall time of each run()
    PYTHONPATH=src .venv/bin/python benchmarks/bench_lab.py readme --write    # the README's experiment tables

``tune`` runs :func:`outlayer.experiments.tune_learning_rates` (the procedure of the training
lab's stored defaults) for every setting listed by the experiments' ``tuning_tasks()``, two
processes at a time, and with ``--write`` stores the rates, the validation curve behind each and
this command in ``src/outlayer/lab/lab_lr.json`` (``--only`` keeps the other stored entries).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from outlayer.lab import calibration, many_classes, pretrain, priors, rates, sweep


def _tasks() -> list[Any]:
    tasks = list(sweep.tuning_tasks())
    for init in ("gentle", "confident"):
        tasks += pretrain.tuning_tasks(pretrain.PretrainConfig(init=init))
    tasks += many_classes.tuning_tasks()
    tasks += priors.tuning_tasks()
    return tasks


def tune(args: argparse.Namespace) -> int:
    tasks = [t for t in _tasks() if not args.only or any(t.key.startswith(p) for p in args.only)]
    print(f"{len(tasks)} tunings on {args.workers} processes; load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    start, cpu = time.perf_counter(), time.process_time()
    entries = rates.tuned_entries(tasks, workers=args.workers)
    wall = time.perf_counter() - start
    children = os.times()
    print(f"took {wall:.0f} s wall, {time.process_time() - cpu + children.children_user + children.children_system:.0f} "
          f"s CPU; load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    for key, entry in entries.items():
        print(f"{key}: " + ", ".join(f"{loss} {rate:g}" for loss, rate in entry["rates"].items())
              + "".join(f"  [{loss}: at the grid's edge]" for loss, c in entry["curves"].items() if c["at_grid_edge"]))
    if args.write:
        old = rates.lab_lr_table().get("entries", {}) if args.only else {}
        table = {"command": rates.TUNE_COMMAND,
                 "what": "learning rates of the outlayer.lab experiments, tuned per setting by "
                         "outlayer.experiments.tune_learning_rates (the procedure of default_lr.json)",
                 "entries": dict(sorted({**old, **entries}.items()))}
        from outlayer._io import atomic_write_json

        atomic_write_json(rates.LAB_LR_FILE, table)
        print(f"wrote {rates.LAB_LR_FILE}", file=sys.stderr)
    return 0


def show_rates(args: argparse.Namespace) -> int:
    table = rates.lab_lr_table()
    print(f"Command: `{table.get('command')}`")
    print("| setting | " + " | ".join(["losses and rates"]) + " |\n|---|---|")
    for key, entry in table.get("entries", {}).items():
        print(f"| {key} | " + ", ".join(f"{loss} {rate:g}" for loss, rate in entry["rates"].items()) + " |")
    return 0


def time_runs(args: argparse.Namespace) -> int:
    """CPU and wall seconds of each experiment's run() at its default (or --quick) settings."""
    modules = {"sweep": (sweep, sweep.SweepConfig), "calibration": (calibration, calibration.CalibrationConfig),
               "pretrain": (pretrain, pretrain.PretrainConfig),
               "many-classes": (many_classes, many_classes.ManyClassesConfig),
               "priors": (priors, priors.PriorsConfig)}
    out = {}
    for name, (module, config_cls) in modules.items():
        config = config_cls(**(config_cls.QUICK if args.quick else {}))
        start, cpu = time.perf_counter(), time.process_time()
        module.run(config)
        out[name] = {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                     "load_average": os.getloadavg()[0]}
        print(f"{name:14s} wall {out[name]['wall_s']:6.1f} s  cpu {out[name]['cpu_s']:6.1f} s  load {out[name]['load_average']:.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=2)
    return 0


def readme(args: argparse.Namespace) -> int:
    """Compute the README's experiment tables (:mod:`outlayer.lab.tables`); print them, or write them."""
    from pathlib import Path

    from outlayer.lab import tables

    path = Path(__file__).resolve().parents[1] / "README.md"
    start, cpu = time.perf_counter(), time.process_time()
    computed = tables.blocks(tables.compute(args.only))
    print(f"computed in {time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} s CPU; load average "
          f"{os.getloadavg()[0]:.2f}", file=sys.stderr)
    if args.write:
        path.write_text(tables.replace_blocks(path.read_text(encoding="utf-8"), computed), encoding="utf-8")
        print(f"wrote {len(computed)} tables into {path}", file=sys.stderr)
    else:
        for name, block in computed.items():
            print(f"<!-- lab-experiment {name} -->\n{block}<!-- /lab-experiment {name} -->\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("tune", help="tune every experiment's rates")
    p.add_argument("--write", action="store_true", help="store them in src/outlayer/lab/lab_lr.json")
    p.add_argument("--only", nargs="+", metavar="PREFIX", help="only the tunings whose key starts with PREFIX")
    p.add_argument("--workers", type=int, default=2)
    sub.add_parser("rates", help="print the stored rates")
    p = sub.add_parser("time", help="time each experiment")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", metavar="FILE")
    p = sub.add_parser("readme", help="the README's experiment tables")
    p.add_argument("--write", action="store_true", help="write them into README.md")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these tables")
    args = parser.parse_args()
    return {"tune": tune, "rates": show_rates, "time": time_runs, "readme": readme}[args.what](args)


if __name__ == "__main__":
    raise SystemExit(main())
