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


# ------------------------------------------------------------------------------------------------
# Import direction: core -> kernels -> dispatcher -> torch front end -> lab -> report -> CLI.
# ------------------------------------------------------------------------------------------------
PACKAGE = SRC / "outlayer"
#: Bottom up. A module may import its own layer and the layers below it, never one above.
#: The package root re-exports the core and the dispatcher, so it sits with the dispatcher.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("outlayer._validate", "outlayer._array_api", "outlayer._io", "outlayer.activations", "outlayer.encoding", "outlayer.losses")),
    ("kernels", ("outlayer.kernels",)),
    ("dispatcher", ("outlayer._dispatch", "outlayer.linear_ce", "outlayer")),
    ("torch", ("outlayer.torch",)),
    ("lab", ("outlayer.surface", "outlayer.experiments", "outlayer.nets", "outlayer.optim", "outlayer.data", "outlayer.plots",
             "outlayer.explain", "outlayer.config", "outlayer.catalogue", "outlayer.stats", "outlayer.lab", "outlayer.lab_tables",
             "outlayer.neuron", "outlayer.probes")),
    ("report", ("outlayer.report", "outlayer.bench")),
    ("cli", ("outlayer._cli", "outlayer.cli", "outlayer.__main__")),
)


def _module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every outlayer module ``name`` imports, at module level or inside functions (lazy imports count)."""
    import ast

    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "outlayer")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "outlayer":
                continue
            for alias in node.names:  # "from outlayer import losses" imports the module outlayer.losses
                candidate = f"{source}.{alias.name}"
                found.add(candidate if candidate in modules else source)
    found.discard(name)
    return found


def _layer_of(module: str) -> int:
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def _upward_imports() -> list[str]:
    modules = _module_names()
    upward = []
    for name, path in sorted(modules.items()):
        for target in sorted(_imported(name, path, modules)):
            if _layer_of(target) > _layer_of(name):
                upward.append(f"{name} ({LAYERS[_layer_of(name)][0]}) imports {target} ({LAYERS[_layer_of(target)][0]})")
    return upward


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert _upward_imports() == []


def test_kernels_import_nothing_but_kernels_and_the_validation_layer() -> None:
    modules = _module_names()
    outside = {
        f"{name} imports {target}"
        for name, path in modules.items()
        if name.startswith("outlayer.kernels")
        for target in _imported(name, path, modules)
        if not (target.startswith("outlayer.kernels") or target == "outlayer._validate")
    }
    assert outside == set()


def test_the_core_imports_only_the_core() -> None:
    modules = _module_names()
    core = [name for name in modules if _layer_of(name) == 0]
    assert {"outlayer.losses", "outlayer.activations", "outlayer.encoding", "outlayer._validate"} <= set(core)
    assert [f"{n} imports {t}" for n in core for t in _imported(n, modules[n], modules) if _layer_of(t) != 0] == []


def test_cli_helpers_do_not_import_the_cli_entry_point() -> None:
    modules = _module_names()
    offenders = [name for name, path in modules.items() if name.startswith("outlayer._cli") and "outlayer.cli" in _imported(name, path, modules)]
    assert offenders == []


def test_import_direction_check_finds_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a lazy import of the dispatcher inside a core function is caught."""
    source = tmp_path / "losses.py"
    source.write_text("def f():\n    from outlayer import _dispatch\n    import outlayer.torch._ce\n")
    modules = _module_names()
    found = _imported("outlayer.losses", source, modules)
    assert {"outlayer._dispatch", "outlayer.torch._ce"} <= found
    assert all(_layer_of(target) > 0 for target in found)
