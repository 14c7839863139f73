"""Currency minor units and money rounding for the trade files.

A money amount is rounded to its currency's minor unit (ISO 4217: JPY and KRW have none,
most currencies 2 decimals, a few 3) when it is written, so ``trades.csv`` shows
``1503675.74``, never the float noise ``1503675.7380000001``. The table lists the
exceptions to the default of 2; a currency not listed has 2 decimals.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MINOR_UNITS", "DEFAULT_MINOR_UNITS", "minor_units", "round_money", "format_money"]

DEFAULT_MINOR_UNITS = 2
# ISO 4217 minor units that differ from 2 (currency -> decimals).
MINOR_UNITS: dict[str, int] = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "PYG": 0,
    "UGX": 0,
    "XAF": 0,
    "XOF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


def minor_units(currencies) -> np.ndarray:
    """Decimals of each currency code in ``currencies`` (array of int)."""
    codes = np.asarray(currencies, dtype=object).ravel()  # a few hundred codes: plain Python
    out = [MINOR_UNITS.get(str(c).upper(), DEFAULT_MINOR_UNITS) for c in codes]
    return np.array(out, dtype=int)


def round_money(values, decimals) -> np.ndarray:
    """``values`` rounded to ``decimals`` (a scalar or one per value): ``round(v 10^d) / 10^d``.

    Dividing an integer-valued float by ``10^d`` gives the double nearest the decimal
    amount, so the result prints with at most ``d`` decimals.
    """
    v = np.asarray(values, dtype=float)
    scale = 10.0 ** np.asarray(decimals, dtype=float)
    return np.round(v * scale) / scale


def format_money(values, decimals) -> np.ndarray:
    """Text of each amount with exactly its currency's decimals (``''`` for NaN)."""
    v = round_money(values, decimals)
    d = np.broadcast_to(np.asarray(decimals, dtype=int), v.shape)
    out = np.full(v.shape, "", dtype=object)
    for k in np.unique(d):  # one pass per distinct number of decimals (0, 2, 3)
        sel = (d == k) & np.isfinite(v)
        out[sel] = np.char.mod(f"%.{int(k)}f", v[sel])
    return out
