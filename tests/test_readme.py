"""The README's notebook examples run: every ``python`` block, in order, in one namespace.

The blocks carry their own checks (``assert``), so an example that stops matching the
code fails here.
"""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5  # the optimizer example and the notebook examples
    monkeypatch.chdir(tmp_path)  # anything an example writes stays in a temporary folder
    namespace: dict = {"__name__": "readme"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)
    assert "cost of the trade:" in capsys.readouterr().out
