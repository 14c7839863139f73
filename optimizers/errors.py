"""Typed optimizer errors (exit codes: 3 infeasible, 4 solver failure; README, "Commands")."""

from __future__ import annotations

__all__ = ["OptimizerError", "InfeasibleError", "SolverError"]


class OptimizerError(Exception):
    """Base class of errors raised by the optimizer."""

    exit_code = 1


class InfeasibleError(OptimizerError):
    """The hard problem has no solution; ``diagnosis`` names the conflicting constraints.

    ``diagnosis.message`` is portfolio-language text and ``diagnosis.to_dict()`` its
    JSON form (written by the command line, which exits with code 3).
    """

    exit_code = 3

    def __init__(self, diagnosis):
        self.diagnosis = diagnosis
        super().__init__(diagnosis.message)


class SolverError(OptimizerError):
    """Every solver of the fallback chain failed (or the problem is unbounded); exit code 4.

    ``attempts`` lists ``(solver, status or error)`` in the order tried.
    """

    exit_code = 4

    def __init__(self, message: str, attempts: list[tuple[str, str]] | None = None):
        self.attempts = list(attempts or [])
        detail = "; ".join(f"{s}: {m}" for s, m in self.attempts)
        super().__init__(message + (f" (tried {detail})" if detail else ""))
