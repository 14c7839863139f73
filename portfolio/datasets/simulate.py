r"""Daily USD total returns of the demo market: a fat-tailed factor model with planted alpha.

Daily log return of name ``i`` on day ``t`` in USD (``x``; the published simple return is
``r = expm1(x)``, so ``r > -1`` always)::

    x_it = beta_i f_mkt,t + f_country(i),t + f_sector(i),t + size_i f_size,t
           + value_i f_value,t + mom_i,m f_mom,t + fx_cur(i),t + e_it - s_i^2 / 2

Factor and FX innovations are standardised Student-t (df 5), specific ones Student-t (df 4).
``size`` is the z-score of the log market cap drawn for the start of the history
(:func:`~portfolio.datasets.universe.draw_universe`; the as-of caps follow from the
simulated prices, so a cap never knows its future returns), ``value`` of starting book-to-price,
``mom_i,m`` the cleaned z-score of momentum 12-1 at the start of month ``m``.

Planted alpha. With ``z_i,m`` the planted composite at month-end ``t_m``
(:mod:`portfolio.datasets.scores`), ``n_m`` the business days in ``(t_m, t_m+1]``,
``s_i`` the daily specific vol and ``S_i,m = s_i sqrt(n_m)`` the monthly one, the specific
return on each day of that month is::

    e_it = S_i,m k_m zp_i,m / n_m + s_i sqrt(1 - IC^2) eps_it

``zp`` is the composite's factor-neutral part, standardised: the residual of ``z`` on the
month's exposures (market beta, country, sector, size, value, momentum) over ``S``, so
the drift ``S zp`` is orthogonal to the exposures in the ``1 / S^2`` metric
(:func:`planted_direction`). The composite loads on the styles
(momentum 12-1 is one of its six factors), ``corr(z, zp) = c_m`` is about 0.91, and a drift
along ``z`` itself would put part of the planted return in the styles' span: a momentum
premium of about 1.8 %/y hidden in the "specific" returns, which a regression of returns
on exposures calls factor return. Along ``zp`` the drift is specific return in the risk
model's sense, and the factor returns keep a zero mean (the market's drift aside).

``k_m = IC sqrt((1 - IC^2) / (c_m^2 - IC^2))`` keeps the planted IC the composite's: the
month's residual is ``S_i,m (k_m zp_i + sqrt(1 - IC^2) u_i,m)`` with ``u`` standardised,
and its cross-sectional correlation with ``z`` is ``IC`` in expectation, as before; the
factor-neutral part alone has IC ``k_m / sqrt(1 - IC^2 + k_m^2)``, about ``IC / c_m``.
The month loop is needed because momentum depends on past returns.

Zero arithmetic mean. Each day's specific log return also carries the convexity
correction ``-s_i^2 / 2``, so ``E[exp(e_it)] = 1`` (to second order) and the specific
*simple* returns have zero mean: without it a name earns ``+s_i^2 / 2`` a year from its
specific risk alone (3.6 %/y at the median vol), most for the small volatile names, and an
equal-weighted portfolio beats the cap-weighted benchmark for no planted reason. (The
planted drift ``S k zp`` averages ``S^2 k^2 / 2`` over ``zp``; the correction covers
``(1 - IC^2) s^2 + IC^2 S^2 / n`` of it per day, and the remaining ``(k^2 - IC^2) S^2 / 2``,
about 0.003 %/y at the median vol, is left.) ``benchmarks/ew_premium.py``
measures equal weight minus cap weight on generated markets.

Listings and halts: returns are NaN up to and including the listing day; during a halt they
are NaN and the halt's accumulated log return is published on the day trading resumes (an
ongoing halt at the as-of date leaves the price at its last trade).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.datasets.conventions import COUNTRIES, CURRENCY, FX_VOL, SECTORS
from portfolio.datasets.scores import (
    composite_from_raw,
    momentum_from_logs,
    raw_factor_values,
    winsorized_zscore,
)

__all__ = [
    "Simulation",
    "Shocks",
    "FACTOR_VOL_ANNUAL",
    "draw_shocks",
    "fundamental_news",
    "simulate_market",
]

TRADING_DAYS = 252
FACTOR_T_DF = 5
SPECIFIC_T_DF = 4
MARKET_DRIFT_ANNUAL = 0.06
SPEC_VOL_MEDIAN = 0.27
FACTOR_VOL_ANNUAL = {
    "market": 0.16,
    **{f"country_{c}": v for c, v in zip(
        COUNTRIES, (0.10, 0.18, 0.14, 0.14, 0.15, 0.13, 0.10, 0.12, 0.10, 0.12), strict=True
    )},
    **{f"sector_{s}": 0.06 for s in SECTORS},
    "size": 0.04,
    "value": 0.04,
    "momentum": 0.06,
}  # fmt: skip


@dataclass(frozen=True)
class Simulation:
    """Simulated paths (relative units for prices; see the module docstring).

    Attributes
    ----------
    returns : (T, N) published daily USD simple returns (NaN before listing / in halts).
    log_price : (T, N) cumulative local-currency log price change since before day 0.
    fx_log : (T, N) cumulative log change of USD per unit of each name's currency.
    composite : (M+1, N) planted composite at each month-end, NaN where not listed.
    listed : (M+1, N) bool, listed on that month-end.
    resid_month : (M, N) specific log return over each month (t_m, t_m+1], before the
        convexity correction ``-s_i^2 / 2`` a day (a name's constant, not part of the signal).
    sigma_month : (M, N) the monthly specific vol ``S_i,m`` used to plant the alpha.
    spec_vol : (N,) annualised specific vol.
    beta_exposure, size_exposure, value_exposure : (N,) static exposures.
    drift_scale : (M,) the planted drift's ``k`` each month (:func:`planted_direction`).
    composite_neutral_corr : (M,) ``corr(z, z_perp)``, the composite against its
        factor-neutral part.
    """

    returns: np.ndarray
    log_price: np.ndarray
    fx_log: np.ndarray
    composite: np.ndarray
    listed: np.ndarray
    resid_month: np.ndarray
    sigma_month: np.ndarray
    spec_vol: np.ndarray
    beta_exposure: np.ndarray
    size_exposure: np.ndarray
    value_exposure: np.ndarray
    drift_scale: np.ndarray
    composite_neutral_corr: np.ndarray


def _std_t(rng: np.random.Generator, df: int, shape) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(df, size=shape) * np.sqrt((df - 2) / df)


def _composite_at(paths, m, price_rel, mom, listed) -> np.ndarray:
    raw = raw_factor_values(
        price_rel,
        paths["eps_fwd"][m],
        paths["ebit"][m],
        paths["net_operating_capital"][m],
        paths["dps"][m],
        paths["interest_expense"][m],
        paths["free_cash_flow"][m],
        paths["shares_rel"][m],
        mom,
    )
    out = np.full(len(price_rel), np.nan)
    out[listed] = composite_from_raw(raw[listed])
    return out


@dataclass(frozen=True)
class Shocks:
    """Exogenous random draws of the simulation (drawn before the fundamentals).

    Attributes
    ----------
    factors : (T, K) daily factor returns, columns in the order of ``FACTOR_VOL_ANNUAL``
        (the market column includes the drift).
    fx : (T, C) daily log changes of USD per unit, one column per market of ``COUNTRIES``.
    eps : (T, N) standardised Student-t specific innovations.
    spec_vol : (N,) annualised specific volatility.
    """

    factors: np.ndarray
    fx: np.ndarray
    eps: np.ndarray
    spec_vol: np.ndarray
    common: np.ndarray | None = None  # (T, N) _common_returns, computed once by draw_shocks


def draw_shocks(rng: np.random.Generator, uni: pd.DataFrame, n_days: int) -> Shocks:
    """Draw the factor, FX and specific shocks for ``n_days`` days and the names of ``uni``.

    Factor returns: standardised Student-t (df 5) times the daily vol of
    ``FACTOR_VOL_ANNUAL``; the market adds ``MARKET_DRIFT_ANNUAL / 252`` a day. FX: vol of
    the currency times ``0.5 common + sqrt(0.75) own`` (t, df 5). Specific vol:
    ``exp(log 0.27 - 0.12 size_z + 0.25 N(0, 1))`` a year (smaller names more volatile).
    """
    n = len(uni)
    names = list(FACTOR_VOL_ANNUAL)
    vol_d = np.array([FACTOR_VOL_ANNUAL[k] for k in names]) / np.sqrt(TRADING_DAYS)
    f = _std_t(rng, FACTOR_T_DF, (n_days, len(names))) * vol_d
    f[:, 0] += MARKET_DRIFT_ANNUAL / TRADING_DAYS
    fx_vol = np.array([FX_VOL[CURRENCY[c]] for c in COUNTRIES]) / np.sqrt(TRADING_DAYS)
    common_fx = _std_t(rng, FACTOR_T_DF, (n_days, 1))
    own_fx = _std_t(rng, FACTOR_T_DF, (n_days, len(fx_vol)))
    fx = fx_vol * (0.5 * common_fx + np.sqrt(0.75) * own_fx)
    eps = _std_t(rng, SPECIFIC_T_DF, (n_days, n))
    size_z = uni["size_z"].to_numpy()
    spec_vol = np.exp(np.log(SPEC_VOL_MEDIAN) - 0.12 * size_z + 0.25 * rng.standard_normal(n))
    shocks = Shocks(factors=f, fx=fx, eps=eps, spec_vol=spec_vol)
    return Shocks(factors=f, fx=fx, eps=eps, spec_vol=spec_vol, common=_common_returns(uni, shocks))


def _common_returns(uni: pd.DataFrame, shocks: Shocks) -> np.ndarray:
    """(T, N) market + country + sector + size part of the daily log returns."""
    if shocks.common is not None:
        return shocks.common
    names = list(FACTOR_VOL_ANNUAL)
    f = shocks.factors
    c_idx = pd.Index(COUNTRIES).get_indexer(uni["country"])
    s_idx = pd.Index(SECTORS).get_indexer(uni["sector"])
    return (
        uni["beta"].to_numpy() * f[:, [0]]
        + f[:, 1 + c_idx]
        + f[:, 1 + len(COUNTRIES) + s_idx]
        + uni["size_z"].to_numpy() * f[:, [names.index("size")]]
    )


def fundamental_news(
    uni: pd.DataFrame, shocks: Shocks, month_end_pos: np.ndarray, ic: float
) -> np.ndarray:
    """Cumulative business news at each month-end, (M+1, N) log units.

    ``news_i,m = sum_{t <= t_m} (market + country + sector + size part of x_it
    + sqrt(1 - IC^2) s_i eps_it - s_i^2 / 2)``: the part of the return that reflects fundamentals
    (not the planted mispricing, not FX, not the value or momentum styles). Fundamentals
    load on it point in time, so valuations stay realistic through bull and bear markets
    and nothing after ``t_m`` leaks into the snapshot at ``t_m``.
    """
    s_d = shocks.spec_vol / np.sqrt(TRADING_DAYS)
    daily = _common_returns(uni, shocks) + np.sqrt(1.0 - ic**2) * s_d * shocks.eps - 0.5 * s_d**2
    return np.cumsum(daily, axis=0)[np.asarray(month_end_pos)]


def planted_direction(
    z: np.ndarray, exposures: np.ndarray, sigma: np.ndarray, listed: np.ndarray, ic: float
) -> tuple[np.ndarray, float, float]:
    """The month's planted drift in units of specific vol: ``k z_perp / std(z_perp)``.

    ``z_perp`` is the residual of the composite ``z`` from the least-squares fit on the
    month's factor ``exposures`` divided by ``sigma`` (the specific vol), over the listed
    names, so the drift ``sigma z_perp`` (return units) has ``exposures' D^-1 drift = 0``
    with ``D = diag(sigma^2)``: the generalised least-squares regression of any month's
    returns on the exposures sees none of it, it is specific return in the risk model's
    sense and carries no factor premium, and ``Sigma^-1 drift = D^-1 drift`` for the true
    covariance ``Sigma = B F B' + D`` (no part of it is priced as factor risk).

    With ``c = corr(z, z_perp)`` and the noise ``sqrt(1 - IC^2) u``, the standardised
    specific return ``k z_perp / std(z_perp) + sqrt(1 - IC^2) u`` has correlation
    ``k c / sqrt(1 - IC^2 + k^2)`` with ``z``; setting it to ``IC`` gives
    ``k = IC sqrt((1 - IC^2) / (c^2 - IC^2))`` (``k = IC`` when ``c = 1``).

    Returns ``(signal, k, c)``; ``signal`` is 0 for names not listed.
    """
    zl, x = z[listed], exposures[listed]
    scaled = x / sigma[listed][:, None]
    beta, *_ = np.linalg.lstsq(scaled, zl, rcond=None)
    perp = zl - scaled @ beta
    c = float(np.corrcoef(zl, perp)[0, 1])
    if not c**2 > 4.0 * ic**2:  # generator bug, not bad input: the composite is a factor
        raise RuntimeError(f"planted composite nearly spanned by the exposures (corr {c:.3f})")
    k = ic * np.sqrt((1.0 - ic**2) / (c**2 - ic**2))
    signal = np.zeros(len(z))
    signal[listed] = k * perp / perp.std()
    return signal, float(k), c


def simulate_market(
    uni: pd.DataFrame,
    paths: dict[str, np.ndarray],
    shocks: Shocks,
    dates: pd.DatetimeIndex,
    month_end_pos: np.ndarray,
    ic: float,
) -> Simulation:
    """Simulate the daily returns month by month with the planted alpha.

    Parameters
    ----------
    uni : static universe (:func:`~portfolio.datasets.universe.draw_universe`).
    paths : relative fundamentals (:func:`~portfolio.datasets.fundamentals.draw_fundamental_paths`),
        one row per month-end.
    shocks : from :func:`draw_shocks`.
    dates : (T,) business days; ``month_end_pos`` (M+1,) rows of the month-ends in it.
    ic : planted information coefficient, in [0, 1).
    """
    t_len, n = len(dates), len(uni)
    me = np.asarray(month_end_pos)
    n_me = len(me)
    pos = np.arange(t_len)[:, None]
    listing = uni["listing_pos"].to_numpy()
    halted = (pos >= uni["halt_start"].to_numpy()) & (pos <= uni["halt_end"].to_numpy())
    pre_listing = pos <= listing

    names = list(FACTOR_VOL_ANNUAL)
    f, eps, spec_vol = shocks.factors, shocks.eps, shocks.spec_vol
    s_d = spec_vol / np.sqrt(TRADING_DAYS)
    c_idx = pd.Index(COUNTRIES).get_indexer(uni["country"])
    value_z = paths["value_z"]
    k_value, k_mom = names.index("value"), names.index("momentum")
    common = _common_returns(uni, shocks) + value_z * f[:, [k_value]]
    fx_asset = shocks.fx[:, c_idx]
    div_daily = paths["dividend_yield0"] / TRADING_DAYS
    half_var = 0.5 * s_d**2  # convexity: the specific simple return has zero mean

    returns = np.full((t_len, n), np.nan)
    log_price = np.empty((t_len, n))
    state = [np.zeros(n), np.zeros(n), np.zeros(n)]  # carried USD log, carried local log, log price
    tradable = ~halted & ~pre_listing

    logs = np.zeros((t_len, n))  # log1p(returns), 0 where missing: momentum's input
    has_return = np.zeros((t_len, n), dtype=bool)

    def run(a: int, b: int, specific: np.ndarray, mom_exposure: np.ndarray) -> None:
        x = common[a:b] + mom_exposure * f[a:b, [k_mom]] + fx_asset[a:b] + specific - half_var
        local = x - fx_asset[a:b] - div_daily
        carry_x, carry_l, lp = state
        moves_all = tradable[a:b] | pre_listing[a:b]
        # names that move every day with nothing carried in (all but halted ones): the day
        # loop below for them in closed form, the same floating-point operations
        easy = moves_all.all(axis=0) & (carry_x == 0.0) & (carry_l == 0.0)
        if easy.any():
            returns[a:b, easy] = np.where(tradable[a:b, easy], np.expm1(x[:, easy] + 0.0), np.nan)
            lp_easy = np.cumsum(np.vstack([lp[easy], local[:, easy] + 0.0]), axis=0)[1:]
            log_price[a:b, easy] = lp_easy
            lp = lp.copy()
            lp[easy] = lp_easy[-1]
        hard = np.flatnonzero(~easy)
        if len(hard):
            cx, cl, lph = carry_x[hard], carry_l[hard], lp[hard]
            for d in range(b - a):  # days of one month, vectorised over the other names
                t = a + d
                cx = cx + x[d, hard]
                cl = cl + local[d, hard]
                moves = moves_all[d, hard]
                lph = lph + np.where(moves, cl, 0.0)
                returns[t, hard] = np.where(tradable[t, hard], np.expm1(cx), np.nan)
                log_price[t, hard] = lph
                cx = np.where(moves, 0.0, cx)
                cl = np.where(moves, 0.0, cl)
            carry_x, carry_l = carry_x.copy(), carry_l.copy()
            carry_x[hard], carry_l[hard], lp[hard] = cx, cl, lph
        carry_x[easy], carry_l[easy] = 0.0, 0.0
        ok = np.isfinite(returns[a:b])
        has_return[a:b] = ok
        logs[a:b] = np.log1p(np.where(ok, returns[a:b], 0.0))
        state[:] = [carry_x, carry_l, lp]

    # days up to and including the first month-end: no planted alpha yet
    run(0, me[0] + 1, s_d * eps[: me[0] + 1], np.zeros(n))
    composite = np.full((n_me, n), np.nan)
    listed = listing[None, :] <= me[:, None]
    resid = np.empty((n_me - 1, n))
    sigma_m = np.empty((n_me - 1, n))
    scale, corr = np.empty(n_me - 1), np.empty(n_me - 1)
    country = np.eye(len(COUNTRIES))[c_idx]
    sector = np.eye(len(SECTORS))[pd.Index(SECTORS).get_indexer(uni["sector"])]
    shrink = np.sqrt(1.0 - ic**2)
    for m in range(n_me):
        mom = momentum_from_logs(logs, has_return, me, m)
        composite[m] = _composite_at(paths, m, np.exp(log_price[me[m]]), mom, listed[m])
        if m == n_me - 1:
            break
        a, b = me[m] + 1, me[m + 1] + 1
        # names not yet listed have no returns this month, so no planted drift; a listed name
        # always has a composite (missing factors score 0 inside _composite_at)
        z = np.where(listed[m], composite[m], 0.0)
        if not np.isfinite(z).all():
            raise RuntimeError(f"planted composite not finite for listed names at month {m}")
        sigma_m[m] = s_d * np.sqrt(b - a)
        mom_z = np.zeros(n)
        mom_z[listed[m]] = winsorized_zscore(mom[listed[m]])
        exposures = np.column_stack(
            [uni["beta"].to_numpy(), country, sector, uni["size_z"].to_numpy(), value_z, mom_z]
        )
        signal, scale[m], corr[m] = planted_direction(z, exposures, sigma_m[m], listed[m], ic)
        specific = sigma_m[m] * signal / (b - a) + shrink * s_d * eps[a:b]
        resid[m] = specific.sum(axis=0)
        run(a, b, specific, mom_z)

    return Simulation(
        returns=returns,
        log_price=log_price,
        fx_log=np.cumsum(fx_asset, axis=0),
        composite=composite,
        listed=listed,
        resid_month=resid,
        sigma_month=sigma_m,
        spec_vol=spec_vol,
        beta_exposure=uni["beta"].to_numpy(),
        size_exposure=uni["size_z"].to_numpy(),
        value_exposure=value_z,
        drift_scale=scale,
        composite_neutral_corr=corr,
    )
