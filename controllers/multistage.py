"""Multi-timescale dispatch (seed 001): day-ahead, intraday and real-time stages over one plant model.

Each stage owns one compiled :class:`~controllers.opf.problem.OPFProblem` (built once, re-solved
with new Parameter values at every decision) and the plan of its last successful solve:

* ``da`` (default 24 x 1 h, once a day): everything free; decides the OLTC taps, capacitor steps,
  micro-turbine commitment and a reference plan (grid exchange, storage levels).
* ``id`` (default 16 x 15 min, every hour): taps, capacitor steps and MT commitment fixed from
  the day-ahead plan; tracks the day-ahead grid exchange (``track_weight``, currency per MW^2 h);
  battery and TSEH end levels follow the day-ahead plan at the horizon end.
* ``rt`` (default 3 x 5 min, every 5 min): additionally the batteries and micro-turbines are fixed
  to the intraday plan (seed 001), entering as a scheduled injection; adjusts heat pumps, TSEH,
  EVs, curtailment and the SVC; tracks the intraday grid exchange.

Dispatch: a device follows the plan of the fastest running stage that decides it (taps and
capacitors: ``da``; batteries and MTs: ``id`` if running; the rest: the fastest stage), read at
the column that covers the current time. Fallback after a failed solve (status not optimal):
``"shift"`` keeps the stage's last feasible plan, read at the current time (a plan shifted in
time), while it still covers the time, then the plan of the next slower stage that covers it
(logged as ``"plan:<stage>"``); after that, or at once with ``"local"``, the devices the stage
owns go back to their local control (NaN setpoints; taps and capacitors hold their position).
Every decision is returned as a :class:`Decision` with what the stage knew (forecast and its
issue time, measurements), what it decided and the solver's telemetry.

Measurements: ``meas[kind][attr]`` arrays over the plant fleet's units (``Building``: t_in_c,
t_env_c, e_st_kwh; ``EV``: e_kwh, connected, t_to_departure_s, e_needed_kwh; ``Battery``: e_kwh;
``MicroTurbine``: p_kw; ``HeatHub``: e_tank_kwh; ``Trafo``: tap_pos; ``Capacitor``: step). The
envelope temperature is taken as measured (state estimation is out of scope). Heat hubs take the
forecast signal ``heat`` (kW per hub) and their gas price and CHP revenue from the plant fleet;
the day-ahead stage ends the tank at least as full as measured, later stages at the slower
plan's level.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from controllers.model import CostParams, Units, plant_blocks
from controllers.opf.grid_devices import FixedLoads
from controllers.opf.network import from_pandapower
from controllers.opf.problem import OPFConfig, OPFProblem, OPFResult
from cosim_base.errors import ConfigError
from simulators.rc import first_order_zoh

STAGE_ORDER = ("da", "id", "rt")
FALLBACKS = ("shift", "local")
#: What the controller knows of the EVs: "session" (the measured current session of a plugged-in
#: EV) or "known" (every session and trip of simulators.ev.EVFleet.schedule; seed 002).
EV_SCHEDULES = ("session", "known")
#: Blocks fixed to the intraday plan in the real-time stage (seed 001).
RT_FIXED = ("ess", "mt")
#: EV session targets are planned this fraction of capacity below soc_max (see _ev_data).
TAPER_TOL = 0.01


@dataclass(frozen=True)
class Stage:
    """Timing of one stage: decisions at offset_s + k every_s, plans of T periods of dt_s."""

    name: str
    every_s: int
    dt_s: int
    T: int
    offset_s: int = 0
    track_weight: float = 0.0

    def due(self, t_s: int) -> bool:
        """Decision times: the start (every stage needs a first plan) and offset_s + k every_s."""
        return t_s == 0 or (t_s >= self.offset_s and (t_s - self.offset_s) % self.every_s == 0)


@dataclass
class Plan:
    """A stage's plan in force: periods start_s + k dt_s, k < T; ``x`` holds block.key arrays."""

    start_s: int
    dt_s: int
    T: int
    x: dict[str, np.ndarray]

    def column(self, t_s: int) -> int | None:
        k = (t_s - self.start_s) // self.dt_s
        return int(k) if 0 <= k < self.T else None

    def state_at(self, key: str, t_s: float) -> np.ndarray:
        """A state trajectory (n, T+1) at time t_s, linearly interpolated, held beyond the ends."""
        s = self.x[key]
        pos = np.clip((t_s - self.start_s) / self.dt_s, 0, s.shape[1] - 1)
        k = min(int(pos), s.shape[1] - 2)
        w = pos - k
        return (1 - w) * s[:, k] + w * s[:, k + 1]

    def held(self, key: str, t0_s: int, dt_s: int, T: int) -> np.ndarray:
        """Per-period values (n, T) of this plan at another stage's periods (zero-order hold)."""
        a = np.atleast_2d(self.x[key])
        k = np.clip((t0_s + dt_s * np.arange(T) - self.start_s) // self.dt_s, 0, a.shape[1] - 1)
        return a[:, k]


@dataclass
class Decision:
    """One stage decision: what it knew, what it decided, how the solve went."""

    stage: str
    t_s: int
    status: str
    fallback: str = ""
    forecast_made_at_s: int = -1
    result: OPFResult | None = None
    plan: Plan | None = None
    forecast: dict = field(default_factory=dict)
    meas: dict = field(default_factory=dict)

    def log_entry(self) -> dict:
        """Flat record for the HDF5 log: scalars and arrays (plans over the horizon, forecasts)."""
        r = self.result or OPFResult(status=self.status)
        scalars = dict(status=self.status, fallback=self.fallback, forecast_made_at_s=int(self.forecast_made_at_s),
                       objective=r.objective, solve_time_s=r.solve_time_s, wall_time_s=r.wall_time_s,
                       build_time_s=r.build_time_s, iterations=int(r.iterations),
                       gap_rel=np.nan if r.gap_rel is None else r.gap_rel,
                       discrete_method=r.discrete_method, diagnosis="; ".join(r.diagnosis))
        arrays = {f"forecast.{k}": v for k, v in self.forecast.items()}
        arrays.update({f"meas.{k}": v for k, v in self.meas.items()})
        if self.plan is not None and self.status in ("optimal", "optimal_inaccurate"):
            arrays.update({f"plan.{k}": v for k, v in self.plan.x.items()})
        return {"group": f"control/{self.stage}", "t_s": int(self.t_s), "scalars": scalars, "arrays": arrays}


#: Plan arrays kept per block (block key -> plan keys); network entries are kept separately.
PLAN_KEYS = {
    "hp": ("p_hp_kw", "t_in_c"), "tseh": ("p_hp_kw", "p_eh_kw", "p_st_kw", "q_rel_kw", "e_st_kwh", "t_in_c"),
    "ev": ("p_kw", "e_kwh", "trip_red_frac"), "ess": ("p_mw", "e_mwh"), "mt": ("p_gen_mw", "u_on"), "pv": ("p_gen_mw", "curtail_mw"),
    "wind": ("p_gen_mw", "curtail_mw"), "cb": ("steps",), "svc": ("q_gen_mvar",),
    "heat_hub": ("p_chp_kw", "chp_on", "p_eb_kw", "q_gb_kw", "e_tank_kwh", "q_unmet_kw"),
}
NETWORK_KEYS = ("p_grid_mw", "q_grid_mvar", "tap_pos", "v_pu", "loss_mw")


class MultiStageController:
    """The three-stage controller over a plant given as fleet objects (layer 1, no mosaik).

    ``net``: a pandapower network equal to the plant's (not the one the plant's grid model
    modifies); ``fleets``/``bus_pos``: plant fleet objects by kind and the bus position of each unit;
    ``stages``: the running stages (a prefix of ``da``, ``id``, ``rt``); ``price``: callable
    (t0_s, dt_s, T) -> (buy, sell) per-period prices per MWh; ``costs``: objective prices;
    ``opf``: OPFConfig keywords shared by all stages (v band, formulation, loss price margin);
    ``passive``: block names left out (their units under local control, their load unseen).
    ``mismatch``: controllers.model.mismatch_factors on the model's parameters (None: exact).
    ``ev_schedule``: one of :data:`EV_SCHEDULES`.
    """

    def __init__(self, net, fleets: dict, bus_pos: dict, stages: list[Stage],
                 price: Callable[[int, int, int], tuple[np.ndarray, np.ndarray]],
                 costs: CostParams | None = None, opf: dict | None = None, fallback: str = "shift",
                 loss_price_per_mwh: float = 0.0, passive: tuple[str, ...] = (), mismatch: dict | None = None,
                 ev_schedule: str = "session"):
        names = tuple(s.name for s in stages)
        if names != STAGE_ORDER[:len(names)] or not names:
            raise ConfigError(f"stages = {names} must be one of {[STAGE_ORDER[:k] for k in (1, 2, 3)]}")
        if fallback not in FALLBACKS:
            raise ConfigError(f"fallback = {fallback!r} must be one of {FALLBACKS}")
        if ev_schedule not in EV_SCHEDULES:
            raise ConfigError(f"ev_schedule = {ev_schedule!r} must be one of {EV_SCHEDULES}")
        self.ev_schedule = ev_schedule
        self.stages = {s.name: s for s in stages}
        self.fallback, self.price, self.loss_price = fallback, price, float(loss_price_per_mwh)
        self.fleets, self.costs = fleets, costs or CostParams()
        self.rn = from_pandapower(net, exclude_shunts=net.shunt.index)
        self.probs: dict[str, OPFProblem] = {}
        self.units: dict[str, dict[str, Units]] = {}
        for s in stages:
            blocks, units = plant_blocks(net, self.rn, fleets, bus_pos, self.costs, mismatch)
            unknown = set(passive) - set(units)
            if unknown:
                raise ConfigError(f"passive = {sorted(unknown)}: no such block in this plant; blocks are {sorted(units)}")
            blocks = [b for b in blocks if b.name not in passive]
            units = {k: u for k, u in units.items() if k not in passive}
            if s.name == "rt":  # batteries and MTs become the intraday schedule, a fixed injection
                fixed = [b for b in blocks if b.name in RT_FIXED]
                self._sched = [units.pop(b.name) for b in fixed]
                blocks = [b for b in blocks if b.name not in RT_FIXED]
                if fixed:
                    blocks.append(FixedLoads(np.concatenate([b.bus for b in fixed]), name="sched"))
            track = {"grid.p_mw": s.track_weight} if s.name != "da" and s.track_weight > 0 else {}
            cfg = OPFConfig(**(opf or {}), track=track)
            self.probs[s.name] = OPFProblem(self.rn, blocks, s.T, s.dt_s / 3600, cfg)
            self.units[s.name] = units
        self.plans: dict[str, Plan] = {}
        self.owner = self._owners()

    # ------------------------------------------------------------ who dispatches what
    def _owners(self) -> dict[str, str]:
        """Block name -> stage whose plan the plant follows."""
        fastest = list(self.stages)[-1]
        owner = {}
        for name in self.units["da"]:
            if name in ("cb",):
                owner[name] = "da"
            elif name in RT_FIXED:
                owner[name] = "id" if "id" in self.stages else "da"
            else:
                owner[name] = fastest
        return owner

    def due(self, t_s: int) -> list[str]:
        """Stages with a decision at t_s, slowest first (their plans feed the faster ones)."""
        return [n for n, s in self.stages.items() if s.due(t_s)]

    # ------------------------------------------------------------ one decision
    def decide(self, stage: str, t_s: int, meas: dict, forecast) -> Decision:
        """Set the stage's data from ``meas`` and ``forecast`` (made at or before t_s), solve, keep
        the plan or apply the fallback."""
        if forecast.made_at_s > t_s:
            raise FutureInformationError(f"{stage} at t = {t_s} s received a forecast made at "
                                         f"{forecast.made_at_s} s")
        s, prob = self.stages[stage], self.probs[stage]
        if forecast.start_s != t_s or forecast.dt_s != s.dt_s:
            raise ConfigError(f"{stage}: forecast grid (start {forecast.start_s}, dt {forecast.dt_s}) does not "
                              f"match the stage's (start {t_s}, dt {s.dt_s})")
        self._set_data(stage, t_s, meas, forecast.values)
        res = prob.solve(discrete="round")
        dec = Decision(stage, t_s, res.status, forecast_made_at_s=forecast.made_at_s, result=res,
                       forecast=dict(forecast.values), meas={f"{k}.{a}": v for k, d in meas.items()
                                                             for a, v in d.items()})
        if res.ok:
            dec.plan = self._plan(stage, t_s, res)
            self.plans[stage] = dec.plan
            return dec
        old = self.plans.get(stage)
        if self.fallback == "shift" and old is not None and old.column(t_s) is not None:
            dec.fallback, dec.plan = "shift", old
            return dec
        self.plans.pop(stage, None)
        slower = STAGE_ORDER[:STAGE_ORDER.index(stage)]
        covered = [n for n in slower if n in self.plans and self.plans[n].column(t_s) is not None]
        dec.fallback = f"plan:{covered[-1]}" if self.fallback == "shift" and covered else "local"
        return dec

    def _plan(self, stage: str, t_s: int, res: OPFResult) -> Plan:
        s = self.stages[stage]
        x = {f"{b}.{k}": np.asarray(res.plan[b][k], float) for b in res.plan if b in PLAN_KEYS
             for k in PLAN_KEYS[b] if k in res.plan[b]}
        x.update({f"grid.{k}": np.asarray(res.network[k], float) for k in NETWORK_KEYS if k in res.network})
        return Plan(t_s, s.dt_s, s.T, x)

    def _set_data(self, stage: str, t: int, meas: dict, fc: dict) -> None:
        s, prob, units = self.stages[stage], self.probs[stage], self.units[stage]
        T, dt = s.T, s.dt_s
        upper = self._upper(stage)
        buy, sell = self.price(t, dt, T)
        data = dict(price_import=buy, price_export=sell, price_loss=np.full(T, self.loss_price))
        if "t_out_c" in prob.ctx.params:
            data.update(t_out_c=fc["t_out_c"][0], ghi_kw_m2=fc["ghi_kw_m2"][0])
        blocks, ref = {}, {}
        for name, u in units.items():
            f, idx = self.fleets.get(u.kind), u.index
            m = meas.get(u.kind, {})
            if name == "load":
                p = fc["load"][idx] / 1000
                blocks[name] = {"p_mw": p, "q_mvar": p * np.tan(np.arccos(f.pf[idx]))[:, None]}
            elif name in ("pv", "wind"):
                blocks[name] = {"p_avail_mw": fc[name][idx] / 1000}
            elif name == "ess":
                e0 = m["e_kwh"][idx] / 1000
                d = {"e0_mwh": e0}
                if upper is not None and "ess.e_mwh" in upper.x:
                    reach = f.p_max_kw[idx] / 1000 * T * dt / 3600
                    lo, hi = f.soc_min[idx] * f.capacity_kwh[idx] / 1000, f.soc_max[idx] * f.capacity_kwh[idx] / 1000
                    e_end = upper.state_at("ess.e_mwh", t + T * dt)
                    d["e_final_mwh"] = np.clip(e_end, np.maximum(lo, e0 - reach / f.eta_discharge[idx]),
                                               np.minimum(hi, e0 + reach * f.eta_charge[idx]))
                blocks[name] = d
            elif name == "mt":
                blocks[name] = {"p0_mw": m["p_kw"][idx] / 1000}
                self._fix_commitment(prob, t, dt, T)
            elif name in ("hp", "tseh"):
                p = f.p
                d = {"t_in0_c": m["t_in_c"][idx], "t_env0_c": m["t_env_c"][idx],
                     "phi_int_kw": np.repeat(p["phi_int_kw"][idx][:, None], T, axis=1),
                     "t_low_c": np.repeat(p["t_low_c"][idx][:, None], T, axis=1),
                     "t_up_c": np.repeat(p["t_up_c"][idx][:, None], T, axis=1)}
                if name == "tseh":
                    e_max = p["e_st_max_kwh"][idx]
                    d["e_st0_kwh"] = np.clip(m["e_st_kwh"][idx], 0, e_max)
                    if upper is not None and "tseh.e_st_kwh" in upper.x:
                        d["e_st_end_kwh"] = self._reachable_store(p, idx, d["e_st0_kwh"], T * dt / 3600,
                                                                  upper.state_at("tseh.e_st_kwh", t + T * dt))
                blocks[name] = d
            elif name == "ev":
                blocks[name] = self._ev_data(f, m, idx, t, dt, T, upper)
            elif name == "heat_hub":
                e_max = f.p["e_tank_max_kwh"][idx]
                e0 = np.clip(m["e_tank_kwh"][idx], 0, e_max)
                end = (upper.state_at("heat_hub.e_tank_kwh", t + T * dt)
                       if upper is not None and "heat_hub.e_tank_kwh" in upper.x else e0)
                blocks[name] = {"e_tank0_kwh": e0, "e_tank_end_kwh": np.clip(end, 0, e_max),
                                "q_demand_kw": fc["heat"][idx],
                                "gas_price_per_mwh": np.full(T, 1000 * f.p["gas_price_per_kwh"][idx].mean()),
                                "chp_revenue_per_mwh": np.full(T, 1000 * f.p["chp_revenue_per_kwh"][idx].mean())}
            elif name == "cb":
                if stage != "da":
                    blocks[name] = {"steps": self._day_ahead_or_held("cb.steps", meas["Capacitor"]["step"], t, dt, T)}
        if "sched" in prob.blocks:
            blocks["sched"] = self._scheduled(upper, t, dt, T)
        if self.rn.oltc is not None:
            data["tap_pos"] = None if stage == "da" else self._day_ahead_or_held(
                "grid.tap_pos", meas["Trafo"]["tap_pos"], t, dt, T)[0].astype(int)
        if s.track_weight > 0 and stage != "da":
            ref["grid.p_mw"] = (upper.held("grid.p_grid_mw", t, dt, T)[0] if upper is not None
                                else np.zeros(T))
        prob.set_data(blocks=blocks, ref=ref, **data)

    @staticmethod
    def _reachable_store(p: dict, idx, e0, h: float, e_end) -> np.ndarray:
        """The slower plan's storage level at the horizon end, moved into what full charging or
        full release can reach from the measured level e0 in h hours (kept 1 % inside)."""
        decay, gain = first_order_zoh(p["st_loss_per_h"][idx], h)
        hi = decay * e0 + gain * p["eta_st"][idx] * p["p_st_max_kw"][idx]
        lo = decay * e0 - gain * p["q_rel_max_kw"][idx]
        hi, lo = hi - 0.01 * (hi - lo), lo + 0.01 * (hi - lo)
        return np.clip(np.clip(e_end, lo, hi), 0, p["e_st_max_kwh"][idx])

    def _upper(self, stage: str) -> Plan | None:
        """The plan in force of the next slower running stage."""
        k = STAGE_ORDER.index(stage)
        return self.plans.get(STAGE_ORDER[k - 1]) if k else None

    def _day_ahead_or_held(self, key: str, measured: np.ndarray, t, dt, T) -> np.ndarray:
        """Positions of a slow device (taps, capacitor steps) fixed for a later stage: the day-ahead
        plan's at these periods, else the measured position held. (n, T) integers as floats."""
        da = self.plans.get("da")
        if da is not None and key in da.x:
            return np.rint(da.held(key, t, dt, T))
        return np.repeat(np.rint(measured)[:, None], T, axis=1)

    def _fix_commitment(self, prob, t, dt, T) -> None:
        """MT on/off: free in the day-ahead stage, the day-ahead plan's afterwards."""
        d = prob.blocks["mt"].discrete[0]
        da = self.plans.get("da")
        if prob is self.probs["da"] or da is None:
            d.lo.value, d.hi.value = np.zeros(d.lo.shape), np.ones(d.hi.shape)
        else:
            u = np.rint(da.held("mt.u_on", t, dt, T))
            d.lo.value, d.hi.value = u.copy(), u.copy()

    def _scheduled(self, upper, t, dt, T) -> dict:
        """Real-time stage: the intraday plan of batteries and MTs as a fixed injection (MW)."""
        parts = []
        for u in self._sched:
            key = "ess.p_mw" if u.kind == "Battery" else "mt.p_gen_mw"
            sign = 1.0 if u.kind == "Battery" else -1.0
            if upper is not None and key in upper.x:
                parts.append(sign * upper.held(key, t, dt, T))
            else:
                parts.append(np.zeros((len(u.index), T)))
        p = np.concatenate(parts) if parts else np.zeros((0, T))
        return {"p_mw": p, "q_mvar": np.zeros_like(p)}

    def _ev_data(self, f, m, idx, t, dt, T, upper) -> dict:
        """Plugged-in EVs: available for the periods that end before departure; the session's target
        in the last of them, or, when departure is past the horizon, the least energy at the horizon
        end from which full power still reaches the target (and the slower plan's level if higher).
        With ``ev_schedule = "known"`` every session and trip of the schedule (:meth:`_ev_known`).
        Owners are paid ``costs.ev_comp_per_mwh`` for V2G and forgone trips."""
        comp = np.full(len(idx), self.costs.ev_comp_per_mwh)
        d = (self._ev_known if self.ev_schedule == "known" else self._ev_session)(f, m, idx, t, dt, T, upper)
        return d | {"v2g_comp_per_mwh": comp, "trip_comp_per_mwh": comp}

    def _ev_known(self, f, m, idx, t, dt, T, upper) -> dict:
        """The schedule's availability and trips over the horizon; each departure's target (1 % of
        capacity below full, see TAPER_TOL) at the end of its last plugged-in period; a session
        open at the horizon end as in :meth:`_ev_session`."""
        s = {k: v[idx] for k, v in f.schedule(t, dt, T).items()}
        top = (f.e_max_kwh[idx] - TAPER_TOL * f.capacity_kwh[idx])[:, None]
        need = np.minimum(s["need_kwh"], top)
        later = np.flatnonzero(s["dep_end_s"] > T * dt)
        target = np.minimum(s["target_end_kwh"], top[:, 0])
        need[later, T - 1] = self._end_need(f, idx, later, target, s["dep_end_s"], t, dt, T, upper)
        return {"e0_kwh": np.minimum(m["e_kwh"][idx], f.capacity_kwh[idx]), "avail": s["avail"],
                "e_need_kwh": need, "trip_kwh": s["trip_kwh"]}

    def _end_need(self, f, idx, rows, target, t_dep, t, dt, T, upper) -> np.ndarray:
        """Energy needed at the horizon end by EVs ``rows`` departing at ``t_dep`` (s after t)
        past it: the least from which full power still reaches ``target`` (and the slower plan's
        level if higher)."""
        rest_h = (t_dep[rows] - T * dt) / 3600
        end = target[rows] - f.eta_charge[idx][rows] * f.p_charge_max_kw[idx][rows] * rest_h
        if upper is not None and "ev.e_kwh" in upper.x:
            end = np.maximum(end, upper.state_at("ev.e_kwh", t + T * dt)[rows])
        return np.clip(end, 0, target[rows])

    def _ev_session(self, f, m, idx, t, dt, T, upper) -> dict:
        """The measured current session of plugged-in EVs (see :meth:`_ev_data`)."""
        conn = m["connected"][idx] > 0.5
        t_dep = np.where(conn, m["t_to_departure_s"][idx], 0.0)
        e0 = np.minimum(m["e_kwh"][idx], f.capacity_kwh[idx])
        # "Full" is approached asymptotically under the CC-CV taper: plan for 1 % of capacity below it.
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
        need[later, T - 1] = self._end_need(f, idx, later, target, t_dep, t, dt, T, upper)
        return {"e0_kwh": e0, "avail": avail, "e_need_kwh": need}

    # ------------------------------------------------------------ dispatch
    def _plan_in_force(self, block: str, stage: str, t_s: int):
        """(plan, column) the block follows at t_s: its owner stage's plan, else the next slower
        stage's that covers t_s and decides the block (a failed fast stage falls back on the
        slower plan), else (None, None): local control."""
        chain = STAGE_ORDER[:STAGE_ORDER.index(stage) + 1]
        for name in reversed(chain if self.fallback == "shift" else chain[-1:]):
            plan = self.plans.get(name)
            k = plan.column(t_s) if plan is not None else None
            if k is not None and any(key.startswith(block + ".") for key in plan.x):
                return plan, k
        return None, None

    def setpoints(self, t_s: int) -> dict[str, dict[str, np.ndarray]]:
        """Plant inputs for [t_s, next decision): kind -> attr -> values over the fleet's units
        (NaN = the unit's local control). Grid devices: "Trafo" tap_pos, "Capacitor" step, "SVC"
        q_mvar (consumer convention)."""
        out: dict[str, dict[str, np.ndarray]] = {}

        def put(kind, attr, idx, vals):
            n = self.fleets[kind].n if kind in self.fleets else len(idx)
            arr = out.setdefault(kind, {}).setdefault(attr, np.full(n, np.nan))
            arr[idx] = vals

        for name, stage in self.owner.items():
            u = self.units["da"][name]
            plan, k = self._plan_in_force(name, stage, t_s)
            col = (lambda key: plan.x[key][:, k]) if k is not None else (lambda key: np.full(len(u.index), np.nan))
            if name in ("hp", "tseh"):
                keys = ("p_hp_kw",) + (("p_eh_kw", "p_st_kw", "q_rel_kw") if name == "tseh" else ())
                for key in keys:
                    put("Building", key, u.index, col(f"{name}.{key}"))
                if name == "hp":
                    for key in ("p_eh_kw", "p_st_kw", "q_rel_kw"):
                        put("Building", key, u.index, 0.0 if k is not None else np.nan)
            elif name == "ev":
                put("EV", "p_set_kw", u.index, col("ev.p_kw"))
                if k is None or "ev.trip_red_frac" in plan.x:
                    put("EV", "trip_red_frac", u.index, col("ev.trip_red_frac"))
            elif name == "ess":
                put("Battery", "p_set_kw", u.index, col("ess.p_mw") * 1000)
            elif name == "mt":
                on = col("mt.u_on")
                put("MicroTurbine", "on", u.index, np.rint(on))
                put("MicroTurbine", "p_set_kw", u.index, col("mt.p_gen_mw") * 1000)
            elif name in ("pv", "wind"):  # a limit only where the plan curtails (> 1 kW)
                cut = col(f"{name}.curtail_mw") > 1e-3
                put(u.kind, "p_max_kw", u.index, np.where(cut, col(f"{name}.p_gen_mw") * 1000, np.nan))
            elif name == "heat_hub":
                for key in ("p_chp_kw", "p_eb_kw", "q_gb_kw"):
                    put("HeatHub", key, u.index, col(f"heat_hub.{key}"))
            elif name == "cb":
                put("Capacitor", "step", u.index, np.rint(col("cb.steps")))
            elif name == "svc":
                put("SVC", "q_mvar", u.index, -col("svc.q_gen_mvar"))
        da = self.plans.get("da")
        k = da.column(t_s) if da is not None else None
        if self.rn.oltc is not None and k is not None and "grid.tap_pos" in da.x:
            out["Trafo"] = {"tap_pos": np.array([float(np.rint(da.x["grid.tap_pos"][k]))])}
        return out


class FutureInformationError(RuntimeError):
    """A stage was handed information from after its decision time."""
