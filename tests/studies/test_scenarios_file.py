"""Bad scenarios files: exit 2 naming the scenario and the field, nothing written; an empty
grid and a grid above --max-scenarios are refused (naming its size)."""

import pytest
import yaml

from portfolio.cli import main
from portfolio.config import parse_config
from portfolio.errors import ConfigError
from portfolio.studies import Study, parse_study_file
from portfolio.studies.changes import resolve_scenario
from tests.studies.conftest import small_config_raw


@pytest.fixture(scope="module")
def base():
    return parse_config(small_config_raw())


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"objective.risk_aversion": "high"}, ["objective.risk_aversion", "valid number"]),
        ({"constraints.Foo exposure.max": 0.1}, ["constraints.Foo exposure.max", "unknown"]),
        ({"constraints.turnover.maxx": 0.1}, ["constraints.turnover.maxx", "'maxx'"]),
        ({"constraints.turnover.max": "lots"}, ["constraints.turnover.max", "'lots'"]),
        ({"objective.aversion": 3}, ["objective.aversion", "unknown field 'aversion'"]),
        ({"risk.estimator": "magic"}, ["risk.estimator", "magic"]),
        ({"data.returns": "x.parquet"}, ["data.returns", "cannot change"]),
        ({"constraints.China exposure.bounds.Mars.max": 0.1}, ["bounds", "'Mars'"]),
    ],
)
def test_bad_change_names_scenario_and_field(base, changes, words):
    with pytest.raises(ConfigError) as err:
        resolve_scenario(base, "my scenario", changes)
    text = str(err.value)
    assert "scenario 'my scenario'" in text
    for w in words:
        assert w in text, text


def test_changes_split_into_resolve_and_refit(base):
    s = resolve_scenario(
        base,
        "s",
        {"constraints.turnover.max": 0.1, "constraints.China exposure.bounds.China.max": 0.05,
         "objective.risk_aversion": 20, "trades.min_trade_base": 1000},
    )  # fmt: skip
    b = resolve_scenario(base, "base", {})
    assert s.build_key == b.build_key and s.fit_key == b.fit_key  # no refit, no rebuild
    assert s.overrides["risk_aversion"] == 20.0 and s.min_trade_base == 1000.0
    co = s.overrides["constraint_overrides"]
    assert co["turnover"] == {"max": 0.1}
    assert tuple(co["China exposure"]["bounds"]["China"]) == (0.0, 0.05)
    cfg = s.config()  # the changed config: what a separate run would read
    assert cfg.objective.risk_aversion == 20.0
    assert [c for c in cfg.constraints if c["kind"] == "turnover"][0]["max"] == 0.1
    refit = resolve_scenario(base, "r", {"alpha.factors.rorc.weight": 3.0})
    assert refit.fit_key != b.fit_key and refit.overrides == {}


def test_empty_and_oversized_grids(base):
    with pytest.raises(ConfigError, match="empty"):
        Study(base, None).grid({})
    with pytest.raises(ConfigError, match="no values"):
        Study(base, None).grid({"objective.risk_aversion": []})
    grid = {"objective.risk_aversion": list(range(1, 11)), "constraints.turnover.max": [0.1] * 11}
    with pytest.raises(ConfigError, match="110 scenarios"):
        Study(base, None, max_scenarios=100).grid(grid)
    with pytest.raises(ConfigError, match="grid: is empty"):
        parse_study_file({"grid": {}}) and Study(base, None).add_file(
            parse_study_file({"grid": {}})
        )


def _cli(tmp_path, small_files, doc, *extra):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(doc), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["whatif", str(small_files), str(f), "--out", str(out), "-q", *extra])
    return code, out


@pytest.mark.parametrize(
    ("doc", "extra", "needle"),
    [
        ({"scenarios": [{"name": "tight", "changes": {"constraints.turnoverr.max": 0.1}}]}, [],
         "scenario 'tight': constraints.turnoverr.max"),
        ({"scenarios": [{"name": "lam", "changes": {"objective.risk_aversion": [1]}}]}, [],
         "scenario 'lam'"),
        ({"grid": {"objective.risk_aversion": [1, 2, 3], "constraints.turnover.max": [0.1, 0.2]}},
         ["--max-scenarios", "5"], "6 scenarios"),
        ({"grid": {}}, [], "empty"),
        ({"scenarios": [{"name": "x", "chnages": {}}]}, [], "scenario 'x': chnages"),
    ],
)  # fmt: skip
def test_cli_bad_scenarios_exit_2_nothing_written(tmp_path, small_files, capsys, doc, extra,
                                                  needle):  # fmt: skip
    code, out = _cli(tmp_path, small_files, doc, *extra)
    assert code == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
