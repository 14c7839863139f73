"""The walk-forward loop: at each rebalance date, the production rebalance on data cut there.

For each date ``t_k`` (the last return date of each month in ``[start, end]``):

1. every book is marked to ``t_k`` (:func:`~portfolio.backtest.book.mark_to_market`);
2. :meth:`BacktestInputs.market_at` cuts the data at ``t_k`` (securities and FX snapshots in
   force, fundamentals and returns dated ``<= t_k``) and the book gives holdings and cash;
3. the same :class:`~portfolio.rebalance.Rebalancer` as ``active-etf rebalance`` runs with
   ``fund.as_of = t_k``; its board-lot trades are booked and their costs paid. Limits with
   a ``priority`` that cannot all hold are relaxed by the optimizer (lowest priority
   first) and the month is recorded as ``relaxed`` with what moved; a month still
   infeasible (or a solver failure) is recorded with its diagnosis and the book is left
   unchanged; the backtest goes on;
4. the comparators trade on the same date (:mod:`portfolio.backtest.comparators`);
5. the realised IC of the alpha over ``(t_k, t_k+1]`` is measured on residual returns.

The last date of the range is only a mark (it closes the last period). The books start at
the first date holding the benchmark in whole board lots, with the cash band's mid-point in
base-currency cash, at the starting capital: ``fund.nav`` when it is a number, else the
holdings and cash files valued at the last snapshot (the fund's current size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from portfolio.backtest.book import (
    BookState,
    apply_trades,
    mark_to_market,
    nav_path,
    period_growth,
    plain,
)
from portfolio.backtest.clock import StageClock
from portfolio.backtest.comparators import (
    DateContext,
    StageRecorder,
    benchmark_growth,
    cash_target,
    comparator_trades,
    light_config,
    top_quintile_weights,
)
from portfolio.backtest.data import BacktestInputs
from portfolio.backtest.realised import realised_ic
from portfolio.backtest.records import engine_row, holdings_rows, progress_line
from portfolio.book import build_book
from portfolio.errors import ConfigError, InputError
from portfolio.markets import load_market_table, lot_sizes
from portfolio.selection import constraint_columns, select_universe

__all__ = ["BacktestSpec", "BacktestRun", "rebalance_dates", "run_backtest"]

STRATEGIES = ("engine", "top_quintile", "light")
MIN_HISTORY_DAYS = 252


@dataclass(frozen=True)
class BacktestSpec:
    """What to run: the date range, the frequency and whether to run the comparators.

    ``start`` defaults to the first month-end with ``MIN_HISTORY_DAYS`` of returns before it;
    ``end`` to the last month-end of the returns. The last date only closes the last period
    unless ``final_rebalance`` (then the engine also trades there: today's portfolio; its
    holdings and trades are recorded, with no realised period).
    """

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    frequency: str = "monthly"
    comparators: bool = True
    final_rebalance: bool = False


@dataclass(eq=False)
class BacktestRun:
    """Raw output of :func:`run_backtest` (turned into files and statistics elsewhere).

    Attributes
    ----------
    dates : rebalance dates plus the final mark.
    periods : one row per rebalance (see :mod:`portfolio.backtest.outputs`).
    nav : daily NAV per strategy and the benchmark, base currency.
    holdings, trades : long frames with a ``date`` column.
    events : infeasible months with their diagnosis, delistings, notes.
    timings : wall seconds per stage, summed over dates.
    cpu_timings : CPU seconds of this process per stage, summed over dates (on a loaded
        machine the wall time also counts the wait for a core).
    planted_ic, base_currency, notes : context for the statistics.
    """

    dates: pd.DatetimeIndex
    periods: pd.DataFrame
    nav: pd.DataFrame
    holdings: pd.DataFrame
    trades: pd.DataFrame
    events: list[dict]
    timings: dict[str, float]
    base_currency: str
    planted_ic: float | None
    notes: list[str] = field(default_factory=list)
    cpu_timings: dict[str, float] = field(default_factory=dict)


def rebalance_dates(index: pd.DatetimeIndex, start=None, end=None, frequency="monthly"):
    """The last date of each calendar month in ``index`` within ``[start, end]``."""
    if frequency != "monthly":
        raise ConfigError(f"--frequency: only 'monthly' is supported, got {frequency!r}")
    index = pd.DatetimeIndex(index)
    last = pd.Series(index, index=index).groupby(index.to_period("M")).max()
    dates = pd.DatetimeIndex(last.to_numpy())
    if start is None and len(index) > MIN_HISTORY_DAYS:
        start = index[MIN_HISTORY_DAYS]
    if start is not None:
        dates = dates[dates >= pd.Timestamp(start)]
    if end is not None:
        dates = dates[dates <= pd.Timestamp(end)]
    if len(dates) < 2:
        raise ConfigError(
            f"backtest range: fewer than two month-ends between {start} and {end} "
            f"(returns run from {index.min().date()} to {index.max().date()})"
        )
    return dates


def _check_snapshots(inputs: BacktestInputs, dates: pd.DatetimeIndex) -> None:
    """Before any work: every date has a snapshot, and a history has a new one each period."""
    table = inputs.securities
    for t in dates:
        inputs.securities_at(t)  # raises on no snapshot or one too old
        inputs.fx_at(t)
    if not table.is_history or inputs.config.data.stale_securities_ok:
        return
    used = pd.DatetimeIndex([table.snapshot_date(t) for t in dates])
    stale = np.nonzero(used[1:] <= dates[:-1])[0]
    if len(stale):
        k = int(stale[0]) + 1
        raise InputError(
            table.source,
            f"column 'date': gap in the history: no snapshot between the rebalance dates "
            f"{dates[k - 1].date()} and {dates[k].date()} (the latest is {used[k].date()})",
        )


def _starting_capital(inputs: BacktestInputs) -> float:
    nav = inputs.config.fund.nav
    if nav != "holdings":
        return float(nav)
    t = inputs.securities.dates[-1] if len(inputs.securities.dates) else inputs.returns.index[-1]
    data = inputs.market_at(t, inputs.holdings, inputs.cash)
    return build_book(data).nav_base


def _fund_view(data, config, t):
    """``data`` cut to the fund's universe with its benchmark method applied (as a rebalance
    does)."""
    cols = constraint_columns(config.constraints)
    return select_universe(data, config.universe, config.benchmark, pd.Timestamp(t), cols).data


def _initial_state(inputs: BacktestInputs, t, capital: float) -> BookState:
    """The benchmark in whole board lots at ``t`` with the cash band's mid-point in cash."""
    data = _fund_view(
        inputs.market_at(t, inputs.holdings.iloc[:0], inputs.cash.iloc[:0]), inputs.config, t
    )
    sec = data.securities
    fx = data.fx
    price = (sec["price_local"] * sec["currency"].map(fx)).astype(float)
    bench = build_book(data, nav_override=1.0).benchmark
    lots, problems = lot_sizes(sec, load_market_table(inputs.config.markets))
    if problems:
        raise InputError(inputs.securities.source, problems)
    invested = 1.0 - cash_target(inputs.config)
    shares = (np.floor(bench * invested * capital / price / lots) * lots).astype(np.int64)
    shares, price = plain(shares[shares > 0]), plain(price)
    cash = capital - float((shares * price[shares.index]).sum())
    base = inputs.base_currency
    return BookState(
        date=pd.Timestamp(t),
        shares=shares.sort_index(),
        cash_local=pd.Series({base: cash}, dtype=float),
        price_base=price[shares.index].sort_index(),
        fx=fx,
    )


def _context(rec: StageRecorder, data, config, markets=None, result=None) -> DateContext:
    """What the strategies share at the date: the engine's fund view and benchmark (from
    its ``result``, or derived again when the month did not solve), risk, alpha, lots."""
    if result is not None:  # the rebalance's own fund view and book
        data, benchmark = result.data, result.book.benchmark
    else:
        data = _fund_view(data, config, config.fund.as_of)
        benchmark = build_book(data, nav_override=1.0).benchmark
    sec = data.securities
    halted = sec["halted"].astype(bool) if "halted" in sec else pd.Series(False, index=sec.index)
    terms = rec.terms_ if rec.terms_ is not None and rec.terms_[0].equals(sec.index) else None
    return DateContext(
        config=config,
        securities=sec,
        price_base=(sec["price_local"] * sec["currency"].map(data.fx)).astype(float),
        benchmark=benchmark,
        risk_model=rec.risk_[0],
        alpha=rec.alpha_,
        frozen=halted | ~(sec["adv_base"] > 0),
        markets=markets,
        lots=None if terms is None else terms[1],
        rates=None if terms is None else terms[2],
    )


def _solve(rec: StageRecorder, data, t, events: list[dict], label: str):
    """Run the rebalance; an infeasible month or a solver failure is an event, not an abort."""
    from optimizers import InfeasibleError, SolverError

    try:
        return rec.run(data)
    except InfeasibleError as exc:
        diag = exc.diagnosis.to_dict() if getattr(exc, "diagnosis", None) else {}
        events.append({"date": str(t.date()), "strategy": label, "status": "infeasible",
                       "message": str(exc), "diagnosis": diag})  # fmt: skip
    except SolverError as exc:
        events.append({"date": str(t.date()), "strategy": label, "status": "solver_failed",
                       "message": str(exc), "diagnosis": {}})  # fmt: skip
    except InputError as exc:  # name the date the data failed at
        raise InputError(f"backtest at {t.date()}", exc.problems) from exc
    return None


def _record_relaxed(result, t, events: list[dict], label: str) -> None:
    """A month solved only after relaxing prioritised limits: an event naming each limit
    relaxed, by how much (own units) and its new limits (the optimizer's report)."""
    relaxed = list(result.optimization.relaxed or [])
    if relaxed:
        text = "; ".join(str(r.get("text") or r.get("name")) for r in relaxed)
        events.append({"date": str(t.date()), "strategy": label, "status": "relaxed",
                       "message": f"relaxed by priority: {text}", "relaxed": relaxed})  # fmt: skip


def run_backtest(
    inputs: BacktestInputs,
    spec: BacktestSpec | None = None,
    progress: Callable[[dict], None] | None = None,
) -> BacktestRun:
    """Walk forward over the rebalance dates (module docstring); see :class:`BacktestRun`.

    BLAS runs on one thread (as in every unit of :mod:`portfolio.executor`): the results do
    not depend on the thread count, and the many small least-squares fits are faster.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _walk(inputs, spec or BacktestSpec(), progress)


def _walk(inputs: BacktestInputs, spec: BacktestSpec, progress) -> BacktestRun:
    dates = rebalance_dates(inputs.returns.index, spec.start, spec.end, spec.frequency)
    base = inputs.base_currency
    names = STRATEGIES if spec.comparators else STRATEGIES[:1]
    _check_snapshots(inputs, dates)
    markets = load_market_table(inputs.config.markets)
    capital = _starting_capital(inputs)
    first = _initial_state(inputs, dates[0], capital)
    states = {s: first for s in names}
    bench_level = capital
    nav_parts: list[pd.DataFrame] = []
    periods, holdings, trades, events = [], [], [], []
    clock = StageClock(("data_s", "rebalance_s", "comparators_s", "book_s", "ic_s"))
    timings = clock.wall
    prev = None  # (t, ctx, growth-independent records)
    for k, t in enumerate(dates):
        with clock("data_s"):
            cut = inputs.market_at(t, inputs.holdings.iloc[:0], inputs.cash.iloc[:0])
            fx, sec = cut.fx, cut.securities  # the data cut at t, the book attached below
            price = plain((sec["price_local"] * sec["currency"].map(fx)).astype(float))
        if prev is not None:
            clock.start("book_s")
            growth = period_growth(inputs.returns, prev["date"], t)
            row = prev["row"]
            daily = {s: nav_path(states[s], growth) for s in names}
            daily["benchmark"] = bench_level * benchmark_growth(prev["ctx"].benchmark, growth)
            nav_parts.append(pd.DataFrame(daily))
            for s in names:
                states[s], flows = mark_to_market(states[s], growth.iloc[-1], price, fx, t, base)
                row[f"{s}_nav_end"] = states[s].nav_base
                if s == "engine":
                    row["income_base"] = flows["income_base"]
                    row["delisted"] = ",".join(flows["delisted"])
            row["benchmark_return"] = float(daily["benchmark"].iloc[-1] / bench_level - 1.0)
            bench_level = float(daily["benchmark"].iloc[-1])
            clock.stop("book_s")
            with clock("ic_s"):
                observed = inputs.returns.loc[growth.index].notna().any()
                row.update(realised_ic(prev["ctx"], growth.iloc[-1] - 1.0, observed))
            periods.append(row)
            if progress is not None:
                progress(progress_line(periods))
        last = k == len(dates) - 1
        if last and not spec.final_rebalance:
            break

        with clock("data_s"):
            config = inputs.config.model_copy(
                update={"fund": inputs.config.fund.model_copy(update={"as_of": t.date()})}
            )
            state = states["engine"]
            data = inputs.with_book(cut, state.holdings_frame(), state.cash_frame())
        with clock("rebalance_s"):
            rec = StageRecorder(config, inputs.base_dir, markets=markets)
            result = _solve(rec, data, t, events, "engine")
        clock.add_cpu("engine_", rec.cpu_)
        if rec.alpha_ is None:  # the stages did not run: nothing to record
            raise InputError(f"backtest at {t.date()}", "the alpha stage did not run")
        ctx = _context(rec, data, config, markets, result)
        row = {"date": t, "next_date": None if last else dates[k + 1], "engine_nav": state.nav_base}
        row.update(engine_row(result, ctx, state))
        if result is not None:
            _record_relaxed(result, t, events, "engine")
            for key in ("book_s", "risk_s", "alpha_s", "build_s", "solve_s", "trades_s"):
                timings[f"engine_{key}"] = timings.get(f"engine_{key}", 0.0) + float(
                    result.timings.get(key, 0.0)
                )
            with clock("book_s"):
                states["engine"] = apply_trades(
                    state, result.trades.holdings["shares_after"], ctx.price_base,
                    row["engine_cost_base"], base,
                )  # fmt: skip
            trades.append(result.trades.trades.assign(date=t))
        holdings.append(holdings_rows(states["engine"], ctx, t))
        if spec.comparators and not last:
            with clock("comparators_s"):
                _run_comparators(states, ctx, inputs, data, rec, row, events, t, base, clock)
        prev = {"date": t, "ctx": ctx, "row": row}

    nav = pd.concat(nav_parts) if nav_parts else pd.DataFrame()
    start_row = pd.DataFrame({s: [capital] for s in [*names, "benchmark"]}, index=[dates[0]])
    nav = pd.concat([start_row, nav])
    nav.index.name = "date"
    notes = list(inputs.notes) + [n for s in names for n in states[s].notes]
    return BacktestRun(
        dates=dates,
        periods=pd.DataFrame(periods),
        nav=nav,
        holdings=pd.concat(holdings, ignore_index=True) if holdings else pd.DataFrame(),
        trades=pd.concat(trades, ignore_index=True) if trades else pd.DataFrame(),
        events=events,
        timings=timings,
        base_currency=base,
        planted_ic=inputs.planted_ic,
        notes=notes,
        cpu_timings=dict(clock.cpu),
    )


def _run_comparators(states, ctx, inputs, data, rec, row, events, t, base, clock) -> None:
    """Top quintile of the score and the constraints-light engine, booked with costs."""
    with clock("comparators_top_quintile_s"):
        _top_quintile(states, ctx, row, base)
    with clock("comparators_light_s"):
        light = _light(states, ctx, inputs, data, rec, row, events, t, base)
    clock.add_cpu("light_", light.cpu_)


def _top_quintile(states, ctx, row, base) -> None:
    from portfolio.backtest.comparators import cash_floor

    state = states["top_quintile"]
    eligible = ~ctx.frozen & ctx.alpha.score.reindex(ctx.securities.index).notna()
    target = top_quintile_weights(ctx.alpha.score, eligible, 1.0 - cash_floor(ctx.config))
    tl = comparator_trades(ctx, state, target)
    row["top_quintile_nav"] = state.nav_base
    row["top_quintile_turnover"] = tl.turnover
    row["top_quintile_cost_base"] = tl.est_cost_base
    states["top_quintile"] = apply_trades(
        state, tl.holdings["shares_after"], ctx.price_base, tl.est_cost_base, base
    )


def _light(states, ctx, inputs, data, rec, row, events, t, base) -> StageRecorder:
    state = states["light"]
    light = StageRecorder(
        light_config(ctx.config), inputs.base_dir, rec.risk_, rec.alpha_, rec.markets, rec.terms_
    )
    ldata = inputs.with_book(data, state.holdings_frame(), state.cash_frame())
    result = _solve(light, ldata, t, events, "light")
    row["light_nav"] = state.nav_base
    if result is None:
        row.update(light_turnover=0.0, light_cost_base=0.0, light_ex_ante_te=np.nan)
        return light
    _record_relaxed(result, t, events, "light")
    cost = float(result.trades.trades["est_cost_base"].sum())
    a = result.trades.weights_after - ctx.benchmark
    row.update(
        light_turnover=result.trades.turnover,
        light_cost_base=cost,
        light_ex_ante_te=ctx.risk_model.volatility(a.reindex(ctx.risk_model.asset_ids).fillna(0)),
    )
    states["light"] = apply_trades(
        state, result.trades.holdings["shares_after"], ctx.price_base, cost, base
    )
    return light
