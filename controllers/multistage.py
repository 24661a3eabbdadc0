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
owns go back to their local control (NaN setpoints; taps, capacitors and SVCs: the grid's local
voltage control).
Every decision is returned as a :class:`Decision` with what the stage knew (forecast and its
issue time, measurements), what it decided and the solver's telemetry.

Measurements: ``meas[kind][attr]`` arrays over the plant fleet's units, the attributes each kind
of the device registry declares as ``measured`` (devices.REGISTRY). How measurements and
forecasts become a block's data, which plan arrays are kept and how a plan becomes setpoints is
each kind's own (``DeviceKind.block_data``, ``plan_keys``, ``dispatch``); this module only runs the
stages, their timing, the fallback and the real-time schedule of ``rt_fixed`` blocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from controllers.contract import Action, Controller, FutureInformationError, Observation
from controllers.model import CostParams, Units, plant_blocks
from controllers.opf.grid_devices import FixedLoads
from controllers.opf.network import from_pandapower
from controllers.opf.problem import OPFConfig, OPFProblem, OPFResult
from cosim_base.errors import ConfigError
from devices import REGISTRY, plan_keys
from devices.ev import SCHEDULES
from devices.kind import StageData

STAGE_ORDER = ("da", "id", "rt")
FALLBACKS = ("shift", "local")
#: What the controller knows of the EVs: "session" (the measured current session of a plugged-in
#: EV), "known" (every session and trip of simulators.ev.EVFleet.schedule; seed 002) or "forecast"
#: (the measured session, then the sessions the fleet's statistics lead it to expect;
#: devices.ev.forecast_data).
EV_SCHEDULES = tuple(SCHEDULES)


@dataclass(frozen=True)
class Stage:
    """Timing of one stage: decisions at offset_s + k every_s, plans of T periods of dt_s."""

    name: str
    every_s: int
    dt_s: int
    T: int
    offset_s: int = 0
    track_weight: float = 0.0
    v_margin_pu: float = 0.0  # the OPF's voltage band tightened by this on both sides
    comfort_margin_k: float = 0.0  # every comfort band tightened by this on both sides

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


NETWORK_KEYS = ("p_grid_mw", "q_grid_mvar", "tap_pos", "v_pu", "loss_mw", "v_violation_pu")


class MultiStageController(Controller):
    """The three-stage controller over a plant given as fleet objects (no mosaik), an
    implementation of the controller contract (controllers.contract: :meth:`control`).

    ``net``: a pandapower network equal to the plant's (not the one the plant's grid model
    modifies); ``fleets``/``bus_pos``: plant fleet objects by kind and the bus position of each unit;
    ``stages``: the running stages (a prefix of ``da``, ``id``, ``rt``); ``price``: callable
    (t0_s, dt_s, T) -> (buy, sell) per-period prices per MWh; ``costs``: objective prices;
    ``opf``: OPFConfig keywords shared by all stages (v band, formulation, loss price margin);
    ``passive``: block names left out (their units under local control, their load unseen).
    ``mismatch``: controllers.model.mismatch_factors on the model's parameters (None: exact).
    ``ev_schedule``: one of :data:`EV_SCHEDULES`; ``seed`` and ``ev_error_scale`` (factor on
    devices.ev.SESSION_ERRORS, 0: none): the seeded errors of the "forecast" EV sessions.
    ``terminal``: (t_end_s, kind -> stored state per unit): a stage whose horizon reaches t_end_s
    ends every storing block there (devices.kind.StageData.end_state); None: no terminal states.
    ``aggregate``: identical buildings of a bus as one row per stage (controllers.opf.groups).
    """

    def __init__(self, net, fleets: dict, bus_pos: dict, stages: list[Stage],
                 price: Callable[[int, int, int], tuple[np.ndarray, np.ndarray]],
                 costs: CostParams | None = None, opf: dict | None = None, fallback: str = "shift",
                 loss_price_per_mwh: float = 0.0, passive: tuple[str, ...] = (), mismatch: dict | None = None,
                 ev_schedule: str = "forecast", seed: int = 0, ev_error_scale: float = 1.0,
                 terminal: tuple[int, dict] | None = None, aggregate: bool = False):
        names = tuple(s.name for s in stages)
        if names != STAGE_ORDER[:len(names)] or not names:
            raise ConfigError(f"stages = {names} must be one of {[STAGE_ORDER[:k] for k in (1, 2, 3)]}")
        if fallback not in FALLBACKS:
            raise ConfigError(f"fallback = {fallback!r} must be one of {FALLBACKS}")
        if ev_schedule not in EV_SCHEDULES:
            raise ConfigError(f"ev_schedule = {ev_schedule!r} must be one of {EV_SCHEDULES}")
        self.options = {"ev_schedule": ev_schedule, "seed": int(seed), "ev_error_scale": float(ev_error_scale)}
        self.terminal = terminal
        self.stages = {s.name: s for s in stages}
        self.fallback, self.price, self.loss_price = fallback, price, float(loss_price_per_mwh)
        self.fleets, self.costs = fleets, costs or CostParams()
        self.rn = from_pandapower(net, exclude_shunts=net.shunt.index)
        self.probs: dict[str, OPFProblem] = {}
        self.units: dict[str, dict[str, Units]] = {}
        for s in stages:
            blocks, units = plant_blocks(net, self.rn, fleets, bus_pos, self.costs, mismatch, aggregate)
            unknown = set(passive) - set(units)
            if unknown:
                raise ConfigError(f"passive = {sorted(unknown)}: no such block in this plant; blocks are {sorted(units)}")
            blocks = [b for b in blocks if b.name not in passive]
            units = {k: u for k, u in units.items() if k not in passive}
            if s.name == "rt":  # batteries and MTs become the intraday schedule, a fixed injection
                fixed = [b for b in blocks if b.name in REGISTRY[units[b.name].kind].rt_fixed]
                self._sched = {b.name: units.pop(b.name) for b in fixed}
                blocks = [b for b in blocks if b.name not in self._sched]
                if fixed:
                    blocks.append(FixedLoads(np.concatenate([b.bus for b in fixed]), name="sched"))
            track = {"grid.p_mw": s.track_weight} if s.name != "da" and s.track_weight > 0 else {}
            band = dict(opf or {})
            lo, hi = band.get("v_min_pu", OPFConfig.v_min_pu), band.get("v_max_pu", OPFConfig.v_max_pu)
            if s.v_margin_pu and hi - lo <= 2 * s.v_margin_pu:
                raise ConfigError(f"{s.name}: v_margin_pu = {s.v_margin_pu} leaves no voltage band in [{lo}, {hi}]")
            band.update(v_min_pu=lo + s.v_margin_pu, v_max_pu=hi - s.v_margin_pu)
            cfg = OPFConfig(**band, track=track)
            self.probs[s.name] = OPFProblem(self.rn, blocks, s.T, s.dt_s / 3600, cfg)
            self.units[s.name] = units
        self.plans: dict[str, Plan] = {}
        self.owner = self._owners()
        self.step_s = min(st.dt_s for st in stages)  # the fastest stage's plan resolution

    def control(self, obs: Observation) -> Action:
        """The contract's decision: every stage due at ``obs.t_s`` decides (slowest first) on
        its forecast, then the setpoints of the plans in force."""
        log = []
        for stage in self.due(obs.t_s):
            fc = obs.forecasts.get(stage)
            if fc is None or fc.made_at_s != obs.t_s:
                raise ConfigError(f"stage {stage!r} is due at t = {obs.t_s} s but no forecast for it arrived")
            log.append(self.decide(stage, obs.t_s, obs.meas, fc).log_entry())
        return Action(self.setpoints(obs.t_s), log)

    # ------------------------------------------------------------ who dispatches what
    def _owners(self) -> dict[str, str]:
        """Block name -> stage whose plan the plant follows."""
        fastest = list(self.stages)[-1]
        stage = {"da": "da", "id": "id" if "id" in self.stages else "da", "fastest": fastest}
        return {name: stage[REGISTRY[u.kind].owner.get(name, "fastest")] for name, u in self.units["da"].items()}

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
        keys = plan_keys()
        x = {f"{b}.{k}": np.asarray(res.plan[b][k], float) for b in res.plan if b in keys
             for k in keys[b] if k in res.plan[b]}
        x.update({f"grid.{k}": np.asarray(res.network[k], float) for k in NETWORK_KEYS if k in res.network})
        return Plan(t_s, s.dt_s, s.T, x)

    def _set_data(self, stage: str, t: int, meas: dict, fc: dict) -> None:
        """Every block's data from its kind (DeviceKind.block_data), prices, weather, the network
        data of the grid device kinds and the tracking reference."""
        s, prob, units = self.stages[stage], self.probs[stage], self.units[stage]
        T, dt = s.T, s.dt_s
        upper = self._upper(stage)
        buy, sell = self.price(t, dt, T)
        data = dict(price_import=buy, price_export=sell, price_loss=np.full(T, self.loss_price))
        if "t_out_c" in prob.ctx.params:
            data.update(t_out_c=fc["t_out_c"][0], ghi_kw_m2=fc["ghi_kw_m2"][0])

        ends = self.terminal is not None and t + T * dt >= self.terminal[0]

        def view(kind, index=None):
            return StageData(stage, t, dt, T, self.fleets.get(kind), index, meas.get(kind, {}), fc, upper,
                             self.plans.get("da"), prob, self.costs,
                             {**self.options, "comfort_margin_k": s.comfort_margin_k},
                             self.terminal[1].get(kind) if ends else None)

        blocks = {}
        for name, u in units.items():
            got = REGISTRY[u.kind].block_data(name, view(u.kind, u.index))
            if got is not None:
                blocks[name] = got
        if "sched" in prob.blocks:
            blocks["sched"] = self._scheduled(upper, t, dt, T)
        for kind in REGISTRY.values():
            data.update(kind.network_data(view(kind.name)))
        ref = {}
        if s.track_weight > 0 and stage != "da":
            ref["grid.p_mw"] = (upper.held("grid.p_grid_mw", t, dt, T)[0] if upper is not None
                                else np.zeros(T))
        prob.set_data(blocks=blocks, ref=ref, **data)

    def _upper(self, stage: str) -> Plan | None:
        """The plan in force of the next slower running stage."""
        k = STAGE_ORDER.index(stage)
        return self.plans.get(STAGE_ORDER[k - 1]) if k else None

    def _scheduled(self, upper, t, dt, T) -> dict:
        """Real-time stage: the intraday plan of the rt-fixed blocks (batteries, MTs) as a fixed
        injection (MW, consumer sign)."""
        parts = []
        for name, u in self._sched.items():
            key, sign = REGISTRY[u.kind].rt_fixed[name]
            if upper is not None and key in upper.x:
                parts.append(sign * upper.held(key, t, dt, T))
            else:
                parts.append(np.zeros((len(u.index), T)))
        p = np.concatenate(parts) if parts else np.zeros((0, T))
        return {"p_mw": p, "q_mvar": np.zeros_like(p)}

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
            REGISTRY[u.kind].dispatch(name, plan, k, lambda attr, vals: put(u.kind, attr, u.index, vals))
        da = self.plans.get("da")
        k = da.column(t_s) if da is not None else None
        for name, kind in REGISTRY.items():
            kind.dispatch_network(da, k, lambda attr, vals: out.setdefault(name, {}).update({attr: vals}))
        return out
