"""Infeasibility diagnosis: the right conflicting sets and smallest relaxations.

Every property is re-checked by an independent feasibility test, :func:`lp_feasible`:
the constraints' sparse rows (``Constraint.linear``) solved as an LP by scipy's HiGHS,
sharing no code with the diagnosis's own (warm-started HiGHS) elastic problem.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from constraints import ProblemData, build_constraints
from optimizers import InfeasibleError, ObjectiveSpec, PortfolioOptimizer, diagnose
from optimizers.synthetic import synthetic_problem

warnings.filterwarnings("ignore", category=UserWarning)

REL_TOL = 1e-4  # relaxation amounts are checked at +- max(ABS_TOL, REL_TOL * amount)
ABS_TOL = 1e-6


def lp_feasible(data: ProblemData, cons, names, relax=None) -> bool:
    """Is ``w >= 0, sum(w) <= 1`` plus the named constraints feasible (HiGHS LP)?

    ``relax = {name: t}`` moves every row of that constraint by ``t`` own units
    (``lo - sens t <= g <= hi + sens t``). Variables ``z = [w, buy, sell]`` with
    ``w - buy + sell = w0``.
    """
    n, relax = data.n, relax or {}
    by_name = {c.label: c for c in cons}
    rows, rhs = [sp.csr_matrix(np.r_[np.ones(n), np.zeros(2 * n)][None, :])], [1.0]
    for name in names:
        c, t = by_name[name], relax.get(name, 0.0)
        for lin, lim in zip(c.linear(data), c.limits(data), strict=True):
            m = len(lim.lo)
            G = sp.hstack(
                [sp.csr_matrix((m, n)) if x is None else x for x in (lin.w, lin.buy, lin.sell)]
            ).tocsr()
            hi, lo = lim.hi + lim.sens * t - lin.const, lim.lo - lim.sens * t - lin.const
            keep_hi, keep_lo = np.isfinite(hi), np.isfinite(lo)
            rows += [G[keep_hi], -G[keep_lo]]
            rhs += [hi[keep_hi], -lo[keep_lo]]
    eye = sp.identity(n, format="csr")
    res = linprog(
        np.zeros(3 * n),
        A_ub=sp.vstack(rows).tocsr(),
        b_ub=np.concatenate([np.atleast_1d(r) for r in rhs]),
        A_eq=sp.hstack([eye, -eye, eye]).tocsr(),
        b_eq=data.w0,
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-9},
    )
    assert res.status in (0, 2), res.message
    return res.status == 0


def assert_irreducible(data, cons, names):
    """Property 1: the set is infeasible and dropping any one member makes it feasible."""
    assert not lp_feasible(data, cons, names), f"{names} is feasible"
    for drop in names:
        rest = [x for x in names if x != drop]
        assert lp_feasible(data, cons, rest), f"{names} minus {drop} is still infeasible"


def assert_smallest(data, cons, names, relaxed, amount):
    """Property 2: relaxing ``relaxed`` by ``amount + tol`` is feasible, ``- tol`` is not."""
    tol = max(ABS_TOL, REL_TOL * amount)
    assert lp_feasible(data, cons, names, {relaxed: amount + tol})
    assert not lp_feasible(data, cons, names, {relaxed: amount - tol})


def assert_diagnosis_verified(data, cons, d):
    """Check every conflict, single relaxation and the joint relaxation independently."""
    every = [c.label for c in cons if not c.integer and c.soft is None]
    for conflict in d.conflicts:
        assert_irreducible(data, cons, conflict["constraints"])
        for r in conflict["relaxations"]:
            if r["reconciles"]:
                assert_smallest(data, cons, conflict["constraints"], r["name"], r["amount"])
    for r in d.relaxations:
        if r["fixes_alone"]:
            assert_smallest(data, cons, every, r["name"], r["amount"])
        else:  # relaxing it without limit does not help: the rest is infeasible
            assert not lp_feasible(data, cons, [x for x in every if x != r["name"]])
    joint = {r["name"]: r["amount"] + max(ABS_TOL, REL_TOL * r["amount"]) for r in d.elastic}
    assert lp_feasible(data, cons, every, joint)
    assert not lp_feasible(data, cons, every)


@pytest.fixture(scope="module")
def market():
    p = synthetic_problem(30, n_style=3, seed=4)
    cn = (p.assets["country_of_risk"] == "CN").to_numpy()
    assert cn.sum() >= 3
    return p, cn


def start_weights(p, cn, halted_weight=None):
    """20 % in China names, 79 % elsewhere, 1 % cash; one China name at ``halted_weight``."""
    w0 = np.where(cn, 0.20 / cn.sum(), 0.79 / (~cn).sum())
    halted = np.zeros(len(w0), dtype=bool)
    if halted_weight is not None:
        first = np.flatnonzero(cn)[0]
        others = cn.copy()
        others[first] = False
        w0[others] = (0.20 - halted_weight) / others.sum()
        w0[first], halted[first] = halted_weight, True
    assets = p.assets.assign(halted=halted)
    return assets, pd.Series(w0, index=p.assets.index)


CHINA = {
    "kind": "group_bounds",
    "name": "China exposure",
    "column": "country_of_risk",
    "groups": {"China": ["CN"]},
    "bounds": {"China": [0.0, 0.10]},
}
SPECS = [
    CHINA,
    {"kind": "turnover", "max": 0.05},
    {"kind": "cash_band", "min": 0.0, "max": 0.02},
    {"kind": "position_bounds", "max": 0.5},
]
CASH = "cash in [0.00%, 2.00%]"


def infeasible(assets, p, w0, specs):
    cons = build_constraints(specs)
    opt = PortfolioOptimizer(assets, p.risk, cons, ObjectiveSpec(risk_aversion=1.0))
    with pytest.raises(InfeasibleError) as exc:
        opt.solve(p.alpha, p.benchmark, w0)
    data = ProblemData.from_series(assets, p.risk, p.benchmark, w0, p.nav_base)
    return exc.value.diagnosis, data, opt.constraints


def test_conflict_set_and_smallest_relaxations(market):
    p, cn = market
    assets, w0 = start_weights(p, cn)
    d, data, cons = infeasible(assets, p, w0, SPECS)
    assert {c["name"] for c in d.conflict} == {"China exposure", "turnover", CASH}
    assert len(d.conflicts) == 1
    rel = {r["name"]: r for r in d.relaxations}
    # closed form: China must fall 10 %-pts; at most 1 %-pt can go to cash (band 2 %, start 1 %),
    # so 9 %-pts of sells are matched by buys: one-way turnover 0.5 * (10 + 9) = 9.5 %.
    assert rel["turnover"]["rows"][0]["new_limit"] == pytest.approx(0.095, abs=1e-6)
    assert rel["turnover"]["amount"] == pytest.approx(0.045, abs=1e-6)
    # with 5 % turnover: sells s and buys s - c with c <= 1 %: 0.5 (2s - c) <= 5 % -> s = 5.5 %,
    # so China can fall to 14.5 %.
    assert rel["China exposure"]["rows"][0]["new_limit"] == pytest.approx(0.145, abs=1e-6)
    # cash band: selling 10 %-pts of China within 5 % turnover needs c = 2s - 2T = 10 %: 11 %.
    assert rel[CASH]["rows"][0]["new_limit"] == pytest.approx(0.11, abs=1e-6)
    assert all(r["fixes_alone"] for r in d.relaxations)
    assert d.message == (
        "China exposure at most 10.00 %, turnover at most 5.00 % and cash in [0.00%, 2.00%] "
        "cannot all hold; the smallest single change is China exposure to 14.50 % (or "
        "turnover to 9.50 %, or cash in [0.00%, 2.00%] relaxed to at most 11.00 %)"
    )
    assert_diagnosis_verified(data, cons, d)
    js = d.to_dict()
    assert js["conflict"] and js["relaxations"][0]["rows"]


def test_halted_china_name_is_part_of_the_conflict(market):
    """A halted China name at 12 % > the 10 % cap: China cannot fall below 12 % at all.

    Closed forms (turnover T = 5 %, cash 1 % in a [0, 2 %] band, China 20 % at start):
    China can fall to ``max(19.5 % - T, 12 %) = 14.5 %``; so two conflicts,
    {China, halted} and {China, turnover, cash band}; only China fixes it alone (to
    14.5 %); within {China, halted} China reconciles at 12 % and the halted name must
    be allowed to trade 2 %-pts; the joint minimal relaxation is China to 14.5 %.
    """
    p, cn = market
    assets, w0 = start_weights(p, cn, halted_weight=0.12)
    halted = {"kind": "halted", "column": "halted"}
    d, data, cons = infeasible(assets, p, w0, SPECS + [halted])
    h = "halted list (column halted)"
    assert [set(c["constraints"]) for c in d.conflicts] == [
        {"China exposure", h},
        {"China exposure", "turnover", CASH},
    ]
    rel = {r["name"]: r for r in d.relaxations}
    assert rel["China exposure"]["fixes_alone"]
    assert rel["China exposure"]["amount"] == pytest.approx(0.045, abs=1e-6)
    for name in ("turnover", CASH, h):
        assert not rel[name]["fixes_alone"] and rel[name]["amount"] is None
    local = {r["name"]: r for r in d.conflicts[0]["relaxations"]}
    assert local["China exposure"]["amount"] == pytest.approx(0.02, abs=1e-6)
    assert local[h]["amount"] == pytest.approx(0.02, abs=1e-6)
    assert local[h]["rows"][0]["row"] == w0.index[np.flatnonzero(cn)[0]]
    assert [(r["name"], pytest.approx(r["amount"], abs=1e-6)) for r in d.elastic] == [
        ("China exposure", 0.045)
    ]
    assert "China exposure at most 10.00 % and halted list (column halted) cannot both hold" in (
        d.message
    )
    assert "the smallest single change is China exposure to 14.50 %" in d.message
    assert d.message.endswith(
        "; it cannot be fixed by relaxing halted list (column halted) alone, turnover alone "
        "or cash in [0.00%, 2.00%] alone"
    )
    assert_diagnosis_verified(data, cons, d)


def test_no_single_change_gives_the_joint_relaxation(market):
    """All China (20 %) is one halted name against a 10 % cap, and a 5 % cash floor
    with 1 % cash under a 1 % turnover cap.

    Closed forms: conflicts {China, halted}, {cash band, turnover} and, with the halted
    list set aside, {China, turnover} (selling 10 %-pts needs 5 % turnover). Nothing
    fixes it alone. Joint minimum of the summed relaxations: China to 20 % (10 %-pts)
    plus turnover to 2 % (sell 4 %-pts into cash: 1 %-pt) = 11 %-pts, against
    halted 10 %-pts plus turnover to 5 % (4 %-pts) = 14 %-pts.
    """
    p, cn = market
    assets, w0 = start_weights(p, cn, halted_weight=0.20)
    specs = [
        CHINA,
        {"kind": "turnover", "max": 0.01},
        {"kind": "cash_band", "min": 0.05, "max": 0.5},
        {"kind": "halted", "column": "halted"},
        {"kind": "position_bounds", "max": 0.5},
    ]
    d, data, cons = infeasible(assets, p, w0, specs)
    cash, h = "cash in [5.00%, 50.00%]", "halted list (column halted)"
    assert sorted(sorted(c["constraints"]) for c in d.conflicts) == sorted(
        [
            sorted(["China exposure", h]),
            sorted([cash, "turnover"]),
            sorted(["China exposure", "turnover"]),
        ]
    )
    assert not any(r["fixes_alone"] for r in d.relaxations)
    joint = {r["name"]: r["amount"] for r in d.elastic}
    assert joint == {
        "China exposure": pytest.approx(0.10, abs=1e-6),
        "turnover": pytest.approx(0.01, abs=1e-6),
    }
    assert "no single change fixes it" in d.message
    assert "the smallest joint change is China exposure to 20.00 % and turnover to 2.00 %" in (
        d.message
    )
    assert_diagnosis_verified(data, cons, d)


def test_diagnose_without_a_conflict_in_continuous_constraints(market):
    p, cn = market
    assets, w0 = start_weights(p, cn)
    data = ProblemData.from_series(assets, p.risk, p.benchmark, w0, p.nav_base)
    cons = build_constraints([{"kind": "turnover", "max": 0.5}])
    d = diagnose(data, None, cons)
    assert not d.conflicts and "continuous constraints can all hold" in d.message


def test_priority_relaxation_reports_what_was_relaxed(market):
    p, cn = market
    assets, w0 = start_weights(p, cn)
    specs = [dict(s) for s in SPECS]
    specs[1]["priority"] = 1  # turnover is the least important: relaxed first
    opt = PortfolioOptimizer(
        assets, p.risk, build_constraints(specs), ObjectiveSpec(risk_aversion=1.0)
    )
    r = opt.solve(p.alpha, p.benchmark, w0)
    assert [x["name"] for x in r.relaxed] == ["turnover"]
    assert r.relaxed[0]["amount"] == pytest.approx(0.045, abs=1e-6)
    assert r.turnover <= 0.095 + 1e-6
    china = w0.index[cn]
    assert r.weights[china].sum() <= 0.10 + 1e-7


TE_SPECS = [
    {"kind": "tracking_error", "max": 0.005},
    {"kind": "turnover", "max": 0.02},
    {"kind": "position_bounds", "max": 0.5},
]


@pytest.fixture(scope="module")
def te_reference(market):
    """A 0.5 % TE cap from a start far from the benchmark with 2 % turnover (conic case).

    References with the dense covariance ``S`` (N = 30) and SCS, independent of the
    factor form and of the diagnosis: the smallest turnover for ``TE <= 0.5 %``, and
    the smallest TE reachable within 2 % turnover.
    """
    import cvxpy as cp

    p, cn = market
    assets, w0 = start_weights(p, cn)
    S = np.asarray(p.risk.covariance())  # dense N x N, fine at N = 30
    b, x0 = p.benchmark.to_numpy(), w0.to_numpy()
    w = cp.Variable(len(x0), nonneg=True)
    base = [cp.sum(w) <= 1, w <= 0.5]
    turnover = 0.5 * cp.sum(cp.abs(w - x0))
    variance = cp.quad_form(w - b, cp.psd_wrap(S))
    cp.Problem(cp.Minimize(turnover), base + [variance <= 0.005**2]).solve(solver="SCS", eps=1e-9)
    min_turnover = float(turnover.value)
    cp.Problem(cp.Minimize(variance), base + [turnover <= 0.02]).solve(solver="SCS", eps=1e-9)
    return min_turnover, float(np.sqrt(variance.value))


def test_tracking_error_cap_conflict_against_dense_reference(market, te_reference):
    p, cn = market
    assets, w0 = start_weights(p, cn)
    d, data, cons = infeasible(assets, p, w0, TE_SPECS)
    te, to = "tracking error <= 0.50%", "turnover"
    assert [set(c["constraints"]) for c in d.conflicts] == [{te, to}]
    min_turnover, min_te = te_reference
    rel = {r["name"]: r for r in d.relaxations}
    assert rel[to]["amount"] == pytest.approx(min_turnover - 0.02, abs=2e-5)
    assert rel[te]["amount"] == pytest.approx(min_te - 0.005, abs=2e-5)
    assert d.message.startswith(
        "tracking error <= 0.50% and turnover at most 2.00 % cannot both hold; "
        "the smallest single change is"
    )
    # a label that states its limit is not followed by the limit again
    assert "0.50% at most" not in d.message
    assert f"tracking error <= 0.50% relaxed to {100 * min_te:.2f} %" in d.message


@pytest.mark.filterwarnings("error")  # no "Solution may be inaccurate" from any solver
@pytest.mark.parametrize("least", ["tracking error <= 0.50%", "turnover"])
def test_priority_relaxation_of_a_risk_cap(market, te_reference, least):
    """The conic case of priority relaxation, against the dense references above."""
    p, cn = market
    assets, w0 = start_weights(p, cn)
    specs = [dict(s) for s in TE_SPECS]
    te_first = least.startswith("tracking")
    specs[0]["priority"], specs[1]["priority"] = (1, 2) if te_first else (2, 1)
    opt = PortfolioOptimizer(
        assets, p.risk, build_constraints(specs), ObjectiveSpec(risk_aversion=1.0)
    )
    r = opt.solve(p.alpha, p.benchmark, w0)
    assert r.status == "optimal" and [x["name"] for x in r.relaxed] == [least]
    new = r.relaxed[0]["limits"][0]["new_limit"]
    min_turnover, min_te = te_reference
    if te_first:
        assert new == pytest.approx(min_te, abs=2e-5)
        assert r.ex_ante_te <= new + 1e-7 and r.turnover <= 0.02 + 1e-6
        assert r.relaxed[0]["text"] == f"tracking error <= 0.50% relaxed to {100 * new:.2f} %"
    else:
        assert new == pytest.approx(min_turnover, abs=2e-5)
        # the relaxed feasible set is almost one point: the interior-point solver's
        # row accuracy there is about 1e-6 of NAV
        assert r.turnover <= new + 1e-6 and r.ex_ante_te <= 0.005 + 1e-6


@pytest.mark.parametrize("te_cap", [0.30, 0.10])
def test_a_risk_cap_outside_the_conflict_changes_nothing(market, te_cap):
    """With a TE cap present but in no conflict, the diagnosis answers most questions
    with its LP twin (risk caps off; an LP answer whose weights meet the hard TE cap is
    the conic answer) and must give the linear diagnosis exactly: same conflict, same
    smallest relaxations (the closed forms of the test above, verified there)."""
    p, cn = market
    assets, w0 = start_weights(p, cn)
    plain, _, _ = infeasible(assets, p, w0, SPECS)
    specs = SPECS + [{"kind": "tracking_error", "max": te_cap}]
    d, _, _ = infeasible(assets, p, w0, specs)
    assert [set(c["constraints"]) for c in d.conflicts] == [
        set(c["constraints"]) for c in plain.conflicts
    ]
    rel, ref = ({r["name"]: r for r in x.relaxations} for x in (d, plain))
    assert set(rel) == set(ref)
    for name, r in rel.items():
        assert r["fixes_alone"] == ref[name]["fixes_alone"]
        assert r["amount"] == pytest.approx(ref[name]["amount"], abs=1e-7), name
    assert rel["turnover"]["rows"][0]["new_limit"] == pytest.approx(0.095, abs=1e-7)
    assert rel["China exposure"]["rows"][0]["new_limit"] == pytest.approx(0.145, abs=1e-7)
