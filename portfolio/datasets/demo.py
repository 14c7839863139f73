"""The embedded demo market: a deterministic, seeded Asia small-cap universe and fund.

``generate_demo_market()`` returns everything a rebalance reads (securities, point-in-time
fundamentals, daily returns, holdings, cash, FX) with a planted, recorded alpha, so the
tool runs with no input files. Same seed and parameters, same frames, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
import pandas as pd

from portfolio.datasets.conventions import USD_PER_UNIT
from portfolio.datasets.fund import fund_cash, select_holdings, whole_lots
from portfolio.datasets.fundamentals import draw_fundamental_paths, publish_fundamentals
from portfolio.datasets.history import fx_history, securities_history
from portfolio.datasets.planted import monthly_total_returns, realised_ics
from portfolio.datasets.scores import (
    FACTOR_DEFINITIONS,
    MOMENTUM_MIN_OBS,
    PLANTED_FACTORS,
    WINSOR_PERCENTILES,
)
from portfolio.datasets.simulate import (
    FACTOR_T_DF,
    FACTOR_VOL_ANNUAL,
    SPECIFIC_T_DF,
    TRADING_DAYS,
    draw_shocks,
    fundamental_news,
    simulate_market,
)
from portfolio.datasets.universe import draw_universe
from portfolio.markets import load_market_table, lot_sizes

__all__ = ["DEFAULT_SEED", "DemoMarket", "generate_demo_market", "SECURITIES_COLUMNS"]

DEFAULT_SEED = 20261122
BASE_CURRENCY = "USD"
FUND_NAV_BASE = 500e6
FUND_CASH_SHARE = 0.015
FUND_HOLDINGS_PER_NAME = 8  # one holding per 8 names: 150 of 1,200
BUSINESS_DAYS_PER_YEAR = 261
SECURITIES_COLUMNS = (
    "name",
    "ticker",
    "exchange",
    "country",
    "country_of_risk",
    "sector",
    "industry",
    "currency",
    "price_local",
    "market_cap_base",
    "adv_base",
    "lot_size",
    "benchmark_weight",
    "china_revenue_share",
    "beta",
    "esg_score",
    "analyst_count",
    "halted",
    "half_spread_bps",
)


@dataclass(frozen=True, eq=False)
class DemoMarket:
    """A generated demo market (README, "Input files" data contracts).

    Attributes
    ----------
    as_of : the as-of date (last day of ``returns``, last fundamentals date).
    base_currency : ``"USD"``.
    seed : the seed the market was generated from.
    securities : indexed by ``asset_id``; columns ``SECURITIES_COLUMNS``. Prices in local
        currency, ``market_cap_base`` and ``adv_base`` (average daily traded value) in USD,
        ``lot_size`` only for Hong Kong (others take the market table's lot),
        ``benchmark_weight`` cap-weighted over all securities (halted names included at
        their last price, as index providers keep suspended names), summing to 1.
    fundamentals : long monthly point-in-time snapshots (RangeIndex), see
        :mod:`portfolio.datasets.fundamentals`.
    returns : daily USD total returns, DatetimeIndex ``date`` x ``asset_id`` columns.
    holdings : ``asset_id, shares`` (int64, whole board lots).
    cash : ``currency, amount_local``.
    fx : ``currency, base_per_unit`` (USD per unit; USD is 1.0).
    securities_history : point-in-time securities, one snapshot per month-end (``date,
        asset_id, *SECURITIES_COLUMNS``; names listed then), the last equal to
        ``securities`` (:mod:`portfolio.datasets.history`).
    fx_history : ``date, currency, base_per_unit`` at each month-end.
    planted : JSON-serialisable record of the generation: seed, IC, factor definitions,
        blend weights, month-start dates, realised ICs, true risk parameters.
    records : the function computing ``planted``, ``securities_history`` and
        ``fx_history`` (a dict with those keys) from the generator's arrays, called on the
        first access of one of them; the three are kept from then on. A rebalance on the
        demo market reads none of them (they are a sixth of the generator's time); a
        backtest and ``active-etf demo-data`` read them all.
    """

    as_of: pd.Timestamp
    base_currency: str
    seed: int
    securities: pd.DataFrame
    fundamentals: pd.DataFrame
    returns: pd.DataFrame
    holdings: pd.DataFrame
    cash: pd.DataFrame
    fx: pd.DataFrame
    records: Callable[[], dict] = field(repr=False)

    @cached_property
    def _recorded(self) -> dict:
        return self.records()

    @property
    def planted(self) -> dict:
        return self._recorded["planted"]

    @property
    def securities_history(self) -> pd.DataFrame:
        return self._recorded["securities_history"]

    @property
    def fx_history(self) -> pd.DataFrame:
        return self._recorded["fx_history"]


def _check_params(seed, n_securities, as_of, years, ic) -> pd.Timestamp:
    problems = []
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        problems.append(f"The 'seed' parameter must be a non-negative int. Got {seed!r} instead.")
    if (
        isinstance(n_securities, bool)
        or not isinstance(n_securities, (int, np.integer))
        or n_securities < 100
    ):
        problems.append(
            f"The 'n_securities' parameter must be an int >= 100. Got {n_securities!r} instead."
        )
    if not isinstance(years, (int, float)) or not 1.5 <= years <= 20:
        problems.append(f"The 'years' parameter must be in [1.5, 20]. Got {years!r} instead.")
    if not isinstance(ic, (int, float)) or not 0.0 <= ic < 1.0:
        problems.append(f"The 'ic' parameter must be in [0, 1). Got {ic!r} instead.")
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        ts = None
        problems.append(f"The 'as_of' parameter must be a date. Got {as_of!r} instead.")
    if ts is not None and (ts.weekday() >= 5 or ts != ts.normalize()):
        problems.append(f"The 'as_of' parameter must be a business day. Got {as_of!r} instead.")
    if problems:
        raise ValueError("; ".join(problems))
    return ts


def _month_end_positions(dates: pd.DatetimeIndex) -> np.ndarray:
    """Rows of the last business day of each calendar month in ``dates``."""
    last = pd.Series(np.arange(len(dates))).groupby(dates.to_period("M")).max()
    return last.to_numpy()


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    return obj


def generate_demo_market(
    seed: int = DEFAULT_SEED,
    n_securities: int = 1200,
    as_of: str = "2026-10-30",
    years: float = 3.0,
    ic: float = 0.06,
) -> DemoMarket:
    """Generate the demo market.

    Parameters
    ----------
    seed : seed of ``numpy.random.default_rng``; everything is a function of the arguments.
    n_securities : universe size (>= 100); the fund holds ``n_securities // 8`` names.
    as_of : as-of business day; the history is the ``round(261 * years)`` business days
        ending there.
    years : length of the daily history.
    ic : planted information coefficient of the composite for next-month residual returns.

    Returns
    -------
    DemoMarket
    """
    as_of_ts = _check_params(seed, n_securities, as_of, years, ic)
    dates = pd.bdate_range(end=as_of_ts, periods=round(BUSINESS_DAYS_PER_YEAR * years), name="date")
    me = _month_end_positions(dates)
    rng = np.random.default_rng(seed)

    uni = draw_universe(rng, int(n_securities), dates)
    order = np.argsort(uni["asset_id"].to_numpy(), kind="stable")
    uni = uni.iloc[order].reset_index(drop=True)
    shocks = draw_shocks(rng, uni, len(dates))
    news = fundamental_news(uni, shocks, me, float(ic))
    paths = draw_fundamental_paths(rng, uni, news)
    sim = simulate_market(uni, paths, shocks, dates, me, float(ic))

    # scale relative units to local currency: as-of price and as-of market cap
    asset_id = uni["asset_id"].to_numpy()
    fx_asof = uni["currency"].map(USD_PER_UNIT).to_numpy(dtype=float)
    price_asof = uni["price_local"].to_numpy()
    lp_end = sim.log_price[-1]
    price_scale = price_asof * np.exp(-lp_end)
    # cap_usd is the cap at the start of the history; the as-of cap follows the simulated
    # USD price and share count (drawing the as-of cap and back-casting would make a
    # name's past cap know its future return: a spurious small-cap premium)
    usd_move = np.exp(lp_end + sim.fx_log[-1]) * paths["shares_rel"][-1]
    shares_asof = uni["cap_usd"].to_numpy() * usd_move / (price_asof * fx_asof)
    share_scale = shares_asof / paths["shares_rel"][-1]
    price_me = price_asof * np.exp(sim.log_price[me] - lp_end)
    price_me[-1] = price_asof
    fx_me = fx_asof * np.exp(sim.fx_log[me] - sim.fx_log[-1])
    fx_me[-1] = fx_asof
    shares_me = np.round(paths["shares_rel"] * share_scale)
    fundamentals = publish_fundamentals(
        paths, asset_id, dates[me], sim.listed, price_me, shares_me, fx_me, price_scale, share_scale
    )

    cap = price_asof * shares_me[-1] * fx_asof
    adv = np.round(cap * uni["turnover"].to_numpy() / TRADING_DAYS)
    spread_noise = np.exp(0.2 * rng.standard_normal(len(uni)))
    spread = 4.0 + 25.0 / np.sqrt(adv / 1e6) * spread_noise
    securities = pd.DataFrame(
        {
            "asset_id": pd.array(asset_id, dtype="str"),
            **{k: uni[k].to_numpy() for k in ("name", "ticker", "exchange", "country")},
            **{k: uni[k].to_numpy() for k in ("country_of_risk", "sector", "industry", "currency")},
            "price_local": price_asof,
            "market_cap_base": cap,
            "adv_base": adv,
            "lot_size": uni["lot_size"].to_numpy(),
            "benchmark_weight": cap / cap.sum(),
            "china_revenue_share": uni["china_revenue_share"].to_numpy(),
            "beta": uni["beta"].to_numpy(),
            "esg_score": paths["esg_score"][-1],
            "analyst_count": paths["analyst_count"][-1],
            "halted": uni["halted"].to_numpy(),
            "half_spread_bps": np.round(spread, 1),
        }
    ).set_index("asset_id")
    for col in ("name", "ticker", "exchange", "country", "country_of_risk", "sector", "industry",
                "currency"):  # fmt: skip
        securities[col] = securities[col].astype("str")

    lots, problems = lot_sizes(securities, load_market_table())
    if problems:  # the generator and the market table disagree: a bug, not bad input
        raise RuntimeError(f"demo securities: {problems}")
    prev = len(me) - 2
    chosen, weights = select_holdings(
        rng,
        sim.composite[prev],
        (uni["country"] == "JP").to_numpy(),
        (uni["country_of_risk"] == "CN").to_numpy(),
        int(n_securities) // FUND_HOLDINGS_PER_NAME,
        1.0 - FUND_CASH_SHARE,
        uni["halted"].to_numpy(),
    )
    px_prev = (price_me[prev] * fx_me[prev])[chosen]
    growth = (price_asof * fx_asof)[chosen] / px_prev  # last month's USD price change
    nav_prev = FUND_NAV_BASE / float(weights @ growth + FUND_CASH_SHARE)
    holdings = whole_lots(asset_id[chosen], weights, px_prev, lots.to_numpy()[chosen], nav_prev)
    px_usd = pd.Series(price_asof * fx_asof, index=asset_id)
    equity = float((holdings["shares"].to_numpy() * px_usd[holdings["asset_id"]].to_numpy()).sum())
    cash = fund_cash(equity, FUND_CASH_SHARE, USD_PER_UNIT)
    currencies = ["USD", *sorted(set(uni["currency"]))]
    fx = pd.DataFrame(
        {
            "currency": pd.array(currencies, dtype="str"),
            "base_per_unit": np.array([USD_PER_UNIT[c] for c in currencies], dtype=float),
        }
    )

    returns = pd.DataFrame(
        sim.returns,
        index=pd.DatetimeIndex(dates, freq=None, name="date"),
        columns=pd.Index(asset_id, name="asset_id", dtype="str"),
    )
    records = partial(
        _records,
        uni=uni, dates=dates, me=me, sim=sim, paths=paths, price_me=price_me,
        shares_me=shares_me, fx_me=fx_me, spread_noise=spread_noise,
        params={"seed": seed, "ic": ic, "as_of": as_of_ts, "n_securities": n_securities},
        fund={"equity": equity, "n_holdings": len(holdings), "prev": prev},
    )  # fmt: skip
    return DemoMarket(
        as_of=as_of_ts,
        base_currency=BASE_CURRENCY,
        seed=int(seed),
        securities=securities,
        fundamentals=fundamentals,
        returns=returns,
        holdings=holdings,
        cash=cash,
        fx=fx,
        records=records,
    )


def _records(
    *, uni, dates, me, sim, paths, price_me, shares_me, fx_me, spread_noise, params, fund
) -> dict:
    """``planted``, ``securities_history`` and ``fx_history`` of a generated market (see
    :class:`DemoMarket`): the generator's intermediate arrays in, nothing random drawn."""
    asset_id = uni["asset_id"].to_numpy()
    sec_history = securities_history(
        uni, dates, me, sim.listed, price_me, shares_me, fx_me, spread_noise, paths,
        SECURITIES_COLUMNS,
    )  # fmt: skip
    total = monthly_total_returns(sim.returns, me)
    realised = realised_ics(
        dates[me[:-1]], sim.composite[:-1], sim.resid_month, sim.sigma_month, total
    )
    planted = {
        "seed": int(params["seed"]),
        "ic": float(params["ic"]),
        "as_of": params["as_of"].strftime("%Y-%m-%d"),
        "base_currency": BASE_CURRENCY,
        "n_securities": int(params["n_securities"]),
        "n_days": len(dates),
        "factors": list(PLANTED_FACTORS),
        "factor_definitions": FACTOR_DEFINITIONS,
        "blend_weights": {f: 1.0 / len(PLANTED_FACTORS) for f in PLANTED_FACTORS},
        "cleaning": {
            "winsorize_percentiles": list(WINSOR_PERCENTILES),
            "zscore": "equal-weighted mean, population std (ddof=0), per date over listed names",
            "missing": "0 after z-scoring",
            "composite": "equal-weighted mean of the six z-scores, z-scored again",
            "momentum_min_obs": MOMENTUM_MIN_OBS,
        },
        "score_dates": [d.strftime("%Y-%m-%d") for d in dates[me]],
        "month_starts": [d.strftime("%Y-%m-%d") for d in dates[me[:-1]]],
        "residual_model": (
            "monthly specific log return over (t_m, t_m+1] = S_i (k zp_i + sqrt(1 - IC^2) u_i), "
            "S_i = annual specific vol * sqrt(n_days / 252), zp the standardised residual of "
            "z on the month's exposures over S (beta, country, sector, size, value, momentum), "
            "so B' D^-1 (S zp) = 0, k = IC sqrt((1 - IC^2) / (c^2 - IC^2)), c = corr(z, zp), "
            "so corr(z, residual / S) = IC; drift S_i k zp_i / n_days per day plus Student-t "
            "daily noise"
        ),
        "drift_scale": [float(v) for v in sim.drift_scale],
        "composite_neutral_corr": [float(v) for v in sim.composite_neutral_corr],
        "realised_ic": realised,
        "risk_model": {
            "factor_vol_annual": FACTOR_VOL_ANNUAL,
            "factor_t_df": FACTOR_T_DF,
            "specific_t_df": SPECIFIC_T_DF,
            "exposures": "market: securities.beta; country of listing; sector; size: z of log "
            "as-of cap; value: z of starting book-to-price; momentum: z of momentum_12_1; "
            "plus the FX return of the listing currency",
            "specific_vol_annual": dict(zip(asset_id.tolist(), sim.spec_vol.tolist(), strict=True)),
        },
        "benchmark": "cap-weighted over all securities, halted names included at last price",
        "fund": {
            "nav_base": fund["equity"] / (1 - FUND_CASH_SHARE),
            "cash_share": FUND_CASH_SHARE,
            "n_holdings": int(fund["n_holdings"]),
            "rebalanced_on": dates[me[fund["prev"]]].strftime("%Y-%m-%d"),
        },
        "halted": sorted(asset_id[uni["halted"].to_numpy()].tolist()),
        "listed_during_history": sorted(asset_id[uni["listing_pos"].to_numpy() >= 0].tolist()),
    }
    return {
        "planted": _jsonable(planted),
        "securities_history": sec_history,
        "fx_history": fx_history(uni, dates, me, fx_me, USD_PER_UNIT),
    }
