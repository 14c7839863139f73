"""The direct Clarabel path against the cvxpy path: same answers, same shadow prices.

Tolerances: objectives to 1e-6 (the issue's criterion); weights to 1e-4, because the
direct path stops at Clarabel feasibility / gap tolerance 1e-7 (``direct_solve.FAST``) and
weights along near-flat directions of the utility are then determined only to a few
1e-5 (measured 4e-5 at most on these problems; 4e-6 at Clarabel's default 1e-8).
PIQP against Clarabel on the same matrices: objective to 1e-6, weights to 5e-4: the
utility's curvature per name is ``2 lambda d_i`` ~ 0.1, so an objective accurate to
~1e-8 fixes a weight only to ``sqrt(2e-8 / 0.1)`` ~ 4e-4 (measured 1.9e-4).
"""

import dataclasses
import warnings

import numpy as np
import pytest

import optimizers.direct_solve as direct_solve
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


def assert_same(r1, r2, w_atol=1e-4):
    assert r1.status == r2.status == "optimal"
    assert r1.objective == pytest.approx(r2.objective, abs=1e-6)
    np.testing.assert_allclose(r1.weights.to_numpy(), r2.weights.to_numpy(), atol=w_atol)
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
@pytest.mark.parametrize("risk_caps", ["all", "TE only"])
def test_full_constraint_set_matches_cvxpy_path(prob, impact, risk_caps):
    """Every kind but the integer ones; with the TE cap as the only risk cap the
    certified dual method answers, with total / factor risk caps Clarabel does."""
    p, assets = prob
    specs = full_specs(list(assets.index))
    if risk_caps == "TE only":
        specs = [s for s in specs if s["kind"] not in ("total_risk", "factor_risk_share")]
    specs.append(
        {"kind": "group_bounds", "column": "country", "relative_to": "benchmark",
         "default": [-0.06, 0.06]}
    )  # fmt: skip
    obj = ObjectiveSpec(risk_aversion=5.0, impact=impact, turnover_penalty=0.001)
    fast, slow = both(assets, p, specs, obj)
    r = fast.solve(p.alpha, p.benchmark, p.w0)
    assert r.solver == ("DUAL_NEWTON" if risk_caps == "TE only" else "CLARABEL")
    assert_same(r, slow.solve(p.alpha, p.benchmark, p.w0))
    # re-solve through updated data: new alpha, benchmark drift, tighter turnover
    alpha2, bench2 = -0.5 * p.alpha, p.benchmark * 0.99
    kw = {"risk_aversion": 2.0, "constraint_overrides": {"turnover": {"max": 0.2}}}
    r = fast.solve(alpha2, bench2, p.w0, **kw)
    assert r.solver == ("DUAL_NEWTON" if risk_caps == "TE only" else "CLARABEL")
    assert_same(r, slow.solve(alpha2, bench2, p.w0, **kw))


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
    """The stall fallback rescales the impact cone; every scale gives the same answer.

    ``dual_newton=False``: the dual method would answer first and Clarabel's cone
    never be used; the reference is the certified dual answer."""

    p, assets = prob
    specs = [{"kind": "position_bounds", "max": 0.15}, {"kind": "turnover", "max": 0.3}]
    obj = ObjectiveSpec(risk_aversion=3.0, impact=True)
    base = PortfolioOptimizer(assets, p.risk, build_constraints(specs), obj)
    r0 = base.solve(p.alpha, p.benchmark, p.w0)
    assert r0.solver == "DUAL_NEWTON"
    for scale in (1e-3, 1e-1):
        monkeypatch.setattr(direct_solve, "IMPACT_SCALES", (scale,))
        opt = PortfolioOptimizer(assets, p.risk, build_constraints(specs), obj, dual_newton=False)
        r = opt.solve(p.alpha, p.benchmark, p.w0)
        assert r.solver == "CLARABEL" and opt.built.scale == scale
        assert r.objective == pytest.approx(r0.objective, abs=1e-7)
        # the term is read from the epigraph variable t, which Clarabel's 1e-7
        # tolerances pin less tightly than the objective (measured 2.2e-7 at scale 1e-3)
        assert r.terms["impact_cost"] == pytest.approx(r0.terms["impact_cost"], abs=1e-6)
        k = assets["impact"].to_numpy()
        cost = [k @ np.abs((x.weights - p.w0).to_numpy()) ** 1.5 for x in (r, r0)]
        assert cost[0] == pytest.approx(cost[1], abs=1e-6)


QP_SPECS = [
    {"kind": "position_bounds", "max": 0.12, "active_min": -0.04, "active_max": 0.04},
    {"kind": "group_bounds", "column": "sector", "relative_to": "benchmark",
     "default": [-0.03, 0.03]},
    {"kind": "group_bounds", "name": "China exposure", "column": "country_of_risk",
     "groups": {"China": ["CN"]}, "bounds": {"China": [0.0, 0.2]}},
    {"kind": "turnover", "max": 0.25, "max_sell": 0.15},
    {"kind": "cash_band", "min": 0.0, "max": 0.03},
    {"kind": "halted", "column": "halted"},
]  # fmt: skip


def with_piqp(opt: PortfolioOptimizer) -> PortfolioOptimizer:
    opt.built = DirectProblem(
        opt.data0, opt.constraints, opt.objective, qp_solver="PIQP", dual_newton=False
    )
    return opt


def test_piqp_matches_clarabel_on_pure_qps(prob):
    """A pure QP (no risk cone, no impact) solved by PIQP equals Clarabel's answer."""
    p, assets = prob
    obj = ObjectiveSpec(risk_aversion=4.0, turnover_penalty=0.002)
    cons = build_constraints(QP_SPECS)
    clar = PortfolioOptimizer(assets, p.risk, cons, obj, dual_newton=False)
    piq = with_piqp(PortfolioOptimizer(assets, p.risk, cons, obj))
    assert piq.built.use_piqp and not clar.built.use_piqp
    r1, r2 = piq.solve(p.alpha, p.benchmark, p.w0), clar.solve(p.alpha, p.benchmark, p.w0)
    assert (r1.solver, r2.solver) == ("PIQP", "CLARABEL")
    assert_same(r1, r2, w_atol=5e-4)
    # net per-asset bound duals (priced by explain) agree to 3e-5 (0.003 bp per 1 %-point),
    # except for frozen names (lb = ub = w0), whose duals are shared with buy, sell >= 0
    net = [o.built.con_ub.dual_value - o.built.con_lb.dual_value for o in (piq, clar)]
    free = clar.built.ub.value > clar.built.lb.value + 1e-12
    assert (~free).sum() >= 1
    np.testing.assert_allclose(net[0][free], net[1][free], atol=3e-5)
    kw = {"risk_aversion": 1.5, "constraint_overrides": {"turnover": {"max": 0.2}}}
    alpha2 = p.alpha.iloc[::-1].set_axis(p.alpha.index)
    r1 = piq.solve(alpha2, p.benchmark, p.w0, **kw)
    assert r1.solver == "PIQP"
    assert_same(r1, clar.solve(alpha2, p.benchmark, p.w0, **kw), w_atol=5e-4)


def test_piqp_hands_infeasible_and_conic_problems_to_clarabel(prob):
    p, assets = prob
    bad = QP_SPECS + [{"kind": "cash_band", "name": "big cash", "min": 0.5, "max": 0.6}]
    opt = with_piqp(PortfolioOptimizer(assets, p.risk, build_constraints(bad), ObjectiveSpec()))
    from optimizers import InfeasibleError

    with pytest.raises(InfeasibleError):
        opt.solve(p.alpha, p.benchmark, p.w0)
    assert opt.built.solver_name == "CLARABEL"
    # a TE cap or impact makes the problem conic: PIQP is never set up
    for obj, extra in (
        (ObjectiveSpec(impact=True), []),
        (ObjectiveSpec(), [{"kind": "tracking_error", "max": 0.05}]),
    ):
        cons = build_constraints(QP_SPECS + extra)
        opt = with_piqp(PortfolioOptimizer(assets, p.risk, cons, obj))
        assert not opt.built.use_piqp
        assert opt.solve(p.alpha, p.benchmark, p.w0).solver == "CLARABEL"
    with pytest.raises(ValueError, match="qp_solver"):
        DirectProblem(opt.data0, opt.constraints, opt.objective, qp_solver="OSQP")


def test_default_tolerance_answer_is_within_stated_tolerance(prob, monkeypatch):
    """The 1e-7 tolerances of ``FAST`` change the optimum by < 1e-6 vs Clarabel's 1e-8."""
    p, assets = prob
    specs = full_specs(list(assets.index))
    obj = ObjectiveSpec(risk_aversion=5.0, impact=True, turnover_penalty=0.001)
    r7 = PortfolioOptimizer(assets, p.risk, build_constraints(specs), obj).solve(
        p.alpha, p.benchmark, p.w0
    )
    strict = {k: v for k, v in direct_solve.FAST.items() if not k.startswith("tol_")}
    monkeypatch.setattr(direct_solve, "FAST", strict)
    r8 = PortfolioOptimizer(assets, p.risk, build_constraints(specs), obj).solve(
        p.alpha, p.benchmark, p.w0
    )
    assert r7.objective == pytest.approx(r8.objective, abs=1e-6)
    np.testing.assert_allclose(r7.weights.to_numpy(), r8.weights.to_numpy(), atol=1e-4)


def test_assembled_matrices_apply_the_stated_rows(prob):
    """The zero cone's rows are ``w - buy + sell`` and ``f - B'w``; the per-name rows
    ``-w, w, -buy, -sell`` and the budget ``sum(w)``; the cone sizes add up to the rows of
    ``A`` (formed on first use from the same blocks); entries are in canonical order."""
    p, assets = prob
    obj = ObjectiveSpec(risk_aversion=2.0, impact=True)
    opt = PortfolioOptimizer(assets, p.risk, build_constraints(full_specs(list(assets.index))), obj,
                             nav_base=p.nav_base)  # fmt: skip
    d = opt.built
    n, K = d.n, d.K
    z = np.random.default_rng(3).normal(size=d.nz)
    w, buy, sell, f = z[:n], z[n : 2 * n], z[2 * n : 3 * n], z[d.ifac :]
    B = np.asarray(p.risk.exposures)
    np.testing.assert_allclose(d.A_zero @ z, np.r_[w - buy + sell, f - B.T @ w], atol=1e-12)
    nn = d.A_nonneg @ z
    np.testing.assert_array_equal(nn[d.r_lb], -w)
    np.testing.assert_array_equal(nn[d.r_ub], w)
    np.testing.assert_array_equal(nn[d.r_buy], -buy)
    np.testing.assert_array_equal(nn[d.r_sell], -sell)
    assert nn[d.r_budget][0] == pytest.approx(w.sum(), abs=1e-12)
    A = d.A
    assert A.shape == (d.n_rows, d.nz) and d.A_zero.shape[0] == d.n_zero == n + K
    assert A.has_canonical_format
    dims = [c.dim for c in d.cones[:2]] + [s.shape[0] for _, s in d.socs]
    assert sum(dims) + 3 * len(d.impact_idx) == d.n_rows
    top = np.r_[d.A_zero @ z, nn]
    np.testing.assert_allclose((A @ z)[: len(top)], top, atol=1e-12)
