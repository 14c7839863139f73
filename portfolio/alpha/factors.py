"""The factor library: raw factor values from point-in-time fundamentals.

Each builtin factor is a vectorised function of a fundamentals frame (one row per
(date, asset) or per asset) returning one float per row. ``NaN`` means "not
defined for this row" (missing input or a bad denominator); the missing-data policy
of the factor's config decides what happens next, and every such value is counted.

Direction: ``+1`` means a higher raw value is expected to earn a higher return; the
cleaning pipeline multiplies by the direction before z-scoring.

Momentum needs the daily returns history and lives in :mod:`portfolio.alpha.momentum`.

=====================  =======================================================  =====
factor                 formula (per row)                                        dir.
=====================  =======================================================  =====
earnings_yield_fwd     ``eps_fwd / price_local``                                +1
book_to_price          ``book_value_ps / price_local``                          +1
rorc                   ``ebit / net_operating_capital``                         +1
roe                    ``net_income / (book_value_ps * shares_out)``            +1
dividend_yield         ``dps / price_local``                                    +1
interest_cover         ``log1p(max(clip(ebit / interest_expense, -10, 100), -0.99))``  +1
fcf_yield              ``free_cash_flow / (price_local * shares_out)``          +1
accruals               ``(net_income - free_cash_flow) / revenue``              -1
under_coverage         ``-log1p(analyst_count)``                                +1
esg                    ``esg_score``                                            +1
momentum_12_1          compounded return from 12 to 1 month before the date     +1
=====================  =======================================================  =====
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FactorDefinition", "BUILTIN_FACTORS", "compute_raw_factor"]

INTEREST_COVER_CAP = 100.0
INTEREST_COVER_FLOOR = -10.0
LOG1P_FLOOR = -0.99


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=float, na_value=np.nan)


def _ratio(num: np.ndarray, den: np.ndarray, positive_den: bool = True) -> np.ndarray:
    """``num / den``; NaN where either is missing or (if ``positive_den``) ``den <= 0``."""
    out = np.full(num.shape, np.nan)
    ok = np.isfinite(num) & np.isfinite(den) & ((den > 0) if positive_den else (den != 0))
    np.divide(num, den, out=out, where=ok)
    return out


def earnings_yield_fwd(f: pd.DataFrame) -> np.ndarray:
    """Forward earnings yield ``eps_fwd / price_local`` (1 / forward P/E), local currency.

    Negative forward EPS gives a negative yield and is kept (loss-makers rank lowest);
    missing ``eps_fwd`` (typically no analyst estimate) or ``price_local <= 0`` -> NaN.
    """
    return _ratio(_col(f, "eps_fwd"), _col(f, "price_local"))


def book_to_price(f: pd.DataFrame) -> np.ndarray:
    """Book-to-price ``book_value_ps / price_local``.

    Negative book value (a bad balance sheet, not a bad denominator here) gives a
    negative B/P and is kept, ranking the name lowest; ``price_local <= 0`` -> NaN.
    """
    return _ratio(_col(f, "book_value_ps"), _col(f, "price_local"))


def rorc(f: pd.DataFrame) -> np.ndarray:
    """Return on required capital ``ebit / net_operating_capital``.

    ``net_operating_capital <= 0`` (a bad denominator: the ratio would flip sign or
    explode) -> NaN; negative EBIT with positive capital gives a negative RORC (kept).
    """
    return _ratio(_col(f, "ebit"), _col(f, "net_operating_capital"))


def roe(f: pd.DataFrame) -> np.ndarray:
    """Return on equity ``net_income / (book_value_ps * shares_out)``.

    Book equity ``<= 0`` (negative book value) -> NaN, since the ratio of a loss to
    negative equity would look like a profit; negative earnings with positive equity
    give a negative ROE (kept).
    """
    equity = _col(f, "book_value_ps") * _col(f, "shares_out")
    return _ratio(_col(f, "net_income"), equity)


def dividend_yield(f: pd.DataFrame) -> np.ndarray:
    """Dividend yield ``dps / price_local``; missing ``dps`` -> NaN (not 0: unknown)."""
    return _ratio(_col(f, "dps"), _col(f, "price_local"))


def interest_cover(f: pd.DataFrame) -> np.ndarray:
    """Bounded EBIT interest cover ``log1p(max(clip(ebit / ie, -10, 100), -0.99))``.

    ``ie = interest_expense`` (positive = an expense). Treatment of bad denominators:

    * ``ie == 0`` and ``ebit > 0`` (debt-free, profitable) -> the cap 100;
    * ``ie == 0`` and ``ebit <= 0`` (no debt, no profit: cover undefined) -> NaN;
    * ``ie < 0`` (net interest income: cover undefined) or either input missing -> NaN.

    The ratio is clipped to ``[-10, 100]``, floored at ``-0.99`` and log-transformed, so
    the factor lies in ``[log(0.01), log(101)]`` and extreme covers cannot dominate.
    """
    ebit = _col(f, "ebit")
    ie = _col(f, "interest_expense")
    ratio = _ratio(ebit, ie)
    zero = (ie == 0) & np.isfinite(ebit)
    ratio = np.where(zero & (ebit > 0), INTEREST_COVER_CAP, ratio)
    ratio = np.clip(ratio, INTEREST_COVER_FLOOR, INTEREST_COVER_CAP)
    return np.log1p(np.maximum(ratio, LOG1P_FLOOR))


def fcf_yield(f: pd.DataFrame) -> np.ndarray:
    """Free-cash-flow yield ``free_cash_flow / (price_local * shares_out)``.

    Negative free cash flow is kept (negative yield); market value ``<= 0`` -> NaN.
    """
    mv = _col(f, "price_local") * _col(f, "shares_out")
    return _ratio(_col(f, "free_cash_flow"), mv)


def accruals(f: pd.DataFrame) -> np.ndarray:
    """Cash-flow accruals ``(net_income - free_cash_flow) / revenue``; direction -1.

    Earnings not backed by cash (high accruals) signal low earnings quality.
    Revenue ``<= 0`` -> NaN (bad denominator); negative earnings are kept.
    """
    return _ratio(_col(f, "net_income") - _col(f, "free_cash_flow"), _col(f, "revenue"))


def under_coverage(f: pd.DataFrame) -> np.ndarray:
    """Under-coverage tilt ``-log1p(analyst_count)``: fewer analysts, higher score.

    A negative analyst count is invalid input -> NaN (counted as missing).
    """
    n = _col(f, "analyst_count")
    out = np.full(n.shape, np.nan)
    ok = np.isfinite(n) & (n >= 0)
    out[ok] = -np.log1p(n[ok])
    return out


def esg(f: pd.DataFrame) -> np.ndarray:
    """ESG score (0-100, higher is better) used as a tilt."""
    return _col(f, "esg_score")


@dataclass(frozen=True)
class FactorDefinition:
    """A builtin factor: its columns, default direction and vectorised formula."""

    name: str
    inputs: tuple[str, ...]
    direction: int
    compute: Callable[[pd.DataFrame], np.ndarray] | None
    group: str


BUILTIN_FACTORS: dict[str, FactorDefinition] = {
    d.name: d
    for d in (
        FactorDefinition(
            "earnings_yield_fwd", ("eps_fwd", "price_local"), 1, earnings_yield_fwd, "value"
        ),
        FactorDefinition(
            "book_to_price", ("book_value_ps", "price_local"), 1, book_to_price, "value"
        ),
        FactorDefinition("rorc", ("ebit", "net_operating_capital"), 1, rorc, "quality"),
        FactorDefinition("roe", ("net_income", "book_value_ps", "shares_out"), 1, roe, "quality"),
        FactorDefinition("dividend_yield", ("dps", "price_local"), 1, dividend_yield, "yield"),
        FactorDefinition(
            "interest_cover", ("ebit", "interest_expense"), 1, interest_cover, "earnings_quality"
        ),
        FactorDefinition(
            "fcf_yield",
            ("free_cash_flow", "price_local", "shares_out"),
            1,
            fcf_yield,
            "earnings_quality",
        ),
        FactorDefinition(
            "accruals",
            ("net_income", "free_cash_flow", "revenue"),
            -1,
            accruals,
            "earnings_quality",
        ),
        FactorDefinition("under_coverage", ("analyst_count",), 1, under_coverage, "coverage"),
        FactorDefinition("esg", ("esg_score",), 1, esg, "esg"),
        FactorDefinition("momentum_12_1", (), 1, None, "momentum"),
    )
}


def compute_raw_factor(source: str, frame: pd.DataFrame, name: str = "fundamentals") -> np.ndarray:
    """Raw values of a builtin factor or a user column of ``frame``, one per row.

    Raises
    ------
    ValueError
        If a needed column is missing from ``frame`` (named in the message), or a
        user column is not numeric.
    """
    definition = BUILTIN_FACTORS.get(source)
    if definition is not None and definition.compute is not None:
        missing = [c for c in definition.inputs if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}: factor {source!r} needs missing columns {missing}")
        return definition.compute(frame)
    if source not in frame.columns:
        raise ValueError(
            f"{name}: no column {source!r} (not a builtin factor either; builtins are "
            f"{sorted(BUILTIN_FACTORS)})"
        )
    col = frame[source]
    if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
        raise ValueError(f"{name}: score column {source!r} is not numeric (dtype {col.dtype})")
    return col.to_numpy(dtype=float, na_value=np.nan)
