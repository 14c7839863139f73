"""From a solved rebalance to what is sent: board lots, repair, FX settlement, hard-limit check.

:func:`round_and_check` is the trades step of :meth:`portfolio.rebalance.Rebalancer.finish`:

1. :func:`portfolio.trades.build_trades` rounds the optimal weights to board lots, pays
   trading and FX costs out of cash by currency and settles each currency with FX trades
   (:mod:`portfolio.fx`, rules from the ``trades: fx_*`` config fields);
2. unless ``trades.repair`` is false, :mod:`portfolio.repair` moves lots until every hard
   limit holds on the rounded portfolio, losing as little utility as it can;
3. every constraint is re-checked on the rounded weights; the cash band is measured on
   **cash after trading and FX costs** (the cash the fund holds once the trades settle),
   not on ``1 - sum(w)``.

A hard (not ``soft``) constraint still breached after that is a *hard breach*: the run
exits with code 5, and the trade list is still written, marked ``DO_NOT_SEND.txt``.

When the optimizer relaxed limits by priority (``OptimizationResult.relaxed``), rounding
keeps each holding where the optimizer put it if a configured per-asset bound would undo the
relaxation, or to the next whole lot the unrelaxed limits allow when the relaxed target
lies between two lots (:func:`portfolio.prepared.widen_to_target`), the repair leaves the relaxed
limits alone, and a relaxed limit's breach up to its relaxation plus one board lot's weight
on the name (at least ``RELAXED_SLACK``) is reported with ``relaxed`` set, not as a hard
breach (:func:`within_relaxation`).

Turnover in the output (fractions of pre-trade NAV, over securities, cash excluded):
buys ``B = sum_i max(x_i, 0)``, sells ``S = sum_i max(-x_i, 0)`` and one-way turnover
``T = (B + S) / 2``. A ``turnover`` constraint's ``max`` binds ``T``; ``max_buy`` binds
``B`` and ``max_sell`` binds ``S``.
"""

from __future__ import annotations

import pandas as pd

from constraints import CashBand, check_constraints
from constraints.shared import SharedInstances
from portfolio.prepared import cash_floor, holding_share_limits, widen_to_target
from portfolio.trades import TradeArrays, TradeInputs, TradeList, build_trades

__all__ = [
    "round_and_check",
    "RoundingContext",
    "hard_breaches",
    "trade_inputs",
    "trades_summary",
    "send_files",
    "fx_trades_csv",
    "cash_csv",
]


def trade_inputs(prepared, config) -> TradeInputs:
    """The :class:`TradeInputs` of a prepared run: book, lots, costs, cash by currency."""
    p, book, assets = prepared, prepared.book, prepared.assets
    cash = p.data.cash.groupby("currency")["amount_local"].sum().astype(float)
    impact = assets["impact"].astype(float)
    return TradeInputs(
        securities=p.data.securities,
        price_base=book.price_base,
        lot_size=p.lots,
        shares_before=book.shares,
        cash_base=book.cash_base,
        cost_buy=assets["cost_buy"].astype(float),
        cost_sell=assets["cost_sell"].astype(float),
        impact=impact if config.objective.impact else impact * 0.0,
        frozen=p.frozen,
        cash_local=cash,
        fx_rates=p.data.fx.astype(float),
        base_currency=config.fund.base_currency,
    )


class RoundingContext:
    """What lot rounding derives once from a prepared run, for every solve of it.

    A what-if study solves one :class:`~portfolio.prepared.PreparedRun` many times; each
    answer is rounded on the same book. Built by the first :func:`round_and_check` of a
    run and kept on ``PreparedRun.rounding``:

    * ``inputs`` / ``arrays``: the :class:`TradeInputs` and their arrays, with the cash
      model per FX rules;
    * ``repair_cache``: the repair's ``S_ii`` and dense limit rows
      (:func:`portfolio.repair.lot_repair`);
    * one shared instance per distinct constraint (:meth:`shared`): scenario overrides
      build new constraint objects, and a shared instance keeps its memo of row structure
      (group matrices, labels) for the repair and the re-check;
    * the per-asset share limits per set of constraints.

    Everything held depends only on the prepared run and ``config`` (never on a
    scenario's weights), so rounding with or without the context gives the same trades.
    """

    MAX_SHARED = 256  # distinct constraint instances kept (a long sweep stays bounded)

    def __init__(self, prepared, config):
        self.config = config
        self.inputs = trade_inputs(prepared, config)
        self.arrays = TradeArrays.of(self.inputs)
        self.repair_cache: dict = {}
        self._shared = SharedInstances(self.MAX_SHARED)
        self._limits: dict = {}

    @classmethod
    def of(cls, prepared, config) -> RoundingContext:
        """The context kept on ``prepared`` (a new one for another config)."""
        ctx = getattr(prepared, "rounding", None)
        if not isinstance(ctx, cls) or ctx.config is not config:
            ctx = cls(prepared, config)
            prepared.rounding = ctx
        return ctx

    def shared(self, constraints) -> list:
        """Each constraint replaced by the first instance seen of the same class with the
        same field values (:class:`constraints.shared.SharedInstances`)."""
        return self._shared(constraints)

    def holding_limits(self, constraints, data, book) -> tuple[pd.Series, pd.Series]:
        """:func:`~portfolio.prepared.holding_share_limits`, once per set of (shared)
        constraint instances."""
        key = tuple(id(c) for c in constraints)
        hit = self._limits.get(key)
        if hit is None or any(a is not b for a, b in zip(hit[0], constraints, strict=True)):
            if len(self._limits) >= self.MAX_SHARED:
                self._limits.clear()
            hit = self._limits[key] = (
                list(constraints),
                holding_share_limits(constraints, data, book),
            )
        return hit[1]


def _risk_aversion(config, overrides) -> float:
    """``lambda`` of the objective the repair protects (0 in TE-cap mode: the cap is a limit)."""
    if config.objective.mode != "utility":
        return 0.0
    ra = (overrides or {}).get("risk_aversion")
    return float(config.objective.risk_aversion if ra is None else ra)


RELAXED_SLACK = 1e-4  # own units (weight): what lot rounding may add to a relaxed limit


def round_and_check(
    prepared, config, weights: pd.Series, constraints, overrides=None, min_trade_base=None,
    relaxed: list | None = None,
) -> tuple[TradeList, list[dict]]:  # fmt: skip
    """Round ``weights`` to lots, repair, settle FX and re-check every constraint.

    Returns the trade list and the breaches (as :func:`constraints.check_constraints`,
    the cash band on cash after costs; each carries ``soft``, and ``relaxed`` when the
    limit was relaxed by priority and holds at its relaxed level).
    """
    moved = {r["name"]: float(r.get("amount") or 0.0) for r in (relaxed or [])}
    from portfolio.repair import lot_repair

    p = prepared
    ctx = RoundingContext.of(p, config)
    constraints = ctx.shared(constraints)
    rules = config.trades.fx_rules()
    min_trade = config.trades.min_trade_base if min_trade_base is None else min_trade_base
    inp = ctx.inputs
    repair = None
    if config.trades.repair:
        repair = lot_repair(
            inp,
            p.check_data,
            [c for c in constraints if c.label not in moved],
            p.alpha.alpha,
            _risk_aversion(config, overrides),
            rules,
            min_trade_base=min_trade,
            max_moves=config.trades.repair_max_moves,
            time_limit_s=config.trades.repair_time_limit_s,
            cache=ctx.repair_cache,
            cash=ctx.arrays.model(rules),
        )
    limits = ctx.holding_limits(constraints, p.check_data, p.book)
    if moved:  # limits moved by priority: rounding keeps the relaxed target
        unrelaxed = [c for c in constraints if c.label not in moved]
        hard = ctx.holding_limits(unrelaxed, p.check_data, p.book)
        limits = widen_to_target(limits, weights, p.book, hard=hard, lots=p.lots)
    tl = build_trades(
        inp,
        weights,
        min_trade_base=min_trade,
        min_cash_weight=cash_floor(constraints),
        holding_limits=limits,
        fx_rules=rules,
        repair=repair,
        arrays=ctx.arrays,
    )
    others = [c for c in constraints if not isinstance(c, CashBand)]
    breaches = check_constraints(others, tl.weights_after, p.check_data)
    cash_w = tl.cash_after_costs_base / tl.nav_base
    for c in constraints:
        if isinstance(c, CashBand):
            v = max(c.min - cash_w, cash_w - c.max, 0.0)
            if v > 1e-7:
                breaches.append({
                    "name": c.label, "kind": c.kind, "soft": c.soft is not None,
                    "violation": v, "unit": "cash weight after trading and FX costs",
                    "n_rows": 1, "rows": {c.label: v},
                })  # fmt: skip
    if moved:
        lot_w = (p.lots * p.book.price_base / p.book.nav_base).dropna()
        lot_w.index = lot_w.index.astype(str)
        for b in breaches:
            if b["name"] in moved and within_relaxation(b, moved[b["name"]], lot_w):
                b["relaxed"] = moved[b["name"]]
    return tl, breaches


def within_relaxation(breach: dict, amount: float, lot_weight: pd.Series) -> bool:
    """Whether a relaxed limit's breach is within its relaxation ``amount`` (own units)
    plus what rounding may add: one board lot's weight on a name's row (rounding keeps a
    relaxed name within one lot of its relaxed target), at least :data:`RELAXED_SLACK`.
    Rows beyond the breach's listed ones (the largest) get :data:`RELAXED_SLACK`."""
    rows = breach.get("rows") or {}

    def allow(row: str) -> float:
        return amount + max(RELAXED_SLACK, float(lot_weight.get(row, 0.0)))

    if not rows:
        return breach["violation"] <= amount + RELAXED_SLACK
    if any(v > allow(r) for r, v in rows.items()):
        return False
    unlisted = breach.get("n_rows", len(rows)) > len(rows)
    return not (unlisted and min(rows.values()) > amount + RELAXED_SLACK)


def hard_breaches(breaches: list[dict]) -> list[dict]:
    """The breaches of hard (not soft) constraints beyond any relaxation by priority:
    any of them means exit code 5."""
    return [b for b in breaches if not b.get("soft") and "relaxed" not in b]


def trades_summary(tl: TradeList) -> dict:
    """Cash (before, after trades, after costs), costs, FX and the repair,
    for ``summary.json``; money in base currency, weights as fractions of pre-trade NAV."""
    nav = tl.nav_base
    cash = tl.fx.cash
    rep = dict(tl.repair)
    moves = rep.pop("moves", [])
    return {
        "cash": {
            "before_base": tl.cash_before_base,
            "after_trades_base": tl.cash_after_base,
            "trade_cost_base": tl.trade_cost_base,
            "fx_cost_base": tl.fx.cost_base,
            "after_costs_base": tl.cash_after_costs_base,
            "before_weight": tl.cash_before_base / nav,
            "after_trades_weight": tl.cash_after_base / nav,
            "after_costs_weight": tl.cash_after_costs_base / nav,
            "nav_after_base": tl.nav_after_base,
            "by_currency": {
                str(c): {k: float(v) for k, v in row.items()} for c, row in cash.iterrows()
            },
            "negative_balances": tl.fx.negative_balances,
        },
        "fx_trades": {
            "count": int(len(tl.fx.trades)),
            "gross_base": float(tl.fx.trades["amount_base"].sum()),
            "cost_base": tl.fx.cost_base,
        },
        "repair": {**rep, "n_moves": len(moves), "moves": moves[:50]} if rep else {},
    }


def fx_trades_csv(tl: TradeList, base_currency: str) -> str:
    """``fx_trades.csv``: one row per FX trade (:data:`portfolio.fx.FX_COLUMNS`), money
    written to each currency's minor unit (local amounts in the traded currency)."""
    from portfolio.report.money import format_money, minor_units

    t = tl.fx.trades.copy()
    t["amount_local"] = format_money(t["amount_local"], minor_units(t["currency"]))
    base = minor_units([base_currency])[0]
    for c in ("amount_base", "cost_base"):
        t[c] = format_money(t[c], base)
    return t.to_csv(index=False, lineterminator="\n")


def cash_csv(tl: TradeList, base_currency: str) -> str:
    """``cash_by_currency.csv``: per currency the rate, cash before, trade flow, FX and cash
    after (local, to the currency's minor unit) and before / after in base currency."""
    from portfolio.report.money import format_money, minor_units

    c = tl.fx.cash.copy()
    local = minor_units(c.index)
    for col in ("before_local", "trade_flow_local", "fx_local", "after_local"):
        c[col] = format_money(c[col], local)
    base = minor_units([base_currency])[0]
    for col in ("before_base", "after_base"):
        c[col] = format_money(c[col], base)
    return c.to_csv(lineterminator="\n")


def do_not_send_text(result) -> str:
    """``DO_NOT_SEND.txt``: why the trade list of this run must not be sent."""
    lines = [
        "DO NOT SEND: hard limits are still broken after board-lot rounding and repair.",
        "The trade list (trades.csv) is written for inspection only; the run exited with code 5.",
        "",
    ]
    for b in result.hard_breaches:
        lines.append(f"- {b['name']}: violated by {b['violation']:.6g} {b.get('unit', '')}")
        lines += [f"    {k}: {v:.6g}" for k, v in list(b.get("rows", {}).items())[:10]]
    return "\n".join(lines) + "\n"


def send_files(result) -> dict[str, str]:
    """The settlement files of a rebalance run folder: ``fx_trades.csv``,
    ``cash_by_currency.csv``, the ETF baskets and PCF when ``etf.creation_unit`` is set
    (:func:`portfolio.etf.run.etf_run_files`), and ``DO_NOT_SEND.txt`` when a hard limit
    is still broken (exit code 5)."""
    from portfolio.etf.run import etf_run_files

    base = result.config.fund.base_currency
    files = {
        "fx_trades.csv": fx_trades_csv(result.trades, base),
        "cash_by_currency.csv": cash_csv(result.trades, base),
    }
    files.update(etf_run_files(result))
    if result.hard_breaches:
        files["DO_NOT_SEND.txt"] = do_not_send_text(result)
    return files
