"""The common path without cvxpy: the conic problem assembled as sparse matrices for Clarabel.

The same matrices first go to the certified dual Newton method (:mod:`optimizers.dual`,
``dual_newton=True``, the default) when the problem has its form; Clarabel solves what
that method does not certify (infeasible problems, total- or factor-risk caps, ...).

cvxpy's parametrised (DPP) compilation of this problem grows as ``N^2`` in time and
memory once cones are present (it restructures a tensor with one column per variable
and parameter entry), so the usual case -- every constraint hard and linear or a
risk cap -- is assembled here directly; the cvxpy path (:mod:`optimizers.problem`)
remains for soft and elastic constraints, the mixed-integer model and solver
fallback, and both are tested to give the same answer.

Clarabel form: minimise ``1/2 z'Pz + q'z`` s.t. ``A z + s = b``, ``s`` in a product of
cones, with ``z = [w, buy, sell, t, f]`` (``t``: impact epigraph, one per name with
``k_i > 0``; ``f = B'(w - b)``: factor exposures, when risk is used):

* zero cone: ``w - buy + sell = w0``; ``f - B'w = -B'b``;
* non-negative cone: ``lb <= w <= ub`` (every hard per-asset constraint folded in),
  ``buy, sell >= 0``, ``sum(w) <= 1`` and every hard linear row ``lo <= G z <= hi``;
* second-order cones: TE cap ``(te, L'f, sqrt(d)(w - b))``; total risk
  ``(vol, L'(f + B'b), sqrt(d) w)``; factor risk ``(cap, L'f)``;
* power cones ``(t_i, c, buy_i + sell_i)`` with exponent 2/3:
  ``t_i >= (buy_i + sell_i)^1.5 / sqrt(c)``, so ``sqrt(c) k_i t_i`` is the impact
  ``k_i |x_i|^1.5`` (``c = 0.01`` keeps the cone well scaled for trades near 1 %;
  other scales are tried when Clarabel stalls). Measured alternatives, not used: two
  3-D rotated second-order cones per name (``s^2 <= u``, ``u^2 <= s t``) take fewer
  iterations (23 vs 26 at N = 2,000) but each costs ~35 % more (8 KKT rows and
  columns per name instead of 4), so the solve is ~20 % slower; substituting
  ``sell = w0 - w + buy`` (``N`` fewer variables and equality rows) is ~10 % faster per
  iteration but stalls on half of the alphas tried without iterative refinement.

Objective (maximised utility = ``-(1/2 z'Pz + q'z) - lambda b'Db``): ``P = 2 lambda
(D on w, F on f)``; ``q_w = -alpha - 2 lambda D b``; ``q_buy = c_buy + tau/2``;
``q_sell = c_sell + tau/2``; ``q_t = sqrt(c) k``. Duals of the non-negative rows (and
the first entry of each risk cone) are the shadow prices used by
:mod:`optimizers.explain`.

Tolerances (:data:`FAST`): duality gap 1e-7 absolute and relative, feasibility 1e-7
(Clarabel's default 1e-8 costs two more iterations; 1e-7 of annualised utility is
0.001 bp). With ``qp_solver="PIQP"`` a pure QP (no risk cone, no impact) is solved by
PIQP (default settings: ``eps_abs`` 1e-8, ``eps_rel`` 1e-9), which takes the per-asset
bounds and ``buy, sell >= 0`` as variable bounds (2-3x faster than Clarabel here), with
Clarabel as its fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import clarabel
import numpy as np
import scipy.sparse as sp

try:
    import piqp
except ImportError:  # PIQP is optional: pure QPs then go to Clarabel too
    piqp = None

from constraints import (
    Constraint,
    FactorRiskShare,
    ProblemData,
    TotalRisk,
    TrackingError,
)
from constraints.errors import ConstraintSpecError
from optimizers.certify import original_violation
from optimizers.dual import FEAS_TOL, GAP_TOL, DualData, DualStatic, solve_dual
from optimizers.objective import ObjectiveSpec
from optimizers.problem import BIG, fold_bounds, resolve_modes

__all__ = ["DirectProblem", "direct_supported"]

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
REG_SHARE = 0.25  # share of the gap tolerance the zero-d regularisation may cost
SAME_REL = 1e-12  # a limit's column is a factor's when equal element-wise to this
RISK_KINDS = (TrackingError, TotalRisk, FactorRiskShare)
STATUS = {
    "Solved": "optimal",
    "AlmostSolved": "optimal_inaccurate",
    "PrimalInfeasible": "infeasible",
    "AlmostPrimalInfeasible": "infeasible",
    "DualInfeasible": "unbounded",
    "AlmostDualInfeasible": "unbounded",
}


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


@dataclass
class Value:
    """Stands in for a cvxpy expression / constraint: ``value`` and ``dual_value``."""

    value: object = None
    dual_value: object = None


@dataclass
class DirectBlock:
    """One hard term of one constraint: its row ranges in the non-negative cone."""

    ci: int
    ti: int
    mode: str = "hard"
    lo_rows: np.ndarray | None = None
    hi_rows: np.ndarray | None = None
    con_lo: Value | None = None
    con_hi: Value | None = None
    risk_row: int | None = None  # first row of the risk cone (risk kinds)


@dataclass
class _Rows:
    """Accumulates sparse rows ``A z <= b`` (``b`` filled at each solve)."""

    nz: int
    mats: list = field(default_factory=list)
    count: int = 0

    def add(self, mat: sp.spmatrix) -> np.ndarray:
        rows = np.arange(self.count, self.count + mat.shape[0])
        self.mats.append(sp.csr_matrix(mat))
        self.count += mat.shape[0]
        return rows

    def matrix(self) -> sp.csr_matrix:
        if not self.mats:
            return sp.csr_matrix((0, self.nz))
        return sp.vstack(self.mats, format="csr")


class DirectProblem:
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
        self._fast = True
        self.certificate: dict | None = None
        self.uncertified: str | None = None  # why the last dual answer was refused
        self.set_parameters(data, np.zeros(n))

    # ------------------------------------------------------------------ build
    @staticmethod
    def _impact_index(data: ProblemData, objective: ObjectiveSpec) -> np.ndarray:
        if not objective.impact:
            return np.zeros(0, dtype=int)
        k = data.numeric("impact", "objective impact costs")
        if (k < 0).any():
            raise ConstraintSpecError(
                f"objective impact costs: negative 'impact' for {list(data.ids[k < 0][:10])}"
            )
        return np.flatnonzero(k > 0)

    def _cols(self, W=None, U=None, V=None, T=None, Fm=None) -> sp.csr_matrix:
        """Place per-variable blocks side by side into a full-width row block."""
        parts = [(W, self.n), (U, self.n), (V, self.n), (T, len(self.impact_idx)), (Fm, self.K)]
        rows = next(p.shape[0] for p, _ in parts if p is not None)
        mats = [sp.csr_matrix((rows, w)) if p is None else sp.csr_matrix(p) for p, w in parts]
        return sp.hstack(mats, format="csr")

    def _build_static(self, data: ProblemData) -> None:
        n, eye = self.n, sp.identity(self.n, format="csr")
        zero = [self._cols(W=eye, U=-eye, V=eye)]
        if self.use_risk:
            zero.append(self._cols(W=-self.B.T, Fm=np.eye(self.K)))
        self.A_zero = sp.vstack(zero, format="csr")
        rows = _Rows(self.nz)
        self.r_lb = rows.add(self._cols(W=-eye))
        self.r_ub = rows.add(self._cols(W=eye))
        self.r_buy = rows.add(self._cols(U=-eye))
        self.r_sell = rows.add(self._cols(V=-eye))
        self.r_budget = rows.add(self._cols(W=np.ones((1, n))))
        self.blocks: list[DirectBlock] = []
        self.lin_const: dict[tuple[int, int], np.ndarray] = {}
        self.fac_rows: dict[tuple[int, int], np.ndarray] = {}
        for ci, (c, mode) in enumerate(zip(self.constraints, self.modes, strict=True)):
            if mode != "hard" or isinstance(c, RISK_KINDS):
                continue
            for ti, (lin, lim) in enumerate(zip(c.linear(data), c.limits(data), strict=True)):
                fac = self._factor_rows(lin)
                W = lin.w
                if (fac >= 0).any():
                    W = sp.diags((fac < 0).astype(float)) @ W
                Fm = sp.csr_matrix(
                    (np.ones(int((fac >= 0).sum())), (np.flatnonzero(fac >= 0), fac[fac >= 0])),
                    shape=(len(fac), self.K),
                )
                G = self._cols(W=W, U=lin.buy, V=lin.sell, Fm=Fm if self.K else None)
                self.fac_rows[(ci, ti)] = fac
                blk = DirectBlock(ci, ti)
                if np.isfinite(lim.lo).any():
                    blk.lo_rows, blk.con_lo = rows.add(-G), Value()
                if np.isfinite(lim.hi).any():
                    blk.hi_rows, blk.con_hi = rows.add(G), Value()
                self.lin_const[(ci, ti)] = lin.const
                self.blocks.append(blk)
        self.A_nonneg = rows.matrix()
        self.socs: list[tuple[DirectBlock, sp.csr_matrix]] = []
        for ci, c in enumerate(self.constraints):
            if isinstance(c, RISK_KINDS):
                blk = DirectBlock(ci, 0, con_hi=Value())
                self.blocks.append(blk)
                self.socs.append((blk, self._soc_matrix(c)))
        m = len(self.impact_idx)
        if m:
            r = np.arange(m)
            i = self.impact_idx
            rr = np.r_[3 * r, 3 * r + 2, 3 * r + 2]
            cc = np.r_[self.it + r, self.ib + i, self.isl + i]
            self.A_pow = sp.csr_matrix((-np.ones(3 * m), (rr, cc)), shape=(3 * m, self.nz))
        else:
            self.A_pow = sp.csr_matrix((0, self.nz))
        self.A = sp.vstack(
            [self.A_zero, self.A_nonneg] + [s for _, s in self.socs] + [self.A_pow], format="csc"
        )
        sizes = [self.A_zero.shape[0], self.A_nonneg.shape[0]]
        self.off_soc = sum(sizes)
        off = self.off_soc
        for blk, s in self.socs:
            blk.risk_row = off
            off += s.shape[0]
        self.off_pow = off
        cones = [clarabel.ZeroConeT(sizes[0]), clarabel.NonnegativeConeT(sizes[1])]
        cones += [clarabel.SecondOrderConeT(s.shape[0]) for _, s in self.socs]
        cones += [clarabel.PowerConeT(2.0 / 3.0)] * m
        self.cones = cones
        Fq = self.Lt.T @ self.Lt if self.use_risk else np.zeros((0, 0))
        self.P_unit = sp.block_diag(
            [
                sp.diags(self.d if self.use_risk else np.zeros(n)),
                sp.csr_matrix((2 * n + m, 2 * n + m)),
                sp.csr_matrix(np.triu(Fq)),
            ],
            format="csc",
        )

    def _factor_rows(self, lin) -> np.ndarray:
        """Per row, the factor ``k`` whose exposures equal the row's ``w`` weights, else -1.

        A limit on such a row (a sector or country in a model with 0/1 sector and
        country exposures) is placed on ``f_k + (B'b)_k`` instead of on ``N`` weights,
        which keeps the KKT system sparse. Equal means element by element to
        :data:`SAME_REL` of the larger magnitude (zeros exactly), so the rewritten row
        differs from the configured one by at most ``SAME_REL * sum_i |x_i| w_i``; a
        column that is only close to a factor (a vendor exposure rounded to 4 decimals)
        stays on the weights. Candidates are screened by the squared distance through
        ``W B`` and then compared element-wise.
        """
        rows = len(lin.const)
        out = np.full(rows, -1)
        if not self.K or lin.w is None:
            return out
        W = sp.csr_matrix(lin.w)
        S = np.asarray(W @ self.B)
        wsq = np.asarray(W.multiply(W).sum(axis=1)).ravel()
        bsq = (self.B**2).sum(axis=0)
        dist = wsq[:, None] - 2.0 * S + bsq[None, :]
        near = np.abs(dist) <= 1e-6 * np.maximum(1.0, np.maximum(wsq[:, None], bsq[None, :]))
        for r, k in zip(*np.nonzero(near), strict=True):
            if out[r] >= 0:
                continue
            x = W[r].toarray().ravel()
            col = self.B[:, k]
            if (np.abs(x - col) <= SAME_REL * np.maximum(np.abs(x), np.abs(col))).all():
                out[r] = k
        return out

    def _soc_matrix(self, c: Constraint) -> sp.csr_matrix:
        """Rows ``-(0; L'f; sqrt(d) w)`` (``-(0; L'f)`` for the factor-risk cap)."""
        top = sp.csr_matrix((1, self.nz))
        fac = self._cols(Fm=-self.Lt)
        if isinstance(c, FactorRiskShare):
            return sp.vstack([top, fac], format="csr")
        spec = self._cols(W=-sp.diags(np.sqrt(self.d)))
        return sp.vstack([top, fac, spec], format="csr")

    def _dual_static(self) -> DualStatic | None:
        """The dual method's fixed data, or ``None`` when the problem is not of its form."""
        if not self.use_risk or len(self.socs) > 1:
            return None
        if any(not isinstance(self.constraints[blk.ci], TrackingError) for blk, _ in self.socs):
            return None
        F = self.Lt.T @ self.Lt
        if not DualStatic.eligible(F, self.d):
            return None
        own = np.r_[self.r_lb, self.r_ub, self.r_buy, self.r_sell]
        self.dual_rows = np.setdiff1d(np.arange(self.A_nonneg.shape[0]), own)
        G = self.A_nonneg[self.dual_rows]
        if G[:, self.it : self.ifac].nnz:  # a row on the impact epigraph: not of the form
            return None
        cols = np.r_[np.arange(self.it), np.arange(self.ifac, self.nz)]
        return DualStatic(self.B, F, self.d, G[:, cols])

    # ------------------------------------------------------------- parameters
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
        if self.use_risk:
            bz.append(-self.B.T @ b)
        bn = np.zeros(self.A_nonneg.shape[0])
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
                const = const + np.where(fac >= 0, (self.B.T @ b)[np.maximum(fac, 0)], 0.0)
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
                tail[: self.K] = self.Lt @ (self.B.T @ b)
            bs.append(np.r_[cap, tail])
        m = len(self.impact_idx)
        bp = np.zeros(3 * m)
        bp[3 * np.arange(m) + 1] = IMPACT_SCALES[0]
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
            q[self.it : self.it + m] = np.sqrt(IMPACT_SCALES[0]) * self.k
        self.q = q
        self.scale = IMPACT_SCALES[0]
        self.P = (2.0 * lam) * self.P_unit
        self.obj = obj

    def set_bounds(self, lb: np.ndarray, ub: np.ndarray) -> None:
        """Replace the folded per-asset bounds (integer heuristic rounds)."""
        self.lb.value, self.ub.value = lb, ub
        off = self.A_zero.shape[0]
        self.b[off + self.r_lb], self.b[off + self.r_ub] = -lb, ub

    # ------------------------------------------------------------------ solve
    def _setup(self, fast: bool = True) -> None:
        """Create the Clarabel solver (equilibration, KKT ordering): once per universe, on
        its first use (a problem the dual method certifies never needs it)."""
        settings = clarabel.DefaultSettings()
        settings.verbose = False
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
        nzero = self.A_zero.shape[0]
        nn = np.arange(nzero, nzero + self.A_nonneg.shape[0])
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
            nzero = self.A_zero.shape[0]
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
        nzero, n = self.A_zero.shape[0], self.n
        y = np.zeros(self.A.shape[0])
        y[:nzero] = res.y
        y[self._g_rows] = res.z_u
        y[nzero + self.r_lb] = res.z_bl[:n]
        y[nzero + self.r_ub] = res.z_bu[:n]
        y[nzero + self.r_buy] = res.z_bl[self.ib : self.ib + n]
        y[nzero + self.r_sell] = res.z_bl[self.isl : self.isl + n]
        x = np.asarray(res.x)
        return x, y, float(res.info.primal_obj)

    def dual_data(self) -> DualData | None:
        """This solve's problem in the dual method's form, ``None`` when not of it."""
        if self._dual is None or (self.lam <= 0 and not self.socs):
            return None
        n, off = self.n, self.A_zero.shape[0]
        h = self.b[off + self.dual_rows]
        keep = h < 0.5 * BIG
        h = h + self._dual.row_shift(self.data.benchmark)
        te = float(self.b[self.socs[0][0].risk_row]) if self.socs else None
        half_tau = 0.5 * self.tau * np.ones(n)
        k = np.zeros(n)
        if len(self.impact_idx):
            k[self.impact_idx] = self.k
        linear = self.obj.linear_costs
        reg = self._regularisation()
        if reg is not None and (k[reg > 0] == 0).any():
            return None  # a zero-d name without impact: a linear Lagrangian (Clarabel)
        return DualData(
            self._dual,
            alpha=self.alpha,
            b=self.data.benchmark,
            w0=self.data.w0,
            lb=self.lb.value,
            ub=self.ub.value,
            lam=self.lam,
            cb=half_tau + (self.cb if linear else 0.0),
            cs=half_tau + (self.cs if linear else 0.0),
            k=k,
            h=h[keep],
            te=te,
            keep=keep,
            reg=reg,
        )

    def _regularisation(self) -> np.ndarray | None:
        """Specific variance added for the Newton iterations where ``d`` is (near) zero.

        Moving a name's weight by at most ``A_i = max(|ub_i - b_i|, |lb_i - b_i|)``
        changes the regularised Lagrangian by at most ``rho reg_i A_i^2``; ``reg`` is
        ``REG_SHARE * GAP_TOL / (rho sum_i A_i^2)`` so the dual value moves by a share of
        the gap tolerance (``rho`` is taken as ``lambda``, or 1 in max-alpha mode). The
        answer is certified on the problem without it (:class:`~optimizers.dual.DualData`).
        """
        lb, ub, b = self.lb.value, self.ub.value, self.data.benchmark
        span = np.maximum((ub - b) ** 2, (lb - b) ** 2)
        rho = self.lam if self.lam > 0 else 1.0
        delta = REG_SHARE * GAP_TOL / (rho * max(float(span.sum()), 1e-12))
        low = self.d < delta
        if not low.any():
            return None
        return np.where(low, delta - self.d, 0.0)

    def _solve_dual(self):
        """Certified dual Newton (:mod:`optimizers.dual`), warm-started from the last
        multipliers; ``(z, y, objective)`` in Clarabel's layout, or ``None``."""
        P = self.dual_data()
        if P is None:
            return None
        n, off, keep, te = self.n, self.A_zero.shape[0], P.keep, P.te
        v0 = None
        if self._dual_v is not None:  # stored over every shared row: pick this solve's
            full, K = self._dual_v, P.K
            v0 = np.r_[full[:K], full[K : K + len(keep)][keep], full[K + len(keep) :]]
        res = solve_dual(P, v0)
        if res is None:
            return None
        # the certificate covers the configured constraints, not only the rewritten rows
        worst, where = original_violation(
            self.cons, self.data, res.w, self.lb.value, self.ub.value, self.relax
        )
        if worst > FEAS_TOL:
            self.uncertified = f"{where} exceeded by {worst:.1e} (relative) on the dual answer"
            return None
        pi = np.zeros(len(keep))
        pi[keep] = res.pi
        self._dual_v = np.r_[res.v[: P.K], pi, [res.mu] if te is not None else []]
        self.certificate = {
            "duality_gap": res.gap,
            "max_violation": max(res.max_violation, worst),
            "iterations": res.iterations,
            "tolerance": res.tolerance,
            "feasibility_tolerance": FEAS_TOL,
        }
        z = np.zeros(self.nz)
        z[:n], z[self.ib : self.ib + n], z[self.isl : self.isl + n] = res.w, res.buy, res.sell
        m = len(self.impact_idx)
        if m:
            ax = np.abs(res.w - self.data.w0)[self.impact_idx]
            z[self.it : self.it + m] = ax * np.sqrt(ax) / np.sqrt(self.scale)
        z[self.ifac :] = self.B.T @ (res.w - self.data.benchmark)
        y = np.zeros(self.A.shape[0])
        y[off + self.r_lb], y[off + self.r_ub] = res.y_lb, res.y_ub
        y[off + self.dual_rows] = pi
        if te is not None:
            y[self.socs[0][0].risk_row] = 2.0 * res.mu * te  # d(objective) / d(TE cap)
        return z, y, res.primal - self.const

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

    def solve(self) -> str:
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
        """
        if self.use_piqp:
            out = self._solve_piqp()
            if out is not None:
                self.status, self.solver_name = "optimal", "PIQP"
                self._store(*out)
                return self.status
        if self._dual is not None and (self.lam > 0 or self.socs):
            out = self._solve_dual()
            if out is not None:
                self.status, self.solver_name = "optimal", "DUAL_NEWTON"
                self._store(*out)
                return self.status
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
                found = (status, sol, scale)
                break
            if status == "optimal_inaccurate" and found is None:
                found = (status, sol, scale)
        if not self._fast:
            self._setup(True)
        status, sol, scale = found or ("error", None, scales[0])
        self.status = status
        if status in ("optimal", "optimal_inaccurate"):
            self.scale = scale
            s = self._objective_scale()
            self._store(np.asarray(sol.x), np.asarray(sol.z) * s, float(sol.obj_val) * s)
        return status

    def _store(self, z: np.ndarray, y: np.ndarray, obj_val: float) -> None:
        n, m = self.n, len(self.impact_idx)
        w, buy, sell = z[:n], z[n : 2 * n], z[2 * n : 3 * n]
        self.ctx.w.value, self.ctx.buy.value, self.ctx.sell.value = w, buy, sell
        self.problem.value = -obj_val - self.const
        yn = y[self.A_zero.shape[0] : self.A_zero.shape[0] + self.A_nonneg.shape[0]]
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


def _any(lin) -> bool:
    return lin.w is not None or lin.buy is not None or lin.sell is not None


def _added(c: Constraint, side: str) -> ConstraintSpecError:
    return ConstraintSpecError(
        f"{c.label}: a finite {side} limit was added after the problem was built; "
        "build a new optimizer for a different constraint structure"
    )


class _Ctx:
    """Holds the solution vectors like a :class:`~constraints.ProblemContext`."""

    def __init__(self):
        self.w, self.buy, self.sell = Value(), Value(), Value()


class _Problem:
    """Holds the optimal utility like ``cvxpy.Problem.value``."""

    value: float | None = None
