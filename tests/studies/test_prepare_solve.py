"""The rebalance split: ``run`` equals ``finish(prepare, solve)``; a re-solve with overrides
equals a fresh run of the config with the same change."""

from portfolio.rebalance import Rebalancer
from tests.studies.conftest import run_files


def test_run_equals_prepare_solve_finish(small_fund):
    config, data = small_fund
    reb = Rebalancer(config)
    one = reb.run(data)
    prepared = reb.prepare(data)
    two = reb.finish(prepared, reb.solve(prepared))
    assert run_files(one) == run_files(two)
    assert two.optimizer is prepared.optimizer  # the built optimizer is exposed


def test_override_resolve_equals_fresh_run_of_changed_config(small_fund):
    config, data = small_fund
    reb = Rebalancer(config)
    prepared = reb.prepare(data)
    reb.solve(prepared)  # a first solve, so the override is a warm re-solve
    overrides = {"constraint_overrides": {"turnover": {"max": 0.22}}, "risk_aversion": 20.0}
    warm = reb.finish(prepared, reb.solve(prepared, overrides), overrides)
    specs = [{**c, "max": 0.22} if c["kind"] == "turnover" else c for c in config.constraints]
    changed = config.model_copy(
        update={
            "constraints": specs,
            "objective": config.objective.model_copy(update={"risk_aversion": 20.0}),
        }
    )
    fresh = Rebalancer(changed).run(data)
    assert warm.trades.trades.to_csv() == fresh.trades.trades.to_csv()
    assert warm.breaches == fresh.breaches
    # certified to 1e-9 of utility on both sides
    assert abs(warm.optimization.objective - fresh.optimization.objective) <= 1e-9 * max(
        1.0, abs(fresh.optimization.objective)
    )
    assert warm.optimization.turnover <= 0.22 + 1e-9
