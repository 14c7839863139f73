"""Trading constraints: turnover (total, by side, by group) and liquidity (ADV).

Trades ``x = w - w0 = buy - sell`` in fractions of NAV. One-way turnover
``T = 0.5 * sum_i |x_i|``; buys ``sum_i x_i+``; sells ``sum_i x_i-``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from constraints.assets import AssetConstraint
from constraints.base import Constraint, Limits, Linear, Term, dense_row
from constraints.context import ProblemContext
from constraints.data import ProblemData
from constraints.errors import ConstraintSpecError
from constraints.groups import GroupStructure, bounded_groups
from constraints.lazy import cp

__all__ = ["Turnover", "Liquidity"]


@dataclass(frozen=True, kw_only=True)
class Turnover(Constraint):
    r"""Turnover limits, fractions of NAV.

    ``0.5 * sum |x| <= max``; ``sum x+ <= max_buy``; ``sum x- <= max_sell``; and per
    group ``0.5 * sum_{i in g} |x_i| <= by_group[g]`` over the categorical ``column``.

    Parameters
    ----------
    max, max_buy, max_sell : float, optional
        One-way total turnover, total buys, total sells (each in [0, 2]).
    column : str, optional
        Categorical column for ``by_group``.
    by_group : mapping, optional
        ``{group: max one-way turnover}``; unknown groups raise.
    groups : mapping, optional
        Custom groups as in :class:`~constraints.groups.GroupBounds`.
    """

    max: float | None = None
    max_buy: float | None = None
    max_sell: float | None = None
    column: str | None = None
    by_group: Mapping[str, float] = field(default_factory=dict)
    groups: Mapping[str, Sequence[str]] | None = None

    kind: ClassVar[str] = "turnover"

    def __post_init__(self) -> None:
        super().__post_init__()
        for f in ("max", "max_buy", "max_sell"):
            self.number(f, 0.0, 2.0)
        if not isinstance(self.by_group, Mapping):
            raise ConstraintSpecError("turnover.by_group: expected {group: max}")
        clean = {}
        for g, v in self.by_group.items():
            ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 2
            if not ok:
                raise ConstraintSpecError(
                    f"turnover.by_group.{g}: expected a number in [0, 2], got {v!r}"
                )
            clean[str(g)] = float(v)
        object.__setattr__(self, "by_group", clean)
        if clean and not self.column:
            raise ConstraintSpecError("turnover.by_group: needs 'column'")
        if self.max is None and self.max_buy is None and self.max_sell is None and not clean:
            raise ConstraintSpecError("turnover: give 'max', 'max_buy', 'max_sell' or 'by_group'")

    def default_label(self) -> str:
        return "turnover"

    def _parts(self) -> list[str]:
        return [k for k in ("max", "max_buy", "max_sell") if getattr(self, k) is not None]

    def _structure(self, data: ProblemData) -> GroupStructure:
        """The ``by_group`` groups (names, membership, labels), memoised per universe."""
        return self.memo.get(
            "groups",
            data.assets,
            (self.column,),
            lambda: bounded_groups(
                data,
                self.column,
                self.groups,
                self.label,
                self.by_group,
                False,
                f"turnover {self.column}",
            ),
        )

    def _groups(self, data: ProblemData) -> tuple[list[str], sp.csr_matrix]:
        st = self._structure(data)
        return st.names, st.M

    def term_keys(self, data: ProblemData) -> list[str]:
        return self._parts() + (["by_group"] if self.by_group else [])

    def terms(self, ctx: ProblemContext) -> list[Term]:
        exprs = {
            "max": 0.5 * cp.sum(ctx.buy + ctx.sell),
            "max_buy": cp.sum(ctx.buy),
            "max_sell": cp.sum(ctx.sell),
        }
        out = [Term(k, (f"{self.label} {k}",), exprs[k] + np.zeros(1)) for k in self._parts()]
        if self.by_group:
            names, M = self._groups(ctx.data)
            out.append(Term("by_group", tuple(names), 0.5 * (M @ (ctx.buy + ctx.sell))))
        return out

    def limits(self, data: ProblemData) -> list[Limits]:
        out = [
            Limits(np.array([-np.inf]), np.array([getattr(self, k)]), np.ones(1))
            for k in self._parts()
        ]
        if self.by_group:
            names, _ = self._groups(data)
            hi = np.array([self.by_group[g] for g in names], dtype=float)
            out.append(Limits(np.full(len(names), -np.inf), hi, np.ones(len(names))))
        return out

    def values(self, data: ProblemData, w: np.ndarray) -> list[np.ndarray]:
        x = w - data.w0
        vals = {
            "max": 0.5 * np.abs(x).sum(),
            "max_buy": np.maximum(x, 0).sum(),
            "max_sell": np.maximum(-x, 0).sum(),
        }
        out = [np.array([vals[k]]) for k in self._parts()]
        if self.by_group:
            out.append(0.5 * (self._groups(data)[1] @ np.abs(x)))
        return out

    def linear(self, data: ProblemData) -> list[Linear]:
        one = dense_row(np.ones(data.n))
        sides = {"max": (0.5 * one, 0.5 * one), "max_buy": (one, None), "max_sell": (None, one)}
        out = [Linear(None, *sides[k], np.zeros(1)) for k in self._parts()]
        if self.by_group:
            M = 0.5 * self._groups(data)[1]
            out.append(Linear(None, M, M, np.zeros(M.shape[0])))
        return out

    def row_labels(self, data: ProblemData) -> list[tuple[str, ...]]:
        names = {"max": "one-way turnover", "max_buy": "buys", "max_sell": "sells"}
        out = [(f"{names[k]}",) for k in self._parts()]
        if self.by_group:
            out.append(self._structure(data).labels)
        return out


@dataclass(frozen=True, kw_only=True)
class Liquidity(AssetConstraint):
    r"""Liquidity limits from average daily volume (``adv_base``, base currency per day).

    Trade: ``|x_i| <= p * days * ADV_i / NAV``. Position (if ``liquidation_days``):
    ``w_i <= p * liquidation_days * ADV_i / NAV`` (the position can be sold in that
    many days at participation ``p``). Own units: the trade limit in fraction of ADV
    (``p``), the position limit in days.

    Parameters
    ----------
    max_pct_adv : float
        Participation ``p`` in (0, 1], fraction of ADV per day.
    days : float
        Days over which the trade may be spread (default 1).
    liquidation_days : float, optional
        Maximum days to liquidate a position at participation ``p``.
    column : str
        ADV column, base currency per day (default ``adv_base``).
    """

    max_pct_adv: float
    days: float = 1.0
    liquidation_days: float | None = None
    column: str = "adv_base"

    kind: ClassVar[str] = "liquidity"
    unit: ClassVar[str] = "fraction of ADV"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.number("max_pct_adv", 0.0, 1.0, False)
        self.number("days", 0.0, 1e4, False)
        self.number("liquidation_days", 0.0, 1e4)

    def default_label(self) -> str:
        s = f"liquidity (trade <= {self.max_pct_adv:.0%} of ADV over {self.days:g} days"
        if self.liquidation_days is not None:
            s += f", position <= {self.liquidation_days:g} days to liquidate"
        return s + ")"

    def _adv(self, data: ProblemData) -> np.ndarray:
        adv = data.numeric(self.column, self.label)
        if (adv < 0).any():
            raise ConstraintSpecError(
                f"{self.label}: negative '{self.column}' for {list(data.ids[adv < 0][:10])}"
            )
        return adv

    def _adv_over_nav(self, data: ProblemData) -> np.ndarray:
        """``ADV_i / NAV``; the validated ADV column is memoised per universe."""
        adv = self.memo.get("adv", data.assets, (self.column,), lambda: self._adv(data))
        return adv / data.nav_base

    def blocks(self, data):
        a = self._adv_over_nav(data)
        every = np.arange(data.n)
        t = self.max_pct_adv * self.days * a
        out = [("trade", every, Limits(data.w0 - t, data.w0 + t, self.days * a))]
        if self.liquidation_days is not None:
            cap = self.max_pct_adv * self.liquidation_days * a
            out.append(
                ("position", every, Limits(np.full(data.n, -np.inf), cap, self.max_pct_adv * a))
            )
        return out

    def term_units(self, data: ProblemData) -> list[str]:
        return ["fraction of ADV"] + (["days"] if self.liquidation_days is not None else [])
