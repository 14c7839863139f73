"""What the HTML report adds to a demo rebalance: time and file size.

Runs the demo rebalance once, then writes its run-folder files with and without
``report.html`` (interleaved, ``--repeat`` times) and prints the extra time of the report
(median, and the first call, which includes importing the report modules), the size of
``report.html`` and of ``trades.xlsx``, and what drawing the same nine charts with
matplotlib costs in a fresh process (import + render; ``null`` when it is not installed).
Targets: <= 0.5 s added, HTML <= 1.5 MB.

    python benchmarks/report_speed.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

# The same nine charts drawn with matplotlib (what the issue first suggested), in a fresh
# process so the import is counted: why the report writes its SVG by hand.
_MPL = r"""
import io, json, time
t0 = time.perf_counter()
try:
    import matplotlib
except ImportError:
    print(json.dumps(None)); raise SystemExit
matplotlib.use("svg")
import matplotlib.pyplot as plt
import numpy as np
t1 = time.perf_counter()
rng = np.random.default_rng(0)
sizes = []
def save(fig):
    buf = io.StringIO(); fig.savefig(buf, format="svg"); plt.close(fig)
    sizes.append(len(buf.getvalue()))
for n in (10, 10, 11):  # exposure bars by listing country, country of risk, sector + limits
    fig, ax = plt.subplots(figsize=(7.2, 3.5)); y = np.arange(n)
    ax.barh(y - 0.2, rng.normal(0, .05, n), 0.4); ax.barh(y + 0.2, rng.normal(0, .05, n), 0.4)
    ax.vlines([-.05, .05], -0.5, n - 0.5, colors="r"); ax.set_yticks(y, [f"g{i}" for i in y])
    save(fig)
fig, ax = plt.subplots(figsize=(7.2, 3)); x = np.arange(3)  # China, 3 series + caps
for k in range(3):
    ax.bar(x + 0.25 * k, rng.uniform(0, .2, 3), 0.25)
ax.hlines([.1, .15], [-.2, 1.8], [.7, 2.7], colors="r"); save(fig)
for n in (5, 15, 6):  # risk groups, top contributors, blend weights
    fig, ax = plt.subplots(figsize=(7.2, 3)); ax.barh(np.arange(n), rng.uniform(0, .02, n))
    save(fig)
fig, ax = plt.subplots(figsize=(7.2, 2.5))  # trades by % ADV, buys and sells
for d in (-.2, .2):
    ax.bar(np.arange(7) + d, rng.integers(0, 90, 7), .4)
save(fig)
fig, ax = plt.subplots(figsize=(7.2, 2.5))  # IC history
ax.plot(np.arange(36), rng.normal(0.03, 0.06, 36), marker="o"); ax.axhline(0.03, ls="--")
save(fig)
t2 = time.perf_counter()
print(json.dumps({"import_s": round(t1 - t0, 3), "render_s": round(t2 - t1, 3),
                  "total_s": round(t2 - t0, 3), "charts": len(sizes), "svg_bytes": sum(sizes),
                  "version": matplotlib.__version__}))
"""


def matplotlib_cost() -> dict | None:
    """Import + render time of the report's nine charts in matplotlib (None: not installed)."""
    out = subprocess.run([sys.executable, "-c", _MPL], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()

    import yaml

    from portfolio.cli import demo_config_text
    from portfolio.config import parse_config
    from portfolio.datasets import generate_demo_market
    from portfolio.demo import demo_market_data
    from portfolio.rebalance import Rebalancer

    config = parse_config(yaml.safe_load(demo_config_text()))
    data = demo_market_data(generate_demo_market(), config)
    result = Rebalancer(config).run(data)
    summary = result.summary()

    t = time.perf_counter()
    from portfolio.report.rebalance_html import rebalance_report_html

    first_html = rebalance_report_html(result, summary)
    first = time.perf_counter() - t

    from portfolio.report import run_folder_files

    with_r, without = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        files = run_folder_files(result, summary, report=True)
        with_r.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_folder_files(result, summary, report=False)
        without.append(time.perf_counter() - t)
    html = files["report.html"].encode("utf-8")
    assert html == first_html.encode("utf-8")
    added = [a - b for a, b in zip(with_r, without, strict=True)]
    print(
        json.dumps(
            {
                "report_added_s_median": round(statistics.median(added), 3),
                "report_added_s_max": round(max(added), 3),
                "report_first_call_s": round(first, 3),
                "run_folder_files_s_median": round(statistics.median(with_r), 3),
                "rebalance_total_s": round(result.timings["total_s"], 3),
                "report_html_bytes": len(html),
                "report_html_mb": round(len(html) / 1e6, 3),
                "trades_xlsx_bytes": len(files["trades.xlsx"]),
                "targets": {"added_s": 0.5, "html_mb": 1.5},
                "matplotlib_same_charts": matplotlib_cost(),
            }
        )
    )


if __name__ == "__main__":
    main()
