"""Writing a report folder safely: refuse foreign folders, build in a temporary folder, move into place.

A report folder carries a marker file, :data:`MARKER`. An existing ``--out`` is replaced only if it
is empty or carries the marker, so ``outlayer report --out ~/thesis`` cannot wipe a folder that was
never a report. The new report is built in a sibling temporary folder (same file system, so the
final moves are renames) and only moved into place once it is complete: a failed or interrupted run
leaves the previous report as it was.

Faults, and what the next run does about them:

* **Concurrent writers.** Writing a report takes a lock on ``.<out>.lock`` beside the folder
  (``fcntl.flock``; the kernel releases it when a process dies, so a killed run never leaves a
  stuck lock). A second writer of the same folder fails at once with a message naming the other
  process (or waits, with ``wait``).
* **Killed runs** (kill -9, power cut). The staging folder ``.<out>.new-*`` carries an owner file
  (:data:`OWNER`: pid and process start time). Under the lock, the next run removes every staging
  folder whose owner is dead, and a ``.<out>.old-*`` folder left by a swap cut short is either put
  back (the previous report, when ``out`` itself is missing) or removed.
* **SIGINT / SIGTERM during the swap.** The two renames run with the signals deferred; a signal that
  arrives meanwhile undoes the swap, so an interrupted run always leaves the previous report.

Data files: ``data/*.json`` never contain NaN or Infinity (see :func:`outlayer._io.json_safe`), and
every text cell of ``data/*.csv`` that a spreadsheet would read as a formula is written as text
(:func:`spreadsheet_safe`, OWASP's CSV-injection advice).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from outlayer._io import atomic_write_json, atomic_write_text, deferred_signals

__all__ = ["MARKER", "OWNER", "ReportBusyError", "check_target", "flatten", "output_lock", "remove_stale",
           "spreadsheet_safe", "staged_folder", "write_data"]

#: File that marks a folder as an outlayer report (and so as safe to replace).
MARKER = ".outlayer-report"
#: File inside a staging or set-aside folder naming the process that owns it (JSON: pid, start).
OWNER = ".outlayer-owner"
#: What a staging folder may hold (a report being written); anything else is never removed.
_REPORT_ENTRIES = {"index.html", "figures", "data", MARKER, OWNER}


class ReportBusyError(ValueError):
    """Another process is writing the same report folder."""


def check_target(out: Path) -> None:
    """Raise ValueError (one line) unless ``out`` is absent, an empty folder or an outlayer report."""
    # One open of the folder, then every look goes through that handle: another writer may rename
    # ``out`` away and a new report in at any moment (this check also runs before the lock), and
    # separate exists / is_dir / listdir calls could each see a different folder.
    try:
        handle = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        if out.is_symlink():
            raise ValueError(f"--out {str(out)!r} is a link to a missing target; refusing to write through it") from None
        return
    except NotADirectoryError:
        raise ValueError(f"--out {str(out)!r} exists and is not a folder; refusing to overwrite it") from None
    try:
        names = os.listdir(handle)
        is_report = MARKER in names and stat.S_ISREG(os.stat(MARKER, dir_fd=handle).st_mode)
    except FileNotFoundError:  # the folder was a replaced report, deleted meanwhile: as if absent
        return
    finally:
        os.close(handle)
    if is_report or not names:
        return
    raise ValueError(
        f"--out {str(out)!r} exists and is not an outlayer report (no {MARKER} marker); "
        "refusing to overwrite it: choose another folder or remove it"
    )


# ------------------------------------------------------------------------------ ownership
def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/PID/stat), to tell a reused pid apart."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the command name may hold spaces and parentheses
    return fields[19] if len(fields) > 19 else None


def _owner_record() -> str:
    return json.dumps({"pid": os.getpid(), "start": _start_time(os.getpid())})


def _alive(record: dict[str, Any]) -> bool:
    """Whether the process an owner file names is still running (the same process, not a reused pid)."""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    started = record.get("start")
    return started is None or _start_time(pid) in (None, started)


def _read_owner(folder: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((folder / OWNER).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _looks_like_staging(folder: Path) -> bool:
    try:
        return {entry.name for entry in folder.iterdir()} <= _REPORT_ENTRIES
    except OSError:
        return False


def remove_stale(out: Path) -> list[Path]:
    """Clean up after killed runs of ``out`` (call with :func:`output_lock` held); return what was removed.

    A staging folder ``.<out>.new-*`` goes when its owner is dead, or when it has no owner file but
    holds nothing except report files (a run killed before writing it; under the lock no live writer
    can own it). A set-aside previous report ``.<out>.old-*/report`` goes back to ``out`` when
    ``out`` is missing (the run died between the two renames of the swap), and is removed otherwise.
    """
    removed: list[Path] = []
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(new|old)-[A-Za-z0-9_]+$")
    try:
        entries = sorted(out.parent.iterdir())
    except OSError:
        return removed
    for folder in entries:
        match = pattern.match(folder.name)
        if match is None or folder.is_symlink() or not folder.is_dir():
            continue
        owner = _read_owner(folder)
        if owner is not None and _alive(owner):
            continue
        if match.group(1) == "new":
            if owner is None and not _looks_like_staging(folder):
                continue
        else:
            previous = folder / "report"
            if not (owner is not None or {e.name for e in folder.iterdir()} <= {"report", OWNER}):
                continue
            if previous.is_dir() and not os.path.lexists(out) and (previous / MARKER).is_file():
                os.rename(previous, out)  # the previous report, back where it was
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


# ----------------------------------------------------------------------------------- lock
@contextlib.contextmanager
def output_lock(out: Path, *, wait: float | None = 0.0) -> Iterator[Path]:
    """Hold the lock of report folder ``out`` (a ``flock`` on ``.<out>.lock`` beside it).

    ``wait``: 0 fails at once with :class:`ReportBusyError` when another process holds it; a number
    of seconds waits that long; None waits for ever. The lock file is removed on release (a waiting
    process notices that its file was replaced and locks the new one).
    """
    try:
        import fcntl
    except ImportError:  # not POSIX (Windows): no lock, the swap itself still keeps the previous report
        yield out.parent / f".{out.name}.lock"
        return

    path = out.parent / f".{out.name}.lock"
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    if time.monotonic() >= deadline:  # type: ignore[operator]
                        raise ReportBusyError(_busy_message(out, fd)) from None
                    time.sleep(0.05)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed the file as we waited: lock the current one
                os.close(fd)
                continue
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        break
    try:
        os.ftruncate(fd, 0)
        os.write(fd, _owner_record().encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # still holding the lock: nobody can be inside
        os.close(fd)


def _busy_message(out: Path, fd: int) -> str:
    try:
        record = json.loads(os.pread(fd, 200, 0) or b"{}")
    except (OSError, ValueError):
        record = {}
    who = f"process {record['pid']}" if isinstance(record, dict) and isinstance(record.get("pid"), int) else \
        "another process"
    return (f"--out {str(out)!r} is being written by {who} (another outlayer report); "
            "wait for it to finish or choose another --out")


# ------------------------------------------------------------------------------ staging
@contextlib.contextmanager
def staged_folder(out: Path, marker_text: str, *, wait: float | None = 0.0) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``out``; on success move it to ``out``.

    Holds :func:`output_lock` from start to end (``wait`` as there) and first removes what killed
    runs left behind (:func:`remove_stale`). On an exception (or KeyboardInterrupt) the temporary
    folder is deleted and ``out`` is untouched. The swap is two renames (old report aside, new one
    in) with SIGINT and SIGTERM deferred; the old report is restored if the second rename fails or
    a signal arrived meanwhile, and deleted only once the new report is in place.
    """
    out = Path(out).resolve()  # "." or "reports/" still get a real name and parent
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out, wait=wait):
        remove_stale(out)
        check_target(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
        try:
            (staging / OWNER).write_text(_owner_record())
            os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private (0700); a report is an ordinary folder
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
    """``staging`` becomes ``out``; the previous ``out`` (if any) is deleted once that has happened."""
    old: Path | None = None
    with deferred_signals() as pending:
        if os.path.lexists(out):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            (old / OWNER).write_text(_owner_record())
            os.rename(out, old / "report")
        try:
            (staging / OWNER).unlink()
            os.rename(staging, out)
        except BaseException:
            if old is not None:
                os.rename(old / "report", out)
                shutil.rmtree(old, ignore_errors=True)
            raise
        if pending:  # Ctrl-C during the swap: the run did not finish, so the previous report stays
            os.rename(out, staging)
            if old is not None:
                os.rename(old / "report", out)
                shutil.rmtree(old, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------- data
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


#: First characters that make a spreadsheet read a cell as a formula (OWASP: =, +, -, @, tab, CR).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain decimal number, as spreadsheets read one (not Python's "-inf", "1_000" or " 1").
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text: a leading ``'`` when it would start a formula.

    Decimal numbers (``-0.5``, ``+3``, ``-1e-9``) stay as they are: a spreadsheet reads them as
    numbers, which is what they are. Everything else that begins with one of ``= + - @``, a tab or a
    carriage return gets the quote OWASP recommends, which spreadsheets hide and treat as "text".
    """
    if not cell.startswith(_FORMULA_START) or _DECIMAL.fullmatch(cell):
        return cell
    return "'" + cell


def write_data(folder: Path, name: str, obj: Any) -> tuple[Path, Path]:
    """Write ``obj`` as ``folder/name.json`` (sorted keys) and ``folder/name.csv`` (path,value rows).

    ``obj`` goes through :func:`outlayer._io.json_safe` first: numpy scalars and tuples become plain
    JSON, a NaN or infinity becomes null and is listed under ``nonfinite`` (in both files). CSV
    cells are :func:`spreadsheet_safe`.
    """
    json_path = atomic_write_json(folder / f"{name}.json", obj)
    plain = json.loads(json_path.read_text(encoding="utf-8"))  # exactly what the JSON file says
    buffer = io.StringIO()
    # RFC 4180 line ends: with "\n" alone the csv module would leave a carriage return in a cell unquoted
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["path", "value"])
    for path, value in flatten(plain):
        cell = value if isinstance(value, str) else json.dumps(value)
        writer.writerow([spreadsheet_safe(path), spreadsheet_safe(cell)])
    csv_path = atomic_write_text(folder / f"{name}.csv", buffer.getvalue())
    return json_path, csv_path

