"""mosaik adapter of :class:`simulators.microturbine.MicroTurbineFleet` (one entity per unit)."""
from simulators.fleet_sim import FleetSim
from simulators.microturbine import MicroTurbineFleet


class MicroTurbineSim(FleetSim):
    model = "MicroTurbine"
    fleet_cls = MicroTurbineFleet
