"""Lot-rounding repair: single-lot moves that restore every hard limit on the rounded portfolio.

Rounding to board lots can break a limit the optimizer met (a China cap over by one lot,
turnover a little high, cash below its floor once costs are paid, a name count, a
position below its minimum). The repair starts from the rounded trade ``t`` (shares,
index order) and, while any hard limit is breached, applies the single move with the
best ratio

``score = breach reduction / utility loss``

over every asset ``i`` and four moves: buy one more lot (``t_i + lot_i``), sell one more
lot (``t_i - lot_i``), cancel the trade (``t_i = 0``) and sell the whole position
(``t_i = -shares_before_i``). A move is allowed only if it keeps the trade inside its
per-asset limits ``lo_i <= t_i <= hi_i`` (position, liquidity and list bounds, in
shares), never shorts, is not below the minimum trade value, the name is not frozen,
and **no limit's breach increases** (limits that hold keep holding).

Limits repaired, each row in its own units (violation ``max(g - hi, lo - g, 0) / sens``):

* every hard constraint with linear rows ``g = W w + U buy + V sell + const``
  (group and attribute bounds, China caps, turnover total / by side / by group);
* the cash band on cash **after trading costs and FX costs** (:mod:`portfolio.cash`);
* tracking-error caps ``sqrt(a' S a) <= max`` (exact update in factor form);
* ``max_names`` (``#{shares_i > 0} <= K``), ``min_holding`` (on names with a share) and
  ``min_trade``;
* the per-asset trade bounds themselves (weight outside ``[lo_i, hi_i]``): rounding keeps
  inside them, but the minimum-trade filter can cancel a sale a position cap needs, and a
  cash cut can shrink a buy a minimum needs.

Breach reduction is the sum over breached rows of the reduction divided by the row's
breach when the repair started (so fixing any one row completely counts 1). Utility is
the optimizer's objective ``U = alpha' w - lambda a' S a - costs / NAV`` (costs and FX
spread in base currency), and a move's utility change is exact: ``dU = alpha_i dw -
lambda (2 (S a)_i dw + S_ii dw^2) - d cost / NAV``. A move that gains utility has the
highest score. The loop stops when nothing is breached or no allowed move reduces a
breach; whatever is still breached is reported (the caller exits with code 5).

Each step evaluates all ``4 N`` moves as arrays (no Python loop over assets); its cost is
``O(R N)`` for ``R`` limit rows, plus ``O(N K)`` to update ``S a`` after a move.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from constraints import (
    HELD_TOL,
    CashBand,
    Constraint,
    MaxNames,
    MinHolding,
    MinTrade,
    ProblemData,
    TrackingError,
)
from portfolio.cash import CashModel
from portfolio.repair_moves import MOVES, best_step

__all__ = ["RepairProblem", "repair_lots", "MOVES"]


def _dense(m, n: int, rows: int) -> np.ndarray:
    return np.zeros((rows, n)) if m is None else np.asarray(m.toarray(), dtype=float)


BOUNDS = "per-asset bounds (position, liquidity, lists)"  # the trade bounds' breach name
MAX_DENSE = 8  # dense row sets kept in a repair cache (one per distinct limit structure)
MAX_ROWS = 64  # limit sets kept in a repair cache (one per distinct set of constraints)


def _stacked(terms: list, n: int, cache: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The dense ``W, U, V`` of the linear terms ``[(term, rows)]``, stacked; reused from
    ``cache`` while every term holds the very same matrices (constraints memoise their
    row structure, so equal limits on the same universe give the same matrix objects)."""
    key = ("dense", n, tuple((id(t.w), id(t.buy), id(t.sell), r) for t, r in terms))
    hit = cache.get(key)
    if hit is not None and all(
        a.w is b.w and a.buy is b.buy and a.sell is b.sell
        for (a, _), (b, _) in zip(hit[0], terms, strict=True)
    ):
        return hit[1]
    if not terms:
        mats = (np.zeros((0, n)), np.zeros((0, n)), np.zeros((0, n)))
    else:
        mats = tuple(
            np.vstack([_dense(getattr(t, part), n, r) for t, r in terms])
            for part in ("w", "buy", "sell")
        )
    for m in mats:
        m.flags.writeable = False
    dense = [k for k in cache if isinstance(k, tuple) and k[0] == "dense"]
    for k in dense[: max(len(dense) - MAX_DENSE + 1, 0)]:  # oldest first: memory stays bounded
        del cache[k]
    cache[key] = (list(terms), mats)
    return mats


@dataclass(eq=False)
class RepairProblem:
    """What the repair needs, in index order of ``data.assets``.

    Attributes
    ----------
    data : ProblemData, the check data (assets, risk, benchmark, start weights, NAV).
    constraints : the configured constraints (soft and per-asset kinds are skipped:
        per-asset limits arrive as the trade bounds ``lo, hi``).
    price_base, lot, shares_before : ndarray per asset (base currency, shares, shares).
    alpha : ndarray, expected active return (annualised).
    risk_aversion : float, ``lambda`` per unit of annualised active variance.
    cash : CashModel, cash after trades, costs and FX for any trade.
    min_trade_base : float, smallest order (base currency).
    frozen : ndarray of bool, names that never trade.
    max_steps : the repair stops after that many moves (what is still breached is
        reported, ``stopped`` says why): a move budget, not a clock, so the same inputs
        give the same trades on any machine.
    time_limit_s : a safety net only (default 600 s): when it is hit the answer depends on
        the machine's speed, and ``stopped`` says so.
    cache : dict, optional; what does not change between repairs on the same data
        (``S_ii``, the dense limit rows), kept by the caller across scenarios
        (:class:`portfolio.rounding.RoundingContext`).
    """

    data: ProblemData
    constraints: Sequence[Constraint]
    price_base: np.ndarray
    lot: np.ndarray
    shares_before: np.ndarray
    alpha: np.ndarray
    risk_aversion: float
    cash: CashModel
    min_trade_base: float = 0.0
    frozen: np.ndarray | None = None
    max_steps: int = 1_000
    tol: float = 1e-9
    time_limit_s: float = 600.0
    cache: dict | None = None
    trade_bounds: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        d = self.data
        n = d.n
        self.nav = float(d.nav_base)
        cache = self.cache if self.cache is not None else {}
        risk = d.risk
        if not risk.asset_ids.equals(d.ids):
            risk = risk.subset(d.ids)
        self.B, self.F, self.d = risk.exposures, risk.factor_cov, risk.specific_var
        hit = cache.get("S_ii")
        if hit is None or hit[0] is not risk:
            s_ii = ((self.B @ self.F) * self.B).sum(axis=1) + self.d  # BLAS, not O(N K^2) einsum
            hit = cache["S_ii"] = (risk, s_ii)
        self.S_ii = hit[1]
        key = ("rows", id(d), tuple(id(c) for c in self.constraints))
        hit = cache.get(key)  # the same constraint objects on the same data: the same rows
        if (
            hit is not None
            and hit[0] is d
            and all(a is b for a, b in zip(hit[1], self.constraints, strict=True))
        ):
            self.__dict__.update(hit[2])
            return
        self._rows_of(d, n, cache)
        rows = [k for k in cache if isinstance(k, tuple) and k[0] == "rows"]
        for k in rows[: max(len(rows) - MAX_ROWS + 1, 0)]:
            del cache[k]
        names = ("te_caps", "not_repaired", "W", "U", "V", "const", "lo", "hi", "sens",
                 "labels", "cash_rows", "max_names", "min_holding", "min_trade")  # fmt: skip
        for k in ("const", "lo", "hi", "sens", "cash_rows"):
            getattr(self, k).flags.writeable = False  # shared by later repairs: never written
        cache[key] = (d, list(self.constraints), {k: getattr(self, k) for k in names})

    def _rows_of(self, d: ProblemData, n: int, cache: dict) -> None:
        """The repaired limits' rows, TE caps and integer limits of ``constraints``."""
        hard = [c for c in self.constraints if c.soft is None]
        terms, const, lo, hi, sens, labels, cash_rows = [], [], [], [], [], [], []
        self.te_caps: list[tuple[str, float]] = []
        self.not_repaired: list[str] = []
        for c in hard:
            if c.per_asset or c.integer:
                continue
            if isinstance(c, TrackingError):
                self.te_caps.append((c.label, float(c.max)))
                continue
            lin = c.linear(d)
            if lin is None:
                self.not_repaired.append(c.label)
                continue
            for term, lim, lab in zip(lin, c.limits(d), c.row_labels(d), strict=True):
                r = len(lim.lo)
                terms.append((term, r))
                const.append(np.asarray(term.const, dtype=float))
                lo.append(lim.lo), hi.append(lim.hi), sens.append(lim.sens)
                labels += [f"{c.label}: {x}" if str(x) != c.label else c.label for x in lab]
                cash_rows += [isinstance(c, CashBand)] * r
        self.W, self.U, self.V = _stacked(terms, n, cache)
        cat = (lambda xs: np.concatenate(xs)) if terms else (lambda xs: np.zeros(0))
        self.const, self.lo, self.hi, self.sens = cat(const), cat(lo), cat(hi), cat(sens)
        self.labels = labels
        self.cash_rows = np.asarray(cash_rows, dtype=bool)
        self.max_names = [c for c in hard if isinstance(c, MaxNames)]
        self.min_holding = [c for c in hard if isinstance(c, MinHolding)]
        self.min_trade = [c for c in hard if isinstance(c, MinTrade)]

    # ------------------------------------------------------------- measures
    def weights(self, trade: np.ndarray) -> np.ndarray:
        return (self.shares_before + trade) * self.price_base / self.nav

    def held(self, trade: np.ndarray) -> np.ndarray:
        """Names held after ``trade``: at least one share (exact on whole shares, where a
        weight threshold would let a one-lot stub of a cheap name pass as not held)."""
        return (self.shares_before + trade) > 0

    def utility(self, trade: np.ndarray) -> float:
        """``alpha' w - lambda a' S a - (trading + FX costs) / NAV``."""
        w = self.weights(trade)
        a = w - self.data.benchmark
        f = self.B.T @ a
        var = float(f @ self.F @ f + np.sum(self.d * a * a))
        s = self.cash.state(trade)
        cost = s["trade_cost"] + s["fx_cost"]
        return float(self.alpha @ w - self.risk_aversion * var - cost / self.nav)

    def outside(self, trade: np.ndarray) -> np.ndarray:
        """How far each trade lies outside its per-asset bounds ``[lo, hi]`` (weight; 0 for
        frozen names, which never trade). Rounding keeps inside them, but a trade cut to 0
        as below the minimum trade value, or a buy cut for cash, may leave a position past
        its cap or a sale short of what a limit needs."""
        if self.trade_bounds is None:
            return np.zeros_like(np.asarray(trade, dtype=float))
        lo, hi = self.trade_bounds
        ex = np.maximum(np.maximum(lo - trade, trade - hi), 0.0) * self.price_base / self.nav
        return ex if self.frozen is None else np.where(self.frozen, 0.0, ex)

    def _rows(self, g: np.ndarray) -> np.ndarray:
        lo = self.lo.reshape(-1, *([1] * (g.ndim - 1)))
        hi = self.hi.reshape(lo.shape)
        sens = self.sens.reshape(lo.shape)
        return np.maximum(np.maximum(g - hi, lo - g), 0.0) / sens

    def violations(self, trade: np.ndarray) -> dict[str, np.ndarray]:
        """Every repaired limit's violation rows on ``trade`` (own units)."""
        w = self.weights(trade)
        held = self.held(trade)
        x = w - self.data.w0
        g = self.W @ w + self.U @ np.maximum(x, 0) + self.V @ np.maximum(-x, 0) + self.const
        g[self.cash_rows] = self.cash.state(trade)["cash_after_costs"] / self.nav
        a = w - self.data.benchmark
        f = self.B.T @ a
        te = np.sqrt(max(float(f @ self.F @ f + np.sum(self.d * a * a)), 0.0))
        return {
            "linear": self._rows(g),
            "te": np.array([max(te - cap, 0.0) for _, cap in self.te_caps]),
            "names": np.array([max(float(held.sum()) - c.max, 0.0) for c in self.max_names]),
            "holding": _small(w, [c.min for c in self.min_holding], held),
            "trade": _small(np.abs(x), [c.min for c in self.min_trade], np.abs(x) > HELD_TOL),
            "bounds": self.outside(trade)[None, :],
        }  # fmt: skip

    def breaches(self, trade: np.ndarray) -> list[dict]:
        """Breached limits on ``trade``: name and largest violation (own units)."""
        v = self.violations(trade)
        out = [
            {"name": self.labels[r], "violation": float(v["linear"][r])}
            for r in np.flatnonzero(v["linear"] > self.tol)
        ]
        out += [
            {"name": lab, "violation": float(x)}
            for (lab, _), x in zip(self.te_caps, v["te"], strict=True)
            if x > self.tol
        ]
        bounds = v["bounds"][0]
        if (bounds > self.tol).any():
            out.append({"name": BOUNDS, "violation": float(bounds.max()),
                        "rows": int((bounds > self.tol).sum())})  # fmt: skip
        for key, cons in (
            ("names", self.max_names),
            ("holding", self.min_holding),
            ("trade", self.min_trade),
        ):
            rows = np.asarray(v[key]).reshape(len(cons), -1) if cons else []
            for c, row in zip(cons, rows, strict=True):
                if (row > self.tol).any():
                    out.append({"name": c.label, "violation": float(row.max()),
                                "rows": int((row > self.tol).sum())})  # fmt: skip
        return out


def _small(values: np.ndarray, mins: list[float], on: np.ndarray) -> np.ndarray:
    """Per-asset shortfall below each minimum for the names ``on`` (k x n)."""
    if not mins:
        return np.zeros((0, on.size))
    m = np.asarray(mins, dtype=float)[:, None]
    return np.where(on, np.maximum(m - values, 0.0), 0.0)


def repair_lots(
    p: RepairProblem, trade: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, dict]:
    """Repair ``trade`` (shares, index order) within the trade bounds ``[lo, hi]`` (shares).

    When no single move is allowed, pairs are tried: one of the best-scoring moves that
    would increase some breach, followed by the best move that brings every breach back
    to at most where it was (e.g. a buy that lifts a position to its minimum holding
    paid for by a one-lot cut elsewhere when turnover binds). The second move is sized
    for the row the first pushed out: for the cash floor, a sale whose proceeds after
    its cost fund the first move's buy. Pairs are also tried when the best single move
    is too small to clear what is breached within the moves left (one-share lots of a
    cheap name), and taken when they reduce the breach by more.

    Returns the repaired trade and a report: ``status`` (``"ok"`` or ``"breached"``),
    ``stopped`` (why the loop ended), ``moves`` (asset, from and to shares, move),
    ``utility_before`` / ``utility_after`` / ``utility_lost`` (annualised return units, the
    objective's), ``breaches_before`` and ``breaches_after``, and ``not_repaired`` (hard
    limits that are only re-checked).
    """
    t = np.asarray(trade, dtype=float).copy()
    lo = np.where(np.isfinite(lo), lo, -np.inf)
    hi = np.where(np.isfinite(hi), hi, np.inf)
    p.trade_bounds = (lo, hi)
    u0 = p.utility(t)
    start = p.breaches(t)
    v = p.violations(t)
    scale = {k: np.where(x > p.tol, x, 1.0) for k, x in v.items()}
    moves: list[dict] = []
    ids = p.data.ids
    t_end = time.perf_counter() + p.time_limit_s
    stopped = f"move budget ({p.max_steps} moves)"
    for step in range(p.max_steps):
        if not any((x > p.tol).any() for x in v.values()):
            stopped = "every limit holds"
            break
        if time.perf_counter() > t_end:
            stopped = f"time limit ({p.time_limit_s:g} s; the answer depends on the machine)"
            break
        # Past half the budget, efficiency gives way to progress: the largest reduction
        # wins (many tiny efficient moves must not exhaust the budget before a breach clears).
        steps = best_step(
            p, t, lo, hi, v, scale, hurry=step >= p.max_steps // 2, steps_left=p.max_steps - step
        )
        if not steps:
            stopped = "no allowed move reduces a breach"
            break
        for m, i, new in steps:
            moves.append({"asset_id": str(ids[i]), "from_shares": int(t[i]),
                          "to_shares": int(new), "move": MOVES[m]})  # fmt: skip
            t[i] = new
        v = p.violations(t)
    u1 = p.utility(t)
    after = p.breaches(t)
    return t.astype(np.int64), {
        "status": "breached" if after else "ok",
        "stopped": stopped,
        "moves": moves,
        "utility_before": u0,
        "utility_after": u1,
        "utility_lost": u0 - u1,
        "breaches_before": start,
        "breaches_after": after,
        "not_repaired": list(p.not_repaired),
    }


def lot_repair(inp, data: ProblemData, constraints, alpha, risk_aversion: float, fx_rules,
               min_trade_base: float = 0.0, max_moves: int = 1_000,
               time_limit_s: float = 600.0, cache: dict | None = None, cash=None):  # fmt: skip
    """The ``repair`` callable :func:`portfolio.trades.build_trades` takes, for these inputs.

    ``inp`` is the :class:`~portfolio.trades.TradeInputs`; ``alpha`` a Series by asset.
    ``cache`` (a dict the caller keeps) reuses the arrays of ``inp`` and ``alpha``, ``S_ii``
    and the dense limit rows between repairs on the same inputs; ``cash`` is the
    :class:`~portfolio.cash.CashModel` of ``inp`` under ``fx_rules`` when already built.
    """
    cache = {} if cache is None else cache
    ids = data.ids
    hit = cache.get("inputs")
    if hit is None or hit[0] is not inp or hit[1] is not ids:
        hit = cache["inputs"] = (inp, ids, {
            "price_base": inp.price_base.reindex(ids).to_numpy(dtype=float),
            "lot": inp.lot_size.reindex(ids).to_numpy(dtype=float),
            "shares_before": inp.shares_before.reindex(ids).fillna(0).to_numpy(dtype=float),
            "frozen": inp.frozen.reindex(ids).fillna(False).to_numpy(dtype=bool),
        })  # fmt: skip
    a = cache.get("alpha")
    if a is None or a[0] is not alpha or a[1] is not ids:
        a = cache["alpha"] = (alpha, ids, alpha.reindex(ids).fillna(0.0).to_numpy(dtype=float))
    problem = RepairProblem(
        data=data,
        constraints=constraints,
        **hit[2],
        alpha=a[2],
        risk_aversion=float(risk_aversion),
        cash=inp.cash_model(fx_rules) if cash is None else cash,
        min_trade_base=min_trade_base,
        max_steps=max_moves,
        time_limit_s=time_limit_s,
        cache=cache,
    )
    return lambda trade, lo, hi: repair_lots(problem, trade, lo, hi)
