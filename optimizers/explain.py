"""Explain a solution: shadow prices in bp of alpha, and the transfer coefficient.

Shadow price convention: for a row ``g(w) <= hi`` with dual ``y >= 0`` (objective
maximised, annualised return units), relaxing the row bound by ``delta`` raises the
optimal objective by ``y * delta`` to first order. A constraint's own unit moves a
row bound by ``sens``, so relaxing the constraint by 0.01 of its own units (1
%-point for weights, turnover and TE) gains ``0.01 * sum_rows y * sens``, reported
in basis points as ``alpha_cost_bp = 100 * sum_rows y * sens``. For the folded
per-asset bounds ``lb <= w <= ub`` the net dual ``y_ub - y_lb`` of each name is
priced (to its upper-bound source when positive, lower-bound source when negative):
for a name frozen by ``lb = ub`` the two duals are not unique, only their difference.
At a name's no-trade point (a frozen or halted name) even the difference is not
unique, because the buy / sell prices open a band: Clarabel returns a point inside
it, the certified dual method (:mod:`optimizers.dual`) the one-sided value -- what
relaxing the bound would gain net of the trade's costs -- so the two can price a
halted list differently (4.0 vs 2.8 bp on the demo) at the same optimum.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
from scipy.linalg.blas import dsyrk

from optimizers.problem import BuiltProblem

__all__ = ["alpha_breadth_ratio", "binding_constraints", "transfer_coefficient"]

DUAL_TOL_BP = 1e-3


def _dual(con) -> np.ndarray | None:
    if con is None or con.dual_value is None:
        return None
    return np.abs(np.atleast_1d(np.asarray(con.dual_value, dtype=float)))


def _binding_bounds(built, constraints, data) -> dict[int, list]:
    """Binding per-asset bounds: ``{ci: [(asset labels, bp)]}`` for the bound's source ``ci``."""
    out: dict[int, list] = {}
    y_lb, y_ub = _dual(built.con_lb), _dual(built.con_ub)
    if y_lb is None or y_ub is None or built.lb_src is None:
        return out
    # a name fixed by lb = ub has non-unique bound duals; only the net one is priced
    net = y_ub - y_lb
    for y, src in ((np.maximum(net, 0.0), built.ub_src), (np.maximum(-net, 0.0), built.lb_src)):
        for ci in np.unique(src[src >= 0]):
            on = (src == ci) & (y > 0.0)
            if not on.any():
                continue
            sens = np.zeros(data.n)
            for _, rows_i, lim in constraints[ci].blocks(data):
                sens[rows_i] = np.maximum(sens[rows_i], lim.sens)
            bp = np.where(on, 100.0 * y * sens, 0.0)
            idx = np.flatnonzero(bp > DUAL_TOL_BP)
            if len(idx):
                labels = data.ids[idx].astype(str).to_numpy(dtype=object)
                out.setdefault(int(ci), []).append((labels, bp[idx]))
    return out


def _summary(c, pieces: list) -> dict:
    """Sum each label's bp over the pieces; the 10 largest rows, largest first."""
    labels = np.concatenate([lab for lab, _ in pieces])
    codes, uniques = pd.factorize(labels)
    totals = np.bincount(codes, weights=np.concatenate([bp for _, bp in pieces]))
    top = np.argsort(-totals, kind="stable")[:10]
    return {
        "name": c.label,
        "kind": c.kind,
        "alpha_cost_bp": float(totals.sum()),
        "n_binding_rows": len(uniques),
        "rows": {uniques[j]: float(totals[j]) for j in top},
    }


def binding_constraints(built: BuiltProblem, constraints, data) -> list[dict]:
    """Binding constraints with ``alpha_cost_bp`` and their binding rows (largest first).

    Vectorised over rows: each constraint's limits and labels are read once, and
    only rows whose price exceeds :data:`DUAL_TOL_BP` are labelled.
    """
    pieces: dict[int, list] = {}
    limits: dict[int, list] = {}
    labels: dict[int, list] = {}  # read only for a constraint with a binding row
    for blk in built.blocks:
        if blk.mode != "hard":
            continue
        c = constraints[blk.ci]
        if blk.ci not in limits:
            limits[blk.ci] = c.limits(data)
        lim = limits[blk.ci][blk.ti]
        for con in (blk.con_lo, blk.con_hi):
            y = _dual(con)
            if y is None:
                continue
            bp = 100.0 * y * lim.sens
            idx = np.flatnonzero(bp > DUAL_TOL_BP)
            if len(idx):
                if blk.ci not in labels:
                    labels[blk.ci] = c.row_labels(data)
                term = labels[blk.ci][blk.ti]
                rows = np.empty(len(idx), dtype=object)
                rows[:] = [term[i] for i in idx]
                pieces.setdefault(blk.ci, []).append((rows, bp[idx]))
    for ci, found in _binding_bounds(built, constraints, data).items():
        pieces.setdefault(ci, []).extend(found)
    out = [_summary(constraints[ci], p) for ci, p in sorted(pieces.items())]
    return sorted(out, key=lambda d: -d["alpha_cost_bp"])


def _sinv(alpha: np.ndarray, risk) -> np.ndarray | None:
    """``S^-1 alpha`` by Woodbury (see :func:`transfer_coefficient`); ``None`` when some
    specific variance is not positive."""
    B, F, d = risk.exposures, risk.factor_cov, risk.specific_var
    if (d <= 0).any():
        return None
    da = alpha / d
    inner = _woodbury_inner(risk)
    return da - (B @ (F @ np.linalg.solve(inner, B.T @ da))) / d


def alpha_breadth_ratio(alpha: np.ndarray, risk) -> float:
    r"""``sqrt(alpha' S^-1 alpha / alpha' D^-1 alpha)``, in ``(0, 1]``.

    ``sqrt(alpha' S^-1 alpha)`` is the best ex-ante information ratio of any active
    portfolio; the fundamental law's ``IC sqrt(N)`` is ``sqrt(alpha' D^-1 alpha)`` for
    ``alpha = IC sigma z`` with unit-variance scores, which assumes the forecasts carry no
    factor bet. This ratio is what is left of the law's breadth when they do (alpha
    correlated with exposures the risk model prices): the generalised law predicts
    ``IR = TC * IC * sqrt(N) * ratio``. NaN when some specific variance is zero or alpha
    is zero.
    """
    sinv = _sinv(alpha, risk)
    if sinv is None:
        return float("nan")
    q_s, q_d = float(alpha @ sinv), float(alpha @ (alpha / risk.specific_var))
    return float(np.sqrt(q_s / q_d)) if q_s > 0 and q_d > 0 else float("nan")


def transfer_coefficient(
    alpha: np.ndarray, active: np.ndarray, risk, active_var: float | None = None
) -> float:
    r"""``TC = corr(S^-1/2 alpha, S^1/2 a) = alpha' a / sqrt(alpha' S^-1 alpha * a' S a)``.

    The (uncentred) correlation of risk-adjusted forecasts and risk-adjusted active
    weights (Clarke, de Silva & Thorley 2002). ``S^-1 alpha`` uses the Woodbury identity
    ``S^-1 = D^-1 - D^-1 B F (I + B' D^-1 B F)^-1 B' D^-1`` (K x K algebra, no N x N);
    NaN when some specific variance is zero or either vector is zero. ``active_var``:
    ``a' S a`` when the caller has it already.
    """
    sinv_alpha = _sinv(alpha, risk)
    if sinv_alpha is None:
        return float("nan")
    q_alpha = float(alpha @ sinv_alpha)
    q_active = risk.variance(active) if active_var is None else active_var
    if q_alpha <= 0 or q_active <= 0:
        return float("nan")
    return float(alpha @ active / np.sqrt(q_alpha * q_active))


# per risk model: I + B' D^-1 B F, which re-solves on the same model share
_PARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
CHUNK = 8192  # rows of B scaled at a time for B' D^-1 B (a cache-sized block, no N x K copy)


def _woodbury_inner(risk) -> np.ndarray:
    """``I + B' D^-1 B F`` of ``risk``, kept while the model's arrays are the same objects
    (a re-solve on one model forms it once).

    ``B' D^-1 B`` is a symmetric rank-``N`` update (``dsyrk``, half a general product's
    flops) accumulated over blocks of :data:`CHUNK` rows of ``D^-1/2 B``, so no ``N x K``
    temporary is formed. The optimizer runs with one BLAS thread (a threaded product
    right after a Clarabel solve contended with its spinning workers: 60-160 ms)."""
    B, F, d = risk.exposures, risk.factor_cov, risk.specific_var
    try:
        hit = _PARTS.get(risk)
    except TypeError:  # not weak-referenceable: no memo
        hit = None
    if hit is not None and hit[0] is B and hit[1] is F and hit[2] is d:
        return hit[3]
    K = B.shape[1]
    Q = np.zeros((K, K), order="F")
    sd = np.sqrt(d)
    for s in range(0, B.shape[0] if K else 0, CHUNK):  # (no factor: nothing to add)
        Bs = np.asarray(B[s : s + CHUNK], dtype=float) / sd[s : s + CHUNK, None]
        Q = dsyrk(1.0, Bs.T, beta=1.0, c=Q, trans=0, overwrite_c=True)
    BdB = np.triu(Q) + np.triu(Q, 1).T
    inner = np.eye(K) + BdB @ F
    try:
        _PARTS[risk] = (B, F, d, inner)
    except TypeError:
        pass
    return inner
