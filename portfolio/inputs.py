"""Loading and validating the input files into one :class:`MarketData` snapshot.

Data contract (README, "Input files"; identifiers are strings in ``asset_id``):

============  ==========================================================  =========================
input         required columns                                            optional columns
============  ==========================================================  =========================
securities    asset_id, name, country, country_of_risk, sector,           ticker, isin, exchange,
              currency, price_local, market_cap_base, adv_base            industry, lot_size,
                                                                          benchmark_weight, beta,
                                                                          china_revenue_share,
                                                                          esg_score, analyst_count,
                                                                          halted, half_spread_bps
fundamentals  asset_id + the columns the factors need (``date`` for a     eps_fwd, dps, ...
              point-in-time history)
holdings      asset_id, shares                                            cost_basis_local
cash          currency, amount_local
fx            currency, base_per_unit
returns       wide (``date`` index x asset_id) or long (date, asset_id,
              return): daily total returns in the base currency
============  ==========================================================  =========================

Every problem in every file is collected and raised at once as one
:class:`~portfolio.errors.InputError` that names the file, the columns and the assets.
Nothing is filled or dropped here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.errors import InputError
from portfolio.input_rules import (
    MAX_NAV_BASE,
    MAX_SHARES,
    fx_plausibility,
    non_finite,
    parse_bool,
    parse_dates,
    validate_fundamentals,
)
from portfolio.input_rules import id_list as _ids
from portfolio.tables import file_sha256, read_table

__all__ = [
    "MarketData",
    "SECURITIES_REQUIRED",
    "read_table",
    "load_market_data",
    "validate_market_data",
    "file_sha256",
]

SECURITIES_REQUIRED = (
    "asset_id",
    "name",
    "country",
    "country_of_risk",
    "sector",
    "currency",
    "price_local",
    "market_cap_base",
    "adv_base",
)
SECURITIES_NUMERIC = (
    "price_local",
    "market_cap_base",
    "adv_base",
    "lot_size",
    "benchmark_weight",
    "china_revenue_share",
    "beta",
    "esg_score",
    "analyst_count",
    "half_spread_bps",
)
SECURITIES_TEXT = (
    "asset_id",
    "name",
    "country",
    "country_of_risk",
    "sector",
    "currency",
    "ticker",
    "isin",
    "sedol",
    "exchange",
    "industry",
)


@dataclass(frozen=True, eq=False)
class MarketData:
    """One validated snapshot of everything a rebalance reads.

    Attributes
    ----------
    securities : DataFrame indexed by ``asset_id`` (see the module table).
    fundamentals : DataFrame, long, with ``asset_id`` (and ``date`` for a history).
    returns : DataFrame, daily base-currency total returns, DatetimeIndex x asset_id.
    holdings : DataFrame indexed by ``asset_id`` with integer ``shares``.
    cash : DataFrame with ``currency, amount_local``.
    fx : Series ``base_per_unit`` indexed by currency.
    sources : mapping of input name to file path (empty when built in memory).
    """

    securities: pd.DataFrame
    fundamentals: pd.DataFrame
    returns: pd.DataFrame
    holdings: pd.DataFrame
    cash: pd.DataFrame
    fx: pd.Series
    sources: Mapping[str, Path] = field(default_factory=dict)


def _require(frame: pd.DataFrame, columns, problems: list[str]) -> bool:
    missing = [c for c in columns if c not in frame.columns]
    for c in missing:
        problems.append(f"missing column '{c}'")
    return not missing


def _numeric(frame: pd.DataFrame, col: str, problems: list[str], ids: pd.Index) -> pd.Series:
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = values.isna() & frame[col].notna()
    if bad.any():
        problems.append(f"{col} is not numeric for {_ids(ids[bad.to_numpy()])}")
    inf = non_finite(values)
    if inf.any():
        problems.append(f"{col} is not finite (inf) for {_ids(ids[inf])}")
    huge = (values.abs() > MAX_NAV_BASE).to_numpy() & ~inf
    if huge.any():
        problems.append(f"{col} above {MAX_NAV_BASE:.0e} (overflow?) for {_ids(ids[huge])}")
    return values.astype(float)


def _validate_securities(raw: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    _require(raw, SECURITIES_REQUIRED, problems)
    if "asset_id" not in raw.columns:
        return raw
    frame = raw.copy()
    frame["asset_id"] = frame["asset_id"].astype("string").str.strip()
    ids = pd.Index(frame["asset_id"])
    if frame["asset_id"].isna().any() or (frame["asset_id"] == "").any():
        problems.append("asset_id is empty in some rows")
    dup = ids[ids.duplicated()]
    if len(dup):
        problems.append(f"duplicate asset_id {_ids(set(dup))}")
    for col in SECURITIES_TEXT:
        if col in frame:
            frame[col] = frame[col].astype("string")
    for col in ("name", "country", "country_of_risk", "sector", "currency"):
        if col not in frame:
            continue
        empty = frame[col].isna() | (frame[col].str.strip() == "")
        if empty.any():
            problems.append(f"{col} is missing for {_ids(ids[empty.to_numpy()])}")
    for col in ("country", "country_of_risk"):
        if col not in frame:
            continue
        bad = frame[col].notna() & ~frame[col].str.fullmatch(r"[A-Z]{2}").fillna(False)
        if bad.any():
            problems.append(
                f"{col} is not an ISO 3166 alpha-2 code for {_ids(ids[bad.to_numpy()])}"
            )
    if "currency" in frame:
        bad = frame["currency"].notna() & ~frame["currency"].str.fullmatch(r"[A-Z]{3}").fillna(
            False
        )
        if bad.any():
            problems.append(f"currency is not an ISO 4217 code for {_ids(ids[bad.to_numpy()])}")
    else:
        frame["currency"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    for col in SECURITIES_NUMERIC:
        if col in frame:
            frame[col] = _numeric(frame, col, problems, ids)
    checks = {}
    if "price_local" in frame:
        checks["price_local <= 0 or missing"] = ~(frame["price_local"] > 0)
    if "market_cap_base" in frame:
        checks["market_cap_base <= 0 or missing"] = ~(frame["market_cap_base"] > 0)
    if "adv_base" in frame:
        checks["adv_base < 0 or missing"] = ~(frame["adv_base"] >= 0)
    if "benchmark_weight" in frame:
        checks["benchmark_weight < 0"] = frame["benchmark_weight"] < 0
    if "china_revenue_share" in frame:
        v = frame["china_revenue_share"]
        checks["china_revenue_share outside [0, 1]"] = (v < 0) | (v > 1)
    for label, mask in checks.items():
        mask = mask.fillna(False).to_numpy(dtype=bool)
        if mask.any():
            problems.append(f"{label} for {_ids(ids[mask])}")
    if "halted" in frame:
        frame["halted"] = parse_bool(frame["halted"], "halted", ids, problems)
    return frame.set_index("asset_id")


def _validate_fx(raw: pd.DataFrame, problems: list[str]) -> pd.Series:
    if not _require(raw, ("currency", "base_per_unit"), problems):
        return pd.Series(dtype=float)
    cur = raw["currency"].astype("string").str.strip()
    rate = pd.to_numeric(raw["base_per_unit"], errors="coerce")
    dup = cur[cur.duplicated()]
    if len(dup):
        problems.append(f"duplicate currency {_ids(set(dup))}")
    bad = ~(rate > 0) | non_finite(rate)
    if bad.any():
        problems.append(f"base_per_unit <= 0, not finite or not numeric for {_ids(cur[bad])}")
    return pd.Series(
        rate.to_numpy(dtype=float), index=pd.Index(cur, name="currency"), name="base_per_unit"
    )


def _validate_holdings(raw: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    if not _require(raw, ("asset_id", "shares"), problems):
        return pd.DataFrame({"shares": pd.Series(dtype="int64")})
    frame = raw.copy()
    frame["asset_id"] = frame["asset_id"].astype("string").str.strip()
    ids = pd.Index(frame["asset_id"])
    dup = ids[ids.duplicated()]
    if len(dup):
        problems.append(f"duplicate asset_id {_ids(set(dup))}")
    shares = pd.to_numeric(frame["shares"], errors="coerce").astype(float)
    bad = shares.isna() | (shares < 0) | (shares != np.round(shares)) | non_finite(shares)
    if bad.any():
        problems.append(f"shares not a non-negative whole number for {_ids(ids[bad.to_numpy()])}")
    huge = (shares > MAX_SHARES) & ~bad
    if huge.any():
        problems.append(
            f"shares above {MAX_SHARES:.0e} (overflow?) for {_ids(ids[huge.to_numpy()])}"
        )
    ok = ~(bad | huge)
    frame["shares"] = shares.where(ok, 0.0).round().astype("int64")
    return frame.set_index("asset_id")


def _validate_cash(raw: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    if not _require(raw, ("currency", "amount_local"), problems):
        return pd.DataFrame({"currency": [], "amount_local": []})
    frame = raw.copy()
    frame["currency"] = frame["currency"].astype("string").str.strip()
    amount = pd.to_numeric(frame["amount_local"], errors="coerce")
    bad = amount.isna() | non_finite(amount)
    if bad.any():
        problems.append(
            f"amount_local missing, not finite or not numeric for currencies "
            f"{_ids(frame['currency'][bad].astype(str))}"
        )
    frame["amount_local"] = amount.astype(float)
    return frame[["currency", "amount_local"]].reset_index(drop=True)


def _validate_returns(raw: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    if {"date", "asset_id", "return"} <= set(raw.columns):  # long form
        dup = raw.duplicated(["date", "asset_id"])
        if dup.any():
            problems.append(
                f"duplicate (date, asset_id) rows for {_ids(set(raw['asset_id'][dup]))}"
            )
            raw = raw[~dup]
        wide = raw.pivot(index="date", columns="asset_id", values="return")
    else:
        wide = raw
        if "date" in wide.columns:
            wide = wide.set_index("date")
    n_problems = len(problems)
    parsed = parse_dates(pd.Series(wide.index, dtype=object), "column 'date'", problems)
    if len(problems) > n_problems:
        return wide
    wide.index = pd.DatetimeIndex(parsed, name="date")
    wide.columns = pd.Index(wide.columns.astype(str), name="asset_id")
    if wide.index.has_duplicates:
        problems.append(
            f"duplicate dates {[str(d.date()) for d in wide.index[wide.index.duplicated()][:5]]}"
        )
    wide = wide.sort_index()
    if all(pd.api.types.is_numeric_dtype(t) for t in wide.dtypes):
        values = wide.astype(float)  # already numeric: no per-column parse
    else:
        values = wide.apply(pd.to_numeric, errors="coerce")
    nonnum = values.isna() & wide.notna()
    if nonnum.to_numpy().any():
        problems.append(f"non-numeric returns for {_ids(wide.columns[nonnum.any().to_numpy()])}")
    le = (values <= -1.0).to_numpy()
    if le.any():
        problems.append(f"returns <= -100 % for {_ids(wide.columns[le.any(axis=0)])}")
    inf = np.isinf(values.to_numpy(dtype=float))
    if inf.any():
        problems.append(f"infinite returns for {_ids(wide.columns[inf.any(axis=0)])}")
    return values.astype(float)


def validate_market_data(
    securities: pd.DataFrame,
    fundamentals: pd.DataFrame,
    returns: pd.DataFrame,
    holdings: pd.DataFrame,
    cash: pd.DataFrame,
    fx: pd.DataFrame,
    base_currency: str,
    labels: Mapping[str, str] | None = None,
    sources: Mapping[str, Path] | None = None,
    fx_band: float | None = 3.0,
) -> MarketData:
    """Validate raw frames (as read from files) into a :class:`MarketData`.

    ``securities`` and ``holdings`` may carry ``asset_id`` as a column or as the index.
    ``fx_band``: rates further than this factor from the reference rate are an error
    (:func:`portfolio.input_rules.fx_plausibility`); ``None`` turns the check off.
    All problems of all inputs are gathered and raised as one InputError.
    """
    labels = {
        k: k for k in ("securities", "fundamentals", "returns", "holdings", "cash", "fx")
    } | dict(labels or {})
    per_file: dict[str, list[str]] = {k: [] for k in labels}

    def as_columns(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.reset_index() if frame.index.name == "asset_id" else frame

    sec = _validate_securities(as_columns(securities), per_file["securities"])
    fxs = _validate_fx(fx, per_file["fx"])
    hold = _validate_holdings(as_columns(holdings), per_file["holdings"])
    cash_v = _validate_cash(cash, per_file["cash"])
    rets = _validate_returns(returns, per_file["returns"])
    fund = validate_fundamentals(as_columns(fundamentals), per_file["fundamentals"])

    if isinstance(sec.index, pd.Index) and sec.index.name == "asset_id":
        universe = sec.index
        unknown = hold.index.difference(universe)
        if len(unknown):
            per_file["holdings"].append(f"holdings not in the securities universe: {_ids(unknown)}")
        if not per_file["fx"]:
            base = base_currency
            per_file["fx"].extend(fx_plausibility(fxs, base, fx_band))
            if base not in fxs.index:
                per_file["fx"].append(f"no rate for the base currency {base} (expected 1.0)")
            elif not np.isclose(fxs[base], 1.0, rtol=0, atol=1e-12):
                per_file["fx"].append(
                    f"base currency {base} has base_per_unit {fxs[base]}, expected 1.0"
                )
            no_fx = sec["currency"].notna() & ~sec["currency"].isin(fxs.index)
            if no_fx.any():
                missing = sorted(set(sec.loc[no_fx, "currency"]))
                per_file["fx"].append(
                    f"no rate for currencies {missing} used by securities "
                    f"{_ids(sec.index[no_fx.to_numpy()])}"
                )
            if len(cash_v):
                no_cash_fx = ~cash_v["currency"].isin(fxs.index)
                if no_cash_fx.any():
                    per_file["fx"].append(
                        f"no rate for cash currencies {sorted(set(cash_v['currency'][no_cash_fx]))}"
                    )

    problems = [f"{labels[k]}: {p}" for k, ps in per_file.items() for p in ps]
    if problems:
        raise InputError("input data", problems)
    return MarketData(
        securities=sec,
        fundamentals=fund,
        returns=rets,
        holdings=hold,
        cash=cash_v,
        fx=fxs,
        sources=dict(sources or {}),
    )


def check_rows(frames: Mapping[str, pd.DataFrame], labels, allow_empty_holdings: bool) -> None:
    """A file with a header and no rows is an error (holdings only unless
    ``allow_empty_holdings``: an all-cash fund); all such files in one InputError."""
    no_rows = [
        f"{labels[k]}: no rows (a header only)"
        for k, f in frames.items()
        if len(f) == 0 and not (k == "holdings" and allow_empty_holdings)
    ]
    if no_rows:
        if "holdings" in frames and len(frames["holdings"]) == 0 and not allow_empty_holdings:
            no_rows.append("for an all-cash fund set data.allow_empty_holdings: true")
        raise InputError("input data", no_rows)


def load_market_data(
    paths: Mapping[str, Path],
    base_currency: str,
    as_of=None,
    stale_securities_ok: bool = False,
    securities_date=None,
    fx_band: float | None = 3.0,
    allow_empty_holdings: bool = False,
) -> MarketData:
    """Read every input file named in ``paths`` and validate them together.

    ``paths`` maps ``securities, fundamentals, returns, holdings, cash, fx`` to files.
    Missing files are all reported in one InputError before anything else. A securities
    file with a ``date`` column is checked against ``as_of`` (a history is cut at it; a
    stale snapshot is an error unless ``stale_securities_ok``); see
    :mod:`portfolio.backtest.history`. A file with a header and no rows is an error (holdings
    only unless ``allow_empty_holdings``: an all-cash fund).
    """
    missing = [
        f"{k}: file not found: {Path(p).name}" for k, p in paths.items() if not Path(p).is_file()
    ]
    if missing:
        raise InputError("input data", missing)
    frames = {k: read_table(Path(p), Path(p).name) for k, p in paths.items()}
    labels = {k: Path(p).name for k, p in paths.items()}
    check_rows(frames, labels, allow_empty_holdings)
    if "securities" in frames:
        from portfolio.backtest.history import securities_at

        frames["securities"] = securities_at(
            frames["securities"], as_of, labels["securities"], stale_securities_ok, securities_date
        )
    return validate_market_data(
        **frames,
        base_currency=base_currency,
        labels=labels,
        sources={k: Path(p) for k, p in paths.items()},
        fx_band=fx_band,
    )
