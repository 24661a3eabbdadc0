"""A scenario's controller in a process of its own, over mosaik's TCP API.

``python -m cosim.controller_process HOST:PORT`` (mosaik starts it with ``cmd``; scenario key
``control.process = "separate"``) serves one ``Controller`` entity with the same attributes as the
in-process adapter (controllers.controller_sim): measurements in, ``"<unit eid>.<attr>"``
setpoints and the ``log`` out. Its init parameters are plain data: the scenario as TOML and the
plant's unit ids per kind. It builds the controller and
its forecaster from the scenario itself (the same seed gives the same truth and forecast errors
as in-process: common random numbers) and issues each forecast request locally at its issue
times; the future-information guard and the contract (controllers.contract) are the in-process
adapter's. Everything it sends is converted to JSON types.
"""
from __future__ import annotations

import math

import mosaik_api_v3
import numpy as np

from controllers.controller_sim import ControllerSim
from cosim_base.errors import ConfigError


def plain(value):
    """``value`` with numpy arrays and scalars as lists and Python numbers (JSON-ready)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class ProcessControllerSim(ControllerSim):
    """init params: scenario_toml, units (kind -> eids), fleets (kind -> fleet entity eid)."""

    def init(self, sid, time_resolution=1.0, scenario_toml=None, units=None, fleets=None):
        from cosim.scenario import Scenario
        from cosim.world import build_parts

        if scenario_toml is None or units is None:
            raise ConfigError("controller process: init needs scenario_toml and units")
        sc = Scenario.from_toml(scenario_toml).updated({"control.process": "in"})  # built here, in this process
        parts = build_parts(sc)
        if parts.controller is None:
            raise ConfigError("controller process: the scenario runs no controller")
        self.forecaster, self.requests = parts.forecaster, sc.control.forecast_requests()
        return super().init(sid, time_resolution, controller=parts.controller, units=units, price=parts.price,
                            fleets=fleets)

    def step(self, time, inputs, max_advance):
        t_s = int(round(time * self.time_resolution))
        made = {r.level: self.forecaster.forecast(r.level, t_s) for r in self.requests
                if t_s % math.gcd(r.every_s, r.offset_s) == 0}
        if made:
            inputs = {**inputs, "Controller": {**inputs.get("Controller", {}),
                                               "forecast": {f"local.{k}": v for k, v in made.items()}}}
        return super().step(time, inputs, max_advance)

    def get_data(self, outputs):
        return plain(super().get_data(outputs))


if __name__ == "__main__":
    mosaik_api_v3.start_simulation(ProcessControllerSim(), "cosim controller process")
