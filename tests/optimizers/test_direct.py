"""The direct Clarabel path against the cvxpy path: same answers, same shadow prices."""

import dataclasses
import warnings

import numpy as np
import pytest

from constraints import build_constraints
from optimizers import ObjectiveSpec, PortfolioOptimizer
from optimizers.direct import DirectProblem
from optimizers.problem import BuiltProblem
from optimizers.synthetic import synthetic_problem

from .test_optimizer import full_specs

warnings.filterwarnings("ignore", category=UserWarning)

N = 60


@pytest.fixture(scope="module")
def prob():
    p = synthetic_problem(N, n_style=4, seed=2)
    p = dataclasses.replace(p, w0=0.97 * p.benchmark)
    assets = p.assets.copy()
    assets["halted"] = False
    assets.loc[assets.index[5], "halted"] = True
    return p, assets


def both(assets, p, specs, obj):
    cons = build_constraints(specs)
    fast = PortfolioOptimizer(assets, p.risk, cons, obj, nav_base=p.nav_base)
    slow = PortfolioOptimizer(assets, p.risk, cons, obj, nav_base=p.nav_base, direct=False)
    assert isinstance(fast.built, DirectProblem) and isinstance(slow.built, BuiltProblem)
    return fast, slow


def assert_same(r1, r2):
    assert r1.status == r2.status == "optimal"
    assert r1.objective == pytest.approx(r2.objective, abs=1e-6)
    np.testing.assert_allclose(r1.weights.to_numpy(), r2.weights.to_numpy(), atol=2e-5)
    for k in r2.terms:
        assert r1.terms[k] == pytest.approx(r2.terms[k], abs=1e-6), k
    # shadow prices of rows (per-asset bounds at a degenerate vertex such as a
    # restricted name at lb = ub = 0 have non-unique duals, so they are left out)
    per_asset = {"position_bounds", "restricted", "no_buy", "no_sell", "hold", "halted"}
    per_asset.add("liquidity")
    b1 = {b["name"]: b["alpha_cost_bp"] for b in r1.binding if b["kind"] not in per_asset}
    b2 = {b["name"]: b["alpha_cost_bp"] for b in r2.binding if b["kind"] not in per_asset}
    for name in set(b1) | set(b2):
        assert b1.get(name, 0.0) == pytest.approx(b2.get(name, 0.0), rel=2e-2, abs=0.05), name


@pytest.mark.parametrize("impact", [True, False])
def test_full_constraint_set_matches_cvxpy_path(prob, impact):
    p, assets = prob
    specs = full_specs(list(assets.index))
    specs.append(
        {"kind": "group_bounds", "column": "country", "relative_to": "benchmark",
         "default": [-0.06, 0.06]}
    )  # fmt: skip
    obj = ObjectiveSpec(risk_aversion=5.0, impact=impact, turnover_penalty=0.001)
    fast, slow = both(assets, p, specs, obj)
    assert_same(fast.solve(p.alpha, p.benchmark, p.w0), slow.solve(p.alpha, p.benchmark, p.w0))
    # re-solve through updated data: new alpha, benchmark drift, tighter turnover
    alpha2, bench2 = -0.5 * p.alpha, p.benchmark * 0.99
    kw = {"risk_aversion": 2.0, "constraint_overrides": {"turnover": {"max": 0.2}}}
    assert_same(fast.solve(alpha2, bench2, p.w0, **kw), slow.solve(alpha2, bench2, p.w0, **kw))


def test_te_cap_mode_matches_cvxpy_path(prob):
    p, assets = prob
    specs = [
        {"kind": "position_bounds", "max": 0.15},
        {"kind": "turnover", "max": 0.3, "max_sell": 0.2},
        {"kind": "cash_band", "min": 0.01, "max": 0.05},
    ]
    obj = ObjectiveSpec(mode="max_alpha_te_cap", te_cap=0.03, impact=True)
    fast, slow = both(assets, p, specs, obj)
    for cap in (0.03, 0.05):
        r1 = fast.solve(p.alpha, p.benchmark, p.w0, te_cap=cap)
        assert_same(r1, slow.solve(p.alpha, p.benchmark, p.w0, te_cap=cap))
        assert r1.ex_ante_te <= cap + 1e-6


def test_group_rows_equal_to_factors_are_placed_on_f(prob):
    p, assets = prob
    specs = [{"kind": "group_bounds", "column": "sector", "default": [0.0, 0.3]}]
    opt = PortfolioOptimizer(assets, p.risk, build_constraints(specs), ObjectiveSpec())
    fac = opt.built.fac_rows[(0, 0)]
    names = list(p.risk.factor_names)
    sectors = sorted(assets["sector"].unique())
    assert [names[k] for k in fac] == [f"sector_{s}" for s in sectors]
    # a custom group that is no factor stays on the weights
    specs = [{"kind": "group_bounds", "column": "country_of_risk", "groups": {"China": ["CN"]},
              "bounds": {"China": [0.0, 0.2]}}]  # fmt: skip
    opt = PortfolioOptimizer(assets, p.risk, build_constraints(specs), ObjectiveSpec())
    assert (opt.built.fac_rows[(0, 0)] == -1).all()


def test_infeasible_and_soft_paths(prob):
    p, assets = prob
    soft = [{"kind": "turnover", "max": 0.01, "soft": 0.02}]
    opt = PortfolioOptimizer(assets, p.risk, build_constraints(soft), ObjectiveSpec())
    assert isinstance(opt.built, BuiltProblem)
    with pytest.raises(ValueError, match="direct=True"):
        PortfolioOptimizer(assets, p.risk, build_constraints(soft), ObjectiveSpec(), direct=True)
    bad = [{"kind": "cash_band", "min": 0.5, "max": 0.6}, {"kind": "turnover", "max": 0.05}]
    opt = PortfolioOptimizer(assets, p.risk, build_constraints(bad), ObjectiveSpec())
    assert isinstance(opt.built, DirectProblem)
    from optimizers import InfeasibleError

    with pytest.raises(InfeasibleError) as err:
        opt.solve(p.alpha, p.benchmark, p.w0)
    names = {c["name"] for c in err.value.diagnosis.conflict}
    assert names == {"cash in [50.00%, 60.00%]", "turnover"}


def test_impact_cone_scale_does_not_change_the_optimum(prob, monkeypatch):
    """The stall fallback rescales the impact cone; every scale gives the same answer."""
    import optimizers.direct as direct

    p, assets = prob
    specs = [{"kind": "position_bounds", "max": 0.15}, {"kind": "turnover", "max": 0.3}]
    obj = ObjectiveSpec(risk_aversion=3.0, impact=True)
    base = PortfolioOptimizer(assets, p.risk, build_constraints(specs), obj)
    r0 = base.solve(p.alpha, p.benchmark, p.w0)
    for scale in (1e-3, 1e-1):
        monkeypatch.setattr(direct, "IMPACT_SCALES", (scale,))
        opt = PortfolioOptimizer(assets, p.risk, build_constraints(specs), obj)
        r = opt.solve(p.alpha, p.benchmark, p.w0)
        assert opt.built.scale == scale
        assert r.objective == pytest.approx(r0.objective, abs=1e-7)
        assert r.terms["impact_cost"] == pytest.approx(r0.terms["impact_cost"], abs=1e-7)
