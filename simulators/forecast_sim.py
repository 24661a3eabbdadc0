"""mosaik adapter of :class:`simulators.forecast.Forecaster` (model ``Forecast``), in-process only.

One entity per stage, ``Forecast_<stage>``, deciding at t = offset_s + k every_s (s)::

    fsim = world.start("Forecast", forecaster=Forecaster(truth, errors, grids))
    rt = fsim.Forecast(stage="rt", every_s=300)

The simulator steps at the union of its entities' decision times, and at least hourly
(simulators.fleet_sim.capped_step). Its ``forecast`` output at a step is the :class:`~simulators.forecast.Forecast` object the entity made at that step, and None
when it made none (before its first decision and between decisions): a forecast arrives exactly
once, at its decision time, and a consumer keeps the last one it received. In-process mosaik
passes the object unchanged (its arrays are read-only as it may be shared).
"""
from __future__ import annotations

import copy

import mosaik_api_v3

from cosim_base.errors import ConfigError
from simulators.fleet_sim import capped_step
from simulators.forecast import Forecast, Forecaster

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Forecast": {
            "public": True,
            "params": ["stage", "every_s", "offset_s"],
            "attrs": ["forecast"],
            "any_inputs": False,
        }
    },
}


class ForecastSim(mosaik_api_v3.Simulator):
    def __init__(self):
        super().__init__(copy.deepcopy(META))
        self.forecaster: Forecaster | None = None
        self.time_resolution = 1.0
        self.entities: dict[str, tuple[str, int, int]] = {}  # eid -> (stage, every_s, offset_s)
        self.current: dict[str, Forecast | None] = {}

    def init(self, sid, time_resolution=1.0, forecaster=None):
        if not isinstance(forecaster, Forecaster):
            raise ConfigError(f"ForecastSim needs forecaster=<Forecaster>, got {type(forecaster).__name__}")
        self.sid = sid
        self.forecaster = forecaster
        self.time_resolution = float(time_resolution)
        return self.meta

    def _seconds(self, field: str, value_s, lo_open: bool) -> int:
        """Whole seconds that are a whole number of mosaik steps, else ConfigError naming ``field``."""
        if (value_s != int(value_s) or value_s < 0 or (lo_open and value_s == 0)
                or (value_s / self.time_resolution) % 1):
            kind = "positive" if lo_open else "non-negative"
            raise ConfigError(f"Forecast.{field} = {value_s!r} s must be a {kind} whole number of s and "
                              f"a multiple of time_resolution = {self.time_resolution} s")
        return int(value_s)

    def create(self, num, model, stage, every_s, offset_s=0):
        if num != 1:
            raise ConfigError(f"Forecast: num = {num}, create one entity per stage (num = 1)")
        if stage not in self.forecaster.grids:
            raise ConfigError(f"Forecast.stage = {stage!r} is not one of the forecaster's grids "
                              f"{sorted(self.forecaster.grids)}")
        eid = f"Forecast_{stage}"
        if eid in self.entities:
            raise ConfigError(f"Forecast.stage = {stage!r} was already created in {self.sid}")
        self.entities[eid] = (stage, self._seconds("every_s", every_s, True),
                              self._seconds("offset_s", offset_s, False))
        self.current[eid] = None
        return [{"eid": eid, "type": model}]

    def step(self, time, inputs, max_advance):
        t_s = int(round(time * self.time_resolution))
        next_s = []
        for eid, (stage, every_s, offset_s) in self.entities.items():
            due = t_s >= offset_s and (t_s - offset_s) % every_s == 0
            self.current[eid] = self.forecaster.forecast(stage, t_s) if due else None
            next_s.append(offset_s if t_s < offset_s else t_s + every_s - (t_s - offset_s) % every_s)
        return capped_step(time, round(min(next_s) / self.time_resolution), self.time_resolution) if next_s else None

    def get_data(self, outputs):
        return {eid: {attr: self.current[eid] for attr in attrs} for eid, attrs in outputs.items()}
