"""The fleet adapter and the collector in a real mosaik world (no physics involved)."""
import mosaik
import numpy as np

from cosim.collector import collector_of
from simulators.fleet import Fleet
from simulators.fleet_sim import FleetSim


class Counter(Fleet):
    """Adds its held input to a per-unit total each step; used to check hold and timing."""
    INPUTS = {"inc": 1.0}
    OUTPUTS = ("total",)

    def __init__(self, n):
        self.n = n
        self.total = np.zeros(n)

    def step(self, t_s, dt_s, inputs):
        out = {"total": self.total.copy()}
        self.total += inputs["inc"]
        return out


class CounterSim(FleetSim):
    model = "Counter"
    fleet_cls = Counter


def test_fleet_adapter_holds_inputs_and_reports_state_at_step_start():
    world = mosaik.World({"C": {"python": "tests.test_collector:CounterSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    counters = world.start("C", step_size=60).Counter.create(3)
    mon = world.start("Collector", step_size=60).Monitor()
    world.connect(counters[1], mon, "total")
    world.connect(counters[2], mon, "total")
    world.run(until=300)
    df = collector_of(world, mon).frame("total")
    assert list(df.index) == [0, 60, 120, 180, 240]
    np.testing.assert_array_equal(df["Counter_1"], [0, 1, 2, 3, 4])
