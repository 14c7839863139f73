"""The what-if example (examples/whatif_grid.py) runs and its grid has the properties
a looser limit must give: utility never falls when a cap is loosened, every limit
holds, and a binding TE cap is reported under its new limit."""

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


def test_whatif_grid_is_monotone_and_within_limits():
    ex = load_example()
    grid = ex.whatif_grid(800)
    assert len(grid) == len(ex.TURNOVER_CAPS) * len(ex.TE_CAPS)
    assert (grid["breaches"] == 0).all() and (grid["solver"] == "DUAL_NEWTON").all()
    assert (grid["ex_ante_te"] <= grid["te_cap"] + 1e-8).all()
    assert (grid["turnover"] <= grid["turnover_cap"] + 1e-9).all()
    table = grid.pivot(index="turnover_cap", columns="te_cap", values="utility_bp")
    # certified to 1e-9 of utility = 1e-5 bp
    assert (np.diff(table.to_numpy(), axis=0) >= -1e-5).all()
    assert (np.diff(table.to_numpy(), axis=1) >= -1e-5).all()
    binding = grid[grid["ex_ante_te"] >= grid["te_cap"] - 1e-7]
    assert len(binding) >= 1
    for _, row in binding.iterrows():
        assert f"tracking error <= {row['te_cap']:.2%}" in row["binding"]


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
