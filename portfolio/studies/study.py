"""The what-if study from Python: :class:`Study`.

>>> from portfolio.cli import load_inputs          # doctest: +SKIP
>>> config, data, base_dir = load_inputs("demo/config.yaml")
>>> study = Study(config, data, base_dir)
>>> study.add("China cap 5 %", {"constraints.China exposure.bounds.China.max": 0.05})
>>> study.grid({"constraints.turnover.max": [0.1, 0.2], "objective.risk_aversion": [5, 20]})
>>> study.frontier("China cap", "constraints.China exposure.bounds.China.max", 0.3, 0.0)
>>> result = study.run()
>>> result.comparison()                             # one row per scenario (a DataFrame)

The base config is always the first row (``base``). Scenarios are resolved against the
base config when added (:class:`~portfolio.errors.ConfigError` names the scenario and
the field). :meth:`Study.run` fits alpha and risk once per distinct setting, builds the
optimizer once per structure and re-solves every scenario through its parameters,
warm-started; each scenario then goes through board lots and the re-check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portfolio.studies.changes import Scenario, constraint_refs, resolve_scenario
from portfolio.studies.spec import (
    DEFAULT_MAX_SCENARIOS,
    FrontierSpec,
    StudyFile,
    grid_scenarios,
)
from portfolio.studies.warm import WARM_BLOCK

__all__ = ["Study", "StudyResult"]


@dataclass
class StudyResult:
    """Rows (one per scenario, :mod:`portfolio.studies.rows`), frontiers
    (:func:`~portfolio.studies.frontier.run_frontier`), per-scenario files when asked,
    and timings (seconds: ``fit_and_solve_s``, ``frontiers_s``, ``total_s``)."""

    rows: list[dict]
    frontiers: list[dict] = field(default_factory=list)
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    executor: str = "serial"
    fits: int = 0
    builds: int = 0

    def comparison(self):
        """The rows as a DataFrame, columns in :data:`~portfolio.studies.rows.COLUMNS` order."""
        from portfolio.studies.rows import frame

        return frame(self.rows)

    def to_dict(self) -> dict:
        """JSON form: ``scenarios`` (rows, with ``binding_prices``), ``frontiers``."""
        return {
            "scenarios": self.rows,
            "frontiers": self.frontiers,
            "fits": self.fits,
            "builds": self.builds,
            "executor": self.executor,
        }


class Study:
    """A what-if study on one base config and its loaded data.

    Parameters
    ----------
    config : RebalanceConfig
        The base config (its rebalance is the ``base`` row).
    data : MarketData
        The loaded inputs (:func:`portfolio.inputs.load_market_data`).
    base_dir : Path, optional
        Folder that relative paths of the config are resolved against.
    workers : int
        ``N >= 2`` runs the study on a Dask ``LocalCluster`` of N processes
        (:mod:`portfolio.executor`): one unit per fit, and a fit with more than one
        warm-start block as whole blocks dealt into up to :data:`UNITS_PER_WORKER` units
        per worker (fitted once here and shipped); 0 runs serially. The rows are the same.
    scheduler : str, optional
        Address of an existing Dask scheduler (instead of ``workers``).
    max_scenarios : int
        Largest study accepted (a bigger grid is refused, naming its size).
    keep_files : bool
        Keep every scenario's ``trades.csv`` and ``target_holdings.csv`` text.
    warm_block : int
        Scenarios per warm-start block (:mod:`portfolio.studies.warm`): each re-solve
        starts from the nearest earlier scenario of its block; rows depend on the
        blocks, never on the executor.
    """

    def __init__(
        self,
        config,
        data,
        base_dir: str | Path | None = None,
        *,
        workers: int = 0,
        scheduler: str | None = None,
        max_scenarios: int = DEFAULT_MAX_SCENARIOS,
        keep_files: bool = False,
        warm_block: int = WARM_BLOCK,
    ):
        self.config = config
        self.data = data
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self.workers = workers
        self.scheduler = scheduler
        self.max_scenarios = max_scenarios
        self.keep_files = keep_files
        self.warm_block = warm_block
        self._raw = config.model_dump(mode="json")
        self._refs = constraint_refs(config)
        self.scenarios: list[Scenario] = [
            resolve_scenario(config, "base", {}, self._raw, self._refs)
        ]
        self.frontiers: list[FrontierSpec] = []

    # building the study --------------------------------------------------------------
    def _check_size(self, extra: int) -> None:
        from portfolio.errors import ConfigError

        n = len(self.scenarios) - 1 + extra
        if n > self.max_scenarios:
            raise ConfigError(f"the study has {n:,} scenarios, more than --max-scenarios "
                              f"{self.max_scenarios:,}")  # fmt: skip

    def _check_name(self, name: str) -> None:
        from portfolio.errors import ConfigError

        if any(s.name == name for s in self.scenarios):
            raise ConfigError(f"scenario {name!r}: the name is used twice")

    def add(self, name: str, changes: Mapping[str, Any]) -> Study:
        """Add one named scenario: ``{path: value}`` changes to the base config."""
        self._check_name(name)
        self._check_size(1)
        self.scenarios.append(resolve_scenario(self.config, name, changes, self._raw, self._refs))
        return self

    def grid(self, grid: Mapping[str, list]) -> Study:
        """Add the cartesian product of ``{path: [values]}`` (each value validated once)."""
        specs = grid_scenarios(dict(grid), self.max_scenarios)
        self._check_size(len(specs))
        for path, values in grid.items():  # validate each value once
            for v in {repr(v): v for v in values}.values():
                resolve_scenario(self.config, f"{path}={v}", {path: v}, self._raw, self._refs)
        for spec in specs:
            self._check_name(spec.name)
            self.scenarios.append(
                resolve_scenario(
                    self.config, spec.name, spec.changes, self._raw, self._refs, validate=False
                )
            )
        return self

    def frontier(
        self,
        name: str,
        path: str,
        start: float,
        stop: float,
        points: int = 9,
        max_points: int = 40,
        scale: str = "linear",
    ) -> Study:
        """Add a sweep of one optimizer limit (:mod:`portfolio.studies.frontier`)."""
        spec = FrontierSpec.model_validate(
            {"name": name, "path": path, "from": start, "to": stop, "points": points,
             "max_points": max_points, "scale": scale}
        )  # fmt: skip
        self.frontiers.append(spec)
        return self

    def add_file(self, study: StudyFile) -> Study:
        """Add the scenarios, grid and frontiers of a parsed scenarios file."""
        self._check_size(len(study.scenarios))
        for s in study.scenarios:
            self.add(s.name, s.changes)
        if study.grid is not None:
            self.grid(study.grid)
        self.frontiers.extend(study.frontier)
        return self

    # running -------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> StudyResult:
        """Run every scenario and frontier; ``progress(done, total)`` after each scenario."""
        from threadpoolctl import threadpool_limits

        from portfolio.executor import ExecutorSpec, map_units
        from portfolio.studies.engine import StudyShared, StudyUnit, run_scenarios, run_unit
        from portfolio.studies.frontier import run_frontier
        from portfolio.studies.warm import warm_plan

        t0 = time.perf_counter()
        spec = ExecutorSpec(self.workers, self.scheduler)
        scen = self.scenarios
        by_fit: dict[str, list[int]] = {}
        for i, s in enumerate(scen):
            by_fit.setdefault(s.fit_key, []).append(i)
        parents, blocks = warm_plan(scen, self.warm_block)
        total, done = len(scen), [0]
        outcomes: list = [None] * total
        fit_cache: dict = {}
        prepared: dict = {}
        if spec.distributed and len(blocks) > 1:
            groups = _units(scen, blocks, UNITS_PER_WORKER * max(spec.workers, 2))

            fits: dict = {}

            def make_units() -> list:  # called while the cluster starts (executor)
                with threadpool_limits(limits=1):  # the fit's bytes, as in every unit
                    fits.update(self._prefit(groups, fit_cache, prepared))
                units = []
                for g in groups:  # data and fits travel once per worker (StudyShared)
                    local = {i: k for k, i in enumerate(g)}
                    units.append(StudyUnit(
                        [scen[i] for i in g], None, str(self.base_dir), self.keep_files,
                        [None if parents[i] is None else local[parents[i]] for i in g],
                    ))  # fmt: skip
                return units

            def unit_done(k, res):
                for i, o in zip(groups[k], res, strict=True):
                    outcomes[i] = o
                done[0] += len(res)
                if progress is not None:
                    progress(done[0], total)

            map_units(run_unit, make_units, spec, unit_done,
                      shared=lambda: StudyShared(self.data, fits))  # fmt: skip
            executor = spec.describe()
        else:

            def one_done(i, o):
                done[0] += 1
                if progress is not None:
                    progress(done[0], total)

            with threadpool_limits(limits=1):
                outcomes = run_scenarios(
                    scen, self.data, self.base_dir, one_done, self.keep_files, fit_cache,
                    prepared, parents,
                )  # fmt: skip
            executor = "serial"
        t1 = time.perf_counter()
        frontiers = []
        if self.frontiers:
            with threadpool_limits(limits=1):
                frontiers = self._frontiers(run_frontier, fit_cache, prepared)
        t2 = time.perf_counter()
        return StudyResult(
            rows=[o.row for o in outcomes],
            frontiers=frontiers,
            files={o.row["scenario"]: o.files for o in outcomes if o.files},
            timings={
                "fit_and_solve_s": t1 - t0,
                "frontiers_s": t2 - t1,
                "total_s": t2 - t0,
                "solve_s_mean": sum(o.seconds for o in outcomes) / max(len(outcomes), 1),
            },
            executor=executor,
            fits=len(by_fit),
            builds=len({s.build_key for s in scen}),
        )

    def _prefit(self, groups: list[list[int]], fit_cache: dict, prepared: dict) -> dict:
        """Fit here, once, the alpha / risk setting of every fit split into several units
        (shipped to them: a worker then only builds, ~0.1 s instead of a ~3 s refit at
        N = 2,000); ``{fit key: fit cache entries}``. A fit that fails is left to the
        units (each gives its failed rows)."""
        from portfolio.errors import ActiveEtfError
        from portfolio.studies.engine import CachedFitRebalancer

        count: dict[str, int] = {}
        for g in groups:
            key = self.scenarios[g[0]].fit_key
            count[key] = count.get(key, 0) + 1
        out: dict = {}
        for g in groups:
            first = self.scenarios[g[0]]
            if count[first.fit_key] < 2 or first.fit_key in out:
                continue
            before = set(fit_cache)
            reb = CachedFitRebalancer(first.build_config(), self.base_dir, fit_cache)
            try:
                prepared[first.build_key] = (reb, reb.prepare(self.data))
            except (ActiveEtfError, ValueError, KeyError):
                continue
            out[first.fit_key] = {k: fit_cache[k] for k in set(fit_cache) - before}
        return out

    def _frontiers(self, run_frontier, fit_cache, prepared) -> list[dict]:
        from portfolio.studies.engine import CachedFitRebalancer

        base = self.scenarios[0]
        if base.build_key in prepared:
            reb, prep = prepared[base.build_key]
        else:
            reb = CachedFitRebalancer(self.config, self.base_dir, fit_cache)
            prep = reb.prepare(self.data)
        out = []
        for f in self.frontiers:
            prep.optimizer.warm_start = None  # from a cold start, whatever ran before
            out.append(run_frontier(reb, prep, self.config, f, self._raw, self._refs))
        return out


UNITS_PER_WORKER = 4  # units per worker of a fit split across workers (load balance)


def _units(scenarios, blocks: list[list[int]], n: int) -> list[list[int]]:
    """Executor units of whole warm-start blocks: the blocks of each fit (alpha / risk
    setting) dealt round-robin into at most ``n`` units (one fit per unit;
    neighbouring blocks, often of similar cost, go to different units, and a few
    units per worker let the scheduler even out the rest)."""
    by_fit: dict[str, list[list[int]]] = {}
    for b in blocks:
        by_fit.setdefault(scenarios[b[0]].fit_key, []).append(b)
    units = []
    for fit_blocks in by_fit.values():
        k = min(n, len(fit_blocks))
        units += [sorted(i for b in fit_blocks[j::k] for i in b) for j in range(k)]
    return units
