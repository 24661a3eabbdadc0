"""Generic thin mosaik-api-v3 adapter: one mosaik entity per unit of a :class:`Fleet`.

A concrete adapter only names its model and fleet class::

    class BuildingSim(FleetSim):
        model = "Building"
        fleet_cls = BuildingFleet

``create(num, model, **params)`` builds ``fleet_cls(n=num, **params)`` (per-unit parameters as
length-``num`` sequences or scalars), or takes a ready object via ``fleet=...`` (in-process use).
Each source's value is held until that source sends a new one, and an input is the sum over its
sources (:class:`HeldInputs`), so setpoints apply until replaced and a slower source stays in place.
"""
from __future__ import annotations

import inspect
from collections import defaultdict

import mosaik_api_v3
import numpy as np

from cosim_base.errors import ConfigError
from simulators.fleet import Fleet


class HeldInputs:
    """Latest value of every source per (entity, attribute); an input is the sum over its sources."""

    def __init__(self):
        self.sources: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)

    def update(self, eid: str, attr: str, values: dict[str, float]) -> float:
        """Store the values just received from their sources; return the input's new sum."""
        held = self.sources[(eid, attr)]
        held.update(values)
        return sum(held.values())


def checked_step_size(model: str, step_size) -> int:
    """``step_size`` as a positive int, else a ConfigError naming ``model``."""
    if step_size <= 0:
        raise ConfigError(f"{model} step_size = {step_size} must be a positive integer")
    return int(step_size)


def fleet_meta(model: str, fleet_cls: type[Fleet]) -> dict:
    """mosaik META of a time-based simulator exposing ``fleet_cls`` as ``model``."""
    return {
        "api_version": "3.0",
        "type": "time-based",
        "models": {
            model: {
                "public": True,
                "params": ["fleet"] + [p for p in inspect.signature(fleet_cls.__init__).parameters
                                       if p not in ("self", "n", "params", "kwargs")]
                + list(fleet_cls.PARAMS),
                "attrs": sorted(set(fleet_cls.INPUTS) | set(fleet_cls.OUTPUTS)),
                "any_inputs": False,
            }
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
        fleet = params.pop("fleet", None)
        self.fleet = fleet if fleet is not None else self.fleet_cls(n=num, **params)
        if self.fleet.n != num:
            raise ConfigError(f"{self.model}: num = {num} but the fleet has n = {self.fleet.n} units")
        self.held = self.fleet.default_inputs()
        self.eids = [f"{model}_{i}" for i in range(num)]
        self.index = {eid: i for i, eid in enumerate(self.eids)}
        return [{"eid": eid, "type": model} for eid in self.eids]

    def step(self, time, inputs, max_advance):
        for eid, attrs in inputs.items():
            i = self.index[eid]
            for attr, values in attrs.items():
                self.held[attr][i] = self.sources.update(eid, attr, values)
        t_s = int(round(time * self.time_resolution))
        dt_s = self.step_size * self.time_resolution
        self.out = self.fleet.step(t_s, dt_s, {k: v.copy() for k, v in self.held.items()})
        return time + self.step_size

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            i = self.index[eid]
            data[eid] = {a: float(self.out[a][i]) if a in self.out else float(self.held[a][i])
                         for a in attrs}
        return data
