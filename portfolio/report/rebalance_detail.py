"""Rebalance report sections: risk decomposition, binding constraints, trades, alpha.

Each function returns one ``<section>`` from ``s = result.summary()`` (and the result
where the summary does not hold the data). Units: weights and risk are fractions of NAV
(shown as percent), money in the base currency, prices of constraints in bp of utility
per 1 % relaxation.
"""

from __future__ import annotations

import numpy as np

from portfolio.report import svg
from portfolio.report.html import Raw, figure, fmt_money, fmt_num, fmt_pct, key, kv, section, table
from portfolio.report.trade_tables import adv_buckets, by_market, market_names

__all__ = ["risk_section", "binding_section", "trades_section", "alpha_section"]


def risk_section(s: dict, result) -> Raw:
    """Tracking error split into factor groups and specific risk, and the top contributors."""
    d = s["risk"]["decomposition_after"]
    groups = sorted(d["by_group"])
    names = [*groups, "specific"]
    contrib = [d["by_group"][g]["contribution_to_te"] for g in groups]
    contrib.append(d["specific_contribution_to_te"])
    te = d["active_risk"]
    rows = [
        [
            g,
            fmt_pct(d["by_group"][g]["contribution_to_te"]),
            fmt_pct(d["by_group"][g]["contribution_to_te"] / te if te else np.nan, 1),
            fmt_pct(d["by_group"][g]["standalone_risk"]),
        ]
        for g in groups
    ]
    rows.append(
        [
            "specific",
            key(
                "risk.decomposition_after.specific_contribution_to_te",
                d["specific_contribution_to_te"],
                fmt_pct(d["specific_contribution_to_te"]),
            ),
            fmt_pct(d["specific_contribution_to_te"] / te if te else np.nan, 1),
            "",
        ]
    )
    rows.append(
        [
            "total (tracking error)",
            key("risk.decomposition_after.active_risk", te, fmt_pct(te)),
            "100.0%",
            "",
        ]
    )
    chart = svg.hbar_chart(
        "chart-risk-groups",
        "Contribution to tracking error",
        names,
        {"contribution to TE": contrib},
    )
    top = d["top_contributors_to_te"]
    ids = list(top)
    sec = result.data.securities
    top_rows = [
        [
            i,
            str(sec["name"].get(i, "")),
            fmt_pct(top[i]["weight"]),
            fmt_pct(top[i]["benchmark_weight"]),
            fmt_pct(top[i]["active_weight"]),
            fmt_pct(top[i]["mctr"]),
            fmt_pct(top[i]["ctr"], 3),
        ]
        for i in ids
    ]
    top_chart = svg.hbar_chart(
        "chart-risk-top",
        f"Top {len(ids)} contributors to tracking error",
        ids,
        {"contribution to TE": [top[i]["ctr"] for i in ids]},
        fmt=svg.pct(2),
    )
    model = s["risk"]["model"]
    facts = kv(
        [
            ("tracking error (after rounding)", fmt_pct(te)),
            ("factor share of TE\u00b2", fmt_pct(d["factor_share"], 1)),
            ("specific share of TE\u00b2", fmt_pct(d["specific_share"], 1)),
            (
                "total risk / benchmark risk",
                f"{fmt_pct(d['total_risk'])} / {fmt_pct(d['benchmark_risk'])}",
            ),
            (
                "risk model",
                f"{model.get('estimator')}, {model.get('n_assets')} assets, "
                f"{model.get('n_proxied', 0)} proxied",
            ),
        ]
    )
    return section(
        "Risk decomposition (rounded portfolio)",
        facts,
        figure(chart, "Euler contributions: factor groups and specific risk add up to the TE."),
        table(["source", "contribution to TE", "share of TE", "stand-alone"], rows),
        Raw("<h3>Top contributors</h3>"),
        figure(
            top_chart, "Total contribution c_i = a_i (S a)_i / TE; all names in risk_by_asset.csv."
        ),
        table(
            ["asset", "name", "weight", "benchmark", "active", "marginal", "contribution"],
            top_rows,
            numeric_from=2,
        ),
        sid="risk",
    )


def binding_section(s: dict) -> Raw:
    """Binding constraints and what relaxing each by 1 % would be worth."""
    binding = s["optimizer"].get("binding", [])
    if not binding:
        return section("Binding constraints", "No constraint binds at the optimum.", sid="binding")
    rows = []
    for k, b in enumerate(binding):
        top = sorted(b.get("rows", {}).items(), key=lambda kv_: -kv_[1])[:5]
        detail = ", ".join(f"{r} ({v:.2f})" for r, v in top)
        more = b.get("n_binding_rows", len(top)) - len(top)
        rows.append(
            [
                b.get("name"),
                b.get("kind"),
                b.get("n_binding_rows", ""),
                key(
                    f"optimizer.binding.{k}.alpha_cost_bp",
                    b.get("alpha_cost_bp"),
                    f"{b.get('alpha_cost_bp', 0):.2f}",
                ),
                detail + (f" and {more} more" if more > 0 else ""),
            ]
        )
    return section(
        "Binding constraints and their price",
        "Price = basis points of objective (utility) gained per 1 % relaxation of the limit, "
        "from the solver's dual values; rows are the binding groups or names.",
        table(
            ["constraint", "kind", "binding rows", "price (bp)", "largest rows (bp)"],
            rows,
            numeric_from=2,
            text_cols=(4,),
        ),
        sid="binding",
    )


def trades_section(s: dict, result, per_market=None) -> Raw:
    """Trades by market and currency; ADV fraction distribution; the trade count by side."""
    from portfolio.markets import load_market_table

    trades = result.trades.trades
    ccy = s["base_currency"]
    tr = s["trades"]
    facts = kv(
        [
            ("trades", key("trades.count", tr["count"], f"{tr['count']:,}")),
            ("buys / sells", f"{tr['buys']:,} / {tr['sells']:,}"),
            (
                "gross notional",
                key(
                    "trades.gross_notional_base",
                    tr["gross_notional_base"],
                    f"{ccy} {tr['gross_notional_base']:,.0f}",
                ),
            ),
            (
                "estimated cost",
                key(
                    "trades.est_cost_base", tr["est_cost_base"], f"{ccy} {tr['est_cost_base']:,.0f}"
                ),
            ),
            (
                "cash before / after",
                f"{ccy} {tr['cash_before_base']:,.0f} / {tr['cash_after_base']:,.0f}",
            ),
        ]
    )
    if not len(trades):
        return section("Trades", facts, "No trades.", sid="trades")
    bm = per_market
    if bm is None:
        markets = load_market_table(result.config.markets)
        bm = by_market(trades, market_names(result.data.securities, markets, trades["asset_id"]))
    rows = [
        [
            r.market,
            r.currency,
            r.buys,
            r.sells,
            fmt_money(r.buy_notional_base),
            fmt_money(r.sell_notional_base),
            fmt_money(r.est_cost_base),
            fmt_num(r.cost_bps_of_notional, 1),
            fmt_pct(r.adv_fraction_median, 1),
            fmt_pct(r.adv_fraction_max, 1),
        ]
        for r in bm.itertuples()
    ]
    rows.append(
        [
            "total",
            "",
            int(bm["buys"].sum()),
            int(bm["sells"].sum()),
            fmt_money(bm["buy_notional_base"].sum()),
            fmt_money(bm["sell_notional_base"].sum()),
            fmt_money(bm["est_cost_base"].sum()),
            fmt_num(1e4 * bm["est_cost_base"].sum() / bm["notional_base"].sum(), 1),
            "",
            "",
        ]
    )
    buckets = adv_buckets(trades)
    chart = svg.vbar_chart(
        "chart-trades-adv",
        "Trades by size relative to average daily traded value",
        list(buckets.index),
        {"buys": buckets["BUY"].tolist(), "sells": buckets["SELL"].tolist()},
        fmt=lambda v: f"{v:g}",
        height=240,
    )
    return section(
        "Trades by market and currency",
        facts,
        table(
            [
                "market",
                "currency",
                "buys",
                "sells",
                f"bought ({ccy})",
                f"sold ({ccy})",
                f"cost ({ccy})",
                "cost (bp)",
                "median % ADV",
                "max % ADV",
            ],
            rows,
            numeric_from=2,
            row_classes=[""] * len(bm) + ["bind"],
        ),
        figure(
            chart,
            "Number of trades by traded value as a percent of the name's average "
            "daily traded value (ADV).",
        ),
        sid="trades",
    )


def _corr_cell(v) -> Raw:
    """A correlation with a background whose strength follows |v| (blue +, red -)."""
    if v is None:
        return Raw("\u2013")
    a = min(abs(float(v)), 1.0)
    rgb = "76,114,176" if v >= 0 else "196,78,82"
    return Raw(f'<span style="background:rgba({rgb},{0.6 * a:.2f});padding:0 4px">{v:.2f}</span>')


def alpha_section(s: dict) -> Raw:
    """Coverage and IC per factor, factor correlations, IC history, blend weights."""
    a = s["alpha"]
    factors = a.get("factors", {})
    weights = a.get("blend", {}).get("weights", {})
    names = sorted(factors)
    rows = []
    for f in names:
        d = factors[f]
        ic = d.get("ic") or {}
        rows.append(
            [
                f,
                key(
                    f"alpha.factors.{f}.coverage", d.get("coverage"), fmt_pct(d.get("coverage"), 1)
                ),
                f"{d.get('missing', 0):,}",
                str(d.get("policy", "")),
                fmt_num(ic.get("mean"), 3),
                fmt_num(ic.get("t_stat"), 1),
                fmt_pct(weights.get(f), 1) if f in weights else "\u2013",
            ]
        )
    corr = a.get("correlation", {})
    corr_rows = [[f, *(_corr_cell(corr.get(f, {}).get(g)) for g in names)] for f in names]
    ic = a.get("ic", {})
    by_date = ic.get("blend_by_date", {})
    dates = sorted(by_date)
    blend = ic.get("blend", {})
    parts = [
        kv(
            [
                ("scored / universe", f"{a.get('n_scored', 0):,} / {a.get('n_securities', 0):,}"),
                ("excluded", f"{a.get('n_excluded', 0):,}"),
                ("IC used for scaling", fmt_num(a.get("alpha", {}).get("ic"), 3)),
                ("blend method", str(a.get("blend", {}).get("method", ""))),
                (
                    "blend IC mean (t)",
                    f"{fmt_num(blend.get('mean'), 3)} ({fmt_num(blend.get('t_stat'), 1)})",
                ),
                ("IC horizon", str(ic.get("horizon", ""))),
            ]
        ),
        table(
            ["factor", "coverage", "missing", "missing policy", "IC mean", "IC t", "blend weight"],
            rows,
        ),
    ]
    if dates:
        mean = blend.get("mean")
        chart = svg.line_chart(
            "chart-alpha-ic",
            "Blended score IC by month",
            list(range(len(dates))),
            {"IC": [by_date[d] for d in dates]},
            fmt=svg.num(2),
            x_labels=[d[:7] for d in dates],
            hlines={f"mean {mean:.3f}": mean} if mean is not None else None,
            markers=True,
        )
        parts.append(
            figure(
                chart,
                "Rank correlation of the blended score with the next month's residual return.",
            )
        )
    if weights:
        wnames = sorted(weights)
        chart = svg.hbar_chart(
            "chart-alpha-blend", "Blend weights", wnames, {"weight": [weights[w] for w in wnames]}
        )
        parts.append(figure(chart, "Weight of each factor in the blended score."))
    if names:
        parts += [Raw("<h3>Factor score correlations</h3>"), table(["", *names], corr_rows)]
    return section("Alpha diagnostics", *parts, sid="alpha")
