"""Re-check constraints on any numeric weights (e.g. after board-lot rounding)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from constraints.base import Constraint
from constraints.data import ProblemData, align_weights

__all__ = ["check_constraints"]

MAX_ROWS = 20


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
        rows: labels -- assets or groups -- and amounts, largest first, at most 20;
        a label breached in two terms, e.g. a liquidity trade and position limit on
        the same name, shows its larger amount).

    Notes
    -----
    The weights are aligned once; each constraint's rows are measured as arrays
    (:meth:`Constraint.row_violation`) and labels are looked up only for breached rows.
    """
    data = getattr(data, "data", data)
    w = align_weights(weights, data.ids, "weights")
    out = []
    for c in constraints:
        v, labels = _rows(c, weights, w, data)
        bad = np.flatnonzero(v > tol)
        if not len(bad):
            continue
        bad = bad[np.argsort(-v[bad], kind="stable")]
        top: dict[str, float] = {}
        for i in bad:
            if len(top) == MAX_ROWS:
                break
            top.setdefault(str(labels(i)), float(v[i]))
        out.append(
            {
                "name": c.label,
                "kind": c.kind,
                "soft": c.soft is not None,
                "violation": float(v[bad[0]]),
                "unit": c.unit,
                "n_rows": int(len(bad)),
                "rows": top,
            }
        )
    return out


def _rows(c: Constraint, weights: pd.Series, w: np.ndarray, data: ProblemData):
    """Row violations as one array and a label lookup ``i -> label``."""
    if type(c).violation is not Constraint.violation:  # a kind measuring itself its own way
        v = c.violation(weights, data)
        return v.to_numpy(dtype=float), lambda i: v.index[i]
    rows = c.row_violation(data, w)
    if not rows:
        return np.zeros(0), None
    starts = np.cumsum([0] + [len(r) for r in rows])
    blocks: list = []  # the labels, read only when a row is breached

    def label(i: int):
        if not blocks:
            blocks.extend(c.row_labels(data))
        b = int(np.searchsorted(starts, i, side="right")) - 1
        return blocks[b][i - starts[b]]

    return np.concatenate(rows), label
