"""The optimizer's integer kinds (``max_names``, ``min_holding``, ``min_trade``).

Mixed into :class:`~optimizers.optimizer.PortfolioOptimizer`: after the continuous solve,
the bound-tightening heuristic (:mod:`optimizers.integer`); when it leaves ``max_names``
broken, the names chosen (or the proof that none exist) by the mixed-integer LP of
:mod:`optimizers.support_mip`; then SCIP within its time limit when the universe is at
most ``mi_max_assets`` names, keeping the better answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from constraints import HELD_TOL, MaxNames, check_constraints
from optimizers.diagnosis import diagnose
from optimizers.direct import DirectProblem
from optimizers.errors import InfeasibleError
from optimizers.integer import integer_heuristic
from optimizers.problem import build_problem
from optimizers.solvers import installed_solvers, solve_with_fallback

__all__ = ["IntegerKinds"]


class IntegerKinds:
    """The integer-kind methods of :class:`~optimizers.optimizer.PortfolioOptimizer`
    (which provides ``chain``, ``mi_max_assets``, ``mi_time_limit`` and ``_mi_built``)."""

    def _integer(self, data, a, cons, obj, w, lb, solver, relaxed, built):
        """Integer kinds: the heuristic (and, when it leaves ``max_names`` broken, the
        names chosen by the mixed-integer LP of :mod:`optimizers.support_mip`, which may
        prove instead that no portfolio has so few names), then SCIP within its time limit
        when the universe is small enough; the better of the two by objective is kept.

        Returns ``(w, solver, method, problem holding the solution, objective)``.
        """
        import cvxpy as cp

        from optimizers.integer import forced_names

        forced = forced_names(cons, lb, data.ids)
        if forced is not None:  # max_names below the names that cannot be sold out
            raise InfeasibleError(forced)
        base = built.lb.value.copy(), built.ub.value.copy()
        hw, rounds, hval, hsolver = self._heuristic(cons, w, data, lb, built, solver, base)
        method = f"heuristic ({rounds} rounds)"
        if self._names_breached(cons, hw):  # the MIP support, then the heuristic on it
            out = self._on_mip_support(cons, w, data, lb, built, solver, base, relaxed)
            if out is not None:
                hw, rounds, hval, hsolver = out
                method = f"names chosen by a mixed-integer LP (HiGHS), heuristic ({rounds} rounds)"
        if "SCIP" in installed_solvers() and data.n <= self.mi_max_assets and not relaxed:
            if self._mi_built is None:
                self._mi_built = build_problem(data, a, cons, obj, integer=True)
            mb = self._mi_built
            mb.set_parameters(data, a, cons, obj)
            try:
                mb.problem.solve(solver="SCIP", scip_params={"limits/time": self.mi_time_limit})
            except (cp.SolverError, ValueError, ArithmeticError):
                pass
            st = mb.problem.status
            if st in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
                raise InfeasibleError(diagnose(data, a, cons, self.chain))
            ok = st in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE, cp.USER_LIMIT)
            ints = [c for c in cons if c.integer]
            h_ok = not check_constraints(ints, pd.Series(hw, index=data.ids), data, tol=1e-6)
            # SCIP stops within its relative gap (1e-4): a heuristic answer must beat it by more
            better = not h_ok or mb.problem.value >= hval - 1e-4 * abs(hval) - 1e-12
            if ok and mb.ctx.w.value is not None and better:
                timed = "" if st == cp.OPTIMAL else f", stopped at {self.mi_time_limit:g} s"
                mw = np.maximum(mb.ctx.w.value, 0.0)
                return mw, "SCIP", f"mixed-integer (SCIP{timed})", mb, float(mb.problem.value)
        return hw, hsolver, method, built, hval

    @staticmethod
    def _names_breached(cons, w) -> bool:
        caps = [c for c in cons if isinstance(c, MaxNames)]
        return bool(caps) and int((w > HELD_TOL).sum()) > min(int(c.max) for c in caps)

    def _on_mip_support(self, cons, w, data, lb, built, solver, base, relaxed):
        """``max_names`` still broken by the heuristic: the names allowed are chosen by
        :func:`~optimizers.support_mip.cardinality_support` (HiGHS, within the integer time
        limit), then the heuristic runs again on them. ``None`` when no support is
        found or the re-solve on it is infeasible (a risk cap)."""
        from optimizers.solvers import remaining_time
        from optimizers.support_mip import TooFewNames, cardinality_support

        limit = min(self.mi_time_limit, remaining_time())
        allowed = cardinality_support(data, cons, w, *base, limit)
        if isinstance(allowed, TooFewNames) and not relaxed:
            raise InfeasibleError(allowed)
        if not isinstance(allowed, np.ndarray):
            return None
        return self._heuristic(cons, w, data, lb, built, solver, base, allowed=allowed)

    def _heuristic(self, cons, w, data, lb, built, solver, base, allowed=None):
        """:func:`~optimizers.integer.integer_heuristic` on ``built``; returns
        ``(weights, rounds, objective, solver)``: the objective of the weights returned
        and the solver that produced them (each round's re-solve may be answered by a
        different one). With ``allowed`` (a mask), names outside it are fixed at zero and
        the heuristic starts from the re-solve on that support (``None`` if infeasible).
        ``base``: the continuous problem's bounds ``(lb, ub)`` (each round replaces them)."""
        base_lb, base_ub = base
        values = [(w, float(built.problem.value), solver)]

        def resolve(elb, eub):
            lo, hi = np.maximum(base_lb, elb), np.minimum(base_ub, eub)
            if (lo > hi + 1e-12).any():
                return None
            if isinstance(built, DirectProblem):
                built.set_bounds(lo, np.maximum(hi, 0.0))
                st = built.solve()
                st = "infeasible" if st not in ("optimal", "optimal_inaccurate") else st
                by = built.solver_name
            else:
                built.lb.value, built.ub.value = lo, np.maximum(hi, 0.0)
                st, by = solve_with_fallback(built.problem, self.chain, ignore_dpp=built.ignore_dpp)
            if st == "infeasible":
                return None
            new = np.maximum(built.ctx.w.value, 0.0)
            values.append((new, float(built.problem.value), by))
            return new

        if allowed is not None:
            base_ub = np.where(allowed, base_ub, 0.0)
            w = resolve(np.full(data.n, -np.inf), np.full(data.n, np.inf))
            if w is None:
                return None
        hw, rounds = integer_heuristic(resolve, cons, w, data.w0, lb)
        value, by = next((v, s) for x, v, s in reversed(values) if x is hw)
        return hw, rounds, value, by
