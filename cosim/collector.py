"""In-memory mosaik sink: stores every value it receives, per source entity and attribute.

Used by tests and by the plant-only main command; the HDF5 recorder builds on the same idea.
After ``world.run``, read the data from the simulator instance (in-process)::

    world = mosaik.World({"Collector": {"python": "cosim.collector:Collector"}})
    col = world.start("Collector", step_size=60).Monitor()
    ...
    world.run(until=3600)
    vm = collector_of(world, col).frame("vm_pu")   # time x source entity
"""
from __future__ import annotations

from collections import defaultdict

import mosaik_api_v3
import pandas as pd

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {"Monitor": {"public": True, "any_inputs": True, "params": [], "attrs": []}},
}


class Collector(mosaik_api_v3.Simulator):
    def __init__(self):
        super().__init__(META)
        self.data: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
        self.eid = None

    def init(self, sid, time_resolution=1.0, step_size=60):
        self.step_size = int(step_size)
        return self.meta

    def create(self, num, model):
        if self.eid is not None or num != 1:
            raise ValueError("Collector holds exactly one Monitor entity")
        self.eid = "Monitor"
        return [{"eid": self.eid, "type": model}]

    def step(self, time, inputs, max_advance):
        for attr, sources in inputs.get(self.eid, {}).items():
            for src, value in sources.items():
                self.data[(src.split(".", 1)[-1], attr)][time] = value
        return time + self.step_size

    def frame(self, attr: str) -> pd.DataFrame:
        """All received values of ``attr`` as a DataFrame (time x source entity id)."""
        cols = {src: pd.Series(v) for (src, a), v in self.data.items() if a == attr}
        return pd.DataFrame(cols).sort_index()


def collector_of(world, entity) -> Collector:
    """The in-process Collector instance behind ``entity`` of a finished (or running) world."""
    return world.sims[entity.sid]._proxy.sim
