"""Run resolved scenarios: fit once per alpha / risk setting, build once per structure,
re-solve per scenario warm-started, then lot rounding and the re-check.

Each re-solve starts from the multipliers of the scenario :mod:`portfolio.studies.warm`
chose for it (its parent, solved before it in the same block), or cold, so a scenario's
row depends on its block only. A :class:`StudyUnit` holds whole blocks; units run
through the shared executor (:func:`portfolio.executor.map_units`), serially or on Dask,
and give the same rows either way (every unit is a pure function of its inputs, BLAS
pinned to one thread).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from portfolio.rebalance import Rebalancer
from portfolio.studies.changes import FIT_SECTIONS, Scenario, canonical
from portfolio.studies.rows import RowInputs, failed_row, pick_relaxation, result_row

__all__ = ["StudyUnit", "CachedFitRebalancer", "run_unit", "run_scenarios", "scenario_files"]


class CachedFitRebalancer(Rebalancer):
    """A :class:`Rebalancer` that fits risk and alpha once per setting, shared through
    ``cache`` (``{key: fit}``) by every rebalancer given the same dict."""

    def __init__(self, config, base_dir: Path | None = None, cache: dict | None = None):
        super().__init__(config, base_dir)
        self.cache = {} if cache is None else cache
        raw = config.model_dump(mode="json")
        self._risk_key = canonical({k: raw[k] for k in FIT_SECTIONS if k != "alpha"})
        self._alpha_key = canonical({k: raw[k] for k in FIT_SECTIONS})

    def risk_stage(self, data):
        key = ("risk", self._risk_key)
        if key not in self.cache:
            self.cache[key] = super().risk_stage(data)
        return self.cache[key]

    def alpha_stage(self, data, risk_model, book):
        key = ("alpha", self._alpha_key)
        if key not in self.cache:
            self.cache[key] = super().alpha_stage(data, risk_model, book)
        return self.cache[key]


@dataclass
class StudyUnit:
    """Scenarios sharing one alpha / risk fit, with the inputs they run on (``data`` and
    ``fits`` may instead come as a :class:`StudyShared` to :func:`run_unit`)."""

    scenarios: list[Scenario]
    data: object  # MarketData
    base_dir: str
    keep_files: bool = False  # also return each scenario's trades and holdings CSV
    parents: list[int | None] | None = None  # warm starts, indices into ``scenarios``
    fits: dict | None = None  # alpha / risk fits made before (CachedFitRebalancer cache)


@dataclass
class StudyShared:
    """What every unit of a study reads, sent to each worker once: the market data and
    the fits made before, by fit key (``Scenario.fit_key``)."""

    data: object  # MarketData
    fits: dict  # {fit_key: CachedFitRebalancer cache}


@dataclass
class ScenarioOutcome:
    """A scenario's row and, when asked, its trade and holdings files."""

    row: dict
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def scenario_files(result) -> dict[str, str]:
    """``trades.csv`` and ``target_holdings.csv`` of a lot-rounded result."""
    from portfolio.report.run_files import trades_csv

    h = result.trades.holdings
    h = h[(h["shares_after"] > 0) | (h["shares_before"] > 0)].sort_index()
    h.index.name = "asset_id"
    return {
        "trades.csv": trades_csv(result.trades.trades, result.config.fund.base_currency),
        "target_holdings.csv": h.to_csv(lineterminator="\n", float_format="%.10g"),
    }


def _merge(overrides: dict, extra: dict) -> dict:
    out = dict(overrides)
    co = {k: dict(v) for k, v in (overrides.get("constraint_overrides") or {}).items()}
    for label, fields in (extra.get("constraint_overrides") or {}).items():
        co.setdefault(label, {}).update(fields)
    if co:
        out["constraint_overrides"] = co
    return out


def solve_scenario(
    reb: Rebalancer, prepared, s: Scenario, keep_files: bool = False, rows: dict | None = None
):
    """One scenario on a prepared run: re-solve, lot rounding, re-check, the row.

    ``rows`` keeps the run's :class:`~portfolio.studies.rows.RowInputs` between scenarios
    (key ``"inputs"``)."""
    import time

    from optimizers import InfeasibleError, SolverError

    t0 = time.perf_counter()
    text = s.describe()
    try:
        res = reb.solve(prepared, s.overrides)
    except InfeasibleError as exc:
        d = exc.diagnosis
        cons = prepared.constraints_with(s.overrides.get("constraint_overrides"))
        pick = pick_relaxation(d, cons, [c.label for c in prepared.constraints])
        if pick is not None and pick[1] is not None:
            pick = (pick[0], _merge(s.overrides, pick[1]))
        row = failed_row(s.name, text, "infeasible", d.message, pick)
        return ScenarioOutcome(row, seconds=time.perf_counter() - t0)
    except SolverError as exc:
        row = failed_row(s.name, text, "solver_failed", str(exc))
        return ScenarioOutcome(row, seconds=time.perf_counter() - t0)
    except (ValueError, KeyError) as exc:  # an override the built problem cannot take
        row = failed_row(s.name, text, "error", f"{type(exc).__name__}: {exc}")
        return ScenarioOutcome(row, seconds=time.perf_counter() - t0)
    result = reb.finish(prepared, res, s.overrides, s.min_trade_base)
    files = scenario_files(result) if keep_files else {}
    rows = {} if rows is None else rows
    inputs = rows.get("inputs")
    if inputs is None or not inputs.matches(result):
        inputs = rows["inputs"] = RowInputs(result)
    row = result_row(s.name, text, result, inputs)
    return ScenarioOutcome(row, files, time.perf_counter() - t0)


def run_scenarios(
    scenarios: list[Scenario],
    data,
    base_dir,
    on_outcome: Callable[[int, ScenarioOutcome], None] | None = None,
    keep_files: bool = False,
    fit_cache: dict | None = None,
    prepared_cache: dict | None = None,
    parents: list[int | None] | None = None,
) -> list[ScenarioOutcome]:
    """Every scenario, in order: one prepare per build key (fits shared through
    ``fit_cache``), then a re-solve per scenario started from its parent's multipliers
    (``parents``, indices into ``scenarios``; default
    :func:`~portfolio.studies.warm.warm_plan`'s). A failing prepare or scenario gives a
    failed row; the study goes on."""
    from portfolio.errors import ActiveEtfError
    from portfolio.studies.warm import warm_plan

    if parents is None:
        parents = warm_plan(scenarios)[0]
    fit_cache = {} if fit_cache is None else fit_cache
    prepared_cache = {} if prepared_cache is None else prepared_cache
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(scenarios):
        groups.setdefault(s.build_key, []).append(i)
    out: list[ScenarioOutcome | None] = [None] * len(scenarios)
    for key, idx in groups.items():
        first = scenarios[idx[0]]
        if key in prepared_cache:
            reb, prepared = prepared_cache[key]
        else:
            reb = CachedFitRebalancer(first.build_config(), Path(base_dir), fit_cache)
            try:
                prepared = reb.prepare(data)
            except (ActiveEtfError, ValueError, KeyError) as exc:
                for i in idx:
                    s = scenarios[i]
                    out[i] = ScenarioOutcome(failed_row(s.name, s.describe(), "error", str(exc)))
                    if on_outcome is not None:
                        on_outcome(i, out[i])
                continue
            prepared_cache[key] = (reb, prepared)
        rows: dict = {}
        opt = prepared.optimizer
        starts: dict[int, object] = {}  # multipliers each scenario's solve ended with
        for i in idx:
            p = parents[i]
            opt.warm_start = None if p is None else starts.get(p)
            out[i] = solve_scenario(reb, prepared, scenarios[i], keep_files, rows)
            starts[i] = opt.warm_start
            if on_outcome is not None:
                on_outcome(i, out[i])
    return out  # type: ignore[return-value]


def run_unit(unit: StudyUnit, shared: StudyShared | None = None) -> list[ScenarioOutcome]:
    """A unit on its own (an executor task): its scenarios, with the fits it carries (or
    ``shared`` carries for its fit key) or a fresh fit cache."""
    data, fits = unit.data, unit.fits
    if shared is not None:
        data = shared.data if data is None else data
        fits = fits or shared.fits.get(unit.scenarios[0].fit_key)
    return run_scenarios(
        unit.scenarios, data, unit.base_dir, keep_files=unit.keep_files,
        fit_cache=dict(fits or {}), parents=unit.parents,
    )  # fmt: skip
