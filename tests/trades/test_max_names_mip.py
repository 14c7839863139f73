"""``max_names`` where keeping the largest names fails: the mixed-integer support.

Independent references: the fewest names that can meet the limits, counted by a slow
enumeration of every subset of names with one LP each (:func:`scipy.optimize.linprog`,
the limits written out by hand here), and a closed form (``ceil(invested / cap)``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from constraints import ProblemData, build_constraints, check_constraints
from optimizers import InfeasibleError, ObjectiveSpec, PortfolioOptimizer
from optimizers.synthetic import synthetic_problem

HARD = [
    {"kind": "position_bounds", "min": 0.0, "max": 0.08},
    {"kind": "group_bounds", "column": "country", "relative_to": "benchmark",
     "default": [-0.03, 0.03]},
    {"kind": "cash_band", "min": 0.0, "max": 0.01},
]  # fmt: skip


def _solve(p, specs):
    opt = PortfolioOptimizer(p.assets, p.risk, build_constraints(specs),
                             ObjectiveSpec(risk_aversion=5.0), mi_max_assets=0)  # fmt: skip
    return opt.solve(p.alpha, p.benchmark, p.w0 * 0.0)


def test_max_names_holds_where_the_largest_names_cannot():
    """Seed 2, K = 14: the size-ranked heuristic stalls at 15 names (20 rounds); the names
    chosen by the mixed-integer LP meet K and every other limit (tolerance 1e-6)."""
    p = synthetic_problem(80, n_style=4, seed=2)
    specs = [*HARD, {"kind": "max_names", "max": 14}, {"kind": "min_holding", "min": 0.01}]
    r = _solve(p, specs)
    w = r.weights
    assert "mixed-integer LP" in r.integer_method
    assert int((w > 1e-6).sum()) <= 14
    assert (w[w > 1e-6] >= 0.01 - 1e-6).all()
    data = ProblemData.from_series(p.assets, p.risk, p.benchmark, p.w0 * 0.0, 1.0)
    assert check_constraints(build_constraints(specs), w, data, tol=1e-6) == []


def _fewest_by_enumeration(p, cap, band, max_k):
    """Smallest k such that some k names can carry weights meeting: ``0 <= w_i <= cap``,
    ``1 - band <= sum(w) <= 1``, country sums within ``benchmark +/- 3 %``."""
    ids = list(p.assets.index)
    country = p.assets["country"].to_numpy()
    groups = sorted(set(country))
    bench = p.benchmark.reindex(ids).fillna(0.0).to_numpy()
    for k in range(1, max_k + 1):
        for subset in itertools.combinations(range(len(ids)), k):
            idx = np.array(subset)
            G = np.array([(country[idx] == g).astype(float) for g in groups])
            gb = np.array([bench[country == g].sum() for g in groups])
            A = np.vstack([G, -G, np.ones((1, k)), -np.ones((1, k))])
            b = np.r_[gb + 0.03, -(gb - 0.03), 1.0, -(1.0 - band)]
            res = linprog(np.zeros(k), A_ub=A, b_ub=b, bounds=[(0.0, cap)] * k, method="highs")
            if res.status == 0:
                return k
    return None


def test_too_few_names_is_proved_and_the_fewest_matches_enumeration():
    """A universe of 12 names: the mixed-integer LP proves ``max_names`` infeasible and its
    fewest-names count equals the slow enumeration's."""
    p = synthetic_problem(12, n_style=2, seed=3)
    fewest = _fewest_by_enumeration(p, cap=0.15, band=0.02, max_k=12)
    assert fewest == 9  # ceil(0.98 / 0.15) = 7 without the country bounds
    specs = [
        {"kind": "position_bounds", "min": 0.0, "max": 0.15},
        {"kind": "group_bounds", "column": "country", "relative_to": "benchmark",
         "default": [-0.03, 0.03]},
        {"kind": "cash_band", "min": 0.0, "max": 0.02},
        {"kind": "max_names", "max": fewest - 1},
    ]  # fmt: skip
    with pytest.raises(InfeasibleError, match=f"fewest names that meet them is {fewest}") as err:
        _solve(p, specs)
    d = err.value.diagnosis.to_dict()
    assert d["limit"] == fewest - 1 and d["fewest_names"] == fewest
    r = _solve(p, [*specs[:-1], {"kind": "max_names", "max": fewest}])
    assert int((r.weights > 1e-6).sum()) <= fewest


def test_closed_form_fewest_names():
    """Only a position cap and a cash band: the fewest names is ``ceil((1 - band) / cap)``."""
    p = synthetic_problem(30, n_style=2, seed=1)
    cap, band = 0.07, 0.03
    fewest = math.ceil((1.0 - band) / cap)  # 14
    specs = [
        {"kind": "position_bounds", "min": 0.0, "max": cap},
        {"kind": "cash_band", "min": 0.0, "max": band},
        {"kind": "max_names", "max": fewest - 1},
    ]
    with pytest.raises(InfeasibleError) as err:
        _solve(p, specs)
    assert err.value.diagnosis.to_dict()["fewest_names"] == fewest
