"""Alternatives on common random numbers, the regret split, and coordination against none."""
from dataclasses import replace

import numpy as np
import pytest

from cosim import baselines, kpi
from cosim.record import read
from cosim.scenario import Scenario
from tests.small import SMALL


def test_variants_change_only_their_knob(tmp_path):
    sc = Scenario().updated({**SMALL, "output": str(tmp_path / "x.h5")})
    v = {n: baselines.variant(sc, n) for n in baselines.VARIANTS}
    assert v["perfect"].forecast.perfect and v["perfect"].control == replace(sc.control, ev_schedule="known")
    assert v["oracle"].control.ev_schedule == "known"  # a perfect EV arrival forecast: the true sessions
    assert v["oracle"].control.stages == ("da",) and v["oracle"].control.da.T == 8  # 2 h at 15 min
    assert v["no_tseh"].control.passive == ("tseh",)
    assert v["uncoordinated"].control.stages == ()
    assert {x.seed for x in v.values()} == {sc.seed} and {x.devices for x in v.values()} == {sc.devices}
    assert len({x.output_path() for x in v.values()}) == len(v)
    with pytest.raises(ValueError, match="variant"):
        baselines.variant(sc, "psychic")


def test_regret_split_adds_up():
    r = baselines.regret({"actual": 110.0, "perfect": 104.0, "oracle": 100.0, "uncoordinated": 130.0})
    assert r == {"forecast_error": 6.0, "structure": 4.0, "baseline_gap": 20.0}
    assert baselines.regret({"actual": 1.0}) == {}


@pytest.mark.slow
def test_coordination_is_not_worse_than_none_over_a_day(tmp_path):
    """Same seed (same truth): the three-stage controller's day costs no more than local control."""
    sc = Scenario().updated({**SMALL, "duration_s": 86400, "step_s": 300, "output": str(tmp_path / "day.h5")})
    paths = baselines.run_variants(sc, ["actual", "uncoordinated"])
    k = {n: kpi.compute(p) for n, p in paths.items()}
    assert k["actual"]["cost_total"] <= k["uncoordinated"]["cost_total"]
    assert k["actual"]["rt_failed"] == 0 and k["actual"]["diverged_steps"] == 0
    # common random numbers: both saw the same base load
    same = [read(p).series("plant/BaseLoad", "p_mw").to_numpy() for p in paths.values()]
    assert np.array_equal(*same)


def test_cli_baselines_prints_comparison_and_regret(tmp_path, capsys):
    from cosim.cli import main
    toml = tmp_path / "b.toml"
    sc = Scenario().updated({**SMALL, "duration_s": 1800, "step_s": 300, "output": str(tmp_path / "b.h5")})
    toml.write_text(sc.to_toml())
    assert main(["baselines", str(toml), "--variants", "actual", "perfect", "uncoordinated"]) == 0
    out = capsys.readouterr().out
    assert "cost_total" in out and "forecast_error" in out and "baseline_gap" in out
    assert (tmp_path / "b-uncoordinated.h5").exists()


def test_variants_of_a_users_controller_use_the_builtin_references(tmp_path):
    sc = Scenario().updated({**SMALL, "output": str(tmp_path / "u.h5"),
                             "control.controller": "controllers.examples.tou_rules:TOURules",
                             "control.params": {"step_s": 900}})
    perfect, oracle = baselines.variant(sc, "perfect"), baselines.variant(sc, "oracle")
    unco, builtin = baselines.variant(sc, "uncoordinated"), baselines.variant(sc, "builtin")
    assert perfect.control.controller == sc.control.controller and perfect.forecast.perfect
    assert oracle.control.controller == "multistage" and oracle.control.stages == ("da",) and oracle.forecast.perfect
    assert unco.control.controller == "multistage" and not unco.control.active()
    assert builtin.control.controller == "multistage" and builtin.control.stages == ("da", "id", "rt")
    assert builtin.forecast == sc.forecast and builtin.devices == sc.devices
    for name in ("no_margin", "no_tseh"):
        with pytest.raises(ValueError, match=f"variant '{name}' changes the built-in controller's keys"):
            baselines.variant(sc, name)
    assert baselines.regret({"actual": 5.0, "builtin": 3.0}) == {"builtin_gap": 2.0}
