"""Utility lost to the lot-rounding repair on the demo fund, and with max_names 120, 80, 40.

Prints, per scenario (and, relaxed, max_names 41: the fewest names the MIP proof gives for
40): names held, the optimizer's status and integer gap, the utility of the lot-rounded
portfolio before and after the repair (``alpha'w - lambda a'Sa - costs / NAV``,
annualised, in bp), the utility lost, the repair's moves and why it stopped, hard limits
still broken, and the trades-step time (rounding + repair + FX).

Two settings: the demo's own limits (turnover at most 20 %, trades at most 20 % of ADV
over 3 days, at most 2.5 % in a name), and a relaxed one (turnover at most 100 %, ADV over
30 days, at most 5 % in a name) in which fewer names must stay held, so max_names 120 and
80 can be met at all (40 cannot: the mixed-integer LP proves that no 40 names meet the
other limits, and the run is infeasible with the fewest names that can).

Usage: ``python benchmarks/repair_utility.py`` (about a minute on a quiet 2-core machine).
"""

from __future__ import annotations

import time

from threadpoolctl import threadpool_limits

from optimizers import InfeasibleError
from portfolio.config import parse_config
from portfolio.datasets.styles import fund_demo
from portfolio.demo import demo_market_data
from portfolio.rebalance import Rebalancer


def config(base, max_names: int | None, relaxed: bool):
    raw = base.model_dump(mode="json")
    for c in raw["constraints"]:
        if relaxed and c.get("kind") == "liquidity":
            c["days"] = 30
        if relaxed and c.get("kind") == "turnover":
            c["max"] = 1.0
        if relaxed and c.get("kind") == "position_bounds":
            c["max"], c["active_max"] = 0.05, 0.045
    if max_names is not None:
        raw["constraints"] += [{"kind": "max_names", "max": max_names},
                               {"kind": "min_holding", "min": 0.003}]  # fmt: skip
    return parse_config(raw)


def main() -> None:
    base, market = fund_demo()
    print(f"{'setting':9} {'max_names':>9} {'names':>5} {'optimizer':34} {'int gap':>8} "
          f"{'U before':>9} {'U after':>9} {'lost bp':>8} {'moves':>6} {'trades s':>8}  "
          "stopped / hard limits broken")  # fmt: skip
    for relaxed in (False, True):
        for k in (None, 120, 80, 40, *((41,) if relaxed else ())):
            cfg = config(base, k, relaxed)
            data = demo_market_data(market, cfg)
            label = "relaxed" if relaxed else "demo"
            t0 = time.perf_counter()
            try:
                with threadpool_limits(limits=1):
                    r = Rebalancer(cfg).run(data)
            except InfeasibleError as exc:
                d = exc.diagnosis.to_dict()
                why = (f"no {k} names meet the other limits (MIP proof); fewest "
                       f"{d['fewest_names']}" if "fewest_names" in d
                       else f"{len(d.get('forced_names', []))} names cannot be sold out"
                       if "forced_names" in d else str(exc)[:90])  # fmt: skip
                print(f"{label:9} {k!s:>9} infeasible ({time.perf_counter() - t0:.1f} s): {why}")
                continue
            s = r.summary()
            rep = s["repair"]
            gap = s["optimizer"].get("integer_gap") or {}
            opt = f"{s['optimizer']['status']}"[:34]
            broken = ", ".join(s["hard_limits"]["breached"]) or "none"
            print(
                f"{label:9} {k!s:>9} {s['portfolio']['after_rounding']['names_held']:>5} "
                f"{opt:34} {gap.get('gap', float('nan')):>8.2e} "
                f"{1e4 * rep['utility_before']:>9.2f} {1e4 * rep['utility_after']:>9.2f} "
                f"{1e4 * rep['utility_lost']:>8.3f} {rep['n_moves']:>6} "
                f"{r.timings['trades_s']:>8.2f}  {rep['stopped']}; broken: {broken}"
            )


if __name__ == "__main__":
    main()
