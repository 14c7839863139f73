"""Small generated markets for the backtest tests (120 names, 1.5 years: 5 monthly rebalances)."""

import pytest
import yaml

from portfolio.cli import demo_config_text
from portfolio.config import parse_config
from portfolio.datasets import generate_demo_market, write_demo_data

SEED, N, YEARS = 7, 120, 1.5


@pytest.fixture(scope="session")
def small_market():
    return generate_demo_market(seed=SEED, n_securities=N, years=YEARS)


@pytest.fixture(scope="session")
def demo_config():
    return parse_config(yaml.safe_load(demo_config_text()), source="demo_fund.yaml")


@pytest.fixture(scope="session")
def small_files(tmp_path_factory, small_market):
    """The small market written as files with the demo config (histories included)."""
    d = tmp_path_factory.mktemp("bt_market")
    write_demo_data(small_market, d)
    (d / "config.yaml").write_text(demo_config_text(), encoding="utf-8")
    return d


@pytest.fixture(scope="session")
def small_run(small_files):
    """One full backtest of the small market from its files (comparators on)."""
    from portfolio.backtest import load_backtest_inputs, run_backtest

    inputs = load_backtest_inputs(small_files / "config.yaml")
    return inputs, run_backtest(inputs)
