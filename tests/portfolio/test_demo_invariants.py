"""Every constraint of the demo fund, checked independently on the solved and the rounded portfolio.

The checks below are written directly from the config's numbers with plain pandas, not through
the constraint classes, so they are an independent reference. On the solved portfolio every limit
must hold to 1e-6 (solver tolerance). On the board-lot-rounded portfolio every limit must hold to
1e-9, or else its breach must be listed in the run's re-check (never hidden).
"""

import numpy as np
import pandas as pd
import pytest
import yaml

from portfolio.cli import demo_config_text
from portfolio.config import parse_config
from portfolio.datasets import generate_demo_market
from portfolio.demo import demo_market_data
from portfolio.rebalance import Rebalancer

SOLVER_TOL = 1e-6
ROUNDED_TOL = 1e-9


@pytest.fixture(scope="module")
def run():
    config = parse_config(yaml.safe_load(demo_config_text()))
    data = demo_market_data(generate_demo_market(), config)
    return Rebalancer(config).run(data)


def limit_checks(run, w: pd.Series) -> dict[str, float]:
    """Largest violation of each demo limit (<= 0 when it holds), from the config's numbers."""
    sec = run.data.securities
    b = run.book.benchmark
    w0 = run.book.weights
    nav = run.book.nav_base
    a = w - b
    x = w - w0
    out = {}
    out["position bounds"] = max((w - 0.025).max(), (-w).max(), (a - 0.02).max(), (-0.02 - a).max())
    sector = a.groupby(sec["sector"]).sum()
    out["Sector active"] = max((sector - 0.05).max(), (-0.05 - sector).max())
    country = a.groupby(sec["country"]).sum()
    hi = pd.Series(0.10, index=country.index).where(country.index != "JP", 0.15)
    lo = pd.Series(-0.10, index=country.index).where(country.index != "JP", -0.05)
    out["Country active"] = max((country - hi).max(), (lo - country).max())
    out["China exposure"] = w[sec["country_of_risk"] == "CN"].sum() - 0.10
    out["China revenue look-through"] = (w * sec["china_revenue_share"]).sum() - 0.15
    out["turnover"] = 0.5 * x.abs().sum() - 0.20
    out["liquidity"] = (x.abs() * nav - 0.20 * 3 * sec["adv_base"]).max() / nav
    cash = 1.0 - w.sum()
    out["cash"] = max(cash - 0.03, 0.005 - cash)
    halted = sec["halted"].astype(bool)
    out["halted"] = (w - w0)[halted].abs().max()
    return out


def test_solved_portfolio_meets_every_limit(run):
    w = run.optimization.weights.reindex(run.data.securities.index).fillna(0.0)
    assert run.optimization.status == "optimal"
    for name, v in limit_checks(run, w).items():
        assert v <= SOLVER_TOL, f"{name} violated by {v}"


def test_rounded_portfolio_meets_every_limit_or_reports_it(run):
    w = run.trades.weights_after
    reported = {b["name"] for b in run.breaches}
    for name, v in limit_checks(run, w).items():
        if v > ROUNDED_TOL:
            assert any(name.lower() in r.lower() for r in reported), (name, v, reported)


def test_rounded_holdings_are_whole_lots_and_frozen_names_untouched(run):
    h = run.trades.holdings
    assert (h["shares_before"] + h["trade_shares"] == h["shares_after"]).all()
    assert (h["trade_shares"] % h["lot_size"] == 0).all()
    frozen = run.frozen[run.frozen].index
    assert (h.loc[frozen, "trade_shares"] == 0).all()
    # weights after + cash after = 1 exactly (fractions of pre-trade NAV)
    total = run.trades.weights_after.sum() + run.trades.cash_after_base / run.book.nav_base
    assert total == pytest.approx(1.0, abs=1e-12)


def test_rounding_moves_the_portfolio_little(run):
    w_opt = run.optimization.weights.reindex(run.data.securities.index).fillna(0.0)
    diff = (run.trades.weights_after - w_opt).abs()
    lot_value = run.trades.holdings["lot_size"] * run.book.price_base / run.book.nav_base
    filtered = {f["asset_id"] for f in run.trades.filtered} | {
        c["asset_id"] for c in run.trades.cash_cuts
    }
    # nearest-lot rounding moves a name by at most half a lot; rounding toward a limit by one lot
    ok = diff <= lot_value + 1e-12
    ok[list(filtered)] = True
    assert ok.all(), diff[~ok].head()
    assert np.isfinite(run.summary()["portfolio"]["after_rounding"]["ex_ante_te"])


def test_terminal_summary_shows_breaches_never_hides_them(run):
    from portfolio.report import terminal_summary

    s = run.summary()
    assert "all constraints hold on the rounded portfolio" in terminal_summary(s)
    s["constraint_breaches_after_rounding"] = [
        {"name": "turnover", "violation": 0.001, "unit": "weight"}
    ]
    text = terminal_summary(s)
    assert "WARNING: 1 constraint breaches after board-lot rounding" in text
    assert "- turnover: 0.001 weight" in text


def test_demo_is_solved_by_the_certified_method_and_says_so(run):
    """The demo fund has the dual method's form; its certificate reaches the summary."""
    from optimizers.dual import FEAS_TOL, GAP_TOL
    from portfolio.report import terminal_summary

    s = run.summary()
    opt = s["optimizer"]
    assert opt["solver"] == "DUAL_NEWTON"
    assert opt["certificate"]["duality_gap"] <= GAP_TOL
    assert opt["certificate"]["max_violation"] <= FEAS_TOL
    assert "solver DUAL_NEWTON (optimal, certified: duality gap" in terminal_summary(s)
