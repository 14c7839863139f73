"""The rebalance report in real headless Chromium (skipped, naming the install, without it).

Expected charts and series are derived from summary.json and the demo config, not from
the HTML: two series (before, after rounding) per exposure column with a limit tick at
each configured bound, three series for China, one per risk and alpha chart, buys and
sells for the ADV distribution.
"""

import json

import pytest

from tests.report.browser import INSTALL_HINT, chromium_path
from tests.report.checks import (
    SVG,
    assert_charts,
    assert_key_numbers,
    assert_not_blank,
    assert_self_contained,
    render_or_skip,
    series,
)

REQUIRED = [
    "nav_base",
    "as_of",
    "optimizer.solver",
    "optimizer.certificate.duality_gap",
    "portfolio.before.alpha",
    "portfolio.optimal.ex_ante_te",
    "portfolio.after_rounding.alpha",
    "portfolio.after_rounding.ex_ante_te",
    "portfolio.after_rounding.names_held",
    "turnover.after_rounding",
    "trades.count",
    "trades.est_cost_base",
    "risk.decomposition_after.active_risk",
    "china_exposure.country_of_risk in {CN}.after",
    "cash.after_costs_base",
    "fx_trades.count",
]


@pytest.fixture(scope="module")
def rendered(demo_folder, tmp_path_factory):
    shot = tmp_path_factory.mktemp("shots") / "rebalance.png"
    return render_or_skip(demo_folder / "report.html", shot), shot


def test_screenshot_is_not_blank(rendered):
    out, shot = rendered
    assert shot.exists()
    assert_not_blank(out.png)


def test_no_console_errors_and_self_contained(rendered, demo_folder):
    out, _ = rendered
    assert out.errors() == []
    assert_self_contained(out, demo_folder / "report.html")


def test_key_numbers_equal_summary_json(rendered, demo_folder):
    out, _ = rendered
    summary = json.loads((demo_folder / "summary.json").read_text())
    n = assert_key_numbers(out, summary, REQUIRED)
    assert n >= len(REQUIRED)
    assert "All constraints hold on the rounded portfolio" in out.text


def test_every_chart_with_its_series(rendered, demo_folder):
    out, _ = rendered
    s = json.loads((demo_folder / "summary.json").read_text())
    expected = {f"chart-exposure-{col}": 2 for col in s["exposures"]}
    expected.update(
        {
            "chart-china": 3,
            "chart-risk-groups": 1,
            "chart-risk-top": 1,
            "chart-trades-adv": 2,
            "chart-alpha-ic": 1,
            "chart-alpha-blend": 1,
        }
    )
    found = assert_charts(out, expected)
    # one bar per sector in each series; a limit tick at both bounds of every sector (+-5 %)
    sectors = s["exposures"]["sector"]
    for name, g in series(found["chart-exposure-sector"]).items():
        assert len(list(g.iter(f"{SVG}rect"))) == len(sectors), name
    limit = [g for g in found["chart-exposure-sector"].iter(f"{SVG}g") if g.get("class") == "limit"]
    assert len(list(limit[0].iter(f"{SVG}line"))) == 2 * len(sectors)
    # the country-of-risk column carries no per-country limit in the demo config
    assert not [
        g
        for g in found["chart-exposure-country_of_risk"].iter(f"{SVG}g")
        if g.get("class") == "limit"
    ]
    # IC history: one point per month of summary.json's blend IC history
    ic = series(found["chart-alpha-ic"])["IC"]
    assert len(list(ic.iter(f"{SVG}circle"))) == len(s["alpha"]["ic"]["blend_by_date"])


def test_a_breach_name_is_text_never_markup(demo_result, tmp_path):
    """A breach whose constraint name holds markup leads the page, in the red box, as text.

    (A real breach from a real run is tested in test_browser_breach.py.)
    """
    from portfolio.report.rebalance_html import rebalance_report_html

    if chromium_path() is None:
        pytest.skip(f"headless Chromium not installed: {INSTALL_HINT}")
    result, summary = demo_result
    bad = json.loads(json.dumps(summary))
    bad["constraint_breaches_after_rounding"] = [
        {"name": "China exposure <script>", "violation": 0.0012, "unit": "weight", "n_rows": 1}
    ]
    bad["hard_limits"] = {"status": "breached", "breached": ["China exposure <script>"]}
    page = tmp_path / "report.html"
    page.write_text(rebalance_report_html(result, bad))
    out = render_or_skip(page, tmp_path / "breach-markup.png")
    assert out.errors() == []  # the <script> in the name is text, never run
    first = out.text.split("\n", 3)
    assert "1 hard limit(s) broken after board-lot rounding" in "\n".join(first)
    assert "China exposure <script>: outside its limit by 0.12% on 1 row" in out.text
    assert 'class="alert bad"' in out.dom
    assert "All constraints hold" not in out.text
