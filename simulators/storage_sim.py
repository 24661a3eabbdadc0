"""mosaik adapter of :class:`simulators.storage.BatteryFleet` (one entity per battery)."""
from simulators.fleet_sim import FleetSim
from simulators.storage import BatteryFleet


class BatterySim(FleetSim):
    model = "Battery"
    fleet_cls = BatteryFleet
