"""The fund's universe and benchmark, from the config: filters and benchmark construction.

A fund rarely invests in everything its data vendor sends. ``universe:`` keeps the rows
that pass every rule; ``benchmark:`` says how the reference portfolio is weighted over the
names that remain. Both work on any user's files, not only the demo market::

    universe:
      include: {country: [JP]}           # keep rows whose value is in the list
      exclude: {sector: [Real Estate]}   # drop rows whose value is in the list
      min: {market_cap_base: 5.0e7}      # numeric floor (inclusive)
      max: {market_cap_base: 5.0e9}      # numeric cap (inclusive)
    benchmark:
      method: dividend_weighted          # given | cap_weighted | dividend_weighted | equal_weighted

Benchmark methods, over the ``M`` names in the universe (halted names included at their
last price, as index providers do until a name is deleted):

- ``given``: the ``benchmark_weight`` column, renormalised to sum to 1 over the universe
  (``b_i = bw_i / sum_j bw_j``); the note says by how much it was scaled.
- ``cap_weighted``: ``b_i = cap_i / sum_j cap_j`` with ``cap`` = ``market_cap_base``.
- ``dividend_weighted``: ``b_i = D_i / sum_j D_j`` where ``D_i = cap_i * dps_i / price_i``
  is the cash dividend the company pays a year in the base currency (``dps`` and
  ``price_local`` from the latest fundamentals snapshot at or before ``as_of``, local
  currency). Names that pay nothing get weight 0 (as in a dividend index).
- ``equal_weighted``: ``b_i = 1 / M``.

Names outside the universe that the fund still holds are kept (they carry NAV) with a
benchmark weight of 0 and are flagged ``outside_universe``: the rebalance sells them
(a ``restricted`` limit named "Outside the fund universe") and the summary lists them.
Every other name the rules remove is counted by reason. A rule that leaves no names, or
names a value that the column never takes, is a :class:`~portfolio.errors.ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from portfolio.errors import ConfigError, InputError

__all__ = [
    "UniverseSpec",
    "BenchmarkSpec",
    "UniverseSelection",
    "select_universe",
    "benchmark_weights",
    "add_derived_columns",
    "constraint_columns",
    "DERIVED_COLUMNS",
]

OUTSIDE_FLAG = "outside_universe"

# Raw fundamentals ratios a universe rule or a limit may name as a securities column; each
# is taken from the latest fundamentals snapshot at or before ``as_of`` (local currency).
DERIVED_COLUMNS = {
    "dividend_yield_raw": ("dps", "price_local"),  # dividend per share / price
    "rorc_raw": ("ebit", "net_operating_capital"),  # return on required operating capital
    "interest_cover_raw": ("ebit", "interest_expense"),  # EBIT / interest expense (times)
    "fcf_yield_raw": ("free_cash_flow", "market_value_local"),  # FCF / (price * shares)
    "earnings_yield_fwd_raw": ("eps_fwd", "price_local"),  # 1 / forward P/E
}


class UniverseSpec(BaseModel):
    """Row filters on the securities file (all rules must hold to stay in the universe)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    include: dict[str, list[str]] = Field(default_factory=dict)
    exclude: dict[str, list[str]] = Field(default_factory=dict)
    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude or self.min or self.max)


class BenchmarkSpec(BaseModel):
    """How the benchmark is weighted over the universe (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["given", "cap_weighted", "dividend_weighted", "equal_weighted"] = "given"


@dataclass(frozen=True, eq=False)
class UniverseSelection:
    """What the universe rules and the benchmark method did.

    Attributes
    ----------
    data : the MarketData to rebalance: securities restricted to the universe plus held
        names outside it (flagged), ``benchmark_weight`` rebuilt per the method.
    outside_held : held names outside the universe (sold by the rebalance).
    removed : counts of removed names by reason (``"country not in ['JP']"`` -> 660).
    method : the benchmark method used.
    notes : sentences for the run summary.
    """

    data: object
    outside_held: tuple[str, ...]
    removed: dict[str, int]
    method: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "benchmark_method": self.method,
            "universe_size": int((~self.data.securities[OUTSIDE_FLAG]).sum()),
            "removed_by_rule": dict(self.removed),
            "outside_universe_held": list(self.outside_held),
        }


def _where(kind: str, column: str) -> str:
    return f"universe.{kind}.{column}"


def _column(sec: pd.DataFrame, kind: str, column: str) -> pd.Series:
    if column not in sec.columns:
        raise ConfigError(
            f"{_where(kind, column)}: column {column!r} is not in the securities file "
            f"(columns: {sorted(map(str, sec.columns))})"
        )
    return sec[column]


def constraint_columns(specs) -> set[str]:
    """The ``column`` fields named by constraint specs (dicts as in the YAML list)."""
    return {str(s["column"]) for s in specs if isinstance(s, dict) and "column" in s}


def _rule_columns(spec: UniverseSpec) -> set[str]:
    return {c for kind in ("include", "exclude", "min", "max") for c in getattr(spec, kind)}


def _rule_masks(sec: pd.DataFrame, spec: UniverseSpec) -> list[tuple[str, pd.Series]]:
    """One boolean keep-mask per rule, with the reason a removed row fails it."""
    rules: list[tuple[str, pd.Series]] = []
    for kind, keep_if_in in (("include", True), ("exclude", False)):
        for column, values in getattr(spec, kind).items():
            col = _column(sec, kind, column).astype("string")
            wanted = [str(v) for v in values]
            if not wanted:
                raise ConfigError(f"{_where(kind, column)}: an empty list selects nothing")
            unknown = sorted(set(wanted) - set(col.dropna().unique()))
            if unknown:
                raise ConfigError(
                    f"{_where(kind, column)}: {unknown} never occurs in column {column!r} "
                    f"(values: {sorted(col.dropna().unique())[:20]})"
                )
            hit = col.isin(wanted).fillna(False).astype(bool)
            word = "not in" if keep_if_in else "in"
            rules.append((f"{column} {word} {wanted}", hit if keep_if_in else ~hit))
    for kind in ("min", "max"):
        for column, bound in getattr(spec, kind).items():
            if not np.isfinite(bound):
                raise ConfigError(f"{_where(kind, column)}: must be a finite number, got {bound}")
            raw = _column(sec, kind, column)
            num = pd.to_numeric(raw, errors="coerce")
            bad = num.isna() & raw.notna()
            if bad.any():
                raise ConfigError(
                    f"{_where(kind, column)}: column {column!r} is not numeric for "
                    f"{sorted(map(str, sec.index[bad]))[:10]}"
                )
            ok = num >= bound if kind == "min" else num <= bound
            sign = "<" if kind == "min" else ">"
            rules.append((f"{column} {sign} {bound:g} or missing", ok.fillna(False).astype(bool)))
    return rules


def _latest_fundamentals(fundamentals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    f = fundamentals
    if "date" in f.columns:
        f = f[pd.to_datetime(f["date"]) <= as_of]
        f = f.sort_values("date", kind="stable").groupby("asset_id", sort=True).tail(1)
    return f.set_index("asset_id")


def add_derived_columns(
    securities: pd.DataFrame, fundamentals: pd.DataFrame, names, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Add the :data:`DERIVED_COLUMNS` in ``names`` that the securities file lacks.

    ``x_raw = numerator / denominator`` from the latest snapshot at or before ``as_of``;
    NaN where an input is missing or the denominator is not positive (a rule then treats the
    name as failing, and says so).
    """
    wanted = [n for n in names if n in DERIVED_COLUMNS and n not in securities.columns]
    if not wanted:
        return securities
    snap = _latest_fundamentals(fundamentals, as_of)
    if {"price_local", "shares_out"} <= set(snap.columns):
        snap = snap.assign(market_value_local=snap["price_local"] * snap["shares_out"])
    out = securities.copy()
    for name in wanted:
        num_col, den_col = DERIVED_COLUMNS[name]
        missing = [c for c in (num_col, den_col) if c not in snap.columns]
        if missing:
            raise InputError(
                "fundamentals", f"column {name!r} needs fundamentals column(s) {missing}"
            )
        num = snap[num_col].reindex(out.index).astype(float)
        den = snap[den_col].reindex(out.index).astype(float)
        out[name] = (num / den).where(den > 0)
    return out


def benchmark_weights(
    securities: pd.DataFrame,
    fundamentals: pd.DataFrame,
    method: str,
    as_of: pd.Timestamp,
) -> tuple[pd.Series, list[str]]:
    """Benchmark weights over ``securities`` by ``method`` (formulas in the module docstring).

    Returns
    -------
    (weights summing to 1, indexed like ``securities``; notes)
    """
    notes: list[str] = []
    idx = securities.index
    if method == "equal_weighted":
        raw = pd.Series(1.0, index=idx)
    elif method == "cap_weighted":
        raw = pd.to_numeric(securities["market_cap_base"], errors="coerce").astype(float)
    elif method == "given":
        if "benchmark_weight" not in securities.columns:
            raise InputError(
                "securities",
                "benchmark.method 'given' needs a benchmark_weight column; use cap_weighted, "
                "dividend_weighted or equal_weighted to build one",
            )
        raw = securities["benchmark_weight"].fillna(0.0).astype(float)
    elif method == "dividend_weighted":
        snap = _latest_fundamentals(fundamentals, as_of)
        missing = [c for c in ("dps", "price_local") if c not in snap.columns]
        if missing:
            raise InputError(
                "fundamentals",
                f"benchmark.method 'dividend_weighted' needs column(s) {missing} "
                "(dividend per share and price, local currency)",
            )
        dps = snap["dps"].reindex(idx).astype(float)
        price = snap["price_local"].reindex(idx).astype(float)
        cap = securities["market_cap_base"].astype(float)
        raw = (cap * dps / price).where(price > 0)
        n_unknown = int(raw.isna().sum())
        if n_unknown:
            notes.append(
                f"dividend-weighted benchmark: {n_unknown} names without dps or price in the "
                "fundamentals get weight 0"
            )
        raw = raw.fillna(0.0).clip(lower=0.0)
        if not (raw > 0).any():
            raise InputError(
                "fundamentals",
                "column 'dps': no name in the universe pays a dividend, so a dividend-weighted "
                "benchmark cannot be computed",
            )
    else:  # pydantic restricts the names; a direct caller gets a clear error
        raise ConfigError(f"benchmark.method: unknown method {method!r}")
    total = float(raw.sum())
    if not np.isfinite(total) or total <= 0:
        raise InputError("securities", f"benchmark.method {method!r}: weights sum to {total}")
    if method == "given" and abs(total - 1.0) > 1e-9:
        notes.append(f"benchmark_weight renormalised over the universe (summed to {total:.4f})")
    return (raw / total).rename("benchmark_weight"), notes


def select_universe(
    data,
    universe: UniverseSpec,
    benchmark: BenchmarkSpec,
    as_of: pd.Timestamp,
    derived=(),
) -> UniverseSelection:
    """Apply the universe rules and build the benchmark (see the module docstring).

    ``data`` is a :class:`~portfolio.inputs.MarketData`. ``derived`` names extra
    :data:`DERIVED_COLUMNS` to add (e.g. those the constraints use). With no rules and
    ``given`` the data come back unchanged apart from an all-False ``outside_universe``
    column and the derived columns asked for.
    """
    sec = add_derived_columns(
        data.securities, data.fundamentals, set(derived) | _rule_columns(universe), as_of
    )
    keep = pd.Series(True, index=sec.index)
    removed: dict[str, int] = {}
    for reason, mask in _rule_masks(sec, universe):
        newly = keep & ~mask
        if newly.any():
            removed[reason] = int(newly.sum())
        keep &= mask
    if not keep.any():
        raise ConfigError(
            "universe: the rules leave no names (removed: "
            + "; ".join(f"{k}: {v}" for k, v in removed.items())
            + ")"
        )
    held = data.holdings.index[data.holdings["shares"].to_numpy() != 0]
    outside_held = sec.index[~keep & sec.index.isin(held)]
    rows = keep | sec.index.isin(outside_held)
    new_sec = sec.loc[rows].copy()
    new_sec[OUTSIDE_FLAG] = ~keep.loc[rows]
    inside = new_sec.index[~new_sec[OUTSIDE_FLAG]]
    if benchmark.method == "given" and not universe.active:
        notes: list[str] = []
    else:
        b, notes = benchmark_weights(
            new_sec.loc[inside], data.fundamentals, benchmark.method, as_of
        )
        new_sec["benchmark_weight"] = b.reindex(new_sec.index).fillna(0.0)
    if len(outside_held):
        notes.append(
            f"{len(outside_held)} held names are outside the fund universe and are sold: "
            f"{sorted(map(str, outside_held))[:10]}"
        )
    fund = data.fundamentals
    if "asset_id" in fund.columns and len(new_sec) < len(sec):
        fund = fund[fund["asset_id"].isin(new_sec.index)]
    returns = data.returns
    if len(new_sec) < len(sec):
        returns = returns.loc[:, returns.columns.isin(new_sec.index)]
    new_data = replace(data, securities=new_sec, fundamentals=fund, returns=returns)
    return UniverseSelection(
        data=new_data,
        outside_held=tuple(sorted(map(str, outside_held))),
        removed=removed,
        method=benchmark.method,
        notes=notes,
    )
