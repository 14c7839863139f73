"""``max_names`` holds exactly at N = 1,200 and 5,000 (the heuristic, above SCIP's size limit).

The start book is the synthetic one (benchmark tilted, all names held), so the continuous
solution holds far more than ``K`` names; the answer must hold at most ``K`` names, every
holding at or above ``min_holding``, every other limit within tolerance, and
``integer_gap`` must report a non-negative gap to the continuous relaxation.
"""

from __future__ import annotations

import numpy as np
import pytest

from constraints import ProblemData, build_constraints, check_constraints
from optimizers import ObjectiveSpec, PortfolioOptimizer
from optimizers.synthetic import synthetic_problem


@pytest.mark.parametrize(("n", "k"), [(1200, 120), (5000, 150)])
def test_max_names_holds_at_scale(n, k):
    p = synthetic_problem(n, n_style=4, seed=11)
    specs = [
        {"kind": "position_bounds", "min": 0.0, "max": 0.03},
        {"kind": "group_bounds", "column": "sector", "relative_to": "benchmark",
         "default": [-0.10, 0.10]},
        {"kind": "max_names", "max": k},
        {"kind": "min_holding", "min": 0.002},
    ]  # fmt: skip
    cons = build_constraints(specs)
    opt = PortfolioOptimizer(p.assets, p.risk, cons, ObjectiveSpec(risk_aversion=5.0),
                             mi_max_assets=300)  # fmt: skip
    r = opt.solve(p.alpha, p.benchmark, p.w0 * 0.0)
    w = r.weights
    assert r.integer_method.startswith("heuristic")  # N above mi_max_assets
    held = w[w > 1e-6]
    assert len(held) <= k
    assert (held >= 0.002 - 1e-6).all()
    assert w.sum() <= 1.0 + 1e-6

    data = ProblemData.from_series(p.assets, p.risk, p.benchmark, p.w0 * 0.0, 1.0)
    assert check_constraints(cons, w, data, tol=1e-6) == []
    gap = r.integer_gap
    assert gap is not None and gap["gap"] >= -1e-6
    assert np.isfinite(gap["objective"]) and gap["objective"] <= gap["relaxation_objective"] + 1e-8


def test_forced_names_above_max_names_is_infeasible():
    """More names than ``K`` that cannot be sold (here a hold list) is infeasible, named."""
    from optimizers import InfeasibleError

    p = synthetic_problem(200, n_style=4, seed=3)
    hold = sorted(p.assets.index[:12])
    cons = build_constraints([
        {"kind": "hold", "assets": hold},
        {"kind": "max_names", "max": 10},
    ])  # fmt: skip
    opt = PortfolioOptimizer(p.assets, p.risk, cons, ObjectiveSpec(risk_aversion=5.0),
                             mi_max_assets=0)  # fmt: skip
    with pytest.raises(InfeasibleError, match="12 names must stay held") as err:
        opt.solve(p.alpha, p.benchmark, p.w0)
    assert set(hold) <= set(err.value.diagnosis.to_dict()["forced_names"])
