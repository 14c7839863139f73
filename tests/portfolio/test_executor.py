"""The shared executor: serial and a real Dask LocalCluster on loopback give identical results."""

import numpy as np
import pytest

from portfolio.executor import ExecutorSpec, map_units


def _unit(seed: int) -> np.ndarray:
    """A BLAS-heavy pure function of its input: a least-squares fit on seeded data."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((400, 30))
    y = X @ rng.standard_normal(30) + rng.standard_normal(400)
    return np.linalg.lstsq(X, y, rcond=None)[0]


def _fails(seed: int) -> int:
    if seed == 2:
        raise ValueError("unit 2 failed")
    return seed


def test_serial_preserves_order_and_reports_progress():
    seen = []
    out = map_units(_unit, [3, 1, 2], on_result=lambda i, r: seen.append(i))
    assert seen == [0, 1, 2]
    for seed, r in zip([3, 1, 2], out, strict=True):
        np.testing.assert_array_equal(r, _unit(seed))


def test_local_cluster_equals_serial_bit_for_bit():
    units = list(range(6))
    serial = map_units(_unit, units)
    seen = []
    dist = map_units(_unit, units, ExecutorSpec(workers=2), on_result=lambda i, r: seen.append(i))
    assert sorted(seen) == units
    for a, b in zip(serial, dist, strict=True):
        assert a.tobytes() == b.tobytes()


def test_unit_error_propagates():
    with pytest.raises(ValueError, match="unit 2 failed"):
        map_units(_fails, [1, 2, 3])


def test_negative_workers_rejected():
    with pytest.raises(ValueError, match="'workers' parameter of ExecutorSpec"):
        ExecutorSpec(workers=-1)


def test_local_workers_start_without_dask_malloc_trim_threshold():
    """Dask's MALLOC_TRIM_THRESHOLD_=65536 doubled a what-if unit's CPU in a worker (every
    temporary array above 128 KiB mmap'ed and unmapped): local workers start without it,
    with the other numpy settings Dask gives them (one OpenBLAS thread) kept."""
    import os

    expected = os.environ.get("MALLOC_TRIM_THRESHOLD_")  # None, unless set by hand here
    got = map_units(os.getenv, ["MALLOC_TRIM_THRESHOLD_", "OPENBLAS_NUM_THREADS"], ExecutorSpec(2))
    assert got[0] == expected
    assert got[1] == os.environ.get("OPENBLAS_NUM_THREADS", "1")


def test_units_made_while_the_cluster_starts():
    """``units`` as a function: called once (while the workers start), same results; an
    error making them propagates (and the cluster is closed)."""
    calls = []

    def make():
        calls.append(1)
        return [3, 1, 2]

    dist = map_units(_unit, make, ExecutorSpec(workers=2))
    assert calls == [1]
    for seed, r in zip([3, 1, 2], dist, strict=True):
        assert r.tobytes() == _unit(seed).tobytes()
    assert len(map_units(_unit, make)) == 3  # serially: called too
    assert len(calls) == 2

    def broken():
        raise ValueError("no units")

    with pytest.raises(ValueError, match="no units"):
        map_units(_unit, broken, ExecutorSpec(workers=2))


def _weighted(seed: int, shared: np.ndarray) -> float:
    return float(_unit(seed) @ shared[:30])


def test_shared_object_reaches_every_unit_once_per_worker():
    """``shared`` is made once, after the units, and each unit reads it: a LocalCluster
    gives the serial results bit for bit."""
    made = []

    def shared():
        made.append(1)
        return np.arange(2_000_000, dtype=float) / 1e6  # 16 MB: would repeat in every task

    units = list(range(6))
    serial = map_units(_weighted, units, shared=shared)
    assert serial == [_weighted(u, shared()) for u in units] and len(made) == 1 + 6
    dist = map_units(_weighted, units, ExecutorSpec(workers=2), shared=shared)
    assert dist == serial and len(made) == 1 + 6 + 1
