"""run_alpha end to end on the small synthetic market: formulas, invariants, reports."""

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from optimizers.risk import FactorRiskModel
from portfolio.alpha import AlphaSpec, format_alpha_diagnostics, run_alpha
from portfolio.errors import ConfigError, InputError


@pytest.fixture(scope="module")
def market(make_market):
    return make_market(n=80, months=16, seed=3)


def run(m, spec=None, **kw):
    args = dict(
        securities=m.securities,
        fundamentals=m.fundamentals,
        returns=m.returns,
        residual_vol=m.residual_vol,
        benchmark=m.benchmark,
        as_of=m.as_of,
    )
    args.update(kw)
    return run_alpha(spec or AlphaSpec(), **args)


def slow_composite(snap: pd.DataFrame, mom: pd.Series) -> pd.Series:
    """The planted composite written out name by name (as portfolio.datasets.scores defines it)."""
    cols = {}
    p = snap["price_local"]
    cols["ey"] = snap["eps_fwd"] / p
    noc = snap["net_operating_capital"]
    cols["rorc"] = (snap["ebit"] / noc).where(noc > 0)
    cols["dy"] = snap["dps"] / p
    cover = []
    for e, i in zip(snap["ebit"], snap["interest_expense"], strict=True):
        if np.isnan(e) or np.isnan(i) or i < 0 or (i == 0 and e <= 0):
            cover.append(np.nan)
            continue
        c = 100.0 if i == 0 else min(max(e / i, -10.0), 100.0)
        cover.append(np.log1p(max(c, -0.99)))
    cols["cover"] = pd.Series(cover, index=snap.index)
    cols["fcf"] = snap["free_cash_flow"] / (p * snap["shares_out"])
    cols["mom"] = mom.reindex(snap.index)
    zs = []
    for x in cols.values():
        v = x.dropna()
        lo, hi = np.percentile(v, [1, 99])
        w = x.clip(lo, hi)
        z = (w - w[x.notna()].mean()) / w[x.notna()].std(ddof=0)
        zs.append(z.fillna(0.0))
    comp = sum(zs) / len(zs)
    return (comp - comp.mean()) / comp.std(ddof=0)


def test_default_spec_is_the_planted_composite(market):
    m = market
    res = run(m)
    snap = m.fundamentals[m.fundamentals["date"] == m.as_of].set_index("asset_id")
    days = m.returns.index
    start = days[days.to_period("M") == (m.as_of.to_period("M") - 12)].max()
    end = days[days.to_period("M") == (m.as_of.to_period("M") - 1)].max()
    window = m.returns[(days > start) & (days <= end)]
    mom = (1 + window).prod() - 1
    want = slow_composite(snap, mom)
    np.testing.assert_allclose(
        res.score.to_numpy(), want.reindex(res.score.index).to_numpy(), atol=1e-9
    )


def test_alpha_is_grinold_kahn_and_benchmark_neutral(market):
    m = market
    res = run(m, AlphaSpec(ic=0.07))
    raw = np.sqrt(12.0) * 0.07 * m.residual_vol * res.score  # monthly IC, annual vol
    shift = (m.benchmark * raw).sum() / m.benchmark.sum()
    np.testing.assert_allclose(res.alpha, raw - shift, atol=1e-14)
    assert abs((m.benchmark * res.alpha).sum()) < 1e-14
    assert res.alpha.index.equals(m.securities.index) and res.excluded.empty
    json.dumps(res.diagnostics)  # JSON-serialisable


def test_exclusions_are_reported_never_silent(market):
    m = market
    spec = AlphaSpec(
        factors={
            "earnings_yield_fwd": {"missing": "exclude"},
            "rorc": {"missing": "sector_median"},
        },
        esg_screen={"min_score": 20.0},
    )
    vol = m.residual_vol.drop(m.securities.index[:2])
    res = run(m, spec, residual_vol=vol)
    snap = m.fundamentals[m.fundamentals["date"] == m.as_of].set_index("asset_id")
    no_ey = set(snap.index[snap["eps_fwd"].isna()])
    low_esg = set(m.securities.index[m.securities["esg_score"] < 20])
    want = no_ey | low_esg | set(m.securities.index[:2])
    assert set(res.excluded["asset_id"]) == want
    out = res.excluded.set_index("asset_id")["reason"]
    assert all("missing earnings_yield_fwd" in out[a] for a in no_ey)
    assert all("esg screen" in out[a] for a in low_esg)
    assert (res.alpha[list(want)] == 0).all() and res.score[list(want)].isna().all()
    assert abs((m.benchmark * res.alpha).sum()) < 1e-14
    rep = res.diagnostics["factors"]
    assert rep["earnings_yield_fwd"]["filled"] == 0 and rep["earnings_yield_fwd"]["missing"] == len(
        no_ey
    )
    assert rep["rorc"]["filled"] == int(
        (snap["net_operating_capital"] <= 0).sum() + snap["ebit"].isna().sum()
    )


def test_neutralized_alpha_scores_sum_to_zero_by_sector(market):
    res = run(market, AlphaSpec(neutralize=["sector", "country"]))
    fs = res.factor_scores.join(market.securities[["sector", "country"]])
    for g in ("sector", "country"):
        # neutralised, then rescaled: group sums stay zero
        assert np.allclose(fs.groupby(g)[list(res.factor_scores.columns)].sum(), 0.0, atol=1e-9)


def test_returns_after_as_of_change_nothing(market):
    """Future returns, even perfectly aligned with a factor, must not change the alpha."""
    m = market
    spec = AlphaSpec(blend={"method": "learned", "min_periods": 3})
    cut = m.returns.loc[: m.as_of]
    future_days = pd.bdate_range(m.as_of + pd.Timedelta(days=1), periods=40)
    snap = m.fundamentals[m.fundamentals["date"] == m.as_of].set_index("asset_id")
    signal = (snap["free_cash_flow"] / (snap["price_local"] * snap["shares_out"])).rank(pct=True)
    drift = np.broadcast_to(0.05 * (signal.to_numpy() - 0.5), (len(future_days), len(signal)))
    future = pd.DataFrame(drift, index=future_days, columns=snap.index)
    leaked = pd.concat([cut, future[cut.columns]])
    a = run(m, spec, returns=cut)
    b = run(m, spec, returns=leaked)
    pd.testing.assert_series_equal(a.alpha, b.alpha)
    assert a.diagnostics["blend"] == b.diagnostics["blend"]


def test_planted_ic_is_recovered(make_market):
    m = make_market(n=150, months=20, seed=5, signal="earnings_yield_fwd", ic=0.3)
    spec = AlphaSpec(factors={"earnings_yield_fwd": {}}, ic_residualize=[])
    ic = run(m, spec).diagnostics["ic"]["blend"]
    assert ic["n_periods"] == 19
    assert abs(ic["mean"] - 0.3) < 3 * ic["se"] + 0.03  # rank-planted vs Pearson measured


@pytest.mark.parametrize("method", ["ic_weighted", "learned"])
def test_history_blends_find_the_planted_factor(method, make_market):
    m = make_market(n=150, months=20, seed=6, signal="fcf_yield", ic=0.3)
    res = run(m, AlphaSpec(blend={"method": method, "min_periods": 4}))
    w = res.diagnostics["blend"]["weights"]
    assert max(w, key=lambda k: abs(w[k])) == "fcf_yield"
    assert res.diagnostics["ic"]["blend"]["mean"] > 0.15


def test_risk_alignment_warns(market):
    m = market
    res = run(m)
    ids = m.securities.index
    B = np.column_stack([np.ones(len(ids)), res.score.to_numpy() + 0.1 * np.arange(len(ids)) % 1])
    rm = FactorRiskModel(
        ids, pd.Index(["market", "style"]), B, np.eye(2) * 0.01, np.full(len(ids), 0.04)
    )
    res = run(m, risk_model=rm)
    assert any("'style'" in w for w in res.warnings)
    assert res.diagnostics["risk_alignment"]["correlation"]["market"] is None
    text = format_alpha_diagnostics(res)
    for part in (
        "coverage",
        "blended score IC",
        "factor correlation",
        "top names",
        "bottom names",
        "alignment",
    ):
        assert part in text


def test_bad_input_and_config_errors(market):
    m = market
    with pytest.raises(ValidationError, match=r"factors\.rorc\.wieght"):
        AlphaSpec.model_validate({"factors": {"rorc": {"wieght": 1}}})
    with pytest.raises(ValidationError, match="orthogonalize: unknown factors"):
        AlphaSpec(orthogonalize=["rorc", "nope"])
    with pytest.raises(InputError, match="needs a returns history"):
        run(m, AlphaSpec(blend={"method": "learned"}), returns=None)
    with pytest.raises(InputError, match=r"residual_vol: .*negative"):
        run(m, residual_vol=m.residual_vol.where(m.residual_vol > 0.25, -1.0))
    with pytest.raises(InputError, match=r"securities: .*missing columns \['sector'\]"):
        run(
            m, securities=m.securities.drop(columns="sector"), spec=AlphaSpec(neutralize=["sector"])
        )
    with pytest.raises(InputError, match="factor 'dividend_yield'.*dps"):
        run(m, fundamentals=m.fundamentals.drop(columns="dps"))
    with pytest.raises(ConfigError, match="alpha.blend.regressor"):
        run(m, AlphaSpec(blend={"method": "learned", "regressor": "os.system"}))


def test_single_snapshot_and_user_score(market):
    m = market
    snap = m.fundamentals[m.fundamentals["date"] == m.as_of].drop(columns="date")
    secs = m.securities.assign(my_view=np.linspace(-1, 1, len(m.securities)))
    spec = AlphaSpec(factors={"my_view": {}, "roe": {"missing": "country_median"}})
    res = run(m, spec, securities=secs, fundamentals=snap, returns=None)
    assert res.diagnostics["ic"] is None and res.diagnostics["history_dates"] == 1
    assert res.factor_scores["my_view"].is_monotonic_increasing


def test_negative_history_ic_with_positive_weight_warns(make_market):
    """The planted signal (forward earnings yield, IC about 0.3) scored with the wrong
    direction has a clearly negative mean IC over the history; with a positive fixed
    weight the run warns, naming the factor. The right direction gives no such warning."""
    m = make_market(n=80, months=16, seed=5, signal="earnings_yield_fwd", ic=0.3)
    flipped = AlphaSpec(factors={"earnings_yield_fwd": {"direction": -1}})
    res = run(m, flipped)
    ic = res.diagnostics["ic"]["factors"]["earnings_yield_fwd"]
    assert ic["mean"] < -0.1  # planted 0.3, flipped
    warned = [w for w in res.warnings if "'earnings_yield_fwd'" in w and "negative" in w]
    assert len(warned) == 1 and f"{ic['mean']:+.3f}" in warned[0]
    assert warned[0] in format_alpha_diagnostics(res)
    right = run(m, AlphaSpec(factors={"earnings_yield_fwd": {}}))
    assert right.diagnostics["ic"]["factors"]["earnings_yield_fwd"]["mean"] > 0.1
    assert not any("negative" in w for w in right.warnings)
