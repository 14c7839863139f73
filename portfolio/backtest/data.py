"""The backtest's inputs, loaded once, and the point-in-time :class:`MarketData` at a date.

Sources (see :mod:`portfolio.backtest.history` for dated tables):

============================  =============================================================
input                         used at rebalance date ``t``
============================  =============================================================
securities                    ``data.securities_history`` if set, else ``data.securities``
                              (a ``date`` column with several dates is a history); the
                              snapshot in force at ``t``. A single snapshot is stale at
                              every other date: an error unless
                              ``data.stale_securities_ok: true``
fx                            ``data.fx_history`` if set (``date, currency,
                              base_per_unit``), else ``data.fx`` at every date
fundamentals                  rows dated ``<= t`` (the whole file when it has no ``date``)
returns                       rows dated ``<= t``, the columns of names listed at ``t``
holdings, cash                the book (:mod:`portfolio.backtest.book`), not the files
============================  =============================================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.backtest.history import MAX_SNAPSHOT_AGE_DAYS, DatedTable, dated_table
from portfolio.config import RebalanceConfig
from portfolio.errors import InputError
from portfolio.inputs import MarketData, read_table, validate_market_data

__all__ = ["BacktestInputs", "load_backtest_inputs", "inputs_from_frames"]


@dataclass(frozen=True, eq=False)
class BacktestInputs:
    """Everything a backtest reads, validated once.

    Attributes
    ----------
    config : the run configuration (``fund.as_of`` is replaced at each date).
    base_dir : folder the config's relative paths resolve against.
    securities : dated securities snapshots (a history, or one snapshot).
    securities_valid : every snapshot row validated by the production validator at once
        (index ``asset_id`` plus the row's ``date``; see :func:`_validate_history`).
    fx : dated FX snapshots (``key`` = currency).
    fundamentals, returns : validated full histories.
    holdings, cash : the holdings and cash files (they set the starting capital).
    planted_ic : the IC planted in a generated market (demo metadata), else None.
    sources : input name -> file path (for the manifest).
    notes : what the loader assumed (e.g. a stale snapshot accepted).
    """

    config: RebalanceConfig
    base_dir: Path
    securities: DatedTable
    securities_valid: pd.DataFrame
    fx: DatedTable
    fundamentals: pd.DataFrame
    returns: pd.DataFrame
    holdings: pd.DataFrame
    cash: pd.DataFrame
    planted_ic: float | None = None
    sources: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def base_currency(self) -> str:
        return self.config.fund.base_currency

    def fx_at(self, t) -> pd.Series:
        """``base_per_unit`` by currency in force at ``t``."""
        d = _in_force(self.fx, t, self.config)
        snap = self.fx.at(d, max_age_days=None)
        return pd.Series(
            pd.to_numeric(snap["base_per_unit"]).to_numpy(float),
            index=pd.Index(snap["currency"].astype(str), name="currency"),
            name="base_per_unit",
        )

    def securities_at(self, t) -> pd.DataFrame:
        """The validated securities snapshot in force at ``t``, indexed by asset_id."""
        d = _in_force(self.securities, t, self.config)
        valid = self.securities_valid
        if d is None:
            return valid.drop(columns="date")
        rows = valid["date"].to_numpy() == np.datetime64(d, "ns")
        return valid.loc[rows].drop(columns="date")

    def market_at(self, t, holdings: pd.DataFrame, cash: pd.DataFrame) -> MarketData:
        """The :class:`MarketData` a rebalance at ``t`` sees (nothing dated after ``t``)."""
        t = pd.Timestamp(t)
        sec = self.securities_at(t)
        universe = pd.Index(sec.index, dtype=object)
        fund = self.fundamentals
        if "date" in fund.columns:
            fund = fund[fund["date"] <= t]
        rets = self.returns.loc[:t]
        rets = rets.loc[:, pd.Index(rets.columns, dtype=object).isin(universe)]
        market = MarketData(
            securities=sec,
            fundamentals=fund,
            returns=rets,
            holdings=holdings.iloc[:0],
            cash=cash,
            fx=self.fx_at(t),
            sources=self.sources,
        )
        return self.with_book(market, holdings, cash)

    @staticmethod
    def with_book(data: MarketData, holdings: pd.DataFrame, cash: pd.DataFrame) -> MarketData:
        """``data`` (cut at a date by :meth:`market_at`) with another book's holdings
        (those listed at that date) and cash."""
        universe = pd.Index(data.securities.index, dtype=object)
        held = pd.Index(holdings.index, dtype=object).isin(universe)
        return dataclasses.replace(data, holdings=holdings.loc[held], cash=cash)


def _in_force(table: DatedTable, t, config):
    """Date of the snapshot used at ``t`` (``None`` when undated). A single snapshot is
    used at every date (accepted at load time only with ``data.stale_securities_ok``); a
    history's latest snapshot ``<= t``, at most ``MAX_SNAPSHOT_AGE_DAYS`` old."""
    if not table.is_history:
        return table.dates[0] if len(table.dates) else None
    return table.resolve(t, _max_age(table, config))


def _max_age(table: DatedTable, config) -> int | None:
    """Largest snapshot age allowed: none for one snapshot or a config accepting stale data."""
    if not table.is_history or config.data.stale_securities_ok:
        return None
    return MAX_SNAPSHOT_AGE_DAYS


def _validate_history(
    table: DatedTable, fx: DatedTable, base: str, fx_band: float | None
) -> pd.DataFrame:
    """Validate every securities snapshot in one call of the production validator.

    Rows are named ``asset_id on date`` for the validator, so a problem names the file,
    the column, the asset and the date; the result is indexed by ``asset_id`` again (the
    validator's dtype) with the row's ``date`` as a column.
    """
    raw = table.frame
    ids = raw["asset_id"].astype(str).str.strip().to_numpy()
    named = raw.drop(columns="date").copy()
    if table.is_history:
        named["asset_id"] = ids + " on " + raw["date"].dt.strftime("%Y-%m-%d").to_numpy()
    rates = fx.frame.drop(columns="date").drop_duplicates("currency", keep="last")
    data = validate_market_data(
        securities=named,
        fundamentals=pd.DataFrame({"asset_id": pd.Series(dtype=str)}),
        returns=pd.DataFrame(index=pd.DatetimeIndex([], name="date")),
        holdings=pd.DataFrame({"asset_id": pd.Series(dtype=str), "shares": []}),
        cash=pd.DataFrame({"currency": [], "amount_local": []}),
        fx=rates,
        base_currency=base,
        labels={"securities": table.source, "fx": fx.source},
        fx_band=fx_band,
    )
    out = data.securities
    out.index = pd.Index(pd.array(ids, dtype="string"), name="asset_id")
    out.insert(0, "date", raw["date"].to_numpy())
    return out


def _check_fx_history(fx: DatedTable, base: str, band: float | None) -> None:
    """Every FX snapshot: positive numeric rates, the base currency at 1.0, and each rate
    within ``data.fx_band`` of its reference (:func:`portfolio.input_rules.fx_plausibility`;
    the first date a currency leaves the band is named)."""
    from portfolio.input_rules import fx_plausibility, outside_fx_band

    frame = fx.frame
    rate = pd.to_numeric(frame.get("base_per_unit"), errors="coerce")
    if rate is None or "currency" not in frame:
        raise InputError(fx.source, "missing column 'currency' or 'base_per_unit'")
    bad = ~(rate > 0)
    is_base = frame["currency"].astype(str) == base
    off = is_base & ~np.isclose(rate, 1.0, rtol=0, atol=1e-12)
    problems = []
    for mask, what in ((bad, "<= 0 or not numeric"), (off, f"not 1.0 for the base {base}")):
        if mask.any():
            first = frame.loc[mask].iloc[0]
            problems.append(
                f"column 'base_per_unit': {what} in {int(mask.sum())} rows, first "
                f"{first['currency']} on {str(first['date'])[:10]}"
            )
    if not bad.any():
        ccy = frame["currency"].astype(str)
        out = outside_fx_band(ccy, rate, base, band)
        for c, rows in frame[out].sort_values("date", kind="stable").groupby(ccy[out]):
            first = rows.index[0]  # the first date this currency leaves the band
            text = fx_plausibility(pd.Series({c: float(rate[first])}), base, band)[0]
            problems.append(
                f"column 'base_per_unit' on {str(frame.at[first, 'date'])[:10]}: {text}"
            )
    if problems:
        raise InputError(fx.source, problems)


def inputs_from_frames(
    config: RebalanceConfig,
    frames: dict[str, pd.DataFrame],
    labels: dict[str, str],
    base_dir: Path,
    sources: dict | None = None,
    planted_ic: float | None = None,
) -> BacktestInputs:
    """Build :class:`BacktestInputs` from raw frames.

    ``frames`` has ``securities, fundamentals, returns, holdings, cash, fx`` and optionally
    ``securities_history`` and ``fx_history`` (each with a ``date`` column).
    """
    from portfolio.inputs import check_rows

    data_spec = config.data
    check_rows(frames, labels, data_spec.allow_empty_holdings)
    sec_key = "securities_history" if "securities_history" in frames else "securities"
    fx_key = "fx_history" if "fx_history" in frames else "fx"
    securities = dated_table(
        frames[sec_key], labels[sec_key], "asset_id", data_spec.securities_date
    )
    fx = dated_table(frames[fx_key], labels[fx_key], "currency")
    notes = []
    if not securities.is_history:
        if not data_spec.stale_securities_ok:
            when = "undated" if securities.undated else f"dated {securities.dates[0].date()}"
            raise InputError(
                labels[sec_key],
                f"column 'date': a backtest needs a dated securities history; this file is one "
                f"snapshot ({when}) and would be used at every rebalance date. Give "
                "data.securities_history (or a 'date' column with one snapshot per date), or "
                "set data.stale_securities_ok: true to accept a stale snapshot",
            )
        notes.append(
            f"{labels[sec_key]}: one securities snapshot used at every date "
            "(data.stale_securities_ok): universe, caps and benchmark are not point in time"
        )
    if not fx.is_history:
        notes.append(f"{labels[fx_key]}: one FX snapshot used at every date")
    if fx.is_history:
        _check_fx_history(fx, config.fund.base_currency, data_spec.fx_band)
    valid = _validate_history(securities, fx, config.fund.base_currency, data_spec.fx_band)
    securities.check_no_gaps()
    last_sec = securities.at(securities.dates[-1] if len(securities.dates) else None, None)
    base = validate_market_data(
        securities=last_sec,
        fundamentals=frames["fundamentals"],
        returns=frames["returns"],
        holdings=frames["holdings"],
        cash=frames["cash"],
        fx=fx.at(fx.dates[-1] if len(fx.dates) else None, None),
        base_currency=config.fund.base_currency,
        labels={
            k: labels[k]
            for k in ("securities", "fundamentals", "returns", "holdings", "cash", "fx")
        },  # fmt: skip
        sources=sources,
        fx_band=data_spec.fx_band,
    )
    return BacktestInputs(
        config=config,
        base_dir=Path(base_dir),
        securities=securities,
        securities_valid=valid,
        fx=fx,
        fundamentals=base.fundamentals,
        returns=base.returns,
        holdings=base.holdings,
        cash=base.cash,
        planted_ic=planted_ic,
        sources=dict(sources or {}),
        notes=notes,
    )


def load_backtest_inputs(config_path: str | Path) -> BacktestInputs:
    """Read the config and every file it names (histories included) for a backtest."""
    import json

    from portfolio.config import load_config

    path = Path(config_path)
    config = load_config(path)
    paths = {**config.data.paths(path.parent), **config.data.history_paths(path.parent)}
    missing = [f"{k}: file not found: {p.name}" for k, p in paths.items() if not p.is_file()]
    if missing:
        raise InputError("input data", missing)
    frames = {k: read_table(p, p.name) for k, p in paths.items()}
    planted = paths["securities"].parent / "planted.json"
    planted_ic = None
    if planted.is_file():  # a generated market records the IC it planted
        planted_ic = json.loads(planted.read_text(encoding="utf-8")).get("ic")
    return inputs_from_frames(
        config,
        frames,
        {k: p.name for k, p in paths.items()},
        path.parent,
        sources=paths,
        planted_ic=None if planted_ic is None else float(planted_ic),
    )
