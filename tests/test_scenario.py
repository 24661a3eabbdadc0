"""Scenario: default file, TOML round trip, updated(), and errors that name the dotted key."""
import dataclasses
import pathlib
import pickle

import pytest

from cosim import plant
from cosim_base.errors import ConfigError
from cosim.scenario import (DEVICE_PARAMS, KINDS, ControlConfig, DeviceGroup, ErrorConfig,
                            ForecastConfig, Scenario, StageConfig, load)
from simulators.forecast import boptest_errors
from simulators.storage import BatteryFleet

DEFAULT_TOML = pathlib.Path(__file__).parents[1] / "scenarios" / "default.toml"

BATTERIES = """
name = "two-batteries"
device_preset = "none"

[[devices.Battery]]
bus = [10, 31]
capacity_kwh = 500.0
p_max_kw = [250.0, 200.0]

[[devices.Battery]]
bus = "loads"
per_bus = 2
soc_init = 0.8

[[devices.PV]]
bus = [5]
p_dc0_kw = 100
"""


def test_default_file_is_the_default_scenario():
    s = load(DEFAULT_TOML)
    assert s == Scenario() and hash(s) == hash(Scenario())
    assert Scenario.from_toml(str(DEFAULT_TOML)) == s  # a str naming a file
    assert s.duration_s == 86400 and s.control.stages == ("da", "id", "rt")
    assert [s.control.da.T, s.control.id.T, s.control.rt.T] == [24, 16, 3]


def test_summer_file_is_the_default_scenario_on_a_summer_day():
    s = load(DEFAULT_TOML.with_name("summer.toml"))
    assert s == Scenario().updated({"name": "ieee33-summer-day", "start": "2024-07-16 00:00"})


def test_toml_round_trip_and_dict_inverse():
    s = Scenario().updated({"name": "x", "seed": 7, "control.stages": ["da", "id"],
                            "forecast.perfect": True, "control.rt.dt_s": 60,
                            "forecast.errors.pv.common": 0.4, "step_s": 30,
                            "devices.Battery": [{"bus": [1], "capacity_kwh": 50}]})
    assert Scenario.from_toml(s.to_toml()) == s
    assert Scenario.from_dict(s.to_dict()) == s
    assert pickle.loads(pickle.dumps(s)) == s
    b = Scenario.from_toml(BATTERIES)
    assert Scenario.from_toml(b.to_toml()) == b and b.to_dict()["devices"]["Battery"][0] == {
        "bus": [10, 31], "per_bus": 1, "capacity_kwh": 500.0, "p_max_kw": [250.0, 200.0]}


def test_updated_validates_and_changes_only_the_given_keys():
    base = Scenario()
    changes = {"seed": 3, "control.stages": ("da",), "forecast.errors.load.half_width": (0.05, 0.02, 0.01)}
    new = base.updated(changes)
    assert (new.seed, new.control.stages) == (3, ("da",))
    assert new.forecast.errors["load"].half_width == (0.05, 0.02, 0.01)
    a, b = base.to_dict(), new.to_dict()
    b["seed"], b["control"]["stages"] = a["seed"], a["control"]["stages"]
    b["forecast"]["errors"]["load"]["half_width"] = a["forecast"]["errors"]["load"]["half_width"]
    assert a == b
    assert base == Scenario()  # the original is untouched
    assert base.updated({"duration_h": 1.5}).duration_s == 5400
    assert base.updated({"control.rt": StageConfig(600, 300, 900)}).control.rt.every_s == 600
    with pytest.raises(ConfigError, match=r"^control\.rt\.dt_s = 7 must divide horizon_s = 900"):
        base.updated({"control.rt.dt_s": 7})
    with pytest.raises(ConfigError, match=r"seed\.x: seed is not a table"):
        base.updated({"seed.x": 1})


def test_updated_indexes_an_array_of_tables():
    base = Scenario.from_toml('[[devices.EV]]\nbus = [3]\np_charge_max_kw = 7.4\n[[devices.EV]]\nbus = [5]\n')
    new = base.updated({"devices.EV.1.p_charge_max_kw": 3.7})
    assert [g.params.get("p_charge_max_kw") for g in new.devices] == [7.4, 3.7]
    with pytest.raises(ConfigError, match=r"devices\.EV\.2\.x: '2' must be an index of devices\.EV \(0 \.\. 1\)"):
        base.updated({"devices.EV.2.x": 1})
    with pytest.raises(ConfigError, match=r"devices\.EV\.0: devices\.EV is not a table"):
        base.updated({"devices.EV.0": 1})


def test_partial_tables_override_only_their_keys():
    s = Scenario.from_toml("[control.rt]\nevery_s = 900\n[forecast.errors.wind]\ncommon = 0.5\n")
    assert s.control.rt == dataclasses.replace(Scenario().control.rt, every_s=900)
    assert s.forecast.errors["wind"] == dataclasses.replace(Scenario().forecast.errors["wind"], common=0.5)
    assert s.forecast.errors["load"] == Scenario().forecast.errors["load"]
    assert ForecastConfig(errors={"pv": ErrorConfig((0.1, 0.1, 0.1))}).errors["load"] == s.forecast.errors["load"]


def test_forecast_presets_set_boptest_levels_for_weather_only():
    s = Scenario.from_toml('[forecast]\npreset = "boptest-medium"\n')
    medium = {k: ErrorConfig(**dataclasses.asdict(e)) for k, e in boptest_errors("medium").items()}
    assert {k: s.forecast.errors[k] for k in ("t_out_c", "ghi_kw_m2")} == medium
    assert medium["t_out_c"] != Scenario().forecast.errors["t_out_c"]
    for sig in ("load", "wind", "pv"):  # BOPTEST has no errors for these: as configured
        assert s.forecast.errors[sig] == Scenario().forecast.errors[sig]
    assert Scenario.from_toml(s.to_toml()) == s and ForecastConfig(preset="boptest-medium") == s.forecast
    # [forecast.errors.<signal>] keys apply on top of the preset
    o = Scenario.from_toml('[forecast]\npreset = "boptest-medium"\n[forecast.errors.t_out_c]\nnowcast = 0.0\n')
    assert o.forecast.errors["t_out_c"] == dataclasses.replace(medium["t_out_c"], nowcast=0.0)
    # updated() of the preset (what a sweep does) resets the errors it sets, also back to "none"
    assert Scenario().updated({"forecast.preset": "boptest-medium"}) == s
    assert s.updated({"forecast.preset": "none"}) == Scenario()
    low = s.updated({"forecast.errors.t_out_c.common": 0.5, "forecast.preset": "boptest-low"}).forecast.errors
    assert low["t_out_c"] == ErrorConfig(**{**dataclasses.asdict(boptest_errors("low")["t_out_c"]), "common": 0.5})
    assert Scenario().forecast.growth == "lead_time"
    assert Scenario().updated({"forecast.growth": "target_time"}).forecast.growth == "target_time"


@pytest.mark.parametrize("toml, key, allowed", [
    ("colour = 1", "colour", "name, network, start, duration_h, duration_s"),
    ("[control]\nstage = []", "control.stage", "stages, da, id, rt"),
    ("[control.rt]\ndt = 60", "control.rt.dt", "every_s, dt_s, horizon_s, offset_s, track_weight"),
    ("[forecast]\nres = 60", "forecast.res", "perfect, growth, preset, res_s, error_scale, errors"),
    ("[forecast.errors.wind]\ntau = 1", "forecast.errors.wind.tau",
     "half_width, kind, tau_h, dist, common, nowcast, bias"),
    ("[forecast.errors.sun]\ntau_h = 1", "forecast.errors.sun", "load, wind, pv, t_out_c, ghi_kw_m2"),
    ("[data]\nweather_file = 'x'", "data.weather_file", "weather, prices, prices_per_mwh, load_profile"),
    ("[data.prices_per_mwh]\nshoulder = 1", "data.prices_per_mwh.shoulder", "valley, flat, peak"),
    ("[[devices.Batery]]\nbus = [1]", "devices.Batery", "Load, Building, EV, PV, Wind, Battery"),
    ("[[devices.Battery]]\nbus = [1]\n[[devices.Battery]]\nbus = [2]\ncapcity_kwh = 5",
     r"devices.Battery\[1\].capcity_kwh", "bus, per_bus, capacity_kwh, p_max_kw"),
    ("[[devices.Building]]\nbus = [1]\np_hp_kw = 5", r"devices.Building\[0\].p_hp_kw", "p_hp_max_kw"),
    ("[grid]\noltc_band = 0.02", "grid.oltc_band", "local_control, oltc_v_set_pu, oltc_band_pu, oltc_delay_s"),
])
def test_unknown_keys_name_the_dotted_key_and_the_allowed_ones(toml, key, allowed):
    with pytest.raises(ConfigError, match=rf"^{key}: unknown key; allowed: .*{allowed}"):
        Scenario.from_toml(toml)


@pytest.mark.parametrize("changes, message", [
    ({"step_s": 0}, r"^step_s = 0 is outside the allowed range \[1, 3600\]"),
    ({"duration_s": 86401}, r"^duration_s = 86401 must be a multiple of step_s = 60"),
    ({"control.rt.dt_s": 7}, r"^control\.rt\.dt_s = 7 must divide horizon_s = 900"),
    ({"control.rt.offset_s": 300}, r"^control\.rt\.offset_s = 300 is outside the allowed range \[0, 300\)"),
    ({"control.id.every_s": 18000}, r"^control\.id\.every_s = 18000 must be <= horizon_s = 14400"),
    ({"forecast.errors.load.half_width": [0.01, 0.03, 0.0]},
     r"^forecast\.errors\.load\.half_width = \[0\.01, 0\.03, 0\.0\] must be non-increasing"),
    ({"forecast.errors.pv.common": 1.5}, r"^forecast\.errors\.pv\.common = 1\.5 is outside the allowed range \[0, 1\]"),
    ({"forecast.errors.pv.dist": "cauchy"}, r"^forecast\.errors\.pv\.dist = 'cauchy' must be one of 'normal', 'laplace'"),
    ({"network": "ieee123"}, r"^network = 'ieee123' must be one of 'ieee33', 'lv'"),
    ({"control.stages": ["id"]}, r'^control\.stages = \["id"\] must be one of \[\], \["da"\], \["da", "id"\], \["da", "id", "rt"\]'),
    ({"control.stages": ["rt", "da"]}, r'^control\.stages = \["rt", "da"\] must be one of'),
    ({"start": "2024-02-30 00:00"}, r"^start = '2024-02-30 00:00' is not a date pandas can read"),
    ({"control.export_price_ratio": 1.2}, r"^control\.export_price_ratio = 1\.2 is outside the allowed range \[0, 1\]"),
    ({"control.formulation": "milp"}, r"^control\.formulation = 'milp' must be one of 'socp', 'lindistflow'"),
    ({"data.weather": "tmy3-paris"}, r"^data\.weather = 'tmy3-paris' is neither 'tmy3-greensboro', 'tmy3-sand-point' nor a readable file"),
    ({"data.load_profile": "H9"}, r"^data\.load_profile = 'H9' is neither a SimBench load kind"),
    ({"data.prices_per_mwh.peak": float("nan")}, r"^data\.prices_per_mwh\.peak = nan is outside"),
    ({"seed": -1}, r"^seed = -1 is outside the allowed range \[0, inf\]"),
    ({"step_s": 1.5}, r"^step_s = 1\.5 must be a whole number"),
    ({"name": "my run"}, r"^name = 'my run' must be"),
    ({"output": "out/{nme}.h5"}, r"^output = 'out/\{nme\}\.h5': only \{name\} and \{seed\}"),
    ({"forecast.res_s": 120}, r"^forecast\.res_s = 120 must divide 300"),
    ({"forecast.preset": "boptest-extreme"},
     r"^forecast\.preset = 'boptest-extreme' must be one of 'none', 'boptest-low', 'boptest-medium', 'boptest-high'"),
    ({"forecast.growth": "issue_time"}, r"^forecast\.growth = 'issue_time' must be one of 'lead_time', 'target_time'"),
    ({"forecast.errors.t_out_c.nowcast": -0.5},
     r"^forecast\.errors\.t_out_c\.nowcast = -0\.5 is outside the allowed range \[0, inf\]"),
    ({"forecast.errors.t_out_c.bias": [0.1]}, r"^forecast\.errors\.t_out_c\.bias = \[0\.1\] must be 2 numbers"),
    ({"forecast.errors.ghi_kw_m2.kind": "clipped"},
     r"^forecast\.errors\.ghi_kw_m2\.kind = 'clipped' must be one of 'relative', 'capacity', 'absolute', 'bounded'"),
    ({"device_preset": "all"}, r"^device_preset = 'all' must be one of 'default', 'none'"),
    ({"control.v_violation_cost": 0.5}, r"^control\.v_violation_cost = 0\.5 is outside the allowed range \[1\.0, 10000000\.0\]"),
    ({"control.v_violation_cost": 1e12}, r"^control\.v_violation_cost = 1000000000000\.0 is outside the allowed range"),
    ({"grid.oltc_band_pu": 0.0}, r"^grid\.oltc_band_pu = 0\.0 is outside the allowed range \(0, 0\.2\]"),
    ({"grid.cap_v_on_pu": 1.05}, r"^grid\.cap_v_on_pu = 1\.05 must be < cap_v_off_pu = 1\.04"),
    ({"grid.local_control": "yes"}, r"^grid\.local_control = 'yes' must be true or false"),
    ({"grid.oltc_delay_s": "1 min"}, r"^grid\.oltc_delay_s = '1 min' must be a number"),
    ({"control.aggregate": 1}, r"^control\.aggregate = 1 must be true or false"),
    ({"control.ev_shortfall_cost_per_mwh": -1.0}, r"^control\.ev_shortfall_cost_per_mwh = -1\.0 is outside the allowed range"),
])
def test_range_errors_name_key_value_and_range(changes, message):
    with pytest.raises(ConfigError, match=message):
        Scenario().updated(changes)


def test_an_infinite_voltage_violation_cost_is_a_hard_band():
    assert Scenario().updated({"control.v_violation_cost": float("inf")}).control.v_violation_cost == float("inf")


@pytest.mark.parametrize("changes, message", [
    ({"control.rt.dt_s": 900, "control.rt.every_s": 900, "control.id.dt_s": 300},
     r"^control\.rt\.dt_s = 900 must be <= control\.id\.dt_s = 300"),
    ({"control.rt.every_s": 900, "control.id.every_s": 4500},
     r"^control\.da\.every_s = 86400 must be a multiple of control\.id\.every_s = 4500"),
    ({"step_s": 120, "control.rt.dt_s": 300}, r"^control\.rt\.dt_s = 300 must be a multiple of step_s = 120"),
    ({"control.rt.dt_s": 60, "control.rt.horizon_s": 900}, r"^control\.rt\.dt_s = 60 must be a multiple of forecast\.res_s = 300"),
    ({"control.da.offset_s": 450}, r"^control\.da\.offset_s = 450 must be a multiple of forecast\.res_s = 300"),
])
def test_cross_rules(changes, message):
    with pytest.raises(ConfigError, match=message):
        Scenario().updated(changes)


def test_cross_rules_apply_only_to_running_stages():
    s = Scenario().updated({"control.stages": ["da"], "control.rt.dt_s": 150, "control.rt.horizon_s": 900})
    assert s.control.rt.dt_s == 150 and s.control.used() == {"da": s.control.da}
    assert Scenario().updated({"control.stages": []}).control.used() == {}
    with pytest.raises(ConfigError, match=r"^control\.rt\.dt_s = 7"):  # each stage is still valid
        Scenario().updated({"control.stages": [], "control.rt.dt_s": 7})


def test_construction_and_replace_are_validated():
    with pytest.raises(ConfigError, match=r"^step_s = 0 is outside"):
        Scenario(step_s=0)
    with pytest.raises(ConfigError, match=r"^seed = -1"):
        dataclasses.replace(Scenario(), seed=-1)
    with pytest.raises(ConfigError, match=r"^dt_s = 7 must divide horizon_s = 900"):
        StageConfig(every_s=300, dt_s=7, horizon_s=900)
    with pytest.raises(ConfigError, match=r"^control\.rt\.dt_s = 900 must be <= control\.id\.dt_s = 300"):
        ControlConfig(id=StageConfig(3600, 300, 3600), rt=StageConfig(900, 900, 900))
    with pytest.raises(ConfigError, match=r"^half_width = \[0\.1, 0\.2, 0\.0\] must be non-increasing"):
        ErrorConfig((0.1, 0.2, 0.0))
    with pytest.raises(ConfigError, match=r"^control\.rt\.dt_s = 300 must be a multiple of step_s = 7"):
        Scenario(step_s=7, duration_s=7 * 1000)
    with pytest.raises(ConfigError, match=r"^duration_h and duration_s: give one of them"):
        Scenario.from_dict({"duration_h": 24, "duration_s": 86400})
    with pytest.raises(ConfigError, match=r"^duration_h = 0\.0001 is not a whole number of seconds"):
        Scenario.from_toml("duration_h = 0.0001")


def test_output_path_substitutes_name_and_seed():
    s = Scenario(seed=12)
    assert s.output_path() == pathlib.Path("results/ieee33-winter-day-seed12.h5")
    s = s.updated({"name": "lv.1", "output": "/tmp/{name}/{seed:03d}.h5"})
    assert s.output_path() == pathlib.Path("/tmp/lv.1/012.h5")


def test_device_groups_from_battery_tables():
    s = Scenario.from_toml(BATTERIES)
    assert s.device_preset == "none" and [g.kind for g in s.devices] == ["PV", "Battery", "Battery"]
    pv, b0, b1 = s.devices
    assert (b0.bus, b0.per_bus, b0.n, dict(b0.params)) == (
        (10, 31), 1, 2, {"capacity_kwh": 500.0, "p_max_kw": (250.0, 200.0)})
    assert (b1.bus, b1.per_bus, b1.n, dict(b1.params)) == ("loads", 2, None, {"soc_init": 0.8})
    assert pv.params["p_dc0_kw"] == 100
    fleet = BatteryFleet(b0.n, **b0.params)  # group params are the fleet's own arguments
    assert list(fleet.p_max_kw) == [250.0, 200.0]


def test_device_groups_build_plant_fleets():
    """The plant reads groups as documented: lists one value per bus, shared by its units."""
    import pandapower.networks as pn  # the published case: no power flow needed here
    from simulators import networks
    s = Scenario.from_toml("[[devices.Battery]]\nbus = [10, 31]\nper_bus = 2\np_max_kw = [250.0, 200.0]\n"
                           "[[devices.Battery]]\nbus = 'loads'\ncapacity_kwh = 40\n")
    net = pn.case33bw()
    fleet, pos = plant.fleet_from_groups("Battery", s.devices, net, s.plant_spec(), None)
    n_loads = len(networks.load_sites(net))
    assert list(pos[:4]) == [10, 10, 31, 31] and fleet.n == 4 + n_loads
    assert list(fleet.p_max_kw[:4]) == [250.0, 250.0, 200.0, 200.0]
    assert list(fleet.capacity_kwh[4:]) == [40.0] * n_loads


@pytest.mark.parametrize("table, message", [
    ("bus = [1, 2]\nper_bus = 3\np_max_kw = [1.0, 2.0, 3.0]", r"^devices\.Battery\[0\]\.p_max_kw has 3 values, expected one per bus \(2\)"),
    ("bus = [1]\nper_bus = 0", r"^devices\.Battery\[0\]\.per_bus = 0 is outside the allowed range \[1, inf\]"),
    ("bus = [-1]", r"^devices\.Battery\[0\]\.bus\[0\] = -1 is outside the allowed range \[0, inf\]"),
    ("bus = 'all'", r'^devices\.Battery\[0\]\.bus = \'all\' must be "loads" or a list'),
    ("per_bus = 2", r"^devices\.Battery\[0\]\.bus: missing"),
    ("bus = [1]\ncapacity_kwh = 'big'", r"^devices\.Battery\[0\]\.capacity_kwh = 'big' must be a number"),
])
def test_device_group_errors(table, message):
    with pytest.raises(ConfigError, match=message):
        Scenario.from_toml(f"[[devices.Battery]]\n{table}\n")


def test_device_kinds_and_params_match_the_plant():
    assert set(KINDS) <= set(plant.SIMULATORS)
    assert "n" not in DEVICE_PARAMS["EV"] and "sessions" not in DEVICE_PARAMS["EV"]
    assert "weather" not in DEVICE_PARAMS["PV"] and DEVICE_PARAMS["PV"]["p_dc0_kw"]  # required
    with pytest.raises(ConfigError, match=r"^devices\.Wind\[0\]\.p_rated_kw: missing"):
        Scenario.from_toml("[[devices.Wind]]\nbus = [13]\n")
    with pytest.raises(ConfigError, match=r"^devices\.Load\[0\]\.profile = 'H0-Z' must be 'constant' or"):
        Scenario.from_toml("[[devices.Load]]\nbus = 'loads'\nprofile = 'H0-Z'\n")
    assert DeviceGroup("Load", "loads", params={"profile": "H0-A"}).params["profile"] == "H0-A"


def test_formulations_match_the_opf():
    from controllers.opf.problem import FORMULATIONS
    from cosim import scenario
    assert set(scenario.FORMULATIONS) == set(FORMULATIONS)


def test_ev_schedules_match_the_controller():
    from controllers.multistage import EV_SCHEDULES
    from cosim import scenario
    assert scenario.EV_SCHEDULES == EV_SCHEDULES


def test_plant_spec_and_file_errors(tmp_path):
    s = Scenario(network="lv", seed=4, step_s=300, duration_s=3600,
                 control=ControlConfig(stages=("da", "id")))
    assert s.plant_spec() == plant.PlantSpec(network="lv", start="2024-01-15 00:00", duration_s=3600,
                                             step_s=300, seed=4, lookahead_s=86400)
    assert Scenario(control=ControlConfig(stages=())).lookahead_s() == 0
    s = Scenario(step_s=900, control=ControlConfig(stages=("da", "id"), da=StageConfig(6300, 2100, 8400),
                                                   id=StageConfig(900, 900, 900)))
    assert s.lookahead_s() == 9000 and s.plant_spec().data_s == 86400 + 9000  # 8400 s in whole steps
    assert Scenario().updated({"data.weather": "tmy3-sand-point"}).plant_spec().weather == "tmy3-sand-point"
    with pytest.raises(ConfigError, match=r"^duration_s = 31536000 plus the forecast lookahead 86400 s exceeds"):
        Scenario(duration_s=365 * 86400)
    with pytest.raises(ConfigError, match=r"missing\.toml' cannot be read"):
        load(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = \n")
    with pytest.raises(ConfigError, match=r"bad\.toml is not valid TOML"):
        load(bad)
