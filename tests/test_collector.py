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



def test_fleet_adapter_sums_sources_each_held_until_it_sends_again():
    """An event-based source (a controller) sends only when it decides; its value stays in the sum
    while another source keeps sending (mosaik delivers only what was sent this step)."""
    sim = CounterSim()
    sim.init("C", step_size=60)
    sim.create(1, "Counter")
    sim.step(0, {"Counter_0": {"inc": {"fast": 1.0, "controller": 10.0}}}, 0)
    sim.step(60, {"Counter_0": {"inc": {"fast": 2.0}}}, 0)
    sim.step(120, {}, 0)
    assert sim.get_data({"Counter_0": ["total", "inc"]})["Counter_0"] == {"total": 23.0, "inc": 12.0}
