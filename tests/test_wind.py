"""Wind fleet: power-curve anchors, hub-height law, converter limits, mosaik world."""
import mosaik
import numpy as np
import pandas as pd
import pytest

from cosim.collector import collector_of
from cosim_base.errors import ConfigError
from simulators import data
from simulators.wind import WindFleet, cubic_curve_pu, hub_wind_ms

START = pd.Timestamp("2021-03-10")


def const_wind(v10_ms, duration_s=3600):
    """User weather with a constant 10 m wind speed."""
    frame = pd.DataFrame({c: [0.0, 0.0] for c in data.WEATHER_COLUMNS}, index=[0, duration_s])
    frame["wind_ms"] = v10_ms
    return data.weather(START, duration_s, 60, frame, latitude=36.1, longitude=-79.95,
                        tz="Etc/GMT+5")


def test_cubic_curve_anchors():
    v = np.array([0.0, 2.99, 3.0, 12.0, 18.0, 24.99, 25.0, 30.0])
    np.testing.assert_array_equal(cubic_curve_pu(v, 3.0, 12.0, 25.0), [0, 0, 0, 1, 1, 1, 0, 0])
    mid = cubic_curve_pu(7.5, 3.0, 12.0, 25.0)
    assert mid == pytest.approx((7.5 ** 3 - 27) / (12 ** 3 - 27))
    assert cubic_curve_pu(11.999, 3.0, 12.0, 25.0) == pytest.approx(1.0, abs=1e-3)


def test_hub_height_power_law():
    assert hub_wind_ms(5.0, 10.0) == pytest.approx(5.0)
    assert hub_wind_ms(5.0, 80.0) == pytest.approx(5.0 * 8 ** (1 / 7))
    fleet = WindFleet(2, const_wind(6.0), p_rated_kw=[500.0, 500.0], hub_height_m=[10.0, 80.0])
    v_hub = 6.0 * 8 ** (1 / 7)
    expected = 500 * np.array([(6 ** 3 - 27), (v_hub ** 3 - 27)]) / (12 ** 3 - 27)
    np.testing.assert_allclose(fleet.p_avail_kw[0], expected)


def test_tabulated_curve_and_cut_out():
    curve = ([3.0, 6.0, 10.0, 30.0], [0.0, 0.2, 1.0, 1.0])
    fleet = WindFleet(1, const_wind(8.0), p_rated_kw=100.0, hub_height_m=10.0, curve=curve)
    assert fleet.p_avail_kw[0, 0] == pytest.approx(60.0)
    stormy = WindFleet(1, const_wind(26.0), p_rated_kw=100.0, hub_height_m=10.0, curve=curve)
    assert stormy.p_avail_kw[0, 0] == 0


def test_curtailment_and_converter_circle():
    fleet = WindFleet(2, const_wind(9.0), p_rated_kw=200.0, s_max_kva=[200.0, 220.0])
    held = fleet.default_inputs()
    held["p_max_kw"][:] = [50.0, np.inf]
    held["q_set_kvar"][:] = 1000.0
    out = fleet.step(0, 60, held)
    p_kw = -out["p_mw"] * 1000
    assert p_kw[0] == pytest.approx(50.0)
    assert p_kw[1] == pytest.approx(out["p_avail_kw"][1])
    np.testing.assert_allclose(out["curtailed_kw"], out["p_avail_kw"] - p_kw)
    np.testing.assert_allclose(np.hypot(p_kw, out["q_mvar"] * 1000), [200.0, 220.0])


def test_real_tmy3_wind_is_bounded():
    fleet = WindFleet(3, data.weather(START, 86400, 600), p_rated_kw=[100.0, 500.0, 2000.0])
    assert (fleet.p_avail_kw >= 0).all()
    assert (fleet.p_avail_kw <= [100.0, 500.0, 2000.0]).all()
    assert fleet.p_avail_kw.max() > 0


@pytest.mark.parametrize("kwargs, field", [
    ({"v_cut_in_ms": 13.0}, "v_cut_in_ms"),
    ({"p_rated_kw": -1.0}, "p_rated_kw"),
    ({"hub_height_m": 0.0}, "hub_height_m"),
    ({"curve": ([5.0, 3.0], [0.0, 1.0])}, "curve speeds"),
])
def test_bad_parameters_name_the_field(kwargs, field):
    args = {"p_rated_kw": 100.0} | kwargs
    with pytest.raises(ConfigError, match=field):
        WindFleet(1, const_wind(8.0), **args)


def test_mosaik_world_reports_generation():
    world = mosaik.World({"Wind": {"python": "devices.sim:DeviceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    fleet = WindFleet(2, weather=const_wind(8.0), p_rated_kw=[100.0, 300.0], hub_height_m=10.0)
    units = world.start("Wind", step_size=60, kind="Wind").Wind.create(2, fleet=fleet)  # in-process: a ready fleet
    mon = world.start("Collector", step_size=60).Monitor()
    for u in units:
        world.connect(u, mon, "p_mw")
    world.run(until=600)
    got = collector_of(world, mon).frame("p_mw")
    p_mw = -np.array([100.0, 300.0]) * (8 ** 3 - 27) / (12 ** 3 - 27) / 1000
    np.testing.assert_allclose(got.to_numpy(), np.tile(p_mw, (10, 1)))
