"""Output safety: the tool never deletes or replaces what it did not write, and a kill -9 at
any step of a run-folder write leaves the old complete run or the new complete run.

Kills are deterministic: the child process is told by ``ACTIVE_ETF_FAULT_STEP`` at which
named step of :mod:`portfolio.atomic` to SIGKILL itself (no timing luck). The folder-swap
kills drive :mod:`portfolio.outputs` directly in a small child process (fast); one kill
goes through the whole ``active-etf rebalance --replace`` command.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from portfolio.atomic import FAULT_ENV, STEPS, cleanup_leftovers
from portfolio.cli import main
from portfolio.outputs import MARKER_KEY, is_run_folder, write_new_run, write_run_folder

REPO = Path(__file__).resolve().parents[2]

EXPLICIT_STEPS = ("tmp-created", "file-written", "files-written", "before-swap", "after-swap")
DEFAULT_STEPS = (
    "tmp-created",
    "file-written",
    "files-written",
    "before-swap",
    "before-pointer",
    "pointer-tmp",
    "after-pointer",
)


def _files(tag: str) -> dict[str, str]:
    return {
        "trades.csv": f"asset_id,shares\nA,{tag}\n",
        "summary.json": json.dumps({"tag": tag}) + "\n",
        "manifest.json": json.dumps({"tag": tag}) + "\n",
    }


def _state(folder: Path) -> str | None:
    """'old' / 'new' when ``folder`` is a complete run of that tag, else None."""
    if not is_run_folder(folder):
        return None
    names = sorted(p.name for p in folder.iterdir())
    if names != ["manifest.json", "summary.json", "trades.csv"]:
        return None
    tag = json.loads((folder / "summary.json").read_text())["tag"]
    expected = _files(tag)
    for name in ("trades.csv", "summary.json"):
        if (folder / name).read_text() != expected[name]:
            return None
    return tag


def _child(code: str, cwd: Path, step: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop(FAULT_ENV, None)
    if step:
        env[FAULT_ENV] = step
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )


def _sha_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_every_step_has_a_kill_test():
    assert set(EXPLICIT_STEPS) | set(DEFAULT_STEPS) == set(STEPS)


@pytest.mark.parametrize("step", EXPLICIT_STEPS)
def test_kill_while_replacing_a_run_folder(tmp_path, step):
    out = tmp_path / "run"
    write_run_folder(out, _files("old"))
    code = f"from portfolio.outputs import write_run_folder as w; w('run', {_files('new')}, True)"
    proc = _child(code, tmp_path, step)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    expected = "new" if step == "after-swap" else "old"
    assert _state(out) == expected
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "run"]
    assert len(leftovers) <= 1 and all(n.startswith(".run.tmp-") for n in leftovers), leftovers
    write_run_folder(out, _files("next"), replace=True)  # cleans the leftover, replaces
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert _state(out) == "next"


@pytest.mark.parametrize("step", DEFAULT_STEPS)
def test_kill_while_adding_a_run_and_switching_latest(tmp_path, step):
    root = tmp_path / "runs" / "fund" / "2026-10-30"
    first = write_new_run(root, _files("old"))
    code = f"from portfolio.outputs import write_new_run as w; w('{root}', {_files('new')})"
    proc = _child(code, tmp_path, step)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _state(first) == "old"  # an earlier run is never touched
    latest = root / "latest"
    assert latest.is_symlink()
    assert _state(latest.resolve()) == ("new" if step == "after-pointer" else "old")
    visible = [p for p in root.iterdir() if p.name[0] != "." and p.name != "latest"]
    assert all(_state(p) in ("old", "new") for p in visible)  # no half-written run folder
    hidden = [p.name for p in root.iterdir() if p.name.startswith(".")]
    assert len(hidden) <= 1, hidden
    write_new_run(root, _files("next"))
    assert not [p for p in root.iterdir() if p.name.startswith(".")]
    assert _state((root / "latest").resolve()) == "next"
    assert _state(first) == "old"


def test_interrupted_two_rename_fallback_is_put_back(tmp_path):
    """Where the atomic exchange is unsupported, a kill between the renames is undone."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    ).stdout.strip()
    out = tmp_path / "run"
    write_run_folder(out, _files("old"))
    old = tmp_path / f".run.old-20261201T000000.000000Z-{dead}"
    out.rename(old)
    cleanup_leftovers(tmp_path)
    assert _state(out) == "old" and not old.exists()


def test_a_running_writers_temporary_folder_is_left_alone(tmp_path):
    mine = tmp_path / f".run.tmp-20261201T000000.000000Z-{os.getpid()}"
    mine.mkdir()
    cleanup_leftovers(tmp_path)
    assert mine.exists()


def test_marker_lists_the_files_written(tmp_path):
    out = write_run_folder(tmp_path / "run", _files("old"))
    marker = json.loads((out / "manifest.json").read_text())[MARKER_KEY]
    assert marker == {
        "tool": "active-etf",
        "files": ["manifest.json", "summary.json", "trades.csv"],
    }


# ---- through the command line ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("safety") / "d"
    assert main(["demo-data", str(d)]) == 0
    return d


@pytest.fixture(scope="module")
def good_run(demo_dir):
    out = demo_dir.parent / "good"
    assert main(["-q", "rebalance", str(demo_dir / "config.yaml"), "--out", str(out)]) == 0
    return out


def test_out_is_the_input_folder(demo_dir, capsys):
    before = _sha_tree(demo_dir)
    code = main(["rebalance", str(demo_dir / "config.yaml"), "--out", str(demo_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert "files the tool did not write" in err and "config.yaml" in err
    assert _sha_tree(demo_dir) == before


def test_out_is_an_existing_file(demo_dir, tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    code = main(["rebalance", str(demo_dir / "config.yaml"), "--out", str(target)])
    assert code == 2
    assert "existing file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "mine\n" and sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_out_below_a_file(demo_dir, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["rebalance", str(demo_dir / "config.yaml"), "--out", str(tmp_path / "f/r")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_previous_run_needs_replace_and_no_foreign_files(good_run, demo_dir, capsys):
    before = _sha_tree(good_run)
    assert set(before) == {
        "cash_by_currency.csv",
        "creation_basket.csv",
        "fx_trades.csv",
        "manifest.json",
        "pcf.csv",
        "redemption_basket.csv",
        "report.html",
        "risk_by_asset.csv",
        "run.log",
        "summary.json",
        "summary.txt",
        "target_holdings.csv",
        "trades.csv",
        "trades.xlsx",
    }
    cfg = str(demo_dir / "config.yaml")
    assert main(["rebalance", cfg, "--out", str(good_run)]) == 2
    assert "pass --replace" in capsys.readouterr().err
    (good_run / "my-notes.txt").write_text("keep me\n")
    try:
        assert main(["rebalance", cfg, "--out", str(good_run), "--replace"]) == 2
        assert "my-notes.txt" in capsys.readouterr().err
    finally:
        (good_run / "my-notes.txt").unlink()
    assert _sha_tree(good_run) == before


def test_infeasible_rerun_keeps_the_good_run(good_run, demo_dir, tmp_path, capsys):
    cfg = yaml.safe_load((demo_dir / "config.yaml").read_text())
    for c in cfg["constraints"]:
        if c.get("name") == "China exposure":
            c["bounds"]["China"] = [0.0, 0.01]
        if c["kind"] == "turnover":
            c["max"] = 0.01
    bad = demo_dir / "infeasible.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    before = _sha_tree(good_run)
    try:
        code = main(["-q", "rebalance", str(bad), "--out", str(good_run), "--replace"])
    finally:
        bad.unlink()
    assert code == 3
    assert _sha_tree(good_run) == before
    siblings = [p for p in good_run.parent.iterdir() if p.name.startswith("good-infeasible-")]
    assert len(siblings) == 1 and (siblings[0] / "diagnosis.json").is_file()
    log = (siblings[0] / "run.log").read_text()
    assert "infeasible" in log
    shutil.rmtree(siblings[0])


def test_default_runs_get_their_own_folder_and_latest(demo_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "mine.txt").write_text("user file\n")
    cfg = str(demo_dir / "config.yaml")
    assert main(["-q", "rebalance", cfg]) == 0
    assert main(["-q", "rebalance", cfg]) == 0
    root = next((tmp_path / "runs").glob("*/*"))
    runs = sorted(p for p in root.iterdir() if p.name != "latest")
    assert len(runs) == 2 and runs[0].name < runs[1].name
    assert (root / "latest").resolve() == runs[1].resolve()
    for r in runs:
        assert is_run_folder(r) and (r / "trades.csv").is_file()
    assert (runs[0] / "trades.csv").read_bytes() == (runs[1] / "trades.csv").read_bytes()
    assert (tmp_path / "runs" / "mine.txt").read_text() == "user file\n"


def test_demo_data_refuses_to_overwrite_changed_files(tmp_path, capsys):
    d = tmp_path / "d"
    assert main(["-q", "demo-data", str(d)]) == 0
    (d / "notes.txt").write_text("mine\n")
    assert main(["-q", "demo-data", str(d)]) == 0  # identical files: fine
    edited = (d / "config.yaml").read_text() + "# my edit\n"
    (d / "config.yaml").write_text(edited)
    assert main(["demo-data", str(d)]) == 2
    assert "config.yaml" in capsys.readouterr().err
    assert (d / "config.yaml").read_text() == edited
    assert not [p for p in d.iterdir() if p.name.startswith(".")]
    assert main(["-q", "demo-data", str(d), "--force"]) == 0
    assert (d / "config.yaml").read_text() != edited
    assert (d / "notes.txt").read_text() == "mine\n"
    (tmp_path / "f").write_text("x")
    assert main(["demo-data", str(tmp_path / "f")]) == 2


def test_kill_during_a_real_replace(good_run, demo_dir, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(good_run, out)
    before = _sha_tree(out)
    cmd = [sys.executable, "-m", "portfolio.cli", "-q", "rebalance", str(demo_dir / "config.yaml")]
    env = dict(os.environ, PYTHONPATH=str(REPO), **{FAULT_ENV: "before-swap"})
    proc = subprocess.run(cmd + ["--out", str(out), "--replace"], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _sha_tree(out) == before
    assert len([p for p in tmp_path.iterdir() if p.name.startswith(".run.tmp-")]) == 1


# ---- environment failures: read-only and full output folders (exit code 6) ---------------


def _tmpfs(path: Path, options: str) -> None:
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")


@pytest.fixture
def mounted(tmp_path):
    mounts = []

    def make(name: str, options: str) -> Path:
        p = tmp_path / name
        _tmpfs(p, options)
        mounts.append(p)
        return p

    yield make
    for p in mounts:
        subprocess.run(["umount", str(p)], capture_output=True)


def test_read_only_output_folder(demo_dir, mounted, capsys, monkeypatch):
    ro = mounted("ro", "ro,size=1m")
    code = main(["rebalance", str(demo_dir / "config.yaml"), "--out", str(ro / "run")])
    err = capsys.readouterr().err
    assert code == 6, err
    assert err.count("\n") == 1 and "Read-only file system" in err
    assert os.listdir(ro) == []
    monkeypatch.chdir(ro)  # default runs/ folder under a read-only working directory
    assert main(["-q", "rebalance", str(demo_dir / "config.yaml")]) == 6
    assert os.listdir(ro) == []


def test_full_output_folder(demo_dir, mounted, capsys):
    full = mounted("full", "size=64k")
    code = main(["-q", "rebalance", str(demo_dir / "config.yaml"), "--out", str(full / "a/run")])
    err = capsys.readouterr().err
    assert code == 6, err
    assert err.count("\n") == 1 and "No space left on device" in err
    assert os.listdir(full) == []
    assert main(["demo-data", str(full / "d")]) == 6
    capsys.readouterr()
    assert os.listdir(full) == []
