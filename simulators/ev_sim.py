"""mosaik adapter of :class:`simulators.ev.EVFleet` (one entity per EV).

The sessions table is a constructor argument, so create the fleet in-process and pass it:
``EV.create(n, fleet=EVFleet(n, sessions, ...))``.
"""
from simulators.ev import EVFleet
from simulators.fleet_sim import FleetSim


class EVSim(FleetSim):
    model = "EV"
    fleet_cls = EVFleet
