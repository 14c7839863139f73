"""Certify an answer against the constraints as configured, not the solver's rewritten rows.

The direct problem rewrites constraints before a solver sees them: per-asset limits fold
into one bound pair, a group or attribute row whose column equals a factor's exposures
is placed on that factor, a singular factor covariance moves null-space parts onto the
weights. Each rewrite is exact in exact arithmetic, but a certificate is a promise about
the user's problem, so before one is attached every configured constraint is measured on
the returned weights with its own :meth:`~constraints.Constraint.values` and
:meth:`~constraints.Constraint.limits` (the same arithmetic as its ``violation``), and
the weights against the folded per-asset bounds.

A row holds when its excess, in the constraint's own units, is at most
``tol * max(1, |limit|)`` (the dual method's :data:`~optimizers.dual.FEAS_TOL`,
relative to the limit as for its own rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from constraints import Constraint, ProblemData

__all__ = ["original_violation"]


def original_violation(
    cons: Sequence[Constraint],
    data: ProblemData,
    w: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    relax: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[float, str | None]:
    """Largest relative excess of any configured row or per-asset bound on ``w``.

    Parameters
    ----------
    cons : sequence of Constraint
        The configured constraints of this solve (integer and soft kinds are skipped:
        the continuous problem does not enforce them).
    data : ProblemData
    w : ndarray
        Weights (fractions of NAV) in ``data``'s asset order.
    lb, ub : ndarray
        The folded per-asset bounds of this solve (integer-heuristic bounds included).
    relax : mapping, optional
        ``{(constraint index, term index): (lo_relax, hi_relax)}`` granted by priority
        relaxation; the certified problem is the relaxed one.

    Returns
    -------
    (float, str or None)
        The largest ``excess / max(1, |limit|)`` (0 when everything holds exactly) and
        the label of the constraint where it occurs (``"per-asset bounds"`` for the
        folded bounds, ``None`` when nothing is exceeded).
    """
    relax = relax or {}
    worst, where = 0.0, None
    below = np.maximum(lb - w, 0.0) / np.maximum(1.0, np.abs(lb))
    above = np.maximum(w - ub, 0.0) / np.maximum(1.0, np.abs(ub))
    bound = float(max(below.max(initial=0.0), above.max(initial=0.0)))
    if bound > worst:
        worst, where = bound, "per-asset bounds"
    for ci, c in enumerate(cons):
        if c.integer or c.soft is not None:
            continue
        for ti, (lim, val) in enumerate(zip(c.limits(data), c.values(data, w), strict=True)):
            lo_r, hi_r = relax.get((ci, ti), (0.0, 0.0))
            lo, hi = lim.lo - lo_r, lim.hi + hi_r
            excess = np.maximum(np.maximum(val - hi, lo - val), 0.0) / lim.sens
            scale = np.maximum(1.0, np.where(val > hi, np.abs(hi), np.abs(lo)))
            rel = float((excess / scale).max(initial=0.0))
            if rel > worst:
                worst, where = rel, c.label
    return worst, where
