"""Clarabel and PIQP on the direct problem's matrices: the solve loop and the answer's storage.

Tolerances (:data:`FAST`): duality gap 1e-7 absolute and relative, feasibility 1e-7
(Clarabel's default 1e-8 costs two more iterations), on an objective divided by its
data's size (:meth:`ConicSolve._objective_scale`), so the absolute gap is relative to
the problem. With ``qp_solver="PIQP"`` a pure QP (no risk cone, no impact) is solved by
PIQP (default settings: ``eps_abs`` 1e-8, ``eps_rel`` 1e-9), which takes the per-asset
bounds and ``buy, sell >= 0`` as variable bounds (2-3x faster than Clarabel here), with
Clarabel as its fallback.
"""

from __future__ import annotations

import clarabel
import numpy as np

try:
    import piqp
except ImportError:  # PIQP is optional: pure QPs then go to Clarabel too
    piqp = None

from optimizers.direct_build import Value
from optimizers.problem import BIG
from optimizers.solvers import CALL_TIME_LIMIT_S

__all__ = ["ConicSolve", "FAST", "IMPACT_SCALES", "STATUS", "piqp"]

IMPACT_SCALES = (1e-2, 1e-3, 1e-1)  # tried in turn when Clarabel stalls (see solve)
# Fast settings: "faer" factorisation, no iterative refinement (measured ~1.6x faster
# per iteration here at N = 2,000-5,000), gap and feasibility tolerances 1e-7 (two
# iterations fewer than the default 1e-8). Termination is still judged on the true
# residuals; a run that ends short of "Solved" is repeated with Clarabel's defaults.
FAST = {
    "direct_solve_method": "faer",
    "iterative_refinement_enable": False,
    "tol_gap_abs": 1e-7,
    "tol_gap_rel": 1e-7,
    "tol_feas": 1e-7,
}
STATUS = {
    "Solved": "optimal",
    "AlmostSolved": "optimal_inaccurate",
    "PrimalInfeasible": "infeasible",
    "AlmostPrimalInfeasible": "infeasible",
    "DualInfeasible": "unbounded",
    "AlmostDualInfeasible": "unbounded",
}


class ConicSolve:
    """Mixin of :class:`~optimizers.direct.DirectProblem`: Clarabel / PIQP and ``_store``."""

    # ------------------------------------------------------------------ solve
    def _setup(self, fast: bool = True) -> None:
        """Create the Clarabel solver (equilibration, KKT ordering): once per universe, on
        its first use (a problem the dual method certifies never needs it)."""
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.time_limit = CALL_TIME_LIMIT_S  # a stop is not "Solved": the cvxpy path takes over
        settings.presolve_enable = False  # keeps the row set fixed so data can be updated
        if fast:
            for key, value in FAST.items():
                setattr(settings, key, value)
        try:
            self._solver = clarabel.DefaultSolver(
                self.P, self.q, self.A, self.b, self.cones, settings
            )
        except Exception:  # e.g. a Clarabel build without faer: fall back to its defaults
            if not fast:
                raise
            self._setup(fast=False)
            return
        self._fast = fast

    def _qp_data(self) -> dict:
        """PIQP data: the zero rows as ``A x = b``, the bound rows of ``w``, ``buy`` and
        ``sell`` as variable bounds, every other non-negative row as ``G x <= h_u``."""
        nzero = self.n_zero
        nn = np.arange(nzero, nzero + self.n_nonneg)
        bound = np.zeros(len(nn), dtype=bool)
        bound[np.r_[self.r_lb, self.r_ub, self.r_buy, self.r_sell]] = True
        self._g_rows = nn[~bound]
        h_u = self.b[self._g_rows].copy()
        h_u[h_u >= 0.5 * BIG] = np.inf
        x_l = np.full(self.nz, -np.inf)
        x_u = np.full(self.nz, np.inf)
        x_l[: self.n], x_u[: self.n] = self.lb.value, self.ub.value
        x_l[self.ib : self.isl + self.n] = 0.0  # buy, sell >= 0
        return {
            "P": self.P,
            "c": self.q,
            "b": self.b[:nzero],
            "h_u": h_u,
            "x_l": x_l,
            "x_u": x_u,
        }

    def _solve_piqp(self):
        """Solve the QP with PIQP; ``(status, x, y in Clarabel's row layout)`` or ``None``."""
        data = self._qp_data()
        if self._piqp is None:
            A = self.A.tocsr()
            nzero = self.n_zero
            self._piqp = piqp.SparseSolver()
            self._piqp.settings.verbose = False
            self._piqp.setup(
                data["P"],
                data["c"],
                A[:nzero].tocsc(),
                data["b"],
                A[self._g_rows].tocsc(),
                np.full(len(self._g_rows), -np.inf),
                data["h_u"],
                data["x_l"],
                data["x_u"],
            )
        else:
            self._piqp.update(**data)
        if self._piqp.solve() != piqp.PIQP_SOLVED:
            return None
        res = self._piqp.result
        nzero, n = self.n_zero, self.n
        y = np.zeros(self.n_rows)
        y[:nzero] = res.y
        y[self._g_rows] = res.z_u
        y[nzero + self.r_lb] = res.z_bl[:n]
        y[nzero + self.r_ub] = res.z_bu[:n]
        y[nzero + self.r_buy] = res.z_bl[self.ib : self.ib + n]
        y[nzero + self.r_sell] = res.z_bl[self.isl : self.isl + n]
        x = np.asarray(res.x)
        return x, y, float(res.info.primal_obj)

    def _objective_scale(self) -> float:
        """Clarabel's tolerances are absolute (gap 1e-7): the objective is divided by its
        data's size ``s = max|q|, max|P|`` (at most 1) so the gap tolerance is ``1e-7 s``,
        relative to the problem (an alpha in small units would otherwise be solved to a
        gap larger than its utility). Solutions are unchanged; duals and the objective
        are scaled back."""
        top = max(
            float(np.abs(self.q).max(initial=0.0)), float(np.abs(self.P.data).max(initial=0.0))
        )
        return float(min(1.0, max(top, 1e-12)))

    def _set_scale(self, scale: float) -> None:
        """Impact-cone scale ``c``: only ``b`` and ``q`` change (``t`` is rescaled)."""
        m = len(self.impact_idx)
        if m:
            self.b[self.off_pow + 3 * np.arange(m) + 1] = scale
            self.q[self.it : self.it + m] = np.sqrt(scale) * self.k
        self.scale = scale

    def _solve_clarabel(self) -> str:
        """Clarabel with the impact-cone scales of :data:`IMPACT_SCALES`, then its default
        settings; the first definite answer, else the first reduced-accuracy one."""
        self.solver_name = "CLARABEL"
        scales = IMPACT_SCALES if len(self.impact_idx) else IMPACT_SCALES[:1]
        attempts = [(True, c) for c in scales] + [(False, scales[0])]
        found = None
        for fast, scale in attempts:
            if (
                self._solver is None
                or fast != self._fast
                or not self._solver.is_data_update_allowed()
            ):
                self._setup(fast)
            self._set_scale(scale)
            s = self._objective_scale()
            self._solver.update(P=self.P / s, q=self.q / s, b=self.b)
            sol = self._solver.solve()
            status = STATUS.get(str(sol.status).split(".")[-1], "error")
            if status in ("optimal", "infeasible", "unbounded"):
                found = (status, sol, scale, s)
                break
            if status == "optimal_inaccurate" and found is None:
                found = (status, sol, scale, s)
        if not self._fast:
            self._setup(True)
        status, sol, scale, s = found or ("error", None, scales[0], 1.0)
        self.status = status
        if status in ("optimal", "optimal_inaccurate"):
            self._set_scale(scale)
            self._store(np.asarray(sol.x), np.asarray(sol.z) * s, float(sol.obj_val) * s)
        return status

    def _store(self, z: np.ndarray, y: np.ndarray, obj_val: float) -> None:
        n, m = self.n, len(self.impact_idx)
        w, buy, sell = z[:n], z[n : 2 * n], z[2 * n : 3 * n]
        self.ctx.w.value, self.ctx.buy.value, self.ctx.sell.value = w, buy, sell
        self.problem.value = -obj_val - self.const
        yn = y[self.n_zero : self.n_zero + self.n_nonneg]
        self.con_lb.dual_value, self.con_ub.dual_value = yn[self.r_lb], yn[self.r_ub]
        for blk in self.blocks:
            if blk.risk_row is not None:
                blk.con_hi.dual_value = np.array([y[blk.risk_row]])
                continue
            if blk.con_lo is not None:
                blk.con_lo.dual_value = yn[blk.lo_rows]
            if blk.con_hi is not None:
                blk.con_hi.dual_value = yn[blk.hi_rows]
        a = w - self.data.benchmark
        terms = {"alpha": float(self.alpha @ w)}
        if self.obj.mode == "utility":
            f = z[self.ifac :]
            var = float(np.sum((self.Lt @ f) ** 2) + np.sum(self.d * a * a))
            terms["risk_penalty"] = self.lam * var
        if self.obj.linear_costs:
            terms["linear_cost"] = float(self.cb @ buy + self.cs @ sell)
        if m:
            t = z[self.it : self.it + m]
            terms["impact_cost"] = float(np.sqrt(self.scale) * self.k @ t)
        terms["turnover_penalty"] = self.tau * 0.5 * float(np.sum(buy + sell))
        self.terms = {k: Value(v) for k, v in terms.items()}
