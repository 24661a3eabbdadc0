"""Offline input data for the plant models: weather, household load profiles, time-of-use price.

Every series is indexed by integer seconds since the scenario start (``t_s``) on the grid
``0, step_s, 2 step_s, ...`` up to the first point at or after ``duration_s``. A scenario start
timestamp maps ``t_s`` to calendar time; each source's year is treated as periodic and the run is
mapped onto it once, from the start date, and then continues in one piece (no jumps inside a run).

Sources (all shipped with installed packages, nothing is downloaded), or the user's files
(:mod:`simulators.datafiles`: weather, prices, load profiles; calendar-stamped files must cover
the run, they do not wrap):

- Weather: TMY3 files in ``pvlib/data`` (Wilcox & Marion 2008, "Users manual for TMY3 data sets",
  NREL/TP-581-43156), read with :func:`pvlib.iotools.read_tmy3`. A typical meteorological year
  stitches months of *different* real years, so month boundaries can jump.
- Loads: SimBench 2016 15-min profiles (Meinecke et al. 2020, "SimBench - a benchmark dataset of
  electric power systems", Energies 13(12) 3290), ``LoadProfile.csv`` of the package's complete
  data set, scenario 0. Each column is already in p.u. of its own annual peak (max = 1).
- Price: time-of-use tariff. Seed 001 (Energy Eng. 2026, 123(3), Table 1) gives the TOU periods
  only in a table absent from our text copy, so the hours are physics.md section 8's example and
  the values are assumed (see :data:`TOU_PER_MWH`).
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError, DataError, check
from simulators import datafiles
from simulators.datafiles import WEATHER_COLUMNS

DAY_S = 86400
HOUR_S = 3600


def time_grid(duration_s, step_s) -> np.ndarray:
    """Integer seconds ``0, step_s, ...`` up to the first point at or after ``duration_s``."""
    check("duration_s", duration_s, 0)
    check("step_s", step_s, 0, lo_open=True)
    if int(step_s) != step_s:
        raise ConfigError(f"step_s = {step_s!r} must be a whole number of seconds")
    n_steps = int(np.ceil(duration_s / step_s))
    return np.arange(n_steps + 1, dtype=np.int64) * int(step_s)


def _check_duration(duration_s, limit_s: float, what: str) -> None:
    if duration_s > limit_s:
        raise DataError(f"duration_s = {duration_s} exceeds the {limit_s / DAY_S:g} days of {what}")


def _periodic_interval_mean(values: np.ndarray, res_s: int, x0_s: np.ndarray,
                            step_s: int) -> np.ndarray:
    """Mean over ``[x0, x0 + step_s)`` of periodic piecewise-constant data, for every ``x0_s``.

    ``values`` (K,) are constant on ``[k res_s, (k+1) res_s)`` and repeat with period
    ``K res_s``. Exact for any step (difference of the integral, which is piecewise linear).
    """
    k_len = len(values)
    period = k_len * res_s
    cum = np.concatenate([[0.0], np.cumsum(values) * res_s])  # integral up to k res_s

    def integral(x):
        laps, r = np.divmod(x, period)
        k = np.minimum((r // res_s).astype(np.int64), k_len - 1)
        return laps * cum[-1] + cum[k] + (r - k * res_s) * values[k]

    return (integral(x0_s + step_s) - integral(x0_s)) / step_s


# ---------------------------------------------------------------------------------------------
# Weather
# ---------------------------------------------------------------------------------------------

TMY3_FILES = {"tmy3-greensboro": "723170TYA.CSV", "tmy3-sand-point": "703165TY.csv"}
# TMY3 and EPW irradiance is the total over the hour ending at the stamp -> placed mid-hour;
# temperature and wind are readings at the stamp (Wilcox & Marion 2008, section 3; EPW likewise).
_TMY3_PHASE_S = {"t_out_c": HOUR_S, "ghi_w_m2": HOUR_S / 2, "dni_w_m2": HOUR_S / 2,
                 "dhi_w_m2": HOUR_S / 2, "wind_ms": HOUR_S}


@dataclass(frozen=True)
class Weather:
    """Weather of one run: ``frame`` (t_s x WEATHER_COLUMNS, point values at t_s) and the site.

    ``start`` is tz-aware in the site's time zone ``tz``; ``times`` gives the calendar time of
    every row, used for the solar position.
    """
    frame: pd.DataFrame
    start: pd.Timestamp
    latitude: float
    longitude: float
    tz: str
    altitude_m: float
    source: str
    step_s: int

    @property
    def times(self) -> pd.DatetimeIndex:
        return self.start + pd.to_timedelta(self.frame.index, unit="s")


def _local_start(start, tz: str) -> pd.Timestamp:
    """``start`` in ``tz``; a naive timestamp is read as local (standard) time there."""
    start = pd.Timestamp(start)
    return start.tz_localize(tz) if start.tzinfo is None else start.tz_convert(tz)


def _seconds_into_typical_year(start: pd.Timestamp) -> float:
    """Seconds from Jan 1 00:00 of a 365-day year to ``start``'s month/day/time (Feb 29 -> 28)."""
    doy = start.dayofyear - (1 if start.is_leap_year and start.dayofyear > 59 else 0)
    return (doy - 1) * DAY_S + start.hour * HOUR_S + start.minute * 60 + start.second


def weather_source(source: str = "tmy3-greensboro", tz: str = "") -> datafiles.WeatherFile:
    """The weather file of ``source``: a key of :data:`TMY3_FILES` (pvlib's TMY3 files) or the
    path of a file (datafiles.read_weather: EPW, TMY3 or CSV; ``tz`` for a CSV's naive stamps)."""
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"source = {source!r} is not one of {sorted(TMY3_FILES)}, a path or a DataFrame")
    if source in TMY3_FILES:
        import pvlib

        source = os.path.join(os.path.dirname(pvlib.__file__), "data", TMY3_FILES[source])
    elif not os.path.isfile(source):
        raise ConfigError(f"source = {source!r} is not one of {sorted(TMY3_FILES)} nor a readable file")
    return datafiles.read_weather(source, tz)


def run_start(start, weather: str = "tmy3-greensboro", tz: str = "") -> pd.Timestamp:
    """The run's start as an absolute time: a naive ``start`` is wall-clock time in ``tz`` if
    given, else in the weather site's zone (local standard time for TMY3 and EPW files)."""
    return _local_start(start, tz or weather_source(weather, tz).tz)


def weather_window(start, duration_s, source="tmy3-greensboro", tz: str = "") -> datafiles.WeatherFile:
    """The weather file of ``source`` (:func:`weather_source`) after checking it can serve
    ``[start, start + duration_s]``: a typical year at most 365 days, a calendar-stamped file
    (CSV) must cover the window (no wrapping), else a DataError names the file, column and row."""
    wf = weather_source(source, tz)
    if wf.typical:
        _check_duration(duration_s, 365 * DAY_S, f"the typical year of {source}")
        return wf
    start = _local_start(start, wf.tz)
    times = wf.frame.index
    if times[0] > start or times[-1] < start + pd.Timedelta(seconds=duration_s):
        row = 0 if times[0] > start else len(times) - 1
        raise wf.fail("time", row, f"the file covers {times[0]} to {times[-1]} (UTC), the run needs "
                                   f"{start.tz_convert('UTC')} to "
                                   f"{(start + pd.Timedelta(seconds=duration_s)).tz_convert('UTC')}")
    return wf


def weather(start, duration_s, step_s, source="tmy3-greensboro", *, latitude=None,
            longitude=None, tz=None, altitude_m=0.0) -> Weather:
    """Weather for ``[0, duration_s]`` at ``step_s``, linearly interpolated.

    ``source`` is a key of :data:`TMY3_FILES`, the path of a weather file
    (:func:`simulators.datafiles.read_weather`: EPW, TMY3 or the CSV layout; ``tz`` is then the
    zone of a CSV's naive stamps and of its site when the file has no ``# tz:`` line) or a user
    DataFrame indexed by t_s (ascending seconds since ``start``) with the columns
    :data:`WEATHER_COLUMNS`; a DataFrame also needs ``latitude``, ``longitude`` (degrees, east
    positive) and ``tz`` (the site's zone). Units: degC, W/m2, m/s. A naive ``start`` is local
    time of the site. For a typical year (TMY3, EPW) the start's month, day and time of day (local
    standard time) are located in the year, and the run continues from there, wrapping from
    Dec 31 to Jan 1 (at most 365 days); irradiance is zero while the sun is below the horizon.
    A calendar-stamped CSV must cover the run (:func:`weather_window`); its values are
    interpolated as given.
    """
    t_s = time_grid(duration_s, step_s)
    if isinstance(source, pd.DataFrame):
        return _user_weather(start, t_s, int(step_s), source, latitude, longitude, tz, altitude_m)
    wf = weather_window(start, duration_s, source, tz or "")
    start = _local_start(start, wf.tz)
    if not wf.typical:
        x_s = (wf.frame.index - start).total_seconds()
        return _user_weather(start, t_s, int(step_s), wf.frame.set_axis(x_s), wf.latitude,
                             wf.longitude, wf.tz, wf.altitude_m, str(source))
    hourly = wf.frame
    x_s = _seconds_into_typical_year(start) + t_s
    period = len(hourly) * HOUR_S
    xp = np.arange(len(hourly)) * HOUR_S
    frame = pd.DataFrame({c: np.interp(x_s, xp + _TMY3_PHASE_S[c], hourly[c], period=period)
                          for c in WEATHER_COLUMNS}, index=pd.Index(t_s, name="t_s"))
    w = Weather(frame, start, wf.latitude, wf.longitude, wf.tz, wf.altitude_m, str(source), int(step_s))
    # Interpolating hour means would spill light before sunrise and after sunset.
    frame.loc[sun_elevation_deg(w) <= 0, ["ghi_w_m2", "dni_w_m2", "dhi_w_m2"]] = 0.0
    return w


def sun_elevation_deg(w: Weather) -> np.ndarray:
    """Apparent solar elevation at every row (pvlib.solarposition, NREL SPA, Reda & Andreas 2004)."""
    import pvlib

    sun = pvlib.solarposition.get_solarposition(w.times, w.latitude, w.longitude,
                                                altitude=w.altitude_m)
    return sun["apparent_elevation"].to_numpy()


def _user_weather(start, t_s, step_s, df, latitude, longitude, tz, altitude_m, source="user") -> Weather:
    for field, value in (("latitude", latitude), ("longitude", longitude), ("tz", tz)):
        if value is None:
            raise ConfigError(f"{field} is required when the weather source is a DataFrame")
    check("latitude", latitude, -90, 90)
    check("longitude", longitude, -180, 180)
    missing = [c for c in WEATHER_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"weather source DataFrame lacks columns {missing}")
    x = np.asarray(df.index, dtype=float)
    if len(x) < 2 or np.any(np.diff(x) <= 0):
        raise DataError("weather source DataFrame index must be ascending t_s with >= 2 rows")
    if x[0] > 0 or x[-1] < t_s[-1]:
        raise DataError(f"weather source DataFrame covers t_s [{x[0]:g}, {x[-1]:g}], "
                        f"the run needs [0, {t_s[-1]}]")
    frame = pd.DataFrame({c: np.interp(t_s, x, df[c].to_numpy(float)) for c in WEATHER_COLUMNS},
                         index=pd.Index(t_s, name="t_s"))
    return Weather(frame, _local_start(start, tz), float(latitude), float(longitude), tz,
                   float(altitude_m), source, step_s)


# ---------------------------------------------------------------------------------------------
# Load profiles
# ---------------------------------------------------------------------------------------------

SIMBENCH_CODE = "1-complete_data-mixed-all-0-sw"
SIMBENCH_TZ = "Europe/Berlin"
SIMBENCH_YEAR_START = pd.Timestamp("2016-01-01", tz=SIMBENCH_TZ)
SIMBENCH_RES_S = 900
# The five measured household profiles SimBench assigns to LV household loads (Load.csv).
HOUSEHOLD_KINDS = ("H0-A", "H0-B", "H0-C", "H0-G", "H0-L")
_PROFILE_CACHE: dict[str, np.ndarray] = {}


def _load_profile_path() -> str:
    # Located without importing simbench, which would import pandapower (about 2 s).
    root = os.path.dirname(importlib.util.find_spec("simbench").origin)
    return os.path.join(root, "networks", SIMBENCH_CODE, "LoadProfile.csv")


def available_load_kinds() -> list[str]:
    """Names of all SimBench active-power load profiles (``<kind>_pload`` columns)."""
    header = pd.read_csv(_load_profile_path(), sep=";", nrows=0).columns
    return [c[: -len("_pload")] for c in header if c.endswith("_pload")]


def simbench_year(kinds: Sequence[str]) -> dict[str, np.ndarray]:
    """The 2016 year (35136 x 15 min, p.u. of annual peak) of each distinct kind.

    Parsed columns are cached in memory; a read for missing columns costs about 0.3 s.
    """
    missing = sorted(set(kinds) - set(_PROFILE_CACHE))
    if missing:
        known = set(available_load_kinds())
        unknown = [k for k in missing if k not in known]
        if unknown:
            raise ConfigError(f"kinds has unknown SimBench load profile(s) {unknown}")
        cols = [f"{k}_pload" for k in missing]
        df = pd.read_csv(_load_profile_path(), sep=";", usecols=cols, dtype=float)
        for k, c in zip(missing, cols):
            _PROFILE_CACHE[k] = df[c].to_numpy()
    return {k: _PROFILE_CACHE[k] for k in kinds}


def household_mix(n: int) -> list[str]:
    """Profile kind per unit, cycling through :data:`HOUSEHOLD_KINDS`."""
    return [HOUSEHOLD_KINDS[i % len(HOUSEHOLD_KINDS)] for i in range(n)]


def default_week_shifts(kinds: Sequence[str]) -> np.ndarray:
    """0, +1, -1, +2, -2, ... weeks for the 1st, 2nd, 3rd, ... unit of the same kind."""
    seen: dict[str, int] = {}
    shifts = []
    for k in kinds:
        j = seen.get(k, 0)
        seen[k] = j + 1
        shifts.append((j + 1) // 2 * (1 if j % 2 else -1))
    return np.array(shifts, dtype=np.int64)


def _profile_year_offset_s(start: pd.Timestamp) -> int:
    """Row time (s since 2016-01-01 00:00 CET) of the start's wall-clock month/day/time in 2016,
    moved by up to 3 days to the same weekday.

    SimBench labels its rows in German wall-clock time (03:00 follows 01:45 on 27.03.2016), so
    consecutive rows are 15 min of CET; a summer (CEST) wall-clock time is found 1 h earlier.
    """
    wall = start.tz_localize(None) if start.tzinfo is not None else start
    day = pd.Timestamp(2016, wall.month, wall.day)
    shift = (wall.weekday() - day.weekday()) % 7
    shift = shift - 7 if shift > 3 else shift
    ref = day + pd.Timedelta(days=shift) + (wall - wall.normalize())
    ref = ref.tz_localize(SIMBENCH_TZ, ambiguous=True, nonexistent="shift_forward")
    return int((ref - SIMBENCH_YEAR_START).total_seconds())


def load_profiles(start, duration_s, step_s, kinds: Sequence[str],
                  week_shifts: Sequence[int] | None = None) -> pd.DataFrame:
    """Per-unit load profiles in p.u. of the profile's annual peak, one column per unit.

    Unit i follows SimBench profile ``kinds[i]`` from the start's month, day and wall-clock time
    in 2016 (German wall clock, DST included), moved by at most 3 days so that weekdays match
    (holidays are not aligned), plus ``week_shifts[i]`` weeks. By default repeated kinds get
    0, +1, -1, +2, ... weeks, so units of one kind follow real, distinct days of the same weekday
    and season. From there rows advance in real time: a run crossing a DST change of 2016 sees
    the profile's clock move by that hour. The year wraps from Dec 31 to Jan 1 2016 (at most
    366 days). The value at t_s is the mean over ``[t_s, t_s + step_s)`` of the 15-min data,
    so daily energy is preserved at any step.
    Columns are named ``"<kind><shift>w"``, e.g. ``"H0-A+0w"``. Any SimBench load kind works
    (:func:`available_load_kinds`), e.g. heat pumps ``"Air_Parallel_1"``, commerce ``"G0-A"``,
    agriculture ``"L0-A"``; all are p.u. of their annual peak.
    """
    t_s = time_grid(duration_s, step_s)
    _check_duration(duration_s, 366 * DAY_S, "the SimBench 2016 profiles")
    kinds = list(kinds)
    shifts = default_week_shifts(kinds) if week_shifts is None else np.asarray(week_shifts)
    if shifts.shape != (len(kinds),):
        raise ConfigError(f"week_shifts has shape {shifts.shape}, expected ({len(kinds)},)")
    years = simbench_year(kinds)
    x0 = _profile_year_offset_s(pd.Timestamp(start)) + shifts * 7 * DAY_S + t_s[:, None]
    values = np.empty(x0.shape)
    for kind, year in years.items():
        cols = [i for i, k in enumerate(kinds) if k == kind]
        values[:, cols] = _periodic_interval_mean(year, SIMBENCH_RES_S, x0[:, cols], int(step_s))
    cols = [f"{k}{int(s):+d}w" for k, s in zip(kinds, shifts)]
    return pd.DataFrame(values, index=pd.Index(t_s, name="t_s"), columns=cols)


def peak_kw_from_annual_energy(e_year_kwh, kind: str) -> np.ndarray:
    """Annual peak (kW) of a ``kind`` load consuming ``e_year_kwh`` in a 365-day year."""
    e = check("e_year_kwh", e_year_kwh, 0)
    return e / (simbench_year([kind])[kind].mean() * 8760.0)


# ---------------------------------------------------------------------------------------------
# Time-of-use price
# ---------------------------------------------------------------------------------------------

# Hour-of-day periods of physics.md section 8's example: valley 23-07 h, peak 10-15 and 18-21 h.
TOU_HOURS = np.array(["valley"] * 7 + ["flat"] * 3 + ["peak"] * 5 + ["flat"] * 3 + ["peak"] * 3
                     + ["flat"] * 2 + ["valley"])
# Assumed values (currency per MWh, read as CNY): 0.3 / 0.6 / 1.0 per kWh, peak/valley 3.3:1.
TOU_PER_MWH = {"valley": 300.0, "flat": 600.0, "peak": 1000.0}


def tou_price(start, duration_s, step_s, prices_per_mwh: dict | None = None,
              export_per_mwh=None) -> pd.DataFrame:
    """Grid price per MWh: columns ``buy_per_mwh`` and ``sell_per_mwh``, indexed by t_s.

    Periods by the start's wall-clock hour (:data:`TOU_HOURS`), values :data:`TOU_PER_MWH`
    unless ``prices_per_mwh`` gives them. ``sell_per_mwh`` (export) equals the buy price, as in
    seed 001's cost c_g,t P_g,t with signed P_g,t, unless ``export_per_mwh`` sets a constant.
    The value at t_s is the mean over ``[t_s, t_s + step_s)``.
    """
    t_s = time_grid(duration_s, step_s)
    prices = dict(TOU_PER_MWH if prices_per_mwh is None else prices_per_mwh)
    if set(prices) != set(TOU_PER_MWH):
        raise ConfigError(f"prices_per_mwh keys {sorted(prices)} must be {sorted(TOU_PER_MWH)}")
    for name, value in prices.items():
        check(f"prices_per_mwh[{name!r}]", value)
    hourly = np.array([prices[p] for p in TOU_HOURS])
    wall = pd.Timestamp(start)
    x0 = (wall - wall.normalize()).total_seconds() + t_s
    buy = _periodic_interval_mean(hourly, HOUR_S, x0, int(step_s))
    sell = buy.copy() if export_per_mwh is None else np.full(len(t_s), float(
        check("export_per_mwh", export_per_mwh)))
    return pd.DataFrame({"buy_per_mwh": buy, "sell_per_mwh": sell},
                        index=pd.Index(t_s, name="t_s"))


def file_price(start, duration_s, step_s, path, tz: str = "") -> pd.DataFrame:
    """Grid price per MWh from a price file (datafiles.read_prices): ``buy_per_mwh`` and, if the
    file has it, ``sell_per_mwh``, indexed by t_s. ``start`` is tz-aware (:func:`run_start`);
    ``tz`` is the zone of the file's naive stamps. The value at t_s is the mean over
    ``[t_s, t_s + step_s)``, the file's rows holding over their own interval; stamps are absolute,
    so a run across a daylight-saving change sees every hour once."""
    return datafiles.series_interval_mean(datafiles.read_prices(path, tz), _aware(start),
                                          time_grid(duration_s, step_s), int(step_s))


def file_profiles(start, duration_s, step_s, path, n: int, unit: str = "pu",
                  tz: str = "") -> pd.DataFrame:
    """Base-load profiles of ``n`` units from a load file (datafiles.read_loads): unit j takes
    the file's profile column j mod k (one column per unit, or k < n columns in turn), values in
    ``unit`` ("pu" of the unit's p_peak_kw, or "kw"), each the mean over ``[t_s, t_s + step_s)``.
    ``start`` is tz-aware (:func:`run_start`). Columns are named after the file's."""
    means = datafiles.series_interval_mean(datafiles.read_loads(path, unit, tz), _aware(start),
                                           time_grid(duration_s, step_s), int(step_s))
    return means.iloc[:, np.arange(int(check("n", n, 1))) % means.shape[1]]


def _aware(start) -> pd.Timestamp:
    start = pd.Timestamp(start)
    if start.tzinfo is None:
        raise ConfigError(f"start = {start} must be tz-aware for calendar-stamped files "
                          "(simulators.data.run_start)")
    return start
