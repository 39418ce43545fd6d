"""Writing files so that a failed or interrupted run never leaves a half-written one, and JSON
that is always valid.

JSON has no NaN or Infinity. Every document outlayer writes or prints goes through
:func:`json_safe`: a non-finite float becomes ``null`` and, when the document is an object, a
top-level ``"nonfinite"`` entry records which paths were replaced and by what (``"inf"``,
``"-inf"``, ``"nan"``), so a ``null`` that stands for an overflow is never mistaken for a value
that was never computed. ``json.dumps`` then runs with ``allow_nan=False``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["NONFINITE_KEY", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "json_dumps",
           "json_safe"]

#: Top-level key listing the non-finite numbers a document had (path -> "inf" / "-inf" / "nan").
NONFINITE_KEY = "nonfinite"
_NOTE = "JSON has no NaN or Infinity: these values are written as null"


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report or figure is meant to be readable
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old file or the new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _plain(value: Any, path: str, replaced: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            # JSON keys are strings; json.dumps would convert these too, but sort_keys needs one type
            name = key if isinstance(key, str) else json.dumps(key) if key is None or isinstance(
                key, (bool, int, float)) else str(key)
            out[name] = _plain(item, f"{path}/{name}" if path else name, replaced)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}/{i}" if path else str(i), replaced) for i, v in enumerate(value)]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        replaced[path] = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return None
    if hasattr(value, "tolist") and getattr(value, "dtype", None) is not None and value.dtype.kind in "biuf":
        return _plain(value.tolist(), path, replaced)  # numpy scalars and arrays of numbers
    raise TypeError(f"cannot write {type(value).__name__} {value!r:.40} to JSON (at {path or 'the top'})")


def json_safe(obj: Any) -> tuple[Any, dict[str, str]]:
    """``obj`` as plain JSON types with every non-finite float as None, and the replaced paths."""
    replaced: dict[str, str] = {}
    return _plain(obj, "", replaced), replaced


def json_dumps(obj: Any, **options: Any) -> str:
    """``json.dumps`` of :func:`json_safe` ``(obj)``, noting the replaced values under :data:`NONFINITE_KEY`."""
    plain, replaced = json_safe(obj)
    if replaced and isinstance(plain, dict):
        plain = {**plain, NONFINITE_KEY: {"note": _NOTE, "paths": replaced}}
    return json.dumps(plain, allow_nan=False, **options)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """JSON with sorted keys and a trailing newline, so equal results give byte-identical files."""
    return atomic_write_text(path, json_dumps(obj, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------- signals
class _Pending(list):  # type: ignore[type-arg]
    """Signals received while deferred, in arrival order."""


def deferred_signals() -> Any:
    """A context manager that holds SIGINT and SIGTERM back while a few renames must finish together.

    Inside, a signal is only recorded (the yielded list says which, so the block can undo its work);
    on exit the previous handlers are restored and each recorded signal is raised again, so Ctrl-C
    still stops the program, just not between two renames. Outside the main thread (where signal
    handlers cannot be changed) it records nothing and changes nothing.
    """
    import contextlib
    import signal
    import threading

    @contextlib.contextmanager
    def manager() -> Any:
        pending = _Pending()
        if threading.current_thread() is not threading.main_thread():
            yield pending
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.getsignal(sig) for sig in signals}

        def record(signum: int, frame: Any) -> None:
            pending.append(signum)

        for sig in signals:
            if previous[sig] is not signal.SIG_IGN and previous[sig] is not None:
                signal.signal(sig, record)
        try:
            yield pending
        finally:
            for sig, handler in previous.items():
                if handler is not None:
                    signal.signal(sig, handler)
            for sig in dict.fromkeys(pending):
                signal.raise_signal(sig)

    return manager()
