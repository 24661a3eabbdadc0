"""devices.sim.DeviceSim builds every fleet kind from plain, JSON-able create parameters (as a
separate process receives them from mosaik) and names what is wrong with them."""
import json

import numpy as np
import pytest

from cosim_base.errors import ConfigError
from devices import fleet_kinds
from devices.sim import DeviceSim
from simulators.spec import PlantSpec

START = "2024-01-15 06:00"
#: Per-kind parameters without a default (lists: one value per unit).
REQUIRED = {"Load": {"p_peak_kw": [3.0, 5.0]}, "PV": {"p_dc0_kw": 10.0}, "Wind": {"p_rated_kw": [500.0, 800.0]}}


def started(kind: str) -> DeviceSim:
    sim = DeviceSim()
    sim.init(f"{kind}-0", step_size=60, kind=kind)
    return sim


def test_every_fleet_kind_builds_from_json_create_parameters():
    for name, k in fleet_kinds().items():
        sim = started(name)
        params = json.loads(json.dumps({"start": START, "duration_s": 3600, **REQUIRED.get(name, {})}))
        ents = sim.create(2, k.model, **params)
        sim.step(0, {}, None)
        out = sim.get_data({e["eid"]: list(k.fleet_cls.OUTPUTS) for e in ents})
        values = np.array([v for d in json.loads(json.dumps(out)).values() for v in d.values()])
        assert len(values) == 2 * len(k.fleet_cls.OUTPUTS) and np.isfinite(values).all(), name
    assert sim.get_data({"WaterHeater_1": ["e_kwh"]})["WaterHeater_1"]["e_kwh"] > 0


def test_building_fleet_from_parameters_reads_the_named_weather_and_per_unit_lists():
    sim = started("Building")
    sim.create(3, "Building", start=START, duration_s=7200, weather="tmy3-greensboro",
               t_in0_c=[19.0, 21.0, 23.0], p_hp_max_kw=2.0)
    t_out = PlantSpec(start=START, duration_s=7200).weather_data().frame.t_out_c
    for t in range(0, 7200, 60):
        sim.step(t, {}, None)
        out = sim.get_data({f"Building_{i}": ["t_in_c", "t_out_c", "p_hp_kw"] for i in range(3)})
        assert out["Building_0"]["t_out_c"] == pytest.approx(t_out.loc[t])
        assert max(d["p_hp_kw"] for d in out.values()) <= 2.0
    assert out["Building_0"]["t_in_c"] > 19.0 and out["Building_2"]["t_in_c"] < 23.0  # thermostats at work


def test_ev_soc_init_from_parameters_replaces_the_sampled_one():
    sim = started("EV")
    sim.create(2, "EV", start=START, duration_s=3600, soc_init=[0.2, 0.9])
    sim.step(0, {}, None)
    assert [sim.get_data({f"EV_{i}": ["soc"]})[f"EV_{i}"]["soc"] for i in range(2)] == pytest.approx([0.2, 0.9], abs=0.01)


def test_bad_create_parameters_name_the_parameter():
    with pytest.raises(ConfigError, match=r"unknown create parameter\(s\) \['p_hp_kw_max'\]"):
        started("Building").create(1, "Building", p_hp_kw_max=3.0)
    with pytest.raises(ConfigError, match=r"\['p_peak_kw'\] have no default"):
        started("Load").create(1, "BaseLoad", profile="H0-A")
    with pytest.raises(ConfigError, match="profile = 'H0-Z'"):
        started("Load").create(2, "BaseLoad", p_peak_kw=3.0, profile=["H0-A", "H0-Z"])
    with pytest.raises(ConfigError, match="t_in0_c has shape"):
        started("Building").create(2, "Building", t_in0_c=[20.0, 21.0, 22.0])
    with pytest.raises(ConfigError, match="duration_s = 90 must be a multiple of step_s = 60"):
        started("Battery").create(1, "Battery", duration_s=90)
    sim = started("Battery")
    sim.create(1, "Battery", duration_s=120)
    sim.step(60, {}, None)
    with pytest.raises(ConfigError, match="runs past duration_s = 120"):
        sim.step(120, {}, None)


def test_a_fleet_entity_carries_every_unit_as_lists_and_its_draw_per_bus():
    """``<model>Fleet``: one entity whose lists equal the single units' values, the units as its
    children, a list input applied to every unit (summed with a unit's own sources) and the
    draw summed per bus for the grid."""
    sim = started("Battery")
    ent, = sim.create(1, "BatteryFleet", n=3, duration_s=3600, capacity_kwh=[10.0, 20.0, 30.0], p_max_kw=5.0,
                      bus_pos=[0, 2, 2], n_bus=4)
    assert ent["eid"] == "Battery" and [c["eid"] for c in ent["children"]] == ["Battery_0", "Battery_1", "Battery_2"]
    sim.step(0, {"Battery": {"p_set_kw": {"Ctl-0.Controller": [1.0, -2.0, 3.0]}},
                 "Battery_1": {"p_set_kw": {"User-0.u": 0.5}}}, None)
    whole = json.loads(json.dumps(sim.get_data({"Battery": ["p_set_kw", "p_kw", "p_mw", "bus_p_mw", "bus_q_mvar"]})))["Battery"]
    units = sim.get_data({f"Battery_{i}": ["p_set_kw", "p_kw", "p_mw"] for i in range(3)})
    assert whole["p_set_kw"] == [1.0, -1.5, 3.0]  # the unit's own source adds to the fleet's
    for a in ("p_set_kw", "p_kw", "p_mw"):
        assert whole[a] == [units[f"Battery_{i}"][a] for i in range(3)]
    p = np.array(whole["p_mw"])
    np.testing.assert_allclose(whole["bus_p_mw"], [p[0], 0.0, p[1] + p[2], 0.0], rtol=0, atol=1e-15)
    assert p[1] < 0 < p[0] and len(whole["bus_q_mvar"]) == 4
    sim.step(60, {}, None)  # the lists are held until replaced
    assert sim.get_data({"Battery": ["p_set_kw"]})["Battery"]["p_set_kw"] == [1.0, -1.5, 3.0]


def test_bad_fleet_entity_wiring_names_what_is_wrong():
    from cosim_base.errors import DataError

    with pytest.raises(ConfigError, match="create one fleet entity"):
        started("Battery").create(2, "BatteryFleet", n=2)
    with pytest.raises(ConfigError, match=r"n = None must be the number of units"):
        started("Battery").create(1, "BatteryFleet")
    with pytest.raises(ConfigError, match=r"bus_pos must lie in \[0, n_bus - 1\]"):
        started("Battery").create(1, "BatteryFleet", n=2, bus_pos=[0, 4], n_bus=4)
    with pytest.raises(ConfigError, match="bus_pos has 1 positions for 2 units"):
        started("Battery").create(1, "BatteryFleet", n=2, bus_pos=[0], n_bus=4)
    sim = started("Battery")
    sim.create(1, "BatteryFleet", n=2, duration_s=600)
    with pytest.raises(DataError, match=r"Battery.p_set_kw from C-0.c: expected a list of 2 numbers"):
        sim.step(0, {"Battery": {"p_set_kw": {"C-0.c": [1.0, 2.0, 3.0]}}}, None)
    sim.step(0, {}, None)
    with pytest.raises(ConfigError, match="need the create parameters bus_pos and n_bus"):
        sim.get_data({"Battery": ["bus_p_mw"]})


def test_several_kinds_in_one_simulator_give_what_one_simulator_per_kind_gives():
    """devices.sim.DevicesSim: the kinds' models side by side in one simulator (one mosaik step per
    plant step for all), each fleet stepped with its own inputs, the same values as alone."""
    from devices.sim import DevicesSim

    create = {"BatteryFleet": dict(n=2, duration_s=600, capacity_kwh=[10.0, 20.0], p_max_kw=5.0, bus_pos=[0, 1], n_bus=2),
              "EV": dict(start=START, duration_s=600, soc_init=[0.2, 0.5, 0.9])}
    inputs = {"Battery": {"p_set_kw": {"C-0.c": [2.0, -3.0]}}, "Battery_1": {"p_set_kw": {"U-0.u": 1.0}},
              "EV_2": {"p_set_kw": {"C-0.c": 3.0}}}
    asked = {"Battery": ["p_kw", "bus_p_mw"], "Battery_0": ["e_kwh"], "EV_0": ["soc", "p_kw"], "EV_2": ["p_kw"]}
    both = DevicesSim()
    meta = both.init("Devices-0", step_size=60, kinds=["Battery", "EV"])
    assert {"Battery", "BatteryFleet", "EV", "EVFleet"} <= set(meta["models"])
    ents = {m: both.create(1 if m.endswith("Fleet") else 3, m, **kw) for m, kw in create.items()}
    alone = {m: started(k) for m, k in (("BatteryFleet", "Battery"), ("EV", "EV"))}
    for m, kw in create.items():
        assert alone[m].create(1 if m.endswith("Fleet") else 3, m, **kw) == ents[m]
    for t in (0, 60, 120):
        assert both.step(t, inputs if t == 0 else {}, None) == t + 60
        for m, sim in alone.items():
            sim.step(t, {e: v for e, v in (inputs if t == 0 else {}).items() if e.startswith(m[:2])}, None)
        expect = {**alone["BatteryFleet"].get_data({e: a for e, a in asked.items() if e.startswith("Battery")}),
                  **alone["EV"].get_data({e: a for e, a in asked.items() if e.startswith("EV")})}
        assert both.get_data(asked) == expect
    assert expect["Battery"]["p_kw"][1] != 0.0 and expect["EV_2"]["p_kw"] > 0.0
    with pytest.raises(ConfigError, match="kinds must name at least one fleet kind"):
        DevicesSim().init("D-0", kinds=[])
    with pytest.raises(ConfigError, match="names the kind of model 'EV' twice"):
        DevicesSim().init("D-0", kinds=["EV", "EV"])
    with pytest.raises(ConfigError, match="kind = 'Car' must be one of"):
        DevicesSim().init("D-0", kinds=["Car"])
