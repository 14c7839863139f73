"""Heuristic for the integer kinds when no mixed-integer solver fits.

Used when no mixed-integer solver is installed (SCIP via ``pyscipopt``) or the
universe exceeds ``mi_max_assets``. Starting from the continuous solution, each
round tightens the per-asset bounds and re-solves the same parametrised problem:

* minimum trade ``m``: a trade smaller than ``m/2`` is cancelled (``w = w0``); a
  trade between ``m/2`` and ``m`` is pushed to ``m`` in its direction;
* minimum holding ``m``: a position smaller than ``m/2`` is closed (``w = 0``) unless
  a lower bound forces it; one between ``m/2`` and ``m`` is raised to ``m``;
* maximum names ``K``: names forced by a lower bound are kept, then the largest
  positions up to ``K``; **every other name** is fixed at zero (not only the held
  ones), so the re-solve cannot open a new name and ``#{w_i > 0} <= K`` holds by
  construction;
* from the first round on, a name the current solution does not hold (minimum holding,
  maximum names) or does not trade (minimum trade) is fixed there, so each round can only
  close names or cancel trades and the set of names shrinks until every rule holds.

If a round turns infeasible, its pushes are replaced by cancels / closes and it is
re-solved (least turnover first, then half the excess names); if ``max_names`` still
cannot close its excess in a block, names are closed one at a time, the smallest first,
skipping any whose close is infeasible. The loop stops after ``max_rounds`` or when
nothing is breached. Whatever is still breached is reported in
``OptimizationResult.violations`` (and the rounded portfolio is repaired and re-checked
downstream).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from constraints import HELD_TOL, Constraint, MaxNames, MinHolding, MinTrade

__all__ = ["integer_heuristic", "ForcedNames", "forced_names"]


@dataclass(frozen=True)
class ForcedNames:
    """Why ``max_names`` cannot hold: more names than ``K`` have a positive lower bound
    (a liquidity limit that stops a full sale, a hold list, a position minimum)."""

    constraint: str
    limit: int
    names: tuple[str, ...]

    @property
    def message(self) -> str:
        shown = ", ".join(self.names[:10]) + (" ..." if len(self.names) > 10 else "")
        return (
            f"{self.constraint}: {len(self.names)} names must stay held (their lower bounds, "
            f"e.g. a liquidity limit that stops a full sale or a hold list, are above zero), "
            f"more than {self.limit}: {shown}; raise max_names or relax those limits"
        )

    def to_dict(self) -> dict:
        return {"message": self.message, "constraint": self.constraint, "limit": self.limit,
                "forced_names": list(self.names)}  # fmt: skip


def forced_names(constraints, lb: np.ndarray, ids) -> ForcedNames | None:
    """The first ``max_names`` limit below the count of names forced held (``lb > 0``)."""
    forced = lb > HELD_TOL
    for c in constraints:
        if isinstance(c, MaxNames) and int(forced.sum()) > c.max:
            return ForcedNames(c.label, int(c.max), tuple(str(x) for x in ids[forced]))
    return None


def _freeze(cons, w, w0, lb, elb, eub) -> None:
    """No new names, no new trades: fix names not held at 0 and untraded names at ``w0``."""
    if any(isinstance(c, MinHolding | MaxNames) for c in cons):
        idle = (w <= HELD_TOL) & (lb <= HELD_TOL)
        eub[idle] = 0.0
    if any(isinstance(c, MinTrade) for c in cons):
        still = np.abs(w - w0) <= HELD_TOL
        elb[still] = np.maximum(elb[still], w0[still])
        eub[still] = np.minimum(eub[still], w0[still])


def _round(cons, w, w0, lb, elb, eub, push: bool, keep_held: bool = False,
           step: float = 1.0) -> bool:  # fmt: skip
    """One round of bound tightening; ``keep_held`` ranks names for ``max_names`` by
    ``min(w, w0)`` (names held now and kept by the solution first: the least turnover)
    instead of by ``w``; ``step < 1`` closes only that share of the names above ``K``
    this round (the re-solve moves their weight to the names kept, then the next round
    closes more)."""
    changed = False
    for c in cons:
        if isinstance(c, MinTrade):
            x = w - w0
            small = (np.abs(x) > HELD_TOL) & (np.abs(x) < c.min - 1e-9)
            cancel = small & ((np.abs(x) < c.min / 2) | (not push))
            elb[cancel] = np.maximum(elb[cancel], w0[cancel])
            eub[cancel] = np.minimum(eub[cancel], w0[cancel])
            up = small & ~cancel & (x > 0)
            dn = small & ~cancel & (x < 0)
            elb[up] = np.maximum(elb[up], w0[up] + c.min)
            eub[dn] = np.minimum(eub[dn], np.maximum(w0[dn] - c.min, 0.0))
            changed |= bool(small.any())
        elif isinstance(c, MinHolding):
            small = (w > HELD_TOL) & (w < c.min - 1e-9)
            close = small & (lb <= HELD_TOL) & ((w < c.min / 2) | (not push))
            eub[close] = 0.0
            raise_ = small & ~close
            elb[raise_] = np.maximum(elb[raise_], c.min)
            changed |= bool(small.any())
        elif isinstance(c, MaxNames):
            held = w > HELD_TOL
            if held.sum() > c.max:
                forced = lb > HELD_TOL
                excess = int(held.sum()) - int(c.max)
                k = int(held.sum()) - max(int(np.ceil(excess * step)), 1)
                room = max(k - int(forced.sum()), 0)
                rank = np.minimum(w, w0) + 1e-3 * w if keep_held else w
                order = np.argsort(-np.where(held & ~forced, rank, -np.inf), kind="stable")
                keep = forced.copy()
                keep[order[:room]] = True
                eub[~keep] = 0.0
                changed = True
    return changed


def integer_heuristic(
    solve: Callable[[np.ndarray, np.ndarray], np.ndarray | None],
    constraints: Sequence[Constraint],
    w: np.ndarray,
    w0: np.ndarray,
    lb: np.ndarray,
    max_rounds: int = 20,
    max_tries: int = 3,
) -> tuple[np.ndarray, int]:
    """Enforce the integer kinds by bound tightening; returns ``(weights, rounds)``.

    ``solve(extra_lb, extra_ub)`` re-solves with extra per-asset bounds and returns the
    weights, or ``None`` when infeasible. ``max_tries`` bounds the single-name closes tried
    per round once block closes fail (:func:`_close_one`).
    """
    cons = [c for c in constraints if c.integer]
    n = len(w)
    elb, eub = np.full(n, -np.inf), np.full(n, np.inf)
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        trial_lb, trial_ub = elb.copy(), eub.copy()
        if not _round(cons, w, w0, lb, trial_lb, trial_ub, push=True):
            return w, rounds - 1
        _freeze(cons, w, w0, lb, trial_lb, trial_ub)
        new = solve(trial_lb, trial_ub)
        # closes instead of pushes; then least turnover; then half the names above K
        for keep_held, step in ((False, 1.0), (True, 1.0), (False, 0.5), (True, 0.5)):
            if new is not None:
                break
            trial_lb, trial_ub = elb.copy(), eub.copy()
            _round(cons, w, w0, lb, trial_lb, trial_ub, push=False, keep_held=keep_held,
                   step=step)  # fmt: skip
            _freeze(cons, w, w0, lb, trial_lb, trial_ub)
            new = solve(trial_lb, trial_ub)
        if new is None:
            new, trial_lb, trial_ub = _close_one(solve, cons, w, w0, lb, elb, eub, max_tries)
        if new is None:
            return w, rounds
        elb, eub, w = trial_lb, trial_ub, new
    return w, rounds


def _close_one(solve, cons, w, w0, lb, elb, eub, max_tries: int):
    """``max_names`` still breached and every block close infeasible: close one name at a
    time, the smallest first, keeping the first close whose re-solve is feasible.

    Closing the ``K`` largest names together can fail where closing a few small ones does
    not (the last name in a country with a floor, a buy capped by its ADV). Returns
    ``(weights, lb, ub)``, or ``(None, elb, eub)`` after ``max_tries`` infeasible closes.
    """
    cap = [c for c in cons if isinstance(c, MaxNames)]
    held = w > HELD_TOL
    if not cap or held.sum() <= min(c.max for c in cap):
        return None, elb, eub
    candidates = np.flatnonzero(held & (lb <= HELD_TOL))
    for i in candidates[np.argsort(w[candidates], kind="stable")][:max_tries]:
        trial_lb, trial_ub = elb.copy(), eub.copy()
        trial_ub[i] = 0.0
        _freeze(cons, w, w0, lb, trial_lb, trial_ub)
        new = solve(trial_lb, trial_ub)
        if new is not None:
            return new, trial_lb, trial_ub
    return None, elb, eub
