"""What a command prints, recorded for the run folder's ``run.log``.

One :class:`RunLog` per command. ``out`` is the normal terminal output (stdout, silenced by
``-q``), ``detail`` extra lines shown with ``-v`` only, ``warn`` warnings (stderr unless
``-q``) and ``error`` errors (stderr always). Every line is also recorded with the seconds
since the command started, and :meth:`text` gives the whole record, which the rebalance
writes to ``run.log``. Python ``warnings`` raised while :meth:`capture` is active are recorded
as warnings too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings

__all__ = ["RunLog", "c_stdout_silenced"]


class RunLog:
    """Terminal output that is also recorded.

    Parameters
    ----------
    verbosity : int
        -1 quiet (errors only), 0 normal, 1 verbose.
    """

    def __init__(self, verbosity: int = 0):
        self.verbosity = verbosity
        self.t0 = time.perf_counter()
        self.started_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.lines: list[str] = []

    def _record(self, level: str, text: str) -> None:
        dt = time.perf_counter() - self.t0
        for line in str(text).splitlines() or [""]:
            self.lines.append(f"{dt:8.3f}s {level:7} {line}")

    def out(self, text: str) -> None:
        """Normal output: stdout unless quiet."""
        self._record("INFO", text)
        if self.verbosity >= 0:
            print(text, flush=True)

    def detail(self, text: str) -> None:
        """Verbose output: stdout with ``-v`` only (always recorded)."""
        self._record("DETAIL", text)
        if self.verbosity >= 1:
            print(text, flush=True)

    def warn(self, text: str) -> None:
        """A warning: stderr unless quiet."""
        self._record("WARNING", text)
        if self.verbosity >= 0:
            print(f"warning: {text}", file=sys.stderr, flush=True)

    def error(self, text: str) -> None:
        """An error: stderr always."""
        self._record("ERROR", text)
        print(f"error: {text}", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def capture(self):
        """Route Python ``warnings`` raised inside the block to :meth:`warn`."""
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = lambda message, category, *_a, **_k: self.warn(
                f"{category.__name__}: {message}"
            )
            yield self

    def text(self, header: dict | None = None) -> str:
        """The record as text: ``key: value`` header lines, then one line per message."""
        head = [f"{k}: {v}" for k, v in (header or {}).items()]
        return "\n".join([f"started: {self.started_utc}", *head, *self.lines]) + "\n"


@contextlib.contextmanager
def c_stdout_silenced():
    """Send what C code writes to file descriptor 1 (solver banners: HiGHS, SCIP) to the
    null device, while Python's ``sys.stdout`` keeps writing where stdout went before.

    When ``sys.stdout`` is not file descriptor 1 (a test's capture), only the descriptor is
    redirected. Nothing changes when descriptor 1 cannot be duplicated.
    """
    try:
        sys.stdout.flush()
        is_fd1 = sys.stdout.fileno() == 1
    except (AttributeError, OSError, ValueError):
        is_fd1 = False
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    python_stdout = sys.stdout
    if is_fd1:
        sys.stdout = open(  # noqa: SIM115 (closed in finally)
            saved,
            "w",
            buffering=1,
            closefd=False,
            encoding=python_stdout.encoding,
            errors=python_stdout.errors,
        )
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        yield
    finally:
        if sys.stdout is not python_stdout:
            sys.stdout.flush()
            sys.stdout.close()
            sys.stdout = python_stdout
        os.dup2(saved, 1)
        os.close(saved)
