"""The elastic problem behind diagnosis, checked against an independent LP.

:func:`tests.optimizers.test_diagnosis.lp_feasible` builds each subset's LP from the
constraints' sparse rows and solves it cold with :func:`scipy.optimize.linprog`; the
elastic problem answers the same questions from one warm-started HiGHS model.
"""

import itertools
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from constraints import ProblemData, build_constraints
from optimizers.elastic import ElasticProblem
from optimizers.synthetic import synthetic_problem
from tests.optimizers.test_diagnosis import CHINA, lp_feasible, start_weights

warnings.filterwarnings("ignore", category=UserWarning)
ROOT = Path(__file__).resolve().parents[2]
SPECS = [
    CHINA,
    {"kind": "turnover", "max": 0.01},
    {"kind": "cash_band", "min": 0.05, "max": 0.5},
    {"kind": "halted", "column": "halted"},
    {"kind": "position_bounds", "max": 0.5, "active_min": -0.05},
]


@pytest.fixture(scope="module")
def case():
    p = synthetic_problem(30, n_style=3, seed=4)
    cn = (p.assets["country_of_risk"] == "CN").to_numpy()
    assets, w0 = start_weights(p, cn, halted_weight=0.20)
    cons = build_constraints(SPECS)
    data = ProblemData.from_series(assets, p.risk, p.benchmark, w0, p.nav_base)
    return data, cons


def test_every_subset_matches_an_independent_lp(case):
    """All 31 subsets, asked in one order on one warm-started model (so each answer
    starts from the previous question's basis), agree with cold reference solves."""
    data, cons = case
    ep = ElasticProblem(data, cons, range(len(cons)))
    names = [c.label for c in cons]
    for r in range(1, len(cons) + 1):
        for subset in itertools.combinations(range(len(cons)), r):
            want = lp_feasible(data, cons, [names[i] for i in subset])
            assert ep.feasible(subset) == want, [names[i] for i in subset]


def test_single_relaxation_is_the_smallest(case):
    """China elastic, turnover hard, the rest off: relaxing China by the answer
    (plus 1e-6) is feasible in the reference LP, by the answer minus 1e-6 it is not.

    Closed form: a 1 % one-way turnover sells at most 2 %-pts of the 20 % in China
    into cash, so China must move from 10 % to 18 %: 8 %-pts."""
    data, cons = case
    ep = ElasticProblem(data, cons, range(len(cons)))
    names = [c.label for c in cons]
    keep = [0, 1]  # China, turnover: China alone can give way
    sol = ep.solve({0: "elastic", 1: "hard"})
    amount = float(sol.t.sum())
    assert amount == pytest.approx(0.08, abs=1e-7)
    assert np.isclose(sol.value, amount)
    on = [names[i] for i in keep]
    assert lp_feasible(data, cons, on, {names[0]: amount + 1e-6})
    assert not lp_feasible(data, cons, on, {names[0]: amount - 1e-6})


def test_no_solver_banner_on_stdout():
    """HiGHS prints a banner from C++ on its first instance; the diagnosis hides it."""
    code = (
        "import warnings; warnings.filterwarnings('ignore')\n"
        "from tests.optimizers.test_elastic import case\n"
        "from optimizers.synthetic import synthetic_problem\n"
        "from constraints import ProblemData, build_constraints\n"
        "from optimizers import diagnose\n"
        "p = synthetic_problem(20, seed=1)\n"
        "data = ProblemData.from_series(p.assets, p.risk, p.benchmark, p.w0, p.nav_base)\n"
        "cons = build_constraints([{'kind': 'cash_band', 'min': 0.5, 'max': 0.6},\n"
        "                          {'kind': 'turnover', 'max': 0.01}])\n"
        "d = diagnose(data, None, cons)\n"
        "assert d.conflicts, d.message\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
