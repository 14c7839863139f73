"""Bad backtest input through the command line: exit 2, the file, column and date named,
nothing written (dates out of order, a history with gaps, a stale snapshot)."""

import shutil

import pandas as pd
import pytest
import yaml

from portfolio.cli import main


@pytest.fixture
def files(small_files, tmp_path):
    """A private copy of the small market's files and config."""
    d = tmp_path / "market"
    shutil.copytree(small_files, d)
    return d


def _run(capsys, config, out, *extra):
    code = main(["backtest", str(config), "--out", str(out), "--no-report", *extra])
    return code, capsys.readouterr().err


def _history(d):
    return pd.read_parquet(d / "securities_history.parquet")


def test_securities_history_dates_out_of_order(files, tmp_path, capsys):
    h = _history(files)
    last = h["date"].max()
    moved = pd.concat([h[h["date"] == last], h[h["date"] != last]], ignore_index=True)
    moved.to_parquet(files / "securities_history.parquet")
    code, err = _run(capsys, files / "config.yaml", tmp_path / "out")
    assert code == 2, err
    assert "securities_history.parquet" in err and "column 'date'" in err
    assert "dates out of order" in err
    first_other = str(h["date"].min().date())
    assert f"{first_other} (row {int((h['date'] == last).sum()) + 2} of the file)" in err
    assert str(last.date()) in err
    assert not (tmp_path / "out").exists()


def test_fx_history_dates_out_of_order(files, tmp_path, capsys):
    fx = pd.read_csv(files / "fx_history.csv")
    fx.iloc[::-1].to_csv(files / "fx_history.csv", index=False)
    code, err = _run(capsys, files / "config.yaml", tmp_path / "out")
    assert code == 2, err
    assert "fx_history.csv" in err and "column 'date'" in err and "dates out of order" in err
    assert not (tmp_path / "out").exists()


def test_month_missing_from_the_history_is_a_gap(files, tmp_path, capsys):
    """Drop one month-end snapshot inside the backtest range: that month would reuse the
    previous month's universe, caps and benchmark."""
    h = _history(files)
    dates = sorted(h["date"].unique())
    dropped = pd.Timestamp(dates[-3])
    h[h["date"] != dropped].to_parquet(files / "securities_history.parquet")
    code, err = _run(capsys, files / "config.yaml", tmp_path / "out")
    assert code == 2, err
    assert "securities_history.parquet" in err and "column 'date'" in err
    assert "gap in the history" in err
    assert str(dropped.date()) in err and str(pd.Timestamp(dates[-4]).date()) in err
    assert not (tmp_path / "out").exists()


def test_name_missing_from_one_snapshot_is_a_gap(files, tmp_path, capsys):
    h = _history(files)
    dates = sorted(h["date"].unique())
    mid = pd.Timestamp(dates[len(dates) // 2])
    everywhere = h.groupby("asset_id")["date"].nunique() == len(dates)
    name = sorted(everywhere[everywhere].index)[0]
    h[~((h["date"] == mid) & (h["asset_id"] == name))].to_parquet(
        files / "securities_history.parquet"
    )
    code, err = _run(capsys, files / "config.yaml", tmp_path / "out")
    assert code == 2, err
    assert "securities_history.parquet" in err and "column 'date'" in err
    assert f"{name} on {mid.date()}" in err
    assert not (tmp_path / "out").exists()


def _without_histories(d):
    raw = yaml.safe_load((d / "config.yaml").read_text())
    raw["data"].pop("securities_history")
    raw["data"].pop("fx_history")
    return raw


def test_stale_snapshot_is_refused_unless_accepted(files, tmp_path, capsys):
    """One securities snapshot (dated the last day) would be used at every past date."""
    raw = _without_histories(files)
    (files / "stale.yaml").write_text(yaml.safe_dump(raw))
    code, err = _run(capsys, files / "stale.yaml", tmp_path / "out")
    assert code == 2, err
    snap = pd.read_csv(files / "securities.csv")["date"].iloc[0]
    assert "securities.csv" in err and "column 'date'" in err and f"dated {snap}" in err
    assert "stale_securities_ok" in err
    assert not (tmp_path / "out").exists()

    raw["data"]["stale_securities_ok"] = True  # said explicitly: accepted, and noted
    (files / "ok.yaml").write_text(yaml.safe_dump(raw))
    code, err = _run(capsys, files / "ok.yaml", tmp_path / "ok", "--no-comparators", "-q")
    assert code == 0, err
    import json

    notes = json.loads((tmp_path / "ok" / "backtest.json").read_text())["notes"]
    assert any("one securities snapshot used at every date" in n for n in notes)


def test_rebalance_with_a_stale_snapshot_exits_2(files, tmp_path, capsys):
    """The single rebalance checks the snapshot date against fund.as_of too."""
    raw = yaml.safe_load((files / "config.yaml").read_text())
    snap = pd.Timestamp(pd.read_csv(files / "securities.csv")["date"].iloc[0])
    earlier = (snap - pd.offsets.MonthEnd(1)).date()
    raw["fund"]["as_of"] = earlier
    (files / "old.yaml").write_text(yaml.safe_dump(raw))
    code = main(["rebalance", str(files / "old.yaml"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "securities.csv" in err and "column 'date'" in err
    assert f"dated {snap.date()}" in err and f"fund.as_of is {earlier}" in err
    assert not (tmp_path / "r").exists()


def test_bad_date_option_exits_2(files, tmp_path, capsys):
    code, err = _run(capsys, files / "config.yaml", tmp_path / "out", "--start", "31/01/2026")
    assert code == 2 and "--start" in err and "31/01/2026" in err


def test_progress_lines_and_quiet(small_files, tmp_path, capfd):
    """Each month: date, NAV and active return so far on the terminal; -q prints nothing
    (captured at the file descriptors, where a C library would print)."""
    cfg = str(small_files / "config.yaml")
    small = ["--start", "2026-08-31", "--no-comparators", "--no-report"]
    assert main(["backtest", cfg, "--out", str(tmp_path / "a"), *small]) == 0
    out, err = capfd.readouterr()
    lines = [x for x in err.splitlines() if x.startswith("  2026-")]
    assert [x.split()[0] for x in lines] == ["2026-09-30", "2026-10-30"]
    for x in lines:
        assert " NAV " in x and " active " in x and "%" in x
    assert "active return" in out and "run folder:" in out
    assert main(["backtest", cfg, "--out", str(tmp_path / "b"), "-q", *small]) == 0
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert (tmp_path / "b" / "backtest.json").is_file()
    # a previous run folder is replaced only with --replace
    assert main(["backtest", cfg, "--out", str(tmp_path / "b"), "-q", *small]) == 2
    assert "--replace" in capfd.readouterr().err
    assert main(["backtest", cfg, "--out", str(tmp_path / "b"), "-q", "--replace", *small]) == 0


def test_out_folder_is_checked_before_any_work(files, tmp_path, capsys):
    """A folder that is not ours is refused before the data is even read (the history
    here is also broken, and the error is about --out)."""
    h = _history(files)
    h.iloc[::-1].to_parquet(files / "securities_history.parquet")
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, err = _run(capsys, files / "config.yaml", out)
    assert code == 2 and "--out" in err and "taken" in err, err
    assert "securities_history" not in err
    assert (out / "notes.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


def test_fx_history_rate_outside_the_band_names_the_first_date(files, tmp_path, capsys):
    """A JPY rate entered inverted (JPY per USD) from one date on: exit 2 naming the file,
    the column, the currency and that first date; nothing written."""
    fx = pd.read_csv(files / "fx_history.csv")
    dates = sorted(fx["date"].unique())
    bad_from = dates[len(dates) // 2]
    inverted = (fx["currency"] == "JPY") & (fx["date"] >= bad_from)
    fx.loc[inverted, "base_per_unit"] = 1.0 / fx.loc[inverted, "base_per_unit"]
    fx.to_csv(files / "fx_history.csv", index=False)
    code, err = _run(capsys, files / "config.yaml", tmp_path / "out")
    assert code == 2, err
    assert "fx_history.csv" in err and "column 'base_per_unit'" in err
    assert f"on {str(bad_from)[:10]}" in err and "for JPY is implausible" in err
    assert "looks inverted" in err
    assert not (tmp_path / "out").exists()


def test_input_file_with_a_header_and_no_rows(files, tmp_path, capsys):
    """An empty fundamentals file: exit 2 naming it, as the rebalance does."""
    cfg = yaml.safe_load((files / "config.yaml").read_text())
    name = cfg["data"]["fundamentals"]
    path = files / name
    if path.suffix == ".parquet":
        pd.read_parquet(path).iloc[:0].to_parquet(path)
    else:
        pd.read_csv(path).iloc[:0].to_csv(path, index=False)
    code, err = _run(capsys, files / "config.yaml", tmp_path / "out")
    assert code == 2, err
    assert f"{name}: no rows (a header only)" in err
    assert not (tmp_path / "out").exists()
