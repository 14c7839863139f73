"""Scenarios that need refits (a second risk estimator) give identical rows
on a real Dask LocalCluster (2 worker processes on 127.0.0.1) and serially."""

import json

from portfolio.studies import Study


def _study(small_fund, workers):
    config, data = small_fund
    study = Study(config, data, workers=workers)
    study.add("ewma", {"risk.estimator": "ewma"})
    study.add("ewma, turnover 25 %", {"risk.estimator": "ewma", "constraints.turnover.max": 0.25})
    study.add("turnover 25 %", {"constraints.turnover.max": 0.25})
    return study


def test_dask_equals_serial(small_fund):
    serial = _study(small_fund, 0).run()
    seen = []
    distributed = _study(small_fund, 2).run(lambda done, total: seen.append((done, total)))
    assert serial.executor == "serial" and distributed.executor.startswith("dask LocalCluster")
    assert serial.fits == distributed.fits == 2
    assert json.dumps(serial.rows, sort_keys=True) == json.dumps(distributed.rows, sort_keys=True)
    assert seen[-1] == (4, 4)
    # the refits changed the answer (the test is not comparing five copies of the base)
    assert len({r["utility_bp"] for r in serial.rows}) == 4
