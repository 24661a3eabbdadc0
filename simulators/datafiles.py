"""Users' own input data from files, validated when read: weather (EPW, TMY3, CSV), prices,
base-load profiles and EV sessions.

The readers return the file's content in our names and units; :mod:`simulators.data` and
:mod:`simulators.ev` put it on a run's t_s grid. Any defect raises one
:class:`~cosim_base.errors.DataError` naming the file, the column and the first bad row::

    /x/prices.csv: column 'buy_per_mwh', row 3 (line 5): 'n/a' is not a number

``row`` counts data rows from 0 (the first row under the header); ``line`` is the line of the
file (from 1, metadata and header lines included), as an editor shows it.

CSV conventions (every layout below):

- comma separated, one header line; ``#`` lines before it are metadata ``# key: value``
  (``# tz: Europe/Berlin``; the weather layout also reads ``latitude``, ``longitude`` and
  ``altitude_m``);
- time stamps are ISO 8601. With a UTC offset or ``Z`` (``2024-03-31T03:00+02:00``) they are
  absolute; without one they are wall-clock time of the file's ``# tz:`` or, failing that, of the
  ``tz`` the caller states (the scenario's ``data.tz``). Naive stamps through a daylight-saving
  change: the repeated autumn hour is resolved by the order of the rows, a spring wall-clock time
  that does not exist is an error. All stamps of a file are either naive or carry an offset;
- a time series (weather, prices, loads) has unique, ascending stamps at one constant step, and
  no empty or non-numeric value.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cosim_base.errors import DataError

WEATHER_COLUMNS = ("t_out_c", "ghi_w_m2", "dni_w_m2", "dhi_w_m2", "wind_ms")
#: Plausible ranges per column and what a value outside suggests. Temperature: the records are
#: -89 and +57 degC (WMO archive), so > 60 is Kelvin or Fahrenheit; irradiance: >= 0 and at most
#: 1500 W/m2 (the solar constant is 1361 W/m2; a larger value is Wh per longer interval or a
#: missing-value marker such as EPW's 9999); wind: the record 10-min mean is 113 m/s
#: (Barrow Island 1996), hourly means above 75 m/s are km/h or markers (EPW's 999).
WEATHER_RANGES = {"t_out_c": (-90.0, 60.0, "degC; above 60 suggests Kelvin or Fahrenheit"),
                  "ghi_w_m2": (0.0, 1500.0, "W/m2, irradiance is >= 0 and below 1500"),
                  "dni_w_m2": (0.0, 1500.0, "W/m2, irradiance is >= 0 and below 1500"),
                  "dhi_w_m2": (0.0, 1500.0, "W/m2, irradiance is >= 0 and below 1500"),
                  "wind_ms": (0.0, 75.0, "m/s, >= 0; above 75 suggests km/h or a missing-value marker")}
#: Prices per MWh, beyond the harmonised limits of the European day-ahead coupling (SDAC:
#: -500 and +4000 EUR/MWh since 2023) with a wide margin: values outside are another unit
#: (per kWh x 1e6, or cents) or markers.
PRICE_RANGE = (-1000.0, 10000.0, "per MWh; outside -1000..10000 suggests another unit")
#: Base loads: p.u. of the unit's p_peak_kw (at most 10) or kW per unit (at most 100 MW).
LOAD_RANGES = {"pu": (0.0, 10.0, "p.u., >= 0; above 10 suggests kW (data.load_unit = 'kw')"),
               "kw": (0.0, 1e5, "kW, >= 0; above 1e5 suggests W")}
#: Energy of one charging session, kWh: above 200 (more than the largest car batteries) is Wh.
SESSION_KWH_RANGE = (0.0, 200.0, "kWh, >= 0; above 200 suggests Wh")
#: Public session data (ACN-Data, Lee et al. 2019, "ACN-Data: analysis and applications of an
#: open EV charging dataset", e-Energy '19) named in our columns.
SESSION_ALIASES = {"connectionTime": "arrival", "disconnectTime": "departure",
                   "kWhDelivered": "energy_kwh", "stationID": "ev"}
_OFFSET = re.compile(r"(?:Z|GMT|UTC|[+-]\d\d:?\d\d)$")


def _fail(path, column, row, line, msg) -> DataError:
    where = "header" if row is None else f"row {row}"
    return DataError(f"{path}: column {column!r}, {where} (line {line}): {msg}")


@dataclass(frozen=True)
class CsvFile:
    """A CSV of our conventions: ``frame`` (strings, as in the file), metadata and the line of
    its header (data row i is line header_line + 1 + i)."""

    path: str
    frame: pd.DataFrame
    meta: dict
    header_line: int

    def line(self, row: int) -> int:
        return self.header_line + 1 + row

    def fail(self, column, row, msg) -> DataError:
        return _fail(self.path, column, row, self.header_line if row is None else self.line(row), msg)

    def columns(self, required, optional=(), aliases=None) -> pd.DataFrame:
        """The frame with ``aliases`` renamed; every required column present, none unknown."""
        df = self.frame.rename(columns=aliases or {})
        allowed = (*required, *optional)
        for c in df.columns:
            if c not in allowed:
                raise self.fail(c, None, f"unknown column; allowed: {', '.join(allowed)}")
        for c in required:
            if c not in df.columns:
                raise self.fail(c, None, f"missing column; the header is {', '.join(self.frame.columns)}")
        if df.empty:
            raise self.fail(required[0], None, "no data rows")
        return df

    def numbers(self, df, column, lo, hi, hint) -> np.ndarray:
        """Column as floats in [lo, hi]; the first empty, non-numeric or out-of-range value fails."""
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(values) | (values < lo) | (values > hi))
        if bad.size:
            i = bad[0]
            raw = df[column].iloc[i]
            msg = (f"{raw!r} is not a number" if not np.isfinite(values[i])
                   else f"{values[i]:g} is outside [{lo:g}, {hi:g}] ({hint})")
            raise self.fail(column, int(i), msg)
        return values

    def times(self, df, column, tz: str = "", *, series: bool = True) -> pd.DatetimeIndex:
        """Column as UTC stamps (module docstring); a series' stamps also unique, ascending and
        at one constant step."""
        raw = df[column].astype(str).str.strip()
        aware = raw.str.contains(_OFFSET)
        if aware.any() and not aware.all():
            i = int(np.flatnonzero(aware != aware.iloc[0])[0])
            raise self.fail(column, i, f"{raw.iloc[i]!r}: stamps mix UTC offsets and naive times")
        fmt = "ISO8601" if series else "mixed"
        parsed = pd.to_datetime(raw, format=fmt, errors="coerce", utc=bool(aware.all()))
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            raise self.fail(column, int(bad[0]), f"{raw.iloc[bad[0]]!r} is not an ISO 8601 time")
        times = pd.DatetimeIndex(parsed)
        if not aware.all():
            tz = self.meta.get("tz") or tz
            if not tz:
                raise self.fail(column, 0, "naive time stamps: give the file a '# tz: <IANA name>' "
                                           "line or set data.tz")
            try:
                times = times.tz_localize(tz, ambiguous="infer" if series else "raise",
                                          nonexistent="raise")
            except Exception as exc:  # pytz/zoneinfo errors: unknown zone, DST gap or ambiguity
                wall = re.search(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?", str(exc))
                rows = np.flatnonzero(times == pd.Timestamp(wall.group())) if wall else []
                i = int(rows[0]) if len(rows) else 0
                raise self.fail(column, i, f"{raw.iloc[i]!r} cannot be read as wall-clock time in "
                                           f"{tz!r} ({type(exc).__name__}: {exc})") from None
            times = times.tz_convert("UTC")
        if series:
            _check_steps(self, column, times)
        return times


def _check_steps(f: CsvFile, column: str, times: pd.DatetimeIndex) -> None:
    if len(times) < 2:
        raise f.fail(column, None, "a time series needs at least 2 rows")
    d = np.diff(times.asi8) // 10**9
    step = d[0]
    bad = np.flatnonzero(d != step) if step > 0 else np.array([0])
    if bad.size:
        i = int(bad[0])
        what = ("duplicates the stamp before it" if d[i] == 0 else "is before the stamp before it"
                if d[i] < 0 else f"is {d[i]} s after the row before it, the file's step is {step} s (a gap)"
                if d[i] > step else f"breaks the file's step of {step} s")
        raise f.fail(column, i + 1, f"{times[i + 1]} (UTC) {what}")


def _file_key(path) -> tuple:
    path = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    return path, st.st_mtime_ns, st.st_size


def read_csv(path) -> CsvFile:
    """A CSV of our conventions (module docstring), every value as a string."""
    return _read_csv(*_file_key(path))


@functools.lru_cache(maxsize=32)
def _read_csv(path, _mtime, _size) -> CsvFile:
    meta, n_meta = {}, 0
    with open(path, encoding="utf-8-sig") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            n_meta += 1
            key, sep, value = line[1:].partition(":")
            if sep:
                meta[key.strip()] = value.strip()
    try:
        frame = pd.read_csv(path, skiprows=n_meta, dtype=str, keep_default_na=False,
                            skipinitialspace=True, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a CSV file of the documented layout ({exc})") from None
    return CsvFile(path, frame, meta, n_meta + 1)


# ---------------------------------------------------------------------------------------------
# Weather
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WeatherFile:
    """Weather read from a file: ``frame`` (WEATHER_COLUMNS) and the site.

    ``typical``: a typical year (TMY3, EPW): 8760 hourly rows, row i the hour ending at (i + 1):00
    local standard time, and ``tz`` a fixed UTC offset. Otherwise calendar-stamped (CSV): ``frame``
    indexed by UTC stamps, values belonging to their stamp.
    """

    path: str
    frame: pd.DataFrame
    latitude: float
    longitude: float
    tz: str
    altitude_m: float
    typical: bool
    header_line: int

    def fail(self, column, row, msg) -> DataError:
        return _fail(self.path, column, row, self.header_line + 1 + row, msg)


def fixed_tz(utc_offset_h: float) -> str:
    """IANA name of a fixed offset without daylight saving (note the inverted Etc/GMT sign)."""
    return f"Etc/GMT{-int(utc_offset_h):+d}"


_TYPICAL_VARS = {"t_out_c": "temp_air", "ghi_w_m2": "ghi", "dni_w_m2": "dni", "dhi_w_m2": "dhi",
                 "wind_ms": "wind_speed"}


def _is_tmy3(path: str) -> bool:
    with open(path, encoding="utf-8", errors="replace") as fh:
        fh.readline()
        return fh.readline().startswith("Date (MM/DD/YYYY)")


def read_weather(path, tz: str = "") -> WeatherFile:
    """Weather from an EPW file (``.epw``, EnergyPlus weather, read by pvlib.iotools.read_epw), a
    TMY3 file (Wilcox & Marion 2008, NREL/TP-581-43156, pvlib.iotools.read_tmy3) or a CSV.

    EPW and TMY3 are typical years in local standard time (their header's UTC offset); their
    irradiance is the total over the hour ending at the stamp, temperature and wind the reading at
    it (EnergyPlus Auxiliary Programs, "Weather converter", and Wilcox & Marion section 3).
    The CSV layout: ``time``, ``t_out_c`` (degC), ``ghi_w_m2``, ``dni_w_m2``, ``dhi_w_m2`` (W/m2)
    and ``wind_ms`` (m/s), each value belonging to its stamp (a reading, or the mean of an
    interval centred on it), and ``# latitude:``, ``# longitude:`` (degrees, east positive),
    optionally ``# altitude_m:`` (0) and ``# tz:`` (the site's zone, else ``tz``) lines. Values
    outside :data:`WEATHER_RANGES` fail (e.g. EPW's 9999 missing-value marker).
    """
    return _read_weather(*_file_key(path), tz)


@functools.lru_cache(maxsize=8)
def _read_weather(path, _mtime, _size, tz) -> WeatherFile:
    import pvlib

    if path.lower().endswith(".epw") or _is_tmy3(path):
        epw = path.lower().endswith(".epw")
        try:
            raw, meta = (pvlib.iotools.read_epw(path) if epw
                         else pvlib.iotools.read_tmy3(path, map_variables=True))
        except Exception as exc:  # pvlib's parsers raise anything from ValueError to IndexError
            raise DataError(f"{path}: not a readable {'EPW' if epw else 'TMY3'} file ({exc})") from None
        f = CsvFile(path, pd.DataFrame({ours: raw[theirs].to_numpy(float) for ours, theirs
                                        in _TYPICAL_VARS.items()}), {}, 8 if epw else 2)
        if len(f.frame) != 8760:
            raise f.fail("t_out_c", None, f"{len(f.frame)} rows; a typical year has 8760 hourly rows")
        frame = pd.DataFrame({c: f.numbers(f.frame, c, *WEATHER_RANGES[c]) for c in WEATHER_COLUMNS})
        return WeatherFile(path, frame, float(meta["latitude"]), float(meta["longitude"]),
                           fixed_tz(meta["TZ"]), float(meta["altitude"]), True, f.header_line)
    f = read_csv(path)
    site = {}
    for key, lo, hi in (("latitude", -90, 90), ("longitude", -180, 180), ("altitude_m", -500, 9000)):
        if key not in f.meta and key != "altitude_m":
            raise DataError(f"{path}: metadata line '# {key}: <degrees>' missing before the header")
        try:
            site[key] = float(f.meta.get(key, 0.0))
        except ValueError:
            site[key] = np.nan
        if not lo <= site[key] <= hi:
            raise DataError(f"{path}: metadata {key} = {f.meta[key]!r} must be a number in [{lo}, {hi}]")
    site_tz = f.meta.get("tz") or tz
    if not site_tz:
        raise DataError(f"{path}: the site's time zone is missing: add a '# tz: <IANA name>' line "
                        "or set data.tz")
    df = f.columns(("time", *WEATHER_COLUMNS))
    times = f.times(df, "time", tz)
    frame = pd.DataFrame({c: f.numbers(df, c, *WEATHER_RANGES[c]) for c in WEATHER_COLUMNS}, index=times)
    return WeatherFile(path, frame, site["latitude"], site["longitude"], site_tz, site["altitude_m"], False,
                       f.header_line)


# ---------------------------------------------------------------------------------------------
# Prices and load profiles: piecewise-constant series
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    """A piecewise-constant series from a CSV: row i holds on ``[times[i], times[i] + step_s)``
    (a market's delivery period, a meter's interval); ``frame`` indexed by UTC stamps."""

    path: str
    frame: pd.DataFrame
    step_s: int
    time_column: str
    header_line: int


def read_prices(path, tz: str = "") -> Series:
    """Grid prices per MWh: columns ``timestamp``, ``buy_per_mwh`` and optionally
    ``sell_per_mwh`` (export), each row the price of the interval starting at its stamp (e.g. a
    day-ahead market export, hourly or 15-min). Values outside :data:`PRICE_RANGE` fail."""
    f = read_csv(path)
    df = f.columns(("timestamp", "buy_per_mwh"), ("sell_per_mwh",))
    times = f.times(df, "timestamp", tz)
    cols = [c for c in ("buy_per_mwh", "sell_per_mwh") if c in df]
    frame = pd.DataFrame({c: f.numbers(df, c, *PRICE_RANGE) for c in cols}, index=times)
    return Series(f.path, frame, int((times[1] - times[0]).total_seconds()), "timestamp", f.header_line)


def read_loads(path, unit: str, tz: str = "") -> Series:
    """Base-load profiles: a ``time`` column and one column per profile (any names), each row the
    mean over the interval starting at its stamp, in ``unit`` ``"pu"`` (of the unit's
    p_peak_kw) or ``"kw"`` (kW per unit); ranges :data:`LOAD_RANGES`."""
    if unit not in LOAD_RANGES:
        raise DataError(f"{path}: unit = {unit!r} must be one of {', '.join(LOAD_RANGES)}")
    f = read_csv(path)
    names = [c for c in f.frame.columns if c != "time"]
    df = f.columns(("time", *names))
    if not names:
        raise f.fail("time", None, "no profile column besides 'time'")
    times = f.times(df, "time", tz)
    frame = pd.DataFrame({c: f.numbers(df, c, *LOAD_RANGES[unit]) for c in names}, index=times)
    return Series(f.path, frame, int((times[1] - times[0]).total_seconds()), "time", f.header_line)


def series_interval_mean(s: Series, start: pd.Timestamp, t_s: np.ndarray, step_s: int) -> pd.DataFrame:
    """Mean of every column over ``[start + t, start + t + step_s)`` for each ``t`` of ``t_s``;
    the run (to its last interval's end) must lie inside the file's coverage ``[first stamp,
    last stamp + step)``, else a DataError names the file, the time column and the row."""
    first, res = s.frame.index[0], s.step_s
    x0 = (start - first).total_seconds() + t_s
    end = len(s.frame) * res
    if x0[0] < 0 or x0[-1] + step_s > end:
        row = 0 if x0[0] < 0 else len(s.frame) - 1
        raise _fail(s.path, s.time_column, row, s.header_line + 1 + row,
                    f"the file covers {first} to {first + pd.Timedelta(seconds=end)} (UTC), the run "
                    f"needs {start + pd.Timedelta(seconds=x0[0] - (start - first).total_seconds())} "
                    f"to {start + pd.Timedelta(seconds=float(t_s[-1] + step_s))}")
    values = s.frame.to_numpy(float)
    cum = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0) * res])

    def integral(x):
        k = np.minimum((x // res).astype(np.int64), len(values) - 1)
        return cum[k] + (x - k * res)[:, None] * values[k]

    means = (integral(x0 + step_s) - integral(x0)) / step_s
    return pd.DataFrame(means, index=pd.Index(t_s, name="t_s"), columns=s.frame.columns)


# ---------------------------------------------------------------------------------------------
# EV sessions
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sessions:
    """Sessions read from ``file``: ``frame`` with columns arrival, departure (UTC), energy_kwh,
    ev (text, None without the column) and row (the file's row), in the file's order."""

    file: CsvFile
    frame: pd.DataFrame


def read_sessions(path, tz: str = "") -> Sessions:
    """Charging sessions: columns ``arrival``, ``departure`` (time stamps), ``energy_kwh`` (energy
    charged in the session) and optionally ``ev`` (the unit or station id, any text); ACN-Data's
    names (:data:`SESSION_ALIASES`) are accepted. Rows in any order."""
    f = read_csv(path)
    df = f.columns(("arrival", "departure", "energy_kwh"), ("ev",), SESSION_ALIASES)
    arr = f.times(df, "arrival", tz, series=False)
    dep = f.times(df, "departure", tz, series=False)
    bad = np.flatnonzero(dep <= arr)
    if bad.size:
        i = int(bad[0])
        raise f.fail("departure", i, f"{dep[i]} is not after arrival {arr[i]} (UTC)")
    frame = pd.DataFrame({"arrival": arr, "departure": dep,
                          "energy_kwh": f.numbers(df, "energy_kwh", *SESSION_KWH_RANGE),
                          "ev": df["ev"].str.strip().to_numpy() if "ev" in df else None,
                          "row": np.arange(len(df))})
    return Sessions(f, frame)
