"""Generic thin mosaik-api-v3 adapter of a :class:`Fleet`: one entity per unit, or one for the fleet.

A concrete adapter only names its model and fleet class::

    class BuildingSim(FleetSim):
        model = "Building"
        fleet_cls = BuildingFleet

``create(num, model, **params)`` builds ``fleet_cls(n=num, **params)`` (per-unit parameters as
length-``num`` sequences or scalars), or takes a ready object via ``fleet=...`` (in-process use).

Two models, one fleet per simulator instance:

* ``<model>`` (e.g. ``Building``): ``num`` entities ``<model>_<i>``, one per unit, float attributes;
* ``<model>Fleet`` (:data:`FLEET`): one entity ``<model>`` whose attributes are lists over the
  units (fleet order), with the unit entities as its children (``entity.children``, for whoever
  connects to single units). Create parameters as above plus ``n`` (the number of units, when the
  fleet is built here), ``bus_pos`` (each unit's position in the network's bus list) and ``n_bus``:
  then it also sends ``bus_p_mw`` / ``bus_q_mvar``, the units' draw summed per bus (a list of
  ``n_bus``), for the grid's ``Grid`` entity. One connection carries the whole fleet, so mosaik's
  exchange does not grow with the number of units.

Each source's value is held until that source sends a new one, and an input is the sum over its
sources (:class:`HeldInputs`; a fleet entity's source counts for every unit), so setpoints apply
until replaced and a slower source stays in place.
"""
from __future__ import annotations

import inspect
from collections import defaultdict

import mosaik_api_v3
import numpy as np

from cosim_base.errors import ConfigError, DataError
from simulators.fleet import Fleet


class HeldInputs:
    """Latest value of every source per (entity, attribute); an input is the sum over its sources
    (numbers, or arrays for an entity that stands for many: :func:`as_arrays`)."""

    def __init__(self):
        self.sources: dict[tuple[str, str], dict] = defaultdict(dict)

    def update(self, eid: str, attr: str, values: dict):
        """Store the values just received from their sources; return the input's new sum."""
        held = self.sources[(eid, attr)]
        held.update(values)
        return sum(held.values())


def as_arrays(values: dict, n: int, where: str) -> dict[str, np.ndarray]:
    """Each source's list of ``values`` (a whole fleet's or grid's input) as an array of ``n``
    numbers, else a DataError naming ``where`` (entity.attr) and the source."""
    out = {}
    for src, v in values.items():
        out[src] = np.asarray(v, dtype=float)
        if out[src].shape != (n,):
            raise DataError(f"{where} from {src}: expected a list of {n} numbers, got shape {out[src].shape}")
    return out


#: Suffix of the model with one entity per fleet.
FLEET = "Fleet"
#: Per-bus draw a fleet entity sends to the grid, from the units' p_mw / q_mvar.
BUS_ATTRS = {"bus_p_mw": "p_mw", "bus_q_mvar": "q_mvar"}


#: The longest a time-based adapter of this project lets pass between its steps (s). mosaik keeps
#: every simulator's outputs from the oldest last step of all simulators on and prunes that cache
#: with a pass over it at every step: a simulator that stepped once a day (a day-ahead controller
#: and its forecasts) let it grow all day: 19 s of the 30 s a day-ahead-only default day took.
HEARTBEAT_S = 3600


def capped_step(time: int, next_time: int, time_resolution: float = 1.0) -> int:
    """``next_time`` (mosaik time), or the first whole HEARTBEAT_S after ``time`` if earlier."""
    beat_s = (int(round(time * time_resolution)) // HEARTBEAT_S + 1) * HEARTBEAT_S
    return min(int(next_time), int(round(beat_s / time_resolution)))


def checked_step_size(model: str, step_size) -> int:
    """``step_size`` as a positive int, else a ConfigError naming ``model``."""
    if step_size <= 0:
        raise ConfigError(f"{model} step_size = {step_size} must be a positive integer")
    return int(step_size)


def fleet_meta(model: str, fleet_cls: type[Fleet]) -> dict:
    """mosaik META of a time-based simulator exposing ``fleet_cls`` as ``model`` (one entity per
    unit) and ``model + FLEET`` (one entity for the fleet)."""
    params = ["fleet"] + [p for p in inspect.signature(fleet_cls.__init__).parameters
                          if p not in ("self", "n", "params", "kwargs")] + list(fleet_cls.PARAMS)
    attrs = sorted(set(fleet_cls.INPUTS) | set(fleet_cls.OUTPUTS))
    return {
        "api_version": "3.0",
        "type": "time-based",
        "models": {
            model: {"public": True, "params": params, "attrs": attrs, "any_inputs": False},
            model + FLEET: {"public": True, "params": params + ["n", "bus_pos", "n_bus"],
                            "attrs": attrs + list(BUS_ATTRS), "any_inputs": False},
        },
    }


class FleetSim(mosaik_api_v3.Simulator):
    model: str = ""
    fleet_cls: type[Fleet] = Fleet

    def __init__(self):
        super().__init__(fleet_meta(self.model, self.fleet_cls))
        self.fleet: Fleet | None = None
        self.eids: list[str] = []
        self.held: dict[str, np.ndarray] = {}
        self.sources = HeldInputs()
        self.unit_sent: dict[str, np.ndarray] = {}  # attr -> units with a unit-level source
        self.whole: dict[str, np.ndarray] = {}  # attr -> the fleet entity's sources summed
        self.inputs: dict[str, np.ndarray] = {}  # the inputs of the last step, as applied
        self.bus_pos: np.ndarray | None = None
        self.n_bus = 0
        self.out: dict[str, np.ndarray] = {}
        self.step_size = 60
        self.time_resolution = 1.0

    def init(self, sid, time_resolution=1.0, step_size=60, **sim_params):
        self.sid = sid
        self.step_size = checked_step_size(self.model, step_size)
        self.time_resolution = float(time_resolution)
        return self.meta

    def create(self, num, model, **params):
        if self.fleet is not None:
            raise ConfigError(f"{self.model}: create() may be called once per simulator instance")
        whole = model == self.model + FLEET
        if whole:
            if num != 1:
                raise ConfigError(f"{model}: num = {num}; create one fleet entity (the units are its children)")
            self._set_buses(params.pop("bus_pos", None), params.pop("n_bus", None))
            num = params.pop("n", None)
            if params.get("fleet") is None and (num is None or num < 1):
                raise ConfigError(f"{model}: give fleet (in-process) or n, the number of units (>= 1); got n = {num}")
        fleet = params.pop("fleet", None)
        self.fleet = fleet if fleet is not None else self.fleet_cls(n=num, **params)
        if num is not None and self.fleet.n != num:
            raise ConfigError(f"{self.model}: num = {num} but the fleet has n = {self.fleet.n} units")
        if self.bus_pos is not None and len(self.bus_pos) != self.fleet.n:
            raise ConfigError(f"{model}: bus_pos has {len(self.bus_pos)} positions for {self.fleet.n} units")
        self.held = self.fleet.default_inputs()
        self.inputs = {k: v.copy() for k, v in self.held.items()}
        self.unit_sent = {k: np.zeros(self.fleet.n, bool) for k in self.held}
        self.eids = [f"{self.model}_{i}" for i in range(self.fleet.n)]
        self.index = {eid: i for i, eid in enumerate(self.eids)}
        units = [{"eid": eid, "type": self.model} for eid in self.eids]
        return [{"eid": self.model, "type": model, "children": units}] if whole else units

    def _set_buses(self, bus_pos, n_bus) -> None:
        if bus_pos is None:
            return
        pos = np.asarray(bus_pos, dtype=int)
        if n_bus is None or np.any((pos < 0) | (pos >= n_bus)):
            raise ConfigError(f"{self.model}{FLEET}: bus_pos must lie in [0, n_bus - 1] with n_bus given; "
                              f"got n_bus = {n_bus}, bus_pos in [{pos.min(initial=0)}, {pos.max(initial=0)}]")
        self.bus_pos, self.n_bus = pos, int(n_bus)

    def step(self, time, inputs, max_advance):
        for eid, attrs in inputs.items():
            if eid == self.model:
                for attr, values in attrs.items():
                    self.whole[attr] = self.sources.update(eid, attr, as_arrays(values, self.fleet.n, f"{eid}.{attr}"))
                continue
            i = self.index[eid]
            for attr, values in attrs.items():
                self.held[attr][i] = self.sources.update(eid, attr, values)
                self.unit_sent[attr][i] = True
        self.inputs = {}
        for attr, held in self.held.items():
            whole = self.whole.get(attr)
            self.inputs[attr] = held.copy() if whole is None else np.where(self.unit_sent[attr], held + whole, whole)
        t_s = int(round(time * self.time_resolution))
        dt_s = self.step_size * self.time_resolution
        self.out = self.fleet.step(t_s, dt_s, {k: v.copy() for k, v in self.inputs.items()})
        return time + self.step_size

    def _array(self, attr: str) -> np.ndarray:
        return self.out[attr] if attr in self.out else self.inputs[attr]

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            if eid == self.model:
                if self.bus_pos is None and BUS_ATTRS.keys() & set(attrs):
                    raise ConfigError(f"{eid}: bus_p_mw / bus_q_mvar need the create parameters bus_pos and n_bus")
                data[eid] = {a: np.bincount(self.bus_pos, self._array(BUS_ATTRS[a]), self.n_bus).tolist()
                             if a in BUS_ATTRS else self._array(a).tolist() for a in attrs}
                continue
            i = self.index[eid]
            data[eid] = {a: float(self._array(a)[i]) for a in attrs}
        return data
