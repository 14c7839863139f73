"""Speed and memory of the embedded demo market generator (default size).

Run: ``python benchmarks/demo_market_generation.py [--n-securities 1200] [--repeat 3]``.
Prints the wall time of ``generate_demo_market`` (best and median of the repeats) and of
its records (``planted``, ``securities_history``, ``fx_history``: computed on first access,
which a rebalance never makes but a backtest and ``write_demo_data`` do), the peak traced
Python memory of one run (``tracemalloc``), the process peak RSS, and the time and size of
``write_demo_data`` into a temporary folder.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from portfolio.datasets import generate_demo_market, write_demo_data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-securities", type=int, default=1200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    generate_demo_market(n_securities=200)  # warm imports and caches
    times, record_times = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        market = generate_demo_market(n_securities=args.n_securities)
        t1 = time.perf_counter()
        market.planted  # noqa: B018 (computes the records)
        times.append(t1 - t0)
        record_times.append(time.perf_counter() - t1)

    tracemalloc.start()
    generate_demo_market(n_securities=args.n_securities).planted  # noqa: B018
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = write_demo_data(market, Path(tmp))
        t_write = time.perf_counter() - t0
        sizes = {k: p.stat().st_size for k, p in paths.items()}

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    rss_mib = rss / 1024 if sys.platform != "darwin" else rss / 2**20
    print(
        f"universe: {len(market.securities)} securities x {len(market.returns)} days, "
        f"{len(market.fundamentals)} fundamentals rows, {len(market.holdings)} holdings"
    )
    print(
        f"generate_demo_market: best {min(times):.3f} s, median {statistics.median(times):.3f} s "
        f"over {args.repeat} runs; its records (planted, histories) on first access: best "
        f"{min(record_times):.3f} s, median {statistics.median(record_times):.3f} s"
    )
    print(f"peak traced memory (one run): {peak / 2**20:.1f} MiB")
    print(f"process peak RSS: {rss_mib:.1f} MiB")
    print(
        f"write_demo_data: {t_write:.3f} s, {sum(sizes.values()) / 2**20:.1f} MiB "
        + ", ".join(f"{k} {v / 2**10:.0f} KiB" for k, v in sizes.items())
    )
    ic = market.planted["realised_ic"]["summary"]
    print(
        "planted IC {:.3f}; realised mean Pearson vs standardised residual {:.4f} (se {:.4f}), "
        "vs total return {:.4f} (se {:.4f})".format(
            market.planted["ic"],
            ic["pearson_std_resid"]["mean"],
            ic["pearson_std_resid"]["se"],
            ic["pearson_total"]["mean"],
            ic["pearson_total"]["se"],
        )
    )


if __name__ == "__main__":
    main()
