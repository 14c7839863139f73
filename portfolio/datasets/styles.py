"""Ready example funds on the embedded demo market: one config and one current book each.

====================  =====================================================================
fund                  what it is
====================  =====================================================================
asia-small-cap        the default demo: Asia small caps, quality + value + earnings quality,
                      China capped at 10 % by country of risk (``demo_fund.yaml``)
japan-quality         active Japan small cap: stock picking on RORC quality and the forward
                      P/E valuation gap, under-covered names, an ESG tilt; TE budget 3-5 %
japan-dividend        Japan small-cap dividend: dividend payers only, a dividend-weighted
                      benchmark, portfolio yield above the benchmark's, low turnover
asia-ex-japan         Asia ex-Japan small cap: China at most 10 % by country of risk and
                      12 % by CN/HK listing (below its benchmark), EBIT interest cover and
                      free-cash-flow yield, Taiwan and Korea caps
====================  =====================================================================

Each config lives in the package (``portfolio/data/<name>.yaml``, identical to
``examples/<name>.yaml``). The default fund's book is the one the market generator draws;
the other funds get a *plausible current book* built here: the ``n_hold`` names of the
fund's universe with the best selection score ``s = z(tilt) + 0.5 noise`` (``z(tilt)`` the
cross-sectional z-score of the fund's main ratio at the previous month-end snapshot,
missing -> -inf), weighted ``w ∝ 0.5 / n_hold + 0.5 * b_i / sum(b)`` over the held names
(half equal, half the fund's own benchmark weight ``b``); names in an ``avoid`` group of the
style (e.g. China for the ex-Japan fund) score 2 lower, so the book starts near its
mandate to the invested share, in whole board lots at as-of prices (at least one lot),
with cash ``cash_share`` of NAV split across the fund's currencies.
Everything is a function of the market's seed and the fund name.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from importlib import resources

import numpy as np
import pandas as pd

from portfolio.datasets.conventions import USD_PER_UNIT
from portfolio.datasets.fund import whole_lots
from portfolio.datasets.fund_table import DEFAULT_FUND, FUND_STYLES, FundStyle

__all__ = [
    "FundStyle",
    "FUND_STYLES",
    "DEFAULT_FUND",
    "fund_config_text",
    "fund_market",
    "fund_demo",
]


def _style(name: str) -> FundStyle:
    if name not in FUND_STYLES:
        raise ValueError(f"unknown fund {name!r}; known: {sorted(FUND_STYLES)}")
    return FUND_STYLES[name]


def fund_config_text(name: str = DEFAULT_FUND) -> str:
    """The packaged, fully commented config of fund ``name``."""
    path = resources.files("portfolio").joinpath("data", _style(name).config_file)
    return path.read_text(encoding="utf-8")


def _selection_ratio(market, style: FundStyle) -> pd.Series:
    """The fund's tilt ratio per asset at the previous month-end snapshot (NaN if unknown)."""
    f = market.fundamentals
    dates = np.sort(f["date"].unique())
    prev = dates[-2] if len(dates) > 1 else dates[-1]
    snap = f[f["date"] == prev].set_index("asset_id")
    snap = snap.assign(market_value_local=snap["price_local"] * snap["shares_out"])
    num, den = (snap[c].astype(float) for c in style.tilt)
    return (num / den).where(den > 0).reindex(market.securities.index)


def _cash(equity_base: float, style: FundStyle) -> pd.DataFrame:
    total = equity_base * style.cash_share / (1.0 - style.cash_share)
    rows = [(c, round(total * share / USD_PER_UNIT[c], 0 if c in {"JPY", "KRW"} else 2))
            for c, share in style.cash_split]  # fmt: skip
    return pd.DataFrame(
        {
            "currency": pd.array([c for c, _ in rows], dtype="str"),
            "amount_local": np.array([a for _, a in rows], dtype=float),
        }
    )


def fund_market(market, name: str = DEFAULT_FUND, benchmark: pd.Series | None = None):
    """The demo market with fund ``name``'s current book (holdings and cash).

    ``benchmark`` holds the fund's benchmark weights over the names it may hold (its
    config's universe rules and benchmark method applied to ``market``; default: cap
    weights over the whole market); the default fund returns ``market`` unchanged.
    """
    style = _style(name)
    if style.nav_base == 0.0:
        return market
    from portfolio.markets import load_market_table, lot_sizes

    sec = market.securities
    if benchmark is None:
        benchmark = sec["market_cap_base"] / sec["market_cap_base"].sum()
    ids = benchmark.index
    ok = ids[~sec.loc[ids, "halted"].astype(bool).to_numpy()]
    ratio = _selection_ratio(market, style).reindex(ok)
    z = (ratio - ratio.mean()) / ratio.std(ddof=0)
    rng = np.random.default_rng([zlib.crc32(name.encode()), int(market.seed)])
    score = z + 0.5 * rng.standard_normal(len(z))
    for column, value in style.avoid:  # the book already respects the fund's mandate
        score = score - 2.0 * (sec.loc[ok, column] == value).astype(float)
    score = score.fillna(-np.inf)
    if int(np.isfinite(score).sum()) < style.n_hold:
        raise ValueError(f"fund {name!r}: only {int(np.isfinite(score).sum())} eligible names")
    chosen = score.sort_values(ascending=False, kind="stable").index[: style.n_hold]
    bench = benchmark.loc[chosen].astype(float)
    w = 0.5 / style.n_hold + 0.5 * bench / bench.sum()
    w = (1.0 - style.cash_share) * w / w.sum()
    price_base = sec.loc[chosen, "price_local"] * sec.loc[chosen, "currency"].map(USD_PER_UNIT)
    lots, problems = lot_sizes(sec.loc[chosen], load_market_table())
    if problems:
        raise RuntimeError(f"fund {name!r}: {problems}")
    holdings = whole_lots(
        chosen.to_numpy(), w.to_numpy(), price_base.to_numpy(), lots.to_numpy(), style.nav_base
    )
    equity = float((holdings["shares"].to_numpy() * price_base[holdings["asset_id"]]).sum())
    return replace(market, holdings=holdings, cash=_cash(equity, style))


def fund_demo(name: str = DEFAULT_FUND, seed: int | None = None):
    """``(config, market)`` for example fund ``name`` on the demo market of ``seed``.

    The config is the packaged one; the market carries the fund's own book, drawn over the
    names its universe rules keep at the config's as-of date.
    """
    import yaml

    from portfolio.config import parse_config
    from portfolio.datasets.demo import DEFAULT_SEED, generate_demo_market
    from portfolio.demo import demo_market_data
    from portfolio.selection import OUTSIDE_FLAG, constraint_columns, select_universe

    style = _style(name)
    # the C build of yaml's SafeLoader when present (same rules; 1.5 vs 11 ms on this file)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(fund_config_text(name))
    try:
        raw = loader.get_single_data()
    finally:
        loader.dispose()
    config = parse_config(raw, source=style.config_file)
    market = generate_demo_market(seed=DEFAULT_SEED if seed is None else seed)
    if style.nav_base == 0.0:
        return config, market
    as_of = pd.Timestamp(config.fund.as_of) if config.fund.as_of else market.as_of
    selection = select_universe(
        demo_market_data(market, config),
        config.universe,
        config.benchmark,
        as_of,
        constraint_columns(config.constraints),
    )
    sec = selection.data.securities
    inside = sec.loc[~sec[OUTSIDE_FLAG].to_numpy(), "benchmark_weight"]
    return config, fund_market(market, name, inside)
