"""Typed errors of the application layer and the exit codes they map to.

======  ===========================================================================
code    meaning
======  ===========================================================================
0       success
1       anything unexpected (a bug: please report it with the traceback)
2       invalid input or config, or an ``--out`` the tool may not write into
3       infeasible (the diagnosis is written to the run folder)
4       the solver failed after its fallbacks
5       a hard limit still broken after rounding / repair (trade list written, marked)
6       environment failure: read-only or full output folder, permission denied
======  ===========================================================================
"""

from __future__ import annotations

import errno

__all__ = [
    "EXIT_CODES",
    "ActiveEtfError",
    "InputError",
    "ConfigError",
    "OutputPathError",
    "EnvironmentFailure",
    "environment_failure",
]

EXIT_CODES = {
    0: "success",
    1: "unexpected error (a bug)",
    2: "invalid input or config, or an --out the tool may not write into",
    3: "infeasible (diagnosis written)",
    4: "solver failed after its fallbacks",
    5: "a hard limit still broken after rounding (trade list written and marked)",
    6: "environment failure (read-only or full disk, permission denied)",
}

#: ``errno`` values that mean the machine, not the inputs, is at fault (exit code 6).
ENVIRONMENT_ERRNOS = frozenset(
    {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
)


class ActiveEtfError(Exception):
    """Base class of the errors this package raises on purpose."""

    exit_code = 1


class InputError(ActiveEtfError, ValueError):
    """An input file or frame is missing, malformed or inconsistent (exit code 2).

    The message names the file (or frame), the columns and the assets involved,
    and lists every problem found, not only the first.
    """

    exit_code = 2

    def __init__(self, source: str, problems: list[str] | str):
        self.source = source
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        n = len(self.problems)
        head = f"{source}: {n} problem{'s' if n != 1 else ''}: "
        super().__init__(head + "; ".join(self.problems))


class ConfigError(ActiveEtfError, ValueError):
    """The YAML config is malformed; the message names the field path (exit code 2)."""

    exit_code = 2


class OutputPathError(ActiveEtfError, ValueError):
    """``--out`` names something the tool must not write into or replace (exit code 2)."""

    exit_code = 2


class EnvironmentFailure(ActiveEtfError, OSError):
    """Writing failed because of the machine: read-only, full, no permission (exit code 6)."""

    exit_code = 6


def environment_failure(exc: OSError, doing: str) -> EnvironmentFailure | None:
    """An :class:`EnvironmentFailure` for ``exc`` if its errno is an environment one, else None.

    ``doing`` says what was being done, e.g. ``"writing runs/fund/2026-11-30"``.
    """
    if getattr(exc, "errno", None) not in ENVIRONMENT_ERRNOS:
        return None
    reason = exc.strerror or errno.errorcode.get(exc.errno, str(exc.errno))
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return EnvironmentFailure(f"{doing}: {reason}{where}")
