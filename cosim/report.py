"""Report of a run from its HDF5 record: the KPI table (CSV, JSON, terminal) and plots; comparisons.

:func:`write_report` writes into one directory (file -> key of the returned dict)::

    kpi.csv, kpi.json   kpi_csv, kpi_json   the KPIs of cosim.kpi.compute (JSON: NaN as null)
    voltage.png         voltage             bus voltage heat map (time x bus) and per-bus envelope
                                            against the scenario's band (control.v_min_pu/v_max_pu)
    trafo.png           trafo               transformer loading, hot-spot and aging KPIs
    exchange.png        exchange            grid exchange with the buy/sell price
    indoor.png          indoor              indoor temperatures over the buildings vs the comfort band
    ev_soc.png          ev_soc              EV state of charge over the fleet and the share plugged in
    plans.png           plans               each stage's planned grid exchange vs the realized one

A plot whose data the record lacks (a run without a controller has no plans, a network without
EVs no SOC) is skipped: no file, no key, one log line on the ``cosim.report`` logger.
:func:`compare` puts several runs side by side with their differences in % against the first.
Plots use matplotlib's Agg canvas through :class:`matplotlib.figure.Figure` (no pyplot state).
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from cosim import kpi
from cosim_base.errors import DataError
from cosim.record import Record
from cosim.scenario import STAGE_ORDER, ControlConfig, Scenario

log = logging.getLogger(__name__)

#: Percentiles of the bands over buildings and EVs (outer and inner band).
BANDS_PCT = ((10, 90), (25, 75))
#: Whole-horizon plans drawn per stage in plans.png (evenly spaced over the run's decisions).
PLANS_SHOWN = 3
FIGSIZE_IN = (11, 4.8)
DPI = 110
STAGE_NAMES = {"da": "day-ahead", "id": "intraday", "rt": "real-time"}


def open_record(path) -> Record:
    """The record at ``path``; a missing or unreadable file is a DataError naming the path."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such record file")
    try:
        return Record(path)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path}: not a readable cosim record ({exc})") from None


# -- KPI table ---------------------------------------------------------------------------------------

def _fmt(value) -> str:
    """A KPI value in 14 characters: ints as ints, floats fixed or (tiny/huge) in e-notation."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:14d}"
    value = float(value)
    if math.isfinite(value) and value != 0 and not 1e-3 <= abs(value) < 1e7:
        return f"{value:14.4e}"
    return f"{value:14.4f}"


def print_table(kpis: dict) -> str:
    """``kpis`` as aligned ``key  value`` lines for the terminal (returned, not printed)."""
    if not kpis:
        return ""
    width = max(map(len, kpis))
    return "\n".join(f"  {key:<{width}}  {_fmt(value)}" for key, value in kpis.items())


def _json_value(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None  # JSON has no NaN/inf


def read_kpis(path) -> dict:
    """The KPIs of a report's kpi.json (null back to NaN)."""
    return {k: math.nan if v is None else v for k, v in json.loads(Path(path).read_text()).items()}


def _write_kpis(kpis: dict, out_dir: Path) -> dict[str, Path]:
    csv, js = out_dir / "kpi.csv", out_dir / "kpi.json"
    pd.Series(kpis, name="value", dtype=object).rename_axis("kpi").to_csv(csv)
    js.write_text(json.dumps({k: _json_value(v) for k, v in kpis.items()}, indent=1) + "\n")
    return {"kpi_csv": csv, "kpi_json": js}


# -- helpers for the plots -----------------------------------------------------------------------------

def _scenario(rec: Record) -> Scenario | None:
    return Scenario.from_toml(rec.scenario) if rec.scenario else None


def _series(rec: Record, group: str, attr: str) -> pd.DataFrame | None:
    """``attr`` of ``group`` with a calendar index, or None when absent, empty or all NaN."""
    if group not in rec.groups() or attr not in rec.attrs(group):
        return None
    df = rec.series(group, attr)
    if df.empty or not np.isfinite(df.to_numpy()).any():
        return None
    if not isinstance(df.index, pd.DatetimeIndex):
        raise DataError(f"{rec.path}: meta 'start' missing, the plots need calendar time")
    return df


def _calendar(rec: Record, t_s) -> np.ndarray:
    """Calendar times (datetime64) of run times ``t_s`` in seconds."""
    return (pd.Timestamp(rec.meta["start"]) + pd.to_timedelta(np.asarray(t_s), unit="s")).to_numpy()


def _span(rec: Record) -> tuple[np.datetime64, np.datetime64]:
    """Calendar start and end of the run (start + duration_s)."""
    start = pd.Timestamp(rec.meta["start"])
    return start.to_datetime64(), (start + pd.Timedelta(seconds=int(rec.meta["duration_s"]))).to_datetime64()


def _time_axis(ax, rec: Record) -> None:
    loc = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.set_xlim(*_span(rec))
    ax.set_xlabel("time")


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


def _edges(index: pd.DatetimeIndex, step_s: int) -> np.ndarray:
    """Cell edges of a plant-step series: each row holds over [t, t + step_s)."""
    t = index.to_numpy()
    return np.append(t, t[-1] + np.timedelta64(int(step_s), "s"))


def _held(df: pd.DataFrame, step_s: int) -> tuple[np.ndarray, np.ndarray]:
    """(times, values) of a plant-step series with the last row repeated at the run's last edge, so
    that a ``where="post"`` step plot shows every row over its whole step."""
    return _edges(df.index, step_s), np.concatenate([df.to_numpy(), df.to_numpy()[-1:]])


def _band_plot(ax, df: pd.DataFrame, step_s: int, color: str, what: str, scale: float = 1.0) -> None:
    """Median, percentile bands (:data:`BANDS_PCT`) and min/max over the units (columns) of ``df``."""
    t, values = _held(df, step_s)
    values = scale * values
    for (lo, hi), alpha in zip(BANDS_PCT, (0.2, 0.35)):
        ax.fill_between(t, np.nanpercentile(values, lo, axis=1), np.nanpercentile(values, hi, axis=1),
                        color=color, alpha=alpha, lw=0, step="post", label=f"{lo}-{hi} % of {what}")
    ax.step(t, np.nanmedian(values, axis=1), where="post", color=color, lw=1.6, label="median")
    ax.step(t, np.nanmin(values, axis=1), where="post", color=color, lw=0.8, ls=":", label="min / max")
    ax.step(t, np.nanmax(values, axis=1), where="post", color=color, lw=0.8, ls=":")


# -- the plots (each returns None when the record lacks its data) ----------------------------------------

def plot_voltage(rec: Record, path: Path, v_min_pu: float, v_max_pu: float) -> Path | None:
    """Heat map of bus voltages (time x bus, HV buses excluded) with the band marked on the colour bar
    and as contours, and each bus's min-max envelope against the band."""
    v = _series(rec, "plant/Bus", "vm_pu")
    if v is None:
        return None
    hv = [c for c in str(rec.meta.get("hv_buses", "")).split(",") if c]
    v = v.drop(columns=[c for c in hv if c in v.columns])
    vals = v.to_numpy().T  # bus x time
    lo = min(np.nanmin(vals), v_min_pu - 0.01)
    hi = max(np.nanmax(vals), v_max_pu + 0.01)
    centre = (v_min_pu + v_max_pu) / 2  # diverging colours: blue below, red above the band's middle
    fig = Figure(figsize=(FIGSIZE_IN[0], max(FIGSIZE_IN[1], 0.12 * len(v.columns) + 1.5)),
                 layout="constrained")
    ax, env = fig.subplots(1, 2, sharey=True, width_ratios=(5, 1))
    y = np.arange(len(v.columns) + 1) - 0.5
    mesh = ax.pcolormesh(mdates.date2num(_edges(v.index, rec.meta["step_s"])), y, vals, cmap="RdBu_r",
                         shading="flat", norm=TwoSlopeNorm(vcenter=centre, vmin=lo, vmax=hi))
    if np.nanmin(vals) < v_min_pu or np.nanmax(vals) > v_max_pu:
        ax.contour(mdates.date2num(v.index.to_numpy()), np.arange(len(v.columns)), vals,
                   levels=[v_min_pu, v_max_pu], colors="k", linewidths=0.8)
    cbar = fig.colorbar(mesh, ax=env, label="voltage magnitude (p.u.)")
    for level in (v_min_pu, v_max_pu):
        cbar.ax.axhline(level, color="k", lw=2)
    cbar.set_ticks(sorted({v_min_pu, v_max_pu, centre, round(lo, 3), round(hi, 3)}))
    step = max(1, len(v.columns) // 17)
    ax.set_yticks(np.arange(0, len(v.columns), step), [str(c) for c in v.columns[::step]])
    ax.set_ylabel("bus")
    _time_axis(ax, rec)
    ax.set_title(f"Bus voltage; band {v_min_pu:g}-{v_max_pu:g} p.u. in black (colour bar; contours where "
                 "crossed)", fontsize="medium")
    rows = np.arange(len(v.columns))
    env.hlines(rows, np.nanmin(vals, axis=1), np.nanmax(vals, axis=1), color="tab:purple", lw=3)
    for level in (v_min_pu, v_max_pu):
        env.axvline(level, color="k", ls="--", lw=1)
    env.set_xlabel("min-max (p.u.)")
    env.set_title("envelope")
    env.set_ylim(y[0], y[-1])
    return _save(fig, path)


#: Transformer KPIs of cosim.kpi.compute quoted on trafo.png: key -> (label, unit).
TRAFO_KPIS = {"trafo_hot_spot_max_c": ("hot-spot max (IEEE C57.91)", "degC"),
              "trafo_f_eqa": ("equivalent aging F_EQA", ""),
              "trafo_loss_of_life_pct": ("loss of life over the run", "%")}


def plot_trafo(rec: Record, path: Path, kpis: dict) -> Path | None:
    """Transformer loading (% of rating) per plant step, with the hot-spot and aging KPIs that
    ``kpis`` holds (:data:`TRAFO_KPIS`; cosim.kpi gives the hot spot as its maximum only)."""
    load = _series(rec, "plant/Trafo", "loading_percent")
    if load is None:
        return None
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    ax = fig.subplots()
    t, values = _held(load, rec.meta["step_s"])
    for j, col in enumerate(load.columns):
        ax.step(t, values[:, j], where="post", lw=1.2, label=f"{col} loading")
    ax.axhline(100, color="tab:red", ls="--", lw=1, label="rating (100 %)")
    ax.set_ylabel("loading (% of rating)")
    ax.set_ylim(0, max(125, float(np.nanmax(load.to_numpy())) * 1.2))  # room for the KPI box
    ax.legend(loc="upper left", fontsize="small")
    quoted = [f"{label}: {float(kpis[key]):.4g} {unit}".rstrip()
              for key, (label, unit) in TRAFO_KPIS.items() if key in kpis and math.isfinite(float(kpis[key]))]
    if quoted:
        ax.text(0.99, 0.97, "\n".join(quoted), transform=ax.transAxes, ha="right", va="top",
                fontsize="small", bbox={"facecolor": "white", "edgecolor": "0.7"})
    _time_axis(ax, rec)
    ax.set_title("Transformer loading")
    return _save(fig, path)


def _legend(axes: list, loc: str) -> None:
    """One legend on the first axes for the lines of all ``axes`` (a plot and its twin)."""
    pairs = [a.get_legend_handles_labels() for a in axes]
    axes[0].legend([h for hs, _ in pairs for h in hs], [lb for _, ls in pairs for lb in ls], loc=loc, fontsize="small")


def plot_exchange(rec: Record, path: Path) -> Path | None:
    """Grid exchange at the slack (import > 0) with the buy and sell prices on a second axis."""
    p = _series(rec, "plant/Grid", "p_ext_mw")
    if p is None:
        return None
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    ax = fig.subplots()
    t, values = _held(p, rec.meta["step_s"])
    ax.step(t, values[:, 0], where="post", color="tab:blue", lw=1.4, label="grid exchange")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylabel("grid exchange (MW, import > 0)")
    axes = [ax]
    buy = _series(rec, "data/Tariff", "buy_per_mwh")
    if buy is not None:
        ax2 = ax.twinx()
        t, price = _held(buy, rec.meta["step_s"])
        ax2.step(t, price[:, 0], where="post", color="tab:red", lw=1, label="buy price")
        sell = _series(rec, "data/Tariff", "sell_per_mwh")
        if sell is not None and not np.allclose(sell.to_numpy(), buy.to_numpy(), equal_nan=True):
            t, price = _held(sell, rec.meta["step_s"])
            ax2.step(t, price[:, 0], where="post", color="tab:red", lw=1, ls="--", label="sell price")
        ax2.set_ylabel("price (currency per MWh)")
        ax2.set_ylim(bottom=0)
        axes.append(ax2)
    _legend(axes, "upper left")
    _time_axis(ax, rec)
    ax.set_title("Grid exchange" + (" and tariff" if buy is not None else ""))
    return _save(fig, path)


def plot_indoor(rec: Record, path: Path) -> Path | None:
    """Indoor temperatures over the buildings (median, percentile bands, min/max) vs the comfort
    band in force (recorded ``t_low_c``, ``t_up_c``: the widest over the buildings at each step)."""
    t_in = _series(rec, "plant/Building", "t_in_c")
    if t_in is None:
        return None
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    ax = fig.subplots()
    lo, up = _series(rec, "plant/Building", "t_low_c"), _series(rec, "plant/Building", "t_up_c")
    if lo is not None and up is not None:
        t, lo_c = _held(lo.min(axis=1).to_frame(), rec.meta["step_s"])
        _, up_c = _held(up.max(axis=1).to_frame(), rec.meta["step_s"])
        ax.fill_between(t, lo_c[:, 0], up_c[:, 0], color="tab:green", alpha=0.12, lw=0, step="post",
                        label=f"comfort band ({np.nanmin(lo_c):.3g}-{np.nanmax(up_c):.3g} degC)")
    _band_plot(ax, t_in, rec.meta["step_s"], "tab:orange", f"{t_in.shape[1]} buildings")
    ax.set_ylabel("indoor temperature (degC)")
    ax.legend(loc="best", fontsize="small")
    _time_axis(ax, rec)
    ax.set_title("Indoor temperature of the buildings")
    return _save(fig, path)


def plot_ev_soc(rec: Record, path: Path) -> Path | None:
    """EV state of charge over the fleet (median, percentile bands, min/max) and the share plugged in."""
    soc = _series(rec, "plant/EV", "soc")
    if soc is None:
        return None
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    ax = fig.subplots()
    _band_plot(ax, soc, rec.meta["step_s"], "tab:green", f"{soc.shape[1]} EVs", scale=100.0)
    ax.set_ylabel("state of charge (%)")
    ax.set_ylim(0, 100)
    axes = [ax]
    conn = _series(rec, "plant/EV", "connected")
    if conn is not None:
        ax2 = ax.twinx()
        t, plugged = _held(conn, rec.meta["step_s"])
        ax2.step(t, 100 * np.mean(plugged > 0.5, axis=1), where="post", color="0.3", lw=1, ls="--",
                 label="plugged in")
        ax2.set_ylabel("EVs plugged in (%)")
        ax2.set_ylim(0, 105)
        axes.append(ax2)
    _legend(axes, "lower left")
    _time_axis(ax, rec)
    ax.set_title("EV state of charge")
    return _save(fig, path)


def plot_plans(rec: Record, path: Path, control: ControlConfig) -> Path | None:
    """Per stage: the first period of every plan (the part that is applied), the whole horizon of a
    few plans, the realized exchange per plant step and its mean over the stage's periods."""
    p = _series(rec, "plant/Grid", "p_ext_mw")
    stages = [s for s in STAGE_ORDER if f"control/{s}" in rec.groups()
              and "plan.grid.p_grid_mw" in rec.attrs(f"control/{s}")]
    if p is None or not stages:
        return None
    fig = Figure(figsize=(FIGSIZE_IN[0], 2.9 * len(stages) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(stages), 1, sharex=True, sharey=True))
    truth = p.iloc[:, 0]
    start = _span(rec)[0]
    for ax, stage in zip(axes, stages):
        dt_s = getattr(control, stage).dt_s
        t_s, plans = rec.array(f"control/{stage}", "plan.grid.p_grid_mw")
        ax.stairs(truth.to_numpy(), _edges(truth.index, rec.meta["step_s"]), baseline=None, color="0.6",
                  lw=0.8, label="realized (plant step)")
        mean = truth.resample(pd.Timedelta(seconds=dt_s), origin=pd.Timestamp(start)).mean()
        ax.stairs(mean.to_numpy(), _edges(mean.index, dt_s), baseline=None, color="k", lw=1.4,
                  label=f"realized, {dt_s // 60} min mean")
        t0 = _calendar(rec, t_s)
        ax.hlines(plans[:, 0], t0, t0 + np.timedelta64(int(dt_s), "s"), color="tab:blue", lw=3,
                  label="first period of each plan")
        shown = np.unique(np.linspace(0, len(t_s) - 1, min(len(t_s), PLANS_SHOWN)).round().astype(int))
        for k, alpha in zip(shown, np.linspace(0.9, 0.5, len(shown))):
            n = plans.shape[1]
            edges = t0[k] + np.arange(n + 1) * np.timedelta64(int(dt_s), "s")
            ax.stairs(plans[k], edges, baseline=None, color="tab:orange", alpha=alpha, lw=1.1,
                      label=f"plan made {pd.Timestamp(t0[k]):%d %b %H:%M}")
        ax.set_ylabel("grid exchange (MW)")
        ax.set_title(f"{STAGE_NAMES[stage]} stage ({stage}): {len(t_s)} plan(s) of {plans.shape[1]} x "
                     f"{dt_s // 60} min", fontsize="medium")
        ax.legend(loc="upper left", fontsize="x-small", ncol=2)
        _time_axis(ax, rec)
    for ax in axes[:-1]:
        ax.set_xlabel("")
    fig.suptitle("Planned vs realized grid exchange (import > 0)")
    return _save(fig, path)


# -- the report -------------------------------------------------------------------------------------------

def write_report(path, out_dir) -> dict[str, Path]:
    """KPI table (CSV, JSON) and plots of the run at ``path`` into ``out_dir`` (created); returns
    key -> written file (keys in the module docstring; a skipped plot has no key)."""
    rec = open_record(path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kpis = kpi.compute(rec)
    written = _write_kpis(kpis, out)
    sc = _scenario(rec)
    control = sc.control if sc is not None else ControlConfig()
    plots = {
        "voltage": lambda f: plot_voltage(rec, f, control.v_min_pu, control.v_max_pu),
        "trafo": lambda f: plot_trafo(rec, f, kpis),
        "exchange": lambda f: plot_exchange(rec, f),
        "indoor": lambda f: plot_indoor(rec, f),
        "ev_soc": lambda f: plot_ev_soc(rec, f),
        "plans": lambda f: plot_plans(rec, f, control),
    }
    for key, plot in plots.items():
        file = out / f"{key}.png"
        file.unlink(missing_ok=True)  # no stale plot from an earlier report of another run
        if plot(file) is None:
            log.info("%s: skipped %s.png (the record has no data for it)", rec.path.name, key)
        else:
            written[key] = file
    return written


def compare(paths, out_csv=None) -> pd.DataFrame:
    """KPIs of the runs at ``paths`` side by side with each later run's change against the first
    in % (:func:`cosim.kpi.compare`: columns ``<run>`` and ``"<run> vs <first> %"``, rows = KPI
    keys, index named ``kpi``); written to ``out_csv`` if given."""
    paths = list(paths)
    if not paths:
        raise DataError("compare: no record paths given; need at least one")
    table = kpi.compare([open_record(p) for p in paths]).rename_axis("kpi")
    if out_csv is not None:
        Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out_csv)
    return table
