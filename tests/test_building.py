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
from simulators.thermal import (comfort_band_c, cop_linear, cop_staffell_ashp, eer_cutler_ashp, net_mode,
                                rc_3r2c_matrices, running_means_c, storage_step, ua_kw_per_k)

NAN = {"p_hp_kw": np.nan, "p_cool_kw": np.nan, "p_eh_kw": np.nan, "p_st_kw": np.nan, "q_rel_kw": np.nan}


def flat_weather(t_out_c=0.0, ghi_w_m2=0.0, hours=48):
    """Constant weather; ``t_out_c`` may also be an array over the hours (0..hours)."""
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


def cutler_eir_at(t_out_c):
    """Cutler et al. 2013's published single-speed cooling EIR-fT curve (degF) at 67 degF indoor
    wet bulb, evaluated here from its coefficients independently of simulators.thermal."""
    wb, db = 67.0, np.asarray(t_out_c) * 9 / 5 + 32
    return (-3.437356399 + 0.136656369 * wb - 0.001049231 * wb**2 - 0.0079378 * db + 0.000185435 * db**2
            - 0.0001441 * wb * db)


def test_cooling_cop_follows_the_published_cutler_curve():
    t = np.array([20.0, 26.67, 30.0, 35.0, 40.0, 45.0])
    eer = eer_cutler_ashp(t, 3.4)
    assert eer[3] == pytest.approx(3.4)  # the rating point (AHRI "A": 35 degC outdoor)
    assert cutler_eir_at(35.0) == pytest.approx(1.011, abs=1e-3)  # the curve is ~1 at its rating point
    np.testing.assert_allclose(eer / eer[3], cutler_eir_at(35.0) / cutler_eir_at(t), rtol=1e-9)
    assert eer[1] / 3.4 == pytest.approx(1.28, abs=0.005) and eer[4] / 3.4 == pytest.approx(0.85, abs=0.005)
    assert np.all(np.diff(eer) < 0)  # hotter outside: less cooling per kWh
    assert eer_cutler_ashp(10.0, 3.4) == eer_cutler_ashp(18.0, 3.4)  # clipped to the rating-data range


def test_adaptive_band_is_en16798_category_ii():
    """pythermalcomfort's adaptive_en (EN 16798-1:2019) worked values: T_rm 20 -> T_cmf 25.4, category
    II 21.4-28.4; T_rm 10 -> 22.1 and 30 -> 28.7; outside 10-30 degC the fixed band holds."""
    lo, up = comfort_band_c([20.0, 10.0, 30.0, 9.9, 30.1, 20.0], 20.0, 22.0, [True] * 5 + [False])
    np.testing.assert_allclose(lo, [21.4, 18.1, 24.7, 20.0, 20.0, 20.0])
    np.testing.assert_allclose(up, [28.4, 25.1, 31.7, 22.0, 22.0, 22.0])
    t_rm = running_means_c(10.0, [20.0, 20.0, 0.0])  # alpha 0.8: a fifth of the gap per day
    np.testing.assert_allclose(t_rm, [10.0, 12.0, 13.6, 10.88])


def test_plant_band_follows_the_running_mean_day_by_day():
    """Day 0 at t_rm0_c, then the recursion on the weather's daily means; the band, recorded as
    t_low_c / t_up_c, is what the discomfort counts; t_in0_c NaN starts mid-band."""
    t_out = np.r_[np.full(24, 30.0), np.full(24, 20.0), [20.0]]
    lo0, up0 = comfort_band_c(25.0, 20.0, 22.0, True)
    fleet = BuildingFleet(2, flat_weather(t_out), t_rm0_c=25.0, adaptive_comfort=[True, False],
                          t_in0_c=[np.nan, (lo0 + up0) / 2], ci_kwh_per_k=1e6, ce_kwh_per_k=1e6)  # frozen
    np.testing.assert_allclose(fleet.t_rm_c, [25.0, 26.0, 24.8])
    np.testing.assert_allclose(fleet.x[:, 0], (lo0 + up0) / 2)
    out = fleet.step(0, 3600, setpoints(2))
    np.testing.assert_allclose([out["t_low_c"], out["t_up_c"]], [[lo0, 20.0], [up0, 22.0]])
    out = fleet.step(86400 + 1800, 3600, setpoints(2))
    np.testing.assert_allclose(out["t_up_c"], [0.33 * 26.0 + 18.8 + 3, 22.0])
    np.testing.assert_allclose(out["discomfort_kh"], [0.0, (lo0 + up0) / 2 - 22.0])  # the fixed band's step
    winter = BuildingFleet(1, flat_weather(-5.0))  # running mean below 10 degC: the fixed band
    assert winter.band_c(0) == (20.0, 22.0) and winter.x[0, 0] == 21.0


def hot_day(hours=48):
    """A summer day: 26-38 degC with sun up to 800 W/m2."""
    h = np.arange(hours + 1)
    return flat_weather(32.0 + 6.0 * np.sin(2 * np.pi * (h - 9) / 24),
                        np.clip(800.0 * np.sin(np.pi * ((h % 24) - 6) / 14), 0, None), hours)


def test_local_cooling_keeps_the_adaptive_band_on_a_hot_day_and_none_does_not():
    fleet = BuildingFleet(2, hot_day(), t_rm0_c=28.0, can_cool=[True, False])
    lo, up = fleet.band_c(0)
    peak = np.zeros(2)
    for k in range(24 * 60):
        out = fleet.step(k * 60, 60, dict(NAN))
        peak = np.maximum(peak, out["t_in_c"])
    assert out["discomfort_kh"][0] == 0.0 and peak[0] <= up[0]
    assert out["discomfort_kh"][1] > 5.0 and peak[1] > up[1] + 2.0  # no cooling: far above the band
    assert out["p_cool_kw"][1] == 0.0 and out["p_hp_kw"][1] == 0.0


def test_a_heat_pump_runs_one_mode_and_cooling_removes_heat():
    fleet = BuildingFleet(3, flat_weather(30.0), t_rm0_c=25.0, ci_kwh_per_k=1e6, ce_kwh_per_k=1e6)
    cop, eer = fleet.cop(30.0), fleet.eer(30.0)
    out = fleet.step(0, 900, setpoints(3, p_hp_kw=[1.0, 2.0, 0.0], p_cool_kw=[2.0, 0.5, 5.0]))
    np.testing.assert_allclose(out["p_hp_kw"], [0.0, (2.0 * cop[1] - 0.5 * eer[1]) / cop[1], 0.0])
    np.testing.assert_allclose(out["p_cool_kw"], [(2.0 * eer[0] - cop[0]) / eer[0], 0.0, 3.0])  # limit p_hp_max_kw
    np.testing.assert_allclose(out["q_cool_kw"], eer * out["p_cool_kw"])
    np.testing.assert_allclose(out["p_mw"], (out["p_hp_kw"] + out["p_cool_kw"]) / 1000)
    p_heat, p_cool = net_mode(np.array([1.0, 0.0]), 4.0, np.array([0.0, 2.0]), 3.0)
    assert list(p_heat) == [1.0, 0.0] and list(p_cool) == [0.0, 2.0]  # one mode asked: unchanged


def test_dispatch_sends_one_mode_and_nan_without_a_plan():
    """A plan that heats and cools a unit at once (never cheaper while energy costs) is sent as its
    net heat in one mode; no plan in force: NaN, the units' thermostats."""
    from controllers.multistage import Plan
    from devices import REGISTRY
    x = {"hp.p_hp_kw": np.array([[1.0], [2.0], [0.0]]), "hp.cop": np.full((3, 1), 4.0),
         "hp.p_cool_kw": np.array([[2.0], [1.0], [1.5]]), "hp.eer": np.full((3, 1), 3.0)}
    sent = {}
    REGISTRY["Building"].dispatch("hp", Plan(0, 3600, 1, x), 0, sent.__setitem__)
    np.testing.assert_allclose(sent["p_hp_kw"], [0.0, 5.0 / 4.0, 0.0])
    np.testing.assert_allclose(sent["p_cool_kw"], [2.0 / 3.0, 0.0, 1.5])
    assert sent["p_eh_kw"] == 0.0  # a heat-pump house has no TSEH
    REGISTRY["Building"].dispatch("hp", None, None, sent.__setitem__)
    assert np.isnan(sent["p_hp_kw"]) and np.isnan(sent["p_cool_kw"])
