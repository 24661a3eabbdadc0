"""Test-only mosaik source: sends fixed per-unit values (e.g. setpoints) every step."""
import numpy as np

from simulators.fleet import Fleet
from simulators.fleet_sim import FleetSim


class ConstSource(Fleet):
    """Sends fixed per-unit values (e.g. setpoints) every step; a stand-in controller."""

    def __init__(self, n, **values):
        self.n = n
        self.values = {k: np.broadcast_to(np.asarray(v, float), (n,)).copy() for k, v in values.items()}
        self.OUTPUTS = tuple(values)

    def step(self, t_s, dt_s, inputs):
        return {k: v.copy() for k, v in self.values.items()}


class SourceSim(FleetSim):
    model = "Source"
    fleet_cls = ConstSource

    def __init__(self):
        super().__init__()
        self.meta["models"]["Source"]["attrs"] = ["p_set_kw", "on"]
