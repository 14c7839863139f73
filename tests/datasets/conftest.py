"""Shared demo markets for the dataset tests (generated once per session; ~0.4 s each)."""

import pytest

from portfolio.datasets import generate_demo_market


@pytest.fixture(scope="session")
def market():
    """The default demo market (seed 20261122, 1,200 names, three years)."""
    return generate_demo_market()


@pytest.fixture(scope="session")
def small_market():
    """A small demo market (300 names) for the slower per-date checks."""
    return generate_demo_market(seed=7, n_securities=300)
