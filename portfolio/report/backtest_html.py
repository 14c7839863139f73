"""The backtest tearsheet: ``report.html`` of a backtest run folder.

Built from the tables and statistics the backtest writes (``nav``, ``periods`` and the
``backtest.json`` content; see :mod:`portfolio.backtest.outputs` for the columns):

- cumulative active return of the engine and each comparator: ``NAV_s(d) / B(d) - 1``,
  daily, ``B`` the benchmark scaled to the same starting capital;
- drawdown of active NAV: ``A(d) / max_{u <= d} A(u) - 1`` with ``A = NAV_s / B``;
- rolling 12-month realised TE against the ex-ante TE at each rebalance (annualised);
- one-way turnover and cost (bp of NAV) at each rebalance;
- realised IC (Pearson and rank, residual returns) at each rebalance, with its mean;
- the fundamental law ``IR = TC * IC_m * sqrt(12 N)`` against the realised gross IR.

Key numbers carry ``data-key`` = their path in ``backtest.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.report import svg
from portfolio.report.html import (
    Raw,
    alert,
    figure,
    fmt_num,
    fmt_pct,
    key,
    kv,
    page,
    section,
    table,
)

__all__ = ["backtest_report_html", "COMPARATORS"]

COMPARATORS = {"engine": "engine", "top_quintile": "top quintile", "light": "constraints-light"}


def _dates(col: pd.Series) -> list[str]:
    return [str(d)[:10] for d in col]


def _alerts(stats: dict, periods: pd.DataFrame) -> list[Raw]:
    out = []
    breached = periods[periods.get("breaches", pd.Series(0, index=periods.index)) > 0]
    if len(breached):
        out.append(
            alert(
                f"{len(breached)} rebalance(s) with a constraint breach after rounding",
                [
                    f"{str(d)[:10]}: {int(n)} breach(es)"
                    for d, n in zip(breached["date"], breached["breaches"], strict=True)
                ],
                "bad",
            )
        )
    relaxed = [e for e in stats.get("events", []) if e.get("status") == "relaxed"]
    if relaxed:
        items = [f"{e.get('date')} ({e.get('strategy')}): {e.get('message')}" for e in relaxed]
        out.append(alert(f"{len(relaxed)} rebalance(s) with limits relaxed by priority",
                         items, "warn"))  # fmt: skip
    events = [e for e in stats.get("events", []) if e.get("status") != "relaxed"]
    if events:
        items = []
        for e in events:
            names = [c.get("name", "") for c in (e.get("diagnosis") or {}).get("conflict", [])]
            why = "; ".join(names) or (e.get("diagnosis") or {}).get("message", "")
            items.append(f"{e.get('date')}: book kept unchanged ({why})")
        out.append(alert(f"{len(events)} month(s) infeasible or unsolved", items, "warn"))
    if stats.get("notes"):
        out.append(alert("Notes", [str(n) for n in stats["notes"]], "warn"))
    return out


def _headline(s: dict) -> Raw:
    ir, te = s["information_ratio"], s["tracking_error"]
    rows = [
        [
            "engine",
            key("active_return.net", s["active_return"]["net"], fmt_pct(s["active_return"]["net"])),
            key(
                "active_return.gross",
                s["active_return"]["gross"],
                fmt_pct(s["active_return"]["gross"]),
            ),
            key("tracking_error.realised", te["realised"], fmt_pct(te["realised"])),
            key("information_ratio.net", ir["net"], fmt_num(ir["net"])),
            fmt_num(ir["net_se"]),
            key("turnover.annual", s["turnover"]["annual"], fmt_pct(s["turnover"]["annual"], 0)),
            key("costs.annual_bp", s["costs"]["annual_bp"], fmt_num(s["costs"]["annual_bp"], 0)),
            key("max_drawdown_active", s["max_drawdown_active"], fmt_pct(s["max_drawdown_active"])),
        ]
    ]
    for name, c in s.get("comparators", {}).items():
        p = f"comparators.{name}"
        rows.append(
            [
                COMPARATORS.get(name, name),
                key(
                    f"{p}.active_return_net",
                    c["active_return_net"],
                    fmt_pct(c["active_return_net"]),
                ),
                "",
                fmt_pct(c["tracking_error"]),
                key(f"{p}.ir_net", c["ir_net"], fmt_num(c["ir_net"])),
                fmt_num(c["ir_net_se"]),
                fmt_pct(c["turnover_annual"], 0),
                fmt_num(c["costs_annual_bp"], 0),
                fmt_pct(c["max_drawdown_active"]),
            ]
        )
    return table(
        [
            "",
            "active return net (/y)",
            "gross (/y)",
            "realised TE",
            "IR net",
            "\u00b1 se",
            "turnover (/y)",
            "costs (bp/y)",
            "max active drawdown",
        ],
        rows,
    )


def _fundamental_law(s: dict) -> Raw:
    law = s["fundamental_law"]
    rows = []
    for label, k in (("measured IC", "measured_ic"), ("planted IC", "planted_ic")):
        d = law.get(k)
        if not d:
            continue
        rows.append(
            [
                label,
                fmt_num(d["ic_monthly"], 3),
                fmt_num(s["transfer_coefficient_mean"]),
                fmt_num(s["breadth_mean"], 0),
                key(
                    f"fundamental_law.{k}.ir_predicted",
                    d["ir_predicted"],
                    fmt_num(d["ir_predicted"]),
                ),
                key(
                    f"fundamental_law.{k}.ir_realised_gross",
                    d["ir_realised_gross"],
                    fmt_num(d["ir_realised_gross"]),
                ),
                fmt_num(s["information_ratio"]["gross_se"]),
                fmt_num(d["realised_over_predicted"]),
                fmt_num(d.get("ir_predicted_generalised")),
                fmt_num(d.get("realised_over_predicted_generalised")),
            ]
        )
    parts: list = [
        f"{law['formula']}. The realised gross IR has a standard error of about "
        f"{fmt_num(s['information_ratio']['gross_se'])} over {s['years']:.1f} years "
        f"({s['information_ratio']['se_formula']}).",
    ]
    if rows:
        parts.append(
            table(
                [
                    "IC used",
                    "IC (monthly)",
                    "TC (mean)",
                    "breadth N",
                    "IR predicted",
                    "IR realised (gross)",
                    "\u00b1 se",
                    "realised / predicted",
                    "IR predicted x q",
                    "realised / (predicted x q)",
                ],
                rows,
            )
        )
        q = s.get("breadth_ratio_mean")
        if q is not None:
            parts.append(
                f"q = {fmt_num(q)}: {law['generalised_formula']}. Even a perfectly realised "
                "optimal portfolio reaches only q times the first prediction."
            )
        within = [
            r[0]
            for r, k in zip(rows, ("measured_ic", "planted_ic"), strict=False)
            if law.get(k)
            and abs(law[k]["ir_realised_gross"] - law[k]["ir_predicted"])
            <= 2 * s["information_ratio"]["gross_se"]
        ]
        parts.append(
            "Realised within two standard errors of the prediction for: "
            + (", ".join(within) if within else "none")
            + "."
        )
    else:
        parts.append("No IC measured: the law cannot be checked.")
    return section("Fundamental law of active management", *parts, sid="law")


def _nav_charts(nav: pd.DataFrame) -> list[Raw]:
    names = [c for c in COMPARATORS if c in nav]
    dates = _dates(nav["date"])
    bench = nav["benchmark"].to_numpy(dtype=float)
    ratio = {COMPARATORS[c]: nav[c].to_numpy(dtype=float) / bench for c in names}
    cum = {n: r - 1.0 for n, r in ratio.items()}
    dd = {n: r / np.fmax.accumulate(r) - 1.0 for n, r in ratio.items()}
    x = list(range(len(dates)))
    return [
        figure(
            svg.line_chart(
                "chart-bt-active",
                "Cumulative active return against the benchmark",
                x,
                cum,
                x_labels=dates,
                height=300,
            ),
            "NAV over the benchmark (same starting capital) minus one, daily, net of costs.",
        ),
        figure(
            svg.line_chart("chart-bt-drawdown", "Drawdown of active NAV", x, dd, x_labels=dates),
            "Active NAV (engine / benchmark) against its running peak.",
        ),
    ]


def _period_charts(p: pd.DataFrame, s: dict) -> list[Raw]:
    dates = _dates(p["date"])
    x = list(range(len(dates)))
    te = svg.line_chart(
        "chart-bt-te",
        "Tracking error: rolling 12-month realised against ex-ante",
        x,
        {
            "realised (rolling 12m)": p["rolling_realised_te_12m"].to_numpy(dtype=float),
            "ex-ante (after rounding)": p["ex_ante_te"].to_numpy(dtype=float),
        },
        x_labels=dates,
        markers=True,
    )
    turnover = svg.vbar_chart(
        "chart-bt-turnover",
        "One-way turnover per rebalance",
        dates,
        {"turnover": p["turnover"].to_numpy(dtype=float)},
        height=240,
    )
    cost = svg.vbar_chart(
        "chart-bt-cost",
        "Trading cost per rebalance (bp of NAV)",
        dates,
        {"cost (bp)": p["cost_bp"].to_numpy(dtype=float)},
        fmt=svg.num(1),
        height=240,
    )
    ic_mean = s["ic"]["pearson"]["mean"]
    ic = svg.line_chart(
        "chart-bt-ic",
        "Realised IC at each rebalance",
        x,
        {
            "IC (Pearson)": p["ic_pearson"].to_numpy(dtype=float),
            "IC (rank)": p["ic_rank"].to_numpy(dtype=float),
        },
        fmt=svg.num(2),
        x_labels=dates,
        markers=True,
        hlines={f"mean {ic_mean:.3f}": ic_mean} if ic_mean is not None else None,
    )
    return [
        figure(
            te,
            "Realised: std of monthly active returns over the last 12 months (drawn from 6 on)"
            " x sqrt(12)"
            "; ex-ante: the risk model's TE of the rounded portfolio.",
        ),
        figure(turnover, "Engine one-way turnover at each rebalance."),
        figure(cost, "Estimated trading cost paid at each rebalance, bp of NAV."),
        figure(ic, "Correlation of the score with next month's residual return."),
    ]


def _period_table(p: pd.DataFrame) -> Raw:
    breaches = p["breaches"] if "breaches" in p else pd.Series(0, index=p.index)
    rows = [
        [
            str(r.date)[:10],
            r.status,
            fmt_pct(r.active_return),
            fmt_pct(r.ex_ante_te),
            fmt_pct(r.turnover, 1),
            fmt_num(r.cost_bp, 1),
            fmt_num(r.ic_pearson, 3),
            f"{int(r.n_trades)}",
            f"{int(r.n_holdings)}",
            f"{int(b)}" if pd.notna(b) else "\u2013",
        ]
        for r, b in zip(p.itertuples(), breaches, strict=True)
    ]
    return table(
        [
            "date",
            "status",
            "active (net)",
            "ex-ante TE",
            "turnover",
            "cost (bp)",
            "IC",
            "trades",
            "holdings",
            "breaches after rounding",
        ],
        rows,
        numeric_from=2,
        row_classes=[
            "bad" if b > 0 else ("bind" if r[1] != "ok" else "")
            for r, b in zip(rows, breaches.fillna(0), strict=True)
        ],
    )


def backtest_report_html(tables: dict[str, pd.DataFrame], stats: dict, title: str = "") -> str:
    """The self-contained tearsheet from ``tables`` (``nav``, ``periods``) and ``stats``."""
    nav, p, s = tables["nav"], tables["periods"], stats
    ir = s["information_ratio"]
    facts = kv(
        [
            ("period", f"{s['start']} to {s['end']} ({s['years']:.1f} years)"),
            ("rebalances", key("periods", s["periods"], f"{s['periods']}")),
            (
                "months unchanged",
                key("months_unchanged", s["months_unchanged"], f"{s['months_unchanged']}"),
            ),
            ("IR net", f"{fmt_num(ir['net'])} \u00b1 {fmt_num(ir['net_se'])}"),
            (
                "TE realised / ex-ante",
                f"{fmt_pct(s['tracking_error']['realised'])} / "
                f"{fmt_pct(s['tracking_error']['ex_ante_mean'])} (bias "
                f"statistic {fmt_num(s['tracking_error']['bias_statistic'])})",
            ),
            (
                "IC (Pearson, t)",
                f"{fmt_num(s['ic']['pearson']['mean'], 3)} "
                f"({fmt_num(s['ic']['pearson']['t_stat'], 1)})",
            ),
            (
                "transfer coefficient",
                key(
                    "transfer_coefficient_mean",
                    s["transfer_coefficient_mean"],
                    fmt_num(s["transfer_coefficient_mean"]),
                ),
            ),
            ("base currency", s.get("base_currency", "")),
        ]
    )
    parts = [
        *_alerts(s, p),
        facts,
        section("Engine and comparators", _headline(s), *_nav_charts(nav), sid="returns"),
        section("Risk, turnover, cost and IC by rebalance", *_period_charts(p, s), sid="periods"),
        _fundamental_law(s),
        section("Every rebalance", _period_table(p), sid="table"),
    ]
    return page(
        title or f"Backtest {s['start']} to {s['end']}",
        "Walk-forward backtest of the production rebalance; comparators: "
        + ", ".join(COMPARATORS[c] for c in COMPARATORS if c in nav),
        parts,
        footer="Written by active-etf. Numbers as in backtest.json; series in nav.csv and "
        "periods.csv.",
    )
