"""Statistics against hand computations and a slow reference for the realised IC."""

import numpy as np
import pandas as pd
import pytest

from portfolio.backtest.realised import realised_ic
from portfolio.backtest.stats import _max_drawdown, information_ratio


def test_information_ratio_and_lo_standard_error():
    x = pd.Series([0.01, -0.005, 0.02, 0.0, 0.015, -0.01] * 4)  # 24 months = 2 years
    s = information_ratio(x)
    mean = 12 * x.mean()
    te = np.sqrt(12) * x.std(ddof=1)
    assert s["annualised"] == pytest.approx(mean, abs=1e-15)
    assert s["tracking_error"] == pytest.approx(te, abs=1e-15)
    assert s["ir"] == pytest.approx(mean / te, abs=1e-12)
    # Lo (2002): se of the monthly ratio sqrt((1 + SR_m^2 / 2) / T), scaled by sqrt(12)
    sr_m = x.mean() / x.std(ddof=1)
    assert s["ir_se"] == pytest.approx(np.sqrt(12) * np.sqrt((1 + sr_m**2 / 2) / 24), rel=1e-12)


def test_max_drawdown_of_a_relative_wealth_path():
    ratio = pd.Series([1.0, 1.1, 0.99, 1.05, 1.2, 0.9, 1.0])
    assert _max_drawdown(ratio) == pytest.approx(1 - 0.9 / 1.2, abs=1e-15)


def test_realised_ic_matches_a_slow_reference(small_run):
    """Weighted least squares by sklearn (weights 1/d), scipy's Spearman, pandas' Pearson."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.linear_model import LinearRegression

    from portfolio.backtest.comparators import StageRecorder
    from portfolio.backtest.engine import _context

    inputs, run = small_run
    row = run.periods.iloc[0]
    t, t1 = row["date"], row["next_date"]
    h = run.holdings[run.holdings["date"] == t]
    cfg = inputs.config.model_copy(
        update={"fund": inputs.config.fund.model_copy(update={"as_of": t.date()})}
    )
    data = inputs.market_at(t, h.set_index("asset_id")[["shares"]].iloc[:0], inputs.cash)
    rec = StageRecorder(cfg, inputs.base_dir)
    rec.risk_stage(data)
    from portfolio.book import build_book

    rec.alpha_stage(data, rec.risk_[0], build_book(data, nav_override=1.0))
    ctx = _context(rec, data, cfg)
    window = inputs.returns.loc[(inputs.returns.index > t) & (inputs.returns.index <= t1)]
    period = (1 + window.fillna(0)).prod() - 1
    observed = window.notna().any()
    got = realised_ic(ctx, period, observed)

    model = ctx.risk_model
    ids = [a for a in model.asset_ids if a in set(ctx.securities.index) and observed.get(a, False)]
    pos = model.asset_ids.get_indexer(ids)
    B, d = model.exposures[pos], model.specific_var[pos]
    y = period[ids].to_numpy()
    reg = LinearRegression(fit_intercept=False).fit(B, y, sample_weight=1 / d)
    e = (y - reg.predict(B)) / np.sqrt(d)
    z = ctx.alpha.score.reindex(ids).to_numpy(float)
    ok = np.isfinite(z)
    assert got["ic_names"] == ok.sum()
    assert got["ic_pearson"] == pytest.approx(pearsonr(z[ok], e[ok])[0], abs=1e-9)
    assert got["ic_rank"] == pytest.approx(spearmanr(z[ok], e[ok])[0], abs=1e-9)
    assert got["ic_pearson"] == pytest.approx(row["ic_pearson"], abs=1e-12)
