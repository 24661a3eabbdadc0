"""Micro-turbine fleet: output limits, on/off, ramp, fuel and cost rates, adapter."""
import mosaik
import numpy as np
import pytest

from cosim.collector import collector_of
from cosim_base.errors import ConfigError
from simulators.microturbine import ETA_EL_MAX, ETA_EL_MIN, MicroTurbineFleet
from tests.sources import ConstSource


def run(fleet, p_set_kw, on, n_steps, dt_s=60):
    inputs = {"p_set_kw": np.broadcast_to(p_set_kw, (fleet.n,)).astype(float),
              "on": np.broadcast_to(on, (fleet.n,)).astype(float)}
    outs = [fleet.step(k * dt_s, dt_s, inputs) for k in range(n_steps)]
    return {key: np.array([o[key] for o in outs]) for key in outs[0]}


def test_output_stays_within_limits_and_is_zero_when_off():
    mt = MicroTurbineFleet(3, p_max_kw=60.0, p_min_kw=20.0, ramp_kw_per_min=100.0)
    out = run(mt, [100.0, 5.0, 40.0], [1, 1, 0], 5)
    np.testing.assert_allclose(out["p_kw"][-1], [60.0, 20.0, 0.0])
    np.testing.assert_allclose(out["p_mw"][-1], [-0.06, -0.02, 0.0])
    np.testing.assert_array_equal(out["on"][-1], [1, 1, 0])
    assert out["fuel_kw"][-1, 2] == 0.0 and out["cost_per_h"][-1, 2] == 0.0


def test_ramp_limits_the_change_between_steps():
    mt = MicroTurbineFleet(1, p_max_kw=65.0, ramp_kw_per_min=5.0)  # p_min = 32.5
    up = run(mt, 65.0, 1, 10, dt_s=60)["p_kw"][:, 0]
    np.testing.assert_allclose(up[:7], [37.5, 42.5, 47.5, 52.5, 57.5, 62.5, 65.0])
    down = run(mt, 0.0, 1, 3, dt_s=120)["p_kw"][:, 0]  # 10 kW per 2-min step, floor p_min
    np.testing.assert_allclose(down, [55.0, 45.0, 35.0])
    assert run(mt, 65.0, 0, 1)["p_kw"][0, 0] == 0.0  # shut-down is immediate


def test_fuel_follows_the_efficiency_points_and_cost_rate():
    mt = MicroTurbineFleet(2, p_max_kw=60.0, p_min_kw=30.0, ramp_kw_per_min=1000.0,
                           marginal_cost_per_kwh=0.08, gas_price_per_kwh=0.05)
    out = run(mt, [60.0, 30.0], 1, 1)
    fuel = np.array([60.0 / ETA_EL_MAX, 30.0 / ETA_EL_MIN])
    np.testing.assert_allclose(out["fuel_kw"][0], fuel)
    np.testing.assert_allclose(out["cost_per_h"][0], 0.08 * np.array([60.0, 30.0]) + 0.05 * fuel)
    assert ETA_EL_MAX == pytest.approx(6 / 22.2) and ETA_EL_MIN == pytest.approx(3 / 14.8)


@pytest.mark.parametrize("kw,field", [({"p_max_kw": 0.0}, "p_max_kw"),
                                      ({"p_min_kw": 80.0}, "p_max_kw - p_min_kw"),
                                      ({"ramp_kw_per_min": -1.0}, "ramp_kw_per_min"),
                                      ({"eta_el_max": 1.5}, "eta_el_max"),
                                      ({"on_init": 1, "p_init_kw": 10.0}, "p_init_kw - p_min_kw")])
def test_bad_parameters_name_the_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        MicroTurbineFleet(1, **kw)


def test_microturbine_adapter_in_a_mosaik_world():
    world = mosaik.World({"MT": {"python": "devices.sim:DeviceSim"},
                          "Src": {"python": "tests.sources:SourceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    mts = world.start("MT", step_size=60, kind="MicroTurbine").MicroTurbine.create(
        1, fleet=MicroTurbineFleet(1, p_max_kw=65.0, ramp_kw_per_min=10.0))
    src = world.start("Src", step_size=60).Source.create(1, fleet=ConstSource(1, p_set_kw=60.0, on=1.0))
    mon = world.start("Collector", step_size=60).Monitor()
    world.connect(src[0], mts[0], "p_set_kw", "on")
    world.connect(mts[0], mon, "p_mw", "fuel_kw")
    world.run(until=300)
    p_mw = collector_of(world, mon).frame("p_mw")["MicroTurbine_0"]
    np.testing.assert_allclose(p_mw, [-0.0425, -0.0525, -0.06, -0.06, -0.06])


def test_no_setpoint_means_off():
    mt = MicroTurbineFleet(2, p_max_kw=100.0, on_init=1, p_init_kw=80.0)
    out = mt.step(0, 60, {"p_set_kw": np.array([np.nan, 80.0]), "on": np.array([np.nan, 1.0])})
    assert out["p_kw"][0] == 0.0 and out["on"][0] == 0.0 and out["p_kw"][1] == pytest.approx(80.0)
