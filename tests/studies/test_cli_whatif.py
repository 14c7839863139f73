"""``active-etf whatif`` end to end on the small fund's files: the base scenario's trades
equal ``active-etf rebalance``'s byte for byte; the progress bar and ``-q``; the run
folder is protected like every other run folder."""

import json

import numpy as np
import pandas as pd
import yaml

from portfolio.cli import main
from portfolio.studies.rows import COLUMNS

DOC = {
    "scenarios": [{"name": "turnover 25 %", "changes": {"constraints.turnover.max": 0.25}}],
    "grid": {"objective.risk_aversion": [5, 20]},
}


def test_whatif_cli_run_folder(tmp_path, small_files, capsys):
    s = tmp_path / "s.yaml"
    s.write_text(yaml.safe_dump(DOC))
    out = tmp_path / "study"
    assert main(["whatif", str(small_files), str(s), "--out", str(out), "--write-trades"]) == 0
    err = capsys.readouterr().err
    assert "4/4 scenarios" in err  # the progress bar (stderr is not a terminal: 10 % steps)
    comp = pd.read_csv(out / "comparison.csv")
    assert list(comp.columns) == COLUMNS
    assert list(comp["scenario"]) == ["base", "turnover 25 %", "objective.risk_aversion=5",
                                      "objective.risk_aversion=20"]  # fmt: skip
    doc = json.loads((out / "comparison.json").read_text())
    utility = [r["utility_bp"] for r in doc["scenarios"]]
    assert np.allclose(utility, comp["utility_bp"], rtol=1e-9)  # CSV: 10 significant digits
    assert doc["fits"] == 1 and doc["builds"] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert "scenarios" in manifest["active_etf_run_folder"]["files"]  # written by the tool
    # the base scenario is the plain rebalance: the same trades, byte for byte
    reb = tmp_path / "rebalance"
    assert main(["rebalance", str(small_files), "--out", str(reb), "-q"]) == 0
    base_trades = (out / "scenarios" / "base" / "trades.csv").read_bytes()
    assert base_trades == (reb / "trades.csv").read_bytes()
    assert (out / "scenarios" / "turnover-25" / "target_holdings.csv").exists()
    # a second run into the same folder needs --replace; with it, the folder is replaced
    capsys.readouterr()
    assert main(["whatif", str(small_files), str(s), "--out", str(out), "-q"]) == 2
    assert "--replace" in capsys.readouterr().err
    assert main(["whatif", str(small_files), str(s), "--out", str(out), "-q", "--replace"]) == 0
    assert capsys.readouterr().err == ""  # -q: no progress bar
    assert not (out / "scenarios").exists()  # no --write-trades this time
