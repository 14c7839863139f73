"""ETF files of a rebalance and the ``active-etf basket`` command.

``active-etf basket CONFIG --units N [--kind creation|redemption] [--current]
[--creation-unit C] [--nav-per-share P]``

runs the rebalance of ``CONFIG`` (or, with ``--current``, takes the book as it is) and
prints the basket for ``N`` creation units: the fund's holdings after the rebalance
scaled to one unit in whole board lots, names that cannot be delivered in kind moved to
the cash component (:mod:`portfolio.etf.basket`). The unit size and NAV per share come
from the config's ``etf:`` section unless given on the command line.

A rebalance run folder gets ``creation_basket.csv``, ``redemption_basket.csv`` and
``pcf.csv`` (one creation unit) whenever ``etf.creation_unit`` is configured. The
baskets are built on the holdings after the trades, at the NAV after trading and FX
costs (``NAV = holdings value + cash after costs``).
"""

from __future__ import annotations

import weakref

__all__ = [
    "add_parser",
    "cmd_basket",
    "basket_inputs",
    "etf_run_files",
    "nav_per_share",
    "one_unit_baskets",
]


def _restricted(constraints) -> set[str]:
    from constraints import Restricted

    return {a for c in constraints if isinstance(c, Restricted) for a in c.assets}


def basket_inputs(result, after: bool = True):
    """:class:`~portfolio.etf.BasketInputs` of a :class:`RebalanceResult`: holdings after
    the rebalance (``after``) or before it, with their in-kind exclusions."""
    from portfolio.errors import ConfigError
    from portfolio.etf.basket import BasketInputs, in_kind_exclusions
    from portfolio.markets import load_market_table

    cfg = result.config
    sec = result.data.securities
    extra = list(cfg.etf.in_kind_exclude)
    unknown = sorted(set(extra) - set(sec.index))
    if unknown:
        raise ConfigError(f"etf.in_kind_exclude: assets not in the universe: {unknown[:10]}")
    h = result.trades.holdings.copy()
    tl = result.trades
    if after:
        nav = tl.nav_after_base
    else:
        h["shares_after"] = h["shares_before"]
        nav = tl.nav_base
    constraints = result.optimizer.constraints if result.optimizer is not None else []
    excluded = in_kind_exclusions(
        sec, load_market_table(cfg.markets), _restricted(constraints), extra
    )
    return BasketInputs(
        holdings=h,
        price_base=result.book.price_base,
        nav_base=float(nav),
        excluded=excluded,
        fund=cfg.fund.name,
        as_of=str(result.as_of.date()),
        base_currency=cfg.fund.base_currency,
    )


def nav_per_share(etf, nav_base: float, override: float | None = None) -> float:
    """``override``, else ``etf.nav_per_share``, else ``NAV / etf.shares_outstanding``."""
    from portfolio.errors import ConfigError

    if override is not None:
        return float(override)
    if etf.nav_per_share is not None:
        return float(etf.nav_per_share)
    if etf.shares_outstanding is None:
        raise ConfigError("etf: give nav_per_share or shares_outstanding (or --nav-per-share)")
    return float(nav_base) / float(etf.shares_outstanding)


# one unit's baskets per rebalance result: the run folder's files and the report's
# settlement section read the same baskets (building them twice cost ~40 ms a demo run)
_ONE_UNIT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def one_unit_baskets(result):
    """``(inputs, files, baskets)`` of one creation unit after the rebalance, built once per
    ``result`` (:func:`~portfolio.etf.pcf.etf_files`); ``None`` when ``etf.creation_unit``
    is not configured."""
    from portfolio.etf.pcf import etf_files

    etf = result.config.etf
    if etf.creation_unit is None:
        return None
    try:
        hit = _ONE_UNIT.get(result)
    except TypeError:  # not weak-referenceable: no memo
        hit = None
    if hit is not None:
        return hit
    inp = basket_inputs(result)
    files, baskets = etf_files(
        inp, etf.creation_unit, nav_per_share(etf, inp.nav_base), 1, etf.shares_outstanding
    )
    out = (inp, files, baskets)
    try:
        _ONE_UNIT[result] = out
    except TypeError:
        pass
    return out


def etf_run_files(result) -> dict[str, str]:
    """``creation_basket.csv``, ``redemption_basket.csv``, ``pcf.csv`` for one unit, or
    nothing when ``etf.creation_unit`` is not configured."""
    one = one_unit_baskets(result)
    return {} if one is None else dict(one[1])


def add_parser(subparsers) -> None:
    """Register ``basket`` on the ``active-etf`` subparsers."""
    p = subparsers.add_parser(
        "basket",
        help="print the creation or redemption basket for N units after the rebalance",
        description=__doc__.split("\n\n")[2],
    )
    p.add_argument("config", help="the YAML run configuration")
    p.add_argument("--units", type=int, required=True, help="number of creation units (>= 1)")
    p.add_argument("--kind", choices=["creation", "redemption"], default="creation",
                   help="creation (default) or redemption basket")  # fmt: skip
    p.add_argument("--current", action="store_true",
                   help="basket of the current book, before the rebalance")  # fmt: skip
    p.add_argument("--creation-unit", type=int,
                   help="ETF shares per unit (default etf.creation_unit)")  # fmt: skip
    p.add_argument("--nav-per-share", type=float, help="NAV per ETF share, base currency")
    p.add_argument("--top", type=int, default=15, help="largest lines to print (default 15)")
    p.set_defaults(func=cmd_basket)


def cmd_basket(args) -> int:
    """Run the rebalance (unless ``--current``) and print the basket."""
    from threadpoolctl import threadpool_limits

    from portfolio.cli import _load
    from portfolio.errors import ConfigError
    from portfolio.etf.basket import build_basket
    from portfolio.etf.pcf import basket_text
    from portfolio.rebalance import Rebalancer

    if args.units < 1:
        raise ConfigError(f"--units: expected a whole number of units >= 1, got {args.units}")
    config, data, base = _load(args.config)
    unit = args.creation_unit or config.etf.creation_unit
    if unit is None or unit <= 0:
        raise ConfigError("no creation unit: set etf.creation_unit or pass --creation-unit N > 0")
    if args.nav_per_share is not None and args.nav_per_share <= 0:
        raise ConfigError(f"--nav-per-share: must be positive, got {args.nav_per_share}")
    with threadpool_limits(limits=1):
        result = Rebalancer(config, base).run(data)
    inp = basket_inputs(result, after=not args.current)
    nps = nav_per_share(config.etf, inp.nav_base, args.nav_per_share)
    try:
        b = build_basket(inp, unit, nps, args.units, args.kind, config.etf.shares_outstanding)
    except ValueError as exc:
        raise ConfigError(f"basket: {exc}") from exc
    args.log.out(basket_text(b, inp, top=args.top))
    if result.hard_breaches and not args.current:
        names = ", ".join(x["name"] for x in result.hard_breaches)
        args.log.warn(f"the rebalance breaks hard limits after rounding ({names}): exit 5")
        return 5
    return 0
