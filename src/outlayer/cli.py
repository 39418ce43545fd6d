"""The ``outlayer`` command line.

Each sub-command lives in its own module under :mod:`outlayer._cli` and exposes two functions::

    def configure(parser: argparse.ArgumentParser) -> None   # add the command's options
    def run(args: argparse.Namespace) -> int                  # do the work, return the exit code

Modules are imported only when their command runs, so ``outlayer explain`` never loads
matplotlib, scikit-learn or torch.

Exit status: 0 done; 2 bad input (a :class:`UsageError`, a ``ValueError`` from the library, a path
that cannot be read or written, a job refused by a resource guard), always as exactly one line on
stderr naming the problem and no traceback; 130 interrupted (SIGINT, Ctrl-C), 143 terminated
(SIGTERM). An interrupted command never exits 0, even when the signal arrives as it finishes.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from outlayer._cli import UsageError, catch_warnings

__all__ = ["COMMANDS", "UsageError", "main"]

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "explain": ("outlayer._cli.explain", "walk the worked example: softmax, CE, MSE and their gradients"),
    "surface": ("outlayer._cli.surface", "error surfaces, gradient fields and descent paths of CE vs MSE"),
    "neuron": ("outlayer._cli.neuron", "Nielsen's single sigmoid neuron: quadratic cost vs cross-entropy"),
    "compare": ("outlayer._cli.compare", "train the lecture's network with each loss on real data"),
    "sweep": ("outlayer._cli.sweep", "test accuracy against the scale of the initial logits, per loss and optimiser"),
    "calibration": ("outlayer._cli.calibration", "temperature scaling for every loss, ECE's noise floor, label smoothing"),
    "many-classes": ("outlayer._cli.many_classes", "CE vs the square loss at 100 classes, with Hui & Belkin's k and M"),
    "priors": ("outlayer._cli.priors", "imbalanced classes: how long each loss lingers at the class priors"),
    "report": ("outlayer._cli.report", "write the whole analysis as one web page"),
    "bench": ("outlayer._cli.bench", "benchmark the fused kernels against PyTorch"),
}

#: Option values that are numbers even though they start with "-": argparse (before Python 3.13)
#: only knew -1 and -.5, so ``--range -1e6 1e6`` read -1e6 as an unknown option.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


def _one_line(text: str) -> str:
    """Control characters of a user's input (a newline inside an argument) shown escaped."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], text)


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we promise a single line naming the problem."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> None:  # type: ignore[override]
        if len(message) > 300:  # "unrecognized arguments: <a thousand words>"
            message = message[:280] + " ..."
        sys.stderr.write(f"{self.prog}: error: {_one_line(message)}\n")
        raise SystemExit(2)


def _build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="outlayer", description="The output layer of classification networks.")
    from outlayer import __version__

    parser.add_argument("--version", action="version", version=f"outlayer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    for name, (module_name, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:  # only the chosen command's module is imported
            importlib.import_module(module_name).configure(sub_parser)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (staging folders, workers)."""


@contextlib.contextmanager
def _signals() -> Iterator[dict[str, int]]:
    """SIGINT and SIGTERM raise in the main thread and are remembered: the exit status reports them
    even when the work swallowed the exception or had just finished."""
    received: dict[str, int] = {}
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers can only be installed from the main thread
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        received.setdefault("status", 130)
        raise KeyboardInterrupt

    def on_terminate(signum: int, frame: Any) -> None:
        received.setdefault("status", 143)
        raise _Terminated

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    if previous[signal.SIGINT] is not signal.SIG_IGN:  # `nohup` or a shell's `&`: stay ignored
        signal.signal(signal.SIGINT, on_interrupt)
    if previous[signal.SIGTERM] is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, on_terminate)
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename!r}" if exc.filename is not None else ""
        return f"{exc.strerror}{where}"
    if isinstance(exc, MemoryError) and not str(exc):
        return "ran out of memory; try smaller sizes"
    text = str(exc).strip()
    return _one_line(text.splitlines()[0]) if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with _signals() as received:
        try:
            return _main(argv, received)
        except KeyboardInterrupt as exc:  # a signal between two statements of _main
            return received.get("status", 143 if isinstance(exc, _Terminated) else 130)


def _main(argv: list[str], received: dict[str, int]) -> int:
    command = next((a for a in argv if not a.startswith("-")), None)
    name = command if command in COMMANDS else None
    with catch_warnings(name or "") as printer:
        try:
            parser = _build_parser(name)
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a one-line usage error already printed
            return exc.code if isinstance(exc.code, int) else 2
        if args.command is None:
            parser.print_help()
            sys.stderr.write(f"outlayer: error: choose a command: {', '.join(COMMANDS)}\n")
            return 2
        module = importlib.import_module(COMMANDS[args.command][0])
        try:
            status = int(module.run(args) or 0)
        except (ValueError, OSError, MemoryError) as exc:
            if isinstance(exc, BrokenPipeError):
                return _broken_pipe()
            sys.stderr.write(f"outlayer {args.command}: error: {_error_text(exc)}\n")
            return 2
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, _Terminated) or received.get("status") == 143
            sys.stderr.write(f"outlayer {args.command}: {'terminated' if terminated else 'interrupted'}\n")
            return received.get("status", 143 if terminated else 130)
        except Exception:
            if "status" not in received:
                raise  # a bug: its traceback is wanted
            # the interrupt surfaced as another error (a worker stopped mid-job): still an interrupt
            sys.stderr.write(f"outlayer {args.command}: {'terminated' if received['status'] == 143 else 'interrupted'}\n")
            return received["status"]
        printer.release()
        if "status" in received:  # a signal the work swallowed: the run did not finish as asked
            sys.stderr.write(f"outlayer {args.command}: interrupted\n")
            return received["status"]
        return status


def _broken_pipe() -> int:
    """Output piped into ``head``: not an error of ours; silence the flush at exit too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
