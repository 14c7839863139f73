"""The browser checks can fail: a page with a console error, an exception and a failed load
is caught, and a blank page is called blank."""

import pytest

from tests.report.checks import assert_not_blank, assert_self_contained, render_or_skip

BAD = (
    "<!DOCTYPE html><html><body><p>hello</p>"
    '<img src="http://127.0.0.1:9/x.png">'
    '<script>console.error("boom"); notDefined();</script></body></html>'
)


def test_errors_are_caught(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(BAD)
    out = render_or_skip(page, tmp_path / "bad.png")
    errors = " | ".join(out.errors())
    assert "console.error: boom" in errors
    assert "notDefined is not defined" in errors
    assert "Failed to load resource" in errors
    assert out.text.strip() == "hello"
    assert "http://127.0.0.1:9/x.png" in out.requests  # a request out is seen
    with pytest.raises(AssertionError):
        assert_self_contained(out, page)


def test_blank_page_is_blank(tmp_path):
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><body></body></html>")
    out = render_or_skip(page, tmp_path / "blank.png")
    assert out.errors() == []
    with pytest.raises(AssertionError):
        assert_not_blank(out.png)
