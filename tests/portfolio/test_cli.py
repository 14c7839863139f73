"""End to end through the command line: demo, demo-data + rebalance, and every bad input.

The demo market is generated once per module (seeded, deterministic); runs use a temporary
folder. Exit codes follow README, "Commands", exit codes.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from portfolio.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo-data")
    assert main(["demo-data", str(d)]) == 0
    return d


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    return out


def test_packaged_demo_config_is_the_commented_example():
    packaged = (REPO / "portfolio" / "data" / "demo_fund.yaml").read_text()
    assert packaged == (REPO / "examples" / "demo_fund.yaml").read_text()


def test_demo_writes_the_run_folder(demo_run):
    names = sorted(p.name for p in demo_run.iterdir())
    assert names == [
        "cash_by_currency.csv",
        "creation_basket.csv",
        "fx_trades.csv",
        "manifest.json",
        "pcf.csv",
        "redemption_basket.csv",
        "report.html",
        "risk_by_asset.csv",
        "run.log",
        "summary.json",
        "summary.txt",
        "target_holdings.csv",
        "trades.csv",
        "trades.xlsx",
    ]
    trades = pd.read_csv(demo_run / "trades.csv", dtype={"asset_id": str})
    assert list(trades.columns) == [
        "asset_id",
        "ticker",
        "name",
        "side",
        "shares",
        "lot_size",
        "price_local",
        "currency",
        "notional_local",
        "notional_base",
        "weight_before",
        "weight_after",
        "adv_fraction",
        "est_cost_base",
    ]
    assert len(trades) > 0
    assert (trades["shares"] % trades["lot_size"] == 0).all()
    assert set(trades["side"]) <= {"BUY", "SELL"}
    summary = json.loads((demo_run / "summary.json").read_text())
    assert summary["constraint_breaches_after_rounding"] == []
    manifest = json.loads((demo_run / "manifest.json").read_text())
    assert manifest["status"]["optimizer"] in ("optimal", "optimal_inaccurate")


def test_holdings_plus_trades_equal_targets_in_whole_lots(demo_run):
    h = pd.read_csv(demo_run / "target_holdings.csv", dtype={"asset_id": str}).set_index("asset_id")
    assert (h["shares_before"] + h["trade_shares"] == h["shares_after"]).all()
    assert (h["trade_shares"] % h["lot_size"] == 0).all()
    assert (h["shares_after"] >= 0).all()
    t = pd.read_csv(demo_run / "trades.csv", dtype={"asset_id": str}).set_index("asset_id")
    signed = np.where(t["side"] == "BUY", t["shares"], -t["shares"])
    pd.testing.assert_series_equal(
        pd.Series(signed, index=t.index).sort_index(),
        h.loc[h["trade_shares"] != 0, "trade_shares"].sort_index(),
        check_names=False,
    )


def test_demo_data_then_rebalance_reproduces_the_demo(demo_files, demo_run, tmp_path):
    out = tmp_path / "from-files"
    assert main(["rebalance", str(demo_files / "config.yaml"), "--out", str(out)]) == 0
    for name in (
        "trades.csv",
        "trades.xlsx",
        "target_holdings.csv",
        "risk_by_asset.csv",
        "summary.json",
        "summary.txt",
        "report.html",
    ):
        assert (out / name).read_bytes() == (demo_run / name).read_bytes(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["inputs"]) == {
        "securities",
        "fundamentals",
        "returns",
        "holdings",
        "cash",
        "fx",
    }
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())


def _copy(demo_files, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(demo_files, d)
    return d


def _rebalance(d, capsys, tmp_path):
    """Run ``rebalance`` on ``d``; returns (exit code, stderr, whether a run folder exists)."""
    out = tmp_path / "run"
    code = main(["rebalance", str(d / "config.yaml"), "--out", str(out)])
    return code, capsys.readouterr().err, out.exists()


def test_missing_file(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    (d / "fx.csv").unlink()
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert "fx: file not found: fx.csv" in err


def test_missing_column(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    sec = pd.read_csv(d / "securities.csv", dtype={"asset_id": str})
    sec.drop(columns="sector").to_csv(d / "securities.csv", index=False)
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert "securities.csv: missing column 'sector'" in err


def test_duplicate_asset(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    sec = pd.read_csv(d / "securities.csv", dtype={"asset_id": str})
    dup = sec["asset_id"].iloc[0]
    pd.concat([sec, sec.iloc[[0]]]).to_csv(d / "securities.csv", index=False)
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert f"duplicate asset_id ['{dup}']" in err


def test_non_positive_price(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    sec = pd.read_csv(d / "securities.csv", dtype={"asset_id": str})
    sec.loc[3, "price_local"] = 0.0
    sec.to_csv(d / "securities.csv", index=False)
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert f"price_local <= 0 or missing for ['{sec.loc[3, 'asset_id']}']" in err


def test_holding_not_in_universe(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    h = pd.read_csv(d / "holdings.csv", dtype={"asset_id": str})
    h.loc[0, "asset_id"] = "NOSUCH.T"
    h.to_csv(d / "holdings.csv", index=False)
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert "holdings not in the securities universe: ['NOSUCH.T']" in err


@pytest.mark.parametrize(
    "column, group, needle",
    [("sector", "Semiconductors", "Semiconductors"), ("country", "XX", "XX")],
)
def test_unknown_group_in_constraint(demo_files, tmp_path, capsys, column, group, needle):
    d = _copy(demo_files, tmp_path)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg["constraints"].append(
        {"kind": "group_bounds", "column": column, "bounds": {group: [0.0, 0.1]}}
    )
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert needle in err
    assert f"constraints[{len(cfg['constraints']) - 1}]" in err


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda c: c["objective"].__setitem__("risk_aversion", "high"), "objective.risk_aversion"),
        (lambda c: c["fund"].__setitem__("base_currency", "usd"), "fund.base_currency"),
        (lambda c: c["trades"].__setitem__("min_trade", 5), "trades.min_trade: unknown field"),
        (lambda c: c["constraints"][5].__setitem__("max", "lots"), "constraints[5]"),
        (
            lambda c: c["constraints"].append({"kind": "sector_cap"}),
            "unknown constraint kind 'sector_cap'",
        ),
        (
            lambda c: c.__setitem__("markets", {"JP": {"lot": 100}}),
            "markets: markets.JP: unknown fields ['lot']",
        ),
    ],
)
def test_malformed_yaml_field(demo_files, tmp_path, capsys, edit, needle):
    d = _copy(demo_files, tmp_path)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    edit(cfg)
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert needle in err


def test_yaml_syntax_error(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    (d / "config.yaml").write_text("fund: [unclosed\n")
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert "config.yaml: not valid YAML" in err


def test_infeasible_exits_3_and_writes_the_diagnosis(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    for c in cfg["constraints"]:
        if c.get("name") == "China exposure":
            c["bounds"]["China"] = [0.0, 0.01]  # the fund holds about 5 % China today
        if c["kind"] == "turnover":
            c["max"] = 0.01
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    code = main(["rebalance", str(d / "config.yaml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3, err
    diagnosis = json.loads((out / "diagnosis.json").read_text())
    text = json.dumps(diagnosis)
    assert "China exposure" in text and "turnover" in text
    assert not (out / "trades.csv").exists()


def test_alpha_command_prints_diagnostics(demo_files, capsys):
    assert main(["alpha", str(demo_files / "config.yaml")]) == 0
    out = capsys.readouterr().out
    for factor in (
        "earnings_yield_fwd",
        "rorc",
        "dividend_yield",
        "interest_cover",
        "fcf_yield",
        "momentum_12_1",
    ):
        assert factor in out
    assert "blended score IC" in out


def test_risk_holdout_command(demo_files, capsys):
    code = main(
        [
            "risk",
            str(demo_files / "config.yaml"),
            "--holdout",
            "63",
            "--estimators",
            "fundamental",
            "ledoit_wolf",
            "--n-random",
            "20",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "fundamental" in out and "ledoit_wolf" in out and "bias" in out


def test_risk_holdout_rejects_unknown_estimator(demo_files, capsys):
    assert (
        main(["risk", str(demo_files / "config.yaml"), "--holdout", "63", "--estimators", "magic"])
        == 2
    )
    assert "--estimators: unknown ['magic']" in capsys.readouterr().err


def test_unknown_asset_in_a_list_constraint(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg["constraints"].append({"kind": "restricted", "assets": ["NOSUCH.T"]})
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert "NOSUCH.T" in err
    assert f"constraints[{len(cfg['constraints']) - 1}]" in err


def test_solver_not_installed(demo_files, tmp_path, capsys):
    d = _copy(demo_files, tmp_path)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg["solver"]["name"] = "NOSUCHSOLVER"
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    code, err, wrote_folder = _rebalance(d, capsys, tmp_path)
    assert (code, wrote_folder) == (2, False), err
    assert "solver.name: solvers ['NOSUCHSOLVER'] are not installed" in err


def test_demo_with_the_ledoit_wolf_risk_model(demo_files, tmp_path):
    """Issue 2's first risk model: Ledoit-Wolf (scikit-learn) handed over in exact factor form."""
    d = _copy(demo_files, tmp_path)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg["risk"] = {"estimator": "ledoit_wolf"}
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    assert main(["rebalance", str(d / "config.yaml"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    model = summary["risk"]["model"]
    assert model["estimator"] == "ledoit_wolf"
    assert summary["constraint_breaches_after_rounding"] == []
    assert summary["optimizer"]["status"] == "optimal"
