"""The device registry: every device kind the plant, the controller, the record and the KPIs know.

Each kind is one module of this package declaring a :class:`devices.kind.DeviceKind` (see there
for what a kind states); :data:`KINDS` names them, one line per kind, in the order fleets are
built, listed in a scenario and recorded, and :data:`REGISTRY` holds one instance of each by name. The world, the controller adapter, the
multistage dispatch, the recorder wiring and the KPIs iterate over it instead of naming kinds.
"""
from __future__ import annotations

import importlib

from devices.kind import DeviceKind, Signal

#: Every kind as "module:Class", one line each. A new kind is its own module plus one line here.
KINDS = (
    "devices.load:Load",
    "devices.building:Building",
    "devices.ev:EV",
    "devices.pv:PV",
    "devices.wind:Wind",
    "devices.battery:Battery",
    "devices.microturbine:MicroTurbine",
    "devices.heat_hub:HeatHub",
    "devices.water_heater:WaterHeater",
    "devices.grid_devices:Trafo",
    "devices.grid_devices:Capacitor",
    "devices.grid_devices:SVC",
)


def _load(target: str) -> DeviceKind:
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)()


REGISTRY: dict[str, DeviceKind] = {k.name: k for k in map(_load, KINDS)}


def fleet_kinds() -> dict[str, DeviceKind]:
    """Kinds with a plant fleet (those a scenario's ``[[devices.<Kind>]]`` may list)."""
    return {n: k for n, k in REGISTRY.items() if k.fleet_cls is not None}


def grid_kinds() -> dict[str, DeviceKind]:
    """Kinds that are devices of the grid simulator."""
    return {n: k for n, k in REGISTRY.items() if k.fleet_cls is None}


def measured() -> dict[str, tuple[str, ...]]:
    """Attributes the controller measures, per kind."""
    return {n: tuple(s.name for s in k.measured) for n, k in REGISTRY.items() if k.measured}


def setpoints() -> dict[str, tuple[str, ...]]:
    """Attributes the controller sets, per kind."""
    return {n: tuple(s.name for s in k.setpoints) for n, k in REGISTRY.items() if k.setpoints}


def plan_keys() -> dict[str, tuple[str, ...]]:
    """OPF block name -> plan arrays kept, over every kind."""
    return {b: keys for k in REGISTRY.values() for b, keys in k.plan_keys.items()}


def kind_of_model(model: str) -> DeviceKind | None:
    """The kind whose entities are of mosaik type ``model`` (None for the grid's buses, lines)."""
    return next((k for k in REGISTRY.values() if k.model == model), None)


__all__ = ["KINDS", "REGISTRY", "DeviceKind", "Signal", "fleet_kinds", "grid_kinds", "measured", "setpoints",
           "plan_keys", "kind_of_model"]
