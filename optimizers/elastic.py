"""The elastic problem behind diagnosis and priority relaxation, built once per question set.

Every hard, continuous constraint term ("unit" ``j``) gets one scalar slack
``t_j >= 0`` in the constraint's own units, and each of its rows becomes

    ``lo - sens * t_j  <=  g(w)  <=  hi + sens * t_j``

(``sens`` turns own units into row units, :mod:`constraints.base`), so ``t_j`` is
exactly how far the configured limit moves. A question sets each constraint *hard*
(``t = 0``), *elastic* (``t`` priced 1 per own unit) or *off* (its rows dropped) and
minimises ``sum t_j + trade_price * sum(buy + sell)``. The always-on rows
``w >= 0``, ``sum(w) <= 1`` (long only, no leverage) and ``w - w0 = buy - sell`` stay in.

Two solvers, both fed sparse matrices directly (no modelling layer):

* the linear units form an LP (:mod:`optimizers.elastic_lp`), re-solved by HiGHS from
  the previous basis;
* with a risk cap (tracking error, total risk, factor risk) switched on, the problem is
  a second-order-cone program, assembled here for Clarabel with the factor exposures
  ``f = B'(w - b)`` as variables (``||(L'f, sqrt(d) a)|| <= hi + sens t``).

The LP is the conic problem's twin without its risk caps and answers first: a question
that leaves the risk caps off, whose LP is infeasible, or whose LP optimum already meets
every risk cap switched on (then the caps' slacks are 0 and the LP optimum is the conic
one) needs no conic solve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from constraints import Constraint, ProblemData
from optimizers.elastic_lp import ElasticLP, LinearUnit, linear_units, time_limit
from optimizers.errors import SolverError

__all__ = [
    "ElasticProblem",
    "Solution",
    "Unit",
    "FEAS_TOL",
    "ROW_TOL",
    "TRADE_PRICE",
    "linear_feasible",
]

FEAS_TOL = 1e-7  # a subset is feasible when its minimal total relaxation is at most this
ROW_TOL = 1e-9  # a row "uses" a relaxation when it exceeds its limit by more than this
# Price of trading (per unit of buys + sells) when one constraint is relaxed alone: far
# below the price 1 of a relaxation, so the minimal relaxation is unchanged, but among
# its solutions the one trading least is chosen and rows list only the trades needed.
# (Not used for the joint relaxation, where it would break ties towards relaxing limits
# up to the current portfolio instead of trading.)
TRADE_PRICE = 1e-6
CONIC_STATUS = {
    "Solved": "optimal",
    "AlmostSolved": "optimal",
    "PrimalInfeasible": "infeasible",
    "AlmostPrimalInfeasible": "infeasible",
}


@dataclass
class Unit:
    """One term of one constraint with its scalar slack: rows ``lo <= g <= hi``."""

    ci: int
    ti: int
    key: str
    lo: np.ndarray
    hi: np.ndarray
    sens: np.ndarray
    labels: tuple
    unit: str
    linear: LinearUnit | None  # None: a risk cap (second-order cone)


@dataclass
class Solution:
    status: str
    value: float
    t: np.ndarray  # effective slack per unit (0 for hard and off units)
    rows: dict  # unit index -> row values g(w) at the solution (elastic units)


class ElasticProblem:
    """The elastic problem over the candidate constraints, re-solved per question.

    Parameters
    ----------
    data : ProblemData
    constraints : sequence of Constraint
    candidates : sequence of int
        Indices of the constraints to diagnose (hard, continuous).
    warm : ``"primal"`` or ``"dual"``
        The simplex of the LP's warm re-solves (:class:`~optimizers.elastic_lp.ElasticLP`).
    """

    def __init__(
        self, data: ProblemData, constraints: Sequence[Constraint], candidates, warm="primal"
    ):
        self.data, self.cons = data, list(constraints)
        self.units: list[Unit] = []
        for ci in candidates:
            c = self.cons[ci]
            units, labels, keys = c.term_units(data), c.row_labels(data), c.term_keys(data)
            for ti, lim, lu in linear_units(data, c):
                self.units.append(
                    Unit(ci, ti, keys[ti], lim.lo, lim.hi, lim.sens, labels[ti], units[ti], lu)
                )
        self.lp_units = [j for j, u in enumerate(self.units) if u.linear is not None]
        self.lp = ElasticLP(
            data.n, data.w0, [self.units[j].linear for j in self.lp_units], warm=warm
        )
        self.risk_ids = {u.ci for u in self.units if u.linear is None}
        self.solves = 0
        self.w: np.ndarray | None = None  # weights of the last solution

    @property
    def constraint_ids(self) -> list[int]:
        return sorted({u.ci for u in self.units})

    def solve(
        self,
        modes: Mapping[int, str],
        trade_price: float = TRADE_PRICE,
        shift: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> Solution:
        """Solve with ``modes[ci]`` in ``{"hard", "elastic", "off"}`` (absent: off).

        ``shift[(ci, ti)] = (lo_move, hi_move)`` (row units, >= 0) first widens the
        rows of a hard or elastic term to ``lo - lo_move <= g <= hi + hi_move`` (a
        relaxation already decided).
        """
        shift = shift or {}
        self.solves += 1
        # The LP without the risk caps is a relaxation of the problem: infeasible ->
        # infeasible, and an LP optimum at which every risk cap switched on already holds
        # (at its shifted limit, so with zero slack) is the conic problem's optimum too.
        sol = self._solve_lp(modes, trade_price, shift)
        if sol.status == "infeasible" or self._risk_caps_hold(modes, shift):
            return sol
        return self._solve_conic(modes, trade_price, shift)

    def feasible(self, subset) -> bool:
        """Can the constraints in ``subset`` all hold (the rest off)?

        The LP without the risk caps answers first: if its minimal relaxation is above
        :data:`FEAS_TOL`, the subset cannot hold (the conic minimum is no smaller); if
        its optimum meets the risk caps, it can. Otherwise the conic problem decides.
        """
        modes = dict.fromkeys(subset, "elastic")
        self.solves += 1
        sol = self._solve_lp(modes, TRADE_PRICE, {})
        if sol.value > FEAS_TOL:
            return False
        if self._risk_caps_hold(modes, {}):
            return True
        return self._solve_conic(modes, TRADE_PRICE, {}).value <= FEAS_TOL

    # ------------------------------------------------------------------ the LP
    def _solve_lp(self, modes, trade_price, shift) -> Solution:
        lp_modes = [modes.get(self.units[j].ci, "off") for j in self.lp_units]
        lp_shift = {
            k: shift[(self.units[j].ci, self.units[j].ti)]
            for k, j in enumerate(self.lp_units)
            if (self.units[j].ci, self.units[j].ti) in shift
        }
        status, t_lp = self.lp.solve(lp_modes, trade_price, lp_shift)
        t = np.zeros(len(self.units))
        if status == "infeasible":
            self.w = None
            return Solution(status, np.inf, t, {})
        t[self.lp_units] = t_lp
        self.w = self.lp.z[: self.data.n]
        rows = {j: self.lp.rows(k) for k, j in enumerate(self.lp_units) if lp_modes[k] == "elastic"}
        return Solution(status, float(t.sum()), t, rows)

    def _risk_caps_hold(self, modes: Mapping[int, str], shift) -> bool:
        """Does every risk cap not off hold at the last (LP) solution's weights?"""
        for u in self.units:
            if u.linear is not None or modes.get(u.ci, "off") == "off":
                continue
            _, hi_move = shift.get((u.ci, u.ti), (0.0, 0.0))
            g = np.asarray(self.cons[u.ci].values(self.data, self.w)[u.ti], dtype=float)
            if (g > u.hi + hi_move + ROW_TOL).any():
                return False
        return True

    # --------------------------------------------------------------- the cone
    def _solve_conic(self, modes, trade_price, shift) -> Solution:
        """The second-order-cone program, assembled for this question, solved by Clarabel.

        ``z = [w, buy, sell, t, f]``, ``f = B'(w - b)``; Clarabel's form
        ``A z + s = b``, ``s`` in zero x non-negative x second-order cones.
        """
        import clarabel

        data, n, k = self.data, self.data.n, len(self.units)
        risk = data.require_risk("risk caps")
        B = np.asarray(risk.exposures, dtype=float)
        Lt = np.asarray(risk.factor_cov_sqrt(), dtype=float).T
        sd = np.sqrt(np.asarray(risk.specific_var, dtype=float))
        K, bench = B.shape[1], data.benchmark
        it, iff = 3 * n, 3 * n + k
        nz = iff + K
        mode = [modes.get(u.ci, "off") for u in self.units]
        elastic = np.array([m == "elastic" for m in mode], dtype=float)

        def cols(w=None, buy=None, sell=None, t=None, f=None, rows=None) -> sp.csr_matrix:
            parts = [(w, n), (buy, n), (sell, n), (t, k), (f, K)]
            rows = rows if rows is not None else next(p.shape[0] for p, _ in parts if p is not None)
            return sp.hstack(
                [sp.csr_matrix((rows, c)) if p is None else sp.csr_matrix(p) for p, c in parts],
                format="csr",
            )

        eye = sp.identity(n, format="csr")
        fixed = np.flatnonzero(elastic == 0)
        t_fix = sp.csr_matrix(
            (np.ones(len(fixed)), (np.arange(len(fixed)), fixed)), shape=(len(fixed), k)
        )
        zero_A = [cols(w=eye, buy=-eye, sell=eye), cols(w=-B.T, f=np.eye(K)), cols(t=t_fix)]
        zero_b = [data.w0, -B.T @ bench, np.zeros(len(fixed))]
        nn_A = [-sp.identity(it + k, format="csr"), sp.csr_matrix((it + k, K))]
        nn_A = [sp.hstack(nn_A, format="csr"), cols(w=np.ones((1, n)))]
        nn_b = [np.zeros(it + k), np.ones(1)]
        socs_A, socs_b = [], []
        for j, (u, m) in enumerate(zip(self.units, mode, strict=True)):
            if m == "off":
                continue
            lo_move, hi_move = shift.get((u.ci, u.ti), (0.0, 0.0))
            hi = u.hi + hi_move
            if u.linear is not None:
                G, const = u.linear.G, u.linear.const
                sides = (
                    (u.linear.hi_rows, 1.0, hi - const),
                    (u.linear.lo_rows, -1.0, -(u.lo - lo_move - const)),
                )
                for rows, sign, lim in sides:
                    m_ = len(rows)
                    tc = sp.csr_matrix((-u.sens[rows], (np.arange(m_), np.full(m_, j))), (m_, k))
                    nn_A.append(sp.hstack([sign * G[rows], tc, sp.csr_matrix((m_, K))], "csr"))
                    nn_b.append(lim[rows])
                continue
            top = cols(t=sp.csr_matrix(([-u.sens[0]], ([0], [j])), shape=(1, k)))
            fac, spec = cols(f=-Lt), cols(w=-sp.diags(sd))
            c = self.cons[u.ci]
            if c.kind == "factor_risk_share":
                socs_A.append(sp.vstack([top, fac], format="csr"))
                socs_b.append(np.r_[hi[:1], np.zeros(K)])
            elif c.kind == "total_risk":
                socs_A.append(sp.vstack([top, fac, spec], format="csr"))
                socs_b.append(np.r_[hi[:1], Lt @ (B.T @ bench), np.zeros(n)])
            else:  # tracking error
                socs_A.append(sp.vstack([top, fac, spec], format="csr"))
                socs_b.append(np.r_[hi[:1], np.zeros(K), -sd * bench])
        A = sp.vstack(zero_A + nn_A + socs_A, format="csc")
        b = np.concatenate(zero_b + nn_b + socs_b)
        cones = [
            clarabel.ZeroConeT(sum(len(x) for x in zero_b)),
            clarabel.NonnegativeConeT(sum(len(x) for x in nn_b)),
        ] + [clarabel.SecondOrderConeT(s.shape[0]) for s in socs_A]
        q = np.r_[np.zeros(n), np.full(2 * n, trade_price), elastic, np.zeros(K)]
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.time_limit = time_limit()
        sol = clarabel.DefaultSolver(sp.csc_matrix((nz, nz)), q, A, b, cones, settings).solve()
        status = CONIC_STATUS.get(str(sol.status).split(".")[-1])
        if status is None:
            raise SolverError(f"Clarabel stopped on the elastic problem: {sol.status}")
        if status == "infeasible":
            self.w = None
            return Solution(status, np.inf, np.zeros(k), {})
        z = np.asarray(sol.x, dtype=float)
        t = np.maximum(z[it:iff], 0.0) * elastic
        self.w = z[:n]
        rows = {}
        for j in np.flatnonzero(elastic):
            u = self.units[j]
            if u.linear is not None:
                rows[j] = np.asarray(u.linear.G @ z[:it]).ravel() + u.linear.const
            else:
                rows[j] = np.asarray(self.cons[u.ci].values(self.data, self.w)[u.ti], dtype=float)
        return Solution(status, float(t.sum()), t, rows)


def linear_feasible(data, cons, ep: ElasticProblem | None = None) -> bool:
    """Whether the hard continuous constraints can all hold, by the elastic LP (risk caps
    decided conically only when the LP optimum breaks them). Integer kinds are left out
    (a relaxation: infeasible here means infeasible), soft ones are penalties. ``ep``:
    the elastic problem of these constraints when the caller keeps one (so a priority
    relaxation that follows re-solves from this LP's basis)."""
    cand = [i for i, c in enumerate(cons) if not c.integer and c.soft is None]
    if not cand:
        return True
    ep = ep if ep is not None else ElasticProblem(data, cons, cand)
    return ep.feasible(ep.constraint_ids)
