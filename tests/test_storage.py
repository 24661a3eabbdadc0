"""Battery storage fleet: SOC limits, round-trip efficiency, self-discharge, adapter."""
import mosaik
import numpy as np
import pytest

from cosim.collector import collector_of
from cosim_base.errors import ConfigError
from simulators.storage import BatteryFleet
from tests.sources import ConstSource
from tests.test_ev import run


def test_charging_stops_exactly_at_soc_max_with_a_reduced_last_step():
    bat = BatteryFleet(1, capacity_kwh=100.0, p_max_kw=50.0, eta_charge=0.95, soc_min=0.1,
                       soc_max=0.9, soc_init=0.5)
    out = run(bat, 80.0, 60, dt_s=60)  # 40 kWh of room, 47.5 kWh/h into the battery
    full_steps = int(40 / (47.5 / 60))
    np.testing.assert_allclose(out["p_kw"][:full_steps, 0], 50.0)
    assert 0 < out["p_kw"][full_steps, 0] < 50.0
    assert np.all(out["p_kw"][full_steps + 1:, 0] == 0)
    assert bat.e_kwh[0] == pytest.approx(90.0)


def test_discharge_stops_at_soc_min():
    bat = BatteryFleet(1, capacity_kwh=100.0, p_max_kw=50.0, eta_discharge=0.9, soc_init=0.5)
    out = run(bat, -80.0, 120)
    assert out["p_kw"][0, 0] == -50.0
    assert bat.e_kwh[0] == pytest.approx(10.0) and out["p_kw"][-1, 0] == 0.0
    assert -out["p_kw"][:, 0].sum() / 60 == pytest.approx(40 * 0.9)


def test_round_trip_efficiency_is_the_product_of_both_ways():
    bat = BatteryFleet(1, capacity_kwh=100.0, p_max_kw=20.0, eta_charge=0.95, eta_discharge=0.92,
                       soc_min=0.0, soc_max=1.0, soc_init=0.2)
    e_in = run(bat, 20.0, 120)["p_kw"].sum() / 60  # 2 h at 20 kW
    e_out = -run(bat, -20.0, 600)["p_kw"].sum() / 60  # down to empty
    assert bat.e_kwh[0] == pytest.approx(0.0, abs=1e-9)
    assert e_out - 20 * 0.92 == pytest.approx(e_in * 0.95 * 0.92)
    assert bat.e_loss_kwh[0] == pytest.approx(e_in - e_out + 20)  # E fell by 20 kWh
    assert bat.e_throughput_kwh[0] == pytest.approx(e_in + e_out)


def test_self_discharge_is_exponential_and_may_go_below_soc_min():
    bat = BatteryFleet(1, soc_init=0.12, soc_min=0.1, self_discharge_per_h=0.01)
    out = run(bat, 0.0, 24 * 4, dt_s=900)
    assert bat.e_kwh[0] == pytest.approx(12.0 * np.exp(-0.24), rel=1e-12)
    assert np.all(out["p_kw"] == 0)


@pytest.mark.parametrize("kw,field", [({"capacity_kwh": -5.0}, "capacity_kwh"),
                                      ({"eta_charge": 1.05}, "eta_charge"),
                                      ({"soc_min": 0.6}, "soc_init - soc_min"),
                                      ({"p_max_kw": [1.0, 2.0, 3.0]}, "p_max_kw"),
                                      ({"self_discharge_per_h": -0.1}, "self_discharge_per_h")])
def test_bad_parameters_name_the_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        BatteryFleet(2, **kw)


def test_battery_adapter_in_a_mosaik_world():
    world = mosaik.World({"Bat": {"python": "devices.sim:DeviceSim"},
                          "Src": {"python": "tests.sources:SourceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    bats = world.start("Bat", step_size=60, kind="Battery").Battery.create(2, fleet=BatteryFleet(2, capacity_kwh=[100.0, 50.0]))
    src = world.start("Src", step_size=60).Source.create(2, fleet=ConstSource(2, p_set_kw=[-30.0, 10.0]))
    mon = world.start("Collector", step_size=60).Monitor()
    for s, b in zip(src, bats):
        world.connect(s, b, "p_set_kw")
        world.connect(b, mon, "p_mw", "soc")
    world.run(until=600)
    col = collector_of(world, mon)
    np.testing.assert_allclose(col.frame("p_mw").to_numpy(), [[-0.03, 0.01]] * 10)
    assert col.frame("soc")["Battery_1"].iloc[-1] == pytest.approx(0.5 + 10 * 0.95 * 9 / 60 / 50)


def test_no_setpoint_means_idle():
    b = BatteryFleet(2, capacity_kwh=100.0, p_max_kw=50.0)
    out = b.step(0, 60, {"p_set_kw": np.array([np.nan, 20.0])})
    assert out["p_kw"][0] == 0.0 and out["p_kw"][1] == pytest.approx(20.0)
