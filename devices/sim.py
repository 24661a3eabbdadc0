"""The mosaik adapter of every fleet kind of the registry (one entity per unit, no equations).

``world.start(<name>, step_size=60, kind="Building")`` starts a simulator whose model is the
kind's ``model`` (e.g. ``Building``, ``BaseLoad``) with the fleet's inputs and outputs as attrs;
``sim.<model>.create(n, fleet=...)`` takes a ready fleet (in-process), or builds
``fleet_cls(n=num, **params)`` from parameters. See simulators.fleet_sim.FleetSim.
"""
from __future__ import annotations

from cosim_base.errors import ConfigError
from devices import fleet_kinds
from simulators.fleet_sim import FleetSim, fleet_meta


class DeviceSim(FleetSim):
    """init parameter ``kind``: a fleet kind of devices.REGISTRY."""

    def init(self, sid, time_resolution=1.0, step_size=60, kind=None, **sim_params):
        kinds = fleet_kinds()
        if kind not in kinds:
            raise ConfigError(f"DeviceSim: kind = {kind!r} must be one of {sorted(kinds)}")
        self.model, self.fleet_cls = kinds[kind].model, kinds[kind].fleet_cls
        self.meta = fleet_meta(self.model, self.fleet_cls)
        return super().init(sid, time_resolution=time_resolution, step_size=step_size, **sim_params)
