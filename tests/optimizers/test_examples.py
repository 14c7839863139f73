"""The what-if example (examples/whatif_grid.py) runs on the demo fund's files and its
grid has the properties a looser limit must give: utility never falls when a cap is
loosened; the README's Python example runs as written."""

import importlib.util
import runpy
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "whatif_grid.py"


def load_example():
    spec = importlib.util.spec_from_file_location("whatif_grid", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_whatif_grid_is_monotone_and_within_limits(tmp_path):
    """The example on the demo fund's own files: one row per grid point after the base,
    one fit and one build, utility never falls when a cap is loosened (certified to 1e-9
    of utility = 1e-5 bp), and every optimal portfolio holds its caps."""
    ex = load_example()
    result = ex.whatif_grid(tmp_path)
    rows = result.comparison()
    assert len(rows) == 1 + len(ex.TURNOVER_CAPS) * len(ex.CHINA_CAPS)
    assert result.fits == 1 and result.builds == 1
    grid = rows.iloc[1:].copy()
    assert grid["status"].isin(["ok", "breach"]).all()
    grid["turnover_cap"] = [t for t in ex.TURNOVER_CAPS for _ in ex.CHINA_CAPS]  # grid order
    grid["china_cap"] = [c for _ in ex.TURNOVER_CAPS for c in ex.CHINA_CAPS]
    table = grid.pivot(index="turnover_cap", columns="china_cap", values="utility_bp")
    assert (np.diff(table.to_numpy(), axis=0) >= -1e-5).all()
    assert (np.diff(table.to_numpy(), axis=1) >= -1e-5).all()
    curve = result.frontiers[0]
    ok = [p for p in curve["points"] if p["status"] == "ok"]
    assert len(ok) >= 7
    u = [p["utility_bp"] for p in sorted(ok, key=lambda p: p["value"])]
    assert (np.diff(u) >= -1e-5).all()


def test_readme_python_example_runs(tmp_path):
    """The README's optimizer example runs as written, on its own (as a script file);
    ``tests/test_readme.py`` runs every block in order, notebook style."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    blocks = [b for b in blocks if "r10 = " in b]
    assert len(blocks) == 1
    for i, code in enumerate(blocks):
        script = tmp_path / f"readme_block_{i}.py"
        script.write_text(code)
        scope = runpy.run_path(str(script))
        r, r10 = scope["r"], scope["r10"]
        assert r.solver == r10.solver == "DUAL_NEWTON"
        assert r10.turnover <= 0.10 + 1e-9 and r10.objective <= r.objective + 1e-9
