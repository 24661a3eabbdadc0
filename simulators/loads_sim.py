"""mosaik adapter of :class:`simulators.loads.BaseLoadFleet` (model ``BaseLoad``), no equations here.

Pass a ready fleet in-process: ``sim.BaseLoad.create(n, fleet=BaseLoadFleet(n, ...))``.
"""
from simulators.fleet_sim import FleetSim
from simulators.loads import BaseLoadFleet


class BaseLoadSim(FleetSim):
    model = "BaseLoad"
    fleet_cls = BaseLoadFleet
