"""Alternatives on common random numbers, the regret split, and coordination against none."""
import re
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
    # the split net of stored energy first, the gross one beside it, each labelled with its cost
    net, gross = out.split("regret split, ")[1:]
    assert net.startswith("net of the change in stored energy (cost_total_net_storage, currency):")
    assert gross.startswith("gross, the change in stored energy not credited (cost_total, currency):")
    k = {n: kpi.compute(tmp_path / f"b-{n}.h5") for n in ("actual", "uncoordinated")}
    for text, key in ((net, "cost_total_net_storage"), (gross, "cost_total")):
        gap = k["uncoordinated"][key] - k["actual"][key]
        assert float(re.search(r"baseline_gap +(\S+)", text).group(1)) == pytest.approx(gap, abs=1e-4)
    assert k["actual"]["stored_value"] != k["uncoordinated"]["stored_value"]  # the two splits differ


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


def test_the_oracle_ends_where_the_actual_run_ended(tmp_path):
    """Without an end state the oracle (horizon = the run) would end its stores where they began
    and bank the difference; with control.terminal it ends them where the actual run did."""
    sc = Scenario().updated({**SMALL, "duration_s": 3600, "step_s": 300, "output": str(tmp_path / "t.h5")})
    paths = baselines.run_variants(sc, ["oracle", "actual"])
    assert list(paths) == ["oracle", "actual"]  # the actual ran first (the oracle reads its record)
    oracle = baselines.variant(sc, "oracle")
    assert oracle.control.terminal == str(paths["actual"])
    st = {n: kpi.stored_states(p) for n, p in paths.items()}
    assert set(st["oracle"]) == {"Building", "EV", "Battery"}
    for kind, (start, end) in st["actual"].items():
        np.testing.assert_allclose(st["oracle"][kind][0], start)  # the same plant
        np.testing.assert_allclose(st["oracle"][kind][1], end, rtol=0.01, atol=0.1, err_msg=kind)
    tseh = st["actual"]["Building"]
    assert tseh[1].sum() > tseh[0].sum() + 5  # the actual run stored heat: an end state that binds


def test_a_terminal_record_must_match_the_run(tmp_path):
    from cosim import world
    from cosim_base.errors import ConfigError
    sc = Scenario().updated({**SMALL, "duration_s": 1800, "step_s": 300, "output": str(tmp_path / "a.h5"),
                             "control.stages": []})
    world.run(sc)
    with pytest.raises(ConfigError, match=r"control.terminal = '.*nope.h5': no such record"):
        world.build_parts(sc.updated({"control.stages": ["da"], "control.terminal": str(tmp_path / "nope.h5")}))
    with pytest.raises(ConfigError, match=r"a complete record of 3600 s is needed, it is complete of 1800 s"):
        world.build_parts(sc.updated({"control.stages": ["da"], "control.terminal": str(tmp_path / "a.h5"),
                                      "duration_s": 3600}))
    fewer = {"devices.EV": [{"bus": [3, 10], "capacity_kwh": 60.0}]}
    with pytest.raises(ConfigError, match=r"it records 4 EV units, this plant has 2"):
        world.build_parts(sc.updated({"control.stages": ["da"], "control.terminal": str(tmp_path / "a.h5"), **fewer}))
    with pytest.raises(ConfigError, match=r"control.terminal = 'x.h5': end states are planned by the built-in"):
        sc.updated({"control.controller": "controllers.examples.tou_rules:TOURules", "control.terminal": "x.h5"})


def test_the_uncoordinated_baseline_has_local_voltage_control(tmp_path):
    """No controller: the OLTC, banks and SVC regulate on their own (grid.local_control, on by
    default); a band below the feeder head's voltage makes the tap step down into it."""
    band = {"grid.oltc_v_set_pu": 1.0, "grid.oltc_band_pu": 0.02}
    heads = {}
    for local in (True, False):
        sc = Scenario().updated({**SMALL, **band, "grid.local_control": local, "duration_s": 3600, "step_s": 300,
                                 "output": str(tmp_path / f"l{local}.h5")})
        unco = baselines.variant(sc, "uncoordinated")
        assert unco.grid == sc.grid and (unco.plant_spec().local_voltage is not None) == local
        rec = read(baselines.run_variants(sc, ["uncoordinated"])["uncoordinated"])
        tap = rec.series("plant/Trafo", "tap_pos").iloc[:, 0].to_numpy()
        heads[local] = rec.series("plant/Bus", "vm_pu")["Bus_0"].to_numpy()
        if local:
            assert tap[0] == 0 and tap[-1] < 0 and (np.diff(tap) <= 0).all()
            assert 0.99 <= heads[local][-1] <= 1.01
        else:
            assert (tap == 0).all()
    assert heads[False][-1] > 1.01  # held at tap 0 the head stays above the band
    assert Scenario().grid.local_control
