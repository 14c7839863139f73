"""What the HTML report adds to a demo rebalance: time and file size.

Runs the demo rebalance once, then writes its run-folder files with and without
``report.html`` (interleaved, ``--repeat`` times) and prints the extra time of the report
(median, and the first call, which includes importing the report modules), the size of
``report.html`` and of ``trades.xlsx``. Targets: <= 0.5 s added, HTML <= 1.5 MB.

    python benchmarks/report_speed.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


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
            }
        )
    )


if __name__ == "__main__":
    main()
