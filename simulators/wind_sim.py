"""mosaik adapter of :class:`simulators.wind.WindFleet` (model ``Wind``), no equations here.

Pass a ready fleet in-process: ``sim.Wind.create(n, fleet=WindFleet(n, ...))``.
"""
from simulators.fleet_sim import FleetSim
from simulators.wind import WindFleet


class WindSim(FleetSim):
    model = "Wind"
    fleet_cls = WindFleet
