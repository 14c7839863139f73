"""Start-up: heavy libraries are imported only on the paths that use them.

Each check runs in a fresh interpreter (``sys.modules`` of the test process already
holds everything) and lists the heavy modules present after the imports.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sklearn", "cvxpy", "scipy.stats", "pyscipopt", "highspy", "matplotlib", "dask")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\n"
    probe += f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cli_import_is_light():
    assert _loaded_after("import portfolio.cli") == []


def test_help_imports_no_numpy_or_pandas():
    """``active-etf --help`` builds the whole parser (every subcommand, the fund list) from
    plain-data modules: not even numpy or pandas is imported, nor pydantic and yaml (the
    config and scenarios file models)."""
    code = (
        "from portfolio.cli import build_parser\n"
        "text = build_parser().format_help()\n"
        "assert 'backtest' in text and 'demo' in text\n"
        "import sys\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'pydantic', 'yaml')"
        " if m in sys.modules))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"


def test_lazy_packages_export_their_names():
    """The lazily importing package ``__init__``s resolve every name in ``__all__``."""
    import portfolio.backtest
    import portfolio.datasets
    import portfolio.etf

    for pkg in (portfolio.backtest, portfolio.datasets, portfolio.etf):
        for name in pkg.__all__:
            assert getattr(pkg, name) is not None, (pkg.__name__, name)
        with pytest.raises(AttributeError):
            pkg.no_such_name  # noqa: B018


def test_demo_path_modules_are_light():
    """The modules the demo runs through, and a config naming solvers (validated by
    finding the solver packages, not by importing cvxpy)."""
    code = (
        "import portfolio.cli, portfolio.config, portfolio.rebalance, portfolio.datasets, "
        "portfolio.demo, portfolio.alpha, portfolio.risk, optimizers, constraints, "
        "portfolio.trades, portfolio.report\n"
        "from portfolio.config import SolverConfig\n"
        "assert SolverConfig(name='clarabel', fallback=['scs']).name == 'CLARABEL'"
    )
    assert _loaded_after(code) == []


def test_installed_solvers_agree_with_cvxpy():
    import cvxpy as cp

    from optimizers.solvers import OPTIONS, installed_solvers

    assert set(installed_solvers()) == set(cp.installed_solvers()) & set(OPTIONS)


@pytest.mark.parametrize("seed", range(5))
def test_rankdata_matches_scipy(seed):
    from scipy.stats import rankdata as reference

    from portfolio.datasets.planted import rankdata

    r = np.random.default_rng(seed)
    for x in (r.normal(size=60), r.integers(0, 6, size=60).astype(float)):
        np.testing.assert_allclose(rankdata(x), reference(x), rtol=0, atol=1e-12)


def _tracked(obj) -> bool:
    """True when the cyclic collector's generations (not the frozen ones) hold ``obj``."""
    return any(o is obj for o in gc.get_objects())


def test_loading_freezes_what_it_loaded_and_switches_the_collector_back_on():
    from portfolio.startup import loading

    assert gc.isenabled()
    before = gc.get_freeze_count()
    with loading():
        assert not gc.isenabled()
        with loading():  # nested: still off after the inner block
            loaded = [object()]
        assert not gc.isenabled()
        assert not _tracked(loaded)  # the inner block froze it
    assert gc.isenabled()
    assert gc.get_freeze_count() > before
    after = [object()]
    assert _tracked(after)  # made after the block: collected as usual


def test_loading_switches_the_collector_back_on_after_an_error_and_keeps_it_off_if_it_was():
    from portfolio.startup import loading

    with pytest.raises(RuntimeError), loading():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with loading():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
