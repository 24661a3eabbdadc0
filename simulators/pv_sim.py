"""mosaik adapter of :class:`simulators.pv.PVFleet` (model ``PV``), no equations here.

Pass a ready fleet in-process: ``sim.PV.create(n, fleet=PVFleet(n, ...))``.
"""
from simulators.fleet_sim import FleetSim
from simulators.pv import PVFleet


class PVSim(FleetSim):
    model = "PV"
    fleet_cls = PVFleet
