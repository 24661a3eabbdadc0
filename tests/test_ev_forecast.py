"""EV arrival forecasts (control.ev_schedule = "forecast"): the sessions a stage expects from the
fleet's session statistics, their seeded errors, and an EV that arrives after the day-ahead decision."""
import copy

import numpy as np
import pandas as pd
import pytest
from scipy.stats import truncnorm

from controllers.multistage import MultiStageController, Stage
from cosim import world
from devices.ev import SESSION_ERRORS, TAPER_TOL, expected_sessions, forecast_data, session_data, session_errors
from devices.kind import StageData
from simulators.ev import EVFleet, SessionStats, cccv_start_kwh, sample_sessions, validate_sessions
from tests.small import small

H = 3600


def away_fleet(n=3, start_h=0.0, **kw):
    """``n`` EVs plugged in from the start until 07:00, then away; the sampler's statistics."""
    sessions = pd.DataFrame({"ev": range(n), "arrival_s": 0, "departure_s": 7 * H, "trip_kwh": 0.0})
    return EVFleet(n, sessions, session_stats=SessionStats(), start_hour_of_day=start_h, **kw)


def expect(f, t_s, free_s, horizon_s, stage="da", errors=None):
    idx = np.arange(f.n)
    errors = errors or session_errors(0, f.n, 0.0)
    return expected_sessions(f, idx, t_s, np.broadcast_to(free_s, f.n), t_s + horizon_s, stage, errors)


def test_expected_sessions_follow_the_fleet_statistics():
    f = away_fleet(consumption_kwh_per_km=0.2)
    trip_kwh = SessionStats().mean_km * 0.2  # 25 km median, sigma 0.6: 29.9 km
    assert trip_kwh == pytest.approx(25 * np.exp(0.18) * 0.2)
    # away at noon: arrival at the mean 18:00, departure at the next 07:00, the trip from 07:00
    arr, dep, start, rate, target = expect(f, 12 * H, 0.0, 24 * H)
    assert arr.shape == (3, 1)
    np.testing.assert_allclose(arr, 18 * H)
    np.testing.assert_allclose(dep, 31 * H)
    np.testing.assert_allclose(start, 7 * H)
    np.testing.assert_allclose(rate * (arr - start), trip_kwh)
    np.testing.assert_allclose(target, 60.0)  # soc_max of 60 kWh: "full"
    # still away at 20:00: the truncated normal's mean after 20:00 (window 14-22 h)
    arr, *_ = expect(f, 20 * H, 0.0, 24 * H)
    mu, sd = 18 * H, 2 * H
    assert arr[0, 0] == pytest.approx(truncnorm.mean((20 * H - mu) / sd, 2, loc=mu, scale=sd))
    assert np.isfinite(arr[0, 1]) and arr[0, 1] == pytest.approx(42 * H)  # and the next evening's
    # plugged in at midnight until a measured 06:30: the next session after it, its trip from then
    arr, dep, start, rate, _ = expect(f, 0, 6.5 * H, 24 * H)
    np.testing.assert_allclose(start[:, 0], 6.5 * H)
    np.testing.assert_allclose(arr[:, 0], 18 * H)
    # the intraday stage at 08:00 (4 h): the EV has left for the day, no session expected
    arr, dep, start, rate, _ = expect(f, 8 * H, 0.0, 4 * H, stage="id")
    assert np.isinf(arr).all() and (rate == 0).all()
    # a run starting at 12:00: the same evening on the run's clock
    arr, *_ = expect(away_fleet(start_h=12.0), 0, 0.0, 24 * H)
    np.testing.assert_allclose(arr[:, 0], 6 * H)


def test_block_data_keeps_the_measured_session_and_adds_the_expected_one():
    """Intraday stage at 17:00 (16 x 15 min): EV 0 is plugged in until a measured 07:00 (its truth
    is used, as in "session"), EV 1 is away and expected after 17:00 with the rest of its trip."""
    f = away_fleet(n=2, p_charge_max_kw=3.7)
    meas = {"e_kwh": np.array([40.0, 35.0]), "connected": np.array([1.0, 0.0]),
            "t_to_departure_s": np.array([14 * H, 0.0]), "e_needed_kwh": np.array([20.0, 0.0])}
    d = StageData("id", 17 * H, 900, 16, f, np.arange(2), meas, {}, None, None, None, None,
                  {"seed": 0, "ev_error_scale": 1.0})
    got, measured = forecast_data(f, meas, d.index, d), session_data(f, meas, d.index, d)
    for key in ("avail", "e_need_kwh"):
        np.testing.assert_array_equal(got[key][0], measured[key][0])
    assert got["avail"][0].all() and not got["trip_kwh"][0].any()
    arr, dep, start, rate, _ = expect(f, 17 * H, [14 * H, 0.0], 4 * H, stage="id", errors=session_errors(0, 2, 1.0))
    assert np.isinf(arr[0]).all()  # EV 0: nothing expected before it leaves
    k_arr = int(np.ceil((arr[1, 0] - 17 * H) / 900))  # the first whole period after the arrival
    assert 0 < k_arr < 16 and not got["avail"][1, :k_arr - 1].any() and got["avail"][1, k_arr:].all()
    assert got["avail"][1, k_arr - 1] == pytest.approx((17 * H + 900 * k_arr - arr[1, 0]) / 900)  # its share
    assert got["trip_kwh"][1].sum() == pytest.approx(rate[1, 0] * (arr[1, 0] - 17 * H))  # the rest only
    # departure at 07:00 + error, past the horizon: the least from which 3.7 kW for the rest,
    # under the CC-CV taper, reaches full
    rest_h = (dep[1, 0] - 21 * H) / H
    assert got["e_need_kwh"][1, -1] == pytest.approx(
        cccv_start_kwh(60.0 * (1 - TAPER_TOL), rest_h, 60.0, 3.7, f.eta_charge[1], f.soc_taper[1]))
    assert not got["e_need_kwh"][1, :-1].any()


def test_session_errors_are_seeded_nested_and_shrink_for_later_stages():
    a, b = session_errors(5, 2000, 1.0), session_errors(6, 2000, 1.0)
    session_errors.cache_clear()
    again = session_errors(5, 2000, 1.0)
    for sig in SESSION_ERRORS:
        np.testing.assert_array_equal(a[sig]["da"], again[sig]["da"])  # deterministic
        assert not np.allclose(a[sig]["da"], b[sig]["da"])  # another seed, other errors
    e = a["ev_arrival_h"]
    sd = {st: e[st][:, :10].std() for st in ("da", "id", "rt")}
    np.testing.assert_allclose([sd["da"], sd["id"], sd["rt"]], np.array([1.0, 0.5, 0.25]) / 1.96, rtol=0.05)
    # nested: the intraday error is part of the day-ahead one (a later stage is closer)
    assert (e["da"][:, :10] - e["id"][:, :10]).std() == pytest.approx(np.sqrt(1.0 - 0.25) / 1.96, rel=0.05)
    assert not session_errors(5, 3, 0.0)["ev_arrival_h"]["da"].any()  # scale 0: none
    # an expected session carries its day's error, the same at every decision of the stage
    f = away_fleet()
    err = session_errors(5, f.n, 1.0)
    arr_noon, dep, _, rate, _ = expect(f, 12 * H, 0.0, 24 * H, errors=err)
    arr_early, *_ = expect(f, 9 * H, 0.0, 24 * H, errors=err)
    np.testing.assert_allclose(arr_noon[:, 0], 18 * H + H * err["ev_arrival_h"]["da"][:, 0])
    np.testing.assert_allclose(arr_noon, arr_early)
    np.testing.assert_allclose(dep[:, 0], 31 * H + H * err["ev_departure_h"]["da"][:, 0])


def test_statistics_estimated_from_a_session_table():
    big = validate_sessions(sample_sessions(2000, 4, np.random.default_rng(3)), 2000)
    est = SessionStats.estimate(big, np.full(2000, 0.17))
    true = SessionStats()
    assert est.arrival_mean_h == pytest.approx(true.arrival_mean_h, abs=0.05)
    assert est.departure_mean_h == pytest.approx(true.departure_mean_h, abs=0.05)
    assert est.arrival_sd_h == pytest.approx(1.76, abs=0.05)  # sd of N(0, 2 h) truncated at 2 sd
    assert est.distance_median_km == pytest.approx(25.0, rel=0.03)
    assert est.distance_sigma == pytest.approx(0.6, rel=0.05)
    # hours straddling midnight are averaged on the clock (23:30 and 00:30: 00:00, sd 0.5 h)
    wrap = pd.DataFrame({"ev": [0, 0], "arrival_s": [23.5 * H, 48.5 * H], "departure_s": [31 * H, 55 * H],
                         "trip_kwh": [5.0, 5.0]})
    est = SessionStats.estimate(wrap, [0.2])
    assert est.arrival_mean_h % 24 == pytest.approx(0.0, abs=1e-9) or est.arrival_mean_h == pytest.approx(24.0)
    assert est.arrival_sd_h == pytest.approx(0.5) and est.distance_median_km == pytest.approx(25.0)
    # a fleet without statistics (no arrival in its table) plans its measured sessions only
    assert away_fleet().session_stats is not None
    assert EVFleet(1, pd.DataFrame({"ev": [0], "arrival_s": [0], "departure_s": [H], "trip_kwh": [0.0]})
                   ).session_stats is None


def test_an_ev_arriving_after_the_day_ahead_decision_leaves_full(tmp_path):
    """Day-ahead stage only, deciding at 12:00 while four EVs are away; they arrive 15:00-21:00
    after a short drive (2 kWh; the plan reserves the part of the fleet's mean trip, 5.1 kWh, after
    the expected 07:00 departure, with its error) and leave 08:00-08:50. The plan's setpoints drive
    the plant fleet. Knowing only plugged-in sessions ("session") the plan never charges them;
    "forecast" plans the sessions expected from the statistics (18:00 to 07:00, with the stage's
    errors) in the night valley and they leave full."""
    parts = world.build_parts(small(tmp_path, start="2024-01-15 12:00", duration_s=3600,
                                    **{"control.stages": ["da"]}))
    arrive_h, leave_h = np.array([3.0, 5.0, 7.0, 9.0]), np.array([20.0, 20.5, 20.8, 20.2])  # since 12:00
    sessions = pd.DataFrame({"ev": range(4), "arrival_s": arrive_h * H, "departure_s": leave_h * H,
                             "trip_kwh": 2.0})
    params = dict(capacity_kwh=60.0, p_charge_max_kw=7.4, soc_init=0.8, session_stats=SessionStats(),
                  start_hour_of_day=12.0)
    c = parts.scenario.control.da
    fc = parts.forecaster.forecast("da", 0)
    missing = {}
    for mode in ("session", "forecast"):
        plant = EVFleet(4, sessions, **params)
        fleets = {**parts.devices.fleets, "EV": EVFleet(4, sessions, **params)}
        ctl = MultiStageController(copy.deepcopy(parts.net), fleets, parts.devices.bus_pos,
                                   [Stage("da", c.every_s, c.dt_s, c.T)], parts.price, ev_schedule=mode, seed=0)
        meas = world.initial_measurements(parts)
        meas["EV"] = {a: plant.initial_outputs()[a] for a in meas["EV"]}
        assert not meas["EV"]["connected"].any()  # all away at the decision
        assert ctl.decide("da", 0, meas, fc).status == "optimal"
        for t in range(0, 21 * H, 300):
            plant.step(t, 300, {"p_set_kw": ctl.setpoints(t)["EV"]["p_set_kw"]})
        missing[mode] = plant.e_missing_kwh
    np.testing.assert_allclose(missing["session"], 14.0)  # arrived at 46 kWh, never charged
    assert (missing["forecast"] <= TAPER_TOL * 60.0 + 0.2).all()  # full, up to the planned taper tolerance
