"""mosaik adapter of :class:`simulators.heat_hub.HeatHubFleet` (one entity per home hub)."""
from simulators.fleet_sim import FleetSim
from simulators.heat_hub import HeatHubFleet


class HeatHubSim(FleetSim):
    model = "HeatHub"
    fleet_cls = HeatHubFleet
