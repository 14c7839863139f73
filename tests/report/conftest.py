"""One demo rebalance per test session, and its run folder written through the real writer."""

from pathlib import Path

import pytest
import yaml

from portfolio.cli import demo_config_text
from portfolio.config import parse_config
from portfolio.datasets import generate_demo_market
from portfolio.demo import demo_market_data
from portfolio.outputs import write_run_folder
from portfolio.rebalance import Rebalancer
from portfolio.report import run_folder_files


@pytest.fixture(scope="session")
def demo_result():
    config = parse_config(yaml.safe_load(demo_config_text()))
    data = demo_market_data(generate_demo_market(), config)
    result = Rebalancer(config).run(data)
    return result, result.summary()


@pytest.fixture(scope="session")
def demo_folder(demo_result, tmp_path_factory) -> Path:
    result, summary = demo_result
    out = tmp_path_factory.mktemp("report-run") / "demo"
    return write_run_folder(out, run_folder_files(result, summary))
