"""A small demo fund shared by the what-if tests (300 names, generated once per session).

The demo config is adapted to the small market: its fund holds 37 names of about 2.7 %
each, above the demo's 2.5 % cap, and its names trade too little for the demo's liquidity
limit, so the position cap is 4 % (active +-3.5 %), turnover 30 % and there is no
liquidity limit. Every other limit is the demo's.
"""

import pytest
import yaml

from portfolio.cli import demo_config_text
from portfolio.config import parse_config
from portfolio.datasets import generate_demo_market
from portfolio.demo import demo_market_data


def run_files(result) -> dict[str, str]:
    """The run folder's files of ``result``, without the manifest (it holds timings)."""
    from portfolio.report import run_folder_files

    files = run_folder_files(result, result.summary())
    return {k: v for k, v in files.items() if k != "manifest.json"}


def small_config_raw() -> dict:
    """The demo config as a mapping, adapted to a 300-name market (module docstring)."""
    raw = yaml.safe_load(demo_config_text())
    raw["constraints"] = [c for c in raw["constraints"] if c["kind"] != "liquidity"]
    for c in raw["constraints"]:
        if c["kind"] == "position_bounds":
            c.update(max=0.04, active_min=-0.035, active_max=0.035)
        if c["kind"] == "turnover":
            c.update(max=0.30)
    return raw


@pytest.fixture(scope="session")
def small_fund():
    """``(config, data)``: :func:`small_config_raw` on a 300-name demo market."""
    config = parse_config(small_config_raw())
    market = generate_demo_market(seed=11, n_securities=300)
    return config, demo_market_data(market, config)


@pytest.fixture(scope="session")
def small_files(tmp_path_factory):
    """The small fund as files: the 300-name market and ``config.yaml`` in one folder."""
    from portfolio.datasets import write_demo_data

    d = tmp_path_factory.mktemp("small-fund")
    write_demo_data(generate_demo_market(seed=11, n_securities=300), d)
    (d / "config.yaml").write_text(yaml.safe_dump(small_config_raw()), encoding="utf-8")
    return d / "config.yaml"
