"""Key performance indicators of a run, computed from its HDF5 record (units in the keys).

:func:`compute` returns a flat ``dict[str, float]``; :func:`table` puts several runs side by side
and :func:`compare` adds each run's change against the first in %. :func:`summary` is the short
table ``cosim run`` prints.

Conventions: the record holds the true plant at every plant step of ``dt`` = meta ``step_s``
(``dt_h`` in hours); a power is the mean over the step ``[t, t + dt)`` and an energy is the sum of
power x ``dt_h``. NaN values (a diverged power flow) are left out of sums, counts and extremes. The
scenario (band, prices, stage timing) is read from the record's ``/meta/scenario.toml``
(:meth:`cosim.scenario.Scenario.from_toml`; the defaults if a record has none). A key whose input is
missing from the record is 0 for sums over a device kind that is absent (no micro-turbines: fuel
cost 0) and NaN for extremes and ratios.

Energy and grid (``p_ext`` = plant/Grid ``p_ext_mw``, import positive):

- ``import_mwh``, ``export_mwh``: sum of ``max(p_ext, 0)`` and ``max(-p_ext, 0)`` x ``dt_h``.
- ``losses_kwh``: line and transformer losses, sum of plant/Grid ``p_loss_mw`` x ``dt_h`` x 1000.
- ``peak_import_15min_mw``: the largest mean of ``p_ext`` over 15-min windows aligned at t = 0
  (whole windows only; a trailing partial window is left out; ``step_s`` must divide 900 s or be
  a multiple of it).
- ``load_factor`` (-): mean ``p_ext`` over the same whole windows / ``peak_import_15min_mw``
  (NaN when that peak is not an import).

Voltage (plant/Bus ``vm_pu``, the buses of meta ``hv_buses`` excluded: the slack and transformer
HV side are outside the feeder's band; band = scenario ``control.v_min_pu`` .. ``v_max_pu``):

- ``v_violation_bus_steps``: number of (bus, plant step) pairs outside the band.
- ``v_violation_h``: hours in which at least one bus is outside the band.
- ``v_violation_pu_h``: sum over buses and steps of the distance outside the band (p.u.) x ``dt_h``.
- ``v_worst_pu``: the recorded voltage farthest outside the band (or, with none outside, nearest
  to an edge); ``v_min_pu``, ``v_max_pu``: the recorded extremes.

Lines and transformer:

- ``line_loading_max_pct``: the largest plant/Line ``loading_percent`` (of the line rating
  ``max_i_ka``); ``line_hours_over_100``: line-hours above 100 %, summed over lines.
- ``trafo_loading_max_pct``: the largest plant/Trafo ``loading_percent`` (pandapower's current
  loading in % of ``sn_mva``; IEEE 33: 10 MVA, LV feeder: 0.4 MVA, simulators.networks).
- ``trafo_hot_spot_max_c``, ``trafo_f_eqa`` (-), ``trafo_loss_of_life_pct``: IEEE C57.91 clause 7
  (simulators.transformer with its ONAN distribution-transformer defaults) with K =
  ``loading_percent`` / 100 held over each step, started in steady state; the ambient is the mean
  plant/Building ``t_out_c`` (the weather's outdoor temperature), or :data:`T_AMB_DEFAULT_C` if no
  building is recorded. Loss of life is over the run's duration; with several transformers each
  figure is the largest over them. Steps with a NaN loading hold the last known value.

Costs (currency of the tariff and the scenario's prices):

- ``cost_grid``: import x buy price + export x sell price (data/Tariff ``buy_per_mwh``,
  ``sell_per_mwh``) per step; equals :func:`summary`'s ``energy_cost``.
- ``cost_mt_fuel``: sum of plant/MicroTurbine ``cost_per_h`` x ``dt_h`` (gas and marginal cost).
- ``ess_throughput_mwh``: sum of ``|p_mw|`` of plant/Battery x ``dt_h`` (charge plus discharge at
  the grid side, the controller's ``(Pc + Pd) dt``); ``cost_ess`` = that x
  ``control.ess_cost_per_mwh``.
- ``cost_losses``: losses (MWh) x ``control.loss_price_per_mwh`` (0 by default: losses are already
  paid through the import; a positive price charges them again, as the controller's objective does).
- ``cost_discomfort``: ``discomfort_kh`` x ``control.discomfort_cost_per_kh``.
- ``cost_ev_compensation``: paid to EV owners, (``ev_v2g_kwh`` + ``ev_trip_avoided_kwh``) / 1000
  x ``control.ev_comp_per_mwh`` (seed 002; 0 by default).
- ``cost_hub_gas``: sum of plant/HeatHub ``gas_cost_per_h`` x ``dt_h`` (the hubs' gas: CHP and
  gas boiler); ``revenue_chp``: sum of plant/HeatHub ``chp_revenue_per_h`` x ``dt_h`` (the CHP
  remuneration on its electric output, seed 003 eq. 29), counted as a negative cost.
- ``cost_total``: the sum of the costs above minus ``revenue_chp``.

Devices (each kind's own ``DeviceKind.kpis`` in devices.REGISTRY, listed here; a kind's KPIs with a
sign in its ``costs`` enter ``cost_total``; a water heater adds ``hpwh_energy_kwh`` and
``hpwh_unmet_kwh``, devices.water_heater):

- ``discomfort_kh``: BOPTEST's thermal discomfort, the time integral of the distance of the indoor
  temperature outside the comfort band in force (K h; the band the plant records as ``t_low_c``,
  ``t_up_c``: fixed or EN 16798-1 adaptive), summed over buildings: the sum of the last recorded
  plant/Building ``discomfort_kh`` (cumulative, a left Riemann sum at the plant step, so the last
  step's own contribution is not in the record).
- ``heat_energy_kwh``: electricity drawn for heating and cooling, sum of plant/Building ``p_mw``
  (heat pump in either mode, direct electric heating, storage charging) x ``dt_h`` x 1000.
- ``ev_energy_delivered_kwh``, ``ev_v2g_kwh``: sums of ``max(p_mw, 0)`` and ``max(-p_mw, 0)`` of
  plant/EV x ``dt_h`` x 1000 (grid side).
- ``ev_missing_kwh``: energy missing to the owners' targets at departure, the sum of the last
  recorded plant/EV ``e_missing_kwh`` (cumulative per EV).
- ``ev_trip_avoided_kwh``: trip energy forgone by trip reduction, the sum of the last recorded
  plant/EV ``e_trip_avoided_kwh`` (0 in records without it).
- ``heat_unmet_kwh``, ``heat_dumped_kwh``: heat-hub demand the tank could not cover and heat a
  full tank could not take, sums of plant/HeatHub ``q_unmet_kw`` and ``q_dumped_kw`` x ``dt_h``.
- ``ev_missing_feasible_kwh``: the part of ``ev_missing_kwh`` the sessions could physically have
  received (the target, or less, the energy at arrival plus full-power charging with the CC-CV
  taper over the plugged time, minus the energy at departure: plant/EV ``e_missing_feasible_kwh``);
  ``ev_requested_kwh``: target minus arrival energy over the sessions that ended
  (``e_requested_kwh``); ``ev_missing_feasible_pct``: 100 x the first / the second.
- ``ev_sessions_short``: departures missing more than simulators.ev.SHORT_TOL_FRAC (2 %) of the
  battery's capacity (plant/EV ``sessions_short``; records without it: increments of
  ``e_missing_kwh`` above :data:`devices.ev.EV_SHORT_KWH`).

Stored energy (a finite run ends with other amounts in store than it began with; costs net of that):

- ``stored_change_<model>_kwh_el``: for each kind that stores energy (devices.kind.DeviceKind.storage:
  Battery and EV ``e_kwh``, Building TSEH ``e_st_kwh``, HeatHub ``e_tank_kwh``, WaterHeater
  ``e_kwh``), the sum over units of the last recorded minus the first recorded state, times the
  kind's kWh of electricity per kWh stored (its fleet's default charging efficiency or COP, est.);
  the state after the last step is not recorded: it is taken as the last recorded state plus the
  change over the step before (exact for a power held over the last two steps).
  Building thermal mass is not counted.
- ``stored_change_kwh_el``: their sum; ``stored_value``: that x the run's mean buy price / 1000
  (the stated price of stored energy); ``cost_total_net_storage`` = ``cost_total`` -
  ``stored_value`` (a run that ends with more in store is credited with it).

BOPTEST's core KPI names (Blum et al. 2021, "Building optimization testing framework (BOPTEST)
for simulation-based benchmarking of control strategies in buildings", J. Build. Perform. Simul.
14(5) 586-610), for a feeder rather than one building, so not divided by floor area:

- ``tdis_tot``: thermal discomfort per zone (K h / zone): ``discomfort_kh`` over the buildings
  (one zone each); NaN without buildings.
- ``ener_tot``: electrical energy drawn from the upstream grid (kWh): ``import_mwh`` x 1000.
- ``pele_tot``: peak electrical demand (kW), the largest 15-min mean import:
  ``peak_import_15min_mw`` x 1000.
- ``cost_tot``: operational cost (currency): ``cost_total``.
- ``time_rat``: controller computation time per simulated time (s/s): the sum of every decision's
  ``control/timing`` ``wall_time_s`` over the recorded duration (BOPTEST: the mean over control
  steps of computation time / step length, the same quantity); NaN without a controller.

Controller, per stage ``<stage>`` in ``da``, ``id``, ``rt`` that has a control group:

- ``<stage>_solves``, ``<stage>_failed`` (status not optimal / optimal_inaccurate),
  ``<stage>_fallbacks`` (decisions with a fallback, "shift" or "local").
- ``<stage>_solve_s_median``, ``_p95``, ``_max``: the solver's own time over all decisions (s).
- ``<stage>_gap_rel_max``: the largest SOCP relaxation gap over successful solves (NaN for
  LinDistFlow); ``<stage>_inexact``: successful solves with a gap above :data:`INEXACT_GAP`.
- ``<stage>_v_plan_error_pu``: plan against truth, RMS over feeder buses and plant steps of the
  recorded ``vm_pu`` minus the planned ``plan.grid.v_pu`` of the period containing the step, over
  the part of each successful plan before the stage's next decision (the part that is carried
  out). The plan's bus rows are mapped to the record's buses through the OPF network model of
  meta ``network`` (the record does not store that order).
- ``<stage>_tracking_error_mw``: RMS of the stage's planned grid exchange ``plan.grid.p_grid_mw``
  minus the slower stage's plan in force (its latest successful one), read at the stage's periods
  as the controller reads its reference, over the same carried-out part; not for the slowest
  stage in the record.
"""
from __future__ import annotations

import functools
import pathlib

import numpy as np
import pandas as pd

from cosim_base.errors import DataError
from cosim.record import Record, read
from cosim.scenario import STAGE_ORDER, Scenario
from devices import REGISTRY
from devices.kind import series_sum
from simulators import transformer
#: Transformer ambient (degC) when no outdoor temperature is recorded: IEEE C57.91's reference
#: average ambient of 30 degC.
T_AMB_DEFAULT_C = 30.0
#: Window of the demand peak (s): 15 min, the metering interval of demand charges.
PEAK_WINDOW_S = 900
OK = ("optimal", "optimal_inaccurate")
#: Relaxation gap above which a successful solve counts as inexact (its plan is not physical).
INEXACT_GAP = 1e-5


def _record(path_or_record) -> Record:
    return path_or_record if isinstance(path_or_record, Record) else read(path_or_record)


def _dt_h(rec: Record) -> float:
    return float(rec.meta["step_s"]) / 3600.0


def _series(rec: Record, group: str, attr: str) -> pd.DataFrame | None:
    return rec.series(group, attr) if group in rec.groups() and attr in rec.attrs(group) else None


def _t_s(rec: Record, df: pd.DataFrame) -> np.ndarray:
    """Seconds since the run start of a series' rows."""
    if isinstance(df.index, pd.DatetimeIndex):
        return np.asarray((df.index - pd.Timestamp(rec.meta["start"])) // pd.Timedelta(seconds=1), int)
    return df.index.to_numpy(int)


def _hv(rec: Record) -> set[str]:
    return {c for c in str(rec.meta.get("hv_buses", "")).split(",") if c}


def _scenario(rec: Record) -> Scenario:
    return Scenario.from_toml(rec.scenario) if rec.scenario else Scenario()


def _grid_cost(rec: Record, dt_h: float) -> tuple[np.ndarray, float]:
    """``p_ext`` (MW) per step and its cost at the recorded tariff."""
    p_ext = rec.series("plant/Grid", "p_ext_mw").iloc[:, 0].to_numpy()
    buy = rec.series("data/Tariff", "buy_per_mwh").iloc[:, 0].to_numpy()[:len(p_ext)]
    sell = rec.series("data/Tariff", "sell_per_mwh").iloc[:, 0].to_numpy()[:len(p_ext)]
    return p_ext, float(np.nansum(np.where(p_ext > 0, p_ext * buy, p_ext * sell)) * dt_h)


def _max(df: pd.DataFrame | None) -> float:
    values = df.to_numpy() if df is not None else np.array([])
    return float(np.nanmax(values)) if np.isfinite(values).any() else float("nan")


def summary(path_or_record) -> dict[str, float]:
    """The short figures ``cosim run`` prints: energy cost at the tariff, micro-turbine fuel,
    losses, the feeder's voltage range (slack and transformer HV buses excluded), peak import
    (at the plant step), thermal discomfort, EV energy missing at departure, and per stage the
    number of solves, failed solves, fallbacks and the median / max solver time."""
    rec = _record(path_or_record)
    g, d = _grid(rec), _devices(rec, _scenario(rec))
    out = {"energy_cost": g["cost_grid"], "import_mwh": g["import_mwh"], "export_mwh": g["export_mwh"],
           "peak_import_mw": float(np.nanmax(rec.series("plant/Grid", "p_ext_mw").to_numpy())),
           "losses_mwh": g["losses_kwh"] / 1000.0, "mt_fuel_cost": d["cost_mt_fuel"]}
    out["total_cost"] = out["energy_cost"] + out["mt_fuel_cost"]
    out["v_min_pu"], out["v_max_pu"] = _v_range(_feeder_v(rec))
    out["diverged_steps"] = g["diverged_steps"]
    out["discomfort_kh"], out["ev_missing_kwh"] = d["discomfort_kh"], d["ev_missing_kwh"]
    for stage in STAGE_ORDER:
        if f"control/{stage}" in rec.groups():
            stats = _solver_stats(stage, rec.events(f"control/{stage}"))
            out.update({k: v for k, v in stats.items() if not k.endswith("_p95")})
    return out


def _feeder_v(rec: Record) -> np.ndarray:
    """Bus voltages (steps x buses) without the slack and transformer HV buses."""
    v = rec.series("plant/Bus", "vm_pu")
    return v.drop(columns=[c for c in _hv(rec) if c in v.columns]).to_numpy()


def _v_range(v: np.ndarray) -> tuple[float, float]:
    if not np.isfinite(v).any():
        return float("nan"), float("nan")
    return float(np.nanmin(v)), float(np.nanmax(v))


def _solver_stats(stage: str, ev: pd.DataFrame) -> dict[str, float]:
    """Solves, failures, fallbacks, solver time median / p95 / max and the largest gap of a stage."""
    ok = ev.status.isin(OK).to_numpy()
    solve = ev.solve_time_s.to_numpy(float)
    solve = solve[np.isfinite(solve)]
    gap = ev.gap_rel.to_numpy(float)[ok] if "gap_rel" in ev else np.array([])
    nan = float("nan")
    return {f"{stage}_solves": int(len(ev)), f"{stage}_failed": int((~ok).sum()),
            f"{stage}_fallbacks": int((ev.fallback != "").sum()),
            f"{stage}_solve_s_median": float(np.median(solve)) if solve.size else nan,
            f"{stage}_solve_s_p95": float(np.percentile(solve, 95)) if solve.size else nan,
            f"{stage}_solve_s_max": float(solve.max()) if solve.size else nan,
            f"{stage}_gap_rel_max": float(np.nanmax(gap)) if np.isfinite(gap).any() else nan,
            f"{stage}_inexact": int((gap > INEXACT_GAP).sum())}


# -- compute ---------------------------------------------------------------------------------------

def compute(path_or_record) -> dict[str, float]:
    """Every KPI of a run (definitions and units in the module docstring)."""
    rec = _record(path_or_record)
    sc = _scenario(rec)
    out: dict[str, float] = {}
    out.update(_grid(rec))
    out.update(_voltage(rec, sc.control.v_min_pu, sc.control.v_max_pu))
    out.update(_branches(rec))
    out.update(_devices(rec, sc))
    out.update(_costs(sc, out))
    out.update(_storage(rec, out))
    out.update(_stages(rec, sc))
    out.update(_boptest(rec, out))
    return out


def _boptest(rec: Record, kpi: dict) -> dict[str, float]:
    """BOPTEST's core KPI names (see the module docstring)."""
    disc = _series(rec, "plant/Building", "discomfort_kh")
    n_zones = 0 if disc is None else disc.shape[1]
    t_end = len(rec.series("plant/Grid", "p_ext_mw")) * int(rec.meta["step_s"])
    timing = rec.events("control/timing") if "control/timing" in rec.groups() else None
    wall = np.nan if timing is None or not t_end else float(timing.wall_time_s.sum()) / t_end
    return {"tdis_tot": kpi["discomfort_kh"] / n_zones if n_zones else np.nan,
            "ener_tot": kpi["import_mwh"] * 1000.0, "pele_tot": kpi["peak_import_15min_mw"] * 1000.0,
            "cost_tot": kpi["cost_total"], "time_rat": wall}


def _grid(rec: Record) -> dict[str, float]:
    dt_h = _dt_h(rec)
    p_ext, cost = _grid_cost(rec, dt_h)
    out = {"cost_grid": cost,
           "import_mwh": float(np.nansum(np.clip(p_ext, 0, None)) * dt_h),
           "export_mwh": float(np.nansum(np.clip(-p_ext, 0, None)) * dt_h),
           "losses_kwh": series_sum(rec.series("plant/Grid", "p_loss_mw"), dt_h) * 1000.0,
           "diverged_steps": int((rec.series("plant/Grid", "converged").to_numpy() == 0).sum())}
    means = window_means(p_ext, int(rec.meta["step_s"]), PEAK_WINDOW_S)
    peak = float(np.nanmax(means)) if np.isfinite(means).any() else float("nan")
    out["peak_import_15min_mw"] = peak
    out["load_factor"] = float(np.nanmean(means) / peak) if peak > 0 else float("nan")
    return out


def window_means(p: np.ndarray, step_s: int, window_s: int) -> np.ndarray:
    """Means of a per-step series over whole windows of ``window_s`` aligned at t = 0 (a trailing
    partial window left out; NaN steps left out of their window's mean)."""
    p = np.asarray(p, float)
    if window_s % step_s == 0:
        w = window_s // step_s
        n = len(p) // w
        blocks = p[:n * w].reshape(n, w)
        finite = np.isfinite(blocks)
        count = finite.sum(axis=1)
        return np.where(count > 0, np.where(finite, blocks, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)
    if step_s % window_s == 0:
        return p  # each step holds its value over whole windows
    raise DataError(f"step_s = {step_s} must divide {window_s} s or be a multiple of it "
                    f"for {window_s}-s window means")


def _voltage(rec: Record, v_min: float, v_max: float) -> dict[str, float]:
    dt_h = _dt_h(rec)
    v = _feeder_v(rec)
    with np.errstate(invalid="ignore"):
        signed = np.maximum(v_min - v, v - v_max)  # > 0 outside the band
        outside = np.nan_to_num(np.clip(signed, 0, None))
    finite = np.isfinite(signed)
    out = {"v_violation_bus_steps": int((outside > 0).sum()),
           "v_violation_h": float((outside > 0).any(axis=1).sum() * dt_h),
           "v_violation_pu_h": float(outside.sum() * dt_h),
           "v_worst_pu": float(v.flat[np.nanargmax(np.where(finite, signed, -np.inf))]) if finite.any()
           else float("nan")}
    out["v_min_pu"], out["v_max_pu"] = _v_range(v)
    return out


def _branches(rec: Record) -> dict[str, float]:
    dt_h = _dt_h(rec)
    line = _series(rec, "plant/Line", "loading_percent")
    out = {"line_loading_max_pct": _max(line),
           "line_hours_over_100": float(np.sum(line.to_numpy() > 100.0) * dt_h) if line is not None else 0.0}
    trafo = _series(rec, "plant/Trafo", "loading_percent")
    out["trafo_loading_max_pct"] = _max(trafo)
    out.update(trafo_aging(rec, trafo))
    return out


def trafo_aging(rec: Record, loading: pd.DataFrame | None = None) -> dict[str, float]:
    """Hot spot, equivalent aging and loss of life of the recorded transformers (see the module
    docstring): ``trafo_hot_spot_max_c``, ``trafo_f_eqa``, ``trafo_loss_of_life_pct``."""
    loading = _series(rec, "plant/Trafo", "loading_percent") if loading is None else loading
    nan = float("nan")
    out = {"trafo_hot_spot_max_c": nan, "trafo_f_eqa": nan, "trafo_loss_of_life_pct": nan}
    if loading is None or len(loading) == 0:
        return out
    step_s = float(rec.meta["step_s"])
    t_out = _series(rec, "plant/Building", "t_out_c")
    t_amb = (t_out.mean(axis=1).ffill().bfill().to_numpy() if t_out is not None else np.array([]))
    if t_amb.shape != (len(loading),) or not np.isfinite(t_amb).all():
        t_amb = np.full(len(loading), T_AMB_DEFAULT_C)
    hot, f_eqa = [], []
    for col in loading.columns:
        k = loading[col].ffill().bfill().to_numpy() / 100.0
        if not np.isfinite(k).all():
            continue  # no loading recorded for this transformer at all
        theta = transformer.hot_spot_c(k, t_amb, step_s)
        hot.append(theta.max())
        f_eqa.append(transformer.equivalent_aging(transformer.aging_factor(theta), step_s))
    if hot:
        hours = len(loading) * step_s / 3600.0
        out = {"trafo_hot_spot_max_c": float(max(hot)), "trafo_f_eqa": float(max(f_eqa)),
               "trafo_loss_of_life_pct": transformer.loss_of_life_pct(max(f_eqa), hours)}
    return out


def _devices(rec: Record, sc: Scenario) -> dict[str, float]:
    """Every registry kind's KPIs (DeviceKind.kpis) from its plant group (absent: its sums 0)."""
    dt_h, out = _dt_h(rec), {}
    for kind in REGISTRY.values():
        out.update(kind.kpis(lambda attr: _series(rec, f"plant/{kind.model}", attr), dt_h, sc.control))
    return out


def _costs(sc: Scenario, kpi: dict) -> dict[str, float]:
    """Losses at the scenario's loss price and ``cost_total``: the grid cost, that and every
    registry kind's costs (DeviceKind.costs, with their signs)."""
    out = {"cost_losses": kpi["losses_kwh"] / 1000.0 * sc.control.loss_price_per_mwh}
    out["cost_total"] = kpi["cost_grid"] + out["cost_losses"] + sum(
        sign * kpi[key] for kind in REGISTRY.values() for key, sign in kind.costs.items())
    return out


def stored_states(path_or_record) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per registry kind that stores energy (DeviceKind.storage) and is recorded: its stored state
    per unit (kWh of the kind's ``storage`` attribute) at the run's start and at its end. The state
    after the last step is not recorded: it is the last recorded state plus the change over the
    step before (exact for a power held over the last two steps)."""
    rec, out = _record(path_or_record), {}
    for kind in REGISTRY.values():
        s = _series(rec, f"plant/{kind.model}", kind.storage[0]) if kind.storage else None
        if s is None or not len(s):
            continue
        x = s.to_numpy()
        out[kind.name] = (x[0], 2 * x[-1] - x[-2] if len(x) > 1 else x[-1])
    return out


def _storage(rec: Record, kpi: dict) -> dict[str, float]:
    """Stored energy at the run's end minus at its start, as electricity (see the module
    docstring), its value at the run's mean buy price and the cost net of it."""
    out, total = {}, 0.0
    for name, (start, end) in stored_states(rec).items():
        kind = REGISTRY[name]
        out[f"stored_change_{kind.model}_kwh_el"] = kind.storage[1] * float(np.nansum(end) - np.nansum(start))
        total += out[f"stored_change_{kind.model}_kwh_el"]
    buy = rec.series("data/Tariff", "buy_per_mwh").iloc[:, 0].to_numpy()
    out["stored_change_kwh_el"] = total
    out["stored_value"] = total / 1000.0 * float(np.mean(buy))
    out["cost_total_net_storage"] = kpi["cost_total"] - out["stored_value"]
    return out


# -- controller ------------------------------------------------------------------------------------

def _stages(rec: Record, sc: Scenario) -> dict[str, float]:
    out: dict[str, float] = {}
    t_end = len(rec.series("plant/Grid", "p_ext_mw")) * int(rec.meta["step_s"])  # the recorded end
    present = [s for s in STAGE_ORDER if f"control/{s}" in rec.groups()]
    for i, stage in enumerate(present):
        out.update(_solver_stats(stage, rec.events(f"control/{stage}")))
        dt_s = getattr(sc.control, stage).dt_s
        out[f"{stage}_v_plan_error_pu"] = v_plan_error(rec, stage, dt_s, t_end)
        if i > 0:
            slow = present[i - 1]
            out[f"{stage}_tracking_error_mw"] = tracking_error(
                rec, stage, dt_s, slow, getattr(sc.control, slow).dt_s, t_end)
    return out


def _carried_out(t_dec: np.ndarray, t_end: int | None) -> np.ndarray:
    """End of the carried-out part of each decision: the stage's next decision (the run end last)."""
    return np.r_[t_dec[1:], np.iinfo(np.int64).max if t_end is None else t_end]


@functools.lru_cache(maxsize=4)
def plan_bus_ids(network: str) -> tuple[int, ...] | None:
    """pandapower bus index of each row of a plan's ``v_pu`` for network ``network`` (the OPF
    model's bus order, row 0 the slack); None for a network this package does not build."""
    from controllers.opf.network import from_pandapower  # heavy imports only when plans are read
    from cosim.plant import NETWORKS

    if network not in NETWORKS:
        return None
    net = NETWORKS[network][0]()
    return tuple(int(b) for b in from_pandapower(net, exclude_shunts=net.shunt.index).bus_ids)


def v_plan_error(rec: Record, stage: str, dt_s: int, t_end: int | None = None) -> float:
    """RMS (p.u.) of recorded ``vm_pu`` minus the stage's planned ``plan.grid.v_pu`` (see the
    module docstring); NaN without plans or without a known bus order."""
    group = f"control/{stage}"
    if group not in rec.groups() or "plan.grid.v_pu" not in rec.attrs(group):
        return float("nan")
    t_dec, plan = rec.array(group, "plan.grid.v_pu")  # (decisions, buses, T)
    ids = plan_bus_ids(str(rec.meta.get("network", "")))
    if ids is None or len(ids) != plan.shape[1]:
        return float("nan")
    v = rec.series("plant/Bus", "vm_pu")
    hv = _hv(rec)
    rows = [j for j, b in enumerate(ids) if f"Bus_{b}" in v.columns and f"Bus_{b}" not in hv]
    truth = v[[f"Bus_{ids[j]}" for j in rows]].to_numpy()
    t = _t_s(rec, v)
    err = []
    for d, end in enumerate(_carried_out(t_dec, t_end)):
        p = plan[d][rows]
        if not np.isfinite(p).all():
            continue  # a failed decision: no plan recorded
        k = (t - t_dec[d]) // dt_s
        sel = (t >= t_dec[d]) & (t < end) & (k < p.shape[1])
        err.append(truth[sel] - p[:, k[sel]].T)
    e = np.concatenate(err) if err else np.array([])
    return float(np.sqrt(np.nanmean(e ** 2))) if np.isfinite(e).any() else float("nan")


def tracking_error(rec: Record, stage: str, dt_s: int, slow: str, slow_dt_s: int,
                   t_end: int | None = None) -> float:
    """RMS (MW) of the stage's planned grid exchange minus the slower stage's plan in force (see
    the module docstring); NaN without plans."""
    fast_g, slow_g = f"control/{stage}", f"control/{slow}"
    key = "plan.grid.p_grid_mw"
    if key not in rec.attrs(fast_g) or key not in rec.attrs(slow_g):
        return float("nan")
    t_f, p_f = rec.array(fast_g, key)
    t_sl, p_sl = rec.array(slow_g, key)
    slow_ok = np.isfinite(p_sl).all(axis=1)
    err = []
    for d, end in enumerate(_carried_out(t_f, t_end)):
        if not np.isfinite(p_f[d]).all():
            continue
        force = np.flatnonzero(slow_ok & (t_sl <= t_f[d]))
        if force.size == 0:
            continue
        i = force[-1]
        times = t_f[d] + dt_s * np.arange(p_f.shape[1])
        j = times < end
        k = np.clip((times[j] - t_sl[i]) // slow_dt_s, 0, p_sl.shape[1] - 1)
        err.append(p_f[d][j] - p_sl[i][k])
    e = np.concatenate(err) if err else np.array([])
    return float(np.sqrt(np.mean(e ** 2))) if e.size else float("nan")


# -- several runs ----------------------------------------------------------------------------------

def _names(paths) -> list[str]:
    """Column names: file stems, the full path where stems repeat."""
    raw = [str(p.path if isinstance(p, Record) else p) for p in paths]
    stems = [pathlib.Path(p).stem for p in raw]
    return [s if stems.count(s) == 1 else r for s, r in zip(stems, raw)]


def table(paths: list) -> pd.DataFrame:
    """KPIs of several runs (paths or Records): one column per run, one row per KPI key (NaN where
    a run lacks a key, e.g. a stage it did not run)."""
    cols = {name: compute(p) for name, p in zip(_names(paths), paths)}
    return pd.DataFrame(cols, dtype=float)


def compare(paths: list) -> pd.DataFrame:
    """:func:`table` plus, for every run after the first, a column ``"<run> vs <first> %"``:
    100 (value - first) / |first| (0 where both are 0, NaN where only the first is 0)."""
    tab = table(paths)
    first = tab.iloc[:, 0]
    out = tab.copy()
    for name in tab.columns[1:]:
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = 100.0 * (tab[name] - first) / first.abs()
        pct[(first == 0) & (tab[name] == 0)] = 0.0
        pct[(first == 0) & (tab[name] != 0)] = np.nan
        out[f"{name} vs {tab.columns[0]} %"] = pct
    return out
