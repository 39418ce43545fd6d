"""The ``outlayer`` command line.

Each sub-command lives in its own module under :mod:`outlayer._cli` and exposes two functions::

    def configure(parser: argparse.ArgumentParser) -> None   # add the command's options
    def run(args: argparse.Namespace) -> int                  # do the work, return the exit code

Modules are imported only when their command runs, so ``outlayer explain`` never loads
matplotlib, scikit-learn or torch. Bad input anywhere surfaces as :class:`UsageError` (or a
``ValueError`` from the library) and becomes one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

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


class UsageError(ValueError):
    """Bad command-line input: printed as one line, exit status 2."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we promise a single line naming the problem."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = _build_parser(command if command in COMMANDS else None)
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except (UsageError, ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"outlayer {args.command}: error: {message}\n")
        return 2
    except BrokenPipeError:  # output piped into `head`: not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write(f"outlayer {args.command}: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
