"""The common path without cvxpy: the conic problem assembled as sparse matrices.

The same matrices first go to the certified dual Newton method (:mod:`optimizers.dual`,
``dual_newton=True``, the default) when the problem has its form; Clarabel solves what
that method does not certify (infeasible problems, total- or factor-risk caps, ...).

cvxpy's parametrised (DPP) compilation of this problem grows as ``N^2`` in time and
memory once cones are present (it restructures a tensor with one column per variable
and parameter entry), so the usual case -- every constraint hard and linear or a
risk cap -- is assembled here directly; the cvxpy path (:mod:`optimizers.problem`)
remains for soft and elastic constraints, the mixed-integer model and solver
fallback, and both are tested to give the same answer.

One job per module:

* :mod:`optimizers.direct_build` -- matrix assembly (Clarabel's form, the cones, the
  factor-row placement);
* :mod:`optimizers.direct_dual` -- the dual method's data, solve and certificate
  against the configured constraints;
* :mod:`optimizers.direct_solve` -- the Clarabel / PIQP solve loop and the answer's
  storage;
* this module -- :class:`DirectProblem`: per-solve vectors (``q``, ``b``, ``P``) and
  the order in which the methods are tried.

Objective (maximised utility = ``-(1/2 z'Pz + q'z) - lambda b'Db``): ``P = 2 lambda
(D on w, F on f)``; ``q_w = -alpha - 2 lambda D b``; ``q_buy = c_buy + tau/2``;
``q_sell = c_sell + tau/2``; ``q_t = sqrt(c) k``, where the power cones
``(t_i, c, buy_i + sell_i)`` with exponent 2/3 give ``t_i >= (buy_i + sell_i)^1.5 /
sqrt(c)``, so ``sqrt(c) k_i t_i`` is the impact ``k_i |x_i|^1.5`` (``c = 0.01`` keeps the
cone well scaled for trades near 1 %; other scales are tried when Clarabel stalls).
Measured alternatives, not used: two 3-D rotated second-order cones per name take
fewer iterations (23 vs 26 at N = 2,000) but each costs ~35 % more, so the solve is
~20 % slower; substituting ``sell = w0 - w + buy`` is ~10 % faster per iteration but
stalls on half of the alphas tried without iterative refinement. Duals of the
non-negative rows (and the first entry of each risk cone) are the shadow prices used
by :mod:`optimizers.explain`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from constraints import Constraint, ProblemData, TotalRisk, TrackingError
from constraints.errors import ConstraintSpecError
from optimizers import direct_solve
from optimizers.direct_build import RISK_KINDS, DirectMatrices, Value, _Ctx, _Problem
from optimizers.direct_dual import DualPath
from optimizers.direct_solve import ConicSolve, piqp
from optimizers.objective import ObjectiveSpec
from optimizers.problem import BIG, fold_bounds, resolve_modes

__all__ = ["DirectProblem", "direct_supported"]


def direct_supported(constraints: Sequence[Constraint], data: ProblemData) -> bool:
    """True when every constraint is hard and linear, per-asset, a risk cap or integer."""
    for c in constraints:
        if c.soft is not None:
            return False
        if c.integer or c.per_asset or isinstance(c, RISK_KINDS):
            continue
        if c.linear(data) is None:
            return False
    return True


class DirectProblem(DirectMatrices, DualPath, ConicSolve):
    """The problem as Clarabel matrices; duck-types :class:`~optimizers.problem.BuiltProblem`.

    Parameters
    ----------
    data : ProblemData
        Fixes the universe, the risk model and every constraint's row structure.
    constraints : sequence of Constraint
        Must satisfy :func:`direct_supported`.
    objective : ObjectiveSpec
    qp_solver : {"PIQP", None}
        Solver for a pure QP (no risk cone, no impact), Clarabel its fallback; ``None``
        (the default, or PIQP not installed) uses Clarabel for every problem.
    dual_newton : bool
        Try the certified dual Newton method (:mod:`optimizers.dual`) first when the
        problem has its form (risk aversion > 0 or a TE cap; at most one TE cap and no
        other risk cap); Clarabel solves whatever it does not certify. Default ``True``.
    """

    def __init__(
        self,
        data: ProblemData,
        constraints: Sequence[Constraint],
        objective,
        qp_solver: str | None = None,
        dual_newton: bool = True,
    ):
        if qp_solver not in ("PIQP", None):
            raise ValueError(f"qp_solver: expected 'PIQP' or None, got {qp_solver!r}")
        self.constraints = list(constraints)
        self.objective = objective
        self.modes = resolve_modes(self.constraints, None, integer=False)
        n = data.n
        self.n = n
        self.impact_idx = self._impact_index(data, objective)
        risk_cons = [c for c in self.constraints if isinstance(c, RISK_KINDS)]
        self.use_risk = objective.mode == "utility" or bool(risk_cons)
        if self.use_risk:
            risk = data.require_risk("risk terms")
            self.B = np.asarray(risk.exposures, dtype=float)
            self.Lt = np.ascontiguousarray(risk.factor_cov_sqrt().T)
            self.d = np.asarray(risk.specific_var, dtype=float)
            self.K = self.B.shape[1]
        else:
            self.K = 0
        m = len(self.impact_idx)
        self.iw, self.ib, self.isl, self.it = 0, n, 2 * n, 3 * n
        self.ifac = 3 * n + m
        self.nz = self.ifac + self.K
        self._build_static(data)
        self.lb, self.ub = Value(), Value()
        self.con_lb, self.con_ub = Value(), Value()
        self.lb_src = self.ub_src = None
        self.ctx = _Ctx()
        self.terms: dict[str, Value] = {}
        self.problem = _Problem()
        self._solver = None
        self._piqp = None
        self.solver_name = "CLARABEL"
        self.use_piqp = qp_solver == "PIQP" and piqp is not None and not self.socs and not m
        self._dual = self._dual_static() if dual_newton else None
        self._dual_v: np.ndarray | None = None
        self._dual_v_free: np.ndarray | None = None  # the risk-free relaxation's (max-alpha)
        self._cap_bound = False  # max-alpha mode: the last certified answer's TE cap bound
        self._fast = True
        self.certificate: dict | None = None
        self.uncertified: str | None = None  # why the last dual answer was refused
        self.set_parameters(data, np.zeros(n))

    # ------------------------------------------------------------------ build

    def set_parameters(
        self,
        data: ProblemData,
        alpha: np.ndarray,
        constraints: Sequence[Constraint] | None = None,
        objective: ObjectiveSpec | None = None,
        relax: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
        extra_lb: np.ndarray | None = None,
        extra_ub: np.ndarray | None = None,
        slack_weight: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Compute ``q``, ``b`` and ``P`` for this data; returns the folded ``(lb, ub)``."""
        cons = list(constraints) if constraints is not None else self.constraints
        obj = objective or self.objective
        relax = relax or {}
        self.data, self.alpha, self.cons, self.relax = data, alpha, cons, relax
        lb, ub, self.lb_src, self.ub_src = fold_bounds(
            data, cons, self.modes, relax, extra_lb, extra_ub
        )
        self.lb.value, self.ub.value = lb, np.maximum(ub, 0.0)
        self._set_vectors(data, alpha, cons, obj, relax)
        return lb, ub

    def _set_vectors(self, data, alpha, cons, obj, relax) -> None:
        n, b, w0 = self.n, data.benchmark, data.w0
        lam = obj.risk_aversion if obj.mode == "utility" else 0.0
        self.lam, self.tau = lam, obj.turnover_penalty
        bz = [w0]
        Btb = self.B.T @ b if self.use_risk else None  # B'b, once (not per factor row block)
        self.Btb = Btb  # (the dual method's data takes it too)
        if self.use_risk:
            bz.append(-Btb)
        bn = np.zeros(self.n_nonneg)
        bn[self.r_lb], bn[self.r_ub] = -self.lb.value, self.ub.value
        bn[self.r_budget] = 1.0
        for blk in self.blocks:
            if blk.risk_row is not None:
                continue
            c = cons[blk.ci]
            lim = c.limits(data)[blk.ti]
            lo_r, hi_r = relax.get((blk.ci, blk.ti), (0.0, 0.0))
            const = self.lin_const[(blk.ci, blk.ti)]
            fac = self.fac_rows[(blk.ci, blk.ti)]
            if (fac >= 0).any():
                const = const + np.where(fac >= 0, Btb[np.maximum(fac, 0)], 0.0)
            lo, hi = lim.lo - lo_r - const, lim.hi + hi_r - const
            if blk.lo_rows is not None:
                bn[blk.lo_rows] = -np.where(np.isfinite(lo), lo, -BIG)
            elif np.isfinite(lo).any():
                raise _added(c, "lower")
            if blk.hi_rows is not None:
                bn[blk.hi_rows] = np.where(np.isfinite(hi), hi, BIG)
            elif np.isfinite(hi).any():
                raise _added(c, "upper")
        bs = []
        for blk, mat in self.socs:
            c = cons[blk.ci]
            lo_r, hi_r = relax.get((blk.ci, 0), (0.0, 0.0))
            cap = float(c.limits(data)[0].hi[0] + np.max(hi_r))
            tail = np.zeros(mat.shape[0] - 1)
            if isinstance(c, TrackingError):
                tail[self.K :] = -np.sqrt(self.d) * b
            elif isinstance(c, TotalRisk):
                tail[: self.K] = self.Lt @ Btb
            bs.append(np.r_[cap, tail])
        m = len(self.impact_idx)
        bp = np.zeros(3 * m)
        bp[3 * np.arange(m) + 1] = direct_solve.IMPACT_SCALES[0]
        self.b = np.concatenate(bz + [bn] + bs + [bp])
        q = np.zeros(self.nz)
        q[:n] = -alpha
        if self.use_risk:
            q[:n] -= 2.0 * lam * self.d * b
            self.const = lam * float(self.d * b @ b)
        else:
            self.const = 0.0
        if obj.linear_costs:
            self.cb = data.numeric("cost_buy", "objective linear costs")
            self.cs = data.numeric("cost_sell", "objective linear costs")
            q[n : 2 * n] += self.cb
            q[2 * n : 3 * n] += self.cs
        q[n : 3 * n] += 0.5 * self.tau
        if m:
            self.k = data.numeric("impact", "objective impact costs")[self.impact_idx]
            q[self.it : self.it + m] = np.sqrt(direct_solve.IMPACT_SCALES[0]) * self.k
        self.q = q
        self.scale = direct_solve.IMPACT_SCALES[0]
        self._P = None  # (2 lambda) P_unit, formed when Clarabel or PIQP reads it
        self.obj = obj

    @property
    def P(self):
        """``P = 2 lambda P_unit`` of this solve (:mod:`optimizers.direct_build`)."""
        if self._P is None:
            self._P = (2.0 * self.lam) * self.P_unit
        return self._P

    def set_bounds(self, lb: np.ndarray, ub: np.ndarray) -> None:
        """Replace the folded per-asset bounds (integer heuristic rounds)."""
        self.lb.value, self.ub.value = lb, ub
        off = self.n_zero
        self.b[off + self.r_lb], self.b[off + self.r_ub] = -lb, ub

    def solve(self, infeasible: Callable[[], bool] | None = None) -> str:
        """Solve with PIQP (opt-in, pure QP), the dual method or Clarabel; returns a status
        of :mod:`optimizers.solvers`.

        With ``qp_solver="PIQP"`` a pure QP goes to PIQP first. Otherwise a problem of
        the dual method's form goes to it first (warm-started from the last solve's
        multipliers) and is accepted only with its certificate. Anything not answered
        (including infeasible problems) is passed on to Clarabel, which then decides.
        Clarabel is set up on first use. Re-solves update
        ``P``, ``q`` and ``b`` in the existing solver (same sparsity), so the KKT ordering
        is not recomputed. When Clarabel stalls (insufficient progress, iteration limit,
        or only reduced accuracy) the impact cone is rescaled (:data:`IMPACT_SCALES`;
        the optimum is unchanged) and, last, Clarabel's default settings are tried; the
        first definite answer is returned, else the first reduced-accuracy one
        (``optimal_inaccurate``), else ``"error"``.

        ``infeasible()``, when given, is asked first when the dual method ended far from
        feasibility (its dual diverging, as an infeasible problem's does): ``True``
        (e.g. the elastic LP proves it) answers ``"infeasible"`` without Clarabel, which
        took ~0.9 s over its retries on such a point of the demo (N = 1,200).
        """
        if self.use_piqp:
            out = self._solve_piqp()
            if out is not None:
                self.status, self.solver_name = "optimal", "PIQP"
                self._store(*out)
                return self.status
        self.dual_far = False
        if self._dual is not None and (self.lam > 0 or self.socs):
            out = self._solve_dual()
            if out is not None:
                self.status, self.solver_name = "optimal", "DUAL_NEWTON"
                self._store(*out)
                return self.status
            if self.dual_far and infeasible is not None and infeasible():
                self.status, self.solver_name = "infeasible", "HIGHS (elastic LP)"
                return self.status
        return self._solve_clarabel()


def _any(lin) -> bool:
    return lin.w is not None or lin.buy is not None or lin.sell is not None


def _added(c: Constraint, side: str) -> ConstraintSpecError:
    return ConstraintSpecError(
        f"{c.label}: a finite {side} limit was added after the problem was built; "
        "build a new optimizer for a different constraint structure"
    )
