"""Electric vehicles at home chargers (simulators.ev.EVFleet): smart charging, V2G, trip reduction.

The controller sets the grid-side power ``p_set_kw`` (charging > 0, V2G < 0; NaN: full power on
arrival) and the share of the next trip forgone ``trip_red_frac``; it measures the stored energy,
whether the EV is plugged in, the time to departure and the energy still wanted. What it knows of
future sessions is the option ``ev_schedule``: "session" (the measured current session of a
plugged-in EV), "known" (every session and trip of EVFleet.schedule; seed 002) or "forecast" (the
measured session, then the sessions expected from the fleet's statistics: :func:`forecast_data`).
Owners are paid ``costs.ev_comp_per_mwh`` for V2G and forgone trips.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy.special import ndtr

from controllers.opf.ev import EVBlock
from cosim_base.errors import ConfigError
from devices.kind import DeviceKind, Signal, series_last, series_sum
from simulators.datafiles import read_sessions
from simulators.ev import EVFleet, SessionStats, cccv_start_kwh, file_sessions, sample_sessions, windows
from simulators.forecast import STAGES, ErrorSpec, ForecastErrors

#: EV session targets are planned this fraction of capacity below soc_max: "full" is approached
#: asymptotically under the CC-CV taper (0.01 left every seed 000 EV 0.6 kWh short, 2.2 % of the
#: energy requested; 0.002 needs about 8 h in the taper at hourly periods).
TAPER_TOL = 0.002
#: Records without the plant's ``sessions_short`` (written before it existed): an e_missing_kwh
#: increment (kWh) above this counts as a short session.
EV_SHORT_KWH = 0.5


def ev_fleet(spec, rng: np.random.Generator, n: int, **params) -> EVFleet:
    """``n`` EVs with a random initial SOC in 0.3-0.8 unless ``params`` give ``soc_init``, and the
    sessions of the scenario's session file (``spec.ev_sessions``, simulators.ev.file_sessions;
    their statistics estimated from it), or else sessions sampled for the run (those that begin
    inside it) from simulators.ev.SessionStats (the fleet's session statistics)."""
    start = pd.Timestamp(spec.start)
    start_h = start.hour + start.minute / 60
    if spec.ev_sessions:
        sessions = file_sessions(read_sessions(spec.ev_sessions, spec.tz), spec.start_at, spec.duration_s, n)
        stats = None  # estimated from the file's sessions
    else:
        n_days = int(np.ceil(spec.duration_s / 86400))
        stats = SessionStats()
        sessions = sample_sessions(n, n_days, rng, start_h, stats)
        sessions = sessions[sessions.arrival_s < spec.duration_s].reset_index(drop=True)
    return EVFleet(n, sessions, **{"soc_init": rng.uniform(0.3, 0.8, n), **params}, horizon_s=spec.duration_s,
                   session_stats=stats, start_hour_of_day=start_h)


def end_need(f, idx, rows, target, t_dep, d) -> np.ndarray:
    """Energy needed at the horizon end by EVs ``rows`` departing at ``t_dep`` (s after the
    decision) past it: the least from which full power, under the plant's CC-CV taper
    (simulators.ev.cccv_start_kwh), still reaches ``target`` (and the slower plan's level, or the
    run's terminal one, StageData.end_state, if higher)."""
    rest_h = (t_dep[rows] - d.T * d.dt_s) / 3600
    u = idx[rows]
    end = cccv_start_kwh(target[rows], rest_h, f.capacity_kwh[u], f.p_charge_max_kw[u], f.eta_charge[u], f.soc_taper[u])
    upper = d.end_state("ev.e_kwh")
    if upper is not None:
        end = np.maximum(end, upper[rows])
    return np.clip(end, 0, target[rows])


def session_data(f, m, idx, d) -> dict:
    """The measured current session of plugged-in EVs as one window each (:func:`window_data`):
    available for the share of each period before departure; the session's target at the end of
    the period it departs in, or, when departure is past the horizon, :func:`end_need` at the
    horizon end."""
    conn = m["connected"][idx] > 0.5
    e0 = np.minimum(m["e_kwh"][idx], f.capacity_kwh[idx])
    target = np.maximum(np.minimum(e0 + np.where(conn, m["e_needed_kwh"][idx], 0.0),
                                   f.e_max_kwh[idx] - TAPER_TOL * f.capacity_kwh[idx]), 0.0)
    inf = np.full(len(idx), np.inf)
    arr, dep = np.where(conn, 0.0, inf), np.where(conn, m["t_to_departure_s"][idx], inf)
    s = windows(arr[:, None], dep[:, None], inf[:, None], np.zeros((len(idx), 1)), target[:, None], 0.0, d.dt_s, d.T)
    w = window_data(f, idx, s, d)
    return {"e0_kwh": e0, "avail": w["avail"], "e_need_kwh": w["e_need_kwh"]}


def window_data(f, idx, s, d) -> dict:
    """Block data from sessions seen over the horizon (simulators.ev.windows, rows ``idx``): their
    availability and trips; each departure's target (TAPER_TOL below full) at the end of its last
    plugged-in period; a session open at the horizon end as in :func:`session_data`."""
    T = d.T
    top = (f.e_max_kwh[idx] - TAPER_TOL * f.capacity_kwh[idx])[:, None]
    need = np.minimum(s["need_kwh"], top)
    later = np.flatnonzero(s["dep_end_s"] > T * d.dt_s)
    target = np.minimum(s["target_end_kwh"], top[:, 0])
    need[later, T - 1] = end_need(f, idx, later, target, s["dep_end_s"], d)
    return {"avail": s["avail"], "e_need_kwh": need, "trip_kwh": s["trip_kwh"]}


def known_data(f, m, idx, d) -> dict:
    """The schedule's availability and trips over the horizon (EVFleet.schedule), read by
    :func:`window_data`."""
    s = {k: v[idx] for k, v in f.schedule(d.t_s, d.dt_s, d.T).items()}
    return {"e0_kwh": np.minimum(m["e_kwh"][idx], f.capacity_kwh[idx]), **window_data(f, idx, s, d)}


#: Errors of the expected sessions (``ev_schedule`` "forecast"): 95 % half-widths (da, id, rt) of
#: the arrival and departure time (h) and the relative trip energy, est.: the planner misjudging
#: one EV's habits by about half the fleet's spread day-ahead, less later. Drawn by
#: simulators.forecast.ForecastErrors (nested across stages, streams "forecast"/<signal>/<stage> of
#: the scenario seed) on a daily grid: one draw per EV, day of the expected arrival and stage
#: (tau_h = 1 h makes the days independent).
SESSION_ERRORS = {"ev_arrival_h": ErrorSpec((1.0, 0.5, 0.25), "absolute", tau_h=1.0),
                  "ev_departure_h": ErrorSpec((0.5, 0.25, 0.1), "absolute", tau_h=1.0),
                  "ev_trip": ErrorSpec((0.3, 0.15, 0.05), "relative", tau_h=1.0)}
#: Days of session errors drawn (expected arrivals must fall in the first ERROR_DAYS days of the run).
ERROR_DAYS = 400
DAY_S = 86400


@functools.lru_cache(maxsize=4)
def session_errors(seed: int, n: int, scale: float) -> dict[str, dict[str, np.ndarray]]:
    """signal -> stage -> (n, ERROR_DAYS) errors of :data:`SESSION_ERRORS`, half-widths times
    ``scale`` (0: none), read-only."""
    specs = {k: e.scaled(scale) for k, e in SESSION_ERRORS.items()}
    fe = ForecastErrors(specs, dict.fromkeys(specs, n), ERROR_DAYS * DAY_S, res_s=DAY_S, seed=seed,
                        perfect=scale == 0, growth="target_time")  # one error per EV and day, whenever issued
    out = {k: {st: fe.error(k, st, 0, DAY_S, ERROR_DAYS) for st in STAGES} for k in specs}
    for by_stage in out.values():
        for a in by_stage.values():
            a.flags.writeable = False
    return out


def next_expected_s(after_s, mean_h: float, sd_h: float, k_sd: float) -> np.ndarray:
    """Expected clock time (s, 0 = a midnight) of a daily event at hour of day ~ N(mean_h, sd_h)
    truncated to +- k_sd sd that has not happened by ``after_s``: on the first day whose window
    ends after ``after_s``, the mean of the distribution truncated to [after_s, window end]."""
    after_s = np.asarray(after_s, float)
    day = np.floor((after_s - (mean_h + k_sd * sd_h) * 3600) / DAY_S) + 1
    mu = day * DAY_S + mean_h * 3600
    if sd_h == 0:
        return mu
    # mean of N(mu, sd) on [mu + a sd, mu + b sd]: mu + sd (phi(a) - phi(b)) / (Phi(b) - Phi(a))
    # (the truncated normal's mean; Johnson, Kotz & Balakrishnan, Continuous Univariate Distributions 1, 1994, ch. 13)
    a, b = np.minimum(np.maximum((after_s - mu) / (sd_h * 3600), -k_sd), k_sd), k_sd
    mass = ndtr(b) - ndtr(a)
    shift = np.divide(np.exp(-a * a / 2) - np.exp(-b * b / 2), np.sqrt(2 * np.pi) * mass,
                      out=(a + b) / 2, where=mass > 1e-12)
    return mu + sd_h * 3600 * shift


def expected_sessions(f, idx, t_s: float, free_s, end_s: float, stage: str, errors) -> tuple[np.ndarray, ...]:
    """Sessions (n, m) the fleet's statistics (``f.session_stats``, simulators.ev.SessionStats)
    lead EVs ``idx`` to expect from ``t_s + free_s`` on (``free_s``: a plugged-in EV's time to its
    measured departure, 0 for one away) until ``end_s``: each arrival the expected one not yet
    happened (:func:`next_expected_s`), departure the expected next one after it, the mean trip
    (``mean_km`` x the EV's consumption) before it; ``errors`` (:func:`session_errors`) of
    ``stage`` added, arrivals kept at or after the time the EV is free. The first trip is spread
    from the measured departure, or for an EV away from the expected last departure (at most
    now), so only its share after now is still to drive. Returns arrival, departure, away start
    (s since the run start; inf in unused slots), trip energy per s away and target (kWh), the
    inputs of simulators.ev.windows."""
    st, off = f.session_stats, f.start_hour_of_day * 3600
    n, now = len(idx), t_s + off
    after = now + np.asarray(free_s, float)
    trip_kwh = st.mean_km * f.consumption_kwh_per_km[idx]
    sessions, active = [], np.ones(n, bool)
    while True:
        arr = next_expected_s(after, st.arrival_mean_h, st.arrival_sd_h, st.truncate_sd)
        day = (arr // DAY_S).astype(int)
        if day[active].max(initial=0) >= ERROR_DAYS:
            raise ConfigError(f"EV forecast: an arrival on day {day[active].max()} of the run; session errors "
                              f"are drawn for {ERROR_DAYS} days (devices.ev.ERROR_DAYS)")
        err = {k: e[stage][idx, np.minimum(day, ERROR_DAYS - 1)] for k, e in errors.items()}
        arr = np.maximum(arr + 3600 * err["ev_arrival_h"], after)
        active &= arr < end_s + off
        if not active.any():
            break
        dep = next_expected_s(arr, st.departure_mean_h, st.departure_sd_h, st.truncate_sd)
        dep = np.maximum(dep + 3600 * err["ev_departure_h"], arr + 60)
        if not sessions:  # the first away time: from the measured or the expected last departure
            last = next_expected_s(arr - DAY_S, st.departure_mean_h, 0.0, 0.0)
            start = np.where(after > now, after, np.minimum(last, now))
        else:
            start = after
        trip = trip_kwh * np.maximum(1 + err["ev_trip"], 0.0)
        rate = np.divide(trip, arr - start, out=np.zeros(n), where=arr > start)
        inf = np.full(n, np.inf)
        sessions.append((np.where(active, arr, inf), np.where(active, dep, inf), np.where(active, start, inf),
                         np.where(active, rate, 0.0)))
        after = dep
    if not sessions:
        return tuple(np.full((n, 1), v) for v in (np.inf, np.inf, np.inf, 0.0, 0.0))
    arr, dep, start, rate = (np.stack(x, axis=1) for x in zip(*sessions))
    return arr - off, dep - off, start - off, rate, np.repeat(f.e_target_kwh[idx][:, None], arr.shape[1], axis=1)


def forecast_data(f, m, idx, d) -> dict:
    """A plugged-in EV's measured session (:func:`session_data`), then the sessions expected after
    it, or from now for an EV away (:func:`expected_sessions`), with the stage's seeded errors
    (options ``seed``, ``ev_error_scale``), read by :func:`window_data`. Without session
    statistics (``f.session_stats`` None) the measured session only."""
    out = session_data(f, m, idx, d)
    if f.session_stats is None:
        return out
    conn = m["connected"][idx] > 0.5
    free = np.where(conn, m["t_to_departure_s"][idx], 0.0)
    errors = session_errors(int(d.options.get("seed", 0)), f.n, float(d.options.get("ev_error_scale", 1.0)))
    s = expected_sessions(f, idx, d.t_s, free, d.horizon_end_s, d.stage, errors)
    w = window_data(f, idx, windows(*s, d.t_s, d.dt_s, d.T), d)
    return {"e0_kwh": out["e0_kwh"], "avail": np.maximum(out["avail"], w["avail"]),
            "e_need_kwh": np.maximum(out["e_need_kwh"], w["e_need_kwh"]), "trip_kwh": w["trip_kwh"]}


#: What the controller may know of the EVs (option ``ev_schedule``) and how it reads it.
SCHEDULES = {"session": session_data, "known": known_data, "forecast": forecast_data}


class EV(DeviceKind):
    name, model, fleet_cls = "EV", "EV", EVFleet
    plant_supplied = ("sessions", "horizon_s", "session_stats", "start_hour_of_day")
    measured = (Signal("e_kwh", "kWh", "stored energy", 0.0),
                Signal("connected", "-", "1 while plugged in", 0.0, 1.0),
                Signal("t_to_departure_s", "s", "time to the session's departure (0 when away)", 0.0),
                Signal("e_needed_kwh", "kWh", "energy still wanted by departure", 0.0))
    setpoints = (Signal("p_set_kw", "kW", "grid-side power, charging > 0, V2G < 0; NaN: full power on arrival"),
                 Signal("trip_red_frac", "-", "share of the next trip forgone; NaN: none", 0.0, 1.0))
    recorded = ("p_mw", "soc", "e_kwh", "connected", "e_missing_kwh", "e_missing_feasible_kwh", "e_requested_kwh",
                "sessions_short", "e_trip_avoided_kwh")
    plan_keys = {"ev": ("p_kw", "p_set_kw", "e_kwh", "trip_red_frac")}
    costs = {"cost_ev_compensation": 1.0}
    storage = ("e_kwh", 1 / 0.9)  # EVFleet's default eta_charge
    #: Parameters a model-mismatch study perturbs (controllers.model.mismatch_factors). The
    #: capacity stays exact: the controller measures the energy, which a smaller one could not hold.
    mismatch_keys = ("eta_charge",)

    def make_fleet(self, spec, n, params, rng):
        return ev_fleet(spec, rng, n, **params)

    def initial(self, fleet):
        return fleet.initial_outputs()

    def blocks(self, f, ctx):
        return [(EVBlock(ctx.bus_of(self.name), capacity_kwh=f.capacity_kwh, p_charge_max_kw=f.p_charge_max_kw,
                         p_discharge_max_kw=f.p_discharge_max_kw,
                         eta_charge=np.minimum(ctx.val(self.name, "eta_charge", f.eta_charge), 1.0),
                         eta_discharge=f.eta_discharge, soc_min=f.e_min_kwh / f.capacity_kwh,
                         soc_max=f.e_max_kwh / f.capacity_kwh, soc_taper=f.soc_taper,
                         pf=np.cos(np.arctan(f.tan_phi)), trip_red_max_frac=f.trip_red_max_frac,
                         shortfall_cost_per_mwh=ctx.costs.ev_shortfall_cost_per_mwh, name="ev"),
                 np.arange(f.n))]

    def block_data(self, name, d):
        comp = np.full(len(d.index), d.costs.ev_comp_per_mwh)
        data = SCHEDULES[d.options.get("ev_schedule", "session")](d.fleet, d.meas, d.index, d)
        return data | {"v2g_comp_per_mwh": comp, "trip_comp_per_mwh": comp}

    def dispatch(self, name, plan, k, put):
        put("p_set_kw", plan.x["ev.p_set_kw"][:, k] if k is not None else np.nan)
        if k is None:
            put("trip_red_frac", np.nan)
        elif "ev.trip_red_frac" in plan.x:
            put("trip_red_frac", plan.x["ev.trip_red_frac"][:, k])

    def kpis(self, get, dt_h, control):
        """``ev_energy_delivered_kwh``, ``ev_v2g_kwh``: sums of ``max(p_mw, 0)`` and
        ``max(-p_mw, 0)`` x ``dt_h`` x 1000 (grid side); ``ev_missing_kwh``, ``ev_trip_avoided_kwh``:
        the last recorded cumulative ``e_missing_kwh`` and ``e_trip_avoided_kwh``;
        ``ev_missing_feasible_kwh``: the part of the missing energy the sessions could physically
        have received (charger limit and taper over the plugged time, simulators.ev.EVFleet), so an
        infeasible request is not blamed on the controller; ``ev_requested_kwh``: target minus
        arrival energy over the sessions that ended; ``ev_missing_feasible_pct`` = 100 x the first
        / the second (0 without a request); ``ev_sessions_short``: departures missing more than
        simulators.ev.SHORT_TOL_FRAC of capacity; ``cost_ev_compensation``: (V2G + trip energy
        forgone) / 1000 x ``control.ev_comp_per_mwh``."""
        p, miss = get("p_mw"), get("e_missing_kwh")
        requested = series_last(get("e_requested_kwh"))
        out = {"ev_energy_delivered_kwh": series_sum(p, dt_h, lambda x: np.clip(x, 0, None)) * 1000.0,
               "ev_v2g_kwh": series_sum(p, dt_h, lambda x: np.clip(-x, 0, None)) * 1000.0,
               "ev_missing_kwh": series_last(miss),
               "ev_missing_feasible_kwh": series_last(get("e_missing_feasible_kwh")),
               "ev_requested_kwh": requested,
               "ev_trip_avoided_kwh": series_last(get("e_trip_avoided_kwh")),
               "ev_sessions_short": int(series_last(get("sessions_short")))}
        out["ev_missing_feasible_pct"] = 100.0 * out["ev_missing_feasible_kwh"] / requested if requested > 0 else 0.0
        if miss is not None and get("sessions_short") is None:
            m = miss.ffill().fillna(0.0).to_numpy()
            out["ev_sessions_short"] = int((np.diff(m, axis=0, prepend=0.0) > EV_SHORT_KWH).sum())
        out["cost_ev_compensation"] = (out["ev_v2g_kwh"] + out["ev_trip_avoided_kwh"]) / 1000.0 * control.ev_comp_per_mwh
        return out
