"""The rebalance report's settlement section: cash by currency, FX trades, ETF baskets.

The same numbers as the run folder's ``cash_by_currency.csv``, ``fx_trades.csv`` and
(when ``etf.creation_unit`` is set) ``creation_basket.csv`` / ``redemption_basket.csv``:
cash per currency before and after with the trades' net flow and the FX that settles
it, each FX ticket with its cost, and per basket its value split into in-kind shares and
the cash component, the names delivered in cash and why, and how far the basket's
weights are from the target (against the one-lot bound of
:func:`portfolio.etf.basket.build_basket`).
"""

from __future__ import annotations

from portfolio.report.html import Raw, fmt_money, fmt_pct, key, kv, section, table

__all__ = ["settlement_section"]


def _cash_table(s: dict) -> Raw:
    rows = []
    for ccy, c in sorted(s["cash"]["by_currency"].items()):
        rows.append(
            [
                ccy,
                f"{c['rate']:.6g}",
                fmt_money(c["before_local"]),
                fmt_money(c["trade_flow_local"]),
                fmt_money(c["fx_local"]),
                fmt_money(c["after_local"]),
                fmt_money(c["after_base"]),
            ]
        )
    head = ["currency", f"{s['base_currency']} per unit", "cash before", "trades (net)",
            "FX", "cash after", f"after ({s['base_currency']})"]  # fmt: skip
    return table(head, rows)


def _fx_table(fx) -> Raw:
    rows = [
        [
            r.currency,
            r.side,
            fmt_money(r.amount_local),
            f"{r.rate:.6g}",
            fmt_money(r.amount_base),
            fmt_money(r.cost_base, 2),
            r.reason,
        ]  # fmt: skip
        for r in fx.itertuples()
    ]
    head = ["currency", "side", "amount (local)", "rate", "amount (base)", "cost", "why"]
    return table(head, rows, text_cols=(1, 6))


def _basket_parts(b, inp) -> list:
    lines = b.lines
    cashed = lines[~lines["in_kind"]]
    reasons = cashed["cash_reason"].value_counts()
    worst = float(lines["weight_diff"].abs().max()) if len(lines) else 0.0
    within = bool((lines["weight_diff"].abs() <= lines["lot_bound"] + 1e-12).all())
    ccy = inp.base_currency
    pairs = [
        (
            "units",
            f"{b.units} of {b.creation_unit:,} shares, NAV per share {ccy} {b.nav_per_share:,.4f}",
        ),  # fmt: skip
        (
            "value",
            f"{ccy} {fmt_money(b.units * b.unit_value_base, 2)} = in kind "
            f"{fmt_money(b.in_kind_value_base, 2)} + cash "
            f"{fmt_money(b.cash_component_base, 2)}",
        ),  # fmt: skip
        ("names in kind", f"{int((lines['shares'] > 0).sum())}"),
        (
            "names in cash",
            f"{len(cashed)}"
            + (
                ""
                if reasons.empty
                else " (" + "; ".join(f"{r}: {n}" for r, n in reasons.items()) + ")"
            ),  # fmt: skip
        ),
        (
            "largest |basket - target weight|",
            f"{fmt_pct(worst, 3)} ({'within' if within else 'NOT within'} one board lot "
            "of every name)",
        ),
    ]
    return [Raw(f"<h3>{b.kind.capitalize()} basket</h3>"), kv(pairs)]


def settlement_section(s: dict, result) -> Raw | None:
    """Cash by currency, FX trades and (with ``etf.creation_unit``) the baskets for one
    creation unit; ``None`` when the summary has no cash block."""
    if not s.get("cash"):
        return None
    c, ccy, fxs = s["cash"], s["base_currency"], s["fx_trades"]
    fx = result.trades.fx.trades

    def money(path: str, note: str = "") -> Raw:
        value = c[path.removeprefix("cash.")]
        return key(path, value, f"{ccy} {fmt_money(value)}{note}")

    parts: list = [
        kv(
            [
                ("cash before", money("cash.before_base")),
                ("after trades", money("cash.after_trades_base")),
                (
                    "after costs",
                    money("cash.after_costs_base", f" ({fmt_pct(c['after_costs_weight'])} of NAV)"),
                ),
                (
                    "FX trades",
                    key(
                        "fx_trades.count",
                        fxs["count"],
                        f"{fxs['count']}, cost {ccy} {fmt_money(fxs['cost_base'])}",
                    ),
                ),
            ]
        ),  # fmt: skip
        Raw("<h3>Cash by currency</h3>"),
        _cash_table(s),
    ]
    if len(fx):
        parts += [Raw("<h3>FX trades</h3>"), _fx_table(fx)]
    etf = result.config.etf
    if etf.creation_unit is not None:
        from portfolio.etf.run import one_unit_baskets

        inp, _, baskets = one_unit_baskets(result)  # the run folder's baskets, built once
        for kind in ("creation", "redemption"):
            parts += _basket_parts(baskets[kind], inp)
    title = "Cash, currencies" + (" and ETF baskets" if etf.creation_unit is not None else "")
    return section(title, *parts, sid="settlement")
