"""Vectorised flags / group membership and the per-universe structure memo.

References are slow, obvious element-by-element implementations written here (the
pre-vectorisation code); comparisons are exact (the same 0/1 matrices, the same flags)
or at 1e-15 for sums of the same numbers.
"""

import copy
import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints import (
    ConstraintSpecError,
    ProblemData,
    build_constraint,
    check_constraints,
    group_membership,
)
from constraints.cache import UniverseCache
from constraints.data import flag_values
from optimizers.synthetic import synthetic_problem

from .test_constraints import SPECS


@pytest.fixture()
def universe():
    p = synthetic_problem(50, n_style=3, seed=4)
    assets = p.assets.copy()
    assets.loc[assets.index[[3, 9]], "halted"] = True
    return p, assets


def data_for(p, assets, benchmark=None, w0=None):
    b = p.benchmark if benchmark is None else benchmark
    return ProblemData.from_series(assets, p.risk, b, p.w0 if w0 is None else w0, p.nav_base)


# ----------------------------------------------------------------- reference code
def slow_flag(v):
    """The per-element rule: bool; 0/1 numbers; 'true'/'false'/'1'/'0' strings; else None."""
    words = {"true": True, "false": False, "1": True, "0": False}
    if isinstance(v, str):
        return words.get(v.strip().lower())
    if isinstance(v, bool | np.bool_) or (isinstance(v, int | float) and v in (0, 1)):
        return bool(v)
    return None


def slow_membership(values: list, groups=None):
    """Groups and 0/1 membership by walking every asset."""
    if groups is None:
        names = sorted({str(v) for v in values})
        groups = {g: [g] for g in names}
    names = list(groups)
    M = np.zeros((len(names), len(values)))
    for r, g in enumerate(names):
        members = [groups[g]] if isinstance(groups[g], str) else list(groups[g])
        for i, v in enumerate(values):
            if v is not None and str(v) in members:
                M[r, i] = 1.0
    return names, M


# ----------------------------------------------------------------------- flags
POOL = [True, False, 0, 1, 2, 0.0, 1.0, 0.5, "true", " FALSE ", "1", "0", "yes", None, np.nan]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(POOL), min_size=1, max_size=12))
def test_flags_match_the_per_element_rule(values):
    col = pd.Series(values)
    got = flag_values(col)
    want = [slow_flag(v) for v in col.to_numpy(dtype=object)]
    for g, w, v in zip(got, want, values, strict=True):
        if w is None:
            assert np.isnan(g), v
        else:
            assert g == float(w), v


@pytest.mark.parametrize(
    "col",
    [
        pd.Series([True, False, True]),
        pd.Series([True, None, False], dtype="boolean"),
        pd.Series([" True", "false", "0", "1", "no"], dtype="str"),
        pd.Series(["true", None], dtype="string"),
        pd.Series([0, 1, 1, 3]),
        pd.Series([1.0, np.nan, 0.0]),
        pd.Series(["true", "false"], dtype="category"),
        pd.Series([True, "0", 1.0, "x"], dtype=object),
    ],
    ids=["bool", "boolean-na", "str", "string-na", "int", "float-nan", "category", "mixed"],
)
def test_flags_by_dtype(col):
    got = flag_values(col)
    want = [slow_flag(None if v is pd.NA else v) for v in col.astype(object)]
    assert [None if np.isnan(g) else bool(g) for g in got] == want


def test_flags_raise_naming_assets(universe):
    p, assets = universe
    bad = assets.copy()
    bad["halted"] = bad["halted"].astype(object)
    bad.loc[bad.index[4], "halted"] = "maybe"
    data = data_for(p, bad)
    with pytest.raises(ConstraintSpecError, match=f"not boolean for \\['{bad.index[4]}'\\]"):
        data.flags("halted", "halted list")
    assert data_for(p, assets).flags("halted", "x").sum() == 2


# ----------------------------------------------------------------- membership
@pytest.mark.parametrize(
    "column, groups",
    [
        ("sector", None),
        ("country", None),
        ("country_of_risk", {"China": ["CN"], "North": ["JP", "KR", "CN"]}),
        ("country", {"Japan": "JP"}),
    ],
)
def test_group_membership_matches_reference(universe, column, groups):
    p, assets = universe
    names, M = group_membership(data_for(p, assets), column, groups, "test")
    ref_names, ref_M = slow_membership(list(assets[column]), groups)
    assert names == ref_names
    np.testing.assert_array_equal(M.toarray(), ref_M)


def test_group_membership_errors(universe):
    p, assets = universe
    data = data_for(p, assets)
    with pytest.raises(ConstraintSpecError, match=r"lists values \['ZZ'\] not found"):
        group_membership(data, "country", {"X": ["ZZ", "JP"]}, "test")
    gap = assets.copy()
    gap.loc[gap.index[2], "sector"] = None
    with pytest.raises(ConstraintSpecError, match=f"missing for \\['{gap.index[2]}'\\]"):
        group_membership(data_for(p, gap), "sector", None, "test")


# ------------------------------------------------------------------- the memo
def group_spec():
    return {"kind": "group_bounds", "column": "sector", "relative_to": "benchmark",
            "default": [-0.05, 0.05]}  # fmt: skip


def test_limits_follow_new_benchmark_and_w0(universe):
    """Every kind: after the memo is warm on one benchmark / w0, limits and violations on
    another equal a fresh constraint's (the memo holds structure only)."""
    p, assets = universe
    rng = np.random.default_rng(0)
    d1 = data_for(p, assets)
    b2 = pd.Series(rng.dirichlet(np.ones(len(assets))), index=assets.index)
    w2 = pd.Series(rng.dirichlet(np.ones(len(assets))) * 0.9, index=assets.index)
    d2 = data_for(p, assets, b2, w2)
    w = pd.Series(rng.dirichlet(np.ones(len(assets))) * 0.95, index=assets.index)
    for kind, spec in SPECS.items():
        warm = build_constraint({"kind": kind, **spec})
        warm.limits(d1), warm.row_labels(d1), warm.violation(w, d1)
        fresh = build_constraint({"kind": kind, **spec})
        for a, b in zip(warm.limits(d2), fresh.limits(d2), strict=True):
            np.testing.assert_array_equal(a.lo, b.lo)
            np.testing.assert_array_equal(a.hi, b.hi)
            np.testing.assert_array_equal(a.sens, b.sens)
        pd.testing.assert_series_equal(warm.violation(w, d2), fresh.violation(w, d2))


def test_structure_is_computed_once_per_universe(universe, monkeypatch):
    import constraints.groups as groups

    calls = []
    real = groups.group_membership

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(groups, "group_membership", counting)
    p, assets = universe
    c = build_constraint(group_spec())
    for scale in (1.0, 0.9, 1.1):  # new ProblemData each time, as at every re-solve
        c.limits(data_for(p, assets, p.benchmark * scale))
        c.row_labels(data_for(p, assets, p.benchmark * scale))
    assert calls == ["sector"]


def test_changed_universe_is_a_miss_never_stale(universe):
    p, assets = universe
    c = build_constraint(group_spec())
    before = c.limits(data_for(p, assets))[0]
    # a value changed in place (copy-on-write: the memo's reference keeps the old values)
    moved = assets.index[0]
    old_sector = assets.loc[moved, "sector"]
    new_sector = next(s for s in assets["sector"].unique() if s != old_sector)
    assets.loc[moved, "sector"] = new_sector
    after = c.limits(data_for(p, assets))[0]
    fresh = build_constraint(group_spec()).limits(data_for(p, assets))[0]
    np.testing.assert_array_equal(after.hi, fresh.hi)
    assert not np.array_equal(after.hi, before.hi)
    # a new numeric column assigned in place, and a list flag flipped in place
    attr = build_constraint({"kind": "attribute_bounds", "column": "beta", "max": 1.0})
    w = pd.Series(1.0 / len(assets), index=assets.index)
    v1 = attr.values(data_for(p, assets), w.to_numpy())[0][0]
    assets.loc[assets.index[:10], "beta"] += 1.0
    v2 = attr.values(data_for(p, assets), w.to_numpy())[0][0]
    assert v2 == pytest.approx(v1 + 10 / len(assets), abs=1e-15)
    halted = build_constraint({"kind": "halted", "column": "halted"})
    n1 = len(halted.selected(data_for(p, assets)))
    assets.loc[assets.index[20], "halted"] = True
    assert len(halted.selected(data_for(p, assets))) == n1 + 1


def test_reordered_universe_is_a_miss(universe):
    p, assets = universe
    c = build_constraint(group_spec())
    w = pd.Series(np.linspace(0.0, 0.03, len(assets)), index=assets.index)
    v1 = c.violation(w, data_for(p, assets))
    rev = assets.iloc[::-1]
    rev_data = ProblemData.from_series(rev, p.risk, p.benchmark, p.w0, p.nav_base)
    pd.testing.assert_series_equal(c.violation(w, rev_data), v1)
    ids = build_constraint({"kind": "position_bounds", "max": 0.01})
    assert ids.row_labels(rev_data)[0] == tuple(rev.index)


def test_memo_is_per_instance(universe):
    p, assets = universe
    c = build_constraint(group_spec())
    c.limits(data_for(p, assets))
    assert len(c.memo) == 2
    for other in (
        dataclasses.replace(c, default=(-0.01, 0.01)),
        pickle.loads(pickle.dumps(c)),
        copy.deepcopy(c),
    ):
        assert len(other.memo) == 0
    narrow = dataclasses.replace(c, default=(-0.01, 0.01)).limits(data_for(p, assets))[0]
    wide = c.limits(data_for(p, assets))[0]
    np.testing.assert_allclose(wide.hi - narrow.hi, 0.04, atol=1e-15)
    assert c == build_constraint(group_spec())  # the memo is not a field


def test_get_for_follows_array_contents():
    memo = UniverseCache()
    F = np.eye(2)
    calls = []
    assert memo.get_for("k", F, lambda: calls.append(1) or F.sum()) == 2.0
    assert memo.get_for("k", F, lambda: calls.append(1) or F.sum()) == 2.0
    F[0, 0] = 5.0  # changed in place
    assert memo.get_for("k", F, lambda: calls.append(1) or F.sum()) == 6.0
    assert len(calls) == 2


# ------------------------------------------------------------ check_constraints
def slow_check(cons, weights, data, tol=1e-7):
    """Through the public per-constraint ``violation`` Series; largest amount per label."""
    out = []
    for c in cons:
        v = c.violation(weights, data)
        bad = v[v > tol].sort_values(ascending=False, kind="stable")
        if not len(bad):
            continue
        rows = {}
        for k, x in bad.items():
            if len(rows) == 20:
                break
            rows.setdefault(str(k), float(x))
        out.append((c.label, c.kind, float(bad.iloc[0]), len(bad), rows))
    return out


def test_check_constraints_matches_reference(universe):
    p, assets = universe
    data = data_for(p, assets)
    rng = np.random.default_rng(5)
    cons = [build_constraint({"kind": k, **s}) for k, s in SPECS.items()]
    cons.append(build_constraint({"kind": "position_bounds", "max": 0.01, "name": "tight"}))
    for _ in range(3):
        w = pd.Series(rng.dirichlet(np.ones(len(assets)) * 0.3), index=assets.index)
        got = check_constraints(cons, w, data)
        want = slow_check(cons, w, data)
        assert [(d["name"], d["kind"], d["violation"], d["n_rows"], d["rows"]) for d in got] == [
            (n, k, pytest.approx(v, abs=1e-15), m, pytest.approx(r, abs=1e-15))
            for n, k, v, m, r in want
        ]
        assert len(got) >= 5


def test_fast_check_follows_every_change_of_the_frame():
    """The memo's hit check without Series (stored values by address / identity) misses on
    each kind of change and hits otherwise: a reference recomputes on every call."""
    ids = pd.Index([f"A{i}" for i in range(6)])
    frame = pd.DataFrame(
        {"x": np.arange(6.0), "s": list("aabbcc"), "c": pd.Categorical(list("xyxyxy"))},
        index=ids,
    )
    memo, calls = UniverseCache(), []

    def value(col):
        calls.append(col)
        return tuple(frame[col]) if col in frame else None

    def check(col, computed):
        n = len(calls)
        got = memo.get(col, frame, (col,), lambda: value(col))
        expected = tuple(frame[col]) if col in frame else None
        assert got == expected
        assert len(calls) == n + computed

    for col in ("x", "s", "c", "missing"):
        check(col, 1)
        check(col, 0)  # unchanged: a hit
    frame.loc["A1", "x"] = 9.0  # written in place
    check("x", 1)
    frame["s"] = list("zzzzzz")  # replaced
    check("s", 1)
    check("c", 0)
    frame["missing"] = 1.0  # added after it was missing
    check("missing", 1)
    frame = frame.drop(columns="x")  # a new frame without it (same index object)
    check("x", 1)
    check("x", 0)
