"""The Python API on textbook problems: a dense covariance, no cost columns, full
investment, general linear constraints and the cost of a given trade.

References are independent: a dense cvxpy model of the same problem (solved by
Clarabel through cvxpy), closed forms, and hand-computed costs.
"""

import numpy as np
import pandas as pd
import pytest

from constraints import AttributeBounds, FullInvestment, LinearBounds, build_constraints
from constraints.errors import ConstraintSpecError
from optimizers import FactorRiskModel, ObjectiveSpec, PortfolioOptimizer, trade_cost

IDS = [f"A{i}" for i in range(8)]
TOL = 1e-6  # weights vs the dense reference (interior-point accuracy)


def _covariance(seed: int, n: int = 8, rank: int | None = None) -> np.ndarray:
    r = np.random.default_rng(seed)
    X = r.normal(size=(rank or 3 * n, n)) * 0.2
    return X.T @ X / X.shape[0]


def _assets(**cols) -> pd.DataFrame:
    base = {"kind": ["equity"] * 4 + ["bond"] * 4}
    return pd.DataFrame(dict(base, **cols), index=pd.Index(IDS, name="asset_id"))


def _dense_reference(S, alpha, lam, w0=None, extra=None, budget="le"):
    """max alpha'w - lam w'Sw, w >= 0, sum(w) <= 1 (or == 1), plus ``extra(w)`` rows."""
    import cvxpy as cp

    w = cp.Variable(len(alpha), nonneg=True)
    rows = [cp.sum(w) == 1 if budget == "eq" else cp.sum(w) <= 1]
    rows += extra(w) if extra else []
    tight = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11}
    cp.Problem(cp.Maximize(alpha @ w - lam * cp.quad_form(w, cp.psd_wrap(S))), rows).solve(
        solver="CLARABEL", **tight
    )
    return w.value


@pytest.mark.parametrize("seed", range(4))
def test_from_covariance_is_exact(seed):
    """``B F B' + diag(d)`` equals ``S`` to 1e-12 relative; ``d`` is the smallest
    eigenvalue, positive for a positive-definite ``S``."""
    S = _covariance(seed)
    m = FactorRiskModel.from_covariance(pd.DataFrame(S, index=IDS, columns=IDS))
    assert list(m.asset_ids) == IDS
    np.testing.assert_allclose(m.covariance(), S, rtol=0, atol=1e-12 * np.abs(S).max())
    assert np.allclose(m.specific_var, np.linalg.eigvalsh(S)[0]) and (m.specific_var > 0).all()
    assert m.n_factors == len(IDS) - 1  # distinct eigenvalues: all but the smallest


def test_from_covariance_singular_and_bad_input():
    S = _covariance(1, rank=3)  # rank 3 < 8: singular
    m = FactorRiskModel.from_covariance(S, asset_ids=IDS)
    np.testing.assert_allclose(m.covariance(), S, rtol=0, atol=1e-12 * np.abs(S).max())
    assert np.all(m.specific_var == 0.0) and m.n_factors == 3
    with pytest.raises(ValueError, match="not positive semi-definite"):
        FactorRiskModel.from_covariance(np.diag([1.0, -0.5]))
    with pytest.raises(ValueError, match="square"):
        FactorRiskModel.from_covariance(np.ones((2, 3)))
    with pytest.raises(ValueError, match="not symmetric"):
        FactorRiskModel.from_covariance(np.array([[1.0, 0.2], [0.1, 1.0]]))


@pytest.mark.parametrize("seed", range(3))
def test_mean_variance_from_a_dense_covariance(seed):
    """Plain mean-variance (no cost columns, the default objective) matches the dense
    cvxpy model; with ``d > 0`` the certified dual method answers."""
    S = _covariance(seed)
    alpha = np.random.default_rng(100 + seed).normal(0.05, 0.03, size=8)
    opt = PortfolioOptimizer(
        _assets(), FactorRiskModel.from_covariance(S, IDS), [], ObjectiveSpec(risk_aversion=3.0)
    )
    zero = pd.Series(0.0, index=IDS)
    res = opt.solve(pd.Series(alpha, index=IDS), zero, zero)
    want = _dense_reference(S, alpha, 3.0)
    np.testing.assert_allclose(res.weights.to_numpy(), want, atol=TOL)
    assert res.terms.get("linear_cost", 0.0) == 0.0
    assert res.solver == "DUAL_NEWTON" and res.certificate["duality_gap"] <= 1e-9


def test_costs_requested_without_columns_say_how_to_turn_them_off():
    S = _covariance(0)
    with pytest.raises(ValueError, match=r"linear_costs=False"):
        PortfolioOptimizer(
            _assets(), FactorRiskModel.from_covariance(S, IDS), [], ObjectiveSpec(linear_costs=True)
        )
    with pytest.raises(ValueError, match=r"impact=False"):
        PortfolioOptimizer(
            _assets(), FactorRiskModel.from_covariance(S, IDS), [], ObjectiveSpec(impact=True)
        )


def test_full_investment_and_a_linear_constraint():
    """Budget ``sum(w) = 1`` and "equity at most half of bonds" (a mapping of
    coefficients) match the dense model with the same rows; the linear row binds."""
    S = _covariance(3)
    alpha = np.r_[np.full(4, 0.09), np.full(4, 0.02)]  # equity attractive: the cap binds
    coef = {i: 1.0 for i in IDS[:4]} | {i: -0.5 for i in IDS[4:]}
    cons = [LinearBounds(coefficients=coef, max=0.0, name="equity <= 0.5 bonds")]
    opt = PortfolioOptimizer(
        _assets(),
        FactorRiskModel.from_covariance(S, IDS),
        cons,
        ObjectiveSpec(risk_aversion=2.0),
        full_investment=True,
    )
    zero = pd.Series(0.0, index=IDS)
    res = opt.solve(pd.Series(alpha, index=IDS), zero, zero)
    c = np.array([coef[i] for i in IDS])
    want = _dense_reference(S, alpha, 2.0, extra=lambda w: [c @ w <= 0], budget="eq")
    w = res.weights.to_numpy()
    np.testing.assert_allclose(w, want, atol=TOL)
    assert abs(w.sum() - 1.0) <= 1e-8 and abs(res.cash) <= 1e-8
    assert abs(c @ w) <= 1e-7  # binding: equity = 0.5 x bonds
    assert w[:4].sum() == pytest.approx(0.5 * w[4:].sum(), abs=1e-7)


def test_linear_from_a_column_equals_attribute_bounds():
    """The column form of ``linear`` is the attribute bound on that column."""
    S = _covariance(5)
    beta = np.linspace(0.6, 1.4, 8)
    assets = _assets(beta=beta)
    alpha = pd.Series(np.random.default_rng(5).normal(0.05, 0.03, 8), index=IDS)
    zero = pd.Series(0.0, index=IDS)
    risk = FactorRiskModel.from_covariance(S, IDS)
    got = [
        PortfolioOptimizer(assets, risk, [c], ObjectiveSpec(risk_aversion=1.0))
        .solve(alpha, zero, zero)
        .weights
        for c in (
            LinearBounds(coefficients="beta", min=0.7, max=0.8),
            AttributeBounds(column="beta", min=0.7, max=0.8),
        )
    ]
    np.testing.assert_allclose(got[0].to_numpy(), got[1].to_numpy(), atol=1e-8)
    assert 0.7 - 1e-8 <= beta @ got[0].to_numpy() <= 0.8 + 1e-8


def test_linear_and_full_investment_from_specs():
    cons = build_constraints(
        [
            {"kind": "linear", "coefficients": {"A0": 1, "A5": -2}, "min": -0.1},
            {"kind": "full_investment"},
        ]
    )
    assert isinstance(cons[0], LinearBounds) and isinstance(cons[1], FullInvestment)
    assert cons[1].label == "full investment (sum w = 1)"
    with pytest.raises(ConstraintSpecError, match="min"):
        build_constraints([{"kind": "linear", "coefficients": "beta"}])
    with pytest.raises(ConstraintSpecError, match="full_investment"):
        FullInvestment(max=0.1)
    S = _covariance(0)
    with pytest.raises(ConstraintSpecError, match=r"not in the universe \['ZZ'\]"):
        PortfolioOptimizer(
            _assets(),
            FactorRiskModel.from_covariance(S, IDS),
            [LinearBounds(coefficients={"ZZ": 1.0}, max=0.1)],
        )


def test_trade_cost_by_hand():
    """Buy 2 % at 10 bp and impact k = 0.5; sell 1 % at 30 bp; NAV 1e8."""
    assets = _assets(
        cost_buy=np.full(8, 0.001), cost_sell=np.full(8, 0.003), impact=np.full(8, 0.5)
    )
    cost = trade_cost(assets, {"A0": 0.02, "A1": -0.01}, 1e8)
    want0 = 1e8 * (0.001 * 0.02 + 0.5 * 0.02**1.5)
    want1 = 1e8 * (0.003 * 0.01 + 0.5 * 0.01**1.5)
    assert cost["A0"] == pytest.approx(want0, rel=1e-12)
    assert cost["A1"] == pytest.approx(want1, rel=1e-12)
    assert cost.drop(["A0", "A1"]).eq(0).all()
    with pytest.raises(ValueError, match="not in assets"):
        trade_cost(assets, {"ZZ": 0.01}, 1e8)
    with pytest.raises(ValueError, match="cost_buy and cost_sell"):
        trade_cost(_assets(), {"A0": 0.01}, 1e8)


def test_trade_cost_equals_the_optimizer_cost_terms():
    """The optimizer's linear and impact cost terms (fractions of NAV) times NAV equal
    ``trade_cost`` of its own trade."""
    S = _covariance(2)
    r = np.random.default_rng(2)
    assets = _assets(
        cost_buy=r.uniform(0.0005, 0.002, 8),
        cost_sell=r.uniform(0.001, 0.004, 8),
        impact=r.uniform(0.05, 0.3, 8),
    )
    w0 = pd.Series(np.full(8, 0.1), index=IDS)
    alpha = pd.Series(r.normal(0.05, 0.05, 8), index=IDS)
    opt = PortfolioOptimizer(
        assets, FactorRiskModel.from_covariance(S, IDS), [], ObjectiveSpec(impact=True)
    )
    res = opt.solve(alpha, pd.Series(0.0, index=IDS), w0)
    x = res.weights - w0
    total = trade_cost(assets, x, 5e7).sum() / 5e7
    assert np.abs(x).sum() > 0.05  # it trades
    assert total == pytest.approx(res.terms["linear_cost"] + res.terms["impact_cost"], rel=1e-5)
