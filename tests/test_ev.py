"""EV fleet: energy balance, CC-CV taper, V2G, availability, missing energy, sampling, adapter."""
import mosaik
import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

from cosim.collector import collector_of
from cosim_base.errors import ConfigError
from simulators.ev import EVFleet, cccv_charge_kwh, cccv_start_kwh, sample_sessions, validate_sessions
from tests.sources import ConstSource

DAY_S = 86400


def one_session(arrival_s=0, departure_s=DAY_S, trip_kwh=0.0, **kw):
    return pd.DataFrame({"ev": [0], "arrival_s": [arrival_s], "departure_s": [departure_s],
                         "trip_kwh": [trip_kwh], **{k: [v] for k, v in kw.items()}})


def run(fleet, p_set_kw, n_steps, dt_s=60):
    """Step ``fleet`` from t = 0 with a constant setpoint; outputs stacked as (steps, n)."""
    outs = [fleet.step(k * dt_s, dt_s, {"p_set_kw": np.broadcast_to(p_set_kw, (fleet.n,)).astype(float)})
            for k in range(n_steps)]
    return {key: np.array([o[key] for o in outs]) for key in outs[0]}


def test_energy_balance_over_two_days_with_v2g_and_off_grid_session_times():
    rng = np.random.default_rng(7)
    sessions = sample_sessions(20, 2, rng, start_hour_of_day=12.0, round_s=1)  # not on the 60 s grid
    fleet = EVFleet(20, sessions, p_discharge_max_kw=7.4, eta_charge=0.88, eta_discharge=0.91,
                    capacity_kwh=rng.uniform(40, 80, 20), soc_init=0.5, horizon_s=2 * DAY_S)
    e0 = fleet.e_kwh.copy()
    dt_s, n_steps = 60, 2 * DAY_S // 60
    p_kw = np.empty((n_steps, 20))
    for k in range(n_steps):
        p_kw[k] = fleet.step(k * dt_s, dt_s, {"p_set_kw": rng.uniform(-10, 12, 20)})["p_kw"]
    dt_h = dt_s / 3600
    into_battery = (np.clip(p_kw, 0, None).sum(0) * 0.88 - np.clip(-p_kw, 0, None).sum(0) / 0.91) * dt_h
    np.testing.assert_allclose(into_battery, fleet.e_kwh - e0 + fleet.e_drive_kwh, rtol=0, atol=1e-9)
    trips_kwh = (sessions["trip_km"] * 0.17).groupby(sessions["ev"]).sum().to_numpy()
    np.testing.assert_allclose(fleet.e_drive_kwh + fleet.e_trip_shortfall_kwh, trips_kwh, rtol=0, atol=1e-9)
    assert (p_kw > 0).any() and (p_kw < 0).any()


@pytest.mark.parametrize("p_kw,soc0", [(11.0, 0.75), (5.0, 0.75), (11.0, 0.9), (3.0, 0.3)])
def test_cccv_exact_step_matches_fine_reference(p_kw, soc0):
    c, p_rated, eta, s_t, dt_h = 60.0, 11.0, 0.9, 0.8, 0.5

    def rhs(_, e):
        return [eta * min(p_kw, p_rated * (c - e[0]) / (c * (1 - s_t)))]

    ref = solve_ivp(rhs, (0, dt_h), [soc0 * c], rtol=1e-12, atol=1e-12, max_step=1e-3).y[0, -1]
    exact = cccv_charge_kwh(np.array([soc0 * c]), np.array([p_kw]), dt_h, c, p_rated, eta, s_t)[0]
    assert exact == pytest.approx(ref, abs=1e-8)


def test_charging_power_is_rated_below_the_knee_and_drops_above_it():
    fleet = EVFleet(1, one_session(), capacity_kwh=50.0, p_charge_max_kw=11.0, soc_init=0.3)
    out = run(fleet, 11.0, 8 * 60)
    below = out["soc"][:, 0] < 0.8 - 11 * 0.9 / 60 / 50  # steps that end below the knee
    np.testing.assert_allclose(out["p_kw"][below, 0], 11.0)
    above = out["p_kw"][out["soc"][:, 0] >= 0.8, 0]
    assert np.all(np.diff(above) < 0) and above[-1] < 0.5
    assert out["soc"][-1, 0] <= 1.0
    # controller's view: the limit at t is the taper formula
    np.testing.assert_allclose(out["p_max_kw"][:, 0],
                               11.0 * np.minimum(1, (1 - out["soc"][:, 0]) / 0.2))


def test_v2g_is_limited_and_stops_at_soc_min_and_absent_without_v2g():
    v2g = EVFleet(1, one_session(), p_discharge_max_kw=7.0, eta_discharge=0.9, soc_init=0.5,
                  soc_min=0.2, capacity_kwh=60.0)
    out = run(v2g, -20.0, 300)
    assert out["p_kw"][0, 0] == pytest.approx(-7.0)
    assert out["p_batt_kw"][0, 0] == pytest.approx(-7.0 / 0.9)
    assert v2g.e_kwh[0] == pytest.approx(0.2 * 60.0)
    assert out["p_kw"][-1, 0] == 0.0 and out["p_min_kw"][-1, 0] == 0.0
    none = EVFleet(1, one_session(), p_discharge_max_kw=0.0)
    out = run(none, -20.0, 10)
    assert np.all(out["p_kw"] == 0) and none.e_kwh[0] == pytest.approx(30.0)


@pytest.mark.parametrize("arrival_s,departure_s", [(3600, 7200), (3630, 7170)])
def test_unplugged_ev_draws_nothing_and_charges_only_in_whole_plugged_steps(arrival_s, departure_s):
    fleet = EVFleet(1, one_session(arrival_s=arrival_s, departure_s=departure_s))
    out = run(fleet, 11.0, 180)
    t = np.arange(180) * 60
    plugged = (t >= arrival_s) & (t + 60 <= departure_s)
    np.testing.assert_array_equal(out["connected"][:, 0], plugged)
    assert np.all(out["p_kw"][~plugged, 0] == 0)
    np.testing.assert_allclose(out["p_kw"][plugged, 0], 11.0)
    np.testing.assert_array_equal(out["t_to_departure_s"][plugged, 0], departure_s - t[plugged])


def test_missing_energy_is_booked_at_departure_when_the_window_is_too_short():
    fleet = EVFleet(1, one_session(departure_s=7200, target_soc=0.9), capacity_kwh=60.0,
                    soc_init=0.2, p_charge_max_kw=7.4, eta_charge=0.9)
    out = run(fleet, 7.4, 180)
    e_dep = 0.2 * 60 + 7.4 * 0.9 * 2  # below the knee all the time
    assert out["e_missing_kwh"][119, 0] == 0.0  # plugged in until t = 7200 s
    assert out["e_needed_kwh"][0, 0] == pytest.approx(0.9 * 60 - 12)
    assert out["e_missing_kwh"][120, 0] == pytest.approx(0.9 * 60 - e_dep)
    assert out["e_missing_kwh"][-1, 0] == out["e_missing_kwh"][120, 0]
    assert fleet.e_kwh[0] == pytest.approx(e_dep)


def test_trip_energy_is_spread_over_the_away_time_and_shortfall_recorded():
    s = pd.DataFrame({"ev": [0, 0], "arrival_s": [0, 10 * 3600], "departure_s": [3600, 20 * 3600],
                      "trip_km": [0.0, 200.0]})
    fleet = EVFleet(1, s, capacity_kwh=40.0, soc_init=0.5, soc_min=0.1, consumption_kwh_per_km=0.15)
    out = run(fleet, 0.0, 600)
    # 30 kWh spread over 9 h away (10/3 kWh/h): 16 kWh down to soc_min after 4.8 h, 14 kWh short
    assert out["e_kwh"][60 + 3 * 60, 0] == pytest.approx(20 - 10.0)
    assert fleet.e_trip_shortfall_kwh[0] == pytest.approx(14.0)
    assert fleet.e_drive_kwh[0] == pytest.approx(16.0)
    assert fleet.e_kwh[0] == pytest.approx(4.0)


def test_sampling_is_reproducible_and_follows_the_distributions():
    a = sample_sessions(50, 3, np.random.default_rng(1))
    b = sample_sessions(50, 3, np.random.default_rng(1))
    c = sample_sessions(50, 3, np.random.default_rng(2))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    validate_sessions(a, 50, horizon_s=3 * DAY_S)
    big = sample_sessions(2000, 4, np.random.default_rng(3))
    arr_h = big.loc[big["arrival_s"] > 0, "arrival_s"] % DAY_S / 3600
    dep_h = big.loc[big["departure_s"] < 4 * DAY_S, "departure_s"] % DAY_S / 3600
    assert arr_h.between(14, 22).all() and abs(arr_h.mean() - 18) < 0.05
    assert dep_h.between(5, 9).all() and abs(dep_h.mean() - 7) < 0.05
    full_days = big.loc[big["arrival_s"] > DAY_S, "trip_km"]
    assert abs(full_days.median() - 25) < 1.0


@pytest.mark.parametrize("kw,field", [
    ({"capacity_kwh": -1.0}, "capacity_kwh"), ({"eta_charge": 1.1}, "eta_charge"),
    ({"eta_discharge": 0.0}, "eta_discharge"), ({"soc_taper": 1.0}, "soc_taper"),
    ({"soc_init": 0.05}, "soc_init"), ({"target_soc": 1.0, "soc_max": 0.9}, "target_soc"),
    ({"horizon_s": 1800}, "arrival_s"),
])
def test_bad_parameters_name_the_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        EVFleet(1, one_session(arrival_s=3600, departure_s=7200), **kw)


@pytest.mark.parametrize("rows,match", [
    ({"ev": [0], "arrival_s": [7200], "departure_s": [3600], "trip_kwh": [0]}, "row 0: arrival_s"),
    ({"ev": [0, 0], "arrival_s": [0, 3000], "departure_s": [3600, 7200], "trip_kwh": [0, 1]},
     "rows 0 and 1 of ev 0 overlap"),
    ({"ev": [0], "arrival_s": [0], "departure_s": [3600], "trip_kwh": [2.0]}, "no time away"),
    ({"ev": [1], "arrival_s": [0], "departure_s": [3600], "trip_kwh": [0]}, r"sessions.ev\[0\]"),
    ({"ev": [0], "arrival_s": [-5], "departure_s": [3600], "trip_kwh": [0]}, r"arrival_s\[0\]"),
    ({"ev": [0], "arrival_s": [0], "departure_s": [3600], "trip_kwh": [-1]}, r"trip_kwh\[0\]"),
    ({"ev": [0], "arrival_s": [0], "departure_s": [3600]}, "exactly one of"),
])
def test_bad_sessions_name_field_and_row(rows, match):
    with pytest.raises(ConfigError, match=match):
        EVFleet(1, pd.DataFrame(rows))


def test_ev_adapter_in_a_mosaik_world():
    fleet = EVFleet(2, pd.DataFrame({"ev": [0, 1], "arrival_s": [0, 0], "departure_s": [DAY_S] * 2,
                                     "trip_kwh": [0.0, 0.0]}), soc_init=0.2)
    world = mosaik.World({"EV": {"python": "devices.sim:DeviceSim"},
                          "Src": {"python": "tests.sources:SourceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    evs = world.start("EV", step_size=60, kind="EV").EV.create(2, fleet=fleet)
    src = world.start("Src", step_size=60).Source.create(1, fleet=ConstSource(1, p_set_kw=7.4))
    mon = world.start("Collector", step_size=60).Monitor()
    world.connect(src[0], evs[0], "p_set_kw")
    for ev in evs:
        world.connect(ev, mon, "p_mw", "soc")
    world.run(until=600)
    col = collector_of(world, mon)
    p_mw, soc = col.frame("p_mw"), col.frame("soc")
    assert list(p_mw.index) == list(range(0, 600, 60))
    np.testing.assert_allclose(p_mw["EV_0"], 7.4e-3)
    np.testing.assert_allclose(p_mw["EV_1"], 11e-3)  # no setpoint: uncontrolled full power
    assert soc["EV_0"].iloc[-1] == pytest.approx(0.2 + 7.4 * 0.9 * 9 / 60 / 60)


def test_nan_setpoint_is_uncontrolled_full_power_charging():
    sessions = pd.DataFrame({"ev": [0], "arrival_s": [0], "departure_s": [7200], "trip_kwh": [0.0]})
    fleet = EVFleet(1, sessions, capacity_kwh=60, p_charge_max_kw=7.4, soc_init=0.2)
    out = fleet.step(0, 60, {"p_set_kw": np.array([np.nan])})
    assert out["p_kw"][0] == pytest.approx(7.4)


def test_missing_energy_is_split_into_what_the_session_could_have_received():
    """2 h at 3.7 kW from 20 % of 60 kWh cannot reach full: at full power nothing of the gap is
    feasible; with no charging the feasible part is what full power would have added."""
    full = EVFleet(1, one_session(0, 7200), capacity_kwh=60.0, p_charge_max_kw=3.7, eta_charge=0.9, soc_init=0.2)
    out = run(full, np.nan, 121)
    added = 3.7 * 0.9 * 2.0  # below the CC-CV knee the whole time
    assert out["e_requested_kwh"][-1, 0] == pytest.approx(48.0)
    assert out["e_missing_kwh"][-1, 0] == pytest.approx(48.0 - added, rel=1e-9)
    assert out["e_missing_feasible_kwh"][-1, 0] == pytest.approx(0.0, abs=1e-9)
    assert out["sessions_short"][-1, 0] == 1
    idle = EVFleet(1, one_session(0, 7200), capacity_kwh=60.0, p_charge_max_kw=3.7, eta_charge=0.9, soc_init=0.2)
    out = run(idle, 0.0, 121)
    assert out["e_missing_feasible_kwh"][-1, 0] == pytest.approx(added, rel=1e-9)


def test_a_session_short_by_less_than_the_tolerance_is_not_counted():
    ev = EVFleet(2, pd.DataFrame({"ev": [0, 1], "arrival_s": [0, 0], "departure_s": [3600, 3600], "trip_kwh": [0, 0]}),
                 capacity_kwh=60.0, target_soc=[0.5, 0.5], soc_init=[0.49, 0.47])  # 0.6 and 1.8 kWh short
    out = run(ev, 0.0, 61)
    np.testing.assert_allclose(out["e_missing_kwh"][-1], [0.6, 1.8])
    np.testing.assert_array_equal(out["sessions_short"][-1], [0, 1])  # tolerance 2 % = 1.2 kWh


@pytest.mark.parametrize("target, rest_h", [(59.4, 2.0), (59.4, 6.0), (45.0, 3.0), (59.0, 0.5)])
def test_cccv_start_is_the_inverse_of_full_power_charging(target, rest_h):
    """From cccv_start_kwh's energy, full power under the CC-CV taper reaches the target in
    rest_h: in the taper (59.4 kWh of 60 needs 5.4 h from the 48 kWh knee at 7.4 kW), through
    the knee and below it; the linear 'target - eta p rest' would start 2-3x too late."""
    c, p, eta, s = 60.0, 7.4, 0.9, 0.8
    e0 = cccv_start_kwh(target, rest_h, c, p, eta, s)
    assert cccv_charge_kwh(e0, p, rest_h, c, p, eta, s) == pytest.approx(target, abs=1e-9)
    if target > s * c:
        assert e0 > target - eta * p * rest_h + 1.0
