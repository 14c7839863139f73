"""The YAML run configuration, loaded into typed, validated objects (pydantic).

One file describes the fund, the data files, the alpha blend, the risk estimator, the
objective, the constraints and the trade rules; ``examples/demo_fund.yaml`` is a fully
commented example. YAML is read with ``yaml.safe_load`` only. A malformed field raises
:class:`~portfolio.errors.ConfigError` naming the field path and what was expected, e.g.
``demo.yaml: 1 problem: objective.risk_aversion: Input should be a valid number (got 'high')``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from portfolio.alpha import AlphaSpec
from portfolio.errors import ConfigError
from portfolio.risk import RiskSpec

__all__ = [
    "FundSpec",
    "DataSpec",
    "ObjectiveConfig",
    "TradeRules",
    "SolverConfig",
    "RebalanceConfig",
    "load_config",
    "parse_config",
]

INPUT_NAMES = ("securities", "fundamentals", "returns", "holdings", "cash", "fx")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FundSpec(_Strict):
    """The fund: its name, base currency, as-of date and where NAV comes from."""

    name: str = "Fund"
    base_currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    as_of: dt.date | None = None  # default: the last date of the returns history
    nav: Literal["holdings"] | float = "holdings"  # "holdings": market value of holdings + cash

    @field_validator("nav")
    @classmethod
    def _positive_nav(cls, v):
        if not isinstance(v, str) and v <= 0:
            raise ValueError("must be 'holdings' or a positive amount in the base currency")
        return v


class DataSpec(_Strict):
    """Input files, relative to ``directory`` (itself relative to the config file)."""

    directory: str = "."
    securities: str = "securities.csv"
    fundamentals: str = "fundamentals.parquet"
    returns: str = "returns.parquet"
    holdings: str = "holdings.csv"
    cash: str = "cash.csv"
    fx: str = "fx.csv"
    max_excluded_share: float = Field(0.05, ge=0.0, le=1.0)

    def paths(self, base: Path) -> dict[str, Path]:
        root = (base / self.directory).resolve()
        return {name: root / getattr(self, name) for name in INPUT_NAMES}


class ObjectiveConfig(_Strict):
    """``maximise alpha'w - risk_aversion * a'Sa - cost(x) - penalties`` (DESIGN.md section 5).

    ``mode: max_alpha_te_cap`` instead maximises ``alpha'w - cost(x)`` under ``TE <= te_cap``.
    ``impact_eta`` is ``eta`` in ``k_i = eta * sigma_i * sqrt(NAV / ADV_i)``.
    """

    mode: Literal["utility", "max_alpha_te_cap"] = "utility"
    risk_aversion: float = Field(10.0, ge=0.0)
    te_cap: float | None = Field(None, gt=0.0)
    transaction_costs: bool = True
    impact: bool = True
    impact_eta: float = Field(0.1, ge=0.0)
    turnover_penalty: float = Field(0.0, ge=0.0)


class TradeRules(_Strict):
    """Board-lot rounding and order rules."""

    min_trade_base: float = Field(5_000.0, ge=0.0)  # smallest order worth sending, base currency


class SolverConfig(_Strict):
    """Solver preference; the optimizer falls back along ``fallback`` on failure.

    ``dual_newton``: with ``name: CLARABEL``, first try the certified dual Newton method
    (:mod:`optimizers.dual`), whose answer is used only with a duality-gap certificate.
    """

    name: str = "CLARABEL"
    fallback: list[str] = Field(default_factory=lambda: ["PIQP", "SCS"])
    dual_newton: bool = True

    @field_validator("name", "fallback")
    @classmethod
    def _installed(cls, value):
        from optimizers.solvers import installed_solvers

        installed = set(installed_solvers())
        names = [value] if isinstance(value, str) else value
        unknown = [n for n in names if n.upper() not in installed]
        if unknown:
            raise ValueError(f"solvers {unknown} are not installed; installed: {sorted(installed)}")
        return value.upper() if isinstance(value, str) else [n.upper() for n in value]


class RebalanceConfig(_Strict):
    """The whole run configuration (the top level of the YAML file)."""

    fund: FundSpec = FundSpec()
    data: DataSpec = DataSpec()
    alpha: AlphaSpec = AlphaSpec()
    risk: RiskSpec = RiskSpec()
    objective: ObjectiveConfig = ObjectiveConfig()
    constraints: list[dict[str, Any]] = Field(default_factory=list)
    trades: TradeRules = TradeRules()
    markets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    solver: SolverConfig = SolverConfig()

    @field_validator("markets")
    @classmethod
    def _markets_known_fields(cls, overrides: dict[str, dict[str, Any]]):
        return _check_markets(overrides)

    @field_validator("constraints")
    @classmethod
    def _constraints_parse(cls, specs: list[dict[str, Any]]):
        from constraints import build_constraint

        problems = []
        for i, spec in enumerate(specs):
            try:
                build_constraint(spec, where=f"constraints[{i}]")
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return specs


def _check_markets(overrides: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    from portfolio.markets import load_market_table

    load_market_table(overrides)  # raises ValueError naming the market and field
    return overrides


def _format_validation_error(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        got = e.get("input")
        got_text = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        out.append(f"{loc}: {msg}{got_text}")
    return out


def parse_config(data: Any, source: str = "config") -> RebalanceConfig:
    """Validate a mapping (the parsed YAML) into a :class:`RebalanceConfig`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of sections, got {type(data).__name__}"
        )
    try:
        return RebalanceConfig.model_validate(data)
    except ValidationError as exc:
        problems = _format_validation_error(exc)
        n = len(problems)
        raise ConfigError(
            f"{source}: {n} problem{'s' if n != 1 else ''}: " + "; ".join(problems)
        ) from None


def load_config(path: str | Path) -> RebalanceConfig:
    """Read and validate a YAML config file (``yaml.safe_load`` only)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from None
    return parse_config(data, source=path.name)
