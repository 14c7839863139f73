"""The repair's moves: candidate trades per asset and their score (breach removed per
utility lost), used one step at a time by :func:`portfolio.repair.repair_lots`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from constraints import HELD_TOL

if TYPE_CHECKING:
    from portfolio.repair import RepairProblem

__all__ = ["MOVES", "NEAR_BEST", "best_step"]

MOVES = (
    "buy one lot", "sell one lot", "cancel trade", "sell position",
    "buy lots", "sell lots", "buy lots (risk)", "sell lots (risk)", "buy 10 lots",
    "sell 10 lots",
)  # fmt: skip


NEAR_BEST = 0.05  # moves within 5 % of the best ratio count as equally efficient


def _lots_needed(
    p: RepairProblem, w: np.ndarray, v: dict, ref: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lots per asset that would clear, by that asset alone, (a) the worst breached linear
    row or its own minimum-holding shortfall and (b) the tracking-error excess (first
    order, ``dTE = (S a)_i dw / TE``); at least 1 each.

    With ``ref`` (the violations before the first move of a pair), (a) sizes the second
    move to bring back the row the first move pushed furthest past ``ref``. A cash row
    is sized by the cash one lot sold brings in after its cost (``CashModel.costs``): a
    sale that funds the first move's buy.
    """
    lot_w = p.lot * p.price_base / p.nav
    k = np.ones_like(w)
    lin = v["linear"]
    over = lin - ref["linear"] if ref is not None else lin
    if len(p.lo) and (over > p.tol).any():
        r = int(np.argmax(over * p.sens))
        excess = over[r] * p.sens[r]
        if p.cash_rows[r]:  # one lot sold brings in its value less its cost (cash model)
            per_lot = np.maximum(p.lot * p.price_base - p.cash.costs(-p.lot), 0.0) / p.nav
            k = np.where(per_lot > 0, np.ceil(excess / np.maximum(per_lot, 1e-300)), 1.0)
        else:
            coef = np.abs(p.W[r]) + np.maximum(np.abs(p.U[r]), np.abs(p.V[r]))
            k = np.where(coef > 0, np.ceil(excess / np.maximum(coef * lot_w, 1e-300)), 1.0)
    for short in (*np.atleast_2d(v["holding"]), *np.atleast_2d(v["bounds"])):
        k = np.maximum(k, np.ceil(short / lot_w))
    k_te = np.ones_like(w)
    if len(v["te"]) and (v["te"] > p.tol).any():
        a = w - p.data.benchmark
        Sa = p.B @ (p.F @ (p.B.T @ a)) + p.d * a
        te = float(np.sqrt(max(a @ Sa, 1e-300)))
        slope = np.abs(Sa) / te * lot_w
        k_te = np.where(slope > 0, np.ceil(v["te"].max() / np.maximum(slope, 1e-300)), 1.0)
    return np.clip(k, 1.0, 1e6), np.clip(k_te, 1.0, 1e6)


def _candidates(p: RepairProblem, t, lo, hi, w, v, ref=None) -> tuple[np.ndarray, np.ndarray]:
    """The candidate trades per asset (``len(MOVES)`` x N) and whether each is allowed
    (``ref``: as :func:`_lots_needed`). A sized move whose trade would be worth less than
    the minimum trade is made the smallest whole-lot trade that is not, in its direction
    (a shortfall of 215 one-share lots under a USD 5,000 minimum is sold as 481)."""
    before = p.shares_before
    k, k_te = (x * p.lot for x in _lots_needed(p, w, v, ref))
    ten = 10 * p.lot
    cand = np.vstack([
        t + p.lot, t - p.lot, np.zeros_like(t), -before, t + k, t - k, t + k_te, t - k_te,
        t + ten, t - ten,
    ])  # fmt: skip
    if p.min_trade_base > 0:  # a sized move short of the minimum trade grows to it
        least = np.ceil(p.min_trade_base / np.maximum(p.lot * p.price_base, 1e-300)) * p.lot
        sized = cand[4:8]
        cand[4:8] = np.where(np.abs(sized) < least, np.sign(sized) * least, sized)
    ok = (cand >= lo - 1e-9) & (cand <= hi + 1e-9) & (before + cand >= 0) & (cand != t)
    value = np.abs(cand * p.price_base)
    ok &= (cand == 0) | (value >= p.min_trade_base)
    if p.frozen is not None:
        ok &= ~p.frozen
    return cand, ok


def best_step(
    p: RepairProblem, t, lo, hi, v, scale, pairs: int = 12, hurry=False, steps_left=None
) -> list:
    """One allowed move, or a pair of moves, with the best breach reduction per utility lost
    (``hurry``: the largest breach reduction).

    Pairs are tried when no single move is allowed, and also when the best single move
    is too small to clear what is breached within ``steps_left`` moves at its rate (a
    breach that only one-share lots of a cheap name can reduce one at a time, while a
    sized buy funded by a sale clears it at once); the pair is then taken if it reduces
    the breach by more than that single move.
    """
    cand, valid, ok, red, gain = _score(p, t, lo, hi, v, scale, cols=_relevant(p, t, v))
    good = ok & (red > 1e-12)
    if good.any():
        pick = good
        if not hurry:
            ratio = _ratio(red, gain, good)
            top = ratio.max()
            pick = good & (ratio >= top - NEAR_BEST * abs(top))  # as efficient: most progress
        m, i = np.unravel_index(int(np.argmax(np.where(pick, red, -np.inf))), red.shape)
        single = [(int(m), int(i), float(cand[m, i]))]
        left = sum(float((v[k] / scale[k]).sum()) for k in v)
        if steps_left is None or left <= red[m, i] * steps_left:
            return single
        first = valid & ~ok & (red > red[m, i])
        pair, _, pair_red = _best_pair(p, t, lo, hi, v, scale, cand, red, gain, first, pairs)
        return pair if pair and pair_red > red[m, i] else single
    first = valid & ~ok & (red > 1e-12)
    return _best_pair(p, t, lo, hi, v, scale, cand, red, gain, first, pairs)[0]


def _best_pair(p: RepairProblem, t, lo, hi, v, scale, cand, red, gain, first, pairs: int):
    """The best pair: one of the ``pairs`` best-scoring moves in ``first`` (moves that
    would increase some breach), then the move that brings every breach back to at most
    ``v`` with the best ratio, its size chosen for the row the first move pushed out.
    Returns ``(moves, ratio, breach reduction)``."""
    order = np.argsort(-_ratio(red, gain, first), axis=None, kind="stable")[:pairs]
    best, best_ratio, best_red = [], -np.inf, 0.0
    for flat in order:
        m, i = np.unravel_index(int(flat), red.shape)
        if not first[m, i]:
            break
        t1 = t.copy()
        t1[i] = cand[m, i]
        v1 = p.violations(t1)  # per-asset rows of ``i`` are not seen by moves on others
        # a second move must touch every row the first pushed past its tolerance: a move
        # on an asset with no coefficient in one leaves it there (not allowed)
        pushed = v1["linear"] > v["linear"] + p.tol
        cols = _pattern_rows(p)[pushed].all(axis=0) if pushed.any() else None
        c2, _, ok2, red2, gain2 = _score(p, t1, lo, hi, v, scale, size=v1, cols=cols)
        red2 = red2 + sum(
            float(((v[k][:, i] - v1[k][:, i]) / scale[k][:, i]).sum())
            for k in ("holding", "trade", "bounds")
        )
        good2 = ok2 & (red2 > 1e-12)
        good2[:, i] = False
        if not good2.any():
            continue
        total_gain = gain2 + gain[m, i]
        ratio = _ratio(red2, total_gain, good2)
        m2, j = np.unravel_index(int(np.argmax(ratio)), red2.shape)
        if ratio[m2, j] > best_ratio:
            best_ratio, best_red = ratio[m2, j], float(red2[m2, j])
            best = [(int(m), int(i), float(cand[m, i])), (int(m2), int(j), float(c2[m2, j]))]
    return best, best_ratio, best_red


def _ratio(red: np.ndarray, gain: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``red / loss`` (a gain scores above any loss), ``-inf`` outside ``mask``."""
    loss = -gain
    score = np.where(loss > 1e-15, red / np.maximum(loss, 1e-15), 1e15 * red + gain)
    return np.where(mask, score, -np.inf)


def _relevant(p: RepairProblem, t, v) -> np.ndarray | None:
    """Assets a single move on which can reduce a violation in ``v`` (``None``: every
    asset; a violation below the tolerance counts, as its reduction does): those with a
    coefficient in a violated linear row, those breaching a per-asset limit,
    and, when ``max_names`` is breached, the names held. A breached cash row or
    tracking-error cap involves every asset. Any other asset's move reduces nothing (its
    reduction is 0 on the rows it has no coefficient in, and at most 0 elsewhere), so
    scoring only these gives the same best move."""
    breached = v["linear"] > 0  # reductions count below the tolerance too
    if (breached & p.cash_rows).any() or (v["te"] > 0).any():
        return None
    cols = _pattern_rows(p)[breached].any(axis=0)
    for key in ("holding", "trade", "bounds"):
        cols |= (np.atleast_2d(v[key]) > 0).any(axis=0)
    if (v["names"] > 0).any():
        cols |= p.held(t)
    return cols


def _score(p: RepairProblem, t, lo, hi, v, scale, size=None, cols=None):
    """Every candidate move from ``t``: allowed by the bounds (``valid``), breaching
    nothing more than ``v`` (``ok``), breach reduction vs ``v`` and utility gain.
    ``size``: the violations at ``t`` when they are not ``v`` (the second move of a pair),
    so the sized moves restore what the first move pushed out. ``cols``: only those
    assets' moves are scored, the others are not allowed."""
    w = p.weights(t)
    a = w - p.data.benchmark
    Sa = p.B @ (p.F @ (p.B.T @ a)) + p.d * a
    if size is None:
        cand, valid = _candidates(p, t, lo, hi, w, v)
    else:
        cand, valid = _candidates(p, t, lo, hi, w, size, ref=v)
    if cols is not None:
        valid &= cols
    ok = valid.copy()
    dw = (cand - t) * p.price_base / p.nav  # moves x N
    x_old = w - p.data.w0
    x_new = x_old + dw
    d_buy = np.maximum(x_new, 0) - np.maximum(x_old, 0)
    d_sell = np.maximum(-x_new, 0) - np.maximum(-x_old, 0)
    idx = np.arange(len(t)) if cols is None else np.flatnonzero(cols)
    cash_old = p.cash.state(t)["cash_after_costs"]
    # every candidate in one vectorised call (one cash state, not one per move kind)
    cash_new = np.full(cand.shape, cash_old)
    cash_new[:, idx] = p.cash.after_costs_if(
        t, np.tile(idx, len(cand)), cand[:, idx].ravel()
    ).reshape(len(cand), len(idx))
    d_cost = (cash_old - cash_new) - (cand - t) * p.price_base
    red = np.zeros_like(dw)
    tol = p.tol
    if len(p.lo):
        g = p.W @ w + p.U @ np.maximum(x_old, 0) + p.V @ np.maximum(-x_old, 0) + p.const
        bad, lin = _linear_sparse(p, g, dw, d_buy, d_sell, cash_new, v, scale, cols)
        ok &= ~bad
        red += lin
    if p.te_caps:
        f = p.B.T @ a
        var = float(f @ p.F @ f + np.sum(p.d * a * a))
        te_new = np.sqrt(np.maximum(var + 2 * Sa * dw + p.S_ii * dw**2, 0.0))
        for k, (_, cap) in enumerate(p.te_caps):
            vt = np.maximum(te_new - cap, 0.0)
            ok &= vt <= v["te"][k] + tol
            red += (v["te"][k] - vt) / scale["te"][k]
    w_new = w + dw
    held_old, held_new = p.held(t), p.held(cand)
    count = float(held_old.sum())
    for k, c in enumerate(p.max_names):
        vn = np.maximum(count - held_old + held_new - c.max, 0.0)
        ok &= vn <= v["names"][k] + tol
        red += (v["names"][k] - vn) / scale["names"][k]
    for key, cons, val, on in (
        ("holding", p.min_holding, w_new, held_new),
        ("trade", p.min_trade, np.abs(x_new), np.abs(x_new) > HELD_TOL),
    ):
        for k, c in enumerate(cons):
            vn = np.where(on, np.maximum(c.min - val, 0.0), 0.0)
            ok &= vn <= v[key][k] + tol
            red += (v[key][k] - vn) / scale[key][k]
    vb = p.outside(cand)  # each candidate moves its own asset only
    ok &= vb <= v["bounds"] + tol
    red += (v["bounds"] - vb) / scale["bounds"]
    gain = p.alpha * dw - p.risk_aversion * (2 * Sa * dw + p.S_ii * dw**2) - d_cost / p.nav
    return cand, valid, ok, red, gain


def _pattern_rows(p: RepairProblem) -> np.ndarray:
    """The rows x assets nonzero mask of the limit rows (cash rows: every asset)."""
    return _pattern_hit(p)[5]


def _pattern(p: RepairProblem, moved: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """The limit rows' nonzero coefficients in row-major order (cash rows, and the rows
    ``moved``: every asset): rows, assets and ``W, U, V`` there. The pattern without
    ``moved`` is kept in the repair cache while the rows are the same arrays."""
    hit = _pattern_hit(p)
    if moved is None or not moved.any():
        return hit[4]
    nz = hit[5].copy()
    nz[moved] = True
    r, c = np.nonzero(nz)
    return r, c, p.W[r, c], p.U[r, c], p.V[r, c], p.cash_rows[r]


def _pattern_hit(p: RepairProblem) -> tuple:
    """``(W, U, V, cash_rows, pattern, nonzero mask)``, from the repair cache while the
    rows are the same arrays (a problem without a cache computes them each time)."""
    cache = p.cache if p.cache is not None else {}
    hit = cache.get("pattern")
    if not (
        hit is not None
        and hit[0] is p.W
        and hit[1] is p.U
        and hit[2] is p.V
        and np.array_equal(hit[3], p.cash_rows)
    ):
        nz = (p.W != 0) | (p.U != 0) | (p.V != 0)
        nz[p.cash_rows] = True
        r, c = np.nonzero(nz)
        pat = (r, c, p.W[r, c], p.U[r, c], p.V[r, c], p.cash_rows[r])
        hit = cache["pattern"] = (p.W, p.U, p.V, p.cash_rows.copy(), pat, nz)
    return hit


def _linear_sparse(p: RepairProblem, g, dw, d_buy, d_sell, cash_new, v, scale, cols=None):
    """The linear rows' ``(breach increased, breach reduction)`` per candidate (moves x N)
    from the rows' nonzero coefficients: a move on asset ``i`` leaves every row without a
    coefficient on ``i`` at ``g``. Rows whose violation at ``g`` is not the reference
    ``v`` (the second move of a pair is scored against the first position) are taken
    whole. The same numbers as the dense evaluation of every row for every candidate:
    the entries are visited row by row, so each candidate's reduction adds the same
    terms in the same order, and the rows left out add exactly 0. ``cols``: only those
    assets' entries (the others' values are left at 0 and are not allowed moves).
    """
    old = v["linear"]
    moved = ~(p._rows(g) == old) & ~p.cash_rows
    r, c, wk, uk, vk, cash = _pattern(p, moved)
    if cols is not None:
        keep = cols[c]
        r, c, wk, uk, vk, cash = r[keep], c[keep], wk[keep], uk[keep], vk[keep], cash[keep]
    n_moves, n = dw.shape
    # g + w dw + u d_buy + v d_sell (entries x moves), in that order; a zero coefficient's
    # term (0 * finite, a signed zero) and the cash rows (replaced below) are skipped
    gk = np.empty((len(r), n_moves))
    gk[:] = g[r][:, None]
    for coef, d in ((wk, dw), (uk, d_buy), (vk, d_sell)):
        on = np.flatnonzero((coef != 0) & ~cash)
        if len(on):
            gk[on] += coef[on][:, None] * d[:, c[on]].T
    if cash.any():
        gk[cash] = (cash_new[:, c[cash]] / p.nav).T
    lo, hi, sens = p.lo[r][:, None], p.hi[r][:, None], p.sens[r][:, None]
    vl = np.maximum(np.maximum(gk - hi, lo - gk), 0.0) / sens
    ok_k = old[r][:, None]
    at = (np.arange(n_moves) * n)[None, :] + c[:, None]  # flat (move, asset) of each value
    bad = np.bincount(at.ravel(), weights=~(vl <= ok_k + p.tol).ravel(), minlength=n_moves * n)
    term = (ok_k - vl) / scale["linear"][r][:, None]
    red = np.bincount(at.ravel(), weights=term.ravel(), minlength=n_moves * n)
    return bad.reshape(n_moves, n) > 0, red.reshape(n_moves, n)
