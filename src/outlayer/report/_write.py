"""Writing a report folder safely: refuse foreign folders, build in a temporary folder, move into place.

A report folder carries a marker file, :data:`MARKER`. An existing ``--out`` is replaced only if it
is empty or carries the marker, so ``outlayer report --out ~/thesis`` cannot wipe a folder that was
never a report. The new report is built in a sibling temporary folder (same file system, so the
final moves are renames) and only moved into place once it is complete: a failed or interrupted run
leaves the previous report as it was.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from outlayer._io import atomic_write_json, atomic_write_text

__all__ = ["MARKER", "check_target", "flatten", "staged_folder", "write_data"]

#: File that marks a folder as an outlayer report (and so as safe to replace).
MARKER = ".outlayer-report"


def check_target(out: Path) -> None:
    """Raise ValueError (one line) unless ``out`` is absent, an empty folder or an outlayer report."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {str(out)!r} exists and is not a folder; refusing to overwrite it")
    if (out / MARKER).is_file() or not any(out.iterdir()):
        return
    raise ValueError(
        f"--out {str(out)!r} exists and is not an outlayer report (no {MARKER} marker); "
        "refusing to overwrite it: choose another folder or remove it"
    )


@contextlib.contextmanager
def staged_folder(out: Path, marker_text: str) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``out``; on success move it to ``out``.

    On an exception (or KeyboardInterrupt) the temporary folder is deleted and ``out`` is untouched.
    The swap is two renames (old report aside, new one in), and the old report is restored if the
    second fails; it is deleted only once the new report is in place.
    """
    out = Path(out).resolve()  # "." or "reports/" still get a real name and parent
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private (0700); a report is an ordinary folder
    try:
        yield staging
        atomic_write_text(staging / MARKER, marker_text)
        check_target(out)  # the folder may have changed while the report was being computed
        _swap_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # no-op after a successful move


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, old / "report")
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old / "report", out)
        raise
    finally:
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)


def flatten(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, value)`` for every leaf of nested dicts and lists; paths as in ``_page.lookup``."""
    if isinstance(obj, dict):
        for key in sorted(obj):
            yield from flatten(obj[key], f"{prefix}/{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from flatten(item, f"{prefix}/{i}" if prefix else str(i))
    else:
        yield prefix, obj


def write_data(folder: Path, name: str, obj: Any) -> tuple[Path, Path]:
    """Write ``obj`` as ``folder/name.json`` (sorted keys) and ``folder/name.csv`` (path,value rows).

    ``obj`` goes through a JSON round trip first, so numpy scalars and tuples are normalised and a
    NaN raises instead of producing invalid JSON.
    """
    plain = json.loads(json.dumps(obj, allow_nan=False, default=_to_builtin))
    json_path = atomic_write_json(folder / f"{name}.json", plain)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "value"])
    for path, value in flatten(plain):
        writer.writerow([path, json.dumps(value) if not isinstance(value, str) else value])
    csv_path = atomic_write_text(folder / f"{name}.csv", buffer.getvalue())
    return json_path, csv_path


def _to_builtin(value: Any) -> Any:
    """numpy scalars and arrays (from the labs) as Python numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
