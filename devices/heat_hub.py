"""Home heat hubs (seed 003; simulators.heat_hub.HeatHubFleet): a tank fed by a micro-CHP, an
electric boiler and a gas boiler, with a degree-hour heat demand.

The controller sets the CHP's electric output, the electric boiler and the gas boiler (kW, >= 0;
NaN: the hub's heat-led local control), measures the tank, forecasts the signal ``heat`` (kW per
hub, no error spec: exact) and models each hub as a "heat_hub" block. The day-ahead stage ends
the tank at least as full as measured, later stages at the slower plan's level (a stage reaching
the run's end at the run's terminal level, StageData.end_state).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from controllers.opf.thermal import HeatHubBlock
from devices.kind import DeviceKind, Signal, series_sum
from simulators.heat_hub import DEFAULTS, DEMAND_DEFAULTS, HeatHubFleet, degree_hour_demand_kw

#: HeatHub fleet parameters the OPF heat-hub block shares with the plant.
HUB_KEYS = ("e_tank_max_kwh", "tank_loss_per_h", "p_eb_max_kw", "eta_eb", "p_chp_max_kw", "chp_min_frac",
            "q_gb_max_kw", "eta_gb", "pf")
#: Model cost of heat a full tank cannot take (currency per MWh heat), est.: a micro-CHP is heat-led
#: (seed 003 eq. 1 has no heat sink), so dumping is a last resort, far above what running the CHP
#: against a dump could earn (under 100 per MWh of heat at seed 003's prices).
HUB_DUMP_COST_PER_MWH = 1000.0


def heat_demand(spec, n: int, w=None, **params) -> pd.DataFrame:
    """Heat demand (kW, t_s x n units) from the run's outdoor temperature by
    simulators.heat_hub.degree_hour_demand_kw; ``params``: its keys (DEMAND_DEFAULTS), a scalar or
    one value per unit; ``w``: the run's weather (default spec.weather_data())."""
    w = spec.weather_data() if w is None else w
    t_out = w.frame["t_out_c"].to_numpy(float)[:, None]
    v = {k: np.broadcast_to(np.asarray(params.get(k, d), float), (n,)) for k, d in DEMAND_DEFAULTS.items()}
    return pd.DataFrame(degree_hour_demand_kw(t_out, v["ua_kw_per_k"], v["t_limit_c"], v["q_dhw_kw"]),
                        index=w.frame.index)


class HeatHub(DeviceKind):
    name, model, fleet_cls = "HeatHub", "HeatHub", HeatHubFleet
    measured = (Signal("e_tank_kwh", "kWh", "heat stored in the tank", 0.0),)
    setpoints = (Signal("p_chp_kw", "kW", "CHP electric output; NaN: heat-led local control", 0.0),
                 Signal("p_eb_kw", "kW", "electric boiler power; NaN: local control", 0.0),
                 Signal("q_gb_kw", "kW", "gas boiler heat; NaN: local control", 0.0))
    recorded = ("p_mw", "p_chp_kw", "q_chp_kw", "p_eb_kw", "q_gb_kw", "gas_kw", "e_tank_kwh", "q_demand_kw",
                "q_unmet_kw", "q_dumped_kw", "gas_cost_per_h", "chp_revenue_per_h")
    plan_keys = {"heat_hub": ("p_chp_kw", "chp_on", "p_eb_kw", "q_gb_kw", "e_tank_kwh", "q_unmet_kw")}
    costs = {"cost_hub_gas": 1.0, "revenue_chp": -1.0}
    storage = ("e_tank_kwh", 1.0)  # tank heat as from the electric boiler (default eta_eb = 1)

    def group_params(self):
        return {k: False for k in {**DEFAULTS, **DEMAND_DEFAULTS}}

    def defaults(self):
        return {**DEFAULTS, **DEMAND_DEFAULTS}

    def make_fleet(self, spec, n, params, rng):
        demand = {k: params.pop(k) for k in DEMAND_DEFAULTS if k in params}
        return HeatHubFleet(n, heat_demand(spec, n, **demand), **params)

    def initial(self, hub):
        return {"e_tank_kwh": hub.e}

    def truth(self, fleet):
        return {"heat": (fleet.mean_demand_kw, None)}

    def blocks(self, f, ctx):
        return [(HeatHubBlock(ctx.bus_of(self.name), **{k: f.p[k] for k in HUB_KEYS},
                              dump_cost_per_mwh=HUB_DUMP_COST_PER_MWH, name="heat_hub"), np.arange(f.n))]

    def block_data(self, name, d):
        """Gas price and CHP revenue are averaged over the hubs (the block takes one (T,) price)."""
        p, idx, T = d.fleet.p, d.index, d.T
        e_max = p["e_tank_max_kwh"][idx]
        e0 = np.clip(d.meas["e_tank_kwh"][idx], 0, e_max)
        end = d.end_state("heat_hub.e_tank_kwh")
        end = e0 if end is None else end
        return {"e_tank0_kwh": e0, "e_tank_end_kwh": np.clip(end, 0, e_max), "q_demand_kw": d.forecast["heat"][idx],
                "gas_price_per_mwh": np.full(T, 1000 * p["gas_price_per_kwh"][idx].mean()),
                "chp_revenue_per_mwh": np.full(T, 1000 * p["chp_revenue_per_kwh"][idx].mean())}

    def dispatch(self, name, plan, k, put):
        for key in ("p_chp_kw", "p_eb_kw", "q_gb_kw"):
            put(key, plan.x[f"heat_hub.{key}"][:, k] if k is not None else np.nan)

    def kpis(self, get, dt_h, control):
        """``heat_unmet_kwh``, ``heat_dumped_kwh``: demand the tank could not cover and heat a full
        tank could not take (``q_unmet_kw``, ``q_dumped_kw`` x ``dt_h``); ``cost_hub_gas``: the
        hubs' gas (``gas_cost_per_h`` x ``dt_h``); ``revenue_chp``: the CHP remuneration on its
        electric output (seed 003 eq. 29, ``chp_revenue_per_h`` x ``dt_h``), a negative cost."""
        return {"heat_unmet_kwh": series_sum(get("q_unmet_kw"), dt_h),
                "heat_dumped_kwh": series_sum(get("q_dumped_kw"), dt_h),
                "cost_hub_gas": series_sum(get("gas_cost_per_h"), dt_h),
                "revenue_chp": series_sum(get("chp_revenue_per_h"), dt_h)}
