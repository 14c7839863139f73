"""The portfolio composition file (PCF) a market maker reads, and the ETF files of a run.

``pcf.csv`` is one flat table (every row repeats the fund fields, so any CSV reader
takes it): ``fund, date, base_currency, nav_per_share_base, creation_unit, units,
shares_outstanding, unit_value_base, cash_component_base, record`` and, per name,
``asset_id, ticker, name, currency, shares, price_local, value_base, basket_weight``.
``record`` is ``HOLDING`` for an in-kind line and ``CASH`` for the cash component line
(its ``value_base`` is the cash component).
"""

from __future__ import annotations

import pandas as pd

from portfolio.etf.basket import Basket, BasketInputs, build_basket

__all__ = ["pcf_frame", "etf_files", "basket_text"]

PCF_COLUMNS = [
    "fund",
    "date",
    "base_currency",
    "nav_per_share_base",
    "creation_unit",
    "units",
    "shares_outstanding",
    "unit_value_base",
    "cash_component_base",
    "record",
    "asset_id",
    "ticker",
    "name",
    "currency",
    "shares",
    "price_local",
    "value_base",
    "basket_weight",
]


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")


def pcf_frame(basket: Basket, inp: BasketInputs) -> pd.DataFrame:
    """The PCF of ``basket`` (in-kind lines, then one ``CASH`` line)."""
    lines = basket.lines[basket.lines["shares"] > 0]
    cash_w = basket.cash_component_base / (basket.units * basket.unit_value_base)
    cash = pd.DataFrame(
        [
            {
                "asset_id": "CASH",
                "ticker": "",
                "name": "cash component",
                "currency": inp.base_currency,
                "shares": 0,
                "price_local": 1.0,
                "value_base": basket.cash_component_base,
                "basket_weight": cash_w,
            }
        ]
    )
    body = pd.concat(
        [lines[[c for c in PCF_COLUMNS if c in lines.columns]].assign(record="HOLDING"),
         cash.assign(record="CASH")],
        ignore_index=True,
    )  # fmt: skip
    head = {
        "fund": inp.fund,
        "date": inp.as_of,
        "base_currency": inp.base_currency,
        "nav_per_share_base": basket.nav_per_share,
        "creation_unit": basket.creation_unit,
        "units": basket.units,
        "shares_outstanding": basket.shares_outstanding,
        "unit_value_base": basket.unit_value_base,
        "cash_component_base": basket.cash_component_base,
    }
    for k, v in head.items():
        body[k] = v
    return body[PCF_COLUMNS]


def etf_files(
    inp: BasketInputs,
    creation_unit: int,
    nav_per_share: float,
    units: int = 1,
    shares_outstanding: float | None = None,
) -> tuple[dict[str, str], dict[str, Basket]]:
    """``creation_basket.csv``, ``redemption_basket.csv`` and ``pcf.csv`` (of the creation
    basket) for ``units`` units, as text, and the two baskets."""
    baskets = {
        kind: build_basket(inp, creation_unit, nav_per_share, units, kind, shares_outstanding)
        for kind in ("creation", "redemption")
    }
    files = {f"{k}_basket.csv": _csv(_with_cash(b)) for k, b in baskets.items()}
    files["pcf.csv"] = _csv(pcf_frame(baskets["creation"], inp))
    return files, baskets


def _with_cash(b: Basket) -> pd.DataFrame:
    """The basket lines plus a final ``CASH`` line holding the cash component."""
    cash = {c: None for c in b.lines.columns}
    cash.update(asset_id="CASH", name="cash component", shares=0, in_kind=False)
    cash.update(value_base=b.cash_component_base, cash_reason="cash component")
    return pd.concat([b.lines, pd.DataFrame([cash])], ignore_index=True)


def basket_text(b: Basket, inp: BasketInputs, top: int = 15) -> str:
    """A terminal summary of a basket: value, cash, names in kind / in cash, largest lines."""
    lines = b.lines
    n_kind = int((lines["shares"] > 0).sum())
    cashed = lines[~lines["in_kind"]]
    worst = float(lines["weight_diff"].abs().max()) if len(lines) else 0.0
    out = [
        f"{b.kind} basket for {b.units} unit(s) of {b.creation_unit:,} shares, "
        f"NAV per share {b.nav_per_share:,.4f} {inp.base_currency}",
        f"  value {b.units * b.unit_value_base:,.2f} = in kind {b.in_kind_value_base:,.2f}"
        f" + cash {b.cash_component_base:,.2f}",
        f"  {n_kind} names in kind; {len(cashed)} in cash"
        + (f" ({', '.join(sorted(set(cashed['cash_reason'])))})" if len(cashed) else ""),
        f"  largest |basket - target weight| {worst:.4%}",
        f"  {'asset_id':12} {'shares':>12} {'value_base':>16} {'weight':>8}",
    ]
    big = lines.sort_values("value_base", ascending=False, kind="stable").head(top)
    for r in big.itertuples():
        out.append(
            f"  {r.asset_id:12} {r.shares:>12,} {r.value_base:>16,.2f} {r.basket_weight:>8.3%}"
        )
    return "\n".join(out)
