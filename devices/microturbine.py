"""Micro-turbines (simulators.microturbine.MicroTurbineFleet): the controller commits them
(``on``, day-ahead; later stages keep that commitment) and sets the output ``p_set_kw``
(generation, >= 0; NaN: off under local control); it measures the output. Decided by the intraday
stage (day-ahead without one); the real-time stage takes the intraday plan as a fixed injection."""
from __future__ import annotations

import numpy as np

from controllers.opf.grid_devices import MicroTurbine as MicroTurbineBlock
from devices.kind import DeviceKind, Signal, series_sum
from simulators.microturbine import MicroTurbineFleet


class MicroTurbine(DeviceKind):
    name, model, fleet_cls = "MicroTurbine", "MicroTurbine", MicroTurbineFleet
    measured = (Signal("p_kw", "kW", "electric output (generation > 0)", 0.0),)
    setpoints = (Signal("p_set_kw", "kW", "electric output (generation > 0); NaN: local control (off)", 0.0),
                 Signal("on", "-", "commitment 0/1; NaN: local control (off)", 0.0, 1.0))
    recorded = ("p_mw", "on", "fuel_kw", "cost_per_h")
    plan_keys = {"mt": ("p_gen_mw", "u_on")}
    owner = {"mt": "id"}
    rt_fixed = {"mt": ("mt.p_gen_mw", -1.0)}
    costs = {"cost_mt_fuel": 1.0}

    def initial(self, fleet):
        return {"p_kw": fleet.p_kw}

    def blocks(self, f, ctx):
        # Fuel cost at the unit's full-load efficiency plus its marginal cost (plant parameters).
        cost = 1000 * (f.gas_price_per_kwh / f.eta_el_max + f.marginal_cost_per_kwh)
        return [(MicroTurbineBlock(ctx.bus_of(self.name), f.p_min_kw / 1000, f.p_max_kw / 1000, cost_per_mwh=cost,
                                   ramp_mw_per_h=f.ramp_kw_per_min * 60 / 1000, on_off=True, name="mt"),
                 np.arange(f.n))]

    def block_data(self, name, d):
        """The measured output; commitment free in the day-ahead stage, the day-ahead plan's
        afterwards."""
        disc = d.problem.blocks["mt"].discrete[0]
        if d.stage == "da" or d.da is None:
            disc.lo.value, disc.hi.value = np.zeros(disc.lo.shape), np.ones(disc.hi.shape)
        else:
            u = np.rint(d.da.held("mt.u_on", d.t_s, d.dt_s, d.T))
            disc.lo.value, disc.hi.value = u.copy(), u.copy()
        return {"p0_mw": d.meas["p_kw"][d.index] / 1000}

    def dispatch(self, name, plan, k, put):
        if k is None:
            put("on", np.nan)
            put("p_set_kw", np.nan)
            return
        put("on", np.rint(plan.x["mt.u_on"][:, k]))
        put("p_set_kw", plan.x["mt.p_gen_mw"][:, k] * 1000)

    def kpis(self, get, dt_h, control):
        """``cost_mt_fuel``: sum of ``cost_per_h`` x ``dt_h`` (gas and marginal cost)."""
        return {"cost_mt_fuel": series_sum(get("cost_per_h"), dt_h)}
