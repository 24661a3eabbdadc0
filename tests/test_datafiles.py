"""Users' own data files: weather, prices, base loads and EV sessions read against hand-computed
values, and every kind of bad file refused with one message naming file, column and row."""
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from cosim_base.errors import DataError
from simulators import data, datafiles

BERLIN = "Europe/Berlin"
WEATHER_HEAD = "# latitude: 52.52\n# longitude: 13.40\n# tz: Europe/Berlin\n" \
               "time,t_out_c,ghi_w_m2,dni_w_m2,dhi_w_m2,wind_ms\n"


def write(tmp_path, name, text) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def hourly_weather(first: str, n: int, t_out=None) -> str:
    """n hourly rows from ``first`` (naive, site tz in the header): t_out_c = row, ghi = 10 row,
    dni = 2 row, dhi = row, wind = 1 + row / 10."""
    times = pd.date_range(first, periods=n, freq="h")
    rows = [f"{t:%Y-%m-%d %H:%M},{i if t_out is None else t_out},{10 * i},{2 * i},{i},{1 + i / 10}"
            for i, t in enumerate(times)]
    return WEATHER_HEAD + "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------------------------
# Good files
# ---------------------------------------------------------------------------------------------

def test_weather_csv_across_a_month_boundary(tmp_path):
    path = write(tmp_path, "w.csv", hourly_weather("2024-01-31 00:00", 48))
    w = data.weather(pd.Timestamp("2024-01-31 22:00"), 4 * 3600, 1800, path)
    assert (w.latitude, w.longitude, w.tz, w.source) == (52.52, 13.40, BERLIN, path)
    assert w.start == pd.Timestamp("2024-01-31 22:00", tz=BERLIN)
    # rows 22 (Jan 31 22:00) .. 26 (Feb 1 02:00), halfway values in between
    np.testing.assert_allclose(w.frame["t_out_c"], [22, 22.5, 23, 23.5, 24, 24.5, 25, 25.5, 26])
    np.testing.assert_allclose(w.frame["ghi_w_m2"].iloc[[0, 8]], [220, 260])
    np.testing.assert_allclose(w.frame["wind_ms"].iloc[[1, 4]], [3.25, 3.4])


def test_weather_csv_needs_site_lines(tmp_path):
    path = write(tmp_path, "w.csv", hourly_weather("2024-01-31", 4).replace("# latitude: 52.52\n", ""))
    with pytest.raises(DataError, match=r"w\.csv: metadata line '# latitude"):
        data.weather(pd.Timestamp("2024-01-31"), 3600, 900, path)


def test_tmy3_and_epw_paths_are_typical_years(tmp_path):
    tmy3 = shutil.copy(data.weather_source("tmy3-greensboro").path, tmp_path / "gso.csv")
    start = pd.Timestamp("2021-01-16")
    by_key = data.weather(start, 3 * 3600, 600)
    pd.testing.assert_frame_equal(data.weather(start, 3 * 3600, 600, str(tmy3)).frame, by_key.frame)
    epw = write(tmp_path, "site.epw", epw_text(by_key_rows=data.weather_source().frame))
    w = data.weather(start, 3 * 3600, 600, epw)
    assert (w.latitude, w.longitude, w.tz, w.altitude_m) == (36.1, -79.95, "Etc/GMT+5", 273.0)
    pd.testing.assert_frame_equal(w.frame, by_key.frame)


def epw_text(by_key_rows: pd.DataFrame, ghi_row=None) -> str:
    """An EPW file (EnergyPlus weather: 8 header lines, 35 fields a row) with the given hourly
    values; ``ghi_row`` = (row, value) overrides one GHI."""
    head = ["LOCATION,Greensboro,NC,USA,TMY3,723170,36.1,-79.95,-5.0,273.0"] + [f"HEADER{i}" for i in range(7)]
    rows = []
    for i, r in enumerate(by_key_rows.itertuples(index=False)):
        t = pd.Timestamp("2001-01-01") + pd.Timedelta(hours=i)
        ghi = ghi_row[1] if ghi_row and ghi_row[0] == i else r.ghi_w_m2
        f = [t.year, t.month, t.day, t.hour + 1, 60, "?", r.t_out_c, 0, 50, 101325, 0, 0, 300,
             ghi, r.dni_w_m2, r.dhi_w_m2, 0, 0, 0, 0, 180, r.wind_ms] + [0] * 13
        rows.append(",".join(map(str, f)))
    return "\n".join(head + rows) + "\n"


def test_prices_across_the_spring_dst_change(tmp_path):
    # Berlin 2024-03-31: 02:00 CET jumps to 03:00 CEST; the stamps carry their offsets
    stamps = ["2024-03-31T00:00+01:00", "2024-03-31T01:00+01:00", "2024-03-31T03:00+02:00",
              "2024-03-31T04:00+02:00", "2024-03-31T05:00+02:00"]
    text = "timestamp,buy_per_mwh,sell_per_mwh\n" + "".join(
        f"{s},{10 * (i + 1)},{-5 * i}\n" for i, s in enumerate(stamps))
    path = write(tmp_path, "da.csv", text)
    start = data.run_start("2024-03-31 00:00", tz=BERLIN)
    p = data.file_price(start, 3 * 3600, 1800, path)
    np.testing.assert_allclose(p["buy_per_mwh"], [10, 10, 20, 20, 30, 30, 40])
    np.testing.assert_allclose(p["sell_per_mwh"], [0, 0, -5, -5, -10, -10, -15])
    half = data.file_price(start + pd.Timedelta(minutes=30), 0, 3600, path)
    np.testing.assert_allclose(half["buy_per_mwh"], [15])  # mean over [00:30, 01:30)


def test_naive_prices_across_the_autumn_dst_change(tmp_path):
    # Berlin 2024-10-27: 03:00 CEST falls back to 02:00 CET, wall clock 02:00 occurs twice
    wall = ["00:00", "01:00", "02:00", "02:00", "03:00", "04:00"]
    text = "# tz: Europe/Berlin\ntimestamp,buy_per_mwh\n" + "".join(
        f"2024-10-27 {h},{100 + i}\n" for i, h in enumerate(wall))
    path = write(tmp_path, "idx.csv", text)
    p = data.file_price(data.run_start("2024-10-27 00:00", tz=BERLIN), 4 * 3600, 3600, path)
    np.testing.assert_allclose(p["buy_per_mwh"], [100, 101, 102, 103, 104])
    assert list(p.columns) == ["buy_per_mwh"]


def test_load_profiles_per_unit_and_in_kw(tmp_path):
    text = "time,flat_a,home_b\n" + "".join(
        f"2024-01-15T{h // 4:02d}:{15 * (h % 4):02d}Z,{0.1 * h:.1f},{h}\n" for h in range(8))
    path = write(tmp_path, "loads.csv", text)
    start = pd.Timestamp("2024-01-15", tz="UTC")
    pu = data.file_profiles(start, 3600, 1800, path, 3)
    assert list(pu.columns) == ["flat_a", "home_b", "flat_a"]
    np.testing.assert_allclose(pu["home_b"], [0.5, 2.5, 4.5])  # means of 2 quarter hours
    np.testing.assert_allclose(pu.iloc[:, 0], [0.05, 0.25, 0.45])
    kw = data.file_profiles(start, 1800, 900, path, 1, unit="kw")
    np.testing.assert_allclose(kw.iloc[:, 0], [0.0, 0.1, 0.2])


def test_sessions_read_with_acn_names(tmp_path):
    text = ("connectionTime,disconnectTime,kWhDelivered,stationID\n"
            "2024-01-15T17:30:00+01:00,2024-01-16T07:00:00+01:00,12.5,CA-1\n"
            "\"Mon, 15 Jan 2024 16:00:00 GMT\",\"Mon, 15 Jan 2024 20:00:00 GMT\",4.25,CA-2\n")
    s = datafiles.read_sessions(write(tmp_path, "acn.csv", text)).frame
    assert list(s.ev) == ["CA-1", "CA-2"]
    assert s.arrival[1] == pd.Timestamp("2024-01-15 16:00", tz="UTC")
    assert s.departure[0] == pd.Timestamp("2024-01-16 06:00", tz="UTC")
    np.testing.assert_allclose(s.energy_kwh, [12.5, 4.25])


# ---------------------------------------------------------------------------------------------
# Bad files: one DataError naming the file, the column and the first bad row
# ---------------------------------------------------------------------------------------------

def _weather(path):
    return data.weather(pd.Timestamp("2024-01-31 00:00"), 3 * 3600, 900, path)


def _prices(path):
    return data.file_price(data.run_start("2024-03-31", tz=BERLIN), 2 * 3600, 900, path, tz=BERLIN)


def _loads(path):
    return data.file_profiles(data.run_start("2024-03-31", tz=BERLIN), 1800, 900, path, 2)


def _sessions(path):
    return datafiles.read_sessions(path, BERLIN)


W = hourly_weather("2024-01-31", 6)
P = "timestamp,buy_per_mwh\n" + "".join(f"2024-03-31T{h:02d}:00+01:00,{50 + h}\n" for h in range(4))
L = "time,a,b\n" + "".join(f"2024-03-31T00:{15 * q:02d}+01:00,0.5,0.25\n" for q in range(4))
S = "arrival,departure,energy_kwh,ev\n2024-03-31 08:00,2024-03-31 12:00,10,car1\n" \
    "2024-03-31 13:00,2024-03-31 18:00,5,car1\n"

BAD = {  # case: (reader, file text, column, row, phrase of the message)
    "weather NaN": (_weather, W.replace(",20,4,", ",,4,"), "ghi_w_m2", 2, "not a number"),
    "negative irradiance": (_weather, W.replace(",30,6,3,", ",30,6,-3,"), "dhi_w_m2", 3, "outside"),
    "temperature in Kelvin": (_weather, hourly_weather("2024-01-31", 6, t_out=273.15), "t_out_c", 0,
                              "Kelvin or Fahrenheit"),
    "wind in km/h": (_weather, W.replace(",1.4\n", ",140\n"), "wind_ms", 4, "km/h"),
    "weather not covering the run": (_weather, hourly_weather("2024-01-31", 3), "time", 2, "the run needs"),
    "duplicate stamp": (_weather, W.replace("2024-01-31 02:00", "2024-01-31 01:00"), "time", 2,
                        "duplicates"),
    "unsorted stamps": (_prices, P.replace("T03:00", "T00:30"), "timestamp", 3, "before the stamp"),
    "gap": (_prices, P.replace("T02:00", "T04:00").replace("T03:00", "T05:00"), "timestamp", 2, "gap"),
    "prices absurd": (_prices, P.replace(",52\n", ",52000000\n"), "buy_per_mwh", 2, "another unit"),
    "price not a number": (_prices, P.replace(",51\n", ",n/a\n"), "buy_per_mwh", 1, "'n/a' is not a number"),
    "missing column": (_prices, P.replace("buy_per_mwh", "sell_per_mwh"), "buy_per_mwh", None, "missing column"),
    "unknown column": (_prices, P.replace("buy_per_mwh\n", "buy_per_mwh,note\n").replace("\n2", ",x\n2")
                       .replace(",53\n", ",53,x\n"), "note", None, "unknown column"),
    "prices not covering the run": (_prices, P.replace("+01:00", "Z"), "timestamp", 0, "the run needs"),
    "naive stamps without tz": (lambda p: data.file_price(pd.Timestamp("2024-03-31", tz="UTC"), 3600, 900, p),
                                P.replace("+01:00", ""), "timestamp", 0, "tz"),
    "mixed offsets": (_prices, P.replace("T01:00+01:00", "T01:00"), "timestamp", 1, "mix"),
    "nonexistent wall time": (_prices, "timestamp,buy_per_mwh\n" + "".join(
        f"2024-03-31 {h},{i}\n" for i, h in enumerate(["01:00", "01:30", "02:00", "02:30"])),
        "timestamp", 2, "wall-clock"),
    "load in kW as p.u.": (_loads, L.replace("0.5,0.25\n2024-03-31T00:30", "0.5,250\n2024-03-31T00:30"),
                           "b", 1, "kw"),
    "session departs before arriving": (_sessions, S.replace("2024-03-31 18:00", "2024-03-31 12:30"),
                                        "departure", 1, "not after arrival"),
    "session energy in Wh": (_sessions, S.replace(",10,", ",10000,"), "energy_kwh", 0, "Wh"),
    "session time unreadable": (_sessions, S.replace("2024-03-31 13:00", "13 o'clock"), "arrival", 1,
                                "not an ISO 8601 time"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_file_names_file_column_and_row(tmp_path, case):
    reader, text, column, row, phrase = BAD[case]
    path = write(tmp_path, "input.csv", text)
    with pytest.raises(DataError) as err:
        reader(path)
    msg = str(err.value)
    assert msg.startswith(f"{os.path.abspath(path)}: column {column!r}, ")
    assert ("header" if row is None else f"row {row} (line ") in msg
    assert phrase in msg


def test_epw_missing_value_marker_names_its_line(tmp_path):
    rows = data.weather_source().frame
    path = write(tmp_path, "bad.epw", epw_text(rows, ghi_row=(100, 9999)))
    with pytest.raises(DataError, match=r"bad\.epw: column 'ghi_w_m2', row 100 \(line 109\): 9999 is outside"):
        data.weather(pd.Timestamp("2021-01-16"), 3600, 600, path)


# ---------------------------------------------------------------------------------------------
# EV sessions on the fleet, and scenarios naming files
# ---------------------------------------------------------------------------------------------

def test_file_sessions_become_units_trips_and_clipped_arrivals(tmp_path):
    from simulators.ev import file_sessions
    text = ("arrival,departure,energy_kwh\n"
            "2024-01-15 13:00,2024-01-15 18:00,5\n"     # row 0: EV 0 is free again after row 2
            "2024-01-14 22:00,2024-01-15 07:00,9\n"     # row 1: under way at the start: no trip
            "2024-01-15 08:00,2024-01-15 12:00,10\n"    # row 2: EV 0 (away since 07:00)
            "2024-01-15 09:00,2024-01-15 10:00,2.5\n"   # row 3: EV 1
            "2024-01-16 09:00,2024-01-16 10:00,1\n")    # row 4: after the run
    s = datafiles.read_sessions(write(tmp_path, "s.csv", text), BERLIN)
    start = pd.Timestamp("2024-01-15", tz=BERLIN)
    got = file_sessions(s, start, 86400, 2)
    assert got.to_dict("list") == {"ev": [0, 0, 1, 0], "arrival_s": [0, 28800, 32400, 46800],
                                   "departure_s": [25200, 43200, 36000, 64800],
                                   "trip_kwh": [0.0, 10.0, 2.5, 5.0]}
    with pytest.raises(DataError, match=r"s\.csv: column 'arrival', row 3 \(line 5\): all 1 EVs are plugged in"):
        file_sessions(s, start, 86400, 1)


def test_scenario_reads_files_next_to_it_and_builds_the_plant(tmp_path):
    from cosim.plant import default_devices
    from cosim.scenario import Scenario
    from cosim.world import tariff
    (tmp_path / "in").mkdir()
    write(tmp_path / "in", "w.csv", hourly_weather("2024-01-14 23:00", 30))
    write(tmp_path / "in", "p.csv", "timestamp,buy_per_mwh\n" + "".join(
        f"2024-01-15T{h:02d}:00+01:00,{80 + h}\n" for h in range(24)))
    write(tmp_path / "in", "l.csv", "time,a,b\n" + "".join(
        f"2024-01-15 {h:02d}:00,{h},{2 * h}\n" for h in range(24)))
    write(tmp_path / "in", "s.csv", "arrival,departure,energy_kwh,ev\n2024-01-15 02:00,2024-01-15 03:00,4,x\n")
    toml = write(tmp_path, "mine.toml", """name = "mine"
start = "2024-01-15 00:00"
duration_h = 3
step_s = 900
device_preset = "none"
[data]
weather = "in/w.csv"
prices = "in/p.csv"
load_profile = "in/l.csv"
load_unit = "kw"
ev_sessions = "in/s.csv"
tz = "Europe/Berlin"
[control]
stages = []
[[devices.Load]]
bus = [3, 5]
[[devices.EV]]
bus = [3]
""")
    sc = Scenario.from_toml(toml)
    assert sc.data.prices == str(tmp_path / "in" / "p.csv")
    tab = tariff(sc)
    np.testing.assert_allclose(tab.buy_per_mwh.iloc[[0, 4, 12]], [80, 81, 83])
    np.testing.assert_allclose(tab.sell_per_mwh, tab.buy_per_mwh)  # export_price_ratio 1
    _, dev = default_devices(sc.plant_spec(), sc.devices, sc.device_preset)
    loads = dev.fleets["Load"]
    np.testing.assert_allclose(loads.p_peak_kw, [1, 1])
    np.testing.assert_allclose(loads.mean_kw(3600, 3600, 1)[:, 0], [1, 2])  # kW of 01:00-02:00
    ev = dev.fleets["EV"]
    assert ev.schedule(0, 3600, 3)["avail"].tolist() == [[0, 0, 1]]
    with pytest.raises(DataError, match=r"p\.csv: column 'timestamp', row 23 .*the run needs"):
        sc.updated({"duration_h": 24})  # prices end at 24:00, the day-ahead lookahead needs more


def test_a_closed_loop_run_across_a_month_end_and_the_spring_dst_change(tmp_path):
    """Berlin, 2024-03-31 00:00 -> 04-01 02:00 (26 h, no controller): the weather file crosses the
    month boundary, the price file (stamps with offsets) the DST change at 02:00 CET. The record's
    tariff and outdoor temperature follow the files hour by hour in absolute time."""
    from cosim import world
    from cosim.record import read
    from cosim.scenario import Scenario

    hours = pd.date_range("2024-03-30 22:00", periods=34, freq="h", tz=BERLIN)  # t_out_c = row, stamps with offsets
    write(tmp_path, "w.csv", WEATHER_HEAD + "".join(
        f"{t.isoformat()},{i},{10 * i},{2 * i},{i},{1 + i / 10}\n" for i, t in enumerate(hours)))
    stamps = pd.date_range("2024-03-31 00:00", periods=30, freq="h", tz=BERLIN)  # 29 h of absolute time
    write(tmp_path, "p.csv", "timestamp,buy_per_mwh\n" + "".join(
        f"{t.isoformat()},{100 + i}\n" for i, t in enumerate(stamps)))
    sc = Scenario().updated({"start": "2024-03-31 00:00", "duration_h": 26, "step_s": 900, "control.stages": [],
                             "data.weather": str(tmp_path / "w.csv"), "data.prices": str(tmp_path / "p.csv"),
                             "data.tz": BERLIN, "output": str(tmp_path / "dst.h5")})
    rec = read(world.run(sc))
    buy = rec.series("data/Tariff", "buy_per_mwh").iloc[:, 0].to_numpy()
    np.testing.assert_allclose(buy[::4], 100 + np.arange(26))  # hourly in absolute time, no hour lost
    t_out = rec.series("plant/Building", "t_out_c").iloc[:, 0].to_numpy()
    np.testing.assert_allclose(t_out[::4], 2 + np.arange(26))  # row 2 is 00:00 CET on Mar 31
    assert rec.complete and rec.meta["duration_s"] == 26 * 3600
