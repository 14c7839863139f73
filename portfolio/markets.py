"""Market conventions: board lots, currencies and trading costs by listing country.

``in_kind`` says whether the market's shares may be delivered in kind in an ETF creation
or redemption basket (false for China A via Stock Connect, Taiwan and India: check with
the fund's custodian before production use); names in a market without it go to the
basket's cash component (:mod:`portfolio.etf`).

The table ships as ``portfolio/data/markets.csv`` (one row per market) and can be
overridden from the config (``markets:`` section) and per security through the
``lot_size`` and ``half_spread_bps`` columns of the securities file.

Costs are in basis points of traded notional. The linear cost of a trade on one side
is ``c = half_spread + commission + tax(side)`` (README, "Architecture").
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["MARKET_COLUMNS", "load_market_table", "lot_sizes", "linear_cost_rates"]

MARKET_COLUMNS = (
    "market",
    "currency",
    "lot_size",
    "commission_bps",
    "buy_tax_bps",
    "sell_tax_bps",
    "default_half_spread_bps",
    "in_kind",
)


def load_market_table(overrides: Mapping[str, Mapping[str, object]] | None = None) -> pd.DataFrame:
    """The market table indexed by ISO country code, with optional per-market overrides.

    Parameters
    ----------
    overrides : mapping, optional
        ``{"JP": {"commission_bps": 2.0}, ...}``; a new country code adds a market when
        every field is given. Unknown codes, unknown fields and bad values raise
        ``ValueError`` naming them (:func:`_override_problems`).
    """
    table = _packaged_table().copy()  # a run reads it 4 times: parse the file once
    numeric = [c for c in MARKET_COLUMNS if c not in ("market", "currency", "in_kind")]
    problems = []
    for country, values in (overrides or {}).items():
        problems.extend(_override_problems(table, country, values, numeric))
        if not problems:
            for col, val in values.items():
                table.loc[country, col] = val
    if problems:
        raise ValueError("; ".join(problems))
    table["in_kind"] = table["in_kind"].astype(bool)
    return table


@functools.cache
def _packaged_table() -> pd.DataFrame:
    """``portfolio/data/markets.csv`` parsed (never handed out: callers get a copy)."""
    with resources.files("portfolio").joinpath("data/markets.csv").open("r") as fh:
        table = pd.read_csv(fh, dtype={"country": str}, keep_default_na=True)
    table = table.set_index("country")
    numeric = [c for c in MARKET_COLUMNS if c not in ("market", "currency", "in_kind")]
    table[numeric] = table[numeric].astype(float)
    return table


def _override_problems(table: pd.DataFrame, country, values, numeric: list[str]) -> list[str]:
    """What is wrong with one ``markets:`` entry (empty when it is fine).

    A code must be an ISO 3166 alpha-2 code; a code not in the packaged table is a new
    market only when every field of :data:`MARKET_COLUMNS` is given (else it is most
    likely a typo, which would otherwise be ignored); numbers are finite and >= 0, a lot
    size a positive whole number, ``in_kind`` true or false, ``currency`` ISO 4217.
    """
    where = f"markets.{country}"
    if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2}", country):
        return [
            f"{where}: not a market code (an ISO 3166 alpha-2 country code such as JP); "
            f"known markets: {sorted(table.index)}"
        ]
    if not isinstance(values, Mapping):
        return [f"{where}: expected a mapping of fields, got {values!r}"]
    unknown = set(values) - set(MARKET_COLUMNS)
    if unknown:
        return [
            f"{where}: unknown fields {sorted(unknown)}; expected some of {list(MARKET_COLUMNS)}"
        ]
    if country not in table.index:
        missing = [c for c in MARKET_COLUMNS if c not in values]
        if missing:
            return [
                f"{where}: unknown market code (known: {sorted(table.index)}); to add a "
                f"market give every field, missing {missing}"
            ]
    out = []
    for col, val in values.items():
        if col == "in_kind" and not isinstance(val, bool):
            out.append(f"{where}.in_kind: expected true or false, got {val!r}")
        elif col == "currency" and not (isinstance(val, str) and re.fullmatch(r"[A-Z]{3}", val)):
            out.append(f"{where}.currency: expected an ISO 4217 code, got {val!r}")
        elif col == "market" and not isinstance(val, str):
            out.append(f"{where}.market: expected a name, got {val!r}")
        elif col in numeric:
            ok = isinstance(val, int | float) and not isinstance(val, bool)
            ok = ok and math.isfinite(val) and val >= 0
            if col == "lot_size" and val is not None:
                ok = ok and val > 0 and float(val).is_integer()
            if not ok and not (col == "lot_size" and val is None):
                what = "a positive whole number" if col == "lot_size" else "a finite number >= 0"
                out.append(f"{where}.{col}: expected {what}, got {val!r}")
    return out


def lot_sizes(securities: pd.DataFrame, markets: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Board lot per asset: the security's ``lot_size`` if given, else its market's.

    Returns the lot sizes (int, indexed by asset_id) and a list of problems (assets
    whose market needs a per-security lot, e.g. Hong Kong, but have none; assets in a
    market missing from the table).
    """
    market_lot = securities["country"].map(markets["lot_size"].astype(float))
    own = (
        pd.to_numeric(securities["lot_size"], errors="coerce")
        if "lot_size" in securities
        else pd.Series(np.nan, index=securities.index)
    )
    lots = own.where(own.notna(), market_lot)
    problems = []
    unknown_market = ~securities["country"].isin(markets.index)
    if unknown_market.any():
        bad = sorted(securities.index[unknown_market & own.isna()])
        if bad:
            problems.append(f"no market conventions for country of listing of {bad[:10]}")
    missing = lots.isna() & ~unknown_market
    if missing.any():
        problems.append(
            "lot_size required (market sets lots per security) for "
            f"{sorted(securities.index[missing])[:10]}"
        )
    bad_value = lots.notna() & ((lots <= 0) | (lots != np.round(lots)))
    if bad_value.any():
        problems.append(
            f"lot_size not a positive integer for {sorted(securities.index[bad_value])[:10]}"
        )
    return lots.fillna(1).astype(int), problems


def linear_cost_rates(securities: pd.DataFrame, markets: pd.DataFrame) -> pd.DataFrame:
    """Per-asset linear cost rates as fractions of traded notional, by side.

    ``cost_buy = (half_spread + commission + buy_tax) / 1e4`` and likewise for sells.
    The half spread is the security's ``half_spread_bps`` when given, else its
    market's default.
    """
    m = markets.reindex(securities["country"])
    m.index = securities.index
    if "half_spread_bps" in securities:
        hs = pd.to_numeric(securities["half_spread_bps"], errors="coerce")
        hs = hs.where(hs.notna(), m["default_half_spread_bps"])
    else:
        hs = m["default_half_spread_bps"]
    out = pd.DataFrame(
        {
            "half_spread_bps": hs.astype(float),
            "commission_bps": m["commission_bps"].astype(float),
            "buy_tax_bps": m["buy_tax_bps"].astype(float),
            "sell_tax_bps": m["sell_tax_bps"].astype(float),
        },
        index=securities.index,
    )
    out["cost_buy"] = (out["half_spread_bps"] + out["commission_bps"] + out["buy_tax_bps"]) / 1e4
    out["cost_sell"] = (out["half_spread_bps"] + out["commission_bps"] + out["sell_tax_bps"]) / 1e4
    return out
