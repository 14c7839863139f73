"""Speed and memory of the whole alpha stage: 5,000 securities, three years of daily returns.

Builds the demo market at 5,000 names and fits its default risk model
(``estimate_risk(RiskSpec(), ...)``), both not timed, then times ``run_alpha`` as the
pipeline calls it (with the risk model: residual volatility, IC history residualised on
its exposures, alignment check) for each blend method, and once without a risk model
(country / sector dummy residualisation): best of ``--repeat`` runs
(``time.perf_counter``) and the peak traced Python memory of one run (``tracemalloc``).

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
from portfolio.risk import RiskSpec, estimate_risk


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
    t0 = time.perf_counter()
    rm, _ = estimate_risk(RiskSpec(), m.returns.loc[: m.as_of], m.securities, m.as_of)
    print(
        f"default risk model: {len(rm.factor_names)} factors "
        f"(fitted in {time.perf_counter() - t0:.1f} s, not timed)"
    )
    vol = rm.specific_vol()
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
        "fixed, no risk model (dummy residuals)": AlphaSpec(),
        "fixed + sector/country neutral + cap z": AlphaSpec(
            neutralize=["sector", "country"], zscore_weighting="cap"
        ),
        "ic_weighted": AlphaSpec(blend={"method": "ic_weighted"}),
        "learned (Ridge)": AlphaSpec(blend={"method": "learned"}),
    }
    for label, spec in specs.items():
        kw = {} if "no risk model" in label else {"risk_model": rm}
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            run_alpha(spec, *inputs, **kw)
            times.append(time.perf_counter() - t)
        tracemalloc.start()
        run_alpha(spec, *inputs, **kw)
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
