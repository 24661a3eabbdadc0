"""``[[devices.<Kind>]]``: groups of units of a device kind of the registry, with their fleet
parameters (the kinds' own declarations, devices.REGISTRY)."""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from cosim.scenario.checks import (_FrozenMap, _check_keys, _choice, _float, _int, _is_number, _plain, _set)
from cosim_base.errors import ConfigError
from devices import fleet_kinds


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
