"""Time ``outlayer report``: the default run (target <= 90 s) and ``--quick`` (target <= 20 s).

Not a test: it measures. Each mode runs as a fresh ``python -m outlayer report`` process (the
real command, imports included) into a temporary folder. The machine may be shared, so the
script also records the load average and the busiest other processes before and after.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_report.py                 # quick, then default
    PYTHONPATH=src .venv/bin/python benchmarks/bench_report.py --mode quick --repeat 3
    PYTHONPATH=src .venv/bin/python benchmarks/bench_report.py --json bench-results/report.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = {"quick": 20.0, "default": 90.0}


def _busiest_processes(limit: int = 6) -> list[str]:
    """The processes using the most CPU right now (``ps``), this script excluded."""
    try:
        out = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    rows = [line.strip() for line in out.splitlines() if line.strip() and "ps" != line.split()[-1]]
    return rows[:limit]


def _machine_state() -> dict[str, Any]:
    return {"load_average": list(os.getloadavg()), "cpus": os.cpu_count(), "busiest": _busiest_processes()}


def time_report(mode: str) -> dict[str, Any]:
    """One ``outlayer report`` run in a fresh process: wall time, CPU time of it and its workers."""
    argv = [sys.executable, "-m", "outlayer", "report"] + (["--quick"] if mode == "quick" else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryDirectory() as folder:
        before = _machine_state()
        children_before = os.times()
        start = time.perf_counter()
        done = subprocess.run([*argv, "--out", str(Path(folder) / "report")], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        children_after = os.times()
        after = _machine_state()
    if done.returncode != 0:
        raise SystemExit(f"outlayer report failed ({done.returncode}): {done.stderr.strip()}")
    cpu = (children_after.children_user - children_before.children_user
           + children_after.children_system - children_before.children_system)
    return {"mode": mode, "wall_s": wall, "cpu_s": cpu, "target_s": TARGET_S[mode], "within_target": wall <= TARGET_S[mode],
            "before": before, "after": after, "summary": done.stdout.strip().splitlines()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["quick", "default", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode (default 1)")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")
    args = parser.parse_args()
    modes = ["quick", "default"] if args.mode == "both" else [args.mode]
    results = []
    for mode in modes:
        for _ in range(args.repeat):
            result = time_report(mode)
            results.append(result)
            print(f"{mode:8s} wall {result['wall_s']:6.1f} s  cpu {result['cpu_s']:6.1f} s  "
                  f"target {result['target_s']:.0f} s  {'ok' if result['within_target'] else 'OVER'}  "
                  f"load before {result['before']['load_average'][0]:.2f}, after {result['after']['load_average'][0]:.2f}")
            print("         busiest before: " + "; ".join(result["before"]["busiest"]))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["within_target"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
