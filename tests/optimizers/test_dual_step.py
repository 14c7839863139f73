"""The dual Newton step with many factors: the Woodbury solve against the dense one,
and a Ledoit-Wolf-form risk model (one factor per day) solved like Clarabel.

* at random multipliers, random held-at-zero sets and dampings, the Woodbury step
  solves the dense system ``-H + reg I`` (from :func:`dense_hessian`) with a backward
  error at rounding level (1e-10), and equals the dense Cholesky step to 1e-8 (relative
  to the step) where the system is well conditioned (condition number < 1e6), with a TE
  cap and a total-risk cap (their columns in ``M`` and ``J``);
* a 120-factor Ledoit-Wolf model: the certified answer takes Woodbury steps and
  equals Clarabel's (objective 1e-6, weights 1e-4, shadow prices 2 %).
"""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import optimizers.dual as dual
from constraints import build_constraints
from optimizers import FactorRiskModel, ObjectiveSpec, PortfolioOptimizer
from optimizers.dual import _Point
from optimizers.dual_step import NewtonSystem
from optimizers.synthetic import synthetic_problem
from tests.optimizers.test_dual import assert_same, fund_specs, solve_both

warnings.filterwarnings("ignore", category=UserWarning)


def ledoit_wolf_problem(n: int, days: int, seed: int):
    """The synthetic universe with ``S = (1 - delta) X'X / T + delta mu I`` in factor
    form: ``B = X' / sqrt(T)`` (de-meaned daily returns), ``F = (1 - delta) I``, ``d =
    delta mu`` (annualised: returns scaled by sqrt(252))."""
    p = synthetic_problem(n, n_style=4, seed=seed)
    rng = np.random.default_rng(seed + 100)
    market = rng.normal(0, 0.01, (days, 1))
    R = (market + rng.normal(0, 0.02, (days, n))) * np.sqrt(252)
    X = R - R.mean(axis=0)
    B = X.T / np.sqrt(days)
    delta = 0.3
    mu = float(np.trace(B @ B.T)) / n
    names = pd.Index([f"day_{t}" for t in range(days)])
    risk = FactorRiskModel(
        p.assets.index, names, B, (1 - delta) * np.eye(days), np.full(n, delta * mu)
    )
    return dataclasses.replace(p, risk=risk)


def dual_data(p, specs, obj):
    opt = PortfolioOptimizer(p.assets, p.risk, build_constraints(specs), obj, nav_base=p.nav_base)
    d = opt.built
    d.set_parameters(opt._data(p.assets, p.risk, p.benchmark, p.w0), p.alpha.to_numpy())
    return d.dual_data()


@pytest.mark.parametrize("seed", [0, 1])
def test_woodbury_step_equals_the_dense_step(seed):
    p = ledoit_wolf_problem(90, 60, seed)
    specs = fund_specs(0.03) + [{"kind": "total_risk", "max": 0.6}]
    P = dual_data(p, specs, ObjectiveSpec(risk_aversion=2.0, impact=True))
    assert P.te is not None and P.vol is not None and P.K == 60
    rng = np.random.default_rng(seed)
    checked = conditioned = 0
    for _ in range(40):
        v = np.r_[rng.normal(0, 0.05, P.K), rng.exponential(1e-2, P.p - P.K)]
        v[P.K :][rng.random(P.p - P.K) < 0.3] = 0.0  # some multipliers at zero
        pt = _Point(P, v)
        if not pt.ok or not len(pt.free):
            continue
        held = np.flatnonzero((v <= 0) & (np.arange(P.p) >= P.K))
        held = held[rng.random(len(held)) < 0.5]
        fr = np.setdiff1d(np.arange(P.p), held)
        g = pt.grad[fr]
        wood = NewtonSystem(P, pt, fr, method="woodbury")
        dense = NewtonSystem(P, pt, fr, method="dense")
        assert wood.woodbury and not dense.woodbury
        assert wood.top == pytest.approx(dense.top, rel=1e-12)
        Hf = -pt.hessian(P)[np.ix_(fr, fr)]
        for reg in (1e-10, 1e-4, 1.0):
            A = Hf + reg * np.eye(len(fr))
            a, b = wood.solve(reg, g), dense.solve(reg, g)
            # both solve the system: backward error at rounding level (A is nearly
            # singular at small damping: rows no free name moves)
            for x in (a, b):
                err = np.abs(A @ x - g).max()
                assert err <= 1e-10 * (np.abs(A).max() * np.abs(x).max() + np.abs(g).max())
            if np.linalg.cond(A) < 1e6:  # and where it is well posed, the same step
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-8 * np.abs(b).max())
                conditioned += 1
        checked += 1
    assert conditioned >= 10
    assert checked >= 20


def test_ledoit_wolf_form_is_certified_with_woodbury_steps_and_matches_clarabel(monkeypatch):
    p = ledoit_wolf_problem(150, 120, 3)
    steps = {"woodbury": 0, "dense": 0}

    class Counting(NewtonSystem):  # the real system, counted
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            steps["woodbury" if self.woodbury else "dense"] += 1

    monkeypatch.setattr(dual, "NewtonSystem", Counting)
    r1, r2 = solve_both(p, fund_specs(0.04), ObjectiveSpec(risk_aversion=2.0, impact=True))
    assert_same(r1, r2)
    assert steps["woodbury"] > 0


def test_diagonal_factor_covariance_skips_the_rotation_and_gives_the_same_data(monkeypatch):
    """A diagonal ``F`` (Ledoit-Wolf form) is its own eigenbasis: columns are picked, not
    rotated. With a zero-variance factor and a factor row, the basis-free quantities
    (``B F B'``, ``Gf F^-1 Gf'``, the null-space shift ``W0``) equal the eigh path's."""
    import scipy.sparse as sp

    import optimizers.dual_data as dd

    rng = np.random.default_rng(4)
    n, K = 30, 6
    B = rng.normal(size=(n, K))
    F = np.diag([0.04, 0.0, 0.01, 0.02, 0.0, 0.03])
    G = sp.csr_matrix(np.hstack([rng.normal(size=(3, 3 * n)), rng.normal(size=(3, K))]))
    d = rng.uniform(0.01, 0.05, n)
    fast = dd.DualStatic(B, F, d, G)
    monkeypatch.setattr(dd, "_is_diagonal", lambda F: False)
    ref = dd.DualStatic(B, F, d, G)
    assert fast.B.shape == ref.B.shape == (n, 4)

    def same(a, b):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())

    same(fast.B @ np.diag(fast.fv) @ fast.B.T, ref.B @ np.diag(ref.fv) @ ref.B.T)
    same(fast.Gf @ np.diag(fast.finv) @ fast.Gf.T, ref.Gf @ np.diag(ref.finv) @ ref.Gf.T)
    same(fast.W0, ref.W0)
    same(fast.Gw.toarray(), ref.Gw.toarray())
    assert dd.DualStatic.eligible(F, d) and not dd.DualStatic.eligible(-F, d)


def test_no_free_name_and_no_free_row():
    """Edge cases of the Woodbury solve: no name trading inside its bounds (``n_f = 0``,
    as at a start where every name sits in its no-trade band) and only the factor
    multipliers free (``q = 0``): the same step as the dense solve."""
    p = ledoit_wolf_problem(90, 60, 0)
    P = dual_data(p, fund_specs(0.03), ObjectiveSpec(risk_aversion=2.0, impact=True))
    pt = _Point(P, np.r_[np.zeros(P.K), np.full(P.p - P.K, 1e-3)])
    for none_free in (False, True):
        if none_free:  # the system's input is the free set: take it empty
            pt.free, pt.D, pt.buying = pt.free[:0], pt.D[:0], pt.buying[:0]
        for fr in (np.arange(P.p), np.arange(P.K)):
            g = pt.grad[fr]
            Hf = -pt.hessian(P)[np.ix_(fr, fr)]
            for reg in (1e-6, 1.0):
                A = Hf + reg * np.eye(len(fr))
                a = NewtonSystem(P, pt, fr, method="woodbury").solve(reg, g)
                err = np.abs(A @ a - g).max()
                assert err <= 1e-10 * (np.abs(A).max() * np.abs(a).max() + np.abs(g).max())
                if np.linalg.cond(A) < 1e6:
                    b = NewtonSystem(P, pt, fr, method="dense").solve(reg, g)
                    np.testing.assert_allclose(a, b, rtol=0, atol=1e-8 * np.abs(b).max())
