"""A constructed infeasible configuration is diagnosed with the right set and relaxations."""

import warnings

import numpy as np
import pandas as pd
import pytest

from constraints import build_constraints
from optimizers import InfeasibleError, ObjectiveSpec, PortfolioOptimizer
from optimizers.synthetic import synthetic_problem

warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture(scope="module")
def case():
    p = synthetic_problem(30, n_style=3, seed=4)
    cn = (p.assets["country_of_risk"] == "CN").to_numpy()
    # start: 20 % in China names, 79 % elsewhere, 1 % cash
    w0 = np.where(cn, 0.20 / cn.sum(), 0.79 / (~cn).sum())
    return p, pd.Series(w0, index=p.assets.index)


SPECS = [
    {
        "kind": "group_bounds",
        "name": "China exposure",
        "column": "country_of_risk",
        "groups": {"China": ["CN"]},
        "bounds": {"China": [0.0, 0.10]},
    },
    {"kind": "turnover", "max": 0.05},
    {"kind": "cash_band", "min": 0.0, "max": 0.02},
    {"kind": "position_bounds", "max": 0.5},
]


def test_conflict_set_and_smallest_relaxations(case):
    p, w0 = case
    opt = PortfolioOptimizer(
        p.assets, p.risk, build_constraints(SPECS), ObjectiveSpec(risk_aversion=1.0)
    )
    with pytest.raises(InfeasibleError) as exc:
        opt.solve(p.alpha, p.benchmark, w0)
    d = exc.value.diagnosis
    assert {c["name"] for c in d.conflict} == {
        "China exposure",
        "turnover",
        "cash in [0.00%, 2.00%]",
    }
    rel = {r["name"]: r for r in d.relaxations}
    # closed form: China must fall 10 %-pts; at most 1 %-pt can go to cash (band 2 %, start 1 %),
    # so 9 %-pts of sells are matched by buys: one-way turnover 0.5 * (10 + 9) = 9.5 %.
    assert rel["turnover"]["rows"][0]["new_limit"] == pytest.approx(0.095, abs=1e-6)
    # with 5 % turnover: sells s and buys s - c with c <= 1 %: 0.5 (2s - c) <= 5 % -> s = 5.5 %,
    # so China can fall to 14.5 %.
    assert rel["China exposure"]["rows"][0]["new_limit"] == pytest.approx(0.145, abs=1e-6)
    assert "cannot all hold" in d.message and "turnover" in d.message
    js = d.to_dict()
    assert js["conflict"] and js["relaxations"][0]["rows"]


def test_priority_relaxation_reports_what_was_relaxed(case):
    p, w0 = case
    specs = [dict(s) for s in SPECS]
    specs[1]["priority"] = 1  # turnover is the least important: relaxed first
    opt = PortfolioOptimizer(
        p.assets, p.risk, build_constraints(specs), ObjectiveSpec(risk_aversion=1.0)
    )
    r = opt.solve(p.alpha, p.benchmark, w0)
    assert [x["name"] for x in r.relaxed] == ["turnover"]
    assert r.relaxed[0]["amount"] == pytest.approx(0.045, abs=1e-6)
    assert r.turnover <= 0.095 + 1e-6
    china = w0.index[(p.assets["country_of_risk"] == "CN").to_numpy()]
    assert r.weights[china].sum() <= 0.10 + 1e-7
