"""Typed errors of the application layer and the exit codes they map to.

Exit codes (DESIGN.md section 8): 0 success, 2 invalid input or config,
3 infeasible (diagnosis written), 4 solver failure after fallbacks, 1 anything else.
"""

from __future__ import annotations

__all__ = ["ActiveEtfError", "InputError", "ConfigError"]


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
