"""An infeasible rebalance (exit 3) still gets report.html and summary.txt: the diagnosis.

The run is real (tests/report/scenarios.py: a 1 % China cap and a 1 % turnover cap on the
demo fund, which holds about 5 % China). Expected values come from diagnosis.json.
"""

import json

import pytest

from portfolio.report.infeasible_html import _PCT_UNITS
from tests.report.checks import (
    SVG,
    assert_charts,
    assert_key_numbers,
    assert_not_blank,
    assert_self_contained,
    render_or_skip,
    series,
)
from tests.report.scenarios import infeasible_run


@pytest.fixture(scope="module")
def infeasible(tmp_path_factory):
    code, folder = infeasible_run(tmp_path_factory.mktemp("infeasible"))
    return code, folder, json.loads((folder / "diagnosis.json").read_text())


def test_exit_3_with_diagnosis_summary_and_report(infeasible):
    code, folder, d = infeasible
    assert code == 3
    names = {p.name for p in folder.iterdir()}
    assert {"diagnosis.json", "summary.txt", "report.html", "manifest.json"} <= names
    assert not {"trades.csv", "trades.xlsx", "summary.json"} & names
    text = (folder / "summary.txt").read_text()
    assert "INFEASIBLE" in text
    for c in d["conflicts"]:
        assert c["statement"] in text
    for e in d["elastic"]:
        assert e["text"] in text


def test_the_diagnosis_in_the_browser(infeasible, tmp_path_factory):
    _, folder, d = infeasible
    shot = tmp_path_factory.mktemp("shots") / "infeasible.png"
    out = render_or_skip(folder / "report.html", shot)
    assert_not_blank(out.png)
    assert out.errors() == []
    assert_self_contained(out, folder / "report.html")
    required = ["solves"] + [f"elastic.{k}.amount" for k in range(len(d["elastic"]))]
    assert_key_numbers(out, d, required)
    lines = [x for x in out.text.split("\n") if x.strip()]
    assert lines[2].startswith("Infeasible: no portfolio meets every hard constraint")
    assert out.dom.index('class="alert bad"') < out.dom.index("<section")
    for c in d["conflicts"]:
        assert c["statement"] in out.text
        for r in c["relaxations"]:
            assert r["text"] in out.text
    # the chart: configured and relaxed limit of every percent-unit row the joint change moves
    rows = [r for e in d["elastic"] for r in e["rows"] if r["limit_unit"] in _PCT_UNITS]
    found = assert_charts(out, {"chart-infeasible-limits": 2})
    s = series(found["chart-infeasible-limits"])
    for name in ("configured limit", "relaxed limit"):
        assert len(list(s[name].iter(f"{SVG}rect"))) == len(rows), name
    # every conflict member is marked in the list of configured constraints
    members = {m for c in d["conflicts"] for m in c["constraints"]}
    marked = out.dom.count("in a conflict</td>")
    assert marked == len(members)


def test_no_report_keeps_the_summary(infeasible):
    """``--no-report`` drops report.html only (checked on the same config and data)."""
    from portfolio.cli import _infeasible_files
    from portfolio.config import load_config
    from portfolio.inputs import load_market_data

    _, folder, d = infeasible
    path = folder.parent / "data" / "config.yaml"
    config = load_config(path)
    data = load_market_data(config.data.paths(path.parent), config.fund.base_currency)
    import pandas as pd

    as_of = pd.Timestamp(config.fund.as_of)
    without = _infeasible_files(config, data, d, as_of, report=False)
    assert sorted(without) == ["summary.txt"]
    assert without["summary.txt"] == (folder / "summary.txt").read_text()
    with_report = _infeasible_files(config, data, d, as_of, report=True)
    assert with_report["report.html"] == (folder / "report.html").read_text()
