"""Benchmarks and measurements of the error-surface lab (issue 3). Not a test: it times and measures.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_surface.py grid      # 1001 x 1001 grid per loss
    PYTHONPATH=src .venv/bin/python benchmarks/bench_surface.py paths     # cost of a descent step, run()
    PYTHONPATH=src .venv/bin/python benchmarks/bench_surface.py defaults  # the lr / budget measurement
    PYTHONPATH=src .venv/bin/python benchmarks/bench_surface.py all

Times are the best and the median of ``--repeat`` runs (best = least disturbed by other load).
``--json FILE`` also saves the numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from outlayer import surface
from outlayer.catalogue import PLANE_LOSSES


def _timed(function: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Wall and CPU time of ``function``; on a shared machine the CPU time is the steadier figure."""
    function()  # warm-up: imports, first-touch page faults
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"best_s": min(wall), "median_s": statistics.median(wall), "best_cpu_s": min(cpu)}


def grid(repeat: int) -> dict[str, Any]:
    """evaluate_grid at 1001 x 1001 (about 1e6 logit rows, loss + gradient + p(target)) per loss."""
    out = {}
    for name in PLANE_LOSSES:
        out[name] = _timed(lambda name=name: surface.evaluate_grid(name, resolution=1001), repeat)
        print(f"grid 1001x1001 {name:<11} wall best {out[name]['best_s'] * 1e3:7.1f} ms  "
              f"median {out[name]['median_s'] * 1e3:7.1f} ms  cpu best {out[name]['best_cpu_s'] * 1e3:7.1f} ms")
    return out


def paths(repeat: int) -> dict[str, Any]:
    """One descent step (3 optimisers batched), a default run() without and with figures."""
    out: dict[str, Any] = {}
    step = _timed(lambda: surface.descent_paths("mse", steps=200), repeat)
    out["step_us"] = {k: v / 200 * 1e6 for k, v in step.items()}
    print(f"descent step, 3 optimisers batched: wall best {out['step_us']['best_s']:.0f} us, "
          f"cpu best {out['step_us']['best_cpu_s']:.0f} us")
    out["run"] = _timed(surface.run, max(1, repeat // 2))
    print(f"surface.run() (no figures): wall best {out['run']['best_s']:.2f} s, cpu best {out['run']['best_cpu_s']:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        out["run_with_figures"] = _timed(lambda: surface.run(out_dir=folder), 1)
    print(f"surface.run(out_dir=...) with all figures: wall {out['run_with_figures']['best_s']:.2f} s, "
          f"cpu {out['run_with_figures']['best_cpu_s']:.2f} s")
    return out


def defaults() -> dict[str, Any]:
    """Plain GD, momentum and Adam from the corner at several learning rates: the basis of the defaults.

    A cell counts steps only for a path that reached p(target) >= goal without diverging, on a loss
    whose optimum on the plane reaches the goal at all ("-" otherwise).
    """
    rates = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
    table: dict[str, Any] = {}
    print(f"steps to p(target) >= {surface.DEFAULT_GOAL} from the corner within {surface.DEFAULT_STEPS} steps "
          "(never = budget ran out; ! = some step raised the loss; x = diverged; - = goal above the optimum: unreachable)")
    print(f"{'loss':<11}{'optimizer':<10}" + "".join(f"{rate:>9g}" for rate in rates))
    for name in PLANE_LOSSES:
        reachable = surface.plane_optimum(name).reachable(surface.DEFAULT_GOAL)
        for optimizer in surface.DEFAULT_OPTIMIZERS:
            computed = surface.descent_paths(name, [(optimizer, rate) for rate in rates])
            cells = []
            for path in computed:
                if not reachable:
                    text = "-"
                else:
                    text = "never" if path.steps_to_goal is None else str(path.steps_to_goal)
                text += "x" if path.diverged else ("!" if not surface.is_monotone(path.loss) else "")
                cells.append(text)
            table[f"{name}/{optimizer}"] = {
                "lrs": list(rates),
                "goal_reachable": reachable,
                "steps_to_p90": [p.steps_to_goal if reachable else None for p in computed],
                "monotone": [surface.is_monotone(p.loss) for p in computed],
                "diverged": [p.diverged for p in computed],
                "final_p": [float(p.p_target[-1]) for p in computed],
            }
            print(f"{name:<11}{optimizer:<10}" + "".join(f"{c:>9}" for c in cells))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("section", choices=("grid", "paths", "defaults", "all"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.section in ("grid", "all"):
        results["grid"] = grid(args.repeat)
    if args.section in ("paths", "all"):
        results["paths"] = paths(args.repeat)
    if args.section in ("defaults", "all"):
        results["defaults"] = defaults()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
