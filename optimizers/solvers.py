"""Solver choice and fallback: status mapping to typed outcomes, respecting problem class.

Chains (first installed solver that supports the problem class is tried first):
QP (no cones) ``CLARABEL -> PIQP -> OSQP -> SCS``; conic (TE cap, impact)
``CLARABEL -> SCS``; mixed-integer ``SCIP -> HIGHS`` (HiGHS for MILP only).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import time
from collections.abc import Sequence

from constraints.lazy import cp
from optimizers.errors import SolverError

__all__ = [
    "DEFAULT_CHAIN",
    "CALL_TIME_LIMIT_S",
    "installed_solvers",
    "remaining_time",
    "solver_chain",
    "solve_with_fallback",
    "time_budget",
]

DEFAULT_CHAIN = ("CLARABEL", "PIQP", "OSQP", "SCS")
QP_ONLY = {"PIQP", "OSQP"}
MI_CAPABLE = {"SCIP", "HIGHS"}
OPTIONS = {
    "CLARABEL": {},
    "PIQP": {},
    "OSQP": {"eps_abs": 1e-8, "eps_rel": 1e-8, "max_iter": 200000, "polishing": True},
    "SCS": {"eps_abs": 1e-8, "eps_rel": 1e-8, "max_iters": 200000},
    "SCIP": {},
    "HIGHS": {},
}


#: Seconds one solver call may run (each solver's own time limit; PIQP stops by iterations).
CALL_TIME_LIMIT_S = 60.0
#: The name of each solver's time-limit option, as cvxpy passes it on.
_TIME_OPTION = {
    "CLARABEL": "time_limit",
    "OSQP": "time_limit",
    "SCS": "time_limit_secs",
    "HIGHS": "time_limit",
}
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "solve_deadline", default=None
)


@contextlib.contextmanager
def time_budget(seconds: float):
    """Every solve inside the block shares ``seconds`` of wall time (monotonic clock).

    A solver is started with a time limit of what is left (at most
    :data:`CALL_TIME_LIMIT_S`); once the budget is used up :func:`solve_with_fallback`
    raises :class:`SolverError` instead of starting another solver.
    """
    token = _DEADLINE.set(time.monotonic() + float(seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining_time() -> float:
    """Seconds the next solver call may take: the budget left, at most one call's limit."""
    deadline = _DEADLINE.get()
    left = CALL_TIME_LIMIT_S if deadline is None else deadline - time.monotonic()
    return min(CALL_TIME_LIMIT_S, left)


def _options(solver: str, limit: float) -> dict:
    opts = dict(OPTIONS[solver])
    if solver in _TIME_OPTION:
        opts[_TIME_OPTION[solver]] = max(limit, 0.01)
    elif solver == "SCIP":
        opts["scip_params"] = {"limits/time": max(limit, 0.01)}
    return opts


# the Python package behind each solver cvxpy can call here
PACKAGES = {
    "CLARABEL": "clarabel",
    "PIQP": "piqp",
    "OSQP": "osqp",
    "SCS": "scs",
    "SCIP": "pyscipopt",
    "HIGHS": "highspy",
}


def installed_solvers() -> list[str]:
    """The solvers of :data:`OPTIONS` whose package is installed, without importing them.

    ``cvxpy.installed_solvers()`` imports cvxpy and every solver package (about 1 s);
    finding the packages is enough to validate a config.
    """
    return [s for s, pkg in PACKAGES.items() if importlib.util.find_spec(pkg) is not None]


def solver_chain(problem: cp.Problem, preferred: str | Sequence[str]) -> list[str]:
    """Solvers to try, in order: ``preferred`` first, then the default chain, filtered by class."""
    pref = [preferred] if isinstance(preferred, str) else list(preferred)
    installed = set(installed_solvers())
    unknown = [s for s in pref if s not in OPTIONS]
    if unknown:
        raise ValueError(
            f"The 'solver' parameter must name solvers among {sorted(OPTIONS)}. "
            f"Got {unknown} instead."
        )
    is_mi = bool(problem.is_mixed_integer())
    is_qp = (not is_mi) and problem.is_qp()
    extra = ["SCIP", "HIGHS"] if is_mi else list(DEFAULT_CHAIN)
    out = []
    for s in pref + extra:
        if s in out or s not in installed:
            continue
        if is_mi and s not in MI_CAPABLE:
            continue
        if s in QP_ONLY and not is_qp:
            continue
        if not is_mi and s == "HIGHS" and not is_qp:
            continue
        out.append(s)
    return out


def solve_with_fallback(
    problem: cp.Problem, chain: Sequence[str], warm_start: bool = False, ignore_dpp: bool = False
) -> tuple[str, str]:
    """Solve ``problem`` with the first solver in ``chain`` that succeeds.

    ``ignore_dpp`` compiles without cvxpy's parameter tensor: for a conic problem
    solved a few times it is far cheaper (the elastic problem at N = 5,000: 0.9 s per
    solve instead of 12 s for the first parametrised compile).

    Returns ``(status, solver)`` where status is ``"optimal"``,
    ``"optimal_inaccurate"`` (only when no solver reached optimal) or
    ``"infeasible"``. Raises :class:`SolverError` if the problem is unbounded or
    every solver fails.
    """
    attempts: list[tuple[str, str]] = []
    inaccurate: str | None = None
    for s in chain:
        limit = remaining_time()
        if limit <= 0:
            attempts.append((s, "not started: the time budget (solver.time_limit_s) is used up"))
            break
        try:
            problem.solve(
                solver=s, warm_start=warm_start, ignore_dpp=ignore_dpp, **_options(s, limit)
            )
        except (cp.SolverError, ValueError, ArithmeticError) as exc:
            attempts.append((s, f"error: {str(exc)[:120]}"))
            continue
        except MemoryError:  # compiling or solving: a solver failure, never a traceback
            attempts.append((s, "out of memory compiling or solving the problem"))
            continue
        status = problem.status
        if status == cp.OPTIMAL:
            return "optimal", s
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            return "infeasible", s
        if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
            raise SolverError(
                "the problem is unbounded (check alpha and bounds)", attempts + [(s, status)]
            )
        attempts.append((s, str(status)))
        if status == cp.OPTIMAL_INACCURATE and inaccurate is None:
            inaccurate = s
    if remaining_time() <= 0 and inaccurate is None:
        raise SolverError(
            "time limit: the solves of this run used up their time budget "
            "(solver.time_limit_s); raise it or simplify the problem",
            attempts,
        )
    if inaccurate is not None and remaining_time() > 0:
        try:
            problem.solve(
                solver=inaccurate, ignore_dpp=ignore_dpp, **_options(inaccurate, remaining_time())
            )
        except (cp.SolverError, ValueError, ArithmeticError, MemoryError) as exc:
            attempts.append((inaccurate, f"error on the re-solve: {str(exc)[:120]}"))
        else:
            if problem.status == cp.OPTIMAL_INACCURATE:
                return "optimal_inaccurate", inaccurate
    raise SolverError("no solver in the fallback chain succeeded", attempts)
