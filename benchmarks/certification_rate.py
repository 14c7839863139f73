"""How often the certified dual method answers, over random constraint configurations.

Draws ``COUNT`` (400) random configurations on synthetic universes (60-240 names): each
takes a random subset of the constraint kinds -- position bounds, sector / country
bounds, the China cap, an attribute limit, total / buy / sell turnover, per-name
turnover limits (a one-name-per-group column), cash band, liquidity, halted list --
plus zero, one or two tracking-error caps and sometimes a total-risk cap, under the
utility objective or max-alpha with a TE cap. Each is solved twice: the default path
(dual method first) and Clarabel alone (``dual_newton=False``).

Prints one JSON line: ``configurations``, ``feasible``, ``certified`` (answered by
``DUAL_NEWTON``), ``certified_share`` of the feasible ones, ``agree`` (certified
answers whose utility is within 1e-6 of Clarabel's), ``worst_objective_diff``, and the
uncertified feasible configurations counted by the reason in their form
(``uncertified_by_feature``).

Usage: ``python benchmarks/certification_rate.py [COUNT] [SEED]``.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections import Counter

import numpy as np

from constraints import build_constraints
from optimizers import InfeasibleError, ObjectiveSpec, PortfolioOptimizer, SolverError
from optimizers.synthetic import synthetic_problem

warnings.filterwarnings("ignore")


def draw(rng: np.random.Generator, assets) -> tuple[list[dict], ObjectiveSpec, list[str]]:
    """One random configuration: specs, objective and its feature tags."""
    specs: list[dict] = [{"kind": "position_bounds", "max": float(rng.choice([0.03, 0.05, 0.1]))}]
    tags = []

    def maybe(p: float) -> bool:
        return bool(rng.random() < p)

    if maybe(0.6):
        band = float(rng.choice([0.02, 0.05]))
        specs.append({"kind": "group_bounds", "column": "sector", "relative_to": "benchmark",
                      "default": [-band, band]})  # fmt: skip
    if maybe(0.5):
        specs.append({"kind": "group_bounds", "column": "country", "relative_to": "benchmark",
                      "default": [-0.1, 0.1]})  # fmt: skip
    if maybe(0.5):
        specs.append({"kind": "group_bounds", "name": "China", "column": "country_of_risk",
                      "groups": {"China": ["CN"]}, "bounds": {"China": [0.0, 0.2]}})  # fmt: skip
    if maybe(0.4):
        specs.append({"kind": "attribute_bounds", "column": "beta", "min": 0.9, "max": 1.1})
    if maybe(0.7):
        t = {"kind": "turnover", "max": float(rng.choice([0.05, 0.15, 0.3]))}
        if maybe(0.3):
            t["max_sell"] = 0.1
        specs.append(t)
    if maybe(0.3):
        names = list(rng.choice(assets.index, 8, replace=False))
        specs.append({"kind": "turnover", "name": "per-name turnover", "column": "asset",
                      "by_group": {a: 0.005 for a in names}})  # fmt: skip
        tags.append("per-name turnover")
    if maybe(0.5):
        specs.append({"kind": "cash_band", "min": 0.0, "max": 0.03})
    if maybe(0.4):
        specs.append({"kind": "liquidity", "max_pct_adv": 0.5, "days": 3})
    if maybe(0.3):
        specs.append({"kind": "halted", "column": "halted"})
    n_te = int(rng.choice([0, 1, 1, 2]))
    for i in range(n_te):
        specs.append({"kind": "tracking_error", "name": f"te{i}",
                      "max": float(rng.choice([0.02, 0.04, 0.06]))})  # fmt: skip
    if maybe(0.15):
        specs.append({"kind": "total_risk", "max": 0.25})
        tags.append("total-risk cap")
    if maybe(0.25):
        obj = ObjectiveSpec(mode="max_alpha_te_cap", te_cap=0.03, impact=maybe(0.5))
        n_te += 1
    else:
        obj = ObjectiveSpec(risk_aversion=float(rng.choice([0.5, 2.0, 10.0])), impact=maybe(0.5))
    if n_te > 1:
        tags.append("several TE caps")
    return specs, obj, tags


def main(count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    stats = Counter()
    by_feature: Counter = Counter()
    worst = 0.0
    for _ in range(count):
        p = synthetic_problem(int(rng.integers(60, 241)), n_style=4, seed=int(rng.integers(1e6)))
        assets = p.assets.assign(asset=p.assets.index.astype(str))
        specs, obj, tags = draw(rng, assets)
        out = []
        for dual in (True, False):
            opt = PortfolioOptimizer(assets, p.risk, build_constraints(specs), obj,
                                     nav_base=p.nav_base, dual_newton=dual)  # fmt: skip
            try:
                out.append(opt.solve(p.alpha, p.benchmark, p.w0))
            except (InfeasibleError, SolverError):
                out.append(None)
        stats["configurations"] += 1
        if out[1] is None:
            continue
        stats["feasible"] += 1
        if out[0] is not None and out[0].solver == "DUAL_NEWTON":
            stats["certified"] += 1
            diff = abs(out[0].objective - out[1].objective)
            worst = max(worst, diff)
            stats["agree"] += diff <= 1e-6
        else:
            for t in tags or ["other"]:
                by_feature[t] += 1
    row = dict(stats)
    row["certified_share"] = round(stats["certified"] / max(stats["feasible"], 1), 3)
    row["worst_objective_diff"] = worst
    row["uncertified_by_feature"] = dict(by_feature)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 400, args[1] if len(args) > 1 else 0)
