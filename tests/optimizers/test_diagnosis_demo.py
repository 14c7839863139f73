"""The diagnosis on the demo fund with a 1 % China cap and 1 % turnover.

The demo market is generated smaller (600 names, the same structure as the 1,200 of the
demo: about 5 % China country-of-risk held, liquidity at 20 % of ADV over 3 days, Japan
over its active cap) and run through the real pipeline (:class:`Rebalancer`). The
diagnosis's inputs are recorded on the way (the real :func:`diagnose` is called) and
every claim is re-checked by the independent LP of ``test_diagnosis.py``.
"""

import numpy as np
import pytest
import yaml

import optimizers.optimizer
from optimizers import InfeasibleError
from portfolio.cli import demo_config_text
from portfolio.config import parse_config
from portfolio.datasets import generate_demo_market
from portfolio.demo import demo_market_data
from portfolio.rebalance import Rebalancer
from tests.optimizers.test_diagnosis import assert_diagnosis_verified, lp_feasible

N = 600
LIQ = "liquidity (trade <= 20% of ADV over 3 days)"


@pytest.fixture(scope="module")
def demo():
    raw = yaml.safe_load(demo_config_text())
    for spec in raw["constraints"]:
        if spec.get("name") == "China exposure":
            spec["bounds"]["China"] = [0.0, 0.01]
        if spec["kind"] == "turnover":
            spec["max"] = 0.01
    config = parse_config(raw, source="demo_fund.yaml (China 1 %, turnover 1 %)")
    data = demo_market_data(generate_demo_market(n_securities=N), config)
    seen = {}
    real = optimizers.optimizer.diagnose

    def recording(*args):
        seen["args"] = args
        return real(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(optimizers.optimizer, "diagnose", recording)
        with pytest.raises(InfeasibleError) as exc:
            Rebalancer(config).run(data)
    problem, _, cons, _ = seen["args"]
    return exc.value.diagnosis, problem, cons


def test_demo_diagnosis_is_verified_independently(demo):
    d, data, cons = demo
    assert_diagnosis_verified(data, cons, d)


def test_demo_china_cap_conflicts_with_liquidity_and_turnover(demo):
    d, data, cons = demo
    sets = [set(c["constraints"]) for c in d.conflicts]
    assert {"China exposure", LIQ} in sets
    assert any("turnover" in s for s in sets)
    # China down to 1 % needs more than 1 % of turnover, whether or not the diagnosis (at
    # most MAX_CONFLICTS explanations) lists that pair: checked by the independent LP
    assert not lp_feasible(data, cons, ["China exposure", "turnover"])
    assert lp_feasible(data, cons, ["China exposure"]) and lp_feasible(data, cons, ["turnover"])
    # closed form within {China, liquidity}: each China name can sell at most
    # 20 % x 3 days x ADV / NAV, so China can fall no lower than sum max(w0 - cap, 0).
    china = (data.assets["country_of_risk"] == "CN").to_numpy()
    cap = 0.20 * 3 * data.assets["adv_base"].to_numpy() / data.nav_base
    floor = float(np.maximum(data.w0 - cap, 0.0)[china].sum())
    conflict = d.conflicts[sets.index({"China exposure", LIQ})]
    local = {r["name"]: r for r in conflict["relaxations"]}
    assert local["China exposure"]["amount"] == pytest.approx(floor - 0.01, abs=1e-7)
    assert local["China exposure"]["text"] == f"China exposure to {100 * floor:.2f} %"
    # liquidity rows name the China holdings whose trade limits bind
    assert {r["row"] for r in local[LIQ]["rows"]} <= set(data.ids[china & (data.w0 > 0)])


def test_demo_message_reads_in_portfolio_language(demo):
    d, data, cons = demo
    assert "China exposure at most 1.00 %" in d.message
    assert "turnover at most 1.00 %" in d.message
    assert "no single change fixes it" in d.message
    assert "cannot be fixed by relaxing" in d.message and "China exposure alone" in d.message
    texts = [r["text"] for r in sorted(d.elastic, key=lambda r: -r["amount"])]
    joint = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
    assert d.message.endswith(f"; the smallest joint change is {joint}")
    assert "China exposure" in {r["name"] for r in d.elastic}
    js = d.to_dict()
    assert js["conflicts"] and all(c["statement"] for c in js["conflicts"])


def test_demo_joint_relaxation_is_needed_in_full(demo):
    """Minimality of the joint relaxation: with the others at their amounts, 0.1 % less of
    any one is infeasible (else the summed relaxation would not be the minimum)."""
    d, data, cons = demo
    every = [c.label for c in cons if not c.integer and c.soft is None]
    joint = {r["name"]: r["amount"] for r in d.elastic}
    for name in joint:
        less = {k: v * (1 + 1e-6) for k, v in joint.items()}
        less[name] = joint[name] * (1 - 1e-3)
        assert not lp_feasible(data, cons, every, less), name
