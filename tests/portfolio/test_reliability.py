"""Reliability (issue 13): no traceback whatever the input, bounded solves, quiet stdout,
the same bytes with 1 and 2 BLAS threads, and a documented command line.

* Hypothesis mutates one thing in the demo files (a cell, a column, a truncated file, a
  config value) and runs ``active-etf rebalance`` in process: the exit code is always one
  of the documented ones for a run (0, 2, 3, 4, 5), never an exception.
* The soft-infeasible case (a soft turnover limit on a problem whose hard limits cannot
  hold, SCS first in the chain) ends with exit 3 (diagnosis) or 4 within its budget, and
  no solver banner reaches stdout. The budget itself is checked without timing: a spent
  budget stops the chain before any solver starts.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]
RUN_EXIT_CODES = {0, 2, 3, 4, 5}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("reliability") / "d"
    assert main(["-q", "demo-data", str(d)]) == 0
    return d


def _copy(demo_dir: Path, target: Path) -> Path:
    target.mkdir()
    for p in demo_dir.iterdir():
        if p.suffix == ".parquet":
            (target / p.name).symlink_to(p)
        else:
            shutil.copy(p, target / p.name)
    return target


NASTY = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "1e400",
    "-1",
    "0",
    "0.0",
    "abc",
    "TRUE",
    "no",
    "2026-02-30",
    "1,5",
    "\u00e9\u6f22",
    "'",
    '"',
    "None",
    "null",
    "9" * 40,
]
CSV_FILES = ["securities.csv", "holdings.csv", "cash.csv", "fx.csv"]


@st.composite
def mutations(draw):
    kind = draw(st.sampled_from(["cell", "cell", "cell", "drop_column", "truncate", "config"]))
    value = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=6)))
    return {
        "kind": kind,
        "file": draw(st.sampled_from(CSV_FILES)),
        "row": draw(st.integers(0, 40)),
        "col": draw(st.integers(0, 30)),
        "cut": draw(st.floats(0.0, 1.0)),
        "value": value,
        "leaf": draw(st.integers(0, 200)),
    }


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _apply(d: Path, m: dict) -> str:
    if m["kind"] == "config":
        c = yaml.safe_load((d / "config.yaml").read_text())
        leaves = list(_leaves(c))
        path = leaves[m["leaf"] % len(leaves)]
        node = c
        for key in path[:-1]:
            node = node[key]
        try:
            node[path[-1]] = yaml.safe_load(m["value"]) if m["value"].strip() else m["value"]
        except yaml.YAMLError:
            node[path[-1]] = m["value"]
        (d / "config.yaml").write_text(yaml.safe_dump(c, allow_unicode=True))
        return f"config {path} = {m['value']!r}"
    target = d / m["file"]
    if m["kind"] == "truncate":
        data = target.read_bytes()
        target.write_bytes(data[: int(m["cut"] * len(data))])
        return f"{m['file']} cut at {m['cut']:.2f}"
    df = pd.read_csv(target, dtype=str, keep_default_na=False)
    col = df.columns[m["col"] % len(df.columns)]
    if m["kind"] == "drop_column":
        df.drop(columns=[col]).to_csv(target, index=False)
        return f"{m['file']} without {col}"
    row = m["row"] % len(df)
    df.loc[row, col] = m["value"]
    df.to_csv(target, index=False)
    return f"{m['file']}[{row}, {col}] = {m['value']!r}"


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(m=mutations())
def test_mutated_demo_files_never_give_a_traceback(demo_dir, m):
    with tempfile.TemporaryDirectory() as tmp:
        d = _copy(demo_dir, Path(tmp) / "in")
        what = _apply(d, m)
        out = Path(tmp) / "out"
        try:
            code = main(
                ["-q", "rebalance", str(d / "config.yaml"), "--out", str(out), "--no-report"]
            )
        except Exception as exc:  # pragma: no cover - the failure this test looks for
            raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from exc
        assert code in RUN_EXIT_CODES, what
        if code == 2:  # bad input: nothing written
            assert not out.exists(), what


def _cli(args, cwd, env_extra=None, timeout=900):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "portfolio.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang guard, not a timing assertion
    )


def test_soft_infeasible_case_is_bounded_and_stdout_stays_clean(demo_dir, tmp_path):
    c = yaml.safe_load((demo_dir / "config.yaml").read_text())
    pos = c["constraints"][0]
    assert pos["kind"] == "position_bounds"
    pos["max"] = 0.0005  # 1,200 names x 0.05 % < 97 % invested: the hard limits cannot hold
    pos.pop("active_min", None), pos.pop("active_max", None)
    turnover = next(x for x in c["constraints"] if x["kind"] == "turnover")
    turnover["soft"] = 1.0
    c["solver"] = {"name": "SCS", "fallback": [], "dual_newton": False, "time_limit_s": 20}
    cfg = demo_dir / "soft_infeasible.yaml"
    cfg.write_text(yaml.safe_dump(c))
    out = tmp_path / "run"
    proc = _cli(["rebalance", str(cfg), "--out", str(out), "--no-report"], tmp_path)
    assert proc.returncode in (3, 4), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "HiGHS" not in proc.stdout and "SCIP" not in proc.stdout
    assert "Running" not in proc.stdout and "SCS v" not in proc.stdout
    if proc.returncode == 3:
        assert (out / "diagnosis.json").is_file()
        assert "infeasible" in proc.stderr
    else:
        assert "time" in proc.stderr


def test_a_spent_time_budget_stops_before_any_solver_starts():
    import cvxpy as cp

    from optimizers import SolverError
    from optimizers.solvers import remaining_time, solve_with_fallback, time_budget

    x = cp.Variable(3)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(x - 1.0)))
    with time_budget(0.0):
        assert remaining_time() <= 0.0
        with pytest.raises(SolverError, match="time budget"):
            solve_with_fallback(problem, ["CLARABEL", "SCS"])
    assert problem.status is None  # no solver was started
    with time_budget(30.0):
        assert 0 < remaining_time() <= 30.0
        assert solve_with_fallback(problem, ["CLARABEL"]) == ("optimal", "CLARABEL")


def _digest(folder: Path) -> dict[str, str]:
    names = ["trades.csv", "target_holdings.csv", "risk_by_asset.csv", "summary.json"]
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def test_outputs_are_byte_identical_with_1_and_2_blas_threads(tmp_path):
    digests = []
    for n in ("1", "2"):
        env = {k: n for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        out = tmp_path / f"threads-{n}"
        proc = _cli(["-q", "demo", "--out", str(out), "--no-report"], tmp_path, env)
        assert proc.returncode == 0, proc.stderr
        digests.append(_digest(out))
    assert digests[0] == digests[1]


def _all_parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_every_argument_has_help_and_every_help_lists_the_exit_codes():
    from portfolio.errors import EXIT_CODES

    for parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if action.dest in ("help", "command"):
                continue
            assert action.help and action.help.strip(), (parser.prog, action.dest)
        text = parser.format_help()
        for code, meaning in EXIT_CODES.items():
            assert f"{code}  {meaning}" in text, (parser.prog, code)


def test_version_and_quiet(capsys, tmp_path):
    from portfolio import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"active-etf {__version__}"
    assert main(["-q", "demo-data", str(tmp_path / "d")]) == 0
    assert capsys.readouterr().out == ""
