"""Re-check constraints on any numeric weights (e.g. after board-lot rounding)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from constraints.base import Constraint
from constraints.data import ProblemData

__all__ = ["check_constraints"]


def check_constraints(
    constraints: Sequence[Constraint],
    weights: pd.Series,
    data: ProblemData,
    tol: float = 1e-7,
) -> list[dict]:
    """Every breached constraint row on ``weights`` (no solve needed).

    Parameters
    ----------
    constraints : sequence of Constraint
    weights : Series
        Weights by asset_id (fractions of NAV); absent assets are 0.
    data : ProblemData
        Built with :meth:`ProblemData.from_series` from the same assets, risk,
        benchmark and start weights as the solve.
    tol : float
        Violations at or below ``tol`` (own units) are not reported.

    Returns
    -------
    list of dict
        One dict per breached constraint: ``name``, ``kind``, ``soft``,
        ``violation`` (largest, own units), ``unit`` and ``rows`` (the breached
        rows: labels -- assets or groups -- and amounts, largest first, at most 20).
    """
    data = getattr(data, "data", data)
    out = []
    for c in constraints:
        v = c.violation(weights, data)
        bad = v[v > tol].sort_values(ascending=False)
        if len(bad):
            out.append(
                {
                    "name": c.label,
                    "kind": c.kind,
                    "soft": c.soft is not None,
                    "violation": float(bad.iloc[0]),
                    "unit": c.unit,
                    "n_rows": int(len(bad)),
                    "rows": {str(k): float(x) for k, x in bad.head(20).items()},
                }
            )
    return out
