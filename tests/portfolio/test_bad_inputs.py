"""One bad input per class (issue 13): exit code 2, the culprit named, nothing written.

Every case starts from the demo files (``demo-data``), changes one thing, and runs
``active-etf rebalance CONFIG --out PREVIOUS_RUN --replace`` in process: the previous run
folder must come out byte for byte as it was, and nothing else may appear next to it.
The large Parquet inputs are symlinked, not copied; the CSV and YAML files are copied.
"""

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from portfolio.cli import main
from portfolio.input_rules import BOOL_SPELLINGS, fx_plausibility, staleness


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-inputs") / "d"
    assert main(["-q", "demo-data", str(d)]) == 0
    return d


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory):
    """A real previous run folder (the embedded demo) that every bad run tries to replace."""
    out = tmp_path_factory.mktemp("prev") / "run"
    assert main(["-q", "demo", "--out", str(out), "--no-report"]) == 0
    return out


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _copy(demo_dir: Path, target: Path) -> Path:
    target.mkdir()
    for p in demo_dir.iterdir():
        if p.suffix == ".parquet":
            (target / p.name).symlink_to(p)
        else:
            shutil.copy(p, target / p.name)
    return target


def _csv(name, fn):
    def edit(d: Path):
        df = pd.read_csv(d / name, dtype=str, keep_default_na=False)
        df = fn(df)
        df.to_csv(d / name, index=False)

    return edit


def _cell(col, row, value):
    def fn(df):
        df.loc[row, col] = value
        return df

    return fn


def _config(fn):
    def edit(d: Path):
        c = yaml.safe_load((d / "config.yaml").read_text())
        fn(c)
        (d / "config.yaml").write_text(yaml.safe_dump(c))

    return edit


def _text(name, old, new):
    def edit(d: Path):
        text = (d / name).read_text()
        assert old in text
        (d / name).write_text(text.replace(old, new))

    return edit


def _write(name, text):
    def edit(d: Path):
        (d / name).write_text(text)

    return edit


def _header_only(name):
    def edit(d: Path):
        (d / name).write_text((d / name).read_text().splitlines()[0] + "\n")

    return edit


def _parquet(name, fn):
    def edit(d: Path):
        target = d / name
        df = pd.read_parquet(target.resolve())
        target.unlink()
        fn(df).to_parquet(target)

    return edit


def _set(path, value):
    def fn(c):
        node = c
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return fn


def _invert_jpy(df):
    rate = df.loc[df.currency == "JPY", "base_per_unit"].astype(float)
    df.loc[rate.index, "base_per_unit"] = str(1.0 / rate.iloc[0])
    return df


def _fund_text(df):
    """eps_fwd as text (Parquet holds one type per column), one value not a number."""
    df = df.copy()
    text = [None if pd.isna(v) else repr(float(v)) for v in df["eps_fwd"]]
    text[-1] = "n/a"
    df["eps_fwd"] = pd.Series(text, index=df.index, dtype=object)
    return df


def _sec_row(demo_dir, row=3):
    return pd.read_csv(demo_dir / "securities.csv", dtype=str).loc[row, "asset_id"]


def _inf_ebit(f):
    return f.assign(ebit=f["ebit"].where(f.index != f.index[-1], np.inf))


def _inf_return(r):
    last_day_first_asset = (r.index == r.index[-1])[:, None] & (np.arange(r.shape[1]) == 0)
    return r.where(~last_day_first_asset, np.inf)


def _bad_fund_date(f):
    return f.assign(date=f["date"].astype(str).where(f.index != f.index[0], "2025-02-29"))


def _empty_fund_id(f):
    return f.assign(asset_id=f["asset_id"].where(f.index != 5, None))


def _constraint_nan(c):
    c["constraints"][5]["max"] = float("nan")


def _stale(as_of, **data):
    def fn(c):
        c["fund"]["as_of"] = as_of
        c["data"].update(stale_securities_ok=True, **data)

    return fn


# (id, edit, culprit texts that must all appear in the error)
CASES = [
    # non-finite and overflowing numbers, in files and in the config
    (
        "inf price",
        _csv("securities.csv", _cell("price_local", 3, "inf")),
        ["securities.csv", "price_local", "not finite", "{sec3}"],
    ),
    (
        "-inf beta",
        _csv("securities.csv", _cell("beta", 3, "-inf")),
        ["securities.csv", "beta", "{sec3}"],
    ),
    (
        "1e308 adv",
        _csv("securities.csv", _cell("adv_base", 3, "1e308")),
        ["securities.csv", "adv_base", "{sec3}"],
    ),
    (
        "1e400 price",
        _csv("securities.csv", _cell("price_local", 3, "1e400")),
        ["price_local", "not finite", "{sec3}"],
    ),
    (
        "inf fx",
        _csv("fx.csv", _cell("base_per_unit", 2, "inf")),
        ["fx.csv", "base_per_unit", "CNY"],
    ),
    (
        "inf cash",
        _csv("cash.csv", _cell("amount_local", 0, "inf")),
        ["cash.csv", "amount_local", "USD"],
    ),
    (
        "shares overflow int64",
        _csv("holdings.csv", _cell("shares", 0, "1e300")),
        ["holdings.csv", "shares", "003285.SZ"],
    ),
    (
        "NAV overflows",
        _csv("cash.csv", _cell("amount_local", 0, "1.7e308")),
        ["cash", "not finite or above"],
    ),
    (
        "inf shares",
        _csv("holdings.csv", _cell("shares", 0, "inf")),
        ["holdings.csv", "shares", "003285.SZ"],
    ),
    (
        "inf in fundamentals",
        _parquet("fundamentals.parquet", _inf_ebit),
        ["fundamentals.parquet", "'ebit'", "not finite"],
    ),
    (
        "inf in returns",
        _parquet("returns.parquet", _inf_return),
        ["returns.parquet", "infinite"],
    ),
    (
        "config .inf",
        _config(_set(["objective", "risk_aversion"], float("inf"))),
        ["objective.risk_aversion", "not a finite number"],
    ),
    (
        "config .nan in a constraint",
        _config(_constraint_nan),
        ["constraints[5].max", "not a finite number"],
    ),
    (
        "config .inf nav",
        _config(_set(["fund", "nav"], float("inf"))),
        ["fund.nav", "not a finite number"],
    ),
    # impossible dates
    (
        "as_of Feb 30",
        _text("config.yaml", "as_of: 2026-10-30", "as_of: 2026-02-30"),
        ["fund.as_of", "2026-02-30"],
    ),
    (
        "as_of month 13",
        _text("config.yaml", "as_of: 2026-10-30", "as_of: 2026-13-01"),
        ["fund.as_of", "2026-13-01"],
    ),
    (
        "securities date",
        _csv("securities.csv", _cell("date", 3, "2026-10-32")),
        ["securities.csv", "'date'", "2026-10-32"],
    ),
    (
        "fundamentals date",
        _parquet("fundamentals.parquet", _bad_fund_date),
        ["fundamentals.parquet", "'date'", "2025-02-29"],
    ),
    # text in numeric or boolean columns
    (
        "text price",
        _csv("securities.csv", _cell("price_local", 3, "12,5")),
        ["securities.csv", "price_local", "not numeric", "{sec3}"],
    ),
    (
        "text shares",
        _csv("holdings.csv", _cell("shares", 0, "ten")),
        ["holdings.csv", "shares", "003285.SZ"],
    ),
    (
        "text fx rate",
        _csv("fx.csv", _cell("base_per_unit", 2, "n/a")),
        ["fx.csv", "base_per_unit", "CNY"],
    ),
    (
        "empty asset_id in fundamentals",
        _parquet("fundamentals.parquet", _empty_fund_id),
        ["fundamentals.parquet", "asset_id is empty in 1 row"],
    ),
    (
        "text in fundamentals",
        _parquet("fundamentals.parquet", _fund_text),
        ["fundamentals.parquet", "'eps_fwd'", "not numeric", "n/a"],
    ),
    (
        "text boolean",
        _csv("securities.csv", _cell("halted", 3, "maybe")),
        ["securities.csv", "halted", "not true/false", "{sec3}", "maybe"],
    ),
    # header-only and empty files
    (
        "header-only fx",
        _header_only("fx.csv"),
        ["fx.csv", "no rows"],
    ),
    (
        "empty fx",
        _write("fx.csv", ""),
        ["fx.csv", "empty"],
    ),
    (
        "header-only securities",
        _header_only("securities.csv"),
        ["securities.csv", "no rows"],
    ),
    (
        "header-only holdings",
        _header_only("holdings.csv"),
        ["holdings.csv", "no rows", "allow_empty_holdings"],
    ),
    (
        "empty cash",
        _write("cash.csv", ""),
        ["cash.csv", "empty"],
    ),
    # implausible FX rates
    (
        "inverted JPY",
        _csv("fx.csv", _invert_jpy),
        ["fx.csv", "JPY", "implausible", "inverted"],
    ),
    (
        "fx typo x100",
        _csv("fx.csv", _cell("base_per_unit", 2, "13.8")),
        ["fx.csv", "CNY", "implausible"],
    ),
    # empty or near-empty config
    (
        "empty config",
        _write("config.yaml", ""),
        ["config.yaml", "empty"],
    ),
    (
        "comment-only config",
        _write("config.yaml", "# nothing yet\n"),
        ["config.yaml", "empty"],
    ),
    (
        "fund-only config",
        _write("config.yaml", "fund:\n  name: X\n"),
        ["config.yaml", "constraints"],
    ),
    (
        "no constraints",
        _config(lambda c: c.pop("constraints")),
        ["config.yaml", "constraints"],
    ),
    # unknown market codes
    (
        "unknown market",
        _config(_set(["markets"], {"XX": {"lot_size": 100}})),
        ["markets.XX", "unknown market code"],
    ),
    (
        "market by name",
        _config(_set(["markets"], {"Japan": {"lot_size": 100}})),
        ["markets.Japan", "not a market code"],
    ),
    (
        "market bad value",
        _config(_set(["markets"], {"JP": {"lot_size": -5}})),
        ["markets.JP.lot_size"],
    ),
    # data ending long before as_of
    (
        "stale returns",
        _config(_stale("2027-03-31")),
        ["returns.parquet", "2026-10-30", "business days", "data.max_stale_days"],
    ),
    (
        "stale limit from config",
        _config(_stale("2026-11-04", max_stale_days=2)),
        ["returns.parquet", "3 business days", "at most 2"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_names_the_culprit_and_writes_nothing(
    case, demo_dir, previous_run, tmp_path, capsys
):
    _, edit, needles = case
    d = _copy(demo_dir, tmp_path / "in")
    edit(d)
    before_inputs = _tree(d)
    before_run = _tree(previous_run)
    parent = sorted(os.listdir(previous_run.parent))
    code = main(["rebalance", str(d / "config.yaml"), "--out", str(previous_run), "--replace"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle.format(sec3=_sec_row(demo_dir)) in err, (needle, err)
    assert _tree(previous_run) == before_run
    assert sorted(os.listdir(previous_run.parent)) == parent
    assert _tree(d) == before_inputs


@pytest.mark.parametrize("spelling", sorted(BOOL_SPELLINGS) + ["TRUE", " No ", "Y", ""])
def test_documented_boolean_spellings_are_accepted(spelling):
    from portfolio.input_rules import parse_bool

    problems: list[str] = []
    col = pd.Series([spelling, "false"], dtype=object)
    out = parse_bool(col, "halted", ["A", "B"], problems)
    assert problems == []
    expected = BOOL_SPELLINGS.get(spelling.strip().lower(), False)
    assert out.tolist() == [expected, False]


def test_fx_band_names_the_inversion_only_when_the_inverse_fits():
    rates = pd.Series({"USD": 1.0, "JPY": 150.0, "HKD": 1.28, "SGD": 0.75})
    problems = fx_plausibility(rates, "USD", band=3.0)
    assert len(problems) == 2  # SGD 0.75 is within a factor 3 of 0.775
    jpy = next(p for p in problems if "JPY" in p)
    hkd = next(p for p in problems if "HKD" in p)
    assert "inverted" in jpy and "JPY per USD" in jpy
    assert "inverted" not in hkd  # 1 / 1.28 = 0.78 is no more plausible than 1.28
    # the band is the user's: a factor of 20 lets HKD 1.28 (10x the reference) pass
    assert [p for p in fx_plausibility(rates, "USD", band=20.0) if "HKD" in p] == []
    # other base currencies: JPY base, USD quoted as 150 JPY per USD is right, 1/150 inverted
    assert fx_plausibility(pd.Series({"JPY": 1.0, "USD": 150.0}), "JPY", 3.0) == []
    inv = fx_plausibility(pd.Series({"JPY": 1.0, "USD": 1 / 150.0}), "JPY", 3.0)
    assert len(inv) == 1 and "inverted" in inv[0]


def test_staleness_counts_business_days():
    # Friday 2026-10-30 -> Friday 2026-11-06 is 5 business days (2, 3, 4, 5, 6 November)
    end, labels = pd.Timestamp("2026-10-30"), {"returns": "r.parquet"}
    assert staleness(end, None, pd.Timestamp("2026-11-06"), 5, 100, labels) == []
    late = staleness(end, None, pd.Timestamp("2026-11-09"), 5, 100, labels)
    assert len(late) == 1 and "6 business days" in late[0] and "r.parquet" in late[0]
    # a weekend after the last return is not stale
    assert staleness(end, None, pd.Timestamp("2026-11-01"), 0, 100, labels) == []
    old = staleness(None, pd.Timestamp("2026-06-30"), pd.Timestamp("2026-10-30"), 5, 100, labels)
    assert len(old) == 1 and "122 days" in old[0]


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    from portfolio.inputs import read_table

    path = tmp_path / "holdings.csv"
    path.write_bytes("asset_id,shares\n7203.T,100\n".encode("utf-8-sig"))
    frame = read_table(path, "holdings")
    assert list(frame.columns) == ["asset_id", "shares"]
    assert frame["asset_id"].tolist() == ["7203.T"]
