r"""How much of the fundamental law's ``IC * sqrt(12 N)`` an optimiser can reach on the demo.

For a risk model ``S = B F B' + D`` and alpha ``alpha = sqrt(12) IC sigma z`` (``sigma^2 = d``),
the best ex-ante information ratio of any active portfolio is ``sqrt(alpha' S^-1 alpha)``,
and the engine's is ``TC * sqrt(alpha' S^-1 alpha)`` (the definition of the transfer
coefficient). The law's ``TC * IC * sqrt(12 N)`` uses ``sqrt(alpha' D^-1 alpha) =
IC sqrt(12 N)`` (unit-variance scores) instead: it assumes the alpha is uncorrelated with
the factor exposures. The demo's raw blend loads on momentum (one of its six factors) and
on value, so part of it is a factor bet the risk model prices as factor risk, and the
**ceiling** ``sqrt(alpha' S^-1 alpha / alpha' D^-1 alpha)`` (about 0.88) is the share of
the law's prediction a perfect risk forecast and a perfectly realised alpha would give if
the market paid for that bet. The demo config removes the bet
(``alpha.neutralize_risk: [all]``), so with it the ratio is 1; run this script with a
config without that line to see the raw blend's.

The ratio is :func:`optimizers.alpha_breadth_ratio`, which the backtest reports every month
(``breadth_ratio``).

For each market (demo seed plus ``--seeds``) and ``--dates`` rebalance dates spread over
the backtest, the production risk and alpha stages run on the data cut at the date
(:class:`portfolio.backtest.comparators.StageRecorder`); prints the ceiling, its mean,
and the correlation of the score with each style exposure.

    python benchmarks/alpha_risk_ceiling.py [--seeds 8] [--dates 4] [--config CONFIG]
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

import numpy as np


def main() -> None:
    from optimizers import alpha_breadth_ratio
    from portfolio.backtest import demo_inputs, rebalance_dates
    from portfolio.backtest.comparators import StageRecorder
    from portfolio.book import build_book
    from portfolio.config import load_config
    from portfolio.datasets import DEFAULT_SEED

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--dates", type=int, default=4)
    ap.add_argument("--years", type=float, default=4.0)
    ap.add_argument("--config")
    args = ap.parse_args()
    path = Path(args.config or resources.files("portfolio").joinpath("data/demo_fund.yaml"))
    config = load_config(path)
    every = []
    for seed in [DEFAULT_SEED, *range(1, args.seeds + 1)]:
        inputs = demo_inputs(config, seed, 1200, args.years, path.parent)
        dates = rebalance_dates(inputs.returns.index)
        pick = dates[np.linspace(0, len(dates) - 2, args.dates).round().astype(int)]
        row, corr = [], {}
        for t in pick:
            cfg = config.model_copy(
                update={"fund": config.fund.model_copy(update={"as_of": t.date()})}
            )
            data = inputs.market_at(t, inputs.holdings.iloc[:0], inputs.cash.iloc[:0])
            rec = StageRecorder(cfg, path.parent)
            rm, _ = rec.risk_stage(data)
            alpha = rec.alpha_stage(data, rm, build_book(data, nav_override=1.0))
            ids = alpha.alpha.index.intersection(rm.asset_ids)  # the universe's names
            sub = rm.subset(ids)
            row.append(alpha_breadth_ratio(alpha.alpha.reindex(ids).to_numpy(float), sub))
            z = alpha.score.reindex(ids).to_numpy(float)
            scored = np.isfinite(z)  # names with a view
            for k, name in enumerate(sub.factor_names):
                if str(name).startswith("style:"):
                    c = np.corrcoef(z[scored], sub.exposures[scored, k])[0, 1]
                    corr.setdefault(str(name)[6:], []).append(c)
        every += row
        label = "demo" if seed == DEFAULT_SEED else f"seed {seed}"
        cs = "  ".join(f"{k} {np.mean(v):+.2f}" for k, v in corr.items())
        print(f"{label:<8} ceiling {' '.join(f'{x:.3f}' for x in row)}  corr(z, style): {cs}",
              flush=True)  # fmt: skip
    x = np.array(every)
    print(f"mean ceiling {x.mean():.3f} (min {x.min():.3f}, max {x.max():.3f}, {len(x)} dates)")


if __name__ == "__main__":
    main()
