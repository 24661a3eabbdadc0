"""The scenario of a run: a TOML file and the same thing as a frozen, validated Python object.

A :class:`Scenario` says what to run: network and devices, calendar window and plant step, seed,
data sources, the three-stage controller (day-ahead ``da``, intraday ``id``, real-time ``rt``)
and the forecast errors it sees. Every field has a default; the defaults are the shipped default
scenario (``scenarios/default.toml``). Validation happens in ``__post_init__`` of every class, so
``Scenario(...)``, :func:`dataclasses.replace`, :meth:`Scenario.from_toml` and
:meth:`Scenario.updated` all reject bad input before anything runs, with a
:class:`~cosim_base.errors.ConfigError` naming the dotted TOML key, the value and the allowed range::

    control.rt.dt_s = 7 must divide horizon_s = 900
    devices.Battery[0].capcity_kwh: unknown key; allowed: bus, per_bus, capacity_kwh, ...

Classes that sit at one place of a scenario (:class:`ControlConfig` at ``control``,
:class:`ForecastConfig` at ``forecast``, :class:`DataConfig` at ``data``) name full keys; classes
that occur at several places (:class:`StageConfig`, :class:`ErrorConfig`, :class:`DeviceGroup`)
name keys relative to themselves, and the TOML reader prefixes the place (``control.rt.``).

TOML layout (one table per config class)::

    name = "ieee33-winter-day"          # top-level scalars: see Scenario
    duration_h = 24.0                   # or duration_s = 86400, not both
    [data]                              # DataConfig
    [control]                           # ControlConfig; [control.da], [control.id], [control.rt]
    [forecast]                          # ForecastConfig; [forecast.errors.<signal>]
    [[devices.Battery]]                 # one DeviceGroup per table: bus, per_bus and fleet params

Partial tables override only the keys they give: ``[control.rt]`` with ``every_s = 900`` keeps the
default real-time stage otherwise, ``[forecast.errors.wind]`` only that signal's given keys.
"""
from __future__ import annotations

import datetime
import numbers
import os
import pathlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
import tomli_w

from cosim_base.errors import ConfigError, check
from controllers.contract import ForecastRequest, load_controller
from cosim.plant import NETWORKS, PlantSpec
from devices import fleet_kinds, plan_keys
from devices.load import load_kind
from simulators import data
from simulators.forecast import DEFAULT_ERRORS as FORECAST_DEFAULTS

STAGE_ORDER = ("da", "id", "rt")
#: Allowed ``control.stages``; () = no controller, every device under its own local control.
STAGE_SETS = ((), ("da",), ("da", "id"), ("da", "id", "rt"))
FORMULATIONS = ("socp", "lindistflow", "bim")  # those of controllers.opf.problem (checked by a test)
FALLBACKS = ("shift", "local")
EV_SCHEDULES = ("session", "known")  # those of controllers.multistage (checked by a test)
#: Controller blocks a scenario may leave to local control: the registry kinds' planned blocks.
PASSIVE_BLOCKS = tuple(plan_keys())
ERROR_KINDS = ("relative", "capacity", "absolute")
ERROR_DISTS = ("normal", "laplace")
DEVICE_PRESETS = ("default", "none")
MAX_DURATION_S = 365 * 86400  # the TMY3 typical year (simulators.data.weather)


class _FrozenMap(Mapping):
    """Read-only, hashable mapping: the Mapping fields of the frozen configs."""

    def __init__(self, items=()):
        self._d = dict(items)

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __hash__(self):
        return hash(frozenset(self._d.items()))

    def __repr__(self):
        return repr(self._d)


# ---------------------------------------------------------------------------------------------
# Checks (every message starts with the key it names)
# ---------------------------------------------------------------------------------------------

def _set(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)  # normalizing a frozen dataclass in __post_init__


def _range(key: str, value, lo=None, hi=None, **kw) -> None:
    """:func:`cosim_base.errors.check` of a scalar, quoting the value as given (check quotes numpy's
    repr, ``np.float64(0.0)`` under numpy 2)."""
    try:
        check(key, value, lo, hi, **kw)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(repr(np.float64(value)), repr(value), 1)) from None


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _int(key: str, value, lo=None, hi=None, **kw) -> int:
    if not _is_number(value) or not float(value).is_integer():
        raise ConfigError(f"{key} = {value!r} must be a whole number")
    value = int(value)
    _range(key, value, lo, hi, **kw)
    return value


def _float(key: str, value, lo=None, hi=None, **kw) -> float:
    if not _is_number(value):
        raise ConfigError(f"{key} = {value!r} must be a number")
    value = float(value)
    _range(key, value, lo, hi, **kw)
    return value


def _choice(key: str, value, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{key} = {value!r} must be one of {', '.join(map(repr, allowed))}")
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_keys(path: str, table, allowed) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path or 'scenario'} = {table!r} must be a table")
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{_join(path, key)}: unknown key; allowed: {', '.join(allowed)}")


def _names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _build(path: str, cls, table, base):
    """``cls`` from a TOML table at ``path`` over the fields of ``base`` (its default there);
    messages of ``cls`` (relative keys) are prefixed with ``path``."""
    _check_keys(path, table, _names(cls))
    kw = {n: getattr(base, n) for n in _names(cls)}
    kw.update(table)
    try:
        return cls(**kw)
    except ConfigError as exc:
        raise ConfigError(f"{path}.{exc}") from None


def _plain(value):
    """TOML-shaped plain data: configs as dicts, tuples as lists."""
    if isinstance(value, (_Table, DeviceGroup)):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _toml_list(seq) -> str:
    return "[" + ", ".join(f'"{s}"' for s in seq) + "]"


class _Table:
    """``to_dict``: the TOML table of a config (fields in order, tuples as lists)."""

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


# ---------------------------------------------------------------------------------------------
# Controller
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StageConfig(_Table):
    """Timing of one controller stage: a decision at ``offset_s + k every_s``, each a plan of
    ``T = horizon_s // dt_s`` periods of ``dt_s``; ``track_weight`` (currency per MW^2 h) weights
    the deviation of the grid exchange from the slower stage's plan (unused by ``da``).

    Rules: ``dt_s`` > 0 divides ``horizon_s`` and ``every_s``; ``offset_s`` in ``[0, every_s)``;
    ``every_s <= horizon_s`` (a plan must cover the time until the stage's next decision).
    """

    every_s: int
    dt_s: int
    horizon_s: int
    offset_s: int = 0
    track_weight: float = 0.0

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

    @property
    def T(self) -> int:
        return self.horizon_s // self.dt_s


@dataclass(frozen=True)
class ControlConfig(_Table):
    """The three-stage controller (``[control]``).

    ``stages``: the stages that run, one of :data:`STAGE_SETS`; () = no controller (every device
    under its own local control). ``da``, ``id``, ``rt``: their timing (:class:`StageConfig`):
    day-ahead 24 x 1 h once a day, intraday 16 x 15 min every hour, real-time 3 x 5 min every
    5 min (seed 001's stages); the tracking weights 200 and 1000 per MW^2 h are est.
    ``v_min_pu``/``v_max_pu``: voltage band of the OPF (0.94/1.06, seed 001), within the ranges
    of controllers.opf.problem.OPFConfig. ``formulation``: ``"socp"`` (DistFlow SOCP relaxation),
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
    of a plugged-in EV, measured) or ``"known"`` (every session, trip and target of the EVs'
    schedules, simulators.ev.EVFleet.schedule: seed 002's day-ahead planning with predicted EV
    behaviour). ``ev_comp_per_mwh``: compensation paid to EV owners per MWh discharged (V2G) and
    per MWh of trip energy forgone (trip reduction), in the objective and the KPIs (0: none;
    seed 002: 50).

    Cross rules for the stages in use: ``da.dt_s >= id.dt_s >= rt.dt_s``, and each stage's
    ``every_s`` is a multiple of the next faster stage's ``every_s``.
    """

    stages: tuple[str, ...] = STAGE_ORDER
    da: StageConfig = StageConfig(every_s=86400, dt_s=3600, horizon_s=86400)
    id: StageConfig = StageConfig(every_s=3600, dt_s=900, horizon_s=14400, track_weight=200.0)
    rt: StageConfig = StageConfig(every_s=300, dt_s=300, horizon_s=900, track_weight=1000.0)
    v_min_pu: float = 0.94
    v_max_pu: float = 1.06
    formulation: str = "socp"
    discomfort_cost_per_kh: float = 100.0
    export_price_ratio: float = 1.0
    loss_price_per_mwh: float = 0.0
    ess_cost_per_mwh: float = 5.0
    fallback: str = "shift"
    passive: tuple[str, ...] = ()
    peak_weight: float = 0.0
    mismatch_rel: float = 0.0
    ev_schedule: str = "session"
    ev_comp_per_mwh: float = 0.0
    controller: str = "multistage"
    params: Mapping[str, object] = field(default_factory=_FrozenMap)

    def __post_init__(self):
        if not isinstance(self.controller, str):
            raise ConfigError(f"control.controller = {self.controller!r} must be \"multistage\" or an import path")
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
        _choice("control.formulation", self.formulation, FORMULATIONS)
        _set(self, "mismatch_rel", _float("control.mismatch_rel", self.mismatch_rel, 0, 1))
        _choice("control.ev_schedule", self.ev_schedule, EV_SCHEDULES)
        for key in ("discomfort_cost_per_kh", "loss_price_per_mwh", "ess_cost_per_mwh", "peak_weight",
                    "ev_comp_per_mwh"):
            _set(self, key, _float(f"control.{key}", getattr(self, key), 0))
        _set(self, "export_price_ratio",
             _float("control.export_price_ratio", self.export_price_ratio, 0, 1))
        _choice("control.fallback", self.fallback, FALLBACKS)
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


# ---------------------------------------------------------------------------------------------
# Forecast errors
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorConfig(_Table):
    """Forecast error of one signal (simulators.forecast's ErrorSpec, validated here too).

    ``half_width``: 95 % half-widths of the da, id, rt errors (>= 0, non-increasing; sigma =
    h / 1.96). ``kind``: ``"relative"`` (share of the truth), ``"capacity"`` (share of the
    installed capacity) or ``"absolute"`` (signal units). ``tau_h`` > 0: AR(1) correlation time.
    ``dist``: ``"normal"`` or ``"laplace"``. ``common`` in [0, 1]: share of the variance common
    to all units of the signal.
    """

    half_width: tuple[float, float, float]
    kind: str = "relative"
    tau_h: float = 2.0
    dist: str = "normal"
    common: float = 0.0

    def __post_init__(self):
        hw = self.half_width
        if not isinstance(hw, (list, tuple)) or len(hw) != 3:
            raise ConfigError(f"half_width = {hw!r} must be 3 numbers (da, id, rt)")
        hw = tuple(_float(f"half_width[{i}]", h, 0) for i, h in enumerate(hw))
        if not hw[0] >= hw[1] >= hw[2]:
            raise ConfigError(f"half_width = {list(hw)} must be non-increasing (da >= id >= rt)")
        _set(self, "half_width", hw)
        _choice("kind", self.kind, ERROR_KINDS)
        _set(self, "tau_h", _float("tau_h", self.tau_h, 0, lo_open=True))
        _choice("dist", self.dist, ERROR_DISTS)
        _set(self, "common", _float("common", self.common, 0, 1))


#: Default forecast errors per signal.
#: Default forecast errors per signal: simulators.forecast.DEFAULT_ERRORS (sources next to them there).
DEFAULT_ERRORS = {k: ErrorConfig(tuple(e.half_width), e.kind, e.tau_h, e.dist, e.common)
                  for k, e in FORECAST_DEFAULTS.items()}
SIGNALS = tuple(DEFAULT_ERRORS)


@dataclass(frozen=True)
class ForecastConfig(_Table):
    """What the controller is told about the future (``[forecast]``).

    ``perfect``: forecasts equal the truth. ``res_s``: time resolution of the error processes
    (> 0, divides 300 s). ``errors``: :class:`ErrorConfig` per signal of :data:`SIGNALS`; signals
    not given keep :data:`DEFAULT_ERRORS` (in TOML, ``[forecast.errors.<signal>]`` overrides only
    the keys it gives). ``error_scale``: factor (0..10) on every signal's half-widths, the noise
    level of a robustness sweep (1: as given; 0: zero errors, like ``perfect``).
    """

    perfect: bool = False
    res_s: int = 300
    error_scale: float = 1.0
    errors: Mapping[str, ErrorConfig] = field(default_factory=lambda: dict(DEFAULT_ERRORS))

    def __post_init__(self):
        if not isinstance(self.perfect, bool):
            raise ConfigError(f"forecast.perfect = {self.perfect!r} must be true or false")
        _set(self, "res_s", _int("forecast.res_s", self.res_s, 1, 300))
        if 300 % self.res_s:
            raise ConfigError(f"forecast.res_s = {self.res_s} must divide 300")
        _set(self, "error_scale", _float("forecast.error_scale", self.error_scale, 0, 10))
        _check_keys("forecast.errors", self.errors, SIGNALS)
        for sig, spec in self.errors.items():
            if not isinstance(spec, ErrorConfig):
                raise ConfigError(f"forecast.errors.{sig} = {spec!r} must be an ErrorConfig")
        _set(self, "errors", _FrozenMap((s, self.errors.get(s, DEFAULT_ERRORS[s])) for s in SIGNALS))

    @classmethod
    def _from_table(cls, table) -> ForecastConfig:
        _check_keys("forecast", table, _names(cls))
        kw = dict(table)
        if "errors" in kw:
            _check_keys("forecast.errors", kw["errors"], SIGNALS)
            kw["errors"] = {s: _build(f"forecast.errors.{s}", ErrorConfig, t, DEFAULT_ERRORS[s])
                            for s, t in kw["errors"].items()}
        return cls(**kw)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataConfig(_Table):
    """Input data (``[data]``): ``weather`` (a key of simulators.data.TMY3_FILES),
    ``prices_per_mwh`` (time-of-use buy price per period, keys those of
    simulators.data.TOU_PER_MWH; the defaults are that table's assumed values) and
    ``load_profile`` (the SimBench load kind of the ieee33 preset's base loads) and
    ``t_out_offset_k`` (K, -30..30, added to the outdoor temperature of the weather: a colder or
    warmer day of the same shape, e.g. the temperature scenarios of seed 002)."""

    weather: str = "tmy3-greensboro"
    prices_per_mwh: Mapping[str, float] = field(default_factory=lambda: dict(data.TOU_PER_MWH))
    load_profile: str = "mv_semiurb"
    t_out_offset_k: float = 0.0

    def __post_init__(self):
        _choice("data.weather", self.weather, tuple(data.TMY3_FILES))
        prices = self.prices_per_mwh
        _check_keys("data.prices_per_mwh", prices, tuple(data.TOU_PER_MWH))
        missing = [k for k in data.TOU_PER_MWH if k not in prices]
        if missing:
            raise ConfigError(f"data.prices_per_mwh lacks {', '.join(missing)}; it needs exactly "
                              f"{', '.join(data.TOU_PER_MWH)}")
        _set(self, "prices_per_mwh", _FrozenMap(
            (k, _float(f"data.prices_per_mwh.{k}", prices[k])) for k in data.TOU_PER_MWH))
        load_kind("data.load_profile", self.load_profile)
        _set(self, "t_out_offset_k", _float("data.t_out_offset_k", self.t_out_offset_k, -30, 30))


# ---------------------------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------------------------

#: Parameters a device group may give per kind (name -> required): the fleet constructors'
#: arguments except the ones the plant supplies (unit count, weather, EV sessions, horizon), as
#: each kind of the device registry declares them (DeviceKind.group_params).
DEVICE_PARAMS: dict[str, dict[str, bool]] = {name: k.group_params() for name, k in fleet_kinds().items()}
KINDS = tuple(DEVICE_PARAMS)


def _param(key: str, kind: str, value):
    """A device parameter as plain immutable data: the kind's own reading
    (DeviceKind.parse_param: a Load's ``profile``, a Wind ``curve``), else a number, a bool or a
    tuple of numbers (one per bus)."""
    parsed = fleet_kinds()[kind].parse_param(key, value)
    if parsed is not NotImplemented:
        return parsed
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if _is_number(value):
        return _int(key, value) if isinstance(value, numbers.Integral) else _float(key, value)
    if isinstance(value, (list, tuple)) and all(_is_number(v) for v in value):
        return tuple(_float(f"{key}[{i}]", v) for i, v in enumerate(value))
    raise ConfigError(f"{key} = {value!r} must be a number, true/false or a list of numbers "
                      "(one per bus)")


@dataclass(frozen=True)
class DeviceGroup:
    """Units of one fleet kind: ``per_bus`` units at each bus of ``bus``.

    ``kind``: one of :data:`KINDS`. ``bus``: bus positions (rows of
    simulators.networks.bus_table(net), >= 0) or ``"loads"`` (every load site of the network,
    networks.load_sites). Units are ordered bus by bus: ``bus = [3, 7], per_bus = 2`` gives units
    at 3, 3, 7, 7. ``params``: arguments of the kind's fleet (:data:`DEVICE_PARAMS`), each a
    number or bool (all units) or a list with one number per bus, shared by that bus's units
    (as cosim.plant.fleet_from_groups reads it; its length is checked here for explicit buses,
    for ``"loads"`` when the plant is built). Value ranges and bus positions beyond the network
    are checked when the plant is built (fleet constructors, fleet_from_groups). In TOML one ``[[devices.<kind>]]`` table is one group, with ``bus``,
    ``per_bus`` and the params as its keys.
    """

    kind: str
    bus: tuple[int, ...] | str
    per_bus: int = 1
    params: Mapping[str, object] = field(default_factory=_FrozenMap)

    def __post_init__(self):
        _choice("kind", self.kind, KINDS)
        bus = self.bus
        if isinstance(bus, str):
            if bus != "loads":
                raise ConfigError(f'bus = {bus!r} must be "loads" or a list of bus positions')
        else:
            bus = [bus] if _is_number(bus) else bus
            if not isinstance(bus, (list, tuple)) or not bus:
                raise ConfigError(f'bus = {self.bus!r} must be "loads" or a non-empty list of '
                                  "bus positions")
            bus = tuple(_int(f"bus[{i}]", b, 0) for i, b in enumerate(bus))
        _set(self, "bus", bus)
        _set(self, "per_bus", _int("per_bus", self.per_bus, 1))
        allowed = DEVICE_PARAMS[self.kind]
        if not isinstance(self.params, Mapping):
            raise ConfigError(f"params = {self.params!r} must be a mapping of fleet parameters")
        _check_keys("", self.params, ("bus", "per_bus", *allowed))
        for key in ("bus", "per_bus"):
            if key in self.params:
                raise ConfigError(f"{key}: a field of the group, not a fleet parameter")
        for key, required in allowed.items():
            if required and key not in self.params:
                raise ConfigError(f"{key}: missing; {self.kind} groups need it (no default)")
        params = {k: _param(k, self.kind, v) for k, v in self.params.items()}
        for key, value in params.items():
            if (not isinstance(self.bus, str) and isinstance(value, tuple) and key != "curve"
                    and len(value) != len(self.bus)):
                raise ConfigError(f"{key} has {len(value)} values, expected one per bus "
                                  f"({len(self.bus)})")
        _set(self, "params", _FrozenMap(params))

    @property
    def n(self) -> int | None:
        """Number of units (None for ``bus = "loads"``: the network's number of load sites)."""
        return None if isinstance(self.bus, str) else len(self.bus) * self.per_bus

    def to_dict(self) -> dict:
        """The ``[[devices.<kind>]]`` table of the group (without its kind)."""
        return {"bus": _plain(self.bus), "per_bus": self.per_bus, **_plain(self.params)}


def _device_groups(table) -> tuple[DeviceGroup, ...]:
    _check_keys("devices", table, KINDS)
    groups = []
    for kind, entries in table.items():
        if not isinstance(entries, (list, tuple)):
            raise ConfigError(f"devices.{kind} must be an array of tables ([[devices.{kind}]])")
        for i, entry in enumerate(entries):
            path = f"devices.{kind}[{i}]"
            if not isinstance(entry, Mapping):
                raise ConfigError(f"{path} = {entry!r} must be a table")
            if "bus" not in entry:
                raise ConfigError(f'{path}.bus: missing (bus positions or "loads")')
            params = {k: v for k, v in entry.items() if k not in ("bus", "per_bus")}
            try:
                groups.append(DeviceGroup(kind, entry["bus"], entry.get("per_bus", 1), params))
            except ConfigError as exc:
                raise ConfigError(f"{path}.{exc}") from None
    return tuple(groups)


# ---------------------------------------------------------------------------------------------
# Scenario
# ---------------------------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Scenario:
    """What to run; the defaults are the shipped default scenario (scenarios/default.toml).

    ``name``: [A-Za-z0-9_.-]+. ``network``: a key of cosim.plant.NETWORKS (``"ieee33"``, ``"lv"``).
    ``start``: calendar time of t_s = 0 (pandas-parsable, local time of the weather site).
    ``duration_s``: run length (TOML: ``duration_h`` in hours or ``duration_s``, not both; at most
    365 days, the TMY3 year). ``step_s``: plant step, 1..3600 s, divides ``duration_s``.
    ``seed``: the scenario seed (cosim_base.seeds), >= 0. ``output``: result file,
    ``{name}`` and ``{seed}`` substituted by :meth:`output_path`.

    Devices: ``device_preset = "default"`` starts from the network's shipped device set
    (cosim.plant.default_devices), ``"none"`` from no devices. A kind listed in ``devices``
    replaces that kind of the preset entirely; a kind may have several groups (two
    ``[[devices.Building]]`` tables), kept in order; groups are stored sorted by kind
    (:data:`KINDS` order), which is how the TOML file lists them.

    Cross rules: the fastest running stage's ``dt_s`` is a multiple of ``step_s``; every running
    stage's ``dt_s`` and ``offset_s`` are multiples of ``forecast.res_s`` (forecast windows lie
    on the error grid).
    """

    name: str = "ieee33-winter-day"
    network: str = "ieee33"
    start: str = "2024-01-15 00:00"  # a winter Monday
    duration_s: int = 86400
    step_s: int = 60
    seed: int = 0
    output: str = "results/{name}-seed{seed}.h5"
    data: DataConfig = field(default_factory=DataConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    device_preset: str = "default"
    devices: tuple[DeviceGroup, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ConfigError(f"name = {self.name!r} must be a non-empty string of A-Z a-z 0-9 _ . -")
        _choice("network", self.network, tuple(NETWORKS))
        self._check_start()
        _set(self, "duration_s", _int("duration_s", self.duration_s, 1, MAX_DURATION_S))
        _set(self, "step_s", _int("step_s", self.step_s, 1, 3600))
        if self.duration_s % self.step_s:
            raise ConfigError(f"duration_s = {self.duration_s} must be a multiple of "
                              f"step_s = {self.step_s}")
        _set(self, "seed", _int("seed", self.seed, 0))
        self._check_output()
        for key, cls in (("data", DataConfig), ("control", ControlConfig),
                         ("forecast", ForecastConfig)):
            if not isinstance(getattr(self, key), cls):
                raise ConfigError(f"{key} = {getattr(self, key)!r} must be a {cls.__name__}")
        _choice("device_preset", self.device_preset, DEVICE_PRESETS)
        groups = self.devices
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, DeviceGroup) for g in groups):
            raise ConfigError(f"devices = {groups!r} must be a sequence of DeviceGroup")
        _set(self, "devices", tuple(sorted(groups, key=lambda g: KINDS.index(g.kind))))
        self._check_stage_grid()
        if self.duration_s + self.lookahead_s() > MAX_DURATION_S:
            raise ConfigError(f"duration_s = {self.duration_s} plus the forecast lookahead "
                              f"{self.lookahead_s()} s exceeds the {MAX_DURATION_S} s of the "
                              "TMY3 weather year")

    def _check_start(self) -> None:
        start = self.start
        if isinstance(start, (datetime.date, datetime.datetime)):  # an unquoted TOML date-time
            start = start.isoformat(sep=" ") if isinstance(start, datetime.datetime) else start.isoformat()
            _set(self, "start", start)
        try:
            ok = isinstance(start, str) and not pd.isna(pd.Timestamp(start))
        except (ValueError, TypeError, OverflowError):
            ok = False
        if not ok:
            raise ConfigError(f"start = {start!r} is not a date pandas can read "
                              "(e.g. \"2024-01-15 00:00\")")

    def _check_output(self) -> None:
        if not isinstance(self.output, str) or not self.output:
            raise ConfigError(f"output = {self.output!r} must be a non-empty path")
        try:
            self.output.format(name=self.name, seed=self.seed)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"output = {self.output!r}: only {{name}} and {{seed}} can be "
                              f"substituted ({type(exc).__name__}: {exc})") from None

    def _check_stage_grid(self) -> None:
        used = self.control.used()
        if not used:
            return
        fastest = self.control.stages[-1]
        if used[fastest].dt_s % self.step_s:
            raise ConfigError(f"control.{fastest}.dt_s = {used[fastest].dt_s} must be a multiple "
                              f"of step_s = {self.step_s}")
        res = self.forecast.res_s
        for s, cfg in used.items():
            for key in ("dt_s", "offset_s"):
                if getattr(cfg, key) % res:
                    raise ConfigError(f"control.{s}.{key} = {getattr(cfg, key)} must be a multiple "
                                      f"of forecast.res_s = {res}")

    # -- conversions ------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: Mapping) -> Scenario:
        """A scenario from a TOML-shaped dict (missing keys take their defaults)."""
        scalars = ("name", "network", "start", "duration_s", "step_s", "seed", "output",
                   "device_preset")
        _check_keys("", d, (*scalars[:3], "duration_h", *scalars[3:], "data", "control",
                            "forecast", "devices"))
        kw = {k: d[k] for k in scalars if k in d}
        if "duration_h" in d:
            if "duration_s" in d:
                raise ConfigError("duration_h and duration_s: give one of them, not both")
            seconds = _float("duration_h", d["duration_h"], 0, lo_open=True) * 3600
            if abs(seconds - round(seconds)) > 1e-6:
                raise ConfigError(f"duration_h = {d['duration_h']!r} is not a whole number of seconds")
            kw["duration_s"] = round(seconds)
        if "data" in d:
            _check_keys("data", d["data"], _names(DataConfig))
            kw["data"] = DataConfig(**d["data"])
        if "control" in d:
            kw["control"] = ControlConfig._from_table(d["control"])
        if "forecast" in d:
            kw["forecast"] = ForecastConfig._from_table(d["forecast"])
        if "devices" in d:
            kw["devices"] = _device_groups(d["devices"])
        return cls(**kw)

    def to_dict(self) -> dict:
        """The TOML-shaped plain dict of the scenario (inverse of :meth:`from_dict`)."""
        out = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "devices"}
        out["devices"] = {}
        for g in self.devices:
            out["devices"].setdefault(g.kind, []).append(g.to_dict())
        return out

    @classmethod
    def from_toml(cls, path_or_text: str | os.PathLike) -> Scenario:
        """A scenario from a TOML file (a path, or a str naming an existing file) or TOML text."""
        source = "scenario text"
        if isinstance(path_or_text, os.PathLike) or (
                isinstance(path_or_text, str) and "\n" not in path_or_text
                and (os.path.isfile(path_or_text) or path_or_text.endswith(".toml"))):
            source = os.fspath(path_or_text)
            try:
                text = pathlib.Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"scenario file {source!r} cannot be read: {exc}") from None
        else:
            text = path_or_text
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source} is not valid TOML: {exc}") from None
        return cls.from_dict(d)

    def to_toml(self) -> str:
        """The scenario as TOML text (every key written out)."""
        return tomli_w.dumps(self.to_dict())

    def updated(self, changes: Mapping[str, object]) -> Scenario:
        """A new validated scenario with dotted keys changed, e.g. ``{"seed": 3,
        "control.stages": ("da",), "forecast.errors.load.half_width": (0.05, 0.02, 0.01)}``.
        Values may be plain data or config objects; ``duration_h`` replaces ``duration_s``."""
        d = self.to_dict()
        for key, value in changes.items():
            *parents, leaf = key.split(".")
            node = d
            for i, part in enumerate(parents):
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"{key}: {'.'.join(parents[:i + 1])} is not a table")
            node[leaf] = _plain(value)
            if key == "duration_h":
                d.pop("duration_s", None)
            elif key == "duration_s":
                d.pop("duration_h", None)
        return Scenario.from_dict(d)

    def output_path(self) -> pathlib.Path:
        """``output`` with ``{name}`` and ``{seed}`` substituted (relative to the working directory)."""
        return pathlib.Path(self.output.format(name=self.name, seed=self.seed))

    def lookahead_s(self) -> int:
        """Data needed past the run's end: the longest horizon of the controller's forecasts (a plan
        made just before the end reaches that far), rounded up to whole plant steps; 0 without."""
        horizon_s = max((r.horizon_s for r in self.control.forecast_requests()), default=0)
        return -(-horizon_s // self.step_s) * self.step_s

    def plant_spec(self) -> PlantSpec:
        """The true plant's spec: network, calendar window, plant step, seed, data sources and
        the forecast lookahead (:meth:`lookahead_s`)."""
        return PlantSpec(network=self.network, start=self.start, duration_s=self.duration_s,
                         step_s=self.step_s, seed=self.seed, lookahead_s=self.lookahead_s(),
                         weather=self.data.weather, load_profile=self.data.load_profile,
                         t_out_offset_k=self.data.t_out_offset_k)


def load(path_or_text: str | os.PathLike) -> Scenario:
    """Same as :meth:`Scenario.from_toml`."""
    return Scenario.from_toml(path_or_text)
