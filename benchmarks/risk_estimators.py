"""Fit time and peak memory of every risk estimator; optional hold-out quality check.

Usage::

    python benchmarks/risk_estimators.py                    # 5,000 names x 750 days
    python benchmarks/risk_estimators.py --names 1000 --days 500
    python benchmarks/risk_estimators.py --holdout 126      # demo market quality check

Each estimator is fitted once in a fresh child process on a synthetic market (planted
country / sector / style factors, fat-tailed t(4) noise, 5 % missing returns and late
listings), so the peak resident memory (``ru_maxrss``) is per estimator. Prints one line
per estimator: fit seconds (``time.perf_counter``), peak RSS of the process (MB, includes
the ~250 MB of imports and data) and the Python heap peak of the fit (``tracemalloc``
would slow BLAS-free code, so it is reported only with ``--tracemalloc``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time

import numpy as np
import pandas as pd

from portfolio.risk import ESTIMATORS


def synthetic(n: int, t: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"B{i:05d}" for i in range(n)], name="asset_id")
    countries = np.array(["JP", "CN", "KR", "TW", "IN", "AU", "HK", "SG", "TH", "MY"])
    sectors = np.array([f"S{k}" for k in range(11)])
    sec = pd.DataFrame(
        {
            "country_of_risk": rng.choice(countries, n),
            "sector": rng.choice(sectors, n),
            "market_cap_base": np.exp(rng.normal(20.0, 1.2, n)),
            "beta": rng.normal(1.0, 0.3, n),
        },
        index=ids,
    )
    B = np.column_stack(
        [
            np.ones(n),
            (sec["country_of_risk"].to_numpy()[:, None] == countries).astype(float),
            (sec["sector"].to_numpy()[:, None] == sectors).astype(float),
            rng.standard_normal((n, 2)),
        ]
    )
    f = rng.standard_normal((t, B.shape[1])) * 0.005
    noise = rng.standard_t(4, (t, n)) / np.sqrt(2.0) * rng.uniform(0.01, 0.03, n)
    r = f @ B.T + noise
    r[rng.random((t, n)) < 0.05] = np.nan
    late = rng.random(n) < 0.05
    r[: t - 60, late] = np.nan  # listed 60 days ago: below min_history_days, proxied
    dates = pd.bdate_range("2022-01-03", periods=t)
    return sec, pd.DataFrame(r, index=dates, columns=ids)


def _one(name: str, n: int, t: int, use_tracemalloc: bool, queue) -> None:
    from portfolio.risk import RiskSpec, estimate_risk

    sec, R = synthetic(n, t)
    spec = RiskSpec(estimator=name, lookback_days=t, min_history_days=126)
    if use_tracemalloc:
        import tracemalloc

        tracemalloc.start()
    t0 = time.perf_counter()
    model, report = estimate_risk(spec, R, sec)
    seconds = time.perf_counter() - t0
    heap = tracemalloc.get_traced_memory()[1] / 2**20 if use_tracemalloc else float("nan")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(
        (
            name,
            seconds,
            rss,
            heap,
            model.n_factors,
            report["model"].get("factor_form"),
            report["model"].get("truncation_error"),
            report["n_proxied"],
        )
    )


def benchmark(n: int, t: int, use_tracemalloc: bool) -> None:
    print(f"risk estimators: {n} names x {t} days (5% missing, 5% late listings)")
    print(
        f"{'estimator':<22}{'fit s':>8}{'peak RSS MB':>13}{'heap MB':>9}{'K':>6}"
        f"{'form':>13}{'trunc err':>11}{'proxied':>9}"
    )
    ctx = mp.get_context("spawn")
    for name in ESTIMATORS:
        q = ctx.Queue()
        p = ctx.Process(target=_one, args=(name, n, t, use_tracemalloc, q))
        p.start()
        row = q.get()
        p.join()
        _, sec, rss, heap, k, form, err, prox = row
        print(f"{name:<22}{sec:>8.2f}{rss:>13.0f}{heap:>9.0f}{k:>6}{form:>13}{err:>11.4f}{prox:>9}")


def holdout(days: int, n_random: int) -> None:
    from portfolio.datasets import generate_demo_market
    from portfolio.risk import RiskSpec, format_holdout_report, holdout_check

    demo = generate_demo_market()
    specs = {name: RiskSpec(estimator=name) for name in ESTIMATORS}
    result = holdout_check(demo.returns, demo.securities, specs, days, n_random=n_random)
    print(format_holdout_report(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", type=int, default=5000)
    ap.add_argument("--days", type=int, default=750)
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--holdout", type=int, default=0, help="run the demo hold-out check instead")
    ap.add_argument("--n-random", type=int, default=200)
    args = ap.parse_args()
    if args.holdout:
        holdout(args.holdout, args.n_random)
    else:
        benchmark(args.names, args.days, args.tracemalloc)


if __name__ == "__main__":
    main()
