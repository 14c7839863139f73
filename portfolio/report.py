"""The files of a run folder and the short terminal summary of a rebalance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from portfolio.inputs import file_sha256
from portfolio.outputs import dumps_json, package_versions
from portfolio.rebalance import RebalanceResult

__all__ = ["run_folder_files", "terminal_summary", "manifest"]


def _csv(frame: pd.DataFrame, index: bool = False) -> str:
    return frame.to_csv(index=index, lineterminator="\n")


def manifest(result_config, sources, status: dict, timings: dict, extra: dict | None = None) -> dict:
    """What was used: config, input file hashes, package and solver versions, status, timings."""
    return {
        "config": result_config.model_dump(mode="json"),
        "inputs": {k: {"file": Path(p).name, "sha256": file_sha256(Path(p))} for k, p in sources.items()},
        "versions": package_versions(),
        "status": status,
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        **(extra or {}),
    }


def run_folder_files(result: RebalanceResult, extra_manifest: dict | None = None) -> dict[str, str]:
    """``trades.csv``, ``target_holdings.csv``, ``summary.json``, ``manifest.json`` as text."""
    holdings = result.trades.holdings.copy()
    holdings["benchmark_weight"] = result.book.benchmark
    holdings["active_weight"] = holdings["weight_after"] - holdings["benchmark_weight"]
    holdings["alpha"] = result.alpha.alpha
    keep = (holdings["shares_after"] > 0) | (holdings["shares_before"] > 0)
    holdings = holdings[keep].sort_index()
    holdings.index.name = "asset_id"
    summary = result.summary()
    status = {
        "optimizer": result.optimization.status,
        "solver": result.optimization.solver,
        "constraint_breaches_after_rounding": len(result.breaches),
    }
    return {
        "trades.csv": _csv(result.trades.trades),
        "target_holdings.csv": _csv(holdings, index=True),
        "summary.json": dumps_json(summary),
        "manifest.json": dumps_json(
            manifest(result.config, result.data.sources, status, result.timings, extra_manifest)
        ),
    }


def _pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f}%"


def terminal_summary(result: RebalanceResult) -> str:
    """A short readable summary for the terminal."""
    s = result.summary()
    before, opt, after = (s["portfolio"][k] for k in ("before", "optimal", "after_rounding"))
    tr = s["trades"]
    lines = [
        f"{s['fund']} rebalance as of {s['as_of']}  NAV {s['base_currency']} {s['nav_base']:,.0f}",
        f"  universe {s['universe_size']} names, {len(s['frozen_assets'])} frozen (halted / no liquidity)",
        f"  {'':18}{'before':>10}{'optimal':>10}{'after lots':>12}",
        f"  {'alpha (ann.)':18}{_pct(before['alpha']):>10}{_pct(opt['alpha']):>10}{_pct(after['alpha']):>12}",
        f"  {'tracking error':18}{_pct(before['ex_ante_te']):>10}{_pct(opt['ex_ante_te']):>10}"
        f"{_pct(after['ex_ante_te']):>12}",
        f"  {'names held':18}{before['names_held']:>10}{opt['names_held']:>10}{after['names_held']:>12}",
        f"  {'cash':18}{_pct(before['cash_weight']):>10}{_pct(opt['cash_weight']):>10}"
        f"{_pct(after['cash_weight']):>12}",
    ]
    china = s["china_exposure"]
    for name, vals in china.items():
        lines.append(
            f"  {('China: ' + name)[:40]:40} before {_pct(vals['before'])}, after {_pct(vals['after'])},"
            f" benchmark {_pct(vals['benchmark'])}"
        )
    lines += [
        f"  turnover (one-way) {_pct(s['turnover']['after_rounding'])};"
        f" {tr['count']} trades ({tr['buys']} buys, {tr['sells']} sells),"
        f" gross {s['base_currency']} {tr['gross_notional_base']:,.0f},"
        f" est. cost {s['base_currency']} {tr['est_cost_base']:,.0f} ({tr['est_cost_bps_nav']:.1f} bp of NAV)",
    ]
    if tr["filtered_below_min_trade"]:
        lines.append(f"  {len(tr['filtered_below_min_trade'])} trades below the minimum trade value not sent")
    binding = s["optimizer"].get("binding", [])
    if binding:
        names = ", ".join(str(b.get("name")) for b in binding[:6])
        more = f" and {len(binding) - 6} more" if len(binding) > 6 else ""
        lines.append(f"  binding constraints: {names}{more}")
    if result.breaches:
        lines.append(f"  WARNING: {len(result.breaches)} constraint breaches after board-lot rounding:")
        for b in result.breaches[:8]:
            lines.append(f"    - {b.get('name')}: {b.get('message', b.get('violation'))}")
    else:
        lines.append("  all constraints hold on the rounded portfolio")
    return "\n".join(lines)
