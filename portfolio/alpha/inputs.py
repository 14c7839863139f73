"""Assemble the point-in-time panel of raw factor values the alpha stage cleans.

The panel is a long frame indexed by ``(date, asset_id)``: one row per fundamentals
snapshot row at or before ``as_of`` (restricted to the securities universe), plus,
at the current date, an all-missing row for every security without a snapshot row
(so its missing factors are counted and handled by policy, never dropped).
Group labels (sector, country, ...) come from the securities snapshot for all dates.
A score column found only in the securities frame is taken from it for all dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.alpha.factors import BUILTIN_FACTORS, compute_raw_factor
from portfolio.alpha.momentum import cumulative_log_returns, forward_returns, momentum_12_1
from portfolio.alpha.residual import resolve_residualization
from portfolio.alpha.spec import AlphaSpec
from portfolio.errors import InputError

__all__ = ["AlphaPanel", "build_panel", "factor_direction", "factor_source"]


@dataclass(frozen=True, eq=False)
class AlphaPanel:
    """Raw factor panel and what was learned assembling it.

    Attributes
    ----------
    frame : DataFrame
        Index ``(date, asset_id)``; one column per configured factor (raw value times
        direction) plus the context columns (group labels, ``market_cap_base``).
    current_date : Timestamp
        The latest snapshot date at or before ``as_of``: the date alpha is for.
    forward : ndarray (T, N) or None
        Next-period return of each (date, asset) of the frame's cube, aligned with
        ``frame``'s sorted dates and assets; NaN when unknown at ``as_of``.
    info : dict
        Counts for the report (rows outside the universe, names with no snapshot row).
    """

    frame: pd.DataFrame
    current_date: pd.Timestamp
    dates: pd.DatetimeIndex
    assets: pd.Index
    forward: np.ndarray | None
    info: dict


def factor_source(name: str, spec) -> str:
    return spec.source or name


def factor_direction(name: str, spec) -> int:
    if spec.direction is not None:
        return int(spec.direction)
    builtin = BUILTIN_FACTORS.get(factor_source(name, spec))
    return builtin.direction if builtin is not None else 1


def _check_securities(securities: pd.DataFrame, columns: list[str]) -> None:
    problems = []
    if securities.index.has_duplicates:
        problems.append(
            f"duplicate asset_id {list(securities.index[securities.index.duplicated()][:10])}"
        )
    missing = [c for c in columns if c not in securities.columns]
    if missing:
        problems.append(f"missing columns {missing} (needed for grouping)")
    else:
        for c in columns:
            na = securities[c].isna().to_numpy()
            if na.any():
                problems.append(f"{c} missing for {list(securities.index[na][:10])}")
    if problems:
        raise InputError("securities", problems)


def _snapshot_rows(fundamentals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    f = fundamentals
    if "asset_id" not in f.columns:
        if f.index.name == "asset_id":
            f = f.reset_index()
        else:
            raise InputError("fundamentals", "missing column 'asset_id'")
    if "date" in f.columns:
        dates = pd.to_datetime(f["date"])
        if dates.isna().any():
            raise InputError(
                "fundamentals", f"missing date for {list(f.loc[dates.isna(), 'asset_id'][:10])}"
            )
        f = f.assign(date=dates)
        f = f[f["date"] <= as_of]
        if f.empty:
            raise InputError("fundamentals", f"no snapshot at or before as_of {as_of.date()}")
    else:
        f = f.assign(date=as_of)
    dup = f.duplicated(["date", "asset_id"])
    if dup.any():
        raise InputError(
            "fundamentals",
            f"duplicate (date, asset_id) rows for {list(f.loc[dup, 'asset_id'][:10])}",
        )
    return f


def build_panel(
    spec: AlphaSpec,
    securities: pd.DataFrame,
    fundamentals: pd.DataFrame,
    returns: pd.DataFrame | None,
    as_of: pd.Timestamp,
    ic_groups: Sequence[str] | None = None,
) -> AlphaPanel:
    """The raw panel of every configured factor (direction applied) with its context.

    ``ic_groups``: the group columns the IC history is residualised on (default: as
    :func:`~portfolio.alpha.residual.resolve_residualization` resolves the spec with no
    risk model); they are carried in the frame and must be present in ``securities``.
    """
    as_of = pd.Timestamp(as_of)
    if ic_groups is None:
        ic_groups = resolve_residualization(spec, None).groups
    groups = sorted(set(spec.neutralize) | set(ic_groups) | _median_groups(spec))
    _check_securities(securities, groups)
    f = _snapshot_rows(fundamentals, as_of)
    in_universe = f["asset_id"].isin(securities.index)
    info = {"history_rows_outside_universe": int((~in_universe).sum())}
    f = f[in_universe]
    current = f["date"].max()
    have = pd.Index(f.loc[f["date"] == current, "asset_id"])
    lacking = securities.index.difference(have)
    info["no_snapshot_row"] = [str(a) for a in lacking]
    if len(lacking):
        f = pd.concat([f, pd.DataFrame({"date": current, "asset_id": lacking})], ignore_index=True)
    f = f.sort_values(["date", "asset_id"], kind="stable")
    index = pd.MultiIndex.from_arrays(
        [f["date"].to_numpy(), f["asset_id"].to_numpy()], names=["date", "asset_id"]
    )
    f = f.set_axis(index, axis=0)
    # columns only the securities snapshot has: taken from it for every date
    needed = (
        set(groups) | {"market_cap_base"} | {factor_source(n, s) for n, s in spec.factors.items()}
    )
    if spec.esg_screen is not None:
        needed.add(spec.esg_screen.column)
    for col in sorted(needed):
        if (col not in f.columns or col in groups) and col in securities.columns:
            f[col] = securities[col].reindex(index.get_level_values("asset_id")).to_numpy()
    for name in ("analyst_count", "esg_score"):  # builtin inputs that may live in securities
        if name not in f.columns and name in securities.columns:
            f[name] = securities[name].reindex(index.get_level_values("asset_id")).to_numpy()

    # the sorted distinct dates and assets: the index's levels (no second pass over the rows)
    dates = pd.DatetimeIndex(index.levels[0], name=None)
    assets = pd.Index(index.levels[1], name=None)
    rets = None if returns is None else returns.loc[returns.index <= as_of]
    cum = None if rets is None else cumulative_log_returns(rets)
    out = pd.DataFrame(index=index)
    for name, fs in spec.factors.items():
        src = factor_source(name, fs)
        if src == "momentum_12_1":
            raw = _momentum(f, rets, dates, spec.momentum_min_obs, name, cum)
        else:
            try:
                raw = compute_raw_factor(src, f, "fundamentals")
            except ValueError as exc:
                raise InputError("fundamentals", f"factor {name!r}: {exc}") from None
        out[name] = factor_direction(name, fs) * raw
    for col in sorted(set(groups) | {"market_cap_base"}):
        if col in f.columns:
            out[col] = f[col].to_numpy()
    if spec.esg_screen is not None:
        col = spec.esg_screen.column
        if col not in f.columns:
            raise InputError(
                "securities", f"esg_screen column {col!r} not in securities or fundamentals"
            )
        out["__esg_screen__"] = pd.to_numeric(f[col]).to_numpy(dtype=float, na_value=np.nan)
    forward = None if rets is None else _forward(rets, dates, assets, cum)
    return AlphaPanel(out, pd.Timestamp(current), dates, assets, forward, info)


def _median_groups(spec: AlphaSpec) -> set[str]:
    return {
        fs.missing.removesuffix("_median")
        for fs in spec.factors.values()
        if fs.missing.endswith("_median")
    }


def _momentum(f, rets, dates, min_obs, name, cum) -> np.ndarray:
    if rets is not None:
        mom = momentum_12_1(rets, dates, min_obs, cum)
        d = _row_positions(dates, f.index, 0)
        a = _row_positions(rets.columns, f.index, 1)
        vals = mom.to_numpy()[d, np.where(a >= 0, a, 0)]
        return np.where(a >= 0, vals, np.nan)
    if "return_12m_1m" in f.columns:
        return f["return_12m_1m"].to_numpy(dtype=float, na_value=np.nan)
    raise InputError(
        "returns",
        f"factor {name!r} needs a returns history or a 'return_12m_1m' fundamentals column",
    )


def _row_positions(labels: pd.Index, index: pd.MultiIndex, level: int) -> np.ndarray:
    """``labels.get_indexer(index.get_level_values(level))``, looked up once per distinct
    value of the level and gathered per row (-1 where absent)."""
    codes = index.codes[level]
    found = labels.get_indexer(index.levels[level])
    return np.where(codes >= 0, found[codes], -1)


def _forward(rets: pd.DataFrame, dates: pd.DatetimeIndex, assets: pd.Index, cum) -> np.ndarray:
    fwd = forward_returns(rets, dates, cum).to_numpy().copy()
    if len(rets.index):
        fwd[np.append(dates[1:] > rets.index[-1], True)] = np.nan  # windows not yet complete
    a = rets.columns.get_indexer(assets)
    out = fwd[:, np.where(a >= 0, a, 0)]
    out[:, a < 0] = np.nan
    return out
