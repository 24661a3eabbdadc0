"""mosaik adapter of :class:`simulators.building.BuildingFleet` (one entity per building)."""
from simulators.building import BuildingFleet
from simulators.fleet_sim import FleetSim


class BuildingSim(FleetSim):
    model = "Building"
    fleet_cls = BuildingFleet
