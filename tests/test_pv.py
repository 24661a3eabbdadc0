"""PV fleet on real Greensboro TMY3 weather, checked against pvlib and in a mosaik world."""
import mosaik
import numpy as np
import pandas as pd
import pvlib
import pytest

from cosim.collector import collector_of
from cosim_base.errors import ConfigError, DataError
from simulators import data
from simulators.pv import PVFleet

CLEAR_DAY = pd.Timestamp("2021-04-17")  # clear spring day of the typical year
NOON_S = 12 * 3600 + 20 * 60  # solar noon at 79.95 W in EST is about 12:20


@pytest.fixture(scope="module")
def spring():
    return data.weather(CLEAR_DAY, 86400, 60)


@pytest.fixture(scope="module")
def fleet(spring):
    return PVFleet(3, spring, p_dc0_kw=[5.0, 10.0, 10.0], tilt_deg=[30, 30, 90],
                   azimuth_deg=[180, 180, 90])


def step_at(fleet, t_s, **inputs):
    held = fleet.default_inputs()
    for k, v in inputs.items():
        held[k][:] = v
    return fleet.step(t_s, 60, held)


def test_zero_at_night(fleet):
    night = np.r_[0:5 * 60, 20 * 60:24 * 60]  # rows at 60 s: before 05:00 and after 20:00 EST
    assert (fleet.p_avail_kw[night] == 0).all()
    out = step_at(fleet, 3600)
    assert (out["p_mw"] == 0).all() and (out["p_avail_kw"] == 0).all()


def test_clear_noon_output_is_near_rating_times_irradiance(fleet, spring):
    out = step_at(fleet, NOON_S)
    assert (out["p_mw"] < 0).all()  # generation in consumer convention
    ghi = spring.frame.loc[NOON_S, "ghi_w_m2"]
    assert ghi > 800
    ratio = out["p_avail_kw"][:2] / (np.array([5.0, 10.0]) * ghi / 1000)
    # south 30 deg gains on GHI in April; cool cells; 14 % losses and the inverter take ~17 %
    assert np.all((0.8 < ratio) & (ratio < 1.1))
    assert out["p_avail_kw"][1] == pytest.approx(2 * out["p_avail_kw"][0])
    assert out["p_avail_kw"][2] < out["p_avail_kw"][1]  # east wall at noon


def test_matches_pvlib_pvwatts_at_one_point(fleet, spring):
    t_s = 10 * 3600
    when = pd.DatetimeIndex([pd.Timestamp("2021-04-17 10:00", tz="Etc/GMT+5")])
    site = pvlib.location.Location(36.1, -79.95, "Etc/GMT+5", 273.0)
    w = spring.frame.loc[t_s]
    sun = site.get_solarposition(when, temperature=w["t_out_c"])
    poa = pvlib.irradiance.get_total_irradiance(
        30, 180, sun["apparent_zenith"], sun["azimuth"], w["dni_w_m2"], w["ghi_w_m2"],
        w["dhi_w_m2"], dni_extra=pvlib.irradiance.get_extra_radiation(when), model="haydavies",
    )["poa_global"].iloc[0]
    t_cell = pvlib.temperature.ross(poa, w["t_out_c"], noct=45.0)
    p_dc = pvlib.pvsystem.pvwatts_dc(poa, t_cell, 10.0, -0.0047) * (1 - 0.14)
    p_ac = pvlib.inverter.pvwatts(p_dc, 10.0 / 0.96, 0.96)
    assert fleet.p_avail_kw[t_s // 60, 1] == pytest.approx(p_ac, rel=1e-9)


def test_interval_mean_curtailment_and_inverter_limit(fleet):
    rows = fleet.p_avail_kw[NOON_S // 60: NOON_S // 60 + 2, 1]
    out = step_at(fleet, NOON_S, p_max_kw=2.0)
    assert out["p_avail_kw"][1] == pytest.approx(rows.mean())
    np.testing.assert_allclose(-out["p_mw"] * 1000, np.minimum(out["p_avail_kw"], 2.0))
    np.testing.assert_allclose(out["curtailed_kw"], np.maximum(out["p_avail_kw"] - 2.0, 0))
    # reactive power limited to the inverter circle, active power first
    for p_max in (np.inf, 2.0, 0.0):
        out = step_at(fleet, NOON_S, p_max_kw=p_max, q_set_kvar=-50.0)
        s_kva = np.hypot(out["p_mw"], out["q_mvar"]) * 1000
        np.testing.assert_allclose(s_kva, [5.0, 10.0, 10.0])
        assert (out["q_mvar"] < 0).all()
    out = step_at(fleet, NOON_S, q_set_kvar=0.5)
    np.testing.assert_allclose(out["q_mvar"], 0.5e-3)
    # NaN (no setpoint, the default) = no curtailment and unity power factor, like p_max = inf
    free = step_at(fleet, NOON_S)
    assert (free["curtailed_kw"] == 0).all() and (free["q_mvar"] == 0).all()
    np.testing.assert_array_equal(step_at(fleet, NOON_S, p_max_kw=np.inf)["p_mw"], free["p_mw"])


def test_bad_inputs_name_the_field(spring, fleet):
    with pytest.raises(ConfigError, match="tilt_deg"):
        PVFleet(2, spring, p_dc0_kw=5.0, tilt_deg=[30, 95])
    with pytest.raises(ConfigError, match="p_dc0_kw"):
        PVFleet(2, spring, p_dc0_kw=[5.0, 0.0])
    with pytest.raises(ConfigError, match="weather"):
        PVFleet(1, spring.frame, p_dc0_kw=5.0)
    with pytest.raises(DataError, match="t_s"):
        fleet.step(86400, 60, fleet.default_inputs())
    with pytest.raises(DataError, match="multiples"):
        fleet.step(30, 60, fleet.default_inputs())


def test_mosaik_world_reports_generation(spring):
    fleet = PVFleet(2, data.weather(CLEAR_DAY + pd.Timedelta(hours=12), 600, 60),
                    p_dc0_kw=[4.0, 8.0])
    expected = [fleet.step(t, 60, fleet.default_inputs())["p_mw"] for t in range(0, 600, 60)]
    world = mosaik.World({"PV": {"python": "devices.sim:DeviceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    units = world.start("PV", step_size=60, kind="PV").PV.create(2, fleet=PVFleet(
        2, data.weather(CLEAR_DAY + pd.Timedelta(hours=12), 600, 60), p_dc0_kw=[4.0, 8.0]))
    mon = world.start("Collector", step_size=60).Monitor()
    for u in units:
        world.connect(u, mon, "p_mw", "curtailed_kw")
    world.run(until=600)
    got = collector_of(world, mon).frame("p_mw")
    np.testing.assert_allclose(got.to_numpy(), np.array(expected))
    assert (collector_of(world, mon).frame("curtailed_kw") == 0).all().all()
