"""A real run that breaks a hard limit after board-lot rounding: its report, in Chromium.

The run (tests/report/scenarios.py) holds one name at 2.7 % with a 2 % active limit, a
board lot of 0.9 % of NAV and a liquidity limit of 0.8 %: no whole number of lots meets
both. Expected values come from the run's summary.json, never from the HTML.
"""

import json

import pytest

from tests.report.checks import (
    assert_key_numbers,
    assert_not_blank,
    assert_self_contained,
    render_or_skip,
)
from tests.report.scenarios import breach_run


@pytest.fixture(scope="module")
def breach(tmp_path_factory):
    code, folder, asset = breach_run(tmp_path_factory.mktemp("breach"))
    return code, folder, asset, json.loads((folder / "summary.json").read_text())


def test_the_run_breaks_a_limit_and_still_writes_its_trade_list(breach):
    code, folder, asset, summary = breach
    assert code == 5  # a hard limit broken after rounding: trade list written and marked
    breaches = summary["constraint_breaches_after_rounding"]
    assert breaches, "the scenario no longer breaks a limit after rounding"
    rows = {r for b in breaches for r in b.get("rows", {})}
    assert asset in rows  # the name with no whole number of lots that meets both limits
    names = {p.name for p in folder.iterdir()}
    assert {"trades.csv", "trades.xlsx", "report.html", "summary.txt", "DO_NOT_SEND.txt"} <= names
    import openpyxl

    items = dict(
        openpyxl.load_workbook(folder / "trades.xlsx")["Summary"].iter_rows(values_only=True)
    )
    assert items["hard limits after rounding"] == "BROKEN: DO NOT SEND (exit code 5)"
    text = (folder / "summary.txt").read_text()
    assert f"WARNING: {len(breaches)} constraint breaches after board-lot rounding" in text


def test_the_breach_leads_the_report_in_red(breach, tmp_path_factory):
    _, folder, asset, summary = breach
    shot = tmp_path_factory.mktemp("shots") / "breach.png"
    out = render_or_skip(folder / "report.html", shot)
    assert_not_blank(out.png)
    assert out.errors() == []
    assert_self_contained(out, folder / "report.html")
    breaches = summary["constraint_breaches_after_rounding"]
    required = [f"constraint_breaches_after_rounding.{k}.violation" for k in range(len(breaches))]
    assert_key_numbers(out, summary, required + ["trades.count", "nav_base"])
    # the red box comes first: right after the title and subtitle, before every section
    hard = summary["hard_limits"]["breached"]
    assert hard  # the liquidity limit or the position limit: both are hard
    lines = [x for x in out.text.split("\n") if x.strip()]
    assert lines[2].startswith(f"{len(hard)} hard limit(s) broken after board-lot rounding")
    assert "DO_NOT_SEND.txt, exit code 5" in lines[2]
    first_section = out.text.index("Portfolio: before, optimal")
    for b in breaches:
        at = out.text.index(f"{b['name']}: outside its limit by")
        assert at < first_section, b["name"]
        for row in b.get("rows", {}):
            assert row in out.text[at:first_section]
    box = out.dom.index('class="alert bad"')
    assert box < out.dom.index("<section")
    assert "All constraints hold" not in out.text
