"""Real runs that end badly, on the demo market written as files.

- :func:`infeasible_run`: the China cap below today's China weight and a turnover cap
  too small to sell down to it: ``active-etf rebalance`` exits 3.
- :func:`breach_run`: one held name above the 2 % active-weight limit, whose only ways
  back are a sale larger than its liquidity limit (one board lot) or no sale: after
  rounding a hard limit is broken whatever the trade list does (exit 5).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from portfolio.cli import main


def demo_files(folder: Path) -> Path:
    """``active-etf demo-data folder``: the demo inputs and config; the config path.

    (The demo config's limits fit the 1,200-name demo market; smaller generated markets
    hold fewer, larger positions and are infeasible under it.)
    """
    assert main(["demo-data", str(folder), "-q"]) == 0
    return folder / "config.yaml"


def infeasible_run(folder: Path, extra: list[str] = ()) -> tuple[int, Path]:
    """Exit code and run folder of an infeasible rebalance."""
    config = demo_files(folder / "data")
    cfg = yaml.safe_load(config.read_text())
    for c in cfg["constraints"]:
        if c.get("name") == "China exposure":
            c["bounds"]["China"] = [0.0, 0.01]
        if c["kind"] == "turnover":
            c["max"] = 0.01
    config.write_text(yaml.safe_dump(cfg))
    out = folder / "run"
    return main(["rebalance", str(config), "--out", str(out), "-q", *extra]), out


def breach_run(folder: Path) -> tuple[int, Path, str]:
    """Exit code, run folder and the asset of a rebalance that breaks a limit after rounding.

    The asset (the largest holding with a tiny benchmark weight) is set to 3 lots of 0.9 %
    of NAV (2.7 %: at least 0.7 % must be sold for the 2 % active limit) and its ADV to
    0.8 % of NAV / 0.6 (the liquidity limit, 20 % of ADV for 3 days, allows 0.8 %). The
    board lot forces a sale of 0 or 0.9 %: either the active limit or liquidity breaks.
    The turnover cap is lifted to 50 % so that only this name is at stake.
    """
    d = folder / "data"
    config = demo_files(d)
    sec = pd.read_csv(d / "securities.csv", dtype={"asset_id": str, "ticker": str})
    hold = pd.read_csv(d / "holdings.csv", dtype={"asset_id": str})
    cash = pd.read_csv(d / "cash.csv")
    fx = pd.read_csv(d / "fx.csv").set_index("currency")["base_per_unit"]
    s = sec.set_index("asset_id")
    price = s["price_local"] * s["currency"].map(fx)  # base currency per share
    nav = float((hold.set_index("asset_id")["shares"] * price.reindex(hold["asset_id"])).sum())
    nav += float((cash.set_index("currency")["amount_local"] * fx).sum())
    small_bench = s.index[(s["benchmark_weight"] < 1e-3) & ~s["halted"].astype(bool)]
    held = hold[hold["asset_id"].isin(small_bench)]
    asset = (
        held.assign(v=held["shares"] * price.reindex(held["asset_id"]).to_numpy())
        .nlargest(1, "v")["asset_id"]
        .iloc[0]
    )
    lot = max(1, int(round(0.009 * nav / price[asset])))
    hold.loc[hold["asset_id"] == asset, "shares"] = 3 * lot
    sec.loc[sec["asset_id"] == asset, "lot_size"] = lot
    sec.loc[sec["asset_id"] == asset, "adv_base"] = 0.008 * nav / 0.6
    # The extra shares raise NAV by under 2 %: 3 lots are still above 2.6 % of it, one lot
    # (0.88 %) still more than the liquidity limit (0.78 %). Cash is left as it is.
    sec.to_csv(d / "securities.csv", index=False)
    hold.to_csv(d / "holdings.csv", index=False)
    cfg = yaml.safe_load(config.read_text())
    for c in cfg["constraints"]:
        if c["kind"] == "turnover":  # not binding: the repair has room to trade
            c["max"] = 0.5
    config.write_text(yaml.safe_dump(cfg))
    out = folder / "run"
    return main(["rebalance", str(config), "--out", str(out), "-q"]), out, asset
