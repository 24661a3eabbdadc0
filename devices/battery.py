"""Batteries (simulators.storage.BatteryFleet): the controller sets the grid-side power
``p_set_kw`` (consumer sign: charging > 0; NaN: idle), measures the stored energy, and models each
as an ESS block with a cycling cost. Decided by the intraday stage (day-ahead without one); the
real-time stage takes the intraday plan as a fixed injection (seed 001)."""
from __future__ import annotations

import numpy as np

from controllers.opf.grid_devices import Battery as BatteryBlock
from devices.kind import DeviceKind, Signal, series_sum
from simulators.storage import BatteryFleet


class Battery(DeviceKind):
    name, model, fleet_cls = "Battery", "Battery", BatteryFleet
    measured = (Signal("e_kwh", "kWh", "stored energy", 0.0),)
    setpoints = (Signal("p_set_kw", "kW", "grid-side power, charging > 0; NaN: idle"),)
    recorded = ("p_mw", "soc", "e_kwh")
    plan_keys = {"ess": ("p_mw", "e_mwh")}
    owner = {"ess": "id"}
    rt_fixed = {"ess": ("ess.p_mw", 1.0)}
    costs = {"cost_ess": 1.0}
    storage = ("e_kwh", 1 / 0.95)  # BatteryFleet's default eta_charge

    def initial(self, fleet):
        return {"e_kwh": fleet.e_kwh}

    def blocks(self, f, ctx):
        return [(BatteryBlock(ctx.bus_of(self.name), e_max_mwh=f.capacity_kwh / 1000, p_max_mw=f.p_max_kw / 1000,
                              eta_c=f.eta_charge, eta_d=f.eta_discharge, soc_min=f.soc_min, soc_max=f.soc_max,
                              cost_per_mwh=ctx.costs.ess_cost_per_mwh, name="ess"), np.arange(f.n))]

    def block_data(self, name, d):
        """Measured energy; at the horizon end the slower plan's level (or the run's terminal one,
        StageData.end_state) moved into what full power can reach."""
        f, idx = d.fleet, d.index
        e0 = d.meas["e_kwh"][idx] / 1000
        out = {"e0_mwh": e0}
        e_end = d.end_state("ess.e_mwh", 1e-3)
        if e_end is not None:
            reach = f.p_max_kw[idx] / 1000 * d.T * d.dt_s / 3600
            lo, hi = f.soc_min[idx] * f.capacity_kwh[idx] / 1000, f.soc_max[idx] * f.capacity_kwh[idx] / 1000
            out["e_final_mwh"] = np.clip(e_end, np.maximum(lo, e0 - reach / f.eta_discharge[idx]),
                                         np.minimum(hi, e0 + reach * f.eta_charge[idx]))
        return out

    def dispatch(self, name, plan, k, put):
        put("p_set_kw", plan.x["ess.p_mw"][:, k] * 1000 if k is not None else np.nan)

    def kpis(self, get, dt_h, control):
        """``ess_throughput_mwh``: sum of ``|p_mw|`` x ``dt_h`` (charge plus discharge at the grid
        side, the controller's ``(Pc + Pd) dt``); ``cost_ess`` = that x ``control.ess_cost_per_mwh``."""
        mwh = series_sum(get("p_mw"), dt_h, np.abs)
        return {"ess_throughput_mwh": mwh, "cost_ess": mwh * control.ess_cost_per_mwh}
