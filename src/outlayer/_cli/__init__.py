"""One module per ``outlayer`` sub-command (see :mod:`outlayer.cli`), and what they share.

Argument types: each is an argparse ``type=`` callable, so argparse prefixes its message with the
flag as the user typed it (``argument --split-seed: expected an integer >= 0, got '-1'``). The
allowed ranges live in these small functions (and in the option definitions), not in the
sub-commands' ``run``. Cross-option checks that need several values raise :class:`UsageError`
with the flags named.

Warnings: :class:`WarningPrinter` turns every warning into one line ``outlayer CMD: warning: ...``
on stderr. Warnings raised while a command validates its input are held back and dropped if the
validation fails (a refused command prints exactly one line); :func:`start_work` prints them and
lets later ones through at once.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Callable
from typing import Any, TextIO

__all__ = [
    "UsageError",
    "check_label_column",
    "WarningPrinter",
    "finite_float",
    "float_in",
    "int_at_least",
    "integer",
    "logit_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "probability",
    "short",
    "start_work",
]


class UsageError(ValueError):
    """Bad command-line input: printed as one line, exit status 2."""


def short(text: object, width: int = 40) -> str:
    """``repr`` of a user's value, cut in the middle when long: messages stay one readable line."""
    shown = repr(text)
    return shown if len(shown) <= width else f"{shown[: width // 2 - 2]}...{shown[-width // 2 + 2:]}"


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {short(text)}") from None


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:  # also a string of more than 4300 digits (Python's int() limit)
        raise argparse.ArgumentTypeError(f"expected {what}, got {short(text)}") from None


def finite_float(text: str) -> float:
    """An argparse type: any finite number (``1e309`` overflows to inf and is refused)."""
    value = _number(text, "a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {short(text)}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _number(text, "a positive number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {short(text)}")
    return value


def float_in(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a number in the interval from ``low`` to ``high`` (ends open or closed)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        value = _number(text, f"a number in {interval}")
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (math.isfinite(value) and above and below):
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {short(text)}")
        return value

    parse.__name__ = f"number in {interval}"  # argparse shows a type's name in some messages
    return parse


#: An argparse type: a probability strictly between 0 and 1.
probability = float_in(0.0, 1.0, low_open=True, high_open=True)


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        value = _integer(text, f"an integer >= {low}")
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {short(text)}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = _integer(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {short(text)}")
    return value


#: An argparse type: an integer >= 0 (seeds, indices, step counts).
non_negative_int = int_at_least(0)


def integer(text: str) -> int:
    """An argparse type: any integer (the command checks its range and says which values it takes)."""
    return _integer(text, "an integer")


def logit_float(text: str) -> float:
    """An argparse type: a finite logit within +/- :data:`outlayer._guards.LOGIT_MAGNITUDE_LIMIT`."""
    from outlayer._guards import LOGIT_MAGNITUDE_LIMIT

    value = finite_float(text)
    if abs(value) > LOGIT_MAGNITUDE_LIMIT:
        raise argparse.ArgumentTypeError(
            f"{short(text)} is too large: logits must lie within +/-{LOGIT_MAGNITUDE_LIMIT:g} "
            "(their squares would overflow float64)")
    return value


def check_label_column(dataset: str, label_column: str | None) -> None:
    """``--label-column`` only means something for a CSV ``--dataset``."""
    if label_column is None:
        return
    from pathlib import Path

    from outlayer.data import BUILTIN_DATASETS

    if dataset.lower() in BUILTIN_DATASETS:
        raise UsageError(f"--label-column applies to CSV files, not to the built-in dataset {short(dataset)}")
    if Path(dataset).suffix.lower() == ".npz":
        raise UsageError("--label-column applies to CSV files; an NPZ file holds its labels in the array y")


# ------------------------------------------------------------------------------------ warnings
class WarningPrinter:
    """A ``warnings.showwarning`` replacement: one line per warning, held back until :meth:`release`."""

    def __init__(self, command: str, stream: TextIO | None = None) -> None:
        self.command = command
        self.stream = stream
        self.held: list[str] = []
        self.holding = True
        self.seen: set[str] = set()

    def show(self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        text = " ".join(str(message).split()) or category.__name__
        if text in self.seen:  # the same warning from a loop: once is enough
            return
        self.seen.add(text)
        formatted = f"outlayer {self.command}: warning: {text}\n"
        if self.holding:
            self.held.append(formatted)
        else:
            (self.stream or sys.stderr).write(formatted)

    def release(self) -> None:
        """Print the held warnings; from now on print each at once."""
        self.holding = False
        stream = self.stream or sys.stderr
        for line in self.held:
            stream.write(line)
        self.held.clear()


_printer: WarningPrinter | None = None


def install_printer(printer: WarningPrinter | None) -> None:
    global _printer
    _printer = printer


def start_work() -> None:
    """Called by a command once its input is validated and the long work begins."""
    if _printer is not None:
        _printer.release()


def catch_warnings(command: str) -> Any:
    """A context manager routing warnings to a fresh :class:`WarningPrinter` (restored on exit)."""
    import contextlib

    @contextlib.contextmanager
    def manager() -> Any:
        printer = WarningPrinter(command)
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = printer.show  # type: ignore[assignment]
            install_printer(printer)
            try:
                yield printer
            finally:
                install_printer(None)

    return manager()
