"""cosim.study: the shared parts of the seed studies (tables, base scenarios, the command)."""
import math

import pandas as pd
import pytest

from cosim import cli, study
from cosim_base.errors import ConfigError


def test_table_markdown_and_files(tmp_path):
    df = study.table([study.Row("cost", -8.71, -0.93123456, "%", "a|b"), study.Row("peak", None, 2.0)])
    assert list(df.columns) == ["metric", "paper", "ours", "unit", "note"]
    md = study.markdown(df).splitlines()
    assert md[0] == "| metric | paper | ours | unit | note |"
    assert md[2] == "| cost | -8.71 | -0.9312 | % | a\\|b |"   # 4 digits, pipes escaped
    assert md[3] == "| peak | - | 2 |  |  |"                   # missing paper figure as "-"
    files = study.write_table(df, tmp_path / "out", "table")
    back = pd.read_csv(files["csv"])
    assert back.ours.tolist() == pytest.approx([-0.93123456, 2.0]) and files["md"].read_text() == study.markdown(df)


def test_change_pct():
    assert study.change_pct(90.0, 100.0) == pytest.approx(-10.0)
    assert study.change_pct(-1.2, -1.0) == pytest.approx(-20.0)   # against |ref|
    assert math.isnan(study.change_pct(1.0, 0.0))


def test_base_scenario_shortened_reseeded_and_changed():
    sc = study.scenario("scenarios/default.toml", hours=2, seed=7, changes={"control.stages": ["da"]})
    assert (sc.duration_s, sc.seed, sc.control.stages) == (7200, 7, ("da",))
    assert study.scenario("scenarios/default.toml") == study.scenario("scenarios/default.toml", changes={})


def test_every_study_module_has_its_scenario_and_run():
    for name in study.STUDIES:
        mod = study.study(name)
        assert (study.ROOT / mod.SCENARIO).is_file() and callable(mod.run)
    with pytest.raises(ConfigError, match="study = 'seed009' must be one of seed000"):
        study.study("seed009")
    assert cli.main(["study", "seed009"]) == 2
