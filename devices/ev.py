"""Electric vehicles at home chargers (simulators.ev.EVFleet): smart charging, V2G, trip reduction.

The controller sets the grid-side power ``p_set_kw`` (charging > 0, V2G < 0; NaN: full power on
arrival) and the share of the next trip forgone ``trip_red_frac``; it measures the stored energy,
whether the EV is plugged in, the time to departure and the energy still wanted. What it knows of
future sessions is the option ``ev_schedule``: "session" (the measured current session of a
plugged-in EV) or "known" (every session and trip of EVFleet.schedule; seed 002). Owners are paid
``costs.ev_comp_per_mwh`` for V2G and forgone trips.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from controllers.opf.ev import EVBlock
from devices.kind import DeviceKind, Signal, series_last, series_sum
from simulators.datafiles import read_sessions
from simulators.ev import EVFleet, file_sessions, sample_sessions

#: EV session targets are planned this fraction of capacity below soc_max: "full" is approached
#: asymptotically under the CC-CV taper.
TAPER_TOL = 0.01
#: Records without the plant's ``sessions_short`` (written before it existed): an e_missing_kwh
#: increment (kWh) above this counts as a short session.
EV_SHORT_KWH = 0.5


def ev_fleet(spec, rng: np.random.Generator, n: int, **params) -> EVFleet:
    """``n`` EVs with a random initial SOC in 0.3-0.8 unless ``params`` give ``soc_init``, and the
    sessions of the scenario's session file (``spec.ev_sessions``, simulators.ev.file_sessions),
    or else sessions sampled for the run (those that begin inside it)."""
    if spec.ev_sessions:
        sessions = file_sessions(read_sessions(spec.ev_sessions, spec.tz), spec.start_at, spec.duration_s, n)
    else:
        start = pd.Timestamp(spec.start)
        n_days = int(np.ceil(spec.duration_s / 86400))
        sessions = sample_sessions(n, n_days, rng, start.hour + start.minute / 60)
        sessions = sessions[sessions.arrival_s < spec.duration_s].reset_index(drop=True)
    return EVFleet(n, sessions, **{"soc_init": rng.uniform(0.3, 0.8, n), **params}, horizon_s=spec.duration_s)


def end_need(f, idx, rows, target, t_dep, d) -> np.ndarray:
    """Energy needed at the horizon end by EVs ``rows`` departing at ``t_dep`` (s after the
    decision) past it: the least from which full power still reaches ``target`` (and the slower
    plan's level, or the run's terminal one, StageData.end_state, if higher)."""
    rest_h = (t_dep[rows] - d.T * d.dt_s) / 3600
    end = target[rows] - f.eta_charge[idx][rows] * f.p_charge_max_kw[idx][rows] * rest_h
    upper = d.end_state("ev.e_kwh")
    if upper is not None:
        end = np.maximum(end, upper[rows])
    return np.clip(end, 0, target[rows])


def session_data(f, m, idx, d) -> dict:
    """The measured current session of plugged-in EVs: available for the periods that end before
    departure; the session's target in the last of them, or, when departure is past the horizon,
    :func:`end_need` at the horizon end."""
    T, dt = d.T, d.dt_s
    conn = m["connected"][idx] > 0.5
    t_dep = np.where(conn, m["t_to_departure_s"][idx], 0.0)
    e0 = np.minimum(m["e_kwh"][idx], f.capacity_kwh[idx])
    target = np.minimum(e0 + np.where(conn, m["e_needed_kwh"][idx], 0.0),
                        f.e_max_kwh[idx] - TAPER_TOL * f.capacity_kwh[idx])
    ends = dt * np.arange(1, T + 1)
    avail = (conn[:, None] & (ends[None, :] <= t_dep[:, None])).astype(float)
    target = np.maximum(target, 0.0)
    need = np.zeros((len(idx), T))
    k_dep = (t_dep // dt).astype(int) - 1
    rows = np.flatnonzero(conn & (k_dep >= 0) & (k_dep < T))
    need[rows, k_dep[rows]] = target[rows]
    later = np.flatnonzero(conn & (k_dep >= T))
    need[later, T - 1] = end_need(f, idx, later, target, t_dep, d)
    return {"e0_kwh": e0, "avail": avail, "e_need_kwh": need}


def known_data(f, m, idx, d) -> dict:
    """The schedule's availability and trips over the horizon; each departure's target (TAPER_TOL
    below full) at the end of its last plugged-in period; a session open at the horizon end as in
    :func:`session_data`."""
    T = d.T
    s = {k: v[idx] for k, v in f.schedule(d.t_s, d.dt_s, T).items()}
    top = (f.e_max_kwh[idx] - TAPER_TOL * f.capacity_kwh[idx])[:, None]
    need = np.minimum(s["need_kwh"], top)
    later = np.flatnonzero(s["dep_end_s"] > T * d.dt_s)
    target = np.minimum(s["target_end_kwh"], top[:, 0])
    need[later, T - 1] = end_need(f, idx, later, target, s["dep_end_s"], d)
    return {"e0_kwh": np.minimum(m["e_kwh"][idx], f.capacity_kwh[idx]), "avail": s["avail"],
            "e_need_kwh": need, "trip_kwh": s["trip_kwh"]}


#: What the controller may know of the EVs (option ``ev_schedule``) and how it reads it.
SCHEDULES = {"session": session_data, "known": known_data}


class EV(DeviceKind):
    name, model, fleet_cls = "EV", "EV", EVFleet
    plant_supplied = ("sessions", "horizon_s")
    measured = (Signal("e_kwh", "kWh", "stored energy", 0.0),
                Signal("connected", "-", "1 while plugged in", 0.0, 1.0),
                Signal("t_to_departure_s", "s", "time to the session's departure (0 when away)", 0.0),
                Signal("e_needed_kwh", "kWh", "energy still wanted by departure", 0.0))
    setpoints = (Signal("p_set_kw", "kW", "grid-side power, charging > 0, V2G < 0; NaN: full power on arrival"),
                 Signal("trip_red_frac", "-", "share of the next trip forgone; NaN: none", 0.0, 1.0))
    recorded = ("p_mw", "soc", "e_kwh", "connected", "e_missing_kwh", "e_missing_feasible_kwh", "e_requested_kwh",
                "sessions_short", "e_trip_avoided_kwh")
    plan_keys = {"ev": ("p_kw", "e_kwh", "trip_red_frac")}
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
                         pf=np.cos(np.arctan(f.tan_phi)), trip_red_max_frac=f.trip_red_max_frac, name="ev"),
                 np.arange(f.n))]

    def block_data(self, name, d):
        comp = np.full(len(d.index), d.costs.ev_comp_per_mwh)
        data = SCHEDULES[d.options.get("ev_schedule", "session")](d.fleet, d.meas, d.index, d)
        return data | {"v2g_comp_per_mwh": comp, "trip_comp_per_mwh": comp}

    def dispatch(self, name, plan, k, put):
        put("p_set_kw", plan.x["ev.p_kw"][:, k] if k is not None else np.nan)
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
