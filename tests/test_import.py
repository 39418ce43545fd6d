"""``import outlayer`` needs NumPy only, stays quick, and exports the core API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import outlayer

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY_MODULES = ("torch", "matplotlib", "sklearn", "scipy", "numba", "array_api_compat", "array_api_strict", "pandas")

# The claim is "well under a second"; the bound is generous because CI machines are shared and cold.
IMPORT_CLAIM_S = 1.0
SHARED_MACHINE_SLACK = 3.0

CORE_API = (
    "one_hot",
    "LabelCoder",
    "NotFittedError",
    "softmax",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "log_sigmoid",
    "cross_entropy",
    "cross_entropy_with_grad",
    "mse",
    "mse_with_grad",
    "binary_cross_entropy",
    "binary_cross_entropy_with_grad",
    "nll_loss",
    "nll_loss_with_grad",
)


def run_fresh_python(code: str) -> dict:
    """Run ``code`` in a new interpreter that sees only ``src`` and return the JSON it prints."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_outlayer_loads_no_heavy_library() -> None:
    result = run_fresh_python(
        "import json, sys, outlayer\n"
        f"heavy = {HEAVY_MODULES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))"
    )
    assert result == []


def test_numpy_calls_load_no_heavy_library() -> None:
    # array-api-compat is only for non-NumPy arrays, so NumPy callers never pay for it
    result = run_fresh_python(
        "import json, sys, numpy as np, outlayer\n"
        "x = np.array([[2.0, 1.0, 0.1], [0.0, 1.0, 2.0]]); y = np.array([0, 2])\n"
        "outlayer.softmax(x); outlayer.one_hot(y, 3); outlayer.cross_entropy_with_grad(x, y)\n"
        "outlayer.mse_with_grad(x, y); outlayer.get_loss('ce-smooth').with_grad(x, y)\n"
        "outlayer.LabelCoder().fit(['cat', 'dog']).encode(['dog'])\n"
        f"heavy = {HEAVY_MODULES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))"
    )
    assert result == []


def test_import_outlayer_takes_well_under_a_second() -> None:
    result = run_fresh_python(
        "import json, time\n"
        "import numpy\n"  # NumPy's own import is not ours to budget
        "start = time.perf_counter(); import outlayer; elapsed = time.perf_counter() - start\n"
        "print(json.dumps(elapsed))"
    )
    assert result < IMPORT_CLAIM_S * SHARED_MACHINE_SLACK, f"import outlayer took {result:.2f} s"


@pytest.mark.parametrize("name", CORE_API)
def test_core_api_is_exported_at_the_top_level(name: str) -> None:
    assert name in outlayer.__all__
    assert getattr(outlayer, name) is not None


def test_every_name_in_all_exists() -> None:
    missing = [name for name in outlayer.__all__ if not hasattr(outlayer, name)]
    assert missing == []


def test_package_is_marked_typed() -> None:
    assert (Path(outlayer.__file__).parent / "py.typed").is_file()
