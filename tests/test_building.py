"""3R2C building, heat pump and TSEH plant: exact discretization, steady state, stability, errors."""
import mosaik
import numpy as np
import pandas as pd
import pytest
from scipy.linalg import expm

from cosim.collector import collector_of
from cosim_base.errors import ConfigError
from simulators.building import BuildingFleet
from simulators.rc import discretize_zoh
from simulators.thermal import (cop_linear, cop_staffell_ashp, rc_3r2c_matrices, storage_step,
                                ua_kw_per_k)

NAN = {"p_hp_kw": np.nan, "p_eh_kw": np.nan, "p_st_kw": np.nan, "q_rel_kw": np.nan}


def flat_weather(t_out_c=0.0, ghi_w_m2=0.0, hours=48):
    idx = np.arange(0, hours * 3600 + 1, 3600)
    return pd.DataFrame({"t_out_c": t_out_c, "ghi_w_m2": ghi_w_m2}, index=idx)


def setpoints(n, **kw):
    u = {k: np.zeros(n) for k in NAN}
    u.update({k: np.full(n, v, float) for k, v in kw.items()})
    return u


def test_zoh_matches_analytic_reference_for_random_parameters():
    rng = np.random.default_rng(1)
    n = 20
    a, b = rc_3r2c_matrices(rng.uniform(0.1, 2, n), rng.uniform(3, 15, n), rng.uniform(0.3, 1.5, n),
                            rng.uniform(2, 10, n), rng.uniform(5, 20, n), rng.uniform(1, 10, n),
                            rng.uniform(0, 2, n))
    for dt_h in rng.uniform(1 / 60, 2, 5):
        ad, bd = discretize_zoh(a, b, dt_h)
        for i in range(n):
            ad_ref = expm(a[i] * dt_h)
            bd_ref = np.linalg.solve(a[i], (ad_ref - np.eye(2)) @ b[i])  # A^-1 (e^{A dt} - I) B
            np.testing.assert_allclose(ad[i], ad_ref, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(bd[i], bd_ref, rtol=1e-8, atol=1e-12)


def test_steady_state_equals_ua_balance():
    """Constant heat Phi at constant Ta settles at Ti = Ta + Phi / UA (no sun)."""
    q_kw, t_out = 4.0, -5.0
    fleet = BuildingFleet(1, flat_weather(t_out, hours=2000), phi_int_kw=0.0, p_hp_max_kw=0.0,
                          p_eh_max_kw=q_kw, eta_eh=1.0)
    for k in range(1500):
        out = fleet.step(k * 3600, 3600, setpoints(1, p_eh_kw=q_kw))
    ua = ua_kw_per_k(0.7, 8.0, 10.0)
    assert out["t_in_c"][0] == pytest.approx(t_out + q_kw / ua, abs=1e-6)


def test_exact_step_is_stable_at_one_hour_where_euler_is_not():
    p = dict(ci_kwh_per_k=0.143, ce_kwh_per_k=3.24, rie_k_per_kw=0.909, rea_k_per_kw=4.47,
             ria_k_per_kw=1e6, aw_m2=6.03, ae_m2=0.0)  # FlexHouse (Bacher & Madsen 2011)
    a, b = rc_3r2c_matrices(**p)
    assert np.max(np.abs(np.linalg.eigvals(np.eye(2) + a[0] * 1.0))) > 1  # Euler diverges
    hourly = BuildingFleet(1, flat_weather(hours=200), t_in0_c=25, **p, phi_int_kw=0, p_hp_max_kw=0)
    fine = BuildingFleet(1, flat_weather(hours=200), t_in0_c=25, **p, phi_int_kw=0, p_hp_max_kw=0)
    for k in range(48):
        hourly.step(k * 3600, 3600, setpoints(1))
        for j in range(60):
            fine.step(k * 3600 + j * 60, 60, setpoints(1))
    np.testing.assert_allclose(hourly.x, fine.x, atol=1e-9)  # exact for any step length
    assert np.all(np.abs(hourly.x) < 30)


def test_heat_pump_heat_follows_cop_and_discomfort_integrates_band_distance():
    fleet = BuildingFleet(2, flat_weather(-5.0), t_in0_c=[21.0, 18.0], t_env0_c=[21.0, 18.0],
                          ci_kwh_per_k=1e6, ce_kwh_per_k=1e6)  # frozen temperatures
    out = fleet.step(0, 900, setpoints(2, p_hp_kw=2.0))
    cop = cop_staffell_ashp(45.0, -5.0)
    np.testing.assert_allclose(out["q_hp_kw"], 2.0 * cop)
    np.testing.assert_allclose(out["p_mw"], 0.002)
    fleet.step(900, 900, setpoints(2, p_hp_kw=2.0))
    out = fleet.step(1800, 900, setpoints(2))
    np.testing.assert_allclose(out["discomfort_kh"], [0.0, 2 * 2.0 * 0.25], atol=1e-6)
    assert cop_linear(20) == pytest.approx(3.51, abs=0.005)
    assert cop_linear(-4) == pytest.approx(1.97, abs=0.005)


def test_tseh_storage_no_simultaneous_charge_and_release_and_limits():
    fleet = BuildingFleet(1, flat_weather(), p_hp_max_kw=0, p_st_max_kw=3.0, e_st_max_kwh=10.0,
                          q_rel_max_kw=2.0, eta_st=0.9, st_loss_per_h=0.0, e_st0_kwh=5.0)
    out = fleet.step(0, 3600, setpoints(1, p_st_kw=3.0, q_rel_kw=2.0))
    assert out["q_rel_kw"][0] == 0.0 and out["p_st_kw"][0] == 3.0
    assert fleet.e_st[0] == pytest.approx(5.0 + 0.9 * 3.0)
    out = fleet.step(3600, 3600, setpoints(1, p_st_kw=3.0))  # only 2.3 kWh of room left
    assert fleet.e_st[0] == pytest.approx(10.0)
    assert out["p_st_kw"][0] == pytest.approx(2.3 / 0.9)
    lossy = BuildingFleet(1, flat_weather(), p_hp_max_kw=0, p_st_max_kw=3.0, e_st_max_kwh=10.0,
                          q_rel_max_kw=2.0, st_loss_per_h=0.05, e_st0_kwh=9.0)
    lossy.step(0, 3600, setpoints(1, p_st_kw=3.0))
    assert lossy.e_st[0] == pytest.approx(10.0)  # filled exactly, self-loss included
    out = lossy.step(3600, 60, setpoints(1, p_st_kw=1e-9, q_rel_kw=2.0))
    assert out["q_rel_kw"][0] == 2.0  # solver noise on charging does not block release
    e_next, lost = storage_step(np.array([10.0]), 0.0, 0.0, 24.0, 0.01)
    assert e_next[0] == pytest.approx(10 * np.exp(-0.24)) and lost[0] == pytest.approx(10 - e_next[0])


def test_local_thermostat_keeps_the_band_without_a_controller():
    fleet = BuildingFleet(3, flat_weather(-5.0), t_in0_c=[19.0, 21.0, 23.0])
    for k in range(24 * 60):
        out = fleet.step(k * 60, 60, dict(NAN))
    assert np.all((out["t_in_c"] > 19.5) & (out["t_in_c"] < 22.5))


@pytest.mark.parametrize("field,value", [("ci_kwh_per_k", -1.0), ("eta_st", 1.2), ("pf", 0.0),
                                         ("e_st0_kwh", 5.0), ("t_low_c", 23.0), ("nonsense", 1)])
def test_bad_parameters_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field.split("_c")[0] if field != "nonsense" else "nonsense"):
        BuildingFleet(2, flat_weather(), **{field: value})


def test_building_adapter_in_a_mosaik_world():
    weather = flat_weather(0.0)
    world = mosaik.World({"B": {"python": "devices.sim:DeviceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    fleet = BuildingFleet(2, weather)
    bldgs = world.start("B", step_size=60, kind="Building").Building.create(2, fleet=fleet)
    mon = world.start("Collector", step_size=60).Monitor()
    world.connect(bldgs[0], mon, "t_in_c", "p_mw")
    world.run(until=600)
    t = collector_of(world, mon).frame("t_in_c")["Building_0"]
    assert len(t) == 10 and t.iloc[0] == 21.0


def test_building_adapter_builds_the_fleet_from_mosaik_params():
    world = mosaik.World({"B": {"python": "devices.sim:DeviceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    bldgs = world.start("B", step_size=300, kind="Building").Building.create(  # the kind's parameters, JSON only
        2, start="2024-01-15 00:00", duration_s=600, t_in0_c=[20.5, 21.5], p_hp_max_kw=4.0)
    mon = world.start("Collector", step_size=300).Monitor()
    world.connect(bldgs[1], mon, "t_in_c")
    world.run(until=600)
    assert collector_of(world, mon).frame("t_in_c")["Building_1"].iloc[0] == 21.5


def test_tseh_local_control_heats_directly_in_the_valley_and_charges():
    """Storage-only house over the night valley (23-07 h): the timer charges the storage and the
    direct heater keeps the room in band (no heat pump, storage empty at the start)."""
    fleet = BuildingFleet(1, flat_weather(-5.0), start="2024-01-15 23:00", p_hp_max_kw=0.0,
                          p_eh_max_kw=6.0, p_st_max_kw=8.0, e_st_max_kwh=50.0, q_rel_max_kw=6.0)
    for k in range(8 * 60):
        out = fleet.step(k * 60, 60, dict(NAN))
    assert out["discomfort_kh"][0] == 0.0 and out["e_st_kwh"][0] > 40.0
