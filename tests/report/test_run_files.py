"""The files the report writer adds: trades.csv rounding, trades.xlsx, summary.txt, --no-report.

References are independent: the xlsx is read back with openpyxl, the by-market sheet is
recomputed from trades.csv with a plain pandas groupby, ADV fractions from the securities.
"""

import copy
import re

import numpy as np
import pandas as pd
import pytest

from portfolio.cli import main
from portfolio.report import run_folder_files, terminal_summary

openpyxl = pytest.importorskip("openpyxl", reason="pip install openpyxl (the 'test' extra)")

MINOR = {"JPY": 0, "KRW": 0}  # every other demo currency has 2 decimals (ISO 4217)


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def test_trades_csv_money_is_rounded_to_the_minor_unit(demo_result, demo_folder):
    result, summary = demo_result
    raw = pd.read_csv(demo_folder / "trades.csv", dtype=str)
    exact = result.trades.trades.reset_index(drop=True)
    assert list(raw.columns) == list(exact.columns)
    local_dec = raw["currency"].map(MINOR).fillna(2).astype(int)
    assert (raw["notional_local"].map(_decimals) == local_dec).all()
    for col in ("notional_base", "est_cost_base"):
        assert (raw[col].map(_decimals) == 2).all(), col  # base currency USD
    # within half a minor unit of the unrounded value
    half = 0.5 * 10.0 ** -local_dec.to_numpy()
    err = np.abs(raw["notional_local"].astype(float) - exact["notional_local"])
    assert (err <= half + 1e-6).all()
    assert np.abs(raw["notional_base"].astype(float) - exact["notional_base"]).max() <= 0.005 + 1e-9
    # no float noise anywhere in the money columns (e.g. 1503675.7380000001)
    assert (
        not raw[["notional_local", "notional_base", "est_cost_base"]]
        .map(lambda t: bool(re.search(r"\.\d{4,}", t)))
        .any()
        .any()
    )


def test_adv_fraction_is_traded_value_over_adv(demo_result, demo_folder):
    result, _ = demo_result
    t = pd.read_csv(demo_folder / "trades.csv", dtype={"asset_id": str})
    assert "pct_adv" not in t.columns
    adv = result.data.securities["adv_base"].reindex(t["asset_id"]).to_numpy()
    ref = result.trades.trades["notional_base"].to_numpy() / adv
    np.testing.assert_allclose(t["adv_fraction"], ref, rtol=1e-12)
    assert (t["adv_fraction"] <= 0.6 + 1e-9).all()  # demo liquidity limit: 20 % x 3 days


def test_summary_txt_is_the_terminal_summary(demo_result, demo_folder):
    _, summary = demo_result
    assert (demo_folder / "summary.txt").read_text() == terminal_summary(summary) + "\n"


def test_trades_xlsx_is_typed_and_matches_the_csv(demo_folder):
    book = openpyxl.load_workbook(demo_folder / "trades.xlsx")
    assert book.sheetnames == ["Trades", "Summary", "By market", "FX trades", "Cash by currency"]
    ws = book["Trades"]
    rows = list(ws.iter_rows(values_only=True))
    csv = pd.read_csv(demo_folder / "trades.csv", dtype={"asset_id": str, "ticker": str})
    assert list(rows[0]) == list(csv.columns)
    body = pd.DataFrame(rows[1:], columns=rows[0])
    assert len(body) == len(csv)
    for col in (
        "shares",
        "lot_size",
        "notional_local",
        "notional_base",
        "weight_after",
        "adv_fraction",
        "est_cost_base",
    ):
        assert all(isinstance(v, int | float) for v in body[col]), col
        np.testing.assert_allclose(body[col].astype(float), csv[col], rtol=0, atol=1e-9)
    header = {c.value: c.column_letter for c in ws[1]}
    assert ws[f"{header['adv_fraction']}2"].number_format == "0.00%"
    assert ws[f"{header['weight_after']}2"].number_format == "0.00%"
    jpy = csv.index[csv["currency"] == "JPY"][0] + 2
    usd_fmt = ws[f"{header['notional_base']}{jpy}"].number_format
    assert ws[f"{header['notional_local']}{jpy}"].number_format == "#,##0"
    assert usd_fmt == "#,##0.00"


def test_trades_xlsx_fx_and_cash_sheets_match_their_csv_files(demo_result, demo_folder):
    """The FX and cash sheets hold the rows of fx_trades.csv and cash_by_currency.csv as
    numbers (each to its currency's minor unit: equal to the CSV's text to 1e-9)."""
    _, summary = demo_result
    book = openpyxl.load_workbook(demo_folder / "trades.xlsx")
    for sheet, name, key in (("FX trades", "fx_trades.csv", "currency"),
                             ("Cash by currency", "cash_by_currency.csv", "currency")):  # fmt: skip
        rows = list(book[sheet].iter_rows(values_only=True))
        got = pd.DataFrame(rows[1:], columns=rows[0])
        csv = pd.read_csv(demo_folder / name)
        assert list(got.columns) == list(csv.columns) and len(got) == len(csv) > 0
        assert list(got[key]) == list(csv[key])
        for col in csv.columns:
            if pd.api.types.is_numeric_dtype(csv[col]):
                assert all(isinstance(v, int | float) for v in got[col]), (sheet, col)
                np.testing.assert_allclose(got[col].astype(float), csv[col], rtol=0, atol=1e-9)
    items = dict(book["Summary"].iter_rows(values_only=True))
    assert items["FX trades"] == summary["fx_trades"]["count"]
    assert items["cash after costs"] == pytest.approx(
        summary["cash"]["after_costs_base"], abs=0.005
    )


def test_report_shows_cash_fx_and_baskets_as_in_their_files(demo_folder):
    """report.html's settlement section: every FX ticket, and each basket's cash component
    and in-kind value as written in creation_basket.csv / redemption_basket.csv."""
    html = (demo_folder / "report.html").read_text()
    assert 'id="settlement"' in html
    fx = pd.read_csv(demo_folder / "fx_trades.csv")
    for r in fx.itertuples():
        assert f"{r.amount_local:,.0f}" in html, r.currency
    for kind in ("creation", "redemption"):
        b = pd.read_csv(demo_folder / f"{kind}_basket.csv", dtype={"asset_id": str})
        cash = float(b.loc[b["asset_id"] == "CASH", "value_base"].iloc[0])
        in_kind = float(b.loc[b["asset_id"] != "CASH", "value_base"].sum())
        assert f"in kind {in_kind:,.2f} + cash {cash:,.2f}" in html, kind


def test_trades_xlsx_summary_and_by_market(demo_result, demo_folder):
    result, summary = demo_result
    book = openpyxl.load_workbook(demo_folder / "trades.xlsx")
    items = dict(book["Summary"].iter_rows(values_only=True))
    assert items["trades"] == summary["trades"]["count"]
    assert items["buys"] + items["sells"] == summary["trades"]["count"]
    assert summary["hard_limits"]["status"] == "ok"
    assert items["hard limits after rounding"] == "ok"
    assert items["estimated cost"] == pytest.approx(summary["trades"]["est_cost_base"], abs=0.005)
    rows = list(book["By market"].iter_rows(values_only=True))
    got = pd.DataFrame(rows[1:], columns=rows[0]).set_index("currency")
    csv = pd.read_csv(demo_folder / "trades.csv", dtype={"asset_id": str})
    ref = csv.groupby("currency").agg(
        n=("side", "size"),
        buys=("side", lambda s: int((s == "BUY").sum())),
        notional=("notional_base", "sum"),
        cost=("est_cost_base", "sum"),
        adv_max=("adv_fraction", "max"),
    )
    assert sorted(got.index) == sorted(ref.index)  # one market per currency in the demo
    got = got.loc[ref.index]
    assert (got["buys"] + got["sells"] == ref["n"]).all()
    assert (got["buys"] == ref["buys"]).all()
    # sums of cent-rounded values: within a cent per trade of the rounded group sum
    tol = 0.01 * ref["n"].to_numpy()
    assert (np.abs(got["notional_base"].to_numpy() - ref["notional"].to_numpy()) <= tol).all()
    assert (np.abs(got["est_cost_base"].to_numpy() - ref["cost"].to_numpy()) <= tol).all()
    np.testing.assert_allclose(got["adv_fraction_max"], ref["adv_max"], rtol=1e-12)
    assert got["market"].loc["JPY"] == "Japan"


def test_outputs_are_deterministic(demo_result):
    result, summary = demo_result
    a = run_folder_files(result, summary)
    b = run_folder_files(result, summary)
    for name in ("trades.csv", "trades.xlsx", "summary.txt", "report.html"):
        assert a[name] == b[name], name
    assert "report.html" not in run_folder_files(result, summary, report=False)


def test_no_report_flag(tmp_path):
    out = tmp_path / "run"
    assert main(["demo", "--out", str(out), "--no-report"]) == 0
    names = {p.name for p in out.iterdir()}
    assert "report.html" not in names
    assert {"summary.txt", "trades.xlsx", "trades.csv"} <= names


def test_summary_reports_solver_residuals_above_1e9(demo_result):
    """Issue 13.4: a limit the optimizer's weights exceed by more than 1e-9 (a fallback
    solver's tolerance) is named in the summary; a certified run has none."""
    _, summary = demo_result
    assert summary["optimizer"]["solver"] == "DUAL_NEWTON"
    assert summary["optimizer"]["residuals"] == []
    assert "solver residual" not in terminal_summary(summary)
    s = copy.deepcopy(summary)
    s["optimizer"]["residuals"] = [
        {"name": "cash in [0.00%, 3.00%]", "kind": "cash_band", "violation": 3.6e-9,
         "unit": "weight"},
    ]  # fmt: skip
    line = [x for x in terminal_summary(s).splitlines() if "solver residual" in x]
    assert line == [
        "  solver residual: cash in [0.00%, 3.00%] exceeded by 3.6e-09 weight before "
        "rounding (above 1e-9; the fallback solver's tolerance)"
    ]
