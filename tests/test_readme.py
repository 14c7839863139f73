"""The README's notebook examples run: every ``python`` block, in order, as one script.

The blocks carry their own checks (``assert``), so an example that stops matching the
code fails here. They run in a fresh interpreter, as a user would paste them, in a
temporary folder (anything an example writes stays there).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_python_blocks_run(tmp_path):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5  # the optimizer example and the notebook examples
    script = tmp_path / "readme_examples.py"
    script.write_text(
        "\n".join(f"# --- README.md python block {i + 1}\n{b}" for i, b in enumerate(blocks)),
        encoding="utf-8",
    )
    root = str(README.parent)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard, not a timing assertion
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cost of the trade:" in proc.stdout
