"""Resource guards: refuse, before any work starts, what would exhaust memory or cannot be written.

Each guard estimates the memory a job needs from its shape alone (Python integers, so a grid of
10^40 points is estimated, not allocated) and compares it with :func:`memory_limit`: a share
(:data:`MEMORY_SAFETY`) of what this machine has available now (``MemAvailable`` of
``/proc/meminfo``, a cgroup's remaining allowance, or ``os.sysconf``), or the environment variable
``OUTLAYER_MEMORY_LIMIT`` (bytes, or with a unit: ``512MiB``, ``8G``). A refusal is one line that
states the estimate, the limit, and the option to lower.

The estimates are deliberate upper bounds of the arrays the code keeps alive at its peak (they
count every surface the lab keeps, the optimiser state of a network, the copies a dataset goes
through); interpreter overhead and small temporaries are not counted. They exist to say "no" in
a millisecond instead of after a minute or a MemoryError, not to predict the peak to the byte.

Guards raise :class:`ResourceLimitError`, a ``ValueError`` (bad input: exit status 2 in the CLI)
that is also a ``MemoryError``. Output paths are checked by :func:`check_output_dir` and logit
magnitudes by :func:`check_logit_magnitude`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "LOGIT_MAGNITUDE_LIMIT",
    "MEMORY_SAFETY",
    "ResourceLimitError",
    "available_memory",
    "check_dataset",
    "check_logit_magnitude",
    "check_memory",
    "check_network",
    "check_output_dir",
    "check_surface",
    "check_surface_run",
    "dataset_bytes",
    "format_bytes",
    "memory_limit",
    "network_bytes",
    "surface_bytes",
]

#: Share of the available memory one outlayer job may plan to use (the rest is for the other
#: processes on the machine, the interpreter and the temporaries the estimates do not count).
MEMORY_SAFETY = 0.5
#: Largest |logit| the surface lab and ``explain`` accept. The squared losses square the logits
#: (MSE on logits sums y^2 over classes) and the descent takes differences of them, so values near
#: float64's 1.8e308 overflow; 1e100 squared is 1e200, leaving room for any class count and step.
LOGIT_MAGNITUDE_LIMIT = 1e100
#: Float64 bytes.
_F8 = 8
#: Rows per core call of ``outlayer.surface.evaluate`` (its _CHUNK_ROWS) and the core temporaries
#: per row and class (logits, shifted logits, exponentials, probabilities, gradient, ...).
_SURFACE_CHUNK_ROWS = 1 << 16
_CORE_TEMPORARIES = 12
#: Per recorded descent step and loss, beyond the numbers themselves: the headers of the four
#: small ndarrays a step records for the whole batch of runs (points, loss, p_target, grad_norm,
#: ~110 B each) and their list slots.
_STEP_OBJECT_BYTES = 500
#: What a first lab call allocates whatever its size (lazy imports, caches): measured ~40 MiB.
_BASELINE_BYTES = 64 * 2**20
#: Per epoch of a training run's history: a dict of about a dozen metrics.
_HISTORY_BYTES = 1500


class ResourceLimitError(ValueError, MemoryError):
    """A job that would need more memory than :func:`memory_limit` allows (refused before it starts)."""


# ------------------------------------------------------------------------------------- memory
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


def _parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if match is None or match.group(2).lower() not in _UNITS:
        raise ValueError(f"OUTLAYER_MEMORY_LIMIT={text!r} is not a size (write bytes, or e.g. 512MiB, 8G)")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"OUTLAYER_MEMORY_LIMIT={text!r} must be a positive size")
    return int(value)


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def available_memory() -> int | None:
    """Bytes this process could still allocate: the smallest of what the kernel reports available
    (``MemAvailable``) and what its cgroup still allows; None where neither can be read."""
    candidates: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 1 << 60:  # v1 writes ~2^63 for "none"
            candidates.append(max(limit - usage, 0))
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            return None
    return min(candidates)


def memory_limit() -> tuple[int | None, str]:
    """The most memory one job may plan to use, in bytes (None: unknown, no guard), and where it comes from."""
    configured = os.environ.get("OUTLAYER_MEMORY_LIMIT", "").strip()
    if configured:
        return _parse_size(configured), "set by OUTLAYER_MEMORY_LIMIT"
    available = available_memory()
    if available is None:
        return None, "unknown"
    return int(available * MEMORY_SAFETY), (
        f"{MEMORY_SAFETY:.0%} of the {format_bytes(available)} available; set OUTLAYER_MEMORY_LIMIT to change it")


def format_bytes(count: int | float) -> str:
    """``1536`` -> ``'1.5 KiB'``; works for integers far beyond float range."""
    count = int(count)
    for unit, power in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << power:
            whole = count >> power
            if whole >= 10**6:  # float() of a huge int would overflow: show its size instead
                return f"10^{len(str(whole)) - 1} {unit}"
            return f"{count / (1 << power):.3g} {unit}"
    return f"{count} bytes"


def check_memory(needed: int, what: str, lower: str) -> None:
    """Raise :class:`ResourceLimitError` when ``needed`` bytes exceed :func:`memory_limit`.

    ``what`` describes the job (``"surface --resolution 100000"``), ``lower`` what to reduce.
    """
    limit, source = memory_limit()
    if limit is None or needed <= limit:
        return
    raise ResourceLimitError(
        f"{what} would need about {format_bytes(needed)} of memory, more than the {format_bytes(limit)} "
        f"limit ({source}): lower {lower}")


def _as_count(value: object) -> int:
    """A size from the caller as a Python int (bools, floats and junk count as 0: the callee's own
    validation names those)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return max(int(value), 0)
    try:
        import operator

        return max(operator.index(value), 0)  # type: ignore[arg-type]  # numpy integers; anything else raises TypeError
    except TypeError:
        return 0


def surface_bytes(*, resolution: object, num_classes: object, n_losses: int, steps: object, n_runs: int,
                  map_resolution: object = 0) -> dict[str, int]:
    """Memory of :func:`outlayer.surface.run` by part: ``grid`` (the logits of one n x n grid plus the
    four per-point arrays each loss keeps), ``paths`` (every recorded descent step), ``classes``
    (core temporaries, which grow with the class count) and ``map`` (the steps-to-goal maps)."""
    n, k, t = _as_count(resolution), _as_count(num_classes), _as_count(steps)
    points = n * n
    rows = min(points, _SURFACE_CHUNK_ROWS) + n_runs + _as_count(map_resolution) ** 2
    return {
        "baseline": _BASELINE_BYTES,
        "grid": points * _F8 * (k + 4 + 4 * n_losses),
        "paths": n_losses * (t + 1) * (2 * 5 * n_runs * _F8 + _STEP_OBJECT_BYTES),
        "classes": rows * k * _F8 * _CORE_TEMPORARIES,
        "map": _as_count(map_resolution) ** 2 * _F8 * 8,
    }


def network_bytes(*, n_features: int, hidden: Sequence[object], n_outputs: int, n_samples: int,
                  batch_size: object, optimizer: str) -> dict[str, int]:
    """Memory of one training run of :func:`outlayer.experiments.train_run` by part: ``weights``
    (parameters, gradients, two spare copies and the optimiser's state: momentum one buffer, Adam two)
    and ``activations`` (a forward and backward pass over a whole split, and over a batch)."""
    widths = [_as_count(n_features), *(_as_count(h) for h in hidden), _as_count(n_outputs)]
    parameters = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    state = {"sgd": 0, "momentum": 1, "adam": 2}.get(optimizer, 2)
    units = sum(widths[1:])
    batch = min(_as_count(batch_size), n_samples) if n_samples else _as_count(batch_size)
    return {
        "baseline": _BASELINE_BYTES,
        "weights": parameters * _F8 * (4 + state),
        "activations": (n_samples * 3 + batch * 4) * units * _F8,
    }


def dataset_bytes(n_values: int) -> int:
    """Memory of a dataset of ``n_values`` features once loaded: the float64 array, its split
    copies, the standardised copies and a spare conversion (four float64 copies)."""
    return _as_count(n_values) * _F8 * 4


def largest_part(parts: Mapping[str, int]) -> str:
    """The part that grows with the options (never the fixed baseline): the one to name in advice."""
    return max((name for name in parts if name != "baseline"), key=lambda name: parts[name])


def check_surface(*, resolution: object, num_classes: object, n_losses: int, steps: object, n_runs: int,
                  map_resolution: object = 0, names: Mapping[str, str] | None = None) -> None:
    """Refuse a surface-lab run whose arrays (:func:`surface_bytes`) exceed :func:`memory_limit`.

    ``names`` maps ``resolution``, ``num_classes`` and ``steps`` to the names the caller knows them
    by (the CLI's ``--resolution``, ``--classes``, ``--steps``).
    """
    names = {"resolution": "resolution", "num_classes": "num_classes", "steps": "steps", **(names or {})}
    parts = surface_bytes(resolution=resolution, num_classes=num_classes, n_losses=n_losses, steps=steps,
                          n_runs=n_runs, map_resolution=map_resolution)
    biggest = largest_part(parts)
    k = _as_count(num_classes)
    lower = {
        "grid": names["resolution"] if k <= 4 * n_losses else f"{names['resolution']} or {names['num_classes']}",
        "paths": names["steps"],
        "classes": names["num_classes"],
        "map": names["num_classes"],
    }[biggest]
    what = (f"the surface lab with {names['resolution']} {_as_count(resolution)}, {names['num_classes']} {k} "
            f"and {names['steps']} {_as_count(steps)}")
    check_memory(sum(parts.values()), what, lower)


def check_surface_run(config: Any, writes_figures: bool) -> None:
    """The guards of :func:`outlayer.surface.run` (called first thing there, on its validated
    :class:`outlayer.config.SurfaceConfig`): logit magnitudes and memory, before any array exists."""
    for key in ("fixed", "limits", "start"):
        value = getattr(config, key)
        if value is not None:
            check_logit_magnitude(key, value if isinstance(value, Sequence) and not isinstance(value, str) else [value])
    check_surface(resolution=config.resolution, num_classes=config.num_classes, n_losses=len(config.losses),
                  steps=config.steps, n_runs=len(config.optimizers) + len(config.sweep_lrs),
                  map_resolution=config.map_resolution if writes_figures else 0)


def check_network(*, n_features: int, hidden: Sequence[object], n_outputs: int, n_samples: int,
                  batch_size: object, optimizer: str, epochs: object, runs: int,
                  names: Mapping[str, str] | None = None, what: str | None = None,
                  lower: Mapping[str, str] | None = None) -> None:
    """Refuse a training run whose network (:func:`network_bytes`) exceeds :func:`memory_limit`.

    ``runs`` training runs are kept in memory with their per-epoch history (about a kilobyte per
    epoch each); ``names`` maps ``hidden``, ``batch_size`` and ``epochs`` to the caller's names.
    """
    names = {"hidden": "hidden", "batch_size": "batch_size", "epochs": "epochs", **(names or {})}
    parts = network_bytes(n_features=n_features, hidden=hidden, n_outputs=n_outputs, n_samples=n_samples,
                          batch_size=batch_size, optimizer=optimizer)
    parts["history"] = runs * (_as_count(epochs) + 1) * _HISTORY_BYTES
    biggest = largest_part(parts)
    advice = {"weights": names["hidden"], "activations": f"{names['hidden']} or {names['batch_size']}",
              "history": names["epochs"], **(lower or {})}[biggest]
    widths = " ".join(str(_as_count(h)) for h in hidden)
    what = what or (f"training a network with {names['hidden']} {widths} on {n_samples} x {n_features} inputs "
                    f"for {_as_count(epochs)} epochs")
    check_memory(sum(parts.values()), what, advice)


def check_dataset(n_values: int, what: str, lower: str = "the number of samples or features") -> None:
    """Refuse a dataset whose loaded copies (:func:`dataset_bytes`) exceed :func:`memory_limit`."""
    check_memory(dataset_bytes(n_values), what, lower)


# ----------------------------------------------------------------------------------- numbers
def check_logit_magnitude(name: str, values: Sequence[float] | float) -> None:
    """Refuse a logit beyond +/-:data:`LOGIT_MAGNITUDE_LIMIT` (its square would overflow float64)."""
    for value in (values if isinstance(values, Sequence) else (values,)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue  # not a number: the caller's validation says so
        if math.isfinite(number) and abs(number) > LOGIT_MAGNITUDE_LIMIT:
            raise ValueError(
                f"{name} {number:g} is too large: logits must lie within +/-{LOGIT_MAGNITUDE_LIMIT:g} "
                "(their squares would overflow float64)")


# ------------------------------------------------------------------------------------- paths
def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def _path_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_PATH_MAX"))
    except (OSError, ValueError, AttributeError):
        return 4096


def _show(text: str, width: int = 60) -> str:
    """``repr`` of a path, shortened in the middle so that a message stays one readable line."""
    shown = repr(text)
    return shown if len(shown) <= width else f"{shown[: width // 2]}...{shown[-width // 2:]}"


def _probe(folder: Path, flag: str, text: str) -> None:
    """Create and remove an empty folder in ``folder``: the one test of writability that also holds
    for root, read-only file systems, ACLs and /proc."""
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".outlayer-probe-", dir=folder))
    except OSError as exc:
        raise ValueError(f"{flag} {_show(text)}: cannot write in {_show(str(folder))} "
                         f"({exc.strerror or exc})") from None


def check_output_dir(path: str | os.PathLike[str], flag: str = "--out", *, replaced: bool = False) -> Path:
    """Check that ``path`` can be a folder this process creates or writes into; return it as a Path.

    Refused, each with one line naming ``flag``: an empty name, a NUL byte, a name longer than the
    file system allows, an existing file (or a link to one), a path through a file, a dangling link,
    and a folder (or the nearest existing parent) this user cannot write (tried by creating and
    removing an empty folder there). ``replaced``: the folder is built beside ``path`` and renamed
    into place (``outlayer report``), so its parent must be writable too. Nothing is left behind.
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise ValueError(f"{flag} is empty: give a folder name (use {flag} . for the current folder)")
    if "\x00" in text:
        raise ValueError(f"{flag} {_show(text)} contains a NUL byte")
    target = Path(text)
    absolute = Path(os.path.abspath(text))
    existing = absolute
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    name_max = _name_max(existing if existing.is_dir() else existing.parent)
    for part in target.parts:
        if len(os.fsencode(part)) > name_max:
            raise ValueError(f"{flag} {_show(text)}: the name {_show(part, 30)} is {len(os.fsencode(part))} bytes "
                             f"long; this file system allows {name_max}")
    if len(os.fsencode(str(absolute))) >= _path_max(existing if existing.is_dir() else existing.parent):
        raise ValueError(f"{flag} {_show(text)} is longer than this file system allows")
    if os.path.lexists(absolute):
        if absolute.is_symlink() and not absolute.exists():
            raise ValueError(f"{flag} {_show(text)} is a link to a missing target")
        if not absolute.is_dir():
            raise ValueError(f"{flag} {_show(text)} exists and is not a folder")
        _probe(absolute.parent if replaced and absolute.parent != absolute else absolute, flag, text)
        return target
    if os.path.lexists(existing) and not existing.is_dir():
        raise ValueError(f"{flag} {_show(text)}: {_show(str(existing))} is a file, not a folder")
    _probe(existing, flag, text)
    return target
