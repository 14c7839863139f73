"""One shared instance per distinct constraint (constraints.shared)."""

import dataclasses

import numpy as np
import pandas as pd

from constraints import GroupBounds, SharedInstances


def test_equal_fields_share_one_instance_and_its_memo():
    shared = SharedInstances()
    a = GroupBounds(column="country", bounds={"CN": (0.0, 0.1)}, name="China")
    b = dataclasses.replace(a)
    c = dataclasses.replace(a, bounds={"CN": (0.0, 0.05)})
    assert shared.one(a) is a and shared.one(b) is a and shared.one(c) is c
    assert shared([b, c]) == [a, c] and shared([b, c])[0] is a
    # a key is faithful: -0.0 is not 0.0
    neg = dataclasses.replace(a, bounds={"CN": (-0.0, 0.1)})
    assert shared.one(neg) is neg and np.signbit(shared.one(neg).bounds["CN"][0])
    assert len(shared) == 3


@dataclasses.dataclass(frozen=True, eq=False)
class _WithArray:
    coefficients: object
    max: float = 1.0


def test_a_field_without_a_faithful_key_is_not_shared():
    shared = SharedInstances()
    for coef in (np.ones(3), pd.Series(np.ones(3), index=["A", "B", "C"])):
        a = _WithArray(coef)
        b = dataclasses.replace(a)
        assert shared.one(a) is a and shared.one(b) is b and len(shared) == 0


def test_the_store_stays_bounded():
    shared = SharedInstances(max_size=3)
    made = [GroupBounds(column="country", bounds={"CN": (0.0, x)}) for x in (0.1, 0.2, 0.3, 0.4)]
    for c in made:
        shared.one(c)
    assert len(shared) == 1  # started over at the fourth
    assert shared.one(dataclasses.replace(made[3])) is made[3]
