"""A set of names that can meet ``max_names``, found by a small mixed-integer LP (HiGHS).

The integer heuristic (:mod:`optimizers.integer`) closes names by size and keeps the
largest ``K``. That can fail where the limits need particular names: the only names in a
country with a floor, buys capped by their ADV, a turnover budget that a swap would
exceed. Closing one name at a time then stalls above ``K``.

This module answers the combinatorial part exactly for the linear limits: binary
``y_i`` ("name i may be held") with

* ``w_i <= ub_i y_i`` and, with ``min_holding`` ``m``, ``w_i >= m y_i``;
* ``sum(y) <= K`` for each ``max_names``; names forced held (``lb_i > 0``) have ``y_i = 1``;
* every hard, continuous, linear constraint's rows over ``[w, buy, sell]``, the balance
  ``w - buy + sell = w0`` and ``sum(w) <= 1``;

and the objective ``min sum |w_i - w_ref_i|``: the feasible portfolio with at most ``K``
names nearest (in L1) to the continuous optimum ``w_ref``, a proxy for the least utility
lost. The optimizer then re-solves its quadratic problem on that support, so the answer
is feasible by construction for every linear limit (risk caps are checked by that
re-solve, which may still find them infeasible).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from constraints import HELD_TOL, MaxNames, MinHolding
from optimizers.elastic_lp import _quiet, linear_units

__all__ = ["cardinality_support", "TooFewNames"]

MIP_REL_GAP = 1e-3  # the L1 distance is a proxy: a near-optimal support is enough


def _linear_rows(data, cons):
    """Rows ``lo <= G [w; buy; sell] <= hi`` of the hard, continuous, linear constraints
    (:func:`~optimizers.elastic_lp.linear_units`, as the elastic LP takes them)."""
    mats, lo, hi = [], [], []
    for c in cons:
        if c.integer or c.soft is not None:
            continue
        for _, _, u in linear_units(data, c):
            if u is None:  # a risk cap: checked by the quadratic re-solve
                continue
            keep = np.flatnonzero(np.isfinite(u.lo) | np.isfinite(u.hi))
            mats.append(u.G[keep])
            lo.append((np.asarray(u.lo, float) - u.const)[keep])
            hi.append((np.asarray(u.hi, float) - u.const)[keep])
    return mats, lo, hi


@dataclass(frozen=True)
class TooFewNames:
    """Why ``max_names`` cannot hold: no portfolio with at most ``limit`` names meets the
    linear limits (HiGHS proved the mixed-integer problem infeasible); ``fewest`` is the
    smallest number of names that can (``None`` if not found within the time limit)."""

    constraint: str
    limit: int
    fewest: int | None

    @property
    def message(self) -> str:
        least = (
            f"; the fewest names that meet them is {self.fewest}: raise max_names to at "
            f"least {self.fewest} or relax those limits"
            if self.fewest is not None
            else "; raise max_names or relax those limits"
        )
        return (
            f"{self.constraint}: no portfolio of at most {self.limit} names meets the other "
            f"limits (country and sector bounds, liquidity, turnover, minimum holding; "
            f"proved by a mixed-integer LP){least}"
        )

    def to_dict(self) -> dict:
        return {"message": self.message, "constraint": self.constraint, "limit": self.limit,
                "fewest_names": self.fewest}  # fmt: skip


@dataclass
class _Model:
    """The mixed-integer LP of the module docstring, passed to HiGHS once."""

    h: object
    n: int
    cap_row: int

    def run(self, cost: np.ndarray, cap: float, time_limit: float):
        """Solve with ``cost`` and ``sum(y) <= cap``; ``(status, z)``: ``"optimal"``
        (an incumbent, maybe not proved optimal), ``"infeasible"`` (proved) or
        ``"unknown"`` (no incumbent within the time limit)."""
        import highspy

        h = self.h
        h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
        h.changeRowBounds(self.cap_row, -np.inf, float(cap))
        h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            return "infeasible", None
        if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
            return "unknown", None
        return "optimal", np.asarray(h.getSolution().col_value, dtype=float)


def _model(highspy, data, cons, w_ref, lb, ub, m_hold) -> _Model:
    n = data.n
    w0 = np.asarray(data.w0, dtype=float)
    forced = lb > HELD_TOL
    eye, zero = sp.identity(n, format="csr"), sp.csr_matrix((n, n))
    # columns z = [w, buy, sell, y, d]
    mats, lo, hi = _linear_rows(data, cons)
    rows = [sp.hstack([m, sp.csr_matrix((m.shape[0], 2 * n))]) for m in mats]
    rows += [
        sp.hstack([eye, -eye, eye, zero, zero]),  # w - buy + sell = w0
        sp.hstack([sp.csr_matrix(np.ones((1, n))), sp.csr_matrix((1, 4 * n))]),  # sum w <= 1
        sp.hstack([eye, zero, zero, -sp.diags(ub), zero]),  # w <= ub y
        sp.hstack([eye, zero, zero, -m_hold * eye, zero]),  # w >= m y
        sp.hstack([eye, zero, zero, zero, -eye]),  # w - d <= w_ref
        sp.hstack([eye, zero, zero, zero, eye]),  # w + d >= w_ref
        sp.csr_matrix((np.ones(n), (np.zeros(n), np.arange(3 * n, 4 * n))), shape=(1, 5 * n)),
    ]
    lo += [w0, [-np.inf], np.full(n, -np.inf), np.zeros(n), np.full(n, -np.inf), w_ref, [-np.inf]]
    hi += [w0, [1.0], np.zeros(n), np.full(n, np.inf), w_ref, np.full(n, np.inf), [n]]
    A = sp.vstack(rows, format="csc")
    h = _quiet(highspy.Highs)
    for key, value in (
        ("output_flag", False),
        ("mip_rel_gap", MIP_REL_GAP),
        ("primal_feasibility_tolerance", 1e-9),
        ("mip_feasibility_tolerance", 1e-9),
    ):
        h.setOptionValue(key, value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = np.zeros(A.shape[1])
    lp.col_lower_ = np.r_[lb, np.zeros(3 * n), forced.astype(float), np.zeros(n)]
    lp.col_upper_ = np.r_[
        np.maximum(ub, lb), np.full(2 * n, np.inf), np.ones(n), np.full(n, np.inf)
    ]
    lp.row_lower_, lp.row_upper_ = np.concatenate(lo), np.concatenate(hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = A.shape[1], A.shape[0]
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    kind = highspy.HighsVarType
    lp.integrality_ = [kind.kContinuous] * (3 * n) + [kind.kInteger] * n + [kind.kContinuous] * n
    h.passModel(lp)
    return _Model(h, n, A.shape[0] - 1)


def cardinality_support(data, cons, w_ref, lb, ub, time_limit: float):
    """Boolean mask of the names allowed to be held; ``None`` when HiGHS finds no
    support within ``time_limit`` seconds (or is not installed); a :class:`TooFewNames`
    when it proves that no support of at most ``K`` names exists.

    ``lb``, ``ub``: the per-name weight bounds of the continuous problem.
    """
    caps = [c for c in cons if isinstance(c, MaxNames)]
    if not caps:
        return None
    try:
        import highspy
    except ImportError:
        return None
    import time

    start = time.perf_counter()
    cap = min(caps, key=lambda c: c.max)
    n = data.n
    lb, ub = np.maximum(np.asarray(lb, float), 0.0), np.asarray(ub, float)
    ub = np.where(np.isfinite(ub), np.minimum(ub, 1.0), 1.0)
    m_hold = max((float(c.min) for c in cons if isinstance(c, MinHolding)), default=0.0)
    model = _model(highspy, data, cons, np.asarray(w_ref, float), lb, ub, m_hold)
    status, z = model.run(np.r_[np.zeros(4 * n), np.ones(n)], cap.max, time_limit)
    if status == "optimal":
        return (z[3 * n : 4 * n] > 0.5) | (lb > HELD_TOL)
    if status == "unknown":
        return None
    # proved infeasible: the fewest names that can hold, within what time is left
    left = time_limit - (time.perf_counter() - start)
    status, z = model.run(np.r_[np.zeros(3 * n), np.ones(n), np.zeros(n)], n, left)
    fewest = None
    if status == "optimal":  # a count: proved when the dual bound rounds up to it
        count = int(round(z[3 * n : 4 * n].sum()))
        if np.ceil(model.h.getInfo().mip_dual_bound - 1e-6) >= count:
            fewest = count
    return TooFewNames(cap.label, int(cap.max), fewest)
