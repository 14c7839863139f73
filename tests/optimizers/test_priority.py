"""Priorities and soft constraints on a small constructed market with closed-form answers.

Market: two China names (``country_of_risk`` CN) and six Japan names. Start: 20 % in
China (10 % each), 79 % in Japan, 1 % cash. Constraints: China at most 10 %, one-way
turnover at most 5 %, cash in [0 %, 2 %]. Feasibility does not depend on alpha or risk:

* China must fall by 10 %-pts; at most 1 %-pt of it can go to cash, so 9 %-pts are
  bought back: the smallest turnover is ``0.5 * (10 + 9) = 9.5 %``;
* within 5 % turnover, sells ``s`` and buys ``s - c`` (cash ``c <= 1 %``) give
  ``0.5 (2 s - c) <= 5 %``, so ``s <= 5.5 %``: China can fall to 14.5 %;
* the cash band: selling 10 %-pts within 5 % turnover needs cash ``1 % + 10 % = 11 %``.

Every reported relaxation is checked independently: the optimizer built afresh with the
reported limits solves, and with the limit tightened by :data:`TIGHTEN` it is infeasible.
Every test turns warnings into errors, so a solver's "Solution may be inaccurate"
(a cvxpy ``UserWarning``) fails it.
"""

import numpy as np
import pandas as pd
import pytest

from constraints import build_constraints
from optimizers import FactorRiskModel, InfeasibleError, ObjectiveSpec, PortfolioOptimizer
from optimizers.diagnosis import states_limit

pytestmark = pytest.mark.filterwarnings("error")

TOL = 1e-6  # closed-form amounts and limits (fractions of NAV)
# a limit this much tighter than reported must be infeasible: 1e-5, because a problem
# infeasible by only 1e-6 of NAV is within Clarabel's feasibility tolerance (1e-7 on its
# equilibrated rows) and may come back "optimal" with rows 5e-7 over their limits
TIGHTEN = 1e-5
CN = ["C1", "C2"]
JP = [f"J{i}" for i in range(1, 7)]
IDS = pd.Index(CN + JP, name="asset_id")
TURNOVER, CHINA = "turnover", "China exposure"
CASH = "cash in [0.00%, 2.00%]"
HALTED = "halted list (column halted)"
NAV = 1e8


def market(halted_china: float | None = None):
    """Assets, risk, benchmark, start weights and alpha; optionally C1 halted at a weight."""
    n = len(IDS)
    assets = pd.DataFrame(
        {
            "sector": ["Industrials", "Technology"] * 4,
            "country": ["CN", "CN"] + ["JP"] * 6,
            "country_of_risk": ["CN", "CN"] + ["JP"] * 6,
            "cost_buy": 0.001,
            "cost_sell": 0.001,
            "halted": [halted_china is not None] + [False] * (n - 1),
            "adv_base": [2e7, 2e7] + [1e9] * 6,  # base currency per day; NAV is 1e8
        },
        index=IDS,
    )
    risk = FactorRiskModel(IDS, pd.Index(["market"]), np.ones((n, 1)), [[0.04]], np.full(n, 0.04))
    china = [0.10, 0.10] if halted_china is None else [halted_china, 0.20 - halted_china]
    w0 = pd.Series(china + [0.79 / 6] * 6, index=IDS)
    bench = pd.Series(1.0 / n, index=IDS)
    alpha = pd.Series(np.linspace(0.03, -0.02, n), index=IDS)
    return assets, risk, bench, w0, alpha


def specs(turnover=0.05, china=0.10, cash=(0.0, 0.02), priorities=None, halted=False):
    """The constraint specs; ``priorities = {name: priority}``."""
    out = [
        {
            "kind": "group_bounds",
            "name": CHINA,
            "column": "country_of_risk",
            "groups": {"China": ["CN"]},
            "bounds": {"China": [0.0, china]},
        },
        {"kind": "turnover", "max": turnover},
        {"kind": "cash_band", "min": cash[0], "max": cash[1], "name": CASH},
        {"kind": "position_bounds", "max": 0.5},
    ]
    if halted:
        out.append({"kind": "halted", "column": "halted"})
    names = [CHINA, TURNOVER, CASH, "position_bounds"]
    for name, p in (priorities or {}).items():
        out[names.index(name)]["priority"] = p
    return out


def solve(spec_list, halted_china=None):
    assets, risk, bench, w0, alpha = market(halted_china)
    cons = build_constraints(spec_list)
    opt = PortfolioOptimizer(assets, risk, cons, ObjectiveSpec(), nav_base=NAV)
    return opt.solve(alpha, bench, w0)


def feasible(spec_list, halted_china=None) -> bool:
    """Independent check: a fresh optimizer with no priorities solves (else infeasible)."""
    plain = [{k: v for k, v in s.items() if k != "priority"} for s in spec_list]
    try:
        r = solve(plain, halted_china)
    except InfeasibleError:
        return False
    assert r.status == "optimal" and r.relaxed == []
    return True


def by_name(result) -> dict:
    return {x["name"]: x for x in result.relaxed}


def only_limit(entry) -> dict:
    assert len(entry["limits"]) == 1 and entry["rows_changed"] == 1
    return entry["limits"][0]


def china_weight(result) -> float:
    return float(result.weights[CN].sum())


def test_turnover_least_important_is_relaxed_to_its_minimum():
    r = solve(specs(priorities={TURNOVER: 1, CHINA: 2}))
    assert r.status == "optimal" and list(by_name(r)) == [TURNOVER]
    rel = by_name(r)[TURNOVER]
    lim = only_limit(rel)
    assert (lim["side"], lim["limit"]) == ("at most", pytest.approx(0.05))
    assert lim["new_limit"] == pytest.approx(0.095, abs=TOL)  # closed form, module docstring
    assert rel["amount"] == pytest.approx(0.045, abs=TOL)
    assert (rel["kind"], rel["unit"], rel["priority"]) == ("turnover", "weight", 1)
    assert rel["text"] == "turnover at most 5.00 % relaxed to 9.50 %"
    # the solution honours the relaxed limit and every other limit as configured
    assert r.turnover <= lim["new_limit"] + 1e-8
    assert china_weight(r) <= 0.10 + 1e-8 and 0.0 - 1e-8 <= r.cash <= 0.02 + 1e-8
    assert feasible(specs(turnover=lim["new_limit"]))
    assert not feasible(specs(turnover=lim["new_limit"] - TIGHTEN))


def test_swapped_priorities_relax_china_instead():
    r = solve(specs(priorities={TURNOVER: 2, CHINA: 1}))
    assert list(by_name(r)) == [CHINA]
    rel = by_name(r)[CHINA]
    lim = only_limit(rel)
    assert (lim["row"], lim["side"]) == ("country_of_risk China", "at most")
    assert lim["new_limit"] == pytest.approx(0.145, abs=TOL)
    assert rel["amount"] == pytest.approx(0.045, abs=TOL)
    assert rel["text"] == "China exposure at most 10.00 % relaxed to 14.50 %"
    assert china_weight(r) <= lim["new_limit"] + 1e-8 and r.turnover <= 0.05 + 1e-8
    assert feasible(specs(china=lim["new_limit"]))
    assert not feasible(specs(china=lim["new_limit"] - TIGHTEN))


def test_two_sided_limit_moves_only_the_side_needed():
    """Cash least important: its cap goes to 11 %; its floor (0 %) is not touched."""
    r = solve(specs(priorities={CASH: 1, TURNOVER: 2, CHINA: 3}))
    rel = by_name(r)[CASH]
    assert list(by_name(r)) == [CASH]
    lim = only_limit(rel)
    assert lim["side"] == "at most" and lim["new_limit"] == pytest.approx(0.11, abs=TOL)
    assert rel["text"] == "cash in [0.00%, 2.00%] relaxed to at most 11.00 %"
    assert r.cash <= lim["new_limit"] + 1e-8
    assert feasible(specs(cash=(0.0, lim["new_limit"])))
    assert not feasible(specs(cash=(0.0, lim["new_limit"] - TIGHTEN)))


def test_more_important_level_moves_only_when_the_lower_cannot_fix_it():
    """C1 halted at 12 % > the 10 % China cap: no turnover fixes that.

    Closed forms: with turnover given up, China can fall to 12 % at best (relaxed by
    2 %-pts); with China at 12 %, sell 8 %-pts of C2, 1 %-pt to cash and buy 7 %-pts:
    turnover ``0.5 * (8 + 7) = 7.5 %``.
    """
    spec_list = specs(priorities={TURNOVER: 1, CHINA: 2}, halted=True)
    r = solve(spec_list, halted_china=0.12)
    assert list(by_name(r)) == [TURNOVER, CHINA]  # least important first
    china, turnover = (only_limit(by_name(r)[n])["new_limit"] for n in (CHINA, TURNOVER))
    assert china == pytest.approx(0.12, abs=TOL)
    assert turnover == pytest.approx(0.075, abs=TOL)
    assert by_name(r)[CHINA]["amount"] == pytest.approx(0.02, abs=TOL)
    assert by_name(r)[TURNOVER]["amount"] == pytest.approx(0.025, abs=TOL)
    assert r.weights["C1"] == pytest.approx(0.12, abs=1e-8)
    args = {"halted": True}
    assert feasible(specs(turnover=turnover, china=china, **args), 0.12)
    assert not feasible(specs(turnover=1.0, china=china - TIGHTEN, **args), 0.12)
    assert not feasible(specs(turnover=turnover - TIGHTEN, china=china, **args), 0.12)


def test_liquidity_relaxed_in_its_own_units():
    """Liquidity (own unit: fraction of ADV) least important, turnover loose.

    China names trade at most ``p * ADV / NAV = 0.2 p`` each and must sell 10 %-pts
    together: ``p = 0.10 / 0.4 = 25 %`` of ADV, a relaxation of 15 %-pts of ADV that
    moves only the two China names' sell limits (to ``10 % - 0.2 * 25 % = 5 %``).
    Slack prices of ``1 / sens`` per row (``sens = ADV / NAV``) would scale badly here.
    """
    liq = {"kind": "liquidity", "max_pct_adv": 0.10, "priority": 1}
    r = solve(specs(turnover=0.2, priorities={CHINA: 2}) + [liq])
    name = "liquidity (trade <= 10% of ADV over 1 days)"
    assert list(by_name(r)) == [name]
    rel = by_name(r)[name]
    assert (rel["unit"], rel["amount"]) == ("fraction of ADV", pytest.approx(0.15, abs=TOL))
    assert rel["rows_changed"] == 2
    assert {x["row"]: x["side"] for x in rel["limits"]} == {"C1": "at least", "C2": "at least"}
    for x in rel["limits"]:
        assert (x["limit"], x["new_limit"]) == (pytest.approx(0.08), pytest.approx(0.05, abs=TOL))
    assert rel["text"] == f"{name} relaxed by 15.00 % of ADV (2 names)"
    assert china_weight(r) <= 0.10 + 1e-8
    new_p = 0.10 + rel["amount"]
    base = specs(turnover=0.2)
    assert feasible(base + [dict(liq, max_pct_adv=new_p)])
    assert not feasible(base + [dict(liq, max_pct_adv=new_p - TIGHTEN)])


def test_one_level_with_two_constraints_gives_the_smallest_total():
    """Same priority: the level moves by the least total; any split of 4.5 %-pts works."""
    r = solve(specs(priorities={TURNOVER: 1, CHINA: 1}))
    total = sum(x["amount"] for x in r.relaxed)
    assert total == pytest.approx(0.045, abs=2 * TOL)
    new = {x["name"]: only_limit(x)["new_limit"] for x in r.relaxed}
    t, c = new.get(TURNOVER, 0.05), new.get(CHINA, 0.10)
    assert feasible(specs(turnover=t, china=c))
    assert not feasible(specs(turnover=t - TIGHTEN, china=c - TIGHTEN))


def test_unprioritised_conflict_still_raises_with_the_diagnosis():
    """Only turnover has a priority, but the halted name keeps China at 12 %."""
    with pytest.raises(InfeasibleError) as exc:
        solve(specs(priorities={TURNOVER: 1}, halted=True), halted_china=0.12)
    d = exc.value.diagnosis
    assert {CHINA, HALTED} in [set(c["constraints"]) for c in d.conflicts]
    assert "China exposure at most 10.00 % and halted list (column halted) cannot" in (d.message)


def test_feasible_problem_relaxes_nothing():
    r = solve(specs(turnover=0.5, priorities={TURNOVER: 1, CHINA: 2}))
    assert r.relaxed == [] and r.status == "optimal"
    assert china_weight(r) <= 0.10 + 1e-8


def test_relaxed_report_is_json_ready():
    import json

    r = solve(specs(priorities={TURNOVER: 1, CHINA: 2}))
    js = json.loads(json.dumps(r.to_dict()))
    assert js["relaxed"][0]["limits"][0]["new_limit"] == pytest.approx(0.095, abs=TOL)


# --------------------------------------------------------------------- soft
def soft_market():
    """Benchmark 0, no factor risk (zero exposures), specific variance 0.04 each.

    Utility ``alpha'w - lambda sum(d w^2) - p max(0, w_C1 + w_C2 - 10 %)`` with lambda 5
    (``2 lambda d = 0.4``) separates by name: ``w_i = alpha_i / 0.4`` unpenalised, so
    China would hold ``(0.04 + 0.06) / 0.4 = 25 %``.
    """
    n = len(IDS)
    assets = pd.DataFrame({"country_of_risk": ["CN", "CN"] + ["JP"] * 6}, index=IDS)
    risk = FactorRiskModel(IDS, pd.Index(["f"]), np.zeros((n, 1)), [[0.04]], np.full(n, 0.04))
    alpha = pd.Series([0.04, 0.06] + [0.02] * 6, index=IDS)
    return assets, risk, alpha


def soft_solve(penalty):
    assets, risk, alpha = soft_market()
    china = dict(specs()[0])
    if penalty is not None:
        china["soft"] = penalty
    cons = build_constraints([china, {"kind": "position_bounds", "max": 0.5}])
    opt = PortfolioOptimizer(
        assets, risk, cons, ObjectiveSpec(risk_aversion=5.0, linear_costs=False)
    )
    zero = pd.Series(0.0, index=IDS)
    return opt.solve(alpha, zero, zero), alpha


def utility(w: pd.Series, alpha: pd.Series, penalty: float) -> float:
    breach = max(float(w[CN].sum()) - 0.10, 0.0)
    return float(alpha @ w - 5.0 * 0.04 * (w**2).sum() - penalty * breach)


@pytest.mark.parametrize("penalty", [0.005, 0.01, 0.02])
def test_soft_penalty_below_the_alpha_edge_buys_a_breach(penalty):
    """While ``p < 3 %`` the marginal China weight earns ``alpha_i - 0.4 w_i = p``:
    ``w_i = (alpha_i - p) / 0.4``, China ``= 25 % - 5 p``, breach ``15 % - 5 p``."""
    r, alpha = soft_solve(penalty)
    w = r.weights
    expected = (np.array([0.04, 0.06]) - penalty) / 0.4
    np.testing.assert_allclose(w[CN].to_numpy(), expected, atol=TOL)
    np.testing.assert_allclose(w[JP].to_numpy(), 0.05, atol=TOL)
    breach = 0.15 - 5 * penalty
    assert r.terms["soft_penalty"] == pytest.approx(penalty * breach, abs=1e-8)
    assert r.objective == pytest.approx(utility(w, alpha, penalty), abs=1e-8)
    assert [v["name"] for v in r.violations] == [CHINA]


def test_soft_penalty_above_the_alpha_edge_equals_the_hard_cap():
    """With ``p > 3 %`` the cap holds; the hard cap's multiplier is ``mu = 3 %``:
    ``sum (alpha_i - mu) / 0.4 = 10 %``, so ``w = (2.5 %, 7.5 %)``."""
    r, alpha = soft_solve(0.05)
    hard, _ = soft_solve(None)
    np.testing.assert_allclose(r.weights[CN].to_numpy(), [0.025, 0.075], atol=TOL)
    pd.testing.assert_series_equal(r.weights, hard.weights, atol=TOL)
    assert r.terms["soft_penalty"] == pytest.approx(0.0, abs=1e-8)
    assert r.objective == pytest.approx(hard.objective, abs=1e-8)
    assert r.violations == []


def test_soft_penalty_trade_off_is_the_breach():
    """Envelope theorem: d(objective)/dp = -breach (``15 % - 5 p``), by central difference."""
    h, p = 1e-4, 0.01
    up, _ = soft_solve(p + h)
    dn, _ = soft_solve(p - h)
    assert (up.objective - dn.objective) / (2 * h) == pytest.approx(-(0.15 - 5 * p), abs=1e-5)


# ------------------------------------------------------------------- wording
@pytest.mark.parametrize(
    "label, stated",
    [
        ("tracking error <= 0.50%", True),
        (CASH, True),
        ("China cap 10 %", True),
        ("liquidity (trade <= 10% of ADV over 3 days)", True),
        ("at most 30 names", True),
        (TURNOVER, False),
        (CHINA, False),
        ("group bounds (China = country_of_risk in ['CN'])", False),
        ("sector active bounds", False),
    ],
)
def test_states_limit(label, stated):
    assert states_limit(label) is stated


def test_priority_does_not_change_a_soft_constraint():
    """A soft constraint is priced, never relaxed: the priority is irrelevant."""
    r, _ = soft_solve(0.01)
    assets, risk, alpha = soft_market()
    china = dict(specs()[0], soft=0.01, priority=1)
    cons = build_constraints([china, {"kind": "position_bounds", "max": 0.5}])
    obj = ObjectiveSpec(risk_aversion=5.0, linear_costs=False)
    zero = pd.Series(0.0, index=IDS)
    r2 = PortfolioOptimizer(assets, risk, cons, obj).solve(alpha, zero, zero)
    assert r2.relaxed == []
    pd.testing.assert_series_equal(r.weights, r2.weights, atol=1e-9)
    assert cons[0].priority == 1 and cons[0].soft == 0.01
