"""Backtests of several seeds on Dask (a real LocalCluster on 127.0.0.1, and an existing
scheduler by address) write byte-identical run folders to the serial run."""

import pytest

from portfolio.cli import main

SMALL = ["--n-securities", "120", "--years", "1.5", "--start", "2026-07-31",
         "--no-comparators", "--no-report", "-q"]  # fmt: skip


def _files(folder):
    """Every file of every unit folder except manifest.json (timings vary by design)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def serial(small_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    code = main(["backtest", str(small_files / "config.yaml"), "--seeds", "3", "4",
                 "--out", str(out), *SMALL])  # fmt: skip
    assert code == 0
    return _files(out)


def test_serial_writes_one_folder_per_seed(serial):
    folders = {k.split("/")[0] for k in serial}
    assert folders == {"seed-3", "seed-4"}
    assert serial["seed-3/periods.csv"] != serial["seed-4/periods.csv"]  # different markets


def test_local_cluster_equals_serial(serial, small_files, tmp_path):
    out = tmp_path / "dask"
    code = main(["backtest", str(small_files / "config.yaml"), "--seeds", "3", "4",
                 "--workers", "2", "--out", str(out), *SMALL])  # fmt: skip
    assert code == 0
    got = _files(out)
    assert sorted(got) == sorted(serial)
    for name, content in serial.items():
        assert got[name] == content, name


def test_existing_scheduler_equals_serial(serial, small_files, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, processes=True) as cluster:  # fmt: skip
        out = tmp_path / "sched"
        addr = cluster.scheduler_address
        code = main(["backtest", str(small_files / "config.yaml"), "--seeds", "3", "4",
                     "--scheduler", addr, "--out", str(out), *SMALL])  # fmt: skip
    assert code == 0
    got = _files(out)
    assert got == serial
