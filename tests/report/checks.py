"""Checks on a rendered report, shared by the browser tests of every report kind.

- the page is self-contained: no request but the page itself, no script, no link out;
- the screenshot is not blank (pixel spread of the decoded PNG);
- no console error, uncaught exception or failed load;
- every key number (``data-key`` / ``data-value``) equals the value at that path in the
  run's JSON file, and its shown text is that value at the shown precision and appears in
  the rendered text;
- every chart is an ``<svg class="chart">`` with the expected number of series.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tests.report.browser import INSTALL_HINT, Rendered, chromium_path, render

SVG = "{http://www.w3.org/2000/svg}"


def render_or_skip(page: Path, shot: Path) -> Rendered:
    """Render ``page``, save its screenshot as ``shot`` (and a copy in $REPORT_SHOTS_DIR)."""
    if chromium_path() is None:
        pytest.skip(f"headless Chromium not installed: {INSTALL_HINT}")
    out = render(page)
    shot.write_bytes(out.png)
    if os.environ.get("REPORT_SHOTS_DIR"):
        d = Path(os.environ["REPORT_SHOTS_DIR"])
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, d / shot.name)
    return out


def assert_self_contained(out: Rendered, page: Path) -> None:
    """One file, readable offline and without JavaScript: the page itself is the only
    request the browser made, and the file has no script, event handler or external link."""
    assert out.requests == [Path(page).resolve().as_uri()], out.requests
    html = Path(page).read_text(encoding="utf-8").lower()
    assert "<script" not in html and "javascript:" not in html
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"(src|href)\s*=|url\(|@import|<link|<iframe|<object", html)


def assert_not_blank(png: bytes) -> None:
    from PIL import Image  # the "test" extra

    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert img.shape[0] > 800 and img.shape[1] >= 1200, img.shape
    non_white = (img < 245).mean()
    assert img.std() > 10 and non_white > 0.02, (img.std(), non_white)


class _Keys(HTMLParser):
    """Collects (data-key, data-value, text) of every key number span."""

    def __init__(self):
        super().__init__()
        self.keys: list[list] = []
        self._open: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-key" in a:
            self._open = [a["data-key"], a["data-value"], ""]
            self.keys.append(self._open)

    def handle_data(self, data):
        if self._open is not None:
            self._open[2] += data

    def handle_endtag(self, tag):
        if tag == "span":
            self._open = None


def lookup(doc, path: str):
    """The value at a dotted ``path`` in a JSON document (list items by index)."""
    node = doc
    for part in _split(path, doc):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _split(path: str, doc) -> list[str]:
    """Split a dotted path; keys that themselves contain dots are matched greedily."""
    parts, node, rest = [], doc, path
    while rest:
        if isinstance(node, dict):
            match = max((k for k in node if rest == k or rest.startswith(k + ".")), key=len)
        else:
            match = rest.split(".", 1)[0]
        parts.append(match)
        node = node[int(match)] if isinstance(node, list) else node[match]
        rest = rest[len(match) + 1 :]
    return parts


_NUM = re.compile(r"-?[\d,]*\.?\d+(?:e[-+]?\d+)?")


def _shown_matches(text: str, value) -> bool:
    """``text`` shows ``value`` at its own precision (percent, plain, money, or a string)."""
    if isinstance(value, str):
        return text == value
    m = _NUM.search(text)
    if m is None:
        return False
    token = m.group(0)
    shown = float(token.replace(",", ""))
    scale = 100.0 if text[m.end() : m.end() + 1] == "%" else 1.0
    if "e" in token:
        mant = token.split("e")[0]
        digits = len(mant.split(".")[1]) if "." in mant else 0
        tol = 0.5 * 10.0 ** (int(token.split("e")[1]) - digits)
        return abs(abs(shown) - abs(value)) <= tol * 1.0001
    digits = len(token.split(".")[1]) if "." in token else 0
    return abs(shown - scale * value) <= 0.5 * 10.0**-digits * 1.0001


def assert_key_numbers(out: Rendered, doc: dict, required: list[str]) -> int:
    """Every key number equals ``doc`` and is visible; the ``required`` paths are shown."""
    parser = _Keys()
    parser.feed(out.dom)
    seen = {}
    for path, raw, text in parser.keys:
        expected = lookup(doc, path)
        assert json.loads(raw) == expected, (path, raw, expected)
        assert _shown_matches(text, expected), (path, text, expected)
        assert text in out.text, (path, text)
        seen[path] = text
    missing = [p for p in required if p not in seen]
    assert not missing, missing
    return len(seen)


def charts(dom: str) -> dict[str, ET.Element]:
    """Every ``<svg class="chart">`` in the rendered DOM, parsed, by id."""
    out = {}
    for m in re.finditer(r"<svg\b[^>]*class=\"chart\".*?</svg>", dom, flags=re.S):
        el = ET.fromstring(m.group(0))
        out[el.get("id")] = el
    return out


def series(chart: ET.Element) -> dict[str, ET.Element]:
    """The ``<g class="series">`` groups of a chart, by series name."""
    return {g.get("data-series"): g for g in chart.iter(f"{SVG}g") if g.get("class") == "series"}


def assert_charts(out: Rendered, expected: dict[str, int]) -> dict[str, ET.Element]:
    """Exactly the ``expected`` charts ``{id: series count}`` are drawn, each non-empty."""
    found = charts(out.dom)
    assert sorted(found) == sorted(expected), (sorted(found), sorted(expected))
    for cid, n in expected.items():
        s = series(found[cid])
        assert len(s) == n, (cid, sorted(s))
        for name, g in s.items():
            marks = list(g.iter(f"{SVG}rect")) + list(g.iter(f"{SVG}path"))
            assert marks, (cid, name)
    return found
