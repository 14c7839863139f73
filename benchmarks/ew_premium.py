"""Equal-weight minus cap-weight return of the demo market (should be 0 within 2 s.e.).

For each market (the demo seed plus ``--seeds`` generated seeds) and each month
``(t_m, t_m+1]`` of the history: the names listed at ``t_m`` with a published return in
the month, their compounded USD total return over the month (NaN days skipped), the
equal-weighted mean and the mean weighted by ``market_cap_base`` at ``t_m`` (the
point-in-time fundamentals snapshot). Prints per market the annualised premium
``12 * mean_m(EW_m - CW_m)`` with its standard error ``12 * std_m / sqrt(M)`` and t,
and the pooled figure over all markets (s.e. from the pooled monthly differences).

    python benchmarks/ew_premium.py [--seeds 8] [--years 4] [--n-securities 1200]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from portfolio.datasets import DEFAULT_SEED, generate_demo_market
from portfolio.datasets.planted import monthly_total_returns


def ew_minus_cw(market) -> np.ndarray:
    """Monthly ``EW - CW`` returns (decimal) over the market's history."""
    rets = market.returns
    dates = pd.DatetimeIndex(sorted(market.fundamentals["date"].unique()))
    me = rets.index.get_indexer(dates)
    if (me < 0).any():
        raise ValueError("fundamentals dates not in the returns index")
    total = monthly_total_returns(rets.to_numpy(), me)
    caps = market.fundamentals.pivot(index="date", columns="asset_id", values="market_cap_base")
    caps = caps.reindex(index=dates, columns=rets.columns).to_numpy()
    out = []
    for m in range(len(me) - 1):  # months
        ok = np.isfinite(total[m]) & np.isfinite(caps[m])
        r, c = total[m][ok], caps[m][ok]
        out.append(r.mean() - (c @ r) / c.sum())
    return np.array(out)


def premium_line(label: str, d: np.ndarray) -> str:
    mean, se = 12 * d.mean(), 12 * d.std(ddof=1) / np.sqrt(len(d))
    verdict = "within" if abs(mean) <= 2 * se else "OUTSIDE"
    return (
        f"{label:<16}{mean:+8.2%}/y  s.e. {se:6.2%}  t {mean / se:+5.2f}  "
        f"({len(d)} months; {verdict} 2 s.e. of 0)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8, help="generated seeds besides the demo")
    ap.add_argument("--years", type=float, default=4.0, help="years of daily history")
    ap.add_argument("--n-securities", type=int, default=1200, help="names per market")
    args = ap.parse_args()
    seeds = [DEFAULT_SEED, *range(1, args.seeds + 1)]
    pooled = []
    for s in seeds:
        m = generate_demo_market(seed=s, years=args.years, n_securities=args.n_securities)
        d = ew_minus_cw(m)
        pooled.append(d)
        print(premium_line("demo" if s == DEFAULT_SEED else f"seed {s}", d), flush=True)
    print(premium_line("pooled", np.concatenate(pooled)))


if __name__ == "__main__":
    main()
