"""The controller contract: what any controller judged in the loop decides, sees, returns and logs.

A controller is a class (no mosaik needed) that a scenario names by import path
(``control.controller = "package.module:Class"`` or ``"path/to/file.py:Class"``) with its own
parameter table ``[control.params]``, validated against the class's :attr:`Controller.SCHEMA`
before anything runs. The world builds it with ``Class(plant, **params)`` and then, at every
multiple of its ``step_s`` (its own decision grid, a multiple of the plant step):

* it observes (:class:`Observation`): the plant's measurements as reported one plant step before
  the decision (``meas[kind][attr]``, one value per unit, the attributes the device registry
  declares as ``measured``), the latest forecast of each of its :class:`ForecastRequest` (each
  with its issue time ``made_at_s``; one made after the decision raises
  :class:`FutureInformationError`) and the tariff (``price(t0_s, dt_s, T)`` -> buy, sell per MWh,
  known in advance);
* :meth:`Controller.control` returns an :class:`Action`: setpoints ``kind -> attr -> values`` over the fleet's units
  (NaN = the unit's own local control; grid devices: their local voltage control), held until
  replaced, and log entries that land in the record under ``control/<group>``.

What a controller may know of the plant (:class:`PlantInfo`): the network (pandapower), each
fleet's parameters and bus positions, the plant step and the run's window. Every signal it may
read or set, with unit, range and description, is listed by :func:`signals` (from the device
registry). Forecasts come at the error levels of the scenario's ``[forecast]`` table: a request
names its level ("da", "id" or "rt": day-ahead, intraday or real-time spreads) and its own grid.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import pathlib
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from cosim_base.errors import ConfigError
from devices import REGISTRY, setpoints

LEVELS = ("da", "id", "rt")


class FutureInformationError(RuntimeError):
    """A controller was handed information from after its decision time."""


@dataclass(frozen=True)
class Param:
    """One controller parameter: default, description, and allowed range or choices."""

    default: Any
    description: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None

    def check(self, key: str, value):
        if self.choices is not None:
            if value not in self.choices:
                raise ConfigError(f"{key} = {value!r} must be one of {', '.join(map(repr, self.choices))}")
            return value
        if isinstance(self.default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{key} = {value!r} must be true or false")
            return value
        if isinstance(self.default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{key} = {value!r} must be a number")
            if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
                raise ConfigError(f"{key} = {value!r} is outside the allowed range "
                                  f"[{'-inf' if self.lo is None else self.lo}, {'inf' if self.hi is None else self.hi}]")
            return type(self.default)(value) if isinstance(self.default, float) else value
        return value


@dataclass(frozen=True)
class ForecastRequest:
    """Forecasts at error ``level`` ("da" | "id" | "rt"), T periods of ``dt_s``, issued at
    ``offset_s + k every_s`` (and at t = 0)."""

    level: str
    dt_s: int
    T: int
    every_s: int
    offset_s: int = 0

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ConfigError(f"forecast request level = {self.level!r} must be one of {LEVELS}")
        for k in ("dt_s", "T", "every_s"):
            if int(getattr(self, k)) <= 0:
                raise ConfigError(f"forecast request {k} = {getattr(self, k)} must be positive")

    @property
    def horizon_s(self) -> int:
        return self.dt_s * self.T


@dataclass(frozen=True)
class PlantInfo:
    """What a controller may know of the plant: ``net`` (pandapower), ``fleets`` (kind -> fleet,
    for its parameters only), ``bus_pos`` (kind -> bus positions of the units), ``step_s``,
    ``start`` (calendar time of t = 0), ``duration_s``, ``seed`` and ``price``."""

    net: Any
    fleets: dict
    bus_pos: dict
    step_s: int
    start: str
    duration_s: int
    seed: int
    price: Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]

    def n(self, kind: str) -> int:
        """Number of units of ``kind`` (0 if the plant has none)."""
        return self.fleets[kind].n if kind in self.fleets else 0


@dataclass
class Observation:
    """What a controller sees at decision time ``t_s`` (see the module docstring)."""

    t_s: int
    meas: dict[str, dict[str, np.ndarray]]
    forecasts: dict[str, Any]
    price: Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]


@dataclass
class Action:
    """Setpoints (kind -> attr -> values, NaN = local control) and log entries
    (:func:`log_entry`) of one decision."""

    setpoints: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)


def log_entry(group: str, t_s: int, scalars: dict | None = None, arrays: dict | None = None) -> dict:
    """A record row under ``control/<group>`` at ``t_s``: scalars (numbers, strings) and arrays."""
    return {"group": f"control/{group}", "t_s": int(t_s), "scalars": dict(scalars or {}),
            "arrays": dict(arrays or {})}


class Controller:
    """Base class of controllers (see the module docstring). Subclasses set ``SCHEMA`` (parameter
    name -> :class:`Param`; a ``step_s`` parameter sets the decision grid, else 900 s) and
    implement :meth:`control`; :meth:`requests` says which forecasts they need (none by default)."""

    SCHEMA: ClassVar[dict[str, Param]] = {}
    #: Record group of the controller's log (control/<name>).
    name: ClassVar[str] = "controller"

    def __init__(self, plant: PlantInfo, **params):
        self.plant = plant
        self.params = {**{k: p.default for k, p in self.SCHEMA.items()}, **params}
        self.step_s = int(self.params.get("step_s", 900))

    @classmethod
    def checked(cls, params: dict, prefix: str = "control.params") -> dict:
        """``params`` validated against SCHEMA, defaults filled in; errors name ``prefix.key``."""
        unknown = sorted(set(params) - set(cls.SCHEMA))
        if unknown:
            raise ConfigError(f"{prefix}.{unknown[0]}: unknown key; allowed: {', '.join(cls.SCHEMA) or 'none'}")
        return {k: p.check(f"{prefix}.{k}", params.get(k, p.default)) for k, p in cls.SCHEMA.items()}

    @classmethod
    def requests(cls, params: dict) -> list[ForecastRequest]:
        """Forecasts the controller needs, at most one per error level (known from the
        parameters alone, so the run's data can cover their horizon before it is built)."""
        return []

    def control(self, obs: Observation) -> Action:
        """The decision at ``obs.t_s``."""
        raise NotImplementedError


class LocalControl(Controller):
    """Every device under its own local control (NaN setpoints): the uncoordinated case as a
    controller in the loop (``control.stages = []`` runs the same plant with no controller)."""

    name = "local"
    SCHEMA = {"step_s": Param(3600, "decision interval (s)", 1)}

    def control(self, obs: Observation) -> Action:
        return Action({kind: {a: np.full(self.plant.n(kind), np.nan) for a in attrs}
                       for kind, attrs in setpoints().items() if self.plant.n(kind)})


def load_controller(target: str) -> type[Controller]:
    """The controller class of ``"package.module:Class"`` or ``"path/to/file.py:Class"`` (a path
    absolute or relative to the working directory); a ConfigError names what is missing."""
    module, sep, cls = str(target).rpartition(":")
    if not sep or not module or not cls:
        raise ConfigError(f"control.controller = {target!r} must be 'package.module:Class' or 'file.py:Class'")
    try:
        if module.endswith(".py"):
            path = pathlib.Path(module).resolve()
            name = f"cosim_user_controller_{zlib.crc32(str(path).encode())}"
            mod = sys.modules.get(name)
            if mod is None:
                spec = importlib.util.spec_from_file_location(name, path)
                if spec is None or not path.is_file():
                    raise ConfigError(f"control.controller: no file {str(path)!r}")
                mod = importlib.util.module_from_spec(spec)
                sys.modules[name] = mod
                spec.loader.exec_module(mod)
        else:
            mod = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"control.controller = {target!r}: cannot import {module!r} ({exc})") from None
    found = getattr(mod, cls, None)
    if not (isinstance(found, type) and issubclass(found, Controller)):
        raise ConfigError(f"control.controller = {target!r}: {cls!r} is not a controllers.contract.Controller "
                          f"subclass in {module!r}")
    return found


def signals(plant: PlantInfo | None = None) -> list[dict]:
    """Every signal a controller may read ("measure") or set ("setpoint"), with kind, name, unit,
    range and description, from the device registry; with ``plant``, only its kinds and their
    unit counts."""
    rows = []
    for name, kind in REGISTRY.items():
        if plant is not None and kind.fleet_cls is not None and name not in plant.fleets:
            continue
        for role, sigs in (("measure", kind.measured), ("setpoint", kind.setpoints)):
            rows += [{"kind": name, "role": role, "name": s.name, "unit": s.unit, "min": s.lo, "max": s.hi,
                      "description": s.description} for s in sigs]
    return rows
