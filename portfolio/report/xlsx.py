"""``trades.xlsx``: the trade list as a typed spreadsheet, with a summary and a by-market sheet.

Written with xlsxwriter: it is already a dependency, writes fast, and sets number formats
per cell (money to its currency's minor unit, weights and ADV fractions as percent), which
is all a write-only export needs; openpyxl would only be needed to read workbooks back
(the tests do that). Output is deterministic: the workbook's ``created`` property is the
run's as-of date (xlsxwriter then also fixes the zip entry times), so the same run gives
the same bytes.

Sheets
------
``Trades``
    The columns of ``trades.csv``, numbers stored as numbers: shares and lot size as
    integers, ``notional_local`` rounded to the trade currency's minor unit,
    ``notional_base`` and ``est_cost_base`` to the base currency's, weights and
    ``adv_fraction`` shown as percent (the stored value stays the fraction).
``Summary``
    Fund, date, NAV, trade counts, gross notional, cost, turnover, cash, tracking error,
    solver status, the number of constraint breaches after rounding and whether a hard
    limit is broken (then the trade list must not be sent).
``By market``
    Buys, sells, notional and cost by market and currency, with the ADV-fraction median and
    maximum.
``FX trades`` and ``Cash by currency`` (when given the run's :class:`~portfolio.fx.FxPlan`)
    The rows of ``fx_trades.csv`` and ``cash_by_currency.csv``, local amounts to each
    currency's minor unit, base amounts to the base currency's.
"""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pandas as pd

from portfolio.report.money import minor_units, round_money

__all__ = ["trades_xlsx"]

_PERCENT_COLUMNS = ("weight_before", "weight_after", "adv_fraction")
_INT_COLUMNS = ("shares", "lot_size")


def _money_format(book, cache: dict, decimals: int):
    if decimals not in cache:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        cache[decimals] = book.add_format({"num_format": pattern})
    return cache[decimals]


def _write_frame(book, sheet, frame: pd.DataFrame, formats: dict, widths: dict) -> None:
    """Header row + columns; ``formats[col]`` is one format or one per row."""
    bold = book.add_format({"bold": True, "bg_color": "#F2F4F8", "bottom": 1})
    for j, col in enumerate(frame.columns):
        sheet.write_string(0, j, str(col), bold)
        sheet.set_column(j, j, widths.get(col, max(10, len(str(col)) + 2)))
        values = frame[col].to_numpy()
        fmt = formats.get(col)
        numeric = pd.api.types.is_numeric_dtype(frame[col].dtype)
        for i, v in enumerate(values):  # cell by cell: xlsxwriter's API (one row per trade)
            f = fmt[i] if isinstance(fmt, list) else fmt
            if numeric:
                if v is None or not np.isfinite(v):
                    sheet.write_blank(i + 1, j, None, f)
                else:
                    sheet.write_number(i + 1, j, float(v), f)
            else:
                sheet.write_string(i + 1, j, "" if v is None else str(v), f)
    sheet.freeze_panes(1, 0)
    if len(frame):
        sheet.autofilter(0, 0, len(frame), len(frame.columns) - 1)


def trades_xlsx(
    trades: pd.DataFrame,
    summary: dict,
    by_market: pd.DataFrame,
    fx=None,
) -> bytes:
    """The workbook bytes (see the module docstring); ``summary`` is ``result.summary()``,
    ``fx`` the trade list's FX plan (``result.trades.fx``: ``trades`` and ``cash``)."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    as_of = datetime.fromisoformat(summary["as_of"])
    book.set_properties({"title": f"{summary['fund']} trades {summary['as_of']}", "created": as_of})
    pct = book.add_format({"num_format": "0.00%"})
    integer = book.add_format({"num_format": "#,##0"})
    price = book.add_format({"num_format": "#,##0.00##"})
    cache: dict = {}
    base_dec = int(minor_units([summary["base_currency"]])[0])
    local_dec = minor_units(trades["currency"]) if len(trades) else np.zeros(0, int)

    t = trades.copy()
    t["notional_local"] = round_money(t["notional_local"], local_dec)
    for c in ("notional_base", "est_cost_base"):
        t[c] = round_money(t[c], base_dec)
    formats = {c: pct for c in _PERCENT_COLUMNS}
    formats.update({c: integer for c in _INT_COLUMNS})
    formats["price_local"] = price
    formats["notional_local"] = [_money_format(book, cache, int(d)) for d in local_dec]
    formats["notional_base"] = formats["est_cost_base"] = _money_format(book, cache, base_dec)
    _write_frame(book, book.add_worksheet("Trades"), t, formats, {"name": 28})

    s, tr = summary, summary["trades"]
    port = s["portfolio"]
    money = _money_format(book, cache, base_dec)
    items = [
        ("fund", s["fund"], None),
        ("as of", s["as_of"], None),
        ("base currency", s["base_currency"], None),
        ("NAV", round_money(s["nav_base"], base_dec), money),
        ("trades", tr["count"], integer),
        ("buys", tr["buys"], integer),
        ("sells", tr["sells"], integer),
        ("gross notional", round_money(tr["gross_notional_base"], base_dec), money),
        ("estimated cost", round_money(tr["est_cost_base"], base_dec), money),
        (
            "estimated cost (bp of NAV)",
            tr["est_cost_bps_nav"],
            book.add_format({"num_format": "0.0"}),
        ),
        ("one-way turnover", s["turnover"]["after_rounding"], pct),
        ("cash before", round_money(tr["cash_before_base"], base_dec), money),
        ("cash after", round_money(tr["cash_after_base"], base_dec), money),
        *_cash_items(s, base_dec, money, integer),
        ("tracking error before", port["before"]["ex_ante_te"], pct),
        ("tracking error after", port["after_rounding"]["ex_ante_te"], pct),
        ("alpha after (annualised)", port["after_rounding"]["alpha"], pct),
        ("solver", s["optimizer"].get("solver"), None),
        ("status", s["optimizer"].get("status"), None),
        (
            "constraint breaches after rounding",
            len(s["constraint_breaches_after_rounding"]),
            integer,
        ),
        (
            "hard limits after rounding",
            "BROKEN: DO NOT SEND (exit code 5)"
            if s.get("hard_limits", {}).get("status") == "breached"
            else "ok",
            None,
        ),
    ]
    sheet = book.add_worksheet("Summary")
    bold = book.add_format({"bold": True})
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 1, 34)
    for i, (label, value, fmt) in enumerate(items):
        sheet.write_string(i, 0, label, bold)
        if isinstance(value, str) or value is None:
            sheet.write_string(i, 1, "" if value is None else value)
        else:
            sheet.write_number(i, 1, float(value), fmt)

    bm = by_market.copy()
    for c in ("buy_notional_base", "sell_notional_base", "notional_base", "est_cost_base"):
        bm[c] = round_money(bm[c], base_dec)
    bm_formats = {
        "buys": integer,
        "sells": integer,
        "adv_fraction_median": pct,
        "adv_fraction_max": pct,
        "cost_bps_of_notional": book.add_format({"num_format": "0.0"}),
    }
    bm_formats.update(
        dict.fromkeys(
            ("buy_notional_base", "sell_notional_base", "notional_base", "est_cost_base"), money
        )
    )
    _write_frame(book, book.add_worksheet("By market"), bm, bm_formats, {"market": 14})
    if fx is not None:
        _fx_sheets(book, cache, fx, base_dec)
    book.close()
    return buf.getvalue()


def _cash_items(s: dict, base_dec: int, money, integer) -> list[tuple]:
    """Summary rows for cash after costs and the FX tickets (when the summary has them)."""
    c = s.get("cash")
    if not c:
        return []
    return [
        ("cash after costs", round_money(c["after_costs_base"], base_dec), money),
        ("FX trades", s["fx_trades"]["count"], integer),
        ("FX cost", round_money(s["fx_trades"]["cost_base"], base_dec), money),
    ]


def _fx_sheets(book, cache: dict, fx, base_dec: int) -> None:
    """The ``FX trades`` and ``Cash by currency`` sheets."""
    base_money = _money_format(book, cache, base_dec)
    t = fx.trades.copy()
    dec = minor_units(t["currency"]) if len(t) else np.zeros(0, int)
    t["amount_local"] = round_money(t["amount_local"], dec)
    for c in ("amount_base", "cost_base"):
        t[c] = round_money(t[c], base_dec)
    formats = {"amount_local": [_money_format(book, cache, int(d)) for d in dec]}
    formats.update(dict.fromkeys(("amount_base", "cost_base"), base_money))
    _write_frame(book, book.add_worksheet("FX trades"), t, formats, {"reason": 40})

    cash = fx.cash.reset_index()
    dec = minor_units(cash["currency"]) if len(cash) else np.zeros(0, int)
    local = ("before_local", "trade_flow_local", "fx_local", "after_local")
    for c in local:
        cash[c] = round_money(cash[c], dec)
    for c in ("before_base", "after_base"):
        cash[c] = round_money(cash[c], base_dec)
    formats = {c: [_money_format(book, cache, int(d)) for d in dec] for c in local}
    formats.update(dict.fromkeys(("before_base", "after_base"), base_money))
    _write_frame(book, book.add_worksheet("Cash by currency"), cash, formats, {})
