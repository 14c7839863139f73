"""By-hand tests of each constraint kind: set the variables, compare with the numeric value."""

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from constraints import (
    CONSTRAINT_KINDS,
    ConstraintSpecError,
    ProblemContext,
    ProblemData,
    build_constraint,
    check_constraints,
)
from optimizers.synthetic import synthetic_problem

SPECS = {
    "position_bounds": {
        "max": 0.05,
        "active_min": -0.02,
        "active_max": 0.02,
        "overrides": {"A00001": [0.0, 0.01]},
    },
    "group_bounds": {"column": "sector", "relative_to": "benchmark", "default": [-0.05, 0.05]},
    "attribute_bounds": {"column": "china_revenue_share", "max": 0.15},
    "turnover": {
        "max": 0.2,
        "max_buy": 0.15,
        "max_sell": 0.15,
        "column": "country",
        "by_group": {"JP": 0.1},
    },
    "liquidity": {"max_pct_adv": 0.1, "days": 2, "liquidation_days": 5},
    "tracking_error": {"max": 0.05},
    "total_risk": {"max": 0.2},
    "factor_risk_share": {"max_share": 0.5, "te_budget": 0.05},
    "restricted": {"assets": ["A00002", "A00003"]},
    "no_buy": {"assets": ["A00004"]},
    "no_sell": {"assets": ["A00005"]},
    "hold": {"assets": ["A00006"]},
    "halted": {"column": "halted"},
    "cash_band": {"min": 0.0, "max": 0.02},
    "max_names": {"max": 10},
    "min_holding": {"min": 0.005},
    "min_trade": {"min": 0.002},
    "linear": {"coefficients": {"A00001": 1.0, "A00002": -0.5}, "max": 0.01},
    "full_investment": {},
}


@pytest.fixture(scope="module")
def setup():
    p = synthetic_problem(40, n_style=3, seed=1)
    assets = p.assets.copy()
    assets.loc[assets.index[7], "halted"] = True
    data = ProblemData.from_series(assets, p.risk, p.benchmark, p.w0, nav_base=p.nav_base)
    return data


def test_every_kind_is_covered():
    assert set(SPECS) == set(CONSTRAINT_KINDS)


@pytest.mark.parametrize("kind", [k for k in SPECS if not CONSTRAINT_KINDS[k].integer])
def test_cvxpy_rows_match_numeric_values(setup, kind):
    """Set w (and buy/sell/f consistently); every term's value equals ``values(w)``."""
    data = setup
    c = build_constraint({"kind": kind, **SPECS[kind]})
    ctx = ProblemContext(data)
    terms = c.terms(ctx)  # creates f if needed
    rng = np.random.default_rng(3)
    w = rng.dirichlet(np.ones(data.n)) * 0.97
    x = w - data.w0
    ctx.w.value, ctx.buy.value, ctx.sell.value = w, np.maximum(x, 0), np.maximum(-x, 0)
    if hasattr(ctx, "f"):
        ctx.f.value = data.risk.exposures.T @ (w - data.benchmark)
    for term, val in zip(terms, c.values(data, w), strict=True):
        np.testing.assert_allclose(np.atleast_1d(term.expr.value), val, rtol=1e-9, atol=1e-12)


def test_by_hand_values(setup):
    data = setup
    w = data.w0.copy()
    w[0] += 0.01
    w[1] -= 0.004
    t = build_constraint({"kind": "turnover", "max": 0.001})
    assert t.values(data, w)[0][0] == pytest.approx(0.007, abs=1e-15)
    assert t.violation(pd.Series(w, index=data.ids), data).iloc[0] == pytest.approx(0.006)
    cash = build_constraint({"kind": "cash_band", "min": 0.0, "max": 0.0})
    assert cash.values(data, w)[0][0] == pytest.approx(1 - w.sum())
    te = build_constraint({"kind": "tracking_error", "max": 0.01})
    dense = np.sqrt((w - data.benchmark) @ data.risk.covariance() @ (w - data.benchmark))
    assert te.values(data, w)[0][0] == pytest.approx(dense, rel=1e-10)
    liq = build_constraint({"kind": "liquidity", "max_pct_adv": 0.1, "days": 1})
    lim = liq.limits(data)[0]
    adv = data.assets["adv_base"].to_numpy() / data.nav_base
    np.testing.assert_allclose(lim.hi - data.w0, 0.1 * adv)
    # a trade of 20 % of ADV breaches by 0.1 (own units: fraction of ADV)
    w2 = data.w0.copy()
    w2[3] += 0.2 * adv[3]
    v = liq.violation(pd.Series(w2, index=data.ids), data)
    assert v[data.ids[3]] == pytest.approx(0.1, rel=1e-9)
    names = build_constraint({"kind": "max_names", "max": 3})
    assert names.values(data, w)[0][0] == (w > 1e-6).sum()


def test_group_bounds_custom_groups_and_active(setup):
    data = setup
    c = build_constraint(
        {
            "kind": "group_bounds",
            "name": "China exposure",
            "column": "country_of_risk",
            "groups": {"China": ["CN"]},
            "bounds": {"China": [0.0, 0.10]},
        }
    )
    w = data.w0
    slow = sum(w[i] for i in range(data.n) if data.assets["country_of_risk"].iloc[i] == "CN")
    assert c.values(data, w)[0][0] == pytest.approx(slow)
    act = build_constraint(
        {
            "kind": "group_bounds",
            "column": "sector",
            "relative_to": "benchmark",
            "bounds": {"Industrials": [-0.01, 0.01]},
        }
    )
    lim = act.limits(data)[0]
    ind = (data.assets["sector"] == "Industrials").to_numpy()
    assert lim.hi[0] == pytest.approx(data.benchmark[ind].sum() + 0.01)


@pytest.mark.parametrize(
    "spec, match",
    [
        (
            {"kind": "group_bounds", "column": "sector", "bounds": {"Nope": [0, 0.1]}},
            "unknown groups",
        ),
        ({"kind": "group_bounds", "column": "missing_col", "default": [0, 0.1]}, "missing_col"),
        (
            {
                "kind": "group_bounds",
                "column": "country",
                "groups": {"X": ["ZZ"]},
                "bounds": {"X": [0, 0.1]},
            },
            "not found",
        ),
        ({"kind": "restricted", "assets": ["NOPE"]}, "unknown assets"),
        ({"kind": "position_bounds", "overrides": {"NOPE": [0, 0.1]}}, "unknown assets"),
        ({"kind": "attribute_bounds", "column": "sector", "max": 1.0}, "non-numeric"),
    ],
)
def test_unknown_names_raise_at_validation(setup, spec, match):
    c = build_constraint(spec)
    with pytest.raises(ConstraintSpecError, match=match):
        c.validate(setup)


@pytest.mark.parametrize(
    "spec, match",
    [
        (
            {"kind": "turnover", "max": "abc"},
            r"turnover.max: expected a number in \[0, 2\], got 'abc'",
        ),
        ({"kind": "nope"}, "known kinds"),
        ({"kind": "position_bounds", "min": 0.2, "max": 0.1}, "min 0.2 above max 0.1"),
        (
            {"kind": "group_bounds", "column": "sector", "default": [0.2, 0.1]},
            "lower 0.2 above upper",
        ),
        ({"kind": "cash_band", "min": 0.05, "max": 0.01}, "above"),
        ({"kind": "turnover", "maxx": 0.1}, "unknown fields"),
        ({"kind": "tracking_error"}, "missing required fields"),
    ],
)
def test_bad_specs_raise(spec, match):
    with pytest.raises(ConstraintSpecError, match=match):
        build_constraint(spec)


def test_check_constraints_reports_rows(setup):
    data = setup
    cons = [
        build_constraint({"kind": "position_bounds", "max": 0.001}),
        build_constraint({"kind": "cash_band", "min": 0.0, "max": 1.0}),
    ]
    out = check_constraints(cons, pd.Series(data.w0, index=data.ids), data)
    assert len(out) == 1 and out[0]["kind"] == "position_bounds"
    expected = np.maximum(data.w0 - 0.001, 0)
    assert out[0]["violation"] == pytest.approx(expected.max())
    assert out[0]["n_rows"] == int((expected > 1e-7).sum())


def test_cvxpy_build_is_dcp(setup):
    ctx = ProblemContext(setup)
    rows = []
    for kind, spec in SPECS.items():
        c = build_constraint({"kind": kind, **spec})
        if not c.integer:
            rows += c.build(ctx)
    prob = cp.Problem(cp.Minimize(0), ctx.structural + rows)
    assert prob.is_dcp()
