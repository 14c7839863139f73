"""The what-if report of a real ``active-etf whatif`` run, in headless Chromium.

The run: the small fund (300 names) with a list scenario, an infeasible scenario, a
2 x 2 grid, a China-cap cost curve and a risk-aversion frontier. Expected from the run's
own files: every key number equals ``comparison.json``; one chart per frontier, three
series (utility, alpha, TE) on the cost curve with the binding region shaded, one series
(alpha against TE) on the frontier.
"""

import json

import pytest
import yaml

from portfolio.cli import main
from portfolio.datasets import generate_demo_market, write_demo_data
from tests.report.checks import (
    SVG,
    assert_charts,
    assert_key_numbers,
    assert_not_blank,
    render_or_skip,
    series,
)
from tests.studies.conftest import small_config_raw

CHINA = "constraints.China exposure.bounds.China.max"
SCENARIOS = {
    "scenarios": [
        {"name": "China cap 7 %", "changes": {CHINA: 0.07}},
        {"name": "cash grab", "changes": {"constraints.cash_band.min": 0.15,  # infeasible
                                          "constraints.cash_band.max": 0.3,
                                          "constraints.turnover.max": 0.03}},
    ],
    "grid": {"constraints.turnover.max": [0.22, 0.30], "objective.risk_aversion": [5, 20]},
    "frontier": [
        {"name": "China cap", "path": CHINA, "from": 0.15, "to": 0.03, "points": 5,
         "max_points": 9},
        {"name": "risk aversion", "path": "objective.risk_aversion", "from": 2, "to": 50,
         "points": 4, "max_points": 7, "scale": "log"},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def whatif_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("whatif")
    write_demo_data(generate_demo_market(seed=11, n_securities=300), d / "data")
    (d / "data" / "config.yaml").write_text(yaml.safe_dump(small_config_raw()))
    (d / "s.yaml").write_text(yaml.safe_dump(SCENARIOS))
    out = d / "run"
    args = ["whatif", str(d / "data" / "config.yaml"), str(d / "s.yaml"), "--out", str(out),
            "-q"]  # fmt: skip
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def rendered(whatif_folder, tmp_path_factory):
    shot = tmp_path_factory.mktemp("shots") / "whatif.png"
    return render_or_skip(whatif_folder / "report.html", shot)


def test_run_folder(whatif_folder):
    names = {p.name for p in whatif_folder.iterdir()}
    assert {"comparison.csv", "comparison.json", "frontiers.csv", "frontiers.json",
            "report.html", "summary.txt", "manifest.json", "scenarios.yaml"} <= names  # fmt: skip
    doc = json.loads((whatif_folder / "comparison.json").read_text())
    rows = doc["scenarios"]
    assert [r["scenario"] for r in rows][:3] == ["base", "China cap 7 %", "cash grab"]
    assert len(rows) == 7 and rows[2]["status"] == "infeasible"
    text = (whatif_folder / "summary.txt").read_text()
    assert "cash grab" in text and "infeasible" in text


def test_whatif_report_in_the_browser(rendered, whatif_folder):
    out = rendered
    assert_not_blank(out.png)
    assert out.errors() == []
    doc = json.loads((whatif_folder / "comparison.json").read_text())
    ok = [i for i, r in enumerate(doc["scenarios"]) if r["status"] in ("ok", "breach")]
    required = [f"scenarios.{i}.{c}" for i in ok for c in ("utility_bp", "alpha", "ex_ante_te")]
    assert assert_key_numbers(out, doc, required) >= 10 * len(ok)
    bad = doc["scenarios"][2]
    assert bad["diagnosis"][:40] in out.text and bad["smallest_relaxation"] in out.text
    found = assert_charts(out, {"frontier-0": 3, "frontier-1": 1})
    frontiers = json.loads((whatif_folder / "frontiers.json").read_text())
    curve = series(found["frontier-0"])
    n_ok = sum(p["status"] == "ok" for p in frontiers[0]["points"])
    assert len(list(curve["utility"].iter(f"{SVG}circle"))) == n_ok
    region = [g for g in found["frontier-0"].iter(f"{SVG}g") if g.get("class") == "region"]
    assert frontiers[0]["binding_region"] is not None and len(region) == 1
    n_te = sum(p["status"] == "ok" for p in frontiers[1]["points"])
    assert len(list(series(found["frontier-1"])["alpha"].iter(f"{SVG}circle"))) == n_te
