"""The YAML run configuration, loaded into typed, validated objects (pydantic).

One file describes the fund, the data files, the alpha blend, the risk estimator, the
objective, the constraints and the trade rules; ``examples/demo_fund.yaml`` is a fully
commented example. YAML is read with ``yaml.safe_load`` only. A malformed field raises
:class:`~portfolio.errors.ConfigError` naming the field path and what was expected, e.g.
``demo.yaml: 1 problem: objective.risk_aversion: Input should be a valid number (got 'high')``.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from portfolio.alpha import AlphaSpec
from portfolio.errors import ConfigError
from portfolio.risk import RiskSpec
from portfolio.selection import BenchmarkSpec, UniverseSpec

__all__ = [
    "FundSpec",
    "DataSpec",
    "ObjectiveConfig",
    "TradeRules",
    "EtfConfig",
    "SolverConfig",
    "RebalanceConfig",
    "load_config",
    "parse_config",
]

INPUT_NAMES = ("securities", "fundamentals", "returns", "holdings", "cash", "fx")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
    # point in time (portfolio.backtest.history): dated histories for the backtest, the
    # date of an undated securities snapshot, and whether a stale snapshot is accepted
    securities_history: str | None = None
    fx_history: str | None = None
    securities_date: dt.date | None = None
    stale_securities_ok: bool = False
    # input rules (portfolio.input_rules): FX plausibility band, staleness, an all-cash fund
    fx_band: float | None = Field(3.0, gt=1.0)  # rate within [ref / band, ref * band]; null: off
    max_stale_days: int = Field(5, ge=0)  # business days from the last return to as_of
    max_fundamentals_age_days: int = Field(100, ge=0)  # latest fundamentals snapshot's age
    allow_empty_holdings: bool = False  # a holdings file with a header only (all cash)

    def paths(self, base: Path) -> dict[str, Path]:
        root = (base / self.directory).resolve()
        return {name: root / getattr(self, name) for name in INPUT_NAMES}

    def history_paths(self, base: Path) -> dict[str, Path]:
        """The configured history files (``securities_history``, ``fx_history``)."""
        root = (base / self.directory).resolve()
        names = ("securities_history", "fx_history")
        return {n: root / getattr(self, n) for n in names if getattr(self, n) is not None}


class ObjectiveConfig(_Strict):
    """``maximise alpha'w - risk_aversion * a'Sa - cost(x) - penalties`` (README, "Architecture").

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
    """Board-lot rounding, order and FX settlement rules.

    ``min_trade_base``: smallest order worth sending (base currency). ``repair``: after
    rounding, move single lots until every hard limit holds (:mod:`portfolio.repair`),
    for at most ``repair_max_moves`` moves (deterministic); ``repair_time_limit_s`` is a
    safety net only (hitting it makes the answer depend on the machine's speed).
    FX (:mod:`portfolio.fx`): ``fx_spread_bps`` is the FX cost in bp of each FX trade,
    ``fx_min_ticket_base`` the smallest FX trade (a settlement need is rounded up to it),
    ``fx_buffer_base`` the cash kept in each traded currency, ``fx_repatriate`` sells
    sale proceeds above the buffer back into the base currency.
    """

    min_trade_base: float = Field(5_000.0, ge=0.0)
    repair: bool = True
    repair_max_moves: int = Field(1_000, ge=0)  # the repair's move budget
    repair_time_limit_s: float = Field(600.0, gt=0.0)  # safety net only
    fx_spread_bps: float = Field(2.0, ge=0.0, le=500.0)
    fx_min_ticket_base: float = Field(50_000.0, ge=0.0)
    fx_buffer_base: float = Field(0.0, ge=0.0)
    fx_repatriate: bool = True

    def fx_rules(self):
        """These rules as :class:`portfolio.fx.FxRules`."""
        from portfolio.fx import FxRules

        return FxRules(
            spread_bps=self.fx_spread_bps,
            min_ticket_base=self.fx_min_ticket_base,
            buffer_base=self.fx_buffer_base,
            repatriate=self.fx_repatriate,
        )


class EtfConfig(_Strict):
    """ETF creation / redemption (:mod:`portfolio.etf`).

    ``creation_unit``: ETF shares per creation unit. NAV per share is ``nav_per_share``
    (base currency) or, if not given, ``NAV / shares_outstanding``. ``in_kind_exclude``:
    names never delivered in kind (their value goes to the cash component), beside
    restricted and halted names and markets whose ``in_kind`` is false.
    """

    creation_unit: int | None = Field(None, gt=0)
    nav_per_share: float | None = Field(None, gt=0.0)
    shares_outstanding: float | None = Field(None, gt=0.0)
    in_kind_exclude: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _nav_source(self):
        if self.creation_unit is not None and (
            self.nav_per_share is None and self.shares_outstanding is None
        ):
            raise ValueError("creation_unit needs nav_per_share or shares_outstanding")
        return self


class SolverConfig(_Strict):
    """Solver preference; the optimizer falls back along ``fallback`` on failure.

    ``dual_newton``: with ``name: CLARABEL``, first try the certified dual Newton method
    (:mod:`optimizers.dual`), whose answer is used only with a duality-gap certificate.
    ``mi_max_assets`` / ``mi_time_limit_s``: with ``max_names``, ``min_holding`` or
    ``min_trade``, SCIP is tried up to that many assets and for that long, beside the
    heuristic that holds ``max_names`` by construction (the better answer is kept).
    ``time_limit_s``: wall time shared by every solver call of one run's solve (the optimizer, the
    soft and priority paths, the infeasibility diagnosis); past it the run stops with exit
    code 4 (:func:`optimizers.solvers.time_budget`).
    """

    name: str = "CLARABEL"
    fallback: list[str] = Field(default_factory=lambda: ["PIQP", "SCS"])
    dual_newton: bool = True
    mi_max_assets: int = Field(300, ge=0)  # largest universe SCIP is tried on (integer kinds)
    mi_time_limit_s: float = Field(30.0, gt=0.0)  # SCIP's time limit, seconds
    time_limit_s: float = Field(50.0, gt=0.0)  # every solve of one run together (exit 4 past it)

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
    universe: UniverseSpec = UniverseSpec()
    benchmark: BenchmarkSpec = BenchmarkSpec()
    alpha: AlphaSpec = AlphaSpec()
    risk: RiskSpec = RiskSpec()
    objective: ObjectiveConfig = ObjectiveConfig()
    constraints: list[dict[str, Any]] = Field(default_factory=list)
    trades: TradeRules = TradeRules()
    etf: EtfConfig = EtfConfig()
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
    bad_numbers = _non_finite_fields(data)
    if bad_numbers:
        raise ConfigError(
            f"{source}: {len(bad_numbers)} problem{'s' if len(bad_numbers) != 1 else ''}: "
            + "; ".join(f"{loc}: not a finite number (got {v!r})" for loc, v in bad_numbers)
        )
    try:
        return RebalanceConfig.model_validate(data)
    except ValidationError as exc:
        problems = _format_validation_error(exc)
        n = len(problems)
        raise ConfigError(
            f"{source}: {n} problem{'s' if n != 1 else ''}: " + "; ".join(problems)
        ) from None


def _non_finite_fields(data: Any, loc: str = "") -> list[tuple[str, float]]:
    """``(field path, value)`` of every ``.inf`` / ``.nan`` anywhere in the parsed YAML, and
    of every text that a number field would read as one (``1e400``, ``inf``, ``nan``)."""
    if isinstance(data, float) and not math.isfinite(data):
        return [(loc or "(top level)", data)]
    if isinstance(data, str) and data.strip().lower() not in ("", "none", "null"):
        try:  # "1e400" is text to YAML but inf to a float field
            number = float(data)
        except ValueError:
            return []
        return [] if math.isfinite(number) else [(loc or "(top level)", data)]
    if isinstance(data, dict):
        return [
            bad
            for k, v in data.items()
            for bad in _non_finite_fields(v, f"{loc}.{k}" if loc else str(k))
        ]
    if isinstance(data, list):
        return [bad for i, v in enumerate(data) for bad in _non_finite_fields(v, f"{loc}[{i}]")]
    return []


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that keeps an impossible date (``2026-02-30``) as text, so that
    the field it sits in is named by the validation instead of a bare ``ValueError``."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.Node):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)

#: Sections a config file must have: a rebalance with no fund or no limits is refused.
REQUIRED_SECTIONS = ("fund", "constraints")


def load_config(path: str | Path) -> RebalanceConfig:
    """Read and validate a YAML config file (``yaml.safe_load`` rules only).

    An empty or near-empty file is refused: it must have a ``fund`` section and at least
    one entry under ``constraints`` (:data:`REQUIRED_SECTIONS`).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        loader = _Loader(path.read_text(encoding="utf-8"))  # a yaml.SafeLoader
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text: {exc}") from None
    if data is None or (isinstance(data, dict) and not data):
        raise ConfigError(
            f"{path.name}: the config is empty; it needs at least the sections "
            f"{', '.join(REQUIRED_SECTIONS)} (see examples/demo_fund.yaml)"
        )
    if isinstance(data, dict):
        missing = [k for k in REQUIRED_SECTIONS if not data.get(k)]
        if missing:
            raise ConfigError(
                f"{path.name}: missing or empty section{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}: a rebalance needs the fund and at least one limit "
                "(see examples/demo_fund.yaml)"
            )
    return parse_config(data, source=path.name)
