"""The rebalance report: ``report.html`` of a rebalance run folder.

Built from ``summary = result.summary()`` (the same numbers as ``summary.json``) and the
:class:`~portfolio.rebalance.RebalanceResult` for what the summary does not hold: the
configured limits (from the constraint objects), the trade list by market and currency,
and the benchmark's own statistics. Sections, top to bottom:

1. warnings and any breach after rounding (red), then the header: fund, date, NAV,
   solver and its certificate;
2. before / optimal / after rounding / benchmark;
3. sector and country active weights against their limits;
4. China exposure under every definition, against its cap and the benchmark;
5. risk decomposition (factor groups, specific, top contributors);
6. binding constraints and their price;
7. trades by market and currency (buys, sells, notional, cost, % of ADV);
8. cash by currency, FX trades and the ETF's creation / redemption baskets
   (:mod:`portfolio.report.settlement_html`);
9. alpha diagnostics (coverage, factor correlations, IC history, blend weights).

Key numbers carry ``data-key`` = their path in ``summary.json``.
"""

from __future__ import annotations

import math

from constraints import AttributeBounds, GroupBounds
from portfolio.report import svg
from portfolio.report.html import (
    Raw,
    alert,
    esc,
    figure,
    fmt_pct,
    key,
    kv,
    page,
    section,
    table,
)
from portfolio.report.rebalance_detail import (
    alpha_section,
    binding_section,
    risk_section,
    trades_section,
)
from portfolio.report.settlement_html import settlement_section

__all__ = ["rebalance_report_html", "CHINA_DEFINITIONS"]

# The China definitions of portfolio.exposures.china_exposures and the constraint that
# caps each: ("group", column, values) for a group bound, ("attribute", column) otherwise.
CHINA_DEFINITIONS = {
    "country_of_risk in {CN}": ("group", "country_of_risk", frozenset({"CN"})),
    "listing country in {CN, HK}": ("group", "country", frozenset({"CN", "HK"})),
    "revenue look-through (china_revenue_share)": ("attribute", "china_revenue_share", None),
}
_LABELS = {"before": "before", "optimal": "optimal", "after_rounding": "after rounding"}


_PCT_UNITS = ("weight", "TE", "volatility", "cash weight")


def _in_unit(v: float, unit: str) -> str:
    """A violation in its constraint's unit: weights as percent (enough decimals to show a
    tiny one), ADV fractions as % of ADV, anything else as a number and the unit."""
    head = next((u for u in _PCT_UNITS if unit == u or unit.startswith(u + " ")), None)
    if head is not None:
        p = abs(100 * v)
        digits = 2 if p >= 0.01 or p == 0 else min(8, 1 - math.floor(math.log10(p)))
        rest = unit[len(head) :].strip()
        return fmt_pct(v, digits) + (f" ({rest})" if rest else "")
    if unit == "fraction of ADV":
        return f"{fmt_pct(v)} of ADV"
    return f"{v:.4g} {unit}".strip()


def _breach_item(k: int, b: dict) -> Raw:
    """``name: outside its limit by X on n row(s): row (x), ...`` with the key number tagged."""
    unit = b.get("unit", "")
    v = b.get("violation")
    rows = sorted(b.get("rows", {}).items(), key=lambda r: -r[1])
    shown = ", ".join(f"{r} ({_in_unit(x, unit)})" for r, x in rows[:8] if r != b.get("name"))
    more = f" and {len(rows) - 8} more" if len(rows) > 8 else ""
    n = b.get("n_rows", len(rows) or 1)
    why = " (soft)" if b.get("soft") else (" (held at its relaxed limit)" if "relaxed" in b else "")
    return Raw(
        f"{esc(b.get('name'))}{esc(why)}: outside its limit by "
        f"{key(f'constraint_breaches_after_rounding.{k}.violation', v, _in_unit(v, unit))}"
        f" on {n} row{'s' if n != 1 else ''}" + (esc(f": {shown}{more}") if shown else "")
    )


def _is_hard(b: dict, s: dict) -> bool:
    """A breach that makes the run exit 5: the summary's ``hard_limits`` verdict, else a
    hard constraint not relaxed by priority."""
    if "hard_limits" in s:
        return b.get("name") in s["hard_limits"].get("breached", [])
    return not b.get("soft") and "relaxed" not in b


def _alerts(s: dict) -> list[Raw]:
    """Red for hard breaches and a non-optimal solve; amber for soft or relaxed limits over
    after rounding, and for what was changed or left out."""
    out = []
    breaches = s["constraint_breaches_after_rounding"]
    opt = s["optimizer"]
    hard = [_breach_item(k, b) for k, b in enumerate(breaches) if _is_hard(b, s)]
    other = [_breach_item(k, b) for k, b in enumerate(breaches) if not _is_hard(b, s)]
    bad: list = list(hard)
    if opt.get("status") not in ("optimal",):
        bad.append(f"optimizer status: {opt.get('status')}")
    bad += [f"{v.get('name', v)}: {v}" for v in opt.get("violations", [])]
    if bad:
        title = (
            f"{len(hard)} hard limit(s) broken after board-lot rounding and repair: "
            "the trade list is marked DO NOT SEND (DO_NOT_SEND.txt, exit code 5)"
        )
        out.append(alert(title if hard else "Solver warnings", bad, "bad"))
    if other:
        title = f"{len(other)} soft or relaxed limit(s) outside their limit after rounding"
        out.append(alert(title, other, "warn"))
    warn = [f"relaxed: {r}" for r in opt.get("relaxed", [])]
    warn += list(s.get("alpha_warnings", [])) + list(s.get("notes", []))
    tr = s["trades"]
    warn += [
        f"{f['asset_id']}: {f['shares']:,} shares ({f['notional_base']:,.0f} "
        f"{s['base_currency']}) not sent: {f['reason']}"
        for f in tr["filtered_below_min_trade"]
    ]
    warn += [
        f"{c['asset_id']}: buy cut from {c['from_shares']:,} to {c['to_shares']:,} shares: "
        f"{c['reason']}"
        for c in tr["cut_for_cash"]
    ]
    warn += [
        f"{e.get('asset_id')}: excluded from alpha: {e.get('reason')}"
        for e in s.get("excluded_from_alpha", [])
    ]
    if s["frozen_assets"]:
        warn.append(
            f"{len(s['frozen_assets'])} names frozen (halted or no traded value): "
            + ", ".join(s["frozen_assets"])
        )
    if warn:
        out.append(alert(f"{len(warn)} notes on this run", warn, "warn"))
    if not breaches:
        out.append(alert("All constraints hold on the rounded portfolio", [], "ok"))
    return out


def _header(s: dict) -> Raw:
    opt = s["optimizer"]
    ccy = s["base_currency"]
    pairs = [
        ("fund", s["fund"]),
        ("as of", key("as_of", s["as_of"], s["as_of"])),
        ("NAV", key("nav_base", s["nav_base"], f"{ccy} {s['nav_base']:,.0f}")),
        ("universe", f"{s['universe_size']:,} names, {len(s['frozen_assets'])} frozen"),
        ("solver", key("optimizer.solver", opt.get("solver"), str(opt.get("solver")))),
        ("status", key("optimizer.status", opt.get("status"), str(opt.get("status")))),
    ]
    cert = opt.get("certificate")
    if cert:
        pairs.append(
            (
                "certificate",
                key(
                    "optimizer.certificate.duality_gap",
                    cert["duality_gap"],
                    f"duality gap {abs(cert['duality_gap']):.1e} <= {cert['tolerance']:.0e}, "
                    f"largest violation {cert['max_violation']:.1e}, {cert['iterations']} steps",
                ),
            )
        )
    else:
        pairs.append(("certificate", "none (solved by a fallback solver; see manifest.json)"))
    tc = opt.get("transfer_coefficient")
    if tc is not None:
        pairs.append(
            ("transfer coefficient", key("optimizer.transfer_coefficient", tc, f"{tc:.2f}"))
        )
    return kv(pairs)


def _portfolio_table(s: dict, bench: dict) -> Raw:
    port = s["portfolio"]
    rows = []
    spec = [
        ("alpha (annualised)", "alpha", fmt_pct),
        ("ex-ante tracking error", "ex_ante_te", fmt_pct),
        ("total risk", "total_risk", fmt_pct),
        ("names held", "names_held", lambda v: f"{v:,}"),
        ("cash", "cash_weight", fmt_pct),
    ]
    for label, k, f in spec:
        cells = [key(f"portfolio.{c}.{k}", port[c][k], f(port[c][k])) for c in _LABELS]
        rows.append([label, *cells, f(bench[k])])
    to = s["turnover"]
    rows.append(
        [
            "one-way turnover",
            "",
            key("turnover.optimal", to["optimal"], fmt_pct(to["optimal"])),
            key("turnover.after_rounding", to["after_rounding"], fmt_pct(to["after_rounding"])),
            "",
        ]
    )
    tr = s["trades"]
    rows.append(
        [
            "estimated cost",
            "",
            "",
            key(
                "trades.est_cost_bps_nav",
                tr["est_cost_bps_nav"],
                f"{tr['est_cost_bps_nav']:.1f} bp of NAV",
            ),
            "",
        ]
    )
    return table(["", "before", "optimal", "after rounding", "benchmark"], rows)


def _group_limits(constraints, column: str, bench: dict[str, float]) -> dict:
    """Active-weight limits ``{group: (lo, hi)}`` on ``column`` from the group-bound constraints.

    An absolute bound ``lo <= w_g <= hi`` is shown as the active limit ``lo - b_g .. hi - b_g``.
    """
    out: dict[str, tuple] = {}
    for c in constraints:
        if not isinstance(c, GroupBounds) or c.column != column or c.groups is not None:
            continue
        for g, b in bench.items():
            pair = c.bounds.get(g, c.default)
            if pair is None:
                continue
            shift = 0.0 if c.relative_to == "benchmark" else b
            lo, hi = (None if v is None else float(v) - shift for v in pair)
            old = out.get(g, (None, None))
            out[g] = (
                lo if old[0] is None else max(old[0], lo if lo is not None else old[0]),
                hi if old[1] is None else min(old[1], hi if hi is not None else old[1]),
            )
    return out


_COLUMN_TITLES = {
    "sector": "Sector",
    "country": "Listing country",
    "country_of_risk": "Country of risk",
}


def _exposure_section(s: dict, constraints) -> Raw:
    parts: list = [
        "Active weight = portfolio weight minus benchmark weight, before and after the "
        "rebalance; red ticks are the configured limits on the active weight."
    ]
    for col, groups in s["exposures"].items():
        cats = sorted(groups)
        bench = {g: groups[g]["benchmark"] for g in cats}
        lim = _group_limits(constraints, col, bench)
        before = [groups[g]["before"] - bench[g] for g in cats]
        after = [groups[g]["after"] - bench[g] for g in cats]
        title = f"{_COLUMN_TITLES.get(col, col)} active weights"
        chart = svg.hbar_chart(
            f"chart-exposure-{col}",
            title,
            cats,
            {"before": before, "after rounding": after},
            lim,
        )
        rows, classes = [], []
        for g, b0, a1 in zip(cats, before, after, strict=True):
            lo, hi = lim.get(g, (None, None))
            out_of = (lo is not None and a1 < lo - 1e-9) or (hi is not None and a1 > hi + 1e-9)
            near = (lo is not None and a1 < lo + 1e-4) or (hi is not None and a1 > hi - 1e-4)
            classes.append("bad" if out_of else ("bind" if near else ""))
            rows.append(
                [
                    g,
                    fmt_pct(bench[g]),
                    key(
                        f"exposures.{col}.{g}.after",
                        groups[g]["after"],
                        fmt_pct(groups[g]["after"]),
                    ),
                    fmt_pct(b0),
                    fmt_pct(a1),
                    "\u2013" if lo is None else fmt_pct(lo),
                    "\u2013" if hi is None else fmt_pct(hi),
                ]
            )
        parts += [
            Raw(f"<h3>{_COLUMN_TITLES.get(col, col)}</h3>"),
            figure(chart, f"{title}: before and after rounding, with the limits."),
            table(
                [
                    col,
                    "benchmark",
                    "weight after",
                    "active before",
                    "active after",
                    "limit low",
                    "limit high",
                ],
                rows,
                row_classes=classes,
            ),
        ]
    return section("Sector and country exposure against the limits", *parts, sid="exposures")


def china_caps(constraints) -> dict[str, tuple[float | None, str]]:
    """The cap on each China definition ``{definition: (cap, constraint label)}``."""
    out: dict[str, tuple[float | None, str]] = {}
    for name, (kind, column, values) in CHINA_DEFINITIONS.items():
        for c in constraints:
            cap = None
            if kind == "group" and isinstance(c, GroupBounds) and c.column == column:
                if c.relative_to != "none":
                    continue
                if c.groups is not None:
                    for g, members in c.groups.items():
                        members = {members} if isinstance(members, str) else set(members)
                        if members == values and c.bounds.get(g, c.default):
                            cap = c.bounds.get(g, c.default)[1]
                elif len(values) == 1:
                    pair = c.bounds.get(next(iter(values)), c.default)
                    cap = pair[1] if pair else None
            elif kind == "attribute" and isinstance(c, AttributeBounds) and c.column == column:
                cap = c.max if c.relative_to == "none" else None
            if cap is not None:
                old = out.get(name)
                if old is None or old[0] is None or cap < old[0]:
                    out[name] = (float(cap), c.label)
    return out


def _china_section(s: dict, constraints) -> Raw:
    ce = s["china_exposure"]
    caps = china_caps(constraints)
    names = list(ce)
    rows = []
    for n in names:
        v = ce[n]
        cap, label = caps.get(n, (None, ""))
        over = cap is not None and v["after"] > cap + 1e-9
        rows.append(
            [
                n,
                fmt_pct(v["before"]),
                fmt_pct(v["optimal"]),
                key(f"china_exposure.{n}.after", v["after"], fmt_pct(v["after"])),
                fmt_pct(v["benchmark"]),
                "none" if cap is None else f"{fmt_pct(cap)} ({label})",
                "over the cap"
                if over
                else ("at the cap" if cap and v["after"] > cap - 1e-4 else ""),
            ]
        )
    chart = svg.vbar_chart(
        "chart-china",
        "China exposure by definition",
        [n.split(" (")[0] for n in names],
        {k: [ce[n][k] for n in names] for k in ("before", "after", "benchmark")},
        {n.split(" (")[0]: caps[n][0] for n in names if n in caps},
    )
    return section(
        "China exposure",
        "The same portfolio measured under each definition the data allows; the cap is the "
        "configured constraint on that definition (red line), if any.",
        figure(chart, "China exposure before, after rounding and in the benchmark, with caps."),
        table(
            ["definition", "before", "optimal", "after rounding", "benchmark", "cap", ""],
            rows,
            row_classes=["bad" if r[-1] == "over the cap" else "" for r in rows],
            text_cols=(5, 6),
        ),
        sid="china",
    )


def _benchmark_stats(result) -> dict:
    b = result.book.benchmark
    rm = result.risk_model
    return {
        "alpha": float(result.alpha.alpha.reindex(b.index).fillna(0.0) @ b),
        "ex_ante_te": 0.0,
        "total_risk": rm.volatility(b.reindex(rm.asset_ids).fillna(0.0)),
        "names_held": int((b > 1e-6).sum()),
        "cash_weight": float(1.0 - b.sum()),
    }


def rebalance_report_html(result, summary: dict, per_market=None) -> str:
    """The self-contained HTML report of one rebalance (see the module docstring).

    ``per_market`` is :func:`portfolio.report.trade_tables.by_market` of the trade list
    (computed here when not given).
    """
    from portfolio.rebalance import Rebalancer

    s = summary
    constraints = Rebalancer(result.config).constraints()
    parts = [
        *_alerts(s),
        _header(s),
        section(
            "Portfolio: before, optimal, after rounding, benchmark",
            _portfolio_table(s, _benchmark_stats(result)),
            sid="portfolio",
        ),
        _exposure_section(s, constraints),
        _china_section(s, constraints),
        risk_section(s, result),
        binding_section(s),
        trades_section(s, result, per_market),
        settlement_section(s, result),
        alpha_section(s),
    ]
    parts = [p for p in parts if p is not None]
    ccy = s["base_currency"]
    subtitle = (
        f"Rebalance as of {s['as_of']} \u00b7 NAV {ccy} {s['nav_base']:,.0f} \u00b7 "
        f"{s['trades']['count']} trades \u00b7 solver {s['optimizer'].get('solver')}"
    )
    return page(
        f"{s['fund']}: rebalance {s['as_of']}",
        subtitle,
        parts,
        footer="Written by active-etf. Numbers as in summary.json; trades in trades.csv / "
        "trades.xlsx; per-asset risk in risk_by_asset.csv.",
    )
