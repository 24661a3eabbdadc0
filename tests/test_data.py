"""Offline data on the t_s grid: real TMY3 weather, SimBench profiles, TOU price."""
import functools

import numpy as np
import pandas as pd
import pytest

from cosim_base.errors import ConfigError, DataError
from simulators import data

JAN = pd.Timestamp("2021-01-16")  # a clear, cold day in the Greensboro TMY3 (a Saturday)


@functools.cache
def simbench_csv() -> pd.DataFrame:
    cols = ["time"] + [f"{k}_pload" for k in ("H0-A", "H0-B")]
    return pd.read_csv(data._load_profile_path(), sep=";", usecols=cols)


def simbench_day(kind: str, day: str) -> np.ndarray:
    """The 96 quarter-hours of ``day`` (2016) read straight from SimBench's CSV."""
    raw = simbench_csv()
    rows = raw["time"].str.startswith(pd.Timestamp(day).strftime("%d.%m.2016"))
    return raw.loc[rows, f"{kind}_pload"].to_numpy()


@pytest.fixture(scope="module")
def jan_weather():
    return data.weather(JAN, 86400, 60)


def test_weather_winter_day_is_plausible_and_on_the_grid(jan_weather):
    w = jan_weather
    assert list(w.frame.columns) == list(data.WEATHER_COLUMNS)
    assert w.frame.index[0] == 0 and w.frame.index[-1] == 86400 and w.step_s == 60
    assert (w.latitude, w.longitude, w.altitude_m, w.tz) == (36.1, -79.95, 273.0, "Etc/GMT+5")
    f = w.frame
    assert f["t_out_c"].between(-15, 20).all()
    night = (f.index < 6 * 3600) | (f.index > 19 * 3600)
    assert (f.loc[night, ["ghi_w_m2", "dni_w_m2", "dhi_w_m2"]] == 0).all().all()
    assert 400 < f["ghi_w_m2"].max() < 1000
    assert f["wind_ms"].between(0, 30).all()


def test_weather_maps_month_day_time_onto_the_tmy3_rows(jan_weather):
    raw = data.weather_source().frame
    first = 15 * 24  # raw row i holds the hour ending at (i+1):00 of the typical year
    f = jan_weather.frame
    # temperature is read at the hour stamp, irradiance belongs to the middle of its hour
    np.testing.assert_allclose(f.loc[[3600, 7200, 43200], "t_out_c"],
                               raw["t_out_c"].iloc[first + np.array([0, 1, 11])])
    np.testing.assert_allclose(f.loc[[41400, 45000], "ghi_w_m2"],
                               raw["ghi_w_m2"].iloc[first + np.array([11, 12])])


def test_weather_start_in_another_zone_and_on_feb_29():
    utc = data.weather(pd.Timestamp("2021-01-16 05:00", tz="UTC"), 3600, 600)
    local = data.weather(pd.Timestamp("2021-01-16 00:00"), 3600, 600)
    pd.testing.assert_frame_equal(utc.frame, local.frame)
    leap = data.weather(pd.Timestamp("2020-02-29 12:00"), 3600, 600)
    feb28 = data.weather(pd.Timestamp("2021-02-28 12:00"), 3600, 600)
    pd.testing.assert_frame_equal(leap.frame, feb28.frame)


def test_weather_from_a_user_frame():
    user = pd.DataFrame({c: [0.0, 10.0] for c in data.WEATHER_COLUMNS}, index=[0, 3600])
    w = data.weather(JAN, 3600, 900, user, latitude=50.0, longitude=10.0, tz="Europe/Berlin")
    np.testing.assert_allclose(w.frame["wind_ms"], [0, 2.5, 5, 7.5, 10])
    assert w.start == pd.Timestamp("2021-01-16", tz="Europe/Berlin")
    with pytest.raises(ConfigError, match="latitude"):
        data.weather(JAN, 3600, 900, user, longitude=10.0, tz="UTC")
    with pytest.raises(DataError, match="covers"):
        data.weather(JAN, 7200, 900, user, latitude=50.0, longitude=10.0, tz="UTC")


@pytest.mark.parametrize("kwargs, error, field", [
    ({"duration_s": 366 * 86400}, DataError, "duration_s"),
    ({"source": "tmy3-nowhere"}, ConfigError, "source"),
    ({"step_s": 0}, ConfigError, "step_s"),
    ({"step_s": 1.5}, ConfigError, "step_s"),
])
def test_weather_bad_requests_name_the_field(kwargs, error, field):
    args = {"start": JAN, "duration_s": 3600, "step_s": 60} | kwargs
    with pytest.raises(error, match=field):
        data.weather(**args)


def test_load_profile_keeps_simbench_energy_and_peak_at_any_step():
    start = pd.Timestamp("2021-01-13")  # Wednesday, like 2016-01-13: no weekday shift
    raw = simbench_day("H0-A", "2016-01-13")
    for step_s in (60, 900, 3600):
        lp = data.load_profiles(start, 86400 - step_s, step_s, ["H0-A"])
        day = lp["H0-A+0w"].to_numpy()
        assert day.mean() == pytest.approx(raw.mean(), abs=1e-9)
        if step_s <= 900:
            assert day.max() == pytest.approx(raw.max(), abs=1e-9)
    np.testing.assert_allclose(data.load_profiles(start, 86400 - 900, 900, ["H0-A"]).iloc[:, 0],
                               raw, atol=1e-9)


def test_load_profile_matches_weekday_and_spreads_repeated_kinds():
    # 2021-03-01 is a Monday; 2016-03-01 a Tuesday -> the profile of Monday 2016-02-29 is used
    lp = data.load_profiles(pd.Timestamp("2021-03-01"), 86400 - 900, 900, ["H0-B", "H0-B", "H0-B"])
    assert list(lp.columns) == ["H0-B+0w", "H0-B+1w", "H0-B-1w"]
    np.testing.assert_allclose(lp["H0-B+0w"], simbench_day("H0-B", "2016-02-29"), atol=1e-9)
    np.testing.assert_allclose(lp["H0-B+1w"], simbench_day("H0-B", "2016-03-07"), atol=1e-9)
    np.testing.assert_allclose(lp["H0-B-1w"], simbench_day("H0-B", "2016-02-22"), atol=1e-9)


def test_load_profile_summer_start_follows_the_german_wall_clock():
    # Wednesday 2021-07-14 12:00 -> Wednesday 2016-07-13 12:00 CEST, labelled so in SimBench
    lp = data.load_profiles(pd.Timestamp("2021-07-14 12:00"), 900, 900, ["H0-A"])
    raw = simbench_csv().set_index("time")["H0-A_pload"]
    np.testing.assert_allclose(lp.iloc[:, 0], raw.loc[["13.07.2016 12:00", "13.07.2016 12:15"]],
                               atol=1e-9)


def test_load_profile_wraps_the_year_and_rejects_bad_requests():
    lp = data.load_profiles(pd.Timestamp("2021-12-31 23:00"), 7200, 900, ["H0-C"])
    assert lp.notna().all().all() and len(lp) == 9
    with pytest.raises(ConfigError, match="kinds"):
        data.load_profiles(JAN, 3600, 900, ["H9-Z"])
    with pytest.raises(DataError, match="duration_s"):
        data.load_profiles(JAN, 367 * 86400, 900, ["H0-A"])
    with pytest.raises(ConfigError, match="week_shifts"):
        data.load_profiles(JAN, 3600, 900, ["H0-A"], week_shifts=[0, 1])


def test_peak_from_annual_energy():
    p_peak_kw = data.peak_kw_from_annual_energy(3500.0, "H0-A")
    mean_pu = data.simbench_year(["H0-A"])["H0-A"].mean()
    assert p_peak_kw * mean_pu * 8760 == pytest.approx(3500.0)
    assert data.household_mix(7) == ["H0-A", "H0-B", "H0-C", "H0-G", "H0-L", "H0-A", "H0-B"]


def test_tou_price_hours_and_export():
    price = data.tou_price(JAN, 23 * 3600, 3600)
    hours = {p: [h for h in range(24) if price["buy_per_mwh"].iloc[h] == v]
             for p, v in data.TOU_PER_MWH.items()}
    assert hours["valley"] == [0, 1, 2, 3, 4, 5, 6, 23]
    assert hours["peak"] == [10, 11, 12, 13, 14, 18, 19, 20]
    assert hours["flat"] == [7, 8, 9, 15, 16, 17, 21, 22]
    assert (price["sell_per_mwh"] == price["buy_per_mwh"]).all()
    half = data.tou_price(pd.Timestamp("2021-01-16 06:30"), 0, 3600, export_per_mwh=50)
    assert half["buy_per_mwh"].iloc[0] == pytest.approx((300 + 600) / 2)
    assert half["sell_per_mwh"].iloc[0] == 50
    with pytest.raises(ConfigError, match="prices_per_mwh"):
        data.tou_price(JAN, 3600, 60, prices_per_mwh={"peak": 1.0})
