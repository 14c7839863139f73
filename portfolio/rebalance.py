"""The rebalance pipeline: one object that wires the stages together.

``Rebalancer(config, base_dir).run(data)`` takes a validated :class:`MarketData` and returns
a :class:`RebalanceResult`: the book, risk model, alpha, optimal weights, the board-lot
trade list, the re-check of every constraint on the rounded portfolio and the built
optimizer. A run is three steps:

- :meth:`Rebalancer.prepare`: book, risk fit, alpha fit, costs, constraints, the built
  :class:`PortfolioOptimizer` (a :class:`PreparedRun`);
- :meth:`Rebalancer.solve`: solve it, or re-solve it warm-started with overrides
  (constraint limits, risk aversion, TE cap, turnover penalty);
- :meth:`Rebalancer.finish`: board lots and the re-check, giving the result.

The command line and the walk-forward backtest (:mod:`portfolio.backtest.engine`) call this
same object; :meth:`Rebalancer.prepare` and :meth:`Rebalancer.solve` let a what-if re-solve
the built optimizer without refitting (``RebalanceResult.optimizer`` keeps it after a run).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from constraints import (
    Hold,
    NoBuy,
    ProblemData,
    Restricted,
    build_constraint,
)
from optimizers import (
    FactorRiskModel,
    ObjectiveSpec,
    OptimizationResult,
    PortfolioOptimizer,
)
from portfolio.alpha import AlphaResult, run_alpha
from portfolio.book import Book, build_book
from portfolio.config import RebalanceConfig
from portfolio.errors import ConfigError, InputError
from portfolio.exposures import china_exposures, group_exposures
from portfolio.inputs import MarketData
from portfolio.markets import linear_cost_rates, load_market_table, lot_sizes
from portfolio.prepared import PreparedRun, trading_assets
from portfolio.risk import estimate_risk, risk_decomposition
from portfolio.rounding import hard_breaches, round_and_check, trades_summary
from portfolio.selection import constraint_columns, select_universe
from portfolio.trades import TradeList

__all__ = ["PreparedRun", "Rebalancer", "RebalanceResult"]


@dataclass(eq=False)
class RebalanceResult:
    """Everything a run produced; :meth:`summary` is the JSON report."""

    config: RebalanceConfig
    as_of: pd.Timestamp
    data: MarketData
    book: Book
    risk_model: FactorRiskModel
    risk_report: dict
    alpha: AlphaResult
    optimization: OptimizationResult
    trades: TradeList
    breaches: list[dict]
    frozen: pd.Series
    timings: dict[str, float] = field(default_factory=dict)
    universe: dict = field(default_factory=dict)  # UniverseSelection.to_dict()
    optimizer: PortfolioOptimizer | None = None  # the built optimizer, to re-solve from Python
    _risk_after: dict | None = field(default=None, repr=False)

    @property
    def risk_after(self) -> dict:
        """``risk_decomposition`` of the rounded portfolio, computed when first read (a
        what-if row does not need it)."""
        if self._risk_after is None:
            self._risk_after = risk_decomposition(
                self.risk_model, self.trades.weights_after, self.book.benchmark
            )
        return self._risk_after

    @property
    def hard_breaches(self) -> list[dict]:
        """Hard limits still broken on what is sent (after rounding and repair): exit 5."""
        return hard_breaches(self.breaches)

    def summary(self) -> dict:
        """JSON-serialisable run summary (alpha, TE, turnover, cost, exposures, binding)."""
        sec = self.data.securities
        b = self.book.benchmark
        w0 = self.book.weights
        w_opt = self.optimization.weights
        w_after = self.trades.weights_after
        alpha = self.alpha.alpha
        sets = {"before": w0, "optimal": w_opt, "after": w_after, "benchmark": b}

        def te(w):
            return self.risk_model.volatility(
                (w - b).reindex(self.risk_model.asset_ids).fillna(0.0)
            )

        def port(w):
            return {
                "alpha": float(alpha.reindex(w.index).fillna(0.0) @ w),
                "ex_ante_te": te(w),
                "total_risk": self.risk_model.volatility(
                    w.reindex(self.risk_model.asset_ids).fillna(0.0)
                ),
                "names_held": int((w > 1e-6).sum()),
                "cash_weight": float(1.0 - w.sum()),
            }

        opt = self.optimization.to_dict()
        opt.pop("weights", None)  # per-asset weights are in target_holdings.csv
        opt.pop("timings", None)  # timings vary run to run: they live in manifest.json
        return {
            "fund": self.config.fund.name,
            "as_of": str(self.as_of.date()),
            "base_currency": self.config.fund.base_currency,
            "nav_base": self.book.nav_base,
            "universe_size": int(len(sec)),
            "universe": self.universe,
            "frozen_assets": sorted(self.frozen.index[self.frozen]),
            "portfolio": {
                "before": port(w0),
                "optimal": port(w_opt),
                "after_rounding": port(w_after),
            },
            "turnover": {
                "optimal": float(0.5 * (w_opt - w0).abs().sum()),
                "after_rounding": self.trades.turnover,
                "buys": self.trades.buys,
                "sells": self.trades.sells,
                "one_way": self.trades.turnover,  # (buys + sells) / 2: what turnover.max binds
            },
            "trades": {
                "count": int(len(self.trades.trades)),
                "buys": int((self.trades.trades["side"] == "BUY").sum()),
                "sells": int((self.trades.trades["side"] == "SELL").sum()),
                "gross_notional_base": float(self.trades.trades["notional_base"].sum()),
                "est_cost_base": self.trades.est_cost_base,
                "est_cost_bps_nav": 1e4 * self.trades.est_cost_base / self.book.nav_base,
                "cash_before_base": self.trades.cash_before_base,
                "cash_after_base": self.trades.cash_after_base,
                "filtered_below_min_trade": self.trades.filtered,
                "cut_for_cash": self.trades.cash_cuts,
            },
            "optimizer": opt,
            "constraint_breaches_after_rounding": self.breaches,
            "hard_limits": {
                "status": "breached" if self.hard_breaches else "ok",
                "breached": [b["name"] for b in self.hard_breaches],
            },
            **trades_summary(self.trades),
            "exposures": group_exposures(sec, sets),
            "china_exposure": china_exposures(sec, sets),
            "risk": {
                "model": self.risk_report,
                "decomposition_after": self._risk_summary(),
            },
            "alpha": self.alpha.diagnostics,
            "excluded_from_alpha": self.alpha.excluded.to_dict(orient="records"),
            "alpha_warnings": list(self.alpha.warnings),
            "notes": list(self.book.notes),
        }

    def risk_by_asset(self) -> pd.DataFrame:
        """Per-asset weights and contributions to TE of the rounded portfolio (a CSV output)."""
        frame = pd.DataFrame.from_dict(self.risk_after["by_asset"], orient="index")
        frame.index.name = "asset_id"
        return frame.sort_index()

    def _risk_summary(self, top: int = 15) -> dict:
        """Risk decomposition with the ``top`` contributors to TE (all are in risk_by_asset.csv)."""
        d = {k: v for k, v in self.risk_after.items() if k != "by_asset"}
        ranked = sorted(self.risk_after["by_asset"].items(), key=lambda kv: -abs(kv[1]["ctr"]))
        d["top_contributors_to_te"] = dict(ranked[:top])
        return d


class Rebalancer:
    """Run one rebalance from a config.

    Parameters
    ----------
    config : RebalanceConfig
    base_dir : Path
        Folder that relative paths in the config (vendor risk files) are resolved against.
    """

    def __init__(self, config: RebalanceConfig, base_dir: Path | None = None):
        self.config = config
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()

    def constraints(self):
        """The configured constraint objects (halted names are also frozen from the data)."""
        return [
            build_constraint(spec, where=f"constraints[{i}]")
            for i, spec in enumerate(self.config.constraints)
        ]

    def as_of(self, data: MarketData) -> pd.Timestamp:
        """The configured as-of date, or the last date of the returns history."""
        cfg = self.config
        return pd.Timestamp(cfg.fund.as_of) if cfg.fund.as_of else data.returns.index.max()

    def risk_stage(self, data: MarketData) -> tuple[FactorRiskModel, dict]:
        """Fit the configured risk model on returns up to the as-of date."""
        as_of = self.as_of(data)
        return estimate_risk(
            self._risk_spec(), data.returns.loc[:as_of], data.securities, as_of, data.fundamentals
        )

    def alpha_stage(self, data: MarketData, risk_model: FactorRiskModel, book: Book) -> AlphaResult:
        """Scores, blend and Grinold-Kahn alpha with residual vol from ``risk_model``."""
        as_of = self.as_of(data)
        return run_alpha(
            self.config.alpha,
            data.securities,
            data.fundamentals,
            data.returns.loc[:as_of],
            residual_vol=risk_model.specific_vol(),
            benchmark=book.benchmark,
            as_of=as_of,
            risk_model=risk_model,
        )

    def market_terms(self, securities: pd.DataFrame):
        """``(lots, lot problems, linear cost rates)`` of ``securities`` from the market
        table (rates ``None`` when a lot size is missing)."""
        markets = load_market_table(self.config.markets)
        lots, problems = lot_sizes(securities, markets)
        return lots, problems, None if problems else linear_cost_rates(securities, markets)

    def _risk_spec(self):
        """The risk spec with vendor file paths resolved against the config's folder."""
        spec = self.config.risk
        vendor = getattr(spec, "vendor", None)
        if vendor is None:
            return spec
        resolved = {
            name: str((self.base_dir / value).resolve())
            for name, value in vendor.model_dump().items()
            if isinstance(value, str)
        }
        return spec.model_copy(update={"vendor": vendor.model_copy(update=resolved)})

    def run(self, data: MarketData) -> RebalanceResult:
        """One rebalance: :meth:`prepare`, :meth:`solve` with no overrides, :meth:`finish`."""
        t0 = time.perf_counter()
        prepared = self.prepare(data)
        result = self.finish(prepared, self.solve(prepared))
        result.timings["total_s"] = time.perf_counter() - t0
        return result

    def prepare(self, data: MarketData) -> PreparedRun:
        """Everything before the solve: book, risk fit, alpha fit, assets and costs,
        constraints and the built :class:`PortfolioOptimizer` (fitted once, solved many)."""
        cfg = self.config
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        as_of = self.as_of(data)
        selection = select_universe(
            data, cfg.universe, cfg.benchmark, as_of, constraint_columns(cfg.constraints)
        )
        data = selection.data
        sec = data.securities

        lots, lot_problems, rates = self.market_terms(sec)
        if lot_problems:
            raise InputError("securities", lot_problems)
        nav_override = None if cfg.fund.nav == "holdings" else float(cfg.fund.nav)
        book = build_book(data, nav_override)
        book.notes.extend(selection.notes)
        timings["book_s"] = time.perf_counter() - t0

        t = time.perf_counter()
        risk_model, risk_report = self.risk_stage(data)
        timings["risk_s"] = time.perf_counter() - t

        t = time.perf_counter()
        alpha = self.alpha_stage(data, risk_model, book)
        timings["alpha_s"] = time.perf_counter() - t
        excluded = alpha.excluded
        n_excluded = excluded["asset_id"].nunique() if len(excluded) else 0
        if n_excluded > cfg.data.max_excluded_share * len(sec):
            raise InputError(
                "alpha",
                f"{n_excluded} of {len(sec)} assets excluded (more than data.max_excluded_share = "
                f"{cfg.data.max_excluded_share:.0%}); first: "
                + "; ".join(f"{r.asset_id}: {r.reason}" for r in excluded.head(5).itertuples()),
            )

        costs_on = cfg.objective.transaction_costs
        assets, frozen, no_liquidity = trading_assets(
            sec, rates if costs_on else None, risk_model, book.nav_base, cfg.objective.impact_eta
        )

        constraints = self.constraints()
        check_data = ProblemData.from_series(
            assets,
            risk=risk_model,
            benchmark=book.benchmark,
            w0=book.weights,
            nav_base=book.nav_base,
            held_tol=0.0,  # it measures whole shares: one share is a name held
        )
        for i, c in enumerate(constraints):  # unknown groups, columns, assets: name the entry
            try:
                c.violation(book.weights, check_data)
            except (KeyError, ValueError) as exc:
                raise ConfigError(f"constraints[{i}] ({c.label}): {exc}") from exc
        if selection.outside_held:  # held but outside the fund universe: sell
            # ... as fast as the other limits allow: below every configured priority, so
            # when liquidity or turnover cannot sell it all this month the rest is held
            # (the smallest relaxation, reported) instead of the month failing.
            floor = min((c.priority for c in constraints if c.priority is not None), default=1)
            constraints.append(
                Restricted(
                    assets=selection.outside_held,
                    name="Outside the fund universe",
                    priority=floor - 1,
                )
            )
        if no_liquidity.any():  # no traded value: the name cannot trade at all
            ids = tuple(sorted(sec.index[no_liquidity.to_numpy()]))
            constraints.append(Hold(assets=ids, name="No traded value (adv_base = 0)"))
        if len(alpha.excluded):  # no view: may be held or sold, never bought
            ids = tuple(sorted(set(alpha.excluded["asset_id"])))
            constraints.append(NoBuy(assets=ids, name="Excluded from alpha (no view)"))
        objective = ObjectiveSpec(
            mode=cfg.objective.mode,
            risk_aversion=cfg.objective.risk_aversion,
            te_cap=cfg.objective.te_cap,
            linear_costs=costs_on,
            impact=cfg.objective.impact,
            turnover_penalty=cfg.objective.turnover_penalty,
        )
        t = time.perf_counter()
        try:
            optimizer = PortfolioOptimizer(
                assets=assets,
                risk=risk_model,
                constraints=constraints,
                objective=objective,
                nav_base=book.nav_base,
                solver=[cfg.solver.name, *cfg.solver.fallback],
                dual_newton=cfg.solver.dual_newton,
                mi_max_assets=cfg.solver.mi_max_assets,
                mi_time_limit=cfg.solver.mi_time_limit_s,
            )
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"optimizer set-up: {exc}") from exc
        timings["build_s"] = time.perf_counter() - t
        return PreparedRun(
            as_of=pd.Timestamp(as_of),
            data=data,
            book=book,
            lots=lots,
            risk_model=risk_model,
            risk_report=risk_report,
            alpha=alpha,
            assets=assets,
            frozen=frozen,
            constraints=constraints,
            check_data=check_data,
            optimizer=optimizer,
            timings=timings,
            universe=selection.to_dict(),
        )

    def solve(self, prepared: PreparedRun, overrides: Mapping | None = None) -> OptimizationResult:
        """Solve (or re-solve, warm-started) the built optimizer.

        ``overrides`` holds keyword arguments of :meth:`PortfolioOptimizer.solve`:
        ``constraint_overrides`` (``{constraint label: {field: value}}``),
        ``risk_aversion``, ``te_cap``, ``turnover_penalty``.
        """
        p = prepared
        t = time.perf_counter()
        result = p.optimizer.solve(
            alpha=p.alpha.alpha, benchmark=p.book.benchmark, w0=p.book.weights, **(overrides or {})
        )
        result.timings["call_s"] = time.perf_counter() - t
        return result

    def finish(
        self,
        prepared: PreparedRun,
        result: OptimizationResult,
        overrides: Mapping | None = None,
        min_trade_base: float | None = None,
    ) -> RebalanceResult:
        """Board lots and the re-check of every constraint (as overridden) on the rounded
        portfolio; ``min_trade_base`` overrides ``trades.min_trade_base``."""
        cfg, p = self.config, prepared
        timings = dict(p.timings)
        timings["solve_s"] = result.timings.get("call_s", 0.0)
        timings.update({f"optimizer_{k}": v for k, v in result.timings.items() if k != "call_s"})
        t = time.perf_counter()
        book = p.book
        constraints = p.constraints_with((overrides or {}).get("constraint_overrides"))
        trade_list, breaches = round_and_check(
            p, cfg, result.weights, constraints, overrides, min_trade_base, result.relaxed
        )
        timings["trades_s"] = time.perf_counter() - t
        timings["total_s"] = sum(v for k, v in timings.items() if not k.startswith("optimizer_"))
        return RebalanceResult(
            config=cfg,
            as_of=p.as_of,
            data=p.data,
            book=book,
            risk_model=p.risk_model,
            risk_report=p.risk_report,
            alpha=p.alpha,
            optimization=result,
            trades=trade_list,
            breaches=breaches,
            frozen=p.frozen,
            timings=timings,
            universe=p.universe,
            optimizer=p.optimizer,
        )
