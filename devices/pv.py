"""PV plants: pvlib's PVWatts chain on the run's weather (simulators.pv.PVFleet).

The controller may cap the output (``p_max_kw``, only where its plan curtails more than 1 kW;
NaN = uncurtailed) and forecasts the signal ``pv`` (available kW per plant, errors relative to
the rating ``s_max_kva``).
"""
from __future__ import annotations

import numpy as np

from controllers.opf.grid_devices import Renewables
from devices.kind import DeviceKind, Signal
from simulators.pv import PVFleet


class PV(DeviceKind):
    name, model, fleet_cls = "PV", "PV", PVFleet
    plant_supplied = ("weather",)
    setpoints = (Signal("p_max_kw", "kW", "cap on the AC output (generation, >= 0); NaN: uncurtailed", 0.0),)
    recorded = ("p_mw", "p_avail_kw", "curtailed_kw")

    @property
    def block(self) -> str:
        """OPF block name and forecast signal: the kind's name in lower case."""
        return self.name.lower()

    @property
    def plan_keys(self):
        return {self.block: ("p_gen_mw", "curtail_mw")}

    def make_fleet(self, spec, n, params, rng):
        return self.fleet_cls(n, spec.weather_data(), **params)

    def truth(self, fleet):
        return {self.block: (fleet.mean_avail_kw, np.asarray(fleet.s_max_kva, float))}

    def blocks(self, fleet, ctx):
        s_mva = np.asarray(fleet.s_max_kva, float) / 1000.0
        return [(Renewables(ctx.bus_of(self.name), s_rated_mva=np.maximum(s_mva, 1e-6), name=self.block),
                 np.arange(fleet.n))]

    def block_data(self, name, d):
        return {"p_avail_mw": d.forecast[name][d.index] / 1000}

    def dispatch(self, name, plan, k, put):
        if k is None:
            put("p_max_kw", np.nan)
            return
        cut = plan.x[f"{name}.curtail_mw"][:, k] > 1e-3  # a limit only where the plan curtails (> 1 kW)
        put("p_max_kw", np.where(cut, plan.x[f"{name}.p_gen_mw"][:, k] * 1000, np.nan))
