"""The SVG charts and the HTML builder, without a browser: ticks, well-formed SVG, escaping."""

import math
import xml.etree.ElementTree as ET

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from portfolio.report import svg
from portfolio.report.html import key, page, table

NS = "{http://www.w3.org/2000/svg}"


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
@example(lo=-1e-05, width=25001.0)  # just below a tick, by far less than the step
def test_nice_ticks_cover_the_range_with_a_round_step(lo, width):
    hi = lo + width
    t = svg.nice_ticks(lo, hi)
    assert t[0] <= lo + 1e-9 * max(1.0, abs(lo)) and t[-1] >= hi - 1e-9 * max(1.0, abs(hi))
    assert 2 <= len(t) <= 12
    step = t[1] - t[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5, 10))


def test_bar_chart_is_wellformed_with_one_rect_per_value_and_limits():
    cats = ["A & B", "<C>", "D"]
    out = svg.hbar_chart(
        "c1", "Title <x>", cats, {"s1": [0.01, -0.02, np.nan], "s2": [0.0, 0.01, 0.02]},
        {"A & B": (-0.05, 0.05), "D": (None, 0.03)},
    )  # fmt: skip
    root = ET.fromstring(out)
    assert root.get("id") == "c1" and root.get("class") == "chart"
    groups = {g.get("data-series"): g for g in root.iter(f"{NS}g") if g.get("class") == "series"}
    assert sorted(groups) == ["s1", "s2"]
    assert len(list(groups["s1"].iter(f"{NS}rect"))) == 2  # NaN draws no bar
    assert len(list(groups["s2"].iter(f"{NS}rect"))) == 3
    limits = [g for g in root.iter(f"{NS}g") if g.get("class") == "limit"]
    assert len(list(limits[0].iter(f"{NS}line"))) == 3  # two for A & B, one for D
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "A & B" in texts and "<C>" in texts


def test_line_chart_breaks_at_nan_and_marks_regions():
    out = svg.line_chart(
        "c2", "t", [0.0, 1.0, 2.0, 3.0], {"y": [1.0, np.nan, 2.0, 3.0]},
        regions=[(2.0, 3.0, "binding")], markers=True,
    )  # fmt: skip
    root = ET.fromstring(out)
    path = next(root.iter(f"{NS}path"))
    assert path.get("d").count("M") == 2  # the NaN starts a new piece
    assert len(list(root.iter(f"{NS}circle"))) == 3
    assert [g.get("class") for g in root.iter(f"{NS}g")].count("region") == 1


def test_html_escapes_every_text():
    html = page(
        "<script>alert(1)</script>", "sub & co",
        [table(["h<1>"], [["<b>x</b>"]]), key("a.b", 0.5, "50% <")],
    )  # fmt: skip
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'data-key="a.b" data-value="0.5"' in html
    assert "http" not in html  # self-contained: no external reference


@given(st.floats(min_value=-2.0, max_value=2.0, allow_nan=False), st.integers(0, 4))
def test_fmt_pct_rounds_like_format_and_never_shows_minus_zero(x, digits):
    from portfolio.report.html import fmt_pct

    text = fmt_pct(x, digits)
    assert text.endswith("%")
    shown = float(text[:-1])
    assert abs(shown - 100 * x) <= 0.5 * 10.0**-digits + 1e-9
    assert not (text.startswith("-") and shown == 0.0), text
