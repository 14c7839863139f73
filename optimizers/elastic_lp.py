"""The elastic LP: the linear constraints with one slack each, as sparse matrices for HiGHS.

Variables ``z = [w, buy, sell, t]`` (``t``: one slack per linear unit, own units).
Rows (``g = G [w; buy; sell] + const`` a unit's rows, ``sens`` its own-unit scale):

* ``w - buy + sell = w0`` and ``sum(w) <= 1``; ``w, buy, sell >= 0``;
* a unit's rows with a finite upper limit: ``G z - sens t_j <= hi - const``;
* a unit's rows with a finite lower limit: ``G z + sens t_j >= lo - const``.

A question sets, per unit, *hard* (``t_j`` fixed at 0), *elastic* (``t_j >= 0`` priced
1 per own unit) or *off* (the unit's rows get infinite bounds), plus a price on trading
(``buy + sell``). Only bounds and costs change between questions, so HiGHS re-solves
from the previous basis (dual simplex warm start). HiGHS is called through ``highspy``; if it is
missing, :func:`scipy.optimize.linprog` solves each question cold.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizers.errors import SolverError

__all__ = ["ElasticLP", "LinearUnit", "linear_units", "stack_w_buy_sell"]

PRIMAL_TOL = 1e-9  # HiGHS primal feasibility tolerance (its default is 1e-7)
TIME_LIMIT = 60.0  # seconds per elastic solve (a stop is a SolverError)


DUAL, PRIMAL = 1, 4  # HiGHS simplex_strategy values


def time_limit() -> float:
    """Seconds the next elastic solve may take: :data:`TIME_LIMIT`, or less when the run's
    time budget (:func:`optimizers.solvers.time_budget`) has less left; a spent budget is a
    :class:`SolverError` (exit code 4) before the solve starts."""
    from optimizers.solvers import remaining_time

    left = min(TIME_LIMIT, remaining_time())
    if left <= 0:
        raise SolverError(
            "time limit: the solves of this run used up their time budget (solver.time_limit_s) "
            "during the infeasibility diagnosis; raise it or simplify the problem"
        )
    return left


def stack_w_buy_sell(lin, n: int) -> sp.csr_matrix:
    """A term's ``[W, U, V]`` (rows x 3N), zero blocks for ``None``."""
    rows = len(lin.const)
    mats = [
        sp.csr_matrix((rows, n)) if m is None else sp.csr_matrix(m)
        for m in (lin.w, lin.buy, lin.sell)
    ]
    return sp.hstack(mats, format="csr")


def linear_units(data, c):
    """``(ti, limits, LinearUnit or None)`` for each term of constraint ``c`` with a finite
    limit; ``None`` where the term is not linear in ``(w, buy, sell)`` (a risk cap)."""
    lin = c.linear(data)
    for ti, lim in enumerate(c.limits(data)):
        if not (np.isfinite(lim.lo).any() or np.isfinite(lim.hi).any()):
            continue
        lu = None
        if lin is not None:
            G = stack_w_buy_sell(lin[ti], data.n)
            lu = LinearUnit(G, np.asarray(lin[ti].const, float), lim.lo, lim.hi, lim.sens)
        yield ti, lim, lu


@dataclass
class LinearUnit:
    """One linear term's rows: ``G [w; buy; sell] + const`` with limits ``lo``, ``hi``.

    ``lo_rows`` and ``hi_rows`` are the rows that can bind: a finite limit, and not a
    lower limit that every ``z >= 0`` meets (no negative coefficient and ``const >= lo``,
    e.g. ``w_i >= b_i - 2 %`` for a small benchmark weight); a relaxation only widens a
    limit, so such a row stays slack in every question.
    """

    G: sp.csr_matrix
    const: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    sens: np.ndarray

    def __post_init__(self) -> None:
        G = sp.csr_matrix(self.G)
        has_neg = np.asarray((G < 0).sum(axis=1)).ravel() > 0
        met = ~has_neg & (self.const >= self.lo)
        self.hi_rows = np.flatnonzero(np.isfinite(self.hi))
        self.lo_rows = np.flatnonzero(np.isfinite(self.lo) & ~met)


class ElasticLP:
    """The elastic LP over ``units``, assembled once and re-solved per question.

    Parameters
    ----------
    n : int
        Number of assets.
    w0 : ndarray
        Start weights (fractions of NAV).
    units : sequence of LinearUnit
    warm : ``"primal"`` or ``"dual"``
        The simplex for the warm re-solves (:class:`_Highs`): primal for a diagnosis,
        whose questions mostly loosen the last one; dual for priority relaxation, whose
        questions harden each level at its minimum.
    """

    def __init__(self, n: int, w0: np.ndarray, units: Sequence[LinearUnit], warm="primal"):
        self.n, self.units = n, list(units)
        self.w0 = np.asarray(w0, dtype=float)
        k = len(self.units)
        self.ncol = 3 * n + k
        eye = sp.identity(n, format="csr")
        blocks = [
            sp.hstack([eye, -eye, eye, sp.csr_matrix((n, k))]),
            sp.csr_matrix(np.r_[np.ones(n), np.zeros(2 * n + k)][None, :]),
        ]
        lo, hi = [np.asarray(w0, dtype=float), [-np.inf]], [np.asarray(w0, dtype=float), [1.0]]
        self.hi_slice, self.lo_slice = [], []
        start = n + 1
        for j, u in enumerate(self.units):
            sides = ((u.hi_rows, -1.0, self.hi_slice), (u.lo_rows, 1.0, self.lo_slice))
            for rows, sign, sl in sides:
                m = len(rows)
                t_col = sp.csr_matrix(
                    (sign * u.sens[rows], (np.arange(m), np.full(m, j))), shape=(m, k)
                )
                blocks.append(sp.hstack([u.G[rows], t_col]))
                sl.append(slice(start, start + m))
                start += m
                lo.append(np.full(m, -np.inf))
                hi.append(np.full(m, np.inf))
        self.A = sp.vstack(blocks, format="csc")
        self.row_lo, self.row_hi = np.concatenate(lo), np.concatenate(hi)
        self._highs = _Highs.create(self.A, n, warm)
        self.z: np.ndarray | None = None

    def solve(
        self,
        modes: Sequence[str],
        trade_price: float,
        shift: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> tuple[str, np.ndarray]:
        """Solve with ``modes[j]`` in ``{"hard", "elastic", "off"}`` per unit.

        ``shift[j] = (lo_move, hi_move)`` (row units, >= 0) widens unit ``j``'s limits
        to ``lo - lo_move <= g <= hi + hi_move``. Returns the status (``"optimal"`` or
        ``"infeasible"``) and the slacks ``t`` (zeros when infeasible); the solution
        ``z`` is kept in :attr:`z`.
        """
        n, shift = self.n, shift or {}
        row_lo, row_hi = self.row_lo.copy(), self.row_hi.copy()
        elastic = np.array([m == "elastic" for m in modes], dtype=bool)
        for j, (u, mode) in enumerate(zip(self.units, modes, strict=True)):
            if mode == "off":
                continue
            lo_move, hi_move = shift.get(j, (0.0, 0.0))
            hr, lr = u.hi_rows, u.lo_rows
            row_hi[self.hi_slice[j]] = (u.hi + hi_move - u.const)[hr]
            row_lo[self.lo_slice[j]] = (u.lo - lo_move - u.const)[lr]
        cost = np.r_[np.zeros(n), np.full(2 * n, trade_price), elastic.astype(float)]
        col_lo = np.zeros(self.ncol)
        col_hi = np.r_[np.full(3 * n, np.inf), np.where(elastic, np.inf, 0.0)]
        z0 = np.r_[self.w0, np.zeros(self.ncol - n)]  # no trade, no relaxation
        if self._holds(z0, row_lo, row_hi):  # optimal: every cost is >= 0 and it costs 0
            status, z = "optimal", z0
        else:
            status, z = self._highs.solve(cost, col_lo, col_hi, row_lo, row_hi)
        if status == "infeasible":
            self.z = None
            return status, np.zeros(len(self.units))
        self.z = z
        return status, np.maximum(z[3 * n :], 0.0) * elastic

    def _holds(self, z: np.ndarray, row_lo: np.ndarray, row_hi: np.ndarray) -> bool:
        """Does ``z`` meet every row (within the solver's feasibility tolerance)?"""
        Az = self.A @ z
        return bool(((Az >= row_lo - PRIMAL_TOL) & (Az <= row_hi + PRIMAL_TOL)).all())

    def rows(self, j: int) -> np.ndarray:
        """Unit ``j``'s row values ``g`` at the last solution."""
        u = self.units[j]
        return np.asarray(u.G @ self.z[: 3 * self.n], dtype=float).ravel() + u.const


class _Highs:
    """HiGHS (``highspy``): the model passed once, then only costs and bounds change, so
    each run starts from the previous basis."""

    def __init__(self, A: sp.csc_matrix, n: int, warm: str = "primal"):
        import highspy

        self.hs, self.A, self.n, self.warm = highspy, A, n, warm
        self.h = _quiet(highspy.Highs)
        for key, value in (
            ("output_flag", False),
            ("primal_feasibility_tolerance", PRIMAL_TOL),
            # primal simplex for the warm re-solves: measured ~1.7x fewer seconds than dual
            # over a diagnosis at N = 5,000 (many questions loosen the last one, whose
            # basis stays feasible); the first, cold solve is dual (see :meth:`solve`)
            ("simplex_strategy", PRIMAL),
            ("time_limit", TIME_LIMIT),
        ):
            self.h.setOptionValue(key, value)
        self.passed = False

    @classmethod
    def create(cls, A: sp.csc_matrix, n: int, warm: str = "primal"):
        try:
            return cls(A, n, warm)
        except ImportError:  # highspy missing: scipy's HiGHS, cold solves
            return _Linprog(A)

    def _dual_start(self, tight: int) -> None:
        """The dual simplex from the last basis, or from the start basis (dual feasible:
        the costs are non-negative) when more than 2 % of the rows (at least 50) have a
        tightened bound (``tight``): a whole unit hardened at its relaxed level. On a
        relaxed what-if scenario at N = 2,000 the primal simplex from the last basis took
        3,131 and 2,805 pivots (0.46 s) for the two re-solves, this 9 and 542 (0.07 s)."""
        self.h.setOptionValue("simplex_strategy", DUAL)
        if tight > max(50, 0.02 * self.A.shape[0]):
            self.h.setBasis(self._start_basis())

    def _known(self):
        m = self.hs.HighsModelStatus
        return (m.kOptimal, m.kInfeasible, m.kUnboundedOrInfeasible)

    def _pass(self, cost, col_lo, col_hi, row_lo, row_hi) -> None:
        hs, A = self.hs, self.A
        lp = hs.HighsLp()
        lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, col_lo, col_hi
        lp.row_lower_, lp.row_upper_ = row_lo, row_hi
        mat = lp.a_matrix_
        mat.format_ = hs.MatrixFormat.kColwise
        mat.num_col_, mat.num_row_ = A.shape[1], A.shape[0]
        mat.start_, mat.index_, mat.value_ = A.indptr, A.indices, A.data
        self.h.passModel(lp)
        self.passed = True
        self.h.setBasis(self._start_basis())
        self.last = (cost, col_lo, col_hi, row_lo, row_hi)

    def _start_basis(self):
        """The start portfolio as a basis: ``w`` basic (``w = w0``), trades and slacks at
        zero, the balance rows ``w - buy + sell = w0`` nonbasic, every other row basic.

        Its reduced costs are the (non-negative) costs, so the dual simplex starts dual
        feasible and needs about as many pivots as there are trades and relaxations,
        instead of one per held name from the all-slack basis.
        """
        hs, n = self.hs, self.n
        ncol, nrow = self.A.shape[1], self.A.shape[0]
        basis = hs.HighsBasis()
        basic, lower = hs.HighsBasisStatus.kBasic, hs.HighsBasisStatus.kLower
        basis.col_status = [basic] * n + [lower] * (ncol - n)
        basis.row_status = [lower] * n + [basic] * (nrow - n)
        basis.valid = True
        return basis

    def solve(self, cost, col_lo, col_hi, row_lo, row_hi) -> tuple[str, np.ndarray]:
        h, hs = self.h, self.hs
        cold = not self.passed
        if cold:
            # the start basis is dual feasible, not primal feasible: the dual simplex
            # takes the cold solve (all limits elastic at N = 5,000: 0.06 s, 2.7 s primal)
            self._pass(cost, col_lo, col_hi, row_lo, row_hi)
            h.setOptionValue("simplex_strategy", DUAL)
        else:  # changed bounds and costs only: HiGHS keeps its basis (warm start)
            old_cost, old_clo, old_chi, old_rlo, old_rhi = self.last
            ch = np.flatnonzero(cost != old_cost).astype(np.int32)
            if len(ch):
                h.changeColsCost(len(ch), ch, cost[ch])
            ch = np.flatnonzero((col_lo != old_clo) | (col_hi != old_chi)).astype(np.int32)
            if len(ch):
                h.changeColsBounds(len(ch), ch, col_lo[ch], col_hi[ch])
            ch = np.flatnonzero((row_lo != old_rlo) | (row_hi != old_rhi)).astype(np.int32)
            if len(ch):
                h.changeRowsBounds(len(ch), ch, row_lo[ch], row_hi[ch])
            self.last = (cost, col_lo, col_hi, row_lo, row_hi)
            if self.warm == "dual":
                tight = int(((col_lo > old_clo) | (col_hi < old_chi)).sum())
                self._dual_start(tight + int(((row_lo > old_rlo) | (row_hi < old_rhi)).sum()))
        h.setOptionValue("time_limit", time_limit())
        h.run()
        if cold or self.warm == "dual":
            h.setOptionValue("simplex_strategy", PRIMAL)
        status = h.getModelStatus()
        if status not in self._known():  # rare: retry once from scratch, no warm start
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status == hs.HighsModelStatus.kOptimal:
            return "optimal", np.asarray(h.getSolution().col_value, dtype=float)
        if status in (hs.HighsModelStatus.kInfeasible, hs.HighsModelStatus.kUnboundedOrInfeasible):
            return "infeasible", np.zeros(len(cost))
        raise SolverError(f"HiGHS stopped on the elastic LP: {h.modelStatusToString(status)}")


def _quiet(make):
    """``make()`` with the process's standard output closed: HiGHS prints a banner from C++
    when its first instance is created, which would corrupt a caller's stdout."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return make()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class _Linprog:
    """The same LP through :func:`scipy.optimize.linprog` (HiGHS, no warm start)."""

    def __init__(self, A: sp.csc_matrix):
        self.A = A.tocsr()

    def solve(self, cost, col_lo, col_hi, row_lo, row_hi) -> tuple[str, np.ndarray]:
        from scipy.optimize import linprog

        eq = row_lo == row_hi
        up, dn = ~eq & np.isfinite(row_hi), ~eq & np.isfinite(row_lo)
        res = linprog(
            cost,
            A_ub=sp.vstack([self.A[up], -self.A[dn]]),
            b_ub=np.r_[row_hi[up], -row_lo[dn]],
            A_eq=self.A[eq],
            b_eq=row_lo[eq],
            bounds=np.c_[col_lo, col_hi],
            method="highs",
            options={"primal_feasibility_tolerance": PRIMAL_TOL},
        )
        if res.status == 0:
            return "optimal", res.x
        if res.status == 2:
            return "infeasible", np.zeros(len(cost))
        raise SolverError(f"HiGHS stopped on the elastic LP: {res.message}")
