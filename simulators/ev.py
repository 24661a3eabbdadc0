"""Electric vehicles at home chargers: smart charging and V2G (seeds 002, 003), stepped as arrays.

Availability comes from a sessions table, one row per plug-in session (see
:func:`validate_sessions`), given as data, read from a file (:func:`file_sessions`) or drawn by
:func:`sample_sessions`. A row's trip
(``trip_kwh``, or ``trip_km`` times the EV's consumption) is the driving done while away *before*
that arrival; its energy leaves the battery spread evenly over the away interval (seed 003 eq. 17:
P_discharge = E_discharge / dt_drive while unavailable), integrated exactly over each step.

Timing (simulators.fleet): an EV charges or discharges in a step only if it is plugged in for the
whole step, arrival_s <= t and t + dt <= departure_s; session times on the step grid lose nothing
(the sampler rounds them to whole minutes).

Energy (physics.md section 4): E[k+1] = E[k] + eta_c Pc dt - Pd dt / eta_d, with grid-side Pc, Pd.
Charging follows a constant-current/constant-voltage taper (ACN-Sim's two-stage battery): the
grid-side limit is p_charge_max (1 - SOC) / (1 - soc_taper) above soc_taper, stepped exactly
(:func:`cccv_charge_kwh`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import truncnorm

from cosim_base.errors import ConfigError, check
from simulators.datafiles import Sessions
from simulators.fleet import Fleet
from cosim_base.errors import per_unit
from simulators.fleet import or_local, tan_phi
from simulators.storage import grid_power_kw

SESSION_COLUMNS = ("ev", "arrival_s", "departure_s")
#: A departure counts as short (output ``sessions_short``) when its missing energy exceeds this share
#: of the battery's capacity, est.: 2 % (1.2 kWh of 60 kWh, about 7 km), above the 1 % of capacity
#: a planner keeps below "full" under the CC-CV taper and the 0.19 kWh the taper itself leaves.
SHORT_TOL_FRAC = 0.02
TRIP_COLUMNS = ("trip_kwh", "trip_km")


def _truncnorm(mean, sd, k_sd, size, rng):
    """Normal(mean, sd) truncated to mean +- k_sd sd."""
    return truncnorm.rvs(-k_sd, k_sd, loc=mean, scale=sd, size=size, random_state=rng)


@dataclass(frozen=True)
class SessionStats:
    """Distributions of an EV's daily home session (physics.md section 4), as :func:`sample_sessions`
    draws them and as a planner expects them: arrival at hour of day ~ N(``arrival_mean_h``,
    ``arrival_sd_h``), departure at the next hour of day ~ N(``departure_mean_h``,
    ``departure_sd_h``), both truncated to +- ``truncate_sd`` sd; the daily distance before an
    arrival lognormal with median ``distance_median_km`` and log-sd ``distance_sigma`` (0.6 is an
    estimate: mean 30 km). Hours of day are local wall clock; sds may be 0 (a fixed time)."""

    arrival_mean_h: float = 18.0
    arrival_sd_h: float = 2.0
    departure_mean_h: float = 7.0
    departure_sd_h: float = 1.0
    truncate_sd: float = 2.0
    distance_median_km: float = 25.0
    distance_sigma: float = 0.6

    def __post_init__(self):
        for name in ("arrival_sd_h", "departure_sd_h", "distance_sigma"):
            check(f"SessionStats.{name}", getattr(self, name), 0)
        for name in ("truncate_sd", "distance_median_km"):
            check(f"SessionStats.{name}", getattr(self, name), 0, lo_open=True)

    @property
    def mean_km(self) -> float:
        """Mean daily distance: median exp(sigma^2 / 2) (lognormal)."""
        return self.distance_median_km * float(np.exp(self.distance_sigma ** 2 / 2))

    @classmethod
    def estimate(cls, sessions: pd.DataFrame, consumption_kwh_per_km, start_hour_of_day: float = 0.0):
        """Moment estimates from a sessions table (:func:`validate_sessions`, times in s since a
        start at ``start_hour_of_day``): circular mean and sd of the arrival hours (sessions under
        way at the start, arrival_s = 0, left out) and of the departure hours, ``truncate_sd`` the
        largest deviation in sds (1 if none), the lognormal fit (mean and sd of log km) of the
        positive trip distances (``trip_km``, or ``trip_kwh`` / the EV's ``consumption_kwh_per_km``).
        None without an arrival or a positive trip."""
        arr = sessions.loc[sessions.arrival_s > 0]
        ev = arr.ev.to_numpy(int)
        km = (arr.trip_kwh.to_numpy(float) / np.asarray(consumption_kwh_per_km, float)[ev]
              if "trip_kwh" in arr else arr.trip_km.to_numpy(float))
        km = km[km > 0]
        if not km.size:
            return None

        def hours(t_s):
            ang = 2 * np.pi * ((start_hour_of_day + np.asarray(t_s, float) / 3600) % 24) / 24
            mean = np.arctan2(np.sin(ang).mean(), np.cos(ang).mean())
            dev = (ang - mean + np.pi) % (2 * np.pi) - np.pi  # wrapped to [-pi, pi)
            return mean * 12 / np.pi % 24, np.sqrt((dev ** 2).mean()) * 12 / np.pi, np.abs(dev).max() * 12 / np.pi

        a_mean, a_sd, a_dev = hours(arr.arrival_s)
        d_mean, d_sd, d_dev = hours(sessions.departure_s)
        k = max([dev / sd for dev, sd in ((a_dev, a_sd), (d_dev, d_sd)) if sd > 1e-9], default=1.0)
        return cls(a_mean, a_sd, d_mean, d_sd, max(k, 1e-6), float(np.exp(np.log(km).mean())),
                   float(np.log(km).std()))


def sample_sessions(n_ev: int, n_days: int, rng: np.random.Generator, start_hour_of_day: float = 0.0,
                    stats: SessionStats = SessionStats(), *, round_s=60) -> pd.DataFrame:
    """Draw residential plug-in sessions for ``n_ev`` EVs over a run of ``n_days`` days from the
    distributions ``stats`` (:class:`SessionStats`: arrival ~ N(18:00, 2 h), departure next
    morning ~ N(07:00, 1 h), daily distance lognormal with median 25 km, physics.md section 4).
    The run starts at ``start_hour_of_day``
    (0 = midnight); an EV plugged in at the start gets arrival_s = 0 and a trip only for the part
    of its away time inside the run. Departures after the run's end are kept. Times are rounded to
    ``round_s`` seconds. Returns columns ev, arrival_s, departure_s (int), trip_km.
    """
    n_ev = int(check("sample_sessions.n_ev", n_ev, 1))
    n_days = int(check("sample_sessions.n_days", n_days, 1))
    start_h = float(check("sample_sessions.start_hour_of_day", start_hour_of_day, 0, 24, hi_open=True))
    check("sample_sessions.round_s", round_s, 0, lo_open=True)
    for name in ("arrival_sd_h", "departure_sd_h"):
        check(f"sample_sessions.stats.{name}", getattr(stats, name), 0, lo_open=True)
    k = stats.truncate_sd
    a_lo, a_hi = stats.arrival_mean_h - k * stats.arrival_sd_h, stats.arrival_mean_h + k * stats.arrival_sd_h
    d_lo, d_hi = stats.departure_mean_h - k * stats.departure_sd_h, stats.departure_mean_h + k * stats.departure_sd_h
    if not (d_hi < a_lo and a_hi < d_lo + 24):
        raise ConfigError(f"sample_sessions: arrival window [{a_lo}, {a_hi}] h and next-morning departure "
                          f"window [{d_lo}, {d_hi}] h overlap; narrow truncate_sd or the sd")
    days = np.arange(-2, n_days + 1)  # day of arrival, relative to the run's first calendar day
    shape = (n_ev, days.size)
    arr_h = _truncnorm(stats.arrival_mean_h, stats.arrival_sd_h, k, shape, rng) + 24 * days - start_h
    dep_h = _truncnorm(stats.departure_mean_h, stats.departure_sd_h, k, shape, rng) + 24 * (days + 1) - start_h
    km = rng.lognormal(np.log(stats.distance_median_km), stats.distance_sigma, shape)
    prev_dep_h = np.concatenate([arr_h[:, :1] - 24, dep_h[:, :-1]], axis=1)
    in_run = np.clip((arr_h - np.maximum(prev_dep_h, 0)) / (arr_h - prev_dep_h), 0, 1)
    arr_s = np.round(np.maximum(arr_h, 0) * 3600 / round_s) * round_s
    dep_s = np.round(dep_h * 3600 / round_s) * round_s
    keep = (dep_s > 0) & (arr_s < n_days * 86400)
    return pd.DataFrame({
        "ev": np.broadcast_to(np.arange(n_ev)[:, None], shape)[keep],
        "arrival_s": arr_s[keep].astype(np.int64),
        "departure_s": dep_s[keep].astype(np.int64),
        "trip_km": (km * in_run)[keep],
    })


def file_sessions(sessions: Sessions, start: pd.Timestamp, duration_s: float, n_ev: int | None) -> pd.DataFrame:
    """The sessions of a file (simulators.datafiles.read_sessions) that overlap the run
    ``[start, start + duration_s)`` (``start`` tz-aware), as a table for :func:`validate_sessions`.

    Units: with an ``ev`` column each distinct id is one EV, numbered in order of first arrival
    (at most ``n_ev`` ids); without it a session goes to the lowest-numbered EV that is away
    (its previous departure before this arrival); ``n_ev`` None: as many EVs as the file needs
    (a check of the file alone). ``energy_kwh`` becomes the trip before the
    arrival (``trip_kwh``): the EV arrives that much below the level it left with, so uncontrolled
    charging to the target (full) delivers about ``energy_kwh`` again, as recorded. A session under
    way at the start gets arrival_s = 0 and no trip (the EV starts at its initial SOC). Times are
    rounded to whole seconds. A session the fleet cannot take fails naming file, column and row.
    """
    f = sessions.file
    df = sessions.frame
    arr = np.round((df.arrival - start).dt.total_seconds().to_numpy())
    dep = np.round((df.departure - start).dt.total_seconds().to_numpy())
    keep = np.flatnonzero((dep > 0) & (arr < duration_s))
    if not keep.size:
        raise f.fail("arrival", 0, f"no session overlaps the run from {start} for {duration_s} s")
    keep = keep[np.argsort(arr[keep], kind="stable")]
    ids = df.ev.to_numpy() if df.ev.notna().all() else None
    unit_of: dict = {}
    last_dep: list[float] = []  # per EV so far
    last_row: list[int] = []
    ev = np.empty(len(keep), dtype=np.int64)
    for j, i in enumerate(keep):
        row = int(df.row[i])
        if ids is None:
            k = next((k for k, d in enumerate(last_dep) if d < arr[i]), len(last_dep))
        else:
            k = unit_of.setdefault(ids[i], len(unit_of))
            if k < len(last_dep) and arr[i] <= last_dep[k]:
                raise f.fail("arrival", row, f"ev {ids[i]!r} arrives before its session of row "
                                             f"{last_row[k]} departs")
        if k == len(last_dep):
            if n_ev is not None and k == n_ev:
                raise (f.fail("arrival", row, f"all {n_ev} EVs are plugged in: the file has more "
                                              "simultaneous sessions than the fleet has EVs")
                       if ids is None else
                       f.fail("ev", row, f"{ids[i]!r} is id number {k + 1}; the fleet has {n_ev} EVs"))
            last_dep.append(0.0)
            last_row.append(0)
        ev[j], last_dep[k], last_row[k] = k, dep[i], row
    return pd.DataFrame({"ev": ev, "arrival_s": np.maximum(arr[keep], 0).astype(np.int64),
                         "departure_s": dep[keep].astype(np.int64),
                         "trip_kwh": np.where(arr[keep] > 0, df.energy_kwh.to_numpy()[keep], 0.0)})


def validate_sessions(sessions, n_ev: int, horizon_s: float | None = None) -> pd.DataFrame:
    """Check a sessions table; return it sorted by (ev, arrival_s), indexed by row in the input.

    Columns: ``ev`` (0..n_ev-1), ``arrival_s`` >= 0 (and < ``horizon_s`` if given),
    ``departure_s`` > arrival_s (may lie after the run's end), exactly one of ``trip_kwh`` /
    ``trip_km`` (>= 0, driving before this arrival) and optionally ``target_soc`` in [0, 1]
    (energy requested at departure). An EV's sessions must not overlap, and a trip needs time
    away before its arrival. Anything else raises ConfigError naming the column and row (row =
    position in the given table).
    """
    df = pd.DataFrame(sessions).reset_index(drop=True)
    missing = [c for c in SESSION_COLUMNS if c not in df.columns]
    trips = [c for c in TRIP_COLUMNS if c in df.columns]
    if missing or len(trips) != 1:
        raise ConfigError(f"sessions: columns {list(df.columns)}; required {list(SESSION_COLUMNS)} "
                          f"and exactly one of {list(TRIP_COLUMNS)}")
    unknown = set(df.columns) - set(SESSION_COLUMNS) - set(TRIP_COLUMNS) - {"target_soc"}
    if unknown:
        raise ConfigError(f"sessions: unknown column(s) {sorted(unknown)}")
    ev = check("sessions.ev", df["ev"], 0, n_ev - 1)
    if (ev != np.round(ev)).any():
        raise ConfigError(f"sessions.ev[{int(np.argmax(ev != np.round(ev)))}] is not an integer")
    arr = check("sessions.arrival_s", df["arrival_s"], 0, horizon_s, hi_open=True)
    dep = check("sessions.departure_s", df["departure_s"])
    bad = np.flatnonzero(dep <= arr)
    if bad.size:
        i = bad[0]
        raise ConfigError(f"sessions row {i}: arrival_s = {arr[i]} must be before departure_s = {dep[i]}")
    check(f"sessions.{trips[0]}", df[trips[0]], 0)
    if "target_soc" in df:
        check("sessions.target_soc", df["target_soc"], 0, 1)
    df["ev"] = ev.astype(np.int64)
    df = df.sort_values(["ev", "arrival_s"], kind="stable")
    rows = df.index.to_numpy()
    ev, arr, dep = (df[c].to_numpy(float) for c in SESSION_COLUMNS)
    same = ev[1:] == ev[:-1]
    bad = np.flatnonzero(same & (arr[1:] < dep[:-1]))
    if bad.size:
        i, j = rows[bad[0]], rows[bad[0] + 1]
        raise ConfigError(f"sessions rows {i} and {j} of ev {int(ev[bad[0]])} overlap: "
                          f"departure_s = {dep[bad[0]]} is after arrival_s = {arr[bad[0] + 1]}")
    away_start = np.concatenate([[0.0], np.where(same, dep[:-1], 0.0)])
    bad = np.flatnonzero((df[trips[0]].to_numpy(float) > 0) & (arr <= away_start))
    if bad.size:
        i = rows[bad[0]]
        raise ConfigError(f"sessions row {i}: {trips[0]} = {df[trips[0]].iloc[bad[0]]} > 0 but ev "
                          f"{int(ev[bad[0]])} has no time away before arrival_s = {arr[bad[0]]}")
    return df


def cccv_charge_kwh(e_kwh, p_kw, dt_h, capacity_kwh, p_rated_kw, eta_charge, soc_taper):
    """Battery energy after charging at grid-side ``p_kw`` (0 <= p <= p_rated) for ``dt_h`` hours.

    Battery-side power is eta_c min(p, P_max(SOC)) with the two-stage (CC-CV) limit of physics.md
    section 4 / ACN-Sim: P_max = p_rated (1 - SOC) / (1 - s_t) above SOC s_t. With tau =
    C (1 - s_t) / (eta_c p_rated), energy rises linearly at eta_c p until E* = C - eta_c p tau,
    where the taper limit meets p, then exactly as E(t) = C - (C - E*) exp(-t / tau). No upper SOC
    limit here (the caller caps at soc_max: power is zero once it is reached, so capping the end
    energy is exact).
    """
    pb = eta_charge * p_kw
    with np.errstate(divide="ignore", invalid="ignore"):
        tau_h = capacity_kwh * (1 - soc_taper) / (eta_charge * p_rated_kw)
        e_star = capacity_kwh - pb * tau_h
        t_lin = np.clip((e_star - e_kwh) / pb, 0.0, dt_h)
        e_lin = e_kwh + pb * t_lin
        e_end = capacity_kwh - (capacity_kwh - e_lin) * np.exp(-(dt_h - t_lin) / tau_h)
    return np.where(pb > 0, e_end, e_kwh)


def cccv_start_kwh(target_kwh, rest_h, capacity_kwh, p_rated_kw, eta_charge, soc_taper):
    """The least energy from which charging at full power (``p_rated_kw``, under the CC-CV limit
    of :func:`cccv_charge_kwh`) reaches ``target_kwh`` (< capacity) within ``rest_h`` hours, 0 or
    more: the inverse of cccv_charge_kwh at p = p_rated. With tau = C (1 - s_t) / (eta_c p_rated)
    and the knee s_t C: from the knee, C - E(t) = (1 - s_t) C exp(-t / tau), so the taper takes
    t_cv = tau ln((1 - s_t) C / (C - target)) to the target (0 below the knee); if rest_h >= t_cv
    the start is s_t C - eta_c p_rated (rest_h - t_cv), else C - (C - target) exp(rest_h / tau)."""
    c, target = np.asarray(capacity_kwh, float), np.asarray(target_kwh, float)
    tau_h = c * (1 - soc_taper) / (eta_charge * p_rated_kw)
    knee = soc_taper * c
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cv = np.where(target > knee, tau_h * np.log((c - knee) / np.maximum(c - target, 1e-12)), 0.0)
        in_taper = c - (c - target) * np.exp(np.asarray(rest_h, float) / tau_h)
    cc = np.minimum(target, knee) - eta_charge * p_rated_kw * (rest_h - t_cv)
    return np.maximum(np.where(rest_h >= t_cv, cc, in_taper), 0.0)


def windows(arr, dep, away_start, drive_kw_s, target_kwh, t0_s: float, dt_s: float, T: int) -> dict[str, np.ndarray]:
    """Sessions (n, m) (arrival, departure and start of the away time before it in s, trip energy
    per s away in kWh/s, target energy at departure; unused slots: arrival inf, rate 0) seen over T
    periods [t0_s + k dt_s, t0_s + (k + 1) dt_s): ``avail`` (n, T) the share of the period plugged in;
    ``trip_kwh`` (n, T) driving energy in the period; ``need_kwh`` (n, T) at the end of the period of
    a session's departure, its target less the driving after the departure in that period, else 0
    (a period that holds an arrival as well counts its driving before it too); ``dep_end_s`` (n,) departure
    (s after t0_s) of the session plugged in at the horizon's end, past it, else 0, and
    ``target_end_kwh`` (n,) its target."""
    n = arr.shape[0]
    rows = np.arange(n)
    a = t0_s + dt_s * np.arange(T)[None, None, :]  # period starts; (n, m, T) with sessions
    b = a + dt_s
    with np.errstate(invalid="ignore"):
        plugged = np.clip(np.minimum(dep[:, :, None], b) - np.maximum(arr[:, :, None], a), 0, None)
        overlap = np.clip(np.minimum(arr[:, :, None], b) - np.maximum(away_start[:, :, None], a), 0, None)
    avail = np.clip(np.nansum(np.where(np.isfinite(plugged), plugged, 0.0), axis=1) / dt_s, 0.0, 1.0)
    trip = np.nansum(np.where(np.isfinite(overlap), overlap * drive_kw_s[:, :, None], 0.0), axis=1)
    k_dep = np.ceil((dep - t0_s) / dt_s) - 1  # (n, m): the period the departure falls in (or ends)
    need = np.zeros((n, T))
    ev, j = np.nonzero((k_dep >= 0) & (k_dep < T) & (arr < t0_s + T * dt_s))
    k = k_dep[ev, j].astype(int)
    need[ev, k] = np.maximum(target_kwh[ev, j] - trip[ev, k], 0.0)
    t_end = t0_s + T * dt_s
    open_ = (arr <= t_end) & (dep > t_end) & np.isfinite(dep)
    j_end = np.argmax(open_, axis=1)
    has = open_.any(axis=1)
    return {"avail": avail, "trip_kwh": trip, "need_kwh": need,
            "dep_end_s": np.where(has, dep[rows, j_end] - t0_s, 0.0),
            "target_end_kwh": np.where(has, target_kwh[rows, j_end], 0.0)}


class EVFleet(Fleet):
    """n EVs with home chargers; parameters are scalars or length-n sequences.

    sessions: table for :func:`validate_sessions` (DataFrame or dict of columns).
    capacity_kwh (> 0, default 60; 40-80); p_charge_max_kw (>= 0, default 11: 3 ph 16 A);
    p_discharge_max_kw: V2G limit at the grid (>= 0, 0 = no V2G); eta_charge (default 0.9, AC
    0.85-0.93), eta_discharge (default 0.9, est.) in (0, 1]; soc_taper in [0, 1) (CC-CV knee,
    0.8); soc_min (default 0.1, est.: owner's reserve and floor of V2G and driving) <= soc_init
    <= soc_max; target_soc: SOC requested at departure, default soc_max ("full", seed 003), a
    sessions column target_soc overrides it per session; consumption_kwh_per_km (default 0.17,
    0.13-0.20 at the battery) converts trip_km; pf in (0, 1]; horizon_s: run length, if given
    arrivals must lie before it. All physics.md section 4. ``session_stats``: the distributions
    the sessions follow (:class:`SessionStats`, what a planner may expect), None: estimated from the
    sessions (:meth:`SessionStats.estimate`); ``start_hour_of_day``: the wall-clock hour of t = 0.

    Input ``p_set_kw``: grid-side power, positive = charge, negative = V2G; NaN (the default until
    a controller sends a value) is the charger's own behaviour, uncontrolled charging at full
    power from arrival until full (the seeds' "uncoordinated" case). Input ``trip_red_frac``:
    share of the driving in the step the owner forgoes (seed 002's trip reduction), clipped to
    ``trip_red_max_frac`` (default 0: none; seed 002: 0.1); NaN = 0. Outputs at t: soc,
    e_kwh, connected (0/1), t_to_departure_s and e_needed_kwh (battery side, to the session's
    target; both 0 when unplugged), p_max_kw / p_min_kw (grid-side charge limit with taper, and
    -V2G limit, at t; 0 when unplugged or at the SOC limit), cumulative e_missing_kwh (target
    minus energy at each departure, when short), e_missing_feasible_kwh (the part of it the
    session could have received: the target, or less, the energy at arrival plus charging at full
    power, CC-CV taper included, over the plugged time, minus the energy at departure),
    e_requested_kwh (target minus energy at arrival, summed over departures), sessions_short
    (departures missing more than :data:`SHORT_TOL_FRAC` of capacity), e_drive_kwh (trip energy taken from the battery)
    and e_trip_shortfall_kwh (trip energy the battery could not give above soc_min, assumed charged
    elsewhere), e_trip_avoided_kwh (cumulative trip energy forgone by trip reduction). Means over [t, t + dt): p_kw (grid side, positive = drawn), p_batt_kw (into the
    battery), p_mw, q_mvar (consumer convention, q = p tan(arccos pf)).

    Steps start at t = 0 and follow each other (as mosaik calls them). Under the taper "full" is
    approached exponentially, so a target of soc_max = 1 leaves a small e_missing_kwh (0.19 kWh
    after 5 h in the taper at 11 kW on 60 kWh); thresholding it is the KPI layer's choice.
    """

    INPUTS = {"p_set_kw": np.nan, "trip_red_frac": np.nan}
    OUTPUTS = ("p_mw", "q_mvar", "p_kw", "p_batt_kw", "soc", "e_kwh", "connected",
               "t_to_departure_s", "e_needed_kwh", "p_max_kw", "p_min_kw", "e_missing_kwh",
               "e_missing_feasible_kwh", "e_requested_kwh", "sessions_short",
               "e_drive_kwh", "e_trip_shortfall_kwh", "e_trip_avoided_kwh")

    def __init__(self, n: int, sessions, capacity_kwh=60.0, p_charge_max_kw=11.0,
                 p_discharge_max_kw=0.0, eta_charge=0.9, eta_discharge=0.9, soc_taper=0.8,
                 soc_min=0.1, soc_max=1.0, soc_init=0.5, target_soc=None,
                 consumption_kwh_per_km=0.17, pf=1.0, trip_red_max_frac=0.0, horizon_s=None,
                 session_stats: SessionStats | None = None, start_hour_of_day=0.0):
        self.n = int(check("EVFleet.n", n, 1))
        f = "EVFleet."
        self.capacity_kwh = per_unit(f + "capacity_kwh", capacity_kwh, self.n, 0, lo_open=True)
        self.p_charge_max_kw = per_unit(f + "p_charge_max_kw", p_charge_max_kw, self.n, 0)
        self.p_discharge_max_kw = per_unit(f + "p_discharge_max_kw", p_discharge_max_kw, self.n, 0)
        self.eta_charge = per_unit(f + "eta_charge", eta_charge, self.n, 0, 1, lo_open=True)
        self.eta_discharge = per_unit(f + "eta_discharge", eta_discharge, self.n, 0, 1, lo_open=True)
        self.soc_taper = per_unit(f + "soc_taper", soc_taper, self.n, 0, 1, hi_open=True)
        soc_min = per_unit(f + "soc_min", soc_min, self.n, 0, 1)
        soc_max = per_unit(f + "soc_max", soc_max, self.n, 0, 1)
        soc0 = per_unit(f + "soc_init", soc_init, self.n, 0, 1)
        check(f + "soc_max - soc_min", soc_max - soc_min, 0)
        check(f + "soc_init - soc_min", soc0 - soc_min, 0)
        check(f + "soc_max - soc_init", soc_max - soc0, 0)
        target = soc_max if target_soc is None else per_unit(f + "target_soc", target_soc, self.n, 0, 1)
        consumption = per_unit(f + "consumption_kwh_per_km", consumption_kwh_per_km, self.n, 0)
        self.tan_phi = tan_phi(per_unit(f + "pf", pf, self.n, 0, 1, lo_open=True))
        self.trip_red_max_frac = per_unit(f + "trip_red_max_frac", trip_red_max_frac, self.n, 0, 1)
        self.e_min_kwh = soc_min * self.capacity_kwh
        self.e_max_kwh = soc_max * self.capacity_kwh
        self.e_kwh = soc0 * self.capacity_kwh
        self.e_target_kwh = target * self.capacity_kwh  # requested at departure unless a session says
        self.consumption_kwh_per_km = consumption
        self.start_hour_of_day = float(check(f + "start_hour_of_day", start_hour_of_day, 0, 24, hi_open=True))
        table = validate_sessions(sessions, self.n, horizon_s)
        self.session_stats = (SessionStats.estimate(table, consumption, self.start_hour_of_day)
                              if session_stats is None else session_stats)
        self._load_sessions(table, target, soc_max, consumption)
        self._rows = np.arange(self.n)
        self._idx = np.zeros(self.n, dtype=np.int64)  # first session with departure_s > t
        self.e_missing_kwh = np.zeros(self.n)
        self.e_missing_feasible_kwh = np.zeros(self.n)
        self.e_requested_kwh = np.zeros(self.n)
        self.sessions_short = np.zeros(self.n)
        self._session = np.full(self.n, -1)  # session whose arrival energy is booked below
        self._e_arrival = self.e_kwh.copy()
        self._e_full = self.e_kwh.copy()  # the energy had it charged at full power since arrival
        self.e_drive_kwh = np.zeros(self.n)
        self.e_trip_shortfall_kwh = np.zeros(self.n)
        self.e_trip_avoided_kwh = np.zeros(self.n)

    def _load_sessions(self, s: pd.DataFrame, target_soc, soc_max, consumption) -> None:
        """Sessions as (n, m) arrays padded with +inf. Each EV's row ends with a virtual session
        (arrival = departure = inf) after its last real one, so its session index never runs off."""
        ev = s["ev"].to_numpy()
        pos = s.groupby("ev").cumcount().to_numpy()
        m = (int(pos.max()) if len(s) else -1) + 2
        self._arr = np.full((self.n, m), np.inf)
        self._dep = np.full((self.n, m), np.inf)
        self._arr[ev, pos] = s["arrival_s"].to_numpy(float)
        self._dep[ev, pos] = s["departure_s"].to_numpy(float)
        trip = (s["trip_kwh"].to_numpy(float) if "trip_kwh" in s
                else s["trip_km"].to_numpy(float) * consumption[ev])
        soc_t = s["target_soc"].to_numpy(float) if "target_soc" in s else target_soc[ev]
        too_high = np.flatnonzero(soc_t > soc_max[ev])
        if too_high.size:
            i = too_high[0]
            raise ConfigError(f"EVFleet: sessions row {s.index[i]}: target_soc = {soc_t[i]} exceeds "
                              f"soc_max = {soc_max[ev[i]]} of ev {ev[i]}")
        self._target_kwh = np.zeros((self.n, m))
        self._target_kwh[ev, pos] = soc_t * self.capacity_kwh[ev]
        start = np.concatenate([np.zeros((self.n, 1)), self._dep[:, :-1]], axis=1)
        with np.errstate(invalid="ignore"):
            away_s = self._arr - start
        self._away_start = start
        self._drive_kw_s = np.zeros((self.n, m))  # trip energy per second away, kWh/s
        self._drive_kw_s[ev, pos] = np.where(trip > 0, trip / np.where(trip > 0, away_s[ev, pos], 1), 0)

    def step(self, t_s, dt_s, inputs):
        t1 = t_s + dt_s
        dt_h = dt_s / 3600.0
        k = self._idx.copy()
        dep = self._dep[self._rows, k]
        connected = (self._arr[self._rows, k] <= t_s) & (t1 <= dep)
        out = self._state_outputs(t_s, connected, dep, self._target_kwh[self._rows, k])
        new = connected & (self._session != k)
        self._session = np.where(new, k, self._session)
        self._e_arrival = np.where(new, self.e_kwh, self._e_arrival)
        self._e_full = np.where(new, self.e_kwh, self._e_full)
        full = np.minimum(cccv_charge_kwh(self._e_full, self.p_charge_max_kw, dt_h, self.capacity_kwh,
                                          self.p_charge_max_kw, self.eta_charge, self.soc_taper), self.e_max_kwh)
        self._e_full = np.where(connected, full, self._e_full)
        u = or_local({**self.default_inputs(), **inputs},
                     {"p_set_kw": self.p_charge_max_kw, "trip_red_frac": np.zeros(self.n)})
        p_set = u["p_set_kw"]
        e_next = self._power_step(np.where(connected, p_set, 0.0), dt_h)
        p_batt_kw = (e_next - self.e_kwh) / dt_h
        self.e_kwh = e_next
        self._book_departures(t1)
        self._drive(t_s, t1, k, np.clip(u["trip_red_frac"], 0.0, self.trip_red_max_frac))
        out["p_batt_kw"] = p_batt_kw
        out["p_kw"] = grid_power_kw(p_batt_kw, self.eta_charge, self.eta_discharge)
        out["p_mw"] = out["p_kw"] / 1000.0
        out["q_mvar"] = out["p_mw"] * self.tan_phi
        return out

    def initial_outputs(self) -> dict[str, np.ndarray]:
        """The state outputs at t = 0, before the first step (e.g. a controller's initial data)."""
        k = self._idx
        dep = self._dep[self._rows, k]
        connected = (self._arr[self._rows, k] <= 0) & (dep > 0)
        return self._state_outputs(0, connected, dep, self._target_kwh[self._rows, k])

    def schedule(self, t0_s: float, dt_s: float, T: int) -> dict[str, np.ndarray]:
        """The sessions table seen over T periods (:func:`windows`): what a planner that knows
        the EVs' schedules sees (seed 002's day-ahead planning)."""
        return windows(self._arr, self._dep, self._away_start, self._drive_kw_s, self._target_kwh, t0_s, dt_s, T)

    def _state_outputs(self, t_s, connected, dep, target_kwh) -> dict[str, np.ndarray]:
        """Outputs that are states at t."""
        e = self.e_kwh
        taper = np.minimum(1.0, (self.capacity_kwh - e) / (self.capacity_kwh * (1 - self.soc_taper)))
        return {
            "soc": e / self.capacity_kwh,
            "e_kwh": e.copy(),
            "connected": connected.astype(float),
            "t_to_departure_s": np.where(connected, dep - t_s, 0.0),
            "e_needed_kwh": np.where(connected, np.maximum(target_kwh - e, 0.0), 0.0),
            "p_max_kw": np.where(connected & (e < self.e_max_kwh), self.p_charge_max_kw * taper, 0.0),
            "p_min_kw": np.where(connected & (e > self.e_min_kwh), -self.p_discharge_max_kw, 0.0),
            "e_missing_kwh": self.e_missing_kwh.copy(),
            "e_missing_feasible_kwh": self.e_missing_feasible_kwh.copy(),
            "e_requested_kwh": self.e_requested_kwh.copy(),
            "sessions_short": self.sessions_short.copy(),
            "e_drive_kwh": self.e_drive_kwh.copy(),
            "e_trip_shortfall_kwh": self.e_trip_shortfall_kwh.copy(),
            "e_trip_avoided_kwh": self.e_trip_avoided_kwh.copy(),
        }

    def _power_step(self, p_set_kw, dt_h) -> np.ndarray:
        """Battery energy at t + dt after the clipped setpoint (0 for unplugged EVs)."""
        p_ch = np.clip(p_set_kw, 0.0, self.p_charge_max_kw)
        p_dis = np.clip(-p_set_kw, 0.0, self.p_discharge_max_kw)
        e_ch = np.minimum(cccv_charge_kwh(self.e_kwh, p_ch, dt_h, self.capacity_kwh,
                                          self.p_charge_max_kw, self.eta_charge, self.soc_taper),
                          self.e_max_kwh)
        e_dis = np.maximum(self.e_kwh - p_dis / self.eta_discharge * dt_h, self.e_min_kwh)
        return np.where(p_ch > 0, e_ch, np.where(p_dis > 0, e_dis, self.e_kwh))

    def _book_departures(self, t1) -> None:
        """Add the energy missing at each departure in (t, t1] and move to the next session."""
        while True:
            k = self._idx
            gone = self._dep[self._rows, k] <= t1
            if not gone.any():
                return
            target = self._target_kwh[self._rows, k]
            missing = np.maximum(target - self.e_kwh, 0.0)
            booked = gone & (self._session == k)  # plugged in during the run
            self.e_missing_kwh += np.where(gone, missing, 0.0)
            self.e_missing_feasible_kwh += np.where(
                booked, np.maximum(np.minimum(target, self._e_full) - self.e_kwh, 0.0), np.where(gone, missing, 0.0))
            self.e_requested_kwh += np.where(booked, np.maximum(target - self._e_arrival, 0.0), 0.0)
            self.sessions_short += gone & (missing > SHORT_TOL_FRAC * self.capacity_kwh)
            self._idx = k + gone

    def _drive(self, t0, t1, k, red_frac) -> None:
        """Remove trip energy of the away time inside [t0, t1), less the forgone share ``red_frac``;
        ``k`` = session index at t0."""
        drive = np.zeros(self.n)
        active = np.ones(self.n, bool)
        while active.any():
            start = self._away_start[self._rows, k]
            arrival = self._arr[self._rows, k]
            with np.errstate(invalid="ignore"):
                overlap = np.minimum(arrival, t1) - np.maximum(start, t0)
            drive += np.where(active & (overlap > 0), self._drive_kw_s[self._rows, k] * overlap, 0.0)
            active &= self._dep[self._rows, k] < t1
            k = k + active
        self.e_trip_avoided_kwh += red_frac * drive
        drive = (1 - red_frac) * drive
        e = self.e_kwh - drive
        short = np.maximum(self.e_min_kwh - e, 0.0)
        self.e_trip_shortfall_kwh += short
        self.e_drive_kwh += drive - short
        self.e_kwh = e + short
