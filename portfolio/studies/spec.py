"""The scenarios file of a what-if study: named scenarios, a grid and frontier sweeps.

Every change names a field of the base config by its dotted path::

    objective.risk_aversion: 20             # objective fields
    objective.te_cap: 0.03                  # (mode max_alpha_te_cap)
    objective.turnover_penalty: 0.001
    constraints.turnover.max: 0.10          # a constraint by its name (or its kind when
    constraints.China exposure.bounds.China.max: 0.05   # only one has it); a [lo, hi]
    constraints.Sector active.default: [-0.03, 0.03]    # pair by .min / .max or whole
    alpha.factors.rorc.weight: 2.0          # any other config field (refits alpha / risk)
    risk.estimator: pca
    trades.min_trade_base: 20000

The file (read with ``yaml.safe_load``)::

    scenarios:                      # a list of named scenarios
      - name: China cap 5 %
        changes: {constraints.China exposure.bounds.China.max: 0.05}
    grid:                           # the cartesian product of these values
      constraints.turnover.max: [0.10, 0.20, 0.30]
      objective.risk_aversion: [5, 10, 20]
    frontier:                       # sweeps of one optimizer limit, refined where it bends
      - name: China cap
        path: constraints.China exposure.bounds.China.max
        from: 0.30
        to: 0.0
        points: 9                   # first, evenly spaced points
        max_points: 40              # refinement stops here

The base config is always the first scenario (``base``). :func:`resolve_study` checks
every path against the base config (unknown paths and constraint names, wrong types are
:class:`~portfolio.errors.ConfigError` naming the scenario and the field).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from portfolio.errors import ConfigError
from portfolio.studies.limits import DEFAULT_MAX_SCENARIOS

__all__ = [
    "FrontierSpec",
    "ScenarioSpec",
    "StudyFile",
    "load_study_file",
    "parse_study_file",
    "grid_scenarios",
    "DEFAULT_MAX_SCENARIOS",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScenarioSpec(_Strict):
    """One named scenario: ``{path: value}`` changes to the base config."""

    name: str = Field(min_length=1)
    changes: dict[str, Any] = Field(default_factory=dict)


class FrontierSpec(_Strict):
    """A sweep of one optimizer limit (``path``) from ``start`` to ``stop``.

    ``points`` evenly spaced values (``scale: log`` spaces them geometrically, for risk
    aversion) are solved first; then, up to ``max_points``, the interval between
    neighbours whose binding constraints or shadow prices differ most is halved.
    """

    name: str = Field(min_length=1)
    path: str = Field(min_length=1)
    start: float = Field(alias="from")
    stop: float = Field(alias="to")
    points: int = Field(9, ge=2, le=1000)
    max_points: int = Field(40, ge=2, le=5000)
    scale: Literal["linear", "log"] = "linear"

    @field_validator("start", "stop")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    def initial_values(self) -> list[float]:
        import numpy as np

        if self.scale == "log":
            if self.start <= 0 or self.stop <= 0:
                raise ConfigError(
                    f"frontier {self.name!r}: scale log needs from and to above 0 "
                    f"(got {self.start}, {self.stop})"
                )
            vals = np.geomspace(self.start, self.stop, self.points)
        else:
            vals = np.linspace(self.start, self.stop, self.points)
        return [float(v) for v in vals]


class StudyFile(_Strict):
    """The top level of a scenarios file."""

    scenarios: list[ScenarioSpec] = Field(default_factory=list)
    grid: dict[str, list[Any]] | None = None
    frontier: list[FrontierSpec] = Field(default_factory=list)

    @field_validator("scenarios")
    @classmethod
    def _unique_names(cls, specs: list[ScenarioSpec]):
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup or "base" in names:
            raise ValueError(f"scenario names must be unique and not 'base': {dup or ['base']}")
        return specs

    @field_validator("frontier")
    @classmethod
    def _unique_frontiers(cls, specs: list[FrontierSpec]):
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"frontier names must be unique: {dup}")
        return specs


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def grid_scenarios(grid: dict[str, list[Any]] | None, max_scenarios: int) -> list[ScenarioSpec]:
    """The cartesian product of the grid's values, named ``path=value, ...``.

    An empty grid (no paths, or a path with no values) and a grid larger than
    ``max_scenarios`` are :class:`ConfigError`.
    """
    if grid is None:
        return []
    if not grid:
        raise ConfigError("scenarios file: grid: is empty (give at least one path and values)")
    empty = [p for p, vals in grid.items() if len(vals) == 0]
    if empty:
        raise ConfigError(f"scenarios file: grid: {empty} have no values (an empty grid)")
    size = math.prod(len(v) for v in grid.values())
    if size > max_scenarios:
        raise ConfigError(
            f"scenarios file: grid: {size:,} scenarios "
            f"({' x '.join(str(len(v)) for v in grid.values())}) exceed --max-scenarios "
            f"{max_scenarios:,}"
        )
    paths = list(grid)
    out = []
    for combo in itertools.product(*grid.values()):
        name = ", ".join(f"{p}={_fmt(v)}" for p, v in zip(paths, combo, strict=True))
        out.append(ScenarioSpec(name=name, changes=dict(zip(paths, combo, strict=True))))
    return out


def parse_study_file(raw: Any, source: str = "scenarios file") -> StudyFile:
    """Validate the parsed YAML of a scenarios file (structure only; paths are checked
    against the base config by :func:`portfolio.studies.changes.resolve_study`)."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping with scenarios, grid and/or frontier"
        )
    try:
        study = StudyFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = list(e["loc"])
            where = ".".join(str(p) for p in loc)
            if loc[:1] == ["scenarios"] and len(loc) > 1 and isinstance(loc[1], int):
                items = raw.get("scenarios") or []
                item = items[loc[1]] if loc[1] < len(items) else None
                if isinstance(item, dict) and "name" in item:
                    where = f"scenario {item['name']!r}: " + ".".join(str(p) for p in loc[2:])
            msg = "unknown field" if e["type"] == "extra_forbidden" else e["msg"]
            problems.append(f"{where}: {msg.removeprefix('Value error, ')}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None
    if not study.scenarios and study.grid is None and not study.frontier:
        raise ConfigError(f"{source}: no scenarios, grid or frontier given")
    return study


def load_study_file(path: str | Path) -> StudyFile:
    """Read a scenarios file (``yaml.safe_load``) and validate its structure."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"scenarios file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from None
    return parse_study_file(raw, source=path.name)
