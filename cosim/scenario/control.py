"""``[control]``: the controller of a run, the built-in three-stage one's timing, band, costs and
options, or a user's controller by import path with its ``[control.params]``."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from controllers.contract import ForecastRequest, load_controller
from cosim.scenario.checks import (_FrozenMap, _Table, _build, _check_keys, _choice, _float, _int, _names, _set,
                                   _toml_list)
from cosim_base.errors import ConfigError
from devices import plan_keys

STAGE_ORDER = ("da", "id", "rt")
#: Allowed ``control.stages``; () = no controller, every device under its own local control.
STAGE_SETS = ((), ("da",), ("da", "id"), ("da", "id", "rt"))
FORMULATIONS = ("socp", "lindistflow", "bim")  # those of controllers.opf.problem (checked by a test)
FALLBACKS = ("shift", "local")
EV_SCHEDULES = ("session", "known", "forecast")  # those of controllers.multistage (checked by a test)
#: Where the controller runs: "in" the world's process, or "separate" (cosim.controller_process,
#: started by mosaik over TCP: the contract over mosaik).
PROCESSES = ("in", "separate")
#: Controller blocks a scenario may leave to local control: the registry kinds' planned blocks.
PASSIVE_BLOCKS = tuple(plan_keys())


@dataclass(frozen=True)
class StageConfig(_Table):
    """Timing of one controller stage: a decision at ``offset_s + k every_s``, each a plan of
    ``T = horizon_s // dt_s`` periods of ``dt_s``; ``track_weight`` (currency per MW^2 h) weights
    the deviation of the grid exchange from the slower stage's plan (unused by ``da``).

    Robustness margins (what the stage cannot see, kept off the limits it plans to):
    ``v_margin_pu`` (0..0.05) tightens the voltage band on both sides, ``comfort_margin_k`` (0..2)
    the comfort band of every building (never below a 0.5 K wide band); 0 turns them off.

    Rules: ``dt_s`` > 0 divides ``horizon_s`` and ``every_s``; ``offset_s`` in ``[0, every_s)``;
    ``every_s <= horizon_s`` (a plan must cover the time until the stage's next decision).
    """

    every_s: int
    dt_s: int
    horizon_s: int
    offset_s: int = 0
    track_weight: float = 0.0
    v_margin_pu: float = 0.0
    comfort_margin_k: float = 0.0

    def __post_init__(self):
        for key in ("every_s", "dt_s", "horizon_s"):
            _set(self, key, _int(key, getattr(self, key), 1))
        for key in ("horizon_s", "every_s"):
            if getattr(self, key) % self.dt_s:
                raise ConfigError(f"dt_s = {self.dt_s} must divide {key} = {getattr(self, key)}")
        if self.every_s > self.horizon_s:
            raise ConfigError(f"every_s = {self.every_s} must be <= horizon_s = {self.horizon_s} "
                              "(a plan must cover the time until the next decision)")
        _set(self, "offset_s", _int("offset_s", self.offset_s, 0, self.every_s, hi_open=True))
        _set(self, "track_weight", _float("track_weight", self.track_weight, 0))
        _set(self, "v_margin_pu", _float("v_margin_pu", self.v_margin_pu, 0, 0.05))
        _set(self, "comfort_margin_k", _float("comfort_margin_k", self.comfort_margin_k, 0, 2))

    @property
    def T(self) -> int:
        return self.horizon_s // self.dt_s


@dataclass(frozen=True)
class ControlConfig(_Table):
    """The three-stage controller (``[control]``).

    ``stages``: the stages that run, one of :data:`STAGE_SETS`; () = no controller (every device
    under its own local control). ``da``, ``id``, ``rt``: their timing (:class:`StageConfig`):
    day-ahead 24 x 1 h once a day, intraday 16 x 15 min every hour, real-time 3 x 5 min every
    5 min (seed 001's stages); the tracking weights 200 and 1000 per MW^2 h are est.; margins:
    0.3 K of comfort and 3 mV of voltage in every stage (est.: without them the default day's plant
    exceeded 1.06 p.u. by up to 2.1 mV and its plans rode the 20 degC floor; the day-ahead stage
    needs the voltage margin too, since the later stages keep its taps).
    ``v_min_pu``/``v_max_pu``: voltage band of the OPF (0.94/1.06, seed 001), within the ranges
    of controllers.opf.problem.OPFConfig; ``v_violation_cost``: currency per p.u. h per bus outside
    that band (a soft band: a forecast or a day-ahead tap that leaves no feasible voltage gives the
    least violation, logged, instead of a failed solve; 1e4, est.: 0.001 p.u. at one bus for an
    hour costs 10, at the 30 buses a tap moves together 300; 1e5 and above made Clarabel's
    real-time solves end "inaccurate", 1e12 "unbounded"; allowed 1..1e7, or inf: a hard band). ``formulation``: ``"socp"`` (DistFlow SOCP relaxation),
    ``"lindistflow"`` or ``"bim"`` (bus injection SOCP relaxation). Costs: ``discomfort_cost_per_kh`` per K h outside the comfort band
    (100, est.); ``export_price_ratio`` = sell price / buy price (1.0: seed 001 prices the signed
    exchange at one price); ``loss_price_per_mwh`` on network losses (0: losses are already paid
    through the import); ``ess_cost_per_mwh`` battery cycling per MWh throughput (5, est.).
    ``fallback`` after a failed solve: ``"shift"`` keeps the stage's last feasible plan shifted in
    time (then safe defaults), ``"local"`` hands the stage's devices back to their local control.
    ``passive``: controller blocks left out of the optimization, their devices under local control
    and their consumption unknown to the controller (e.g. ["tseh"]: seed 001's "no TSEH
    participation" case). ``peak_weight``: weight of the peak term sum_t dt p_grid^2 (currency per
    MW^2 h, 0 = off; seed 003's peak-load objective). ``mismatch_rel``: model mismatch, 0..1: the
    controller's building and EV parameters are the plant's times exp(mismatch_rel z), z standard
    normal per unit and parameter (controllers.model.mismatch_factors), drawn from the scenario seed.
    ``ev_schedule``: what the controller knows of the EVs: ``"session"`` (only the current session
    of a plugged-in EV, measured), ``"known"`` (every session, trip and target of the EVs'
    schedules, simulators.ev.EVFleet.schedule: seed 002's day-ahead planning with predicted EV
    behaviour) or ``"forecast"`` (the default: the measured session of a plugged-in EV, then the
    sessions expected from the fleet's session statistics, with seeded errors smaller for later
    stages and scaled by ``forecast.error_scale``, none if ``forecast.perfect``; devices.ev.forecast_data). ``ev_comp_per_mwh``: compensation paid to EV owners per MWh discharged (V2G) and
    per MWh of trip energy forgone (trip reduction), in the objective and the KPIs (0: none;
    seed 002: 50). ``ev_shortfall_cost_per_mwh``: the controller's price of energy an EV would leave
    short of its owner's target (10 000, est.: 10 to 33 times the default energy price, so a plan leaves an EV
    short only where the network or the charger cannot deliver in time; controllers.opf.ev.EVBlock).
    ``aggregate`` (default true): buildings that share a bus and every parameter are one row of each
    stage's problem, each member following it with a state-feedback correction of its own deviation
    (controllers.opf.groups; the plan and the setpoints stay per building; false: one row per
    building, the reference of benchmarks/bench_closed_loop.py).
    ``terminal``: a record (path) whose stored energy at its end this run's plans end at: a stage
    whose horizon reaches the run's end ends every storing device (DeviceKind.storage: TSEH stores,
    batteries, EVs plugged in past the end, heat-hub and water-heater tanks) at the record's
    end state (cosim.kpi.stored_states); "" none. The oracle of cosim.baselines ends where the
    actual run ended. Built-in controller only; the record must be of the same plant and length.

    Cross rules for the stages in use: ``da.dt_s >= id.dt_s >= rt.dt_s``, and each stage's
    ``every_s`` is a multiple of the next faster stage's ``every_s``.
    """

    stages: tuple[str, ...] = STAGE_ORDER
    da: StageConfig = StageConfig(every_s=86400, dt_s=3600, horizon_s=86400, v_margin_pu=0.003, comfort_margin_k=0.3)
    id: StageConfig = StageConfig(every_s=3600, dt_s=900, horizon_s=14400, track_weight=200.0, v_margin_pu=0.003,
                                  comfort_margin_k=0.3)
    rt: StageConfig = StageConfig(every_s=300, dt_s=300, horizon_s=900, track_weight=1000.0, v_margin_pu=0.003,
                                  comfort_margin_k=0.3)
    v_min_pu: float = 0.94
    v_max_pu: float = 1.06
    v_violation_cost: float = 1e4
    formulation: str = "socp"
    discomfort_cost_per_kh: float = 100.0
    export_price_ratio: float = 1.0
    loss_price_per_mwh: float = 0.0
    ess_cost_per_mwh: float = 5.0
    fallback: str = "shift"
    passive: tuple[str, ...] = ()
    peak_weight: float = 0.0
    mismatch_rel: float = 0.0
    ev_schedule: str = "forecast"
    ev_comp_per_mwh: float = 0.0
    ev_shortfall_cost_per_mwh: float = 10000.0
    aggregate: bool = True
    controller: str = "multistage"
    params: Mapping[str, object] = field(default_factory=_FrozenMap)
    process: str = "in"
    terminal: str = ""

    def __post_init__(self):
        if not isinstance(self.controller, str):
            raise ConfigError(f"control.controller = {self.controller!r} must be \"multistage\" or an import path")
        _choice("control.process", self.process, PROCESSES)
        if not isinstance(self.terminal, str):
            raise ConfigError(f"control.terminal = {self.terminal!r} must be a record path or \"\"")
        if self.terminal and self.controller != "multistage":
            raise ConfigError(f"control.terminal = {self.terminal!r}: end states are planned by the built-in "
                              f"controller only, not by control.controller = {self.controller!r}")
        if not isinstance(self.params, Mapping):
            raise ConfigError(f"control.params = {self.params!r} must be a table")
        if self.controller == "multistage":
            if self.params:
                raise ConfigError("control.params: the built-in multistage controller takes the [control] keys, "
                                  "not a params table")
            _set(self, "params", _FrozenMap())
        else:
            _set(self, "params", _FrozenMap(self.controller_class().checked(dict(self.params))))
        stages = self.stages
        if isinstance(stages, (list, tuple)) and tuple(stages) in STAGE_SETS:
            _set(self, "stages", tuple(stages))
        else:
            shown = _toml_list(stages) if isinstance(stages, (list, tuple)) else repr(stages)
            raise ConfigError(f"control.stages = {shown} must be one of "
                              f"{', '.join(_toml_list(s) for s in STAGE_SETS)}")
        for s in STAGE_ORDER:
            if not isinstance(getattr(self, s), StageConfig):
                raise ConfigError(f"control.{s} = {getattr(self, s)!r} must be a StageConfig")
        _set(self, "v_min_pu", _float("control.v_min_pu", self.v_min_pu, 0.5, 1.0))
        _set(self, "v_max_pu", _float("control.v_max_pu", self.v_max_pu, 1.0, 1.5))
        if self.v_min_pu >= self.v_max_pu:
            raise ConfigError(f"control.v_min_pu = {self.v_min_pu} must be < control.v_max_pu = "
                              f"{self.v_max_pu}")
        if self.v_violation_cost != float("inf"):  # inf: a hard band
            _set(self, "v_violation_cost", _float("control.v_violation_cost", self.v_violation_cost, 1.0, 1e7))
        _choice("control.formulation", self.formulation, FORMULATIONS)
        _set(self, "mismatch_rel", _float("control.mismatch_rel", self.mismatch_rel, 0, 1))
        _choice("control.ev_schedule", self.ev_schedule, EV_SCHEDULES)
        for key in ("discomfort_cost_per_kh", "loss_price_per_mwh", "ess_cost_per_mwh", "peak_weight",
                    "ev_comp_per_mwh", "ev_shortfall_cost_per_mwh"):
            _set(self, key, _float(f"control.{key}", getattr(self, key), 0))
        _set(self, "export_price_ratio",
             _float("control.export_price_ratio", self.export_price_ratio, 0, 1))
        _choice("control.fallback", self.fallback, FALLBACKS)
        if not isinstance(self.aggregate, bool):
            raise ConfigError(f"control.aggregate = {self.aggregate!r} must be true or false")
        if not isinstance(self.passive, (list, tuple)) or not set(self.passive) <= set(PASSIVE_BLOCKS):
            raise ConfigError(f"control.passive = {self.passive!r} must be a list of block names from "
                              f"{', '.join(PASSIVE_BLOCKS)}")
        _set(self, "passive", tuple(self.passive))
        for slow, fast in zip(self.stages, self.stages[1:]):
            a, b = getattr(self, slow), getattr(self, fast)
            if b.dt_s > a.dt_s:
                raise ConfigError(f"control.{fast}.dt_s = {b.dt_s} must be <= control.{slow}.dt_s "
                                  f"= {a.dt_s} (a faster stage resolves time at least as finely)")
            if a.every_s % b.every_s:
                raise ConfigError(f"control.{slow}.every_s = {a.every_s} must be a multiple of "
                                  f"control.{fast}.every_s = {b.every_s}")

    @classmethod
    def _from_table(cls, table) -> ControlConfig:
        _check_keys("control", table, _names(cls))
        kw, default = dict(table), cls()
        for s in STAGE_ORDER:
            if s in kw:
                kw[s] = _build(f"control.{s}", StageConfig, kw[s], getattr(default, s))
        return cls(**kw)

    def used(self) -> dict[str, StageConfig]:
        """The stages of the built-in controller that run, slowest first ({} with another controller)."""
        return {s: getattr(self, s) for s in self.stages} if self.controller == "multistage" else {}

    def controller_class(self):
        """The class of a user's ``controller`` (controllers.contract.load_controller)."""
        return load_controller(self.controller)

    def active(self) -> bool:
        """Whether a controller runs (the built-in one with stages, or a user's)."""
        return self.controller != "multistage" or bool(self.stages)

    def forecast_requests(self) -> list[ForecastRequest]:
        """The forecasts the controller gets: one per running stage of the built-in controller,
        at its level and timing, else what the user's controller requests for its params."""
        if self.controller != "multistage":
            reqs = list(self.controller_class().requests(dict(self.params)))
            levels = [r.level for r in reqs]
            if len(set(levels)) != len(levels):
                raise ConfigError(f"control.controller {self.controller!r} requests forecasts {levels}: "
                                  "at most one per level")
            return reqs
        return [ForecastRequest(s, c.dt_s, c.T, c.every_s, c.offset_s) for s, c in self.used().items()]
