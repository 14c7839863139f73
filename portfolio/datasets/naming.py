"""Synthetic exchange tickers and company names for the demo market.

Tickers follow each exchange's format (``1234.T``, ``0123.HK``, ``600123.SS`` / ``000123.SZ``,
``1234.TW``, ``012340.KS``, ``ABCD.NS``, ``A12.SI``, ``ABC.AX``, ``1234.KL``, ``ABCD.BK``) and
are drawn without replacement, so they are unique within a market and, through the exchange
suffix, across markets. Names are ``"<prefix> <sector word><tail>"``, unique in the universe.
"""

from __future__ import annotations

import numpy as np

from portfolio.datasets.conventions import NAME_PREFIX, NAME_REGION, NAME_SUFFIX, NAME_TAIL

__all__ = ["draw_tickers", "draw_names"]

_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
_ALNUM = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _digits(codes: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(codes.astype(str), width)


def _letters(codes: np.ndarray, width: int, alphabet: np.ndarray) -> np.ndarray:
    """Base-len(alphabet) spelling of integer codes with a fixed width."""
    base = len(alphabet)
    cols = [alphabet[(codes // base**k) % base] for k in range(width - 1, -1, -1)]
    out = cols[0].astype(object)
    for col in cols[1:]:
        out = out + col.astype(object)
    return out.astype(str)


def _sample(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """``n`` distinct integers in ``[low, high)``."""
    return low + rng.choice(high - low, size=n, replace=False)


def _tickers_for(rng: np.random.Generator, country: str, n: int) -> np.ndarray:
    if n == 0:
        return np.array([], dtype=str)
    if country == "JP":
        return np.char.add(_digits(_sample(rng, 1300, 10000, n), 4), ".T")
    if country == "HK":
        return np.char.add(_digits(_sample(rng, 1, 10000, n), 4), ".HK")
    if country == "TW":
        return np.char.add(_digits(_sample(rng, 1100, 10000, n), 4), ".TW")
    if country == "MY":
        return np.char.add(_digits(_sample(rng, 1000, 10000, n), 4), ".KL")
    if country == "KR":  # six digits ending in 0
        return np.char.add(_digits(_sample(rng, 1, 99999, n) * 10, 6), ".KS")
    if country == "CN":
        # Shanghai main board 600000-605999 and STAR 688000-688999 (.SS);
        # Shenzhen main 000001-003999 and ChiNext 300000-301999 (.SZ)
        space = np.concatenate(
            [
                np.arange(600000, 606000),
                np.arange(688000, 689000),
                np.arange(1, 4000),
                np.arange(300000, 302000),
            ]
        )
        codes = rng.choice(space, size=n, replace=False)
        suffix = np.where(codes >= 600000, ".SS", ".SZ")
        return np.char.add(_digits(codes, 6), suffix)
    if country == "IN":  # four to six letters
        width = rng.integers(4, 7, size=n)
        out = np.empty(n, dtype=object)
        for w in np.unique(width):  # at most three groups
            sel = width == w
            codes = _sample(rng, 0, 26**w, int(sel.sum()))
            out[sel] = _letters(codes, int(w), _LETTERS)
        return np.char.add(out.astype(str), ".NS")
    if country == "SG":  # one letter or digit, two alphanumerics: "A12", "5AB"
        codes = _sample(rng, 0, 36**3, n)
        return np.char.add(_letters(codes, 3, _ALNUM), ".SI")
    if country == "AU":
        return np.char.add(_letters(_sample(rng, 0, 26**3, n), 3, _LETTERS), ".AX")
    if country == "TH":
        return np.char.add(_letters(_sample(rng, 0, 26**4, n), 4, _LETTERS), ".BK")
    raise ValueError(
        f"The 'country' parameter of draw_tickers must be a demo market; got {country!r}"
    )


def draw_tickers(rng: np.random.Generator, countries: np.ndarray) -> np.ndarray:
    """Unique exchange tickers (``asset_id``) for an array of listing countries.

    Parameters
    ----------
    rng : numpy Generator
    countries : array of str, ISO country code of listing per security.

    Returns
    -------
    ndarray of str, same length, unique (India tickers of different widths differ).
    """
    countries = np.asarray(countries)
    out = np.empty(len(countries), dtype=object)
    for country in sorted(set(countries.tolist())):  # one draw per market, not per asset
        sel = countries == country
        out[sel] = _tickers_for(rng, country, int(sel.sum()))
    return out.astype(str)


def draw_names(rng: np.random.Generator, countries: np.ndarray, sectors: np.ndarray) -> np.ndarray:
    """Unique synthetic company names, e.g. ``"Hoshino Precision"``, ``"Golden Dragon Holdings"``.

    Names are drawn without replacement from the product of the region's prefixes, the
    sector's words and the tails, per (region, sector) group, so they are unique.
    """
    countries = np.asarray(countries)
    sectors = np.asarray(sectors)
    regions = (
        np.array([NAME_REGION[c] for c in countries.tolist()]) if len(countries) else countries
    )
    out = np.empty(len(countries), dtype=object)
    groups = sorted({(r, s) for r, s in zip(regions.tolist(), sectors.tolist(), strict=True)})
    for region, sector in groups:
        sel = (regions == region) & (sectors == sector)
        prefixes, words = NAME_PREFIX[region], NAME_SUFFIX[sector]
        combos = len(prefixes) * len(words) * len(NAME_TAIL)
        k = int(sel.sum())
        if k > combos:
            raise ValueError(f"too many names requested for {region}/{sector}: {k} > {combos}")
        # fill prefixes x words first (no tail), then with tails
        base = len(prefixes) * len(words)
        order = np.concatenate([rng.permutation(base) + t * base for t in range(len(NAME_TAIL))])[
            :k
        ]
        t, rest = np.divmod(order, base)
        p, w = np.divmod(rest, len(words))
        out[sel] = [
            f"{prefixes[i]} {words[j]}{NAME_TAIL[k_]}"
            for i, j, k_ in zip(p.tolist(), w.tolist(), t.tolist(), strict=True)
        ]
    return out.astype(str)
