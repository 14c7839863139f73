"""Speed and memory of the whole alpha stage: 5,000 securities, three years of daily returns.

Builds the demo market at 5,000 names (not timed), then times ``run_alpha`` for each
blend method (best of ``--repeat`` runs, ``time.perf_counter``) and measures the peak
traced Python memory of one run (``tracemalloc``). Prints one line per method.

    python benchmarks/alpha_speed.py [--n-securities 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from portfolio.alpha import AlphaSpec, run_alpha
from portfolio.datasets import generate_demo_market


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-securities", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    m = generate_demo_market(n_securities=args.n_securities)
    print(
        f"demo market: {len(m.securities)} securities, {m.returns.shape[0]} days, "
        f"{m.fundamentals['date'].nunique()} month-ends, {len(m.fundamentals)} fundamentals rows "
        f"(generated in {time.perf_counter() - t0:.1f} s, not timed)"
    )
    vol = m.returns.std() * np.sqrt(252)
    inputs = (
        m.securities,
        m.fundamentals,
        m.returns,
        vol,
        m.securities["benchmark_weight"],
        m.as_of,
    )
    specs = {
        "fixed (default)": AlphaSpec(),
        "fixed + sector/country neutral + cap z": AlphaSpec(
            neutralize=["sector", "country"], zscore_weighting="cap"
        ),
        "ic_weighted": AlphaSpec(blend={"method": "ic_weighted"}),
        "learned (Ridge)": AlphaSpec(blend={"method": "learned"}),
    }
    for label, spec in specs.items():
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            run_alpha(spec, *inputs)
            times.append(time.perf_counter() - t)
        tracemalloc.start()
        run_alpha(spec, *inputs)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{label:<40} best {min(times):6.3f} s  median {np.median(times):6.3f} s  "
            f"peak traced memory {peak / 2**20:7.1f} MiB"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS (including data generation): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
