"""The command line: settlement files in the run folder, exit 5 with the trade list marked,
and ``active-etf basket``. Runs the demo fund's files (generated once per module)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from portfolio.cli import main


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo-data")
    assert main(["demo-data", str(d)]) == 0
    return d


@pytest.fixture(scope="module")
def run(demo_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    assert main(["rebalance", str(demo_files / "config.yaml"), "--out", str(out),
                 "--no-report", "-q"]) == 0  # fmt: skip
    return out


def test_run_folder_settles_cash_fx_and_turnover(run):
    s = json.loads((run / "summary.json").read_text())
    cash = pd.read_csv(run / "cash_by_currency.csv").set_index("currency")
    fx = pd.read_csv(run / "fx_trades.csv")
    c = s["cash"]
    # cash after costs = before - net notional - trading costs - FX cost (USD cents)
    assert abs(c["after_trades_base"] - c["trade_cost_base"] - c["fx_cost_base"]
               - c["after_costs_base"]) < 0.01  # fmt: skip
    assert abs(cash["after_base"].sum() - c["after_costs_base"]) < 0.01
    assert abs(cash["before_base"].sum() - c["before_base"]) < 0.01
    assert abs(fx["cost_base"].sum() - c["fx_cost_base"]) < 0.05  # per-row cent rounding
    assert abs(s["trades"]["est_cost_base"] - c["trade_cost_base"] - c["fx_cost_base"]) < 0.01
    # the cash floor holds after costs
    assert c["after_costs_weight"] >= 0.005 - 1e-12
    # buys, sells and one-way turnover side by side, from the holdings file
    h = pd.read_csv(run / "target_holdings.csv")
    x = h["weight_after"] - h["weight_before"]
    t = s["turnover"]
    assert t["buys"] == pytest.approx(x.clip(lower=0).sum(), abs=1e-12)
    assert t["sells"] == pytest.approx((-x).clip(lower=0).sum(), abs=1e-12)
    assert t["one_way"] == pytest.approx((t["buys"] + t["sells"]) / 2, abs=1e-15)
    assert t["one_way"] <= 0.20 + 1e-9  # the turnover limit binds one-way turnover
    assert s["hard_limits"] == {"status": "ok", "breached": []}
    assert not (run / "DO_NOT_SEND.txt").exists()
    txt = (run / "summary.txt").read_text()
    assert "buys" in txt and "sells" in txt and "one-way" in txt


def test_basket_command_prints_n_units(run, demo_files, capsys):
    capsys.readouterr()
    assert main(["basket", str(demo_files / "config.yaml"), "--units", "3"]) == 0
    out = capsys.readouterr().out
    pcf = pd.read_csv(run / "pcf.csv", dtype={"asset_id": str})
    one = pd.read_csv(run / "creation_basket.csv", dtype={"asset_id": str}).set_index("asset_id")
    nps = float(pcf["nav_per_share_base"].iloc[0])
    m = re.search(r"value ([\d,.]+) = in kind ([\d,.]+) \+ cash ([\d,.-]+)", out)
    assert m, out
    value, kind, cash = (float(g.replace(",", "")) for g in m.groups())
    assert value == pytest.approx(3 * 50_000 * nps, abs=0.01)
    assert kind + cash == pytest.approx(value, abs=0.011)
    row = re.compile(r"\s+\S+\s+[\d,]+\s+[\d,.]+\s+[\d.]+%")
    lines = [ln.split() for ln in out.splitlines() if row.match(ln)]
    assert lines
    for aid, shares, *_ in lines:  # three units of the one-unit basket in the run folder
        assert int(shares.replace(",", "")) == 3 * int(one.loc[aid, "shares"])


def test_basket_without_a_creation_unit_is_a_config_error(demo_files, tmp_path):
    cfg = yaml.safe_load((demo_files / "config.yaml").read_text())
    cfg.pop("etf")
    cfg["data"]["directory"] = str(demo_files)
    path = tmp_path / "no-etf.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["basket", str(path), "--units", "1"]) == 2


def test_hard_limit_broken_exits_5_and_marks_the_trade_list(demo_files, tmp_path):
    """China cap 5 % on the demo with no repair moves allowed: lot rounding leaves the cap
    broken, so the run exits 5 and still writes the marked trade list."""
    cfg = yaml.safe_load((demo_files / "config.yaml").read_text())
    for c in cfg["constraints"]:
        if c.get("name") == "China exposure":
            c["bounds"]["China"] = [0.0, 0.05]
    cfg["trades"]["repair_max_moves"] = 0
    cfg["data"]["directory"] = str(demo_files)
    path = tmp_path / "china5.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    assert main(["rebalance", str(path), "--out", str(out), "--no-report", "-q"]) == 5
    assert (out / "trades.csv").is_file() and (out / "fx_trades.csv").is_file()
    marker = (out / "DO_NOT_SEND.txt").read_text()
    assert "China exposure" in marker
    s = json.loads((out / "summary.json").read_text())
    assert s["hard_limits"]["status"] == "breached"
    assert "China exposure" in s["hard_limits"]["breached"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"]["hard_limits"] == "breached"
    t = pd.read_csv(out / "trades.csv")
    assert len(t) > 0 and np.all(t["shares"] % t["lot_size"] == 0)


def _max_names_config(demo_files, tmp_path, k: int):
    """The demo config on its files plus ``max_names: k``, written; ``(config, path)``."""
    cfg = yaml.safe_load((demo_files / "config.yaml").read_text())
    cfg["constraints"] += [{"kind": "max_names", "max": k}]
    cfg["data"]["directory"] = str(demo_files)
    path = tmp_path / f"k{k}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return cfg, path


def test_max_names_no_set_of_names_can_meet_is_infeasible_with_the_fewest(demo_files, tmp_path):
    """max_names 125 on the demo: 121 names cannot be sold out, and no portfolio of 125
    names meets the other limits (the mixed-integer LP proves it): exit 3, the diagnosis
    gives the fewest names that can (above 125), no trade list. At that count the run
    holds every limit (exit 0) with at most that many names."""
    cfg, path = _max_names_config(demo_files, tmp_path, 125)
    out = tmp_path / "run"
    assert main(["rebalance", str(path), "--out", str(out), "--no-report", "-q"]) == 3
    d = json.loads((out / "diagnosis.json").read_text())
    assert d["limit"] == 125 and d["fewest_names"] > 125
    assert not (out / "trades.csv").exists()
    cfg["constraints"][-1]["max"] = d["fewest_names"]
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run2"
    assert main(["rebalance", str(path), "--out", str(out), "--no-report", "-q"]) == 0
    held = pd.read_csv(out / "target_holdings.csv")
    assert int((held["shares_after"] > 0).sum()) <= d["fewest_names"]


def test_max_names_below_names_that_cannot_be_sold_is_infeasible(demo_files, tmp_path):
    """max_names 120: 121 held names cannot be sold out within 20 % of ADV over 3 days, so
    the problem is infeasible (exit 3) and the diagnosis lists them; no trade list."""
    _, path = _max_names_config(demo_files, tmp_path, 120)
    out = tmp_path / "run"
    assert main(["rebalance", str(path), "--out", str(out), "--no-report", "-q"]) == 3
    d = json.loads((out / "diagnosis.json").read_text())
    assert d["limit"] == 120 and len(d["forced_names"]) > 120
    assert not (out / "trades.csv").exists()


def test_china_cap_holds_to_the_dollar_after_rounding(demo_files, tmp_path):
    """A 5 % China cap (country of risk): the repair brings the rounded portfolio back
    under the cap to within 1e-9 of NAV (USD 0.50), where rounding alone left it over."""
    cfg = yaml.safe_load((demo_files / "config.yaml").read_text())
    for c in cfg["constraints"]:
        if c.get("name") == "China exposure":
            c["bounds"]["China"] = [0.0, 0.05]
    cfg["data"]["directory"] = str(demo_files)
    path = tmp_path / "cn5.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    assert main(["rebalance", str(path), "--out", str(out), "--no-report", "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["repair"]["breaches_before"], "rounding alone breaks the cap here"
    assert s["repair"]["breaches_after"] == []
    h = pd.read_csv(out / "target_holdings.csv", dtype={"asset_id": str}).set_index("asset_id")
    sec = pd.read_csv(demo_files / "securities.csv", dtype={"asset_id": str})
    cn = sec.loc[sec["country_of_risk"] == "CN", "asset_id"]
    assert h["weight_after"].reindex(cn).fillna(0).sum() <= 0.05 + 1e-9
