"""The demo fund: last month's active portfolio in whole board lots, plus cash.

The fund was rebalanced at the previous month-end ``t_{M-1}``: it holds the ``n_hold``
names with the best *selection score* ``z + 0.15 [country JP] - 0.4 [country_of_risk CN]
+ 0.4 noise`` (``z`` the planted composite at ``t_{M-1}``), among names listed then. Target
weights rise with the selection rank: ``w_k = a + b u_k^p`` with ``u_k = k / n_hold``
(k = 1 for the lowest selected score), ``a = 0.45 wbar``, ``b = 1.8 wbar``, ``wbar`` the
average invested weight and ``p = b / (wbar - a) - 1``, normalised to the invested share;
with 150 names and 1.5 % cash that is about 0.3 % to 1.5 % of NAV. Shares are whole board
lots at the ``t_{M-1}`` USD prices, at least one lot, for the NAV at ``t_{M-1}`` that makes
the as-of NAV (after a month of returns) about USD 500 m. If no name halted at the as-of
date is among them, the best-scored halted one replaces the lowest pick, so the fund holds
one suspended name. Cash at the as-of date is ``cash_share`` of NAV, 60 % in USD and 40 %
in JPY.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["select_holdings", "whole_lots", "fund_cash"]

SELECT_JP = 0.15
SELECT_CN_RISK = 0.4
SELECT_NOISE = 0.4

CASH_SPLIT = {"USD": 0.6, "JPY": 0.4}
CASH_DECIMALS = {"USD": 2, "JPY": 0}


def select_holdings(
    rng: np.random.Generator,
    score: np.ndarray,
    is_jp: np.ndarray,
    is_cn_risk: np.ndarray,
    n_hold: int,
    invested: float,
    halted: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the held names and their target weights (fractions of NAV).

    Parameters
    ----------
    score : (N,) planted composite at the previous month-end, NaN for names not listed.
    is_jp, is_cn_risk : (N,) bool, listed in Japan / China country of risk.
    n_hold : number of names to hold.
    invested : share of NAV in securities (``1 - cash share``).
    halted : (N,) bool, optional; names halted at the as-of date. If none is selected, the
        eligible halted name with the best selection score replaces the lowest-ranked pick
        (the fund holds a name that has since been suspended, as real funds do).

    Returns
    -------
    (positions (n_hold,) into the inputs, weights (n_hold,) summing to ``invested``)
    """
    eligible = np.isfinite(score)
    if eligible.sum() < n_hold:
        raise ValueError(f"only {int(eligible.sum())} names eligible for {n_hold} holdings")
    sel_score = score + SELECT_JP * is_jp - SELECT_CN_RISK * is_cn_risk
    sel_score = sel_score + SELECT_NOISE * rng.standard_normal(len(score))
    sel_score = np.where(eligible, sel_score, -np.inf)
    ranked = np.argsort(-sel_score, kind="stable")
    chosen = ranked[:n_hold][::-1]  # ascending selection score
    if halted is not None and not halted[chosen].any():
        candidates = ranked[eligible[ranked] & halted[ranked]]
        if len(candidates):
            chosen = np.concatenate([candidates[:1], chosen[1:]])
    u = np.arange(1, n_hold + 1) / n_hold
    wbar = invested / n_hold
    a, b = 0.45 * wbar, 1.8 * wbar
    w = a + b * u ** (b / (wbar - a) - 1.0)
    return chosen, w * invested / w.sum()


def whole_lots(
    asset_id: np.ndarray,
    weights: np.ndarray,
    price_base: np.ndarray,
    lots: np.ndarray,
    nav_base: float,
) -> pd.DataFrame:
    """Holdings ``asset_id, shares`` (int64), sorted by ``asset_id``.

    ``shares = lot * max(1, round(w * NAV / (price_base * lot)))``: the nearest whole number
    of board lots, at least one. All inputs are aligned (n_hold,) arrays; prices in USD.
    """
    n_lots = np.maximum(1, np.round(weights * nav_base / (price_base * lots)))
    frame = pd.DataFrame(
        {
            "asset_id": pd.array(asset_id, dtype="str"),
            "shares": (n_lots * lots).astype(np.int64),
        }
    )
    return frame.sort_values("asset_id", kind="stable").reset_index(drop=True)


def fund_cash(
    equity_base: float, cash_share: float, usd_per_unit: dict[str, float]
) -> pd.DataFrame:
    """Cash rows ``currency, amount_local`` so that cash is ``cash_share`` of NAV.

    ``cash_base = equity_base * cash_share / (1 - cash_share)``, split per ``CASH_SPLIT``,
    converted at ``usd_per_unit`` and rounded to the currency's minor unit.
    """
    total = equity_base * cash_share / (1.0 - cash_share)
    cur = list(CASH_SPLIT)
    amounts = [round(total * CASH_SPLIT[c] / usd_per_unit[c], CASH_DECIMALS[c]) for c in cur]
    return pd.DataFrame(
        {"currency": pd.array(cur, dtype="str"), "amount_local": np.array(amounts, dtype=float)}
    )
