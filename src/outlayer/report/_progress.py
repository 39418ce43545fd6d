"""Progress of ``outlayer report`` on stderr: one line per stage with the elapsed time, and a bar on a terminal.

Lines go to stderr so that stdout keeps only the result (the summary). On a terminal the labs
advance a tqdm bar and the stage lines are written above it; elsewhere (a CI log, a pipe) each
finished lab gets its own line instead, so the log still shows where the time went.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Stage lines ``[  12.3 s] text`` and, on a terminal, a bar over ``total`` labs.

    Disabled (``enabled=False``), every method does nothing.
    """

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.done = 0
        self.started = time.perf_counter()
        self.bar: Any = None
        if enabled and _is_terminal(self.stream):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="labs", unit="lab", file=self.stream, leave=False,
                            bar_format="{desc} {n_fmt}/{total_fmt} |{bar}| {elapsed} {postfix}")

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def stage(self, text: str) -> None:
        """One line: the elapsed time and ``text``."""
        if not self.enabled:
            return
        line = f"[{self.elapsed():6.1f} s] {text}"
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def lab_done(self, name: str) -> None:
        """A lab finished: the bar moves, or (no terminal) a line says which."""
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(name, refresh=False)
            self.bar.update(1)
        else:
            self.stage(f"lab {self.done}/{self.total} done: {name}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
