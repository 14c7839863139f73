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
"""

from __future__ import annotations

import numpy as np

from optimizers.problem import BuiltProblem

__all__ = ["binding_constraints", "transfer_coefficient"]

DUAL_TOL_BP = 1e-3


def _dual(con) -> np.ndarray | None:
    if con is None or con.dual_value is None:
        return None
    return np.abs(np.atleast_1d(np.asarray(con.dual_value, dtype=float)))


def binding_constraints(built: BuiltProblem, constraints, data) -> list[dict]:
    """Binding constraints with ``alpha_cost_bp`` and their binding rows (largest first)."""
    per: dict[int, dict[str, float]] = {}
    for blk in built.blocks:
        if blk.mode != "hard":
            continue
        lim = constraints[blk.ci].limits(data)[blk.ti]
        labels = constraints[blk.ci].row_labels(data)[blk.ti]
        for con in (blk.con_lo, blk.con_hi):
            y = _dual(con)
            if y is None:
                continue
            bp = 100.0 * y * lim.sens
            rows = per.setdefault(blk.ci, {})
            for i in np.flatnonzero(bp > DUAL_TOL_BP):
                rows[labels[i]] = rows.get(labels[i], 0.0) + float(bp[i])
    y_lb, y_ub = _dual(built.con_lb), _dual(built.con_ub)
    if y_lb is not None and y_ub is not None and built.lb_src is not None:
        # a name fixed by lb = ub has non-unique bound duals; only the net one is priced
        net = y_ub - y_lb
        for y, src in ((np.maximum(net, 0.0), built.ub_src), (np.maximum(-net, 0.0), built.lb_src)):
            for ci in np.unique(src[src >= 0]):
                c = constraints[ci]
                sens = np.zeros(data.n)
                for _, rows_i, lim in c.blocks(data):
                    sens[rows_i] = np.maximum(sens[rows_i], lim.sens)
                bp = 100.0 * y * sens * (src == ci)
                rows = per.setdefault(int(ci), {})
                for i in np.flatnonzero(bp > DUAL_TOL_BP):
                    key = str(data.ids[i])
                    rows[key] = rows.get(key, 0.0) + float(bp[i])
    out = []
    for ci, rows in sorted(per.items()):
        if not rows:
            continue
        c = constraints[ci]
        top = dict(sorted(rows.items(), key=lambda kv: -kv[1])[:10])
        out.append(
            {
                "name": c.label,
                "kind": c.kind,
                "alpha_cost_bp": float(sum(rows.values())),
                "n_binding_rows": len(rows),
                "rows": top,
            }
        )
    return sorted(out, key=lambda d: -d["alpha_cost_bp"])


def transfer_coefficient(alpha: np.ndarray, active: np.ndarray, risk) -> float:
    r"""``TC = corr(S^-1/2 alpha, S^1/2 a) = alpha' a / sqrt(alpha' S^-1 alpha * a' S a)``.

    The (uncentred) correlation of risk-adjusted forecasts and risk-adjusted active
    weights (Clarke, de Silva & Thorley 2002). ``S^-1 alpha`` uses the Woodbury identity
    ``S^-1 = D^-1 - D^-1 B F (I + B' D^-1 B F)^-1 B' D^-1`` (K x K algebra, no N x N);
    NaN when some specific variance is zero or either vector is zero.
    """
    B, F, d = risk.exposures, risk.factor_cov, risk.specific_var
    if (d <= 0).any():
        return float("nan")
    da = alpha / d
    k = B.shape[1]
    inner = np.eye(k) + (B.T @ (B / d[:, None])) @ F
    sinv_alpha = da - (B / d[:, None]) @ (F @ np.linalg.solve(inner, B.T @ da))
    q_alpha = float(alpha @ sinv_alpha)
    q_active = risk.variance(active)
    if q_alpha <= 0 or q_active <= 0:
        return float("nan")
    return float(alpha @ active / np.sqrt(q_alpha * q_active))
