"""The files of a rebalance run folder and the short terminal summary.

Money columns of ``trades.csv`` are written rounded to their currency's minor unit
(``notional_local`` in the trade currency, ``notional_base`` and ``est_cost_base`` in the
base currency; see :mod:`portfolio.report.money`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from portfolio.inputs import file_sha256
from portfolio.outputs import dumps_json, package_versions
from portfolio.rebalance import RebalanceResult
from portfolio.report.money import format_money, minor_units

__all__ = ["run_folder_files", "terminal_summary", "manifest"]


def _csv(frame: pd.DataFrame, index: bool = False) -> str:
    return frame.to_csv(index=index, lineterminator="\n")


def manifest(
    result_config, sources, status: dict, timings: dict, extra: dict | None = None
) -> dict:
    """What was used: config, input file hashes, package and solver versions, status, timings."""
    return {
        "config": result_config.model_dump(mode="json"),
        "inputs": {
            k: {"file": Path(p).name, "sha256": file_sha256(Path(p))} for k, p in sources.items()
        },
        "versions": package_versions(),
        "status": status,
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        **(extra or {}),
    }


def trades_csv(trades: pd.DataFrame, base_currency: str) -> str:
    """``trades.csv`` text with money rounded to each currency's minor unit."""
    t = trades.copy()
    t["notional_local"] = format_money(t["notional_local"], minor_units(t["currency"]))
    base = minor_units([base_currency])[0]
    for c in ("notional_base", "est_cost_base"):
        t[c] = format_money(t[c], base)
    return _csv(t)


def run_folder_files(
    result: RebalanceResult,
    summary: dict,
    extra_manifest: dict | None = None,
    report: bool = True,
) -> dict[str, str | bytes]:
    """The files of a rebalance run folder, as text or bytes.

    ``trades.csv``, ``trades.xlsx``, ``target_holdings.csv``, ``risk_by_asset.csv``,
    ``summary.json`` (the given ``result.summary()``), ``summary.txt`` (the terminal
    summary), ``manifest.json``, the settlement files of :func:`portfolio.rounding.send_files`
    (``fx_trades.csv``, ``cash_by_currency.csv``, ETF baskets, ``DO_NOT_SEND.txt``) and,
    unless ``report`` is false, ``report.html``.
    """
    from portfolio.markets import load_market_table
    from portfolio.report.trade_tables import by_market, market_names
    from portfolio.report.xlsx import trades_xlsx

    holdings = result.trades.holdings.copy()
    holdings["benchmark_weight"] = result.book.benchmark
    holdings["active_weight"] = holdings["weight_after"] - holdings["benchmark_weight"]
    holdings["alpha"] = result.alpha.alpha
    keep = (holdings["shares_after"] > 0) | (holdings["shares_before"] > 0)
    holdings = holdings[keep].sort_index()
    holdings.index.name = "asset_id"
    status = {
        "optimizer": result.optimization.status,
        "solver": result.optimization.solver,
        "constraint_breaches_after_rounding": len(result.breaches),
        "hard_limits": "breached" if result.hard_breaches else "ok",
    }
    trades = result.trades.trades
    markets = market_names(
        result.data.securities, load_market_table(result.config.markets), trades["asset_id"]
    )
    per_market = by_market(trades, markets)
    files: dict[str, str | bytes] = {
        "trades.csv": trades_csv(trades, summary["base_currency"]),
        "trades.xlsx": trades_xlsx(trades, summary, per_market, result.trades.fx),
        "target_holdings.csv": _csv(holdings, index=True),
        "risk_by_asset.csv": _csv(result.risk_by_asset(), index=True),
        "summary.json": dumps_json(summary),
        "summary.txt": terminal_summary(summary) + "\n",
        "manifest.json": dumps_json(
            manifest(result.config, result.data.sources, status, result.timings, extra_manifest)
        ),
    }
    from portfolio.rounding import send_files

    files.update(send_files(result))
    if report:
        from portfolio.report.rebalance_html import rebalance_report_html

        files["report.html"] = rebalance_report_html(result, summary, per_market)
    return files


def _pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f}%"


def _cash_lines(s: dict) -> list[str]:
    """Cash before / after trades / after costs, FX trades and the lot repair."""
    c, ccy = s.get("cash"), s["base_currency"]
    if not c:
        return []
    out = [
        f"  cash {ccy}: before {c['before_base']:,.0f}, after trades {c['after_trades_base']:,.0f},"
        f" after costs {c['after_costs_base']:,.0f} ({_pct(c['after_costs_weight'])});"
        f" {s['fx_trades']['count']} FX trades, FX cost {c['fx_cost_base']:,.0f}",
    ]
    gap = s["optimizer"].get("integer_gap")
    if gap:
        out.append(
            f"  cardinality: {s['optimizer'].get('integer_method')}; gap to the continuous"
            f" relaxation {_pct(gap['gap'], 3)}"
        )
    rep = s.get("repair") or {}
    if rep.get("n_moves"):
        out.append(
            f"  lot repair: {rep['n_moves']} moves, utility lost"
            f" {1e4 * rep['utility_lost']:.2f} bp ({rep['stopped']})"
        )
    return out


def terminal_summary(s: dict) -> str:
    """A short readable summary for the terminal from ``s = result.summary()``."""
    cols = [s["portfolio"][k] for k in ("before", "optimal", "after_rounding")]
    tr = s["trades"]
    ccy = s["base_currency"]

    def row(label: str, key: str, fmt) -> str:
        return f"  {label:18}" + "".join(f"{fmt(c[key]):>12}" for c in cols)

    lines = [
        f"{s['fund']} rebalance as of {s['as_of']}  NAV {ccy} {s['nav_base']:,.0f}",
        f"  universe {s['universe_size']} names,"
        f" {len(s['frozen_assets'])} frozen (halted / no traded value)",
        f"  {'':18}{'before':>12}{'optimal':>12}{'after lots':>12}",
        row("alpha (ann.)", "alpha", _pct),
        row("tracking error", "ex_ante_te", _pct),
        row("names held", "names_held", str),
        row("cash", "cash_weight", _pct),
        f"  {'China exposure':46}{'before':>8}{'after':>9}{'benchmark':>11}",
    ]
    for name, v in s["china_exposure"].items():
        lines.append(
            f"    {name:44}{_pct(v['before']):>8}{_pct(v['after']):>9}{_pct(v['benchmark']):>11}"
        )
    lines += [
        f"  turnover: buys {_pct(s['turnover'].get('buys', float('nan')))},"
        f" sells {_pct(s['turnover'].get('sells', float('nan')))},"
        f" one-way (buys + sells) / 2 {_pct(s['turnover']['after_rounding'])}",
        f"  {tr['count']} trades ({tr['buys']} buys, {tr['sells']} sells),"
        f" gross {ccy} {tr['gross_notional_base']:,.0f}",
        f"  estimated cost {ccy} {tr['est_cost_base']:,.0f}"
        f" ({tr['est_cost_bps_nav']:.1f} bp of NAV)",
    ]
    lines += _cash_lines(s)
    if tr["filtered_below_min_trade"]:
        lines.append(
            f"  {len(tr['filtered_below_min_trade'])} trades below the minimum trade value not sent"
        )
    if tr["cut_for_cash"]:
        lines.append(
            f"  {len(tr['cut_for_cash'])} buys cut after rounding to stay above the cash floor"
        )
    tc = s["optimizer"].get("transfer_coefficient")
    if tc is not None:
        cert = s["optimizer"].get("certificate")
        state = s["optimizer"].get("status")
        if cert:
            gap, tol = abs(cert["duality_gap"]), cert["tolerance"]
            state += f", certified: duality gap {gap:.0e} <= {tol:.0e}"
        lines.append(
            f"  ex-ante transfer coefficient {tc:.2f}; solver {s['optimizer'].get('solver')}"
            f" ({state})"
        )
    for r in s["optimizer"].get("residuals", [])[:4]:
        lines.append(
            f"  solver residual: {r['name']} exceeded by {r['violation']:.1e} {r['unit']}"
            " before rounding (above 1e-9; the fallback solver's tolerance)"
        )
    binding = s["optimizer"].get("binding", [])
    if binding:
        names = ", ".join(
            f"{b.get('name')} ({b.get('alpha_cost_bp', 0):.1f} bp)" for b in binding[:6]
        )
        more = f" and {len(binding) - 6} more" if len(binding) > 6 else ""
        lines.append(f"  binding (bp of utility per 1 % relaxation): {names}{more}")
    breaches = s["constraint_breaches_after_rounding"]
    if breaches:
        lines.append(f"  WARNING: {len(breaches)} constraint breaches after board-lot rounding:")
        for b in breaches[:8]:
            lines.append(f"    - {b.get('name')}: {b.get('violation'):.3g} {b.get('unit', '')}")
    else:
        lines.append("  all constraints hold on the rounded portfolio")
    return "\n".join(lines)
