"""Warm starts of a what-if study (portfolio.studies.warm): the parents chosen, and rows
that depend on the blocks only, never on how the blocks are run."""

import json

import pytest

from portfolio.executor import run_pinned
from portfolio.studies import Study
from portfolio.studies.engine import StudyUnit, run_scenarios, run_unit
from portfolio.studies.warm import override_values, warm_parents, warm_plan


def _ov(t, c, r):
    limits = {"turnover": {"max": t}, "China": {"bounds": {"CN": (0.0, c)}}}
    return {"risk_aversion": r, "constraint_overrides": limits}


GRID = [{}] + [_ov(t, c, r) for t in (0.1, 0.2) for c in (0.05, 0.06) for r in (3.0, 6.0, 12.0)]


def test_override_values_are_the_numeric_leaves():
    assert override_values(_ov(0.1, 0.05, 3.0)) == {
        "risk_aversion": 3.0,
        "constraint_overrides.turnover.max": 0.1,
        "constraint_overrides.China.bounds.CN.0": 0.0,
        "constraint_overrides.China.bounds.CN.1": 0.05,
    }
    assert override_values({"x": True, "y": "text", "z": [1, 2.5]}) == {"z.0": 1.0, "z.1": 2.5}


def test_parents_by_hand():
    # the nearest earlier scenario by sum |x - y| / max(|x|, |y|) (1 per value only one
    # sets): risk aversion 3 -> 6 is 0.5, China 5 % -> 6 % 0.167, turnover 10 -> 20 % 0.5
    # (a tie with risk aversion: the later scenario wins)
    assert warm_parents(GRID) == [None, 0, 1, 2, 1, 2, 3, 1, 7, 8, 7, 8, 9]
    # blocks of 4: a block's first starts cold, parents stay inside the block
    assert warm_parents(GRID, 4) == [None, 0, 1, 2, None, 4, 5, 4, None, 8, 8, 8, None]
    with pytest.raises(ValueError, match="'block' parameter"):
        warm_parents(GRID, 0)


def _grid_study(small_fund, **kw):
    config, data = small_fund
    study = Study(config, data, **kw)
    return study.grid({
        "constraints.turnover.max": [0.2, 0.3],
        "constraints.China exposure.bounds.China.max": [0.06, 0.1],
        "objective.risk_aversion": [5.0, 20.0],
    })  # fmt: skip


def test_rows_depend_on_the_blocks_not_on_how_they_are_run(small_fund):
    study = _grid_study(small_fund)
    scen, data = study.scenarios, study.data
    parents, blocks = warm_plan(scen, 3)
    assert [len(b) for b in blocks] == [3, 3, 3]
    # BLAS on one thread, as Study.run and every executor unit run (portfolio.executor)
    serial = run_pinned(lambda _: run_scenarios(scen, data, ".", parents=parents), None)
    # each block alone, last block first, each with its own fit and build
    alone: dict[int, dict] = {}
    for b in reversed(blocks):
        local = {i: k for k, i in enumerate(b)}
        starts = [None if parents[i] is None else local[parents[i]] for i in b]
        unit = StudyUnit([scen[i] for i in b], data, ".", False, starts)
        for i, o in zip(b, run_pinned(run_unit, unit), strict=True):
            alone[i] = o.row
    rows = [o.row for o in serial]
    assert json.dumps(rows, sort_keys=True) == json.dumps(
        [alone[i] for i in range(len(scen))], sort_keys=True
    )
    assert all(r["status"] == "ok" for r in rows)
    # and the study runs the same blocks
    got = _grid_study(small_fund, warm_block=3).run().rows
    assert json.dumps(got, sort_keys=True) == json.dumps(rows, sort_keys=True)


def test_a_split_fit_on_dask_equals_serial(small_fund):
    """One fit split into several units (fitted once here, shipped to the workers)."""
    serial = _grid_study(small_fund, warm_block=2).run()
    distributed = _grid_study(small_fund, warm_block=2, workers=2).run()
    assert distributed.executor.startswith("dask LocalCluster")
    assert json.dumps(serial.rows, sort_keys=True) == json.dumps(distributed.rows, sort_keys=True)
