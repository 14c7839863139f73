"""Input rules beyond the column contract: booleans, plausible magnitudes, FX and staleness.

Every rule adds a problem naming the file, column and assets (or currencies) to a list;
:mod:`portfolio.inputs` raises them together as one :class:`~portfolio.errors.InputError`.

=======================  ====================================================================
rule                     what is an error
=======================  ====================================================================
numbers                  text, ``inf`` or ``-inf`` in a numeric column (every file, every
                         numeric column; ``NaN`` / an empty cell is "missing", handled by
                         each column's own rule)
booleans                 anything but :data:`BOOL_SPELLINGS` (case-insensitive); an empty
                         cell is false
dates                    a value that is not a calendar date (``2026-02-30``, ``2026-13-01``)
empty files              a file without a header (0 bytes), or a header and no rows; an empty
                         holdings file only with ``data.allow_empty_holdings``
magnitudes               shares above :data:`MAX_SHARES`; NAV or a position value not finite
                         or above :data:`MAX_NAV_BASE` (an overflow or a unit error)
FX rates                 ``base_per_unit`` outside ``[ref / band, ref * band]`` where ``ref``
                         is the reference rate of :data:`REFERENCE_USD_PER_UNIT` converted to
                         the base currency and ``band`` is ``data.fx_band`` (default 3); the
                         message says when ``1 / rate`` would fit (a rate quoted the wrong way)
staleness                returns ending more than ``data.max_stale_days`` business days
                         (default 5) before ``as_of``; fundamentals whose latest snapshot is
                         more than ``data.max_fundamentals_age_days`` days (default 100) old
=======================  ====================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "BOOL_SPELLINGS",
    "MAX_SHARES",
    "MAX_NAV_BASE",
    "REFERENCE_USD_PER_UNIT",
    "outside_fx_band",
    "parse_bool",
    "non_finite",
    "parse_dates",
    "fx_plausibility",
    "id_list",
    "staleness",
    "validate_fundamentals",
]

#: Accepted spellings of a boolean cell (compared lower-case, stripped); empty means false.
BOOL_SPELLINGS = {
    "true": True,
    "false": False,
    "t": True,
    "f": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
    "1.0": True,
    "0.0": False,
}
#: More shares than this in one line is an error (beyond what a float holds exactly).
MAX_SHARES = 1e15
#: A NAV (or one position) above this many units of the base currency is an error.
MAX_NAV_BASE = 1e15
#: Approximate US dollars per unit (late 2026), the centre of the plausibility band.
REFERENCE_USD_PER_UNIT = {
    "USD": 1.0,
    "JPY": 0.0067,
    "HKD": 0.128,
    "CNY": 0.138,
    "CNH": 0.138,
    "TWD": 0.031,
    "KRW": 0.00072,
    "INR": 0.0118,
    "SGD": 0.775,
    "AUD": 0.66,
    "NZD": 0.6,
    "MYR": 0.226,
    "THB": 0.0295,
    "IDR": 0.000062,
    "PHP": 0.0175,
    "VND": 0.0000395,
    "EUR": 1.08,
    "GBP": 1.27,
    "CHF": 1.13,
    "CAD": 0.73,
}
#: Fundamentals columns that must be numeric even when no value in them parses.
FUNDAMENTALS_NUMERIC = (
    "eps_fwd",
    "eps_ttm",
    "book_value_ps",
    "dps",
    "ebit",
    "interest_expense",
    "free_cash_flow",
    "net_operating_capital",
    "net_income",
    "shares_out",
    "revenue",
    "return_12m_1m",
)
_MAX_LISTED = 10


def id_list(values) -> str:
    """Sorted ids as text, the first 10 and how many more (for error messages)."""
    vals = sorted(map(str, values))
    more = f" and {len(vals) - _MAX_LISTED} more" if len(vals) > _MAX_LISTED else ""
    return f"{vals[:_MAX_LISTED]}{more}"


def parse_bool(col: pd.Series, name: str, ids, problems: list[str]) -> pd.Series:
    """``col`` as bool: :data:`BOOL_SPELLINGS`, real booleans, empty = false; else a problem."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.fillna(False).astype(bool)
    raw = col.astype(object).to_numpy()
    keys = [None if pd.isna(v) else str(v).strip().lower() for v in raw]
    bad_mask = np.array([k not in (None, "") and k not in BOOL_SPELLINGS for k in keys], bool)
    out = [bool(BOOL_SPELLINGS.get(k, False)) for k in keys]
    if bad_mask.any():
        shown = sorted({str(v) for v, b in zip(raw, bad_mask, strict=True) if b})[:5]
        problems.append(
            f"{name} is not true/false for {id_list(pd.Index(ids)[bad_mask])} (got {shown}; "
            f"accepted: {', '.join(k for k in BOOL_SPELLINGS if '.' not in k)}, or empty)"
        )
    return pd.Series(out, index=col.index, dtype=bool)


def non_finite(values: pd.Series) -> np.ndarray:
    """Mask of ``inf`` / ``-inf`` entries of a numeric series."""
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.isinf(arr)


def parse_dates(values: pd.Series, where: str, problems: list[str], keys=None) -> pd.Series:
    """Parse ``values`` as dates; values that are not calendar dates become a problem.

    ``keys`` (same length) names the rows in the message (asset_ids), else the values alone.
    """
    parsed = pd.to_datetime(values, errors="coerce")
    bad = (parsed.isna() & pd.Series(values).notna()).to_numpy()
    if bad.any():
        shown = sorted({str(v) for v in np.asarray(values, dtype=object)[bad]})[:5]
        rows = ""
        if keys is not None:
            rows = f" for {id_list(set(np.asarray(keys, dtype=object)[bad]))}"
        problems.append(f"{where}: not a calendar date: {shown}{rows}")
    return parsed


def outside_fx_band(currency, rate, base: str, band: float | None) -> np.ndarray:
    """Per row, whether a positive ``rate`` (``base_per_unit`` of ``currency``) lies outside
    ``[ref / band, ref * band]``; currencies without a reference (or a base currency
    without one), the base itself and non-positive rates are not flagged."""
    ccy = pd.Series(np.asarray(currency, dtype=object)).astype(str)
    rate = np.asarray(rate, dtype=float)
    if band is None or base not in REFERENCE_USD_PER_UNIT:
        return np.zeros(len(rate), dtype=bool)
    ref = (ccy.map(REFERENCE_USD_PER_UNIT) / REFERENCE_USD_PER_UNIT[base]).to_numpy(float)
    with np.errstate(invalid="ignore"):
        out = (rate < ref / band) | (rate > ref * band)
    return out & np.isfinite(ref) & np.isfinite(rate) & (rate > 0) & (ccy != base).to_numpy()


def fx_plausibility(fx: pd.Series, base: str, band: float) -> list[str]:
    """Problems for rates outside ``[ref / band, ref * band]`` (see the module table).

    ``fx`` is ``base_per_unit`` by currency. Currencies without a reference (or a base
    currency without one) are not checked.
    """
    problems = []
    flagged = outside_fx_band(fx.index, fx.to_numpy(float), base, band)
    for ccy, rate in fx[flagged].items():
        ref = REFERENCE_USD_PER_UNIT[ccy] / REFERENCE_USD_PER_UNIT[base]
        text = (
            f"base_per_unit {rate:.6g} for {ccy} is implausible: expected about {ref:.4g} "
            f"{base} per {ccy} (within a factor {band:g}, data.fx_band)"
        )
        if ref / band <= 1.0 / rate <= ref * band:
            text += (
                f"; 1 / {rate:.6g} = {1.0 / rate:.4g} fits: the rate looks inverted "
                f"({ccy} per {base} instead of {base} per {ccy})"
            )
        problems.append(text)
    return problems


def _bdays(start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Business days after ``start`` up to and including ``end``."""
    one = np.timedelta64(1, "D")
    first, last = np.datetime64(start.date()) + one, np.datetime64(end.date()) + one
    return int(np.busday_count(first, last)) if end > start else 0


def staleness(
    returns_end: pd.Timestamp | None,
    fundamentals_end: pd.Timestamp | None,
    as_of: pd.Timestamp,
    max_stale_days: int,
    max_fundamentals_age_days: int,
    labels: dict[str, str],
) -> list[str]:
    """Problems for data that ends long before ``as_of`` (see the module table)."""
    problems = []
    if returns_end is not None and not pd.isna(returns_end):
        gap = _bdays(returns_end, as_of)
        if gap > max_stale_days:
            problems.append(
                f"{labels.get('returns', 'returns')}: the history ends {returns_end.date()}, "
                f"{gap} business days before as_of {as_of.date()} (at most "
                f"{max_stale_days} allowed, data.max_stale_days)"
            )
    if fundamentals_end is not None and not pd.isna(fundamentals_end):
        age = (as_of - fundamentals_end).days
        if age > max_fundamentals_age_days:
            problems.append(
                f"{labels.get('fundamentals', 'fundamentals')}: the latest snapshot at or before "
                f"as_of is {fundamentals_end.date()}, {age} days before as_of {as_of.date()} "
                f"(at most {max_fundamentals_age_days} allowed, data.max_fundamentals_age_days)"
            )
    return problems


def validate_fundamentals(raw: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    """Dates are calendar dates; numeric columns hold numbers (never text or inf); one row
    per asset (per date). A column of text only (a vendor's note) is left alone."""
    fund = raw.copy()
    if "asset_id" not in fund.columns:
        problems.append("missing column 'asset_id'")
        return fund
    fund["asset_id"] = fund["asset_id"].astype("string").str.strip()
    empty = (fund["asset_id"].isna() | (fund["asset_id"] == "")).to_numpy(dtype=bool)
    if empty.any():
        n = int(empty.sum())
        problems.append(f"asset_id is empty in {n} row{'s' if n != 1 else ''}")
    ids = pd.Index(fund["asset_id"].astype(object))
    if "date" in fund.columns:
        n = len(problems)
        parsed = parse_dates(fund["date"], "column 'date'", problems, keys=ids)
        if len(problems) == n:
            fund["date"] = parsed
            dup = fund.duplicated(["date", "asset_id"])
        else:
            dup = pd.Series(False, index=fund.index)
    else:
        dup = fund.duplicated(["asset_id"])
    if dup.any():
        problems.append(f"duplicate rows (per date) for {id_list(set(fund['asset_id'][dup]))}")
    for col in fund.columns:
        if col in ("asset_id", "date") or pd.api.types.is_bool_dtype(fund[col].dtype):
            continue
        values = pd.to_numeric(fund[col], errors="coerce")
        present = fund[col].notna().to_numpy()
        if not pd.api.types.is_numeric_dtype(fund[col].dtype):
            text = present & values.isna().to_numpy()
            if col not in FUNDAMENTALS_NUMERIC and not (present & ~text).any():
                continue  # a column of text only (not a factor input)
            if text.any():
                shown = sorted({str(v) for v in fund[col].to_numpy(dtype=object)[text]})[:5]
                problems.append(
                    f"column '{col}' is not numeric for {id_list(set(ids[text]))} (got {shown})"
                )
            fund[col] = values.astype(float)
        inf = non_finite(values)
        if inf.any():
            problems.append(f"column '{col}' is not finite (inf) for {id_list(set(ids[inf]))}")
    return fund


def check_fresh(data, as_of, max_stale_days: int, max_fundamentals_age_days: int) -> None:
    """Raise an InputError when the returns or fundamentals end long before ``as_of``.

    ``data`` is a :class:`~portfolio.inputs.MarketData`; ``as_of`` None means the last
    return date (then only the fundamentals can be stale).
    """
    from portfolio.errors import InputError

    labels = {k: p.name for k, p in data.sources.items()}
    rets = data.returns.index
    as_of = pd.Timestamp(as_of) if as_of is not None else (rets.max() if len(rets) else None)
    if as_of is None:
        return
    problems = []
    returns_end = rets[rets <= as_of].max() if len(rets) else None
    if len(rets) and pd.isna(returns_end):
        problems.append(
            f"{labels.get('returns', 'returns')}: the history starts {rets.min().date()}, "
            f"after as_of {as_of.date()}"
        )
    fund = data.fundamentals
    fund_end = None
    if "date" in fund.columns and len(fund):
        dates = pd.to_datetime(fund["date"])
        fund_end = dates[dates <= as_of].max()
    problems += staleness(
        returns_end, fund_end, as_of, max_stale_days, max_fundamentals_age_days, labels
    )
    if problems:
        raise InputError("input data", problems)
