"""What-if grid on the demo fund's own files, from Python (:class:`portfolio.studies.Study`).

The demo fund's inputs and config are written to a folder (what ``active-etf demo-data
DIR`` writes) and read back the way ``active-etf rebalance`` reads them. A grid of
turnover cap x China cap is then run: alpha and risk are fitted once, the optimizer is
built once, and each scenario is a warm re-solve followed by lot rounding and the
re-check. A China-cap cost curve shows where the cap starts to bind and what it costs.

Run: ``python examples/whatif_grid.py [FOLDER]`` (default: a temporary folder).
The same study from the command line: ``active-etf whatif FOLDER/config.yaml
examples/whatif_demo.yaml``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from portfolio.cli import demo_config_text
from portfolio.config import load_config
from portfolio.datasets import generate_demo_market, write_demo_data
from portfolio.inputs import load_market_data
from portfolio.studies import Study, StudyResult

TURNOVER_CAPS = (0.20, 0.25, 0.30)
CHINA_CAPS = (0.05, 0.10)
CHINA = "constraints.China exposure.bounds.China.max"


def load_demo_fund(folder: Path):
    """Write the demo fund's files into ``folder``; return ``(config, data, folder)``."""
    write_demo_data(generate_demo_market(), folder)
    (folder / "config.yaml").write_text(demo_config_text(), encoding="utf-8")
    config = load_config(folder / "config.yaml")
    data = load_market_data(config.data.paths(folder), config.fund.base_currency)
    return config, data, folder


def whatif_grid(folder: Path) -> StudyResult:
    """Turnover cap x China cap on the demo fund, plus the China-cap cost curve."""
    config, data, base_dir = load_demo_fund(folder)
    study = Study(config, data, base_dir)
    study.grid({"constraints.turnover.max": list(TURNOVER_CAPS), CHINA: list(CHINA_CAPS)})
    study.frontier("China cap", CHINA, 0.20, 0.02, points=7, max_points=15)
    return study.run()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        result = whatif_grid(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp))
    cols = ["scenario", "status", "utility_bp", "alpha", "ex_ante_te", "turnover",
            "est_cost_bp", "china_country_of_risk"]  # fmt: skip
    print(result.comparison()[cols].round(4).to_string(index=False))
    curve = result.frontiers[0]
    print(f"China cap binds from {curve['binding_region']} ({len(curve['points'])} points):")
    for p in curve["points"]:
        if p["status"] == "ok":
            print(f"  cap {p['value']:.3f}: utility {p['utility_bp']:.1f} bp, "
                  f"price {p['limit_price_bp']:.2f} bp per 1 %")  # fmt: skip
        else:
            print(f"  cap {p['value']:.3f}: {p['status']}")
