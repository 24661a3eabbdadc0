"""Home heat hub (seed 003): hot-water/thermal tank, electric boiler, micro-CHP and gas boiler.

Per unit the heat balance of the tank is
    dE/dt = -sigma E + q_chp + eta_eb p_eb + q_gb - q_demand
with the exact storage step of simulators.thermal. The micro-CHP runs between 50 % and 100 % of
its electric rating or is off; its heat and gas follow seed 003's data sheet (Table I) by linear
interpolation. Heat demand is data (kW, a DataFrame indexed by seconds with one column per unit).
Demand the tank cannot cover is reported as ``q_unmet_kw``; heat the full tank cannot take is
reported as ``q_dumped_kw`` (never silently dropped).

Gas is bought at ``gas_price_per_kwh`` and the CHP's electric output earns
``chp_revenue_per_kwh`` (seed 003 eq. 29: C_gas and R_CHP,el, on top of the grid tariff); the
fleet reports both as ``gas_cost_per_h`` and ``chp_revenue_per_h`` (currency per hour).
:func:`degree_hour_demand_kw` makes a heat demand from outdoor temperature when no measured
profile is at hand.

Setpoints (kW): ``p_chp_kw`` electric output of the CHP (0 = off), ``p_eb_kw`` electric boiler
input, ``q_gb_kw`` gas boiler heat. NaN (default) means local control: a tank thermostat that
runs the CHP at full output below 30 % charge and stops it above 90 %, then the gas boiler and
finally the electric boiler cover what the tank cannot.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError, DataError, check, check_shape
from simulators.fleet import Fleet, or_local, row_at, tan_phi
from simulators.thermal import chp_operating_point, storage_step

DEFAULTS = dict(
    e_tank_max_kwh=20.0, e_tank0_kwh=10.0, tank_loss_per_h=0.005, p_eb_max_kw=6.0, eta_eb=1.0,
    p_chp_max_kw=6.0, chp_min_frac=0.5, q_gb_max_kw=0.0, eta_gb=0.92, pf=1.0,
    gas_price_per_kwh=0.0, chp_revenue_per_kwh=0.0,
)

#: Heat demand parameters of a hub made by degree hours (devices.heat_hub.heat_demand), est.: heat loss
#: coefficient 1.0 kW/K (27 kW design load at -12 degC: a large house whose 6 kW el. / 14.9 kW th.
#: CHP runs at full output through a winter day, seed 003 IV.A), heating limit 15 degC, hot water
#: 1.0 kW (24 kWh a day).
DEMAND_DEFAULTS = dict(ua_kw_per_k=1.0, t_limit_c=15.0, q_dhw_kw=1.0)


def degree_hour_demand_kw(t_out_c, ua_kw_per_k: float, t_limit_c: float = 15.0, q_dhw_kw: float = 0.0):
    """Heat demand (kW) of a house from its outdoor temperature: space heat
    ``ua_kw_per_k max(t_limit_c - t_out_c, 0)`` (degree-hour method: heat loss coefficient times
    the temperature gap below the heating limit, 15 degC as in VDI 3807's heating degree days)
    plus a constant domestic hot water draw ``q_dhw_kw``. Parameters are scalars or arrays that
    broadcast with ``t_out_c`` (e.g. (T, 1) temperatures and (n,) houses give (T, n))."""
    check("ua_kw_per_k", ua_kw_per_k, 0)
    check("q_dhw_kw", q_dhw_kw, 0)
    return ua_kw_per_k * np.maximum(t_limit_c - np.asarray(t_out_c, float), 0.0) + q_dhw_kw


class HeatHubFleet(Fleet):
    """N home heat hubs; ``heat_demand``: DataFrame (seconds x n units) of heat demand in kW."""

    PARAMS = tuple(DEFAULTS)
    INPUTS = {"p_chp_kw": np.nan, "p_eb_kw": np.nan, "q_gb_kw": np.nan}
    OUTPUTS = ("p_mw", "q_mvar", "p_chp_kw", "q_chp_kw", "p_eb_kw", "q_gb_kw", "gas_kw",
               "e_tank_kwh", "q_demand_kw", "q_unmet_kw", "q_dumped_kw", "gas_cost_per_h",
               "chp_revenue_per_h")

    def __init__(self, n: int, heat_demand: pd.DataFrame, **params):
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise ConfigError(f"HeatHubFleet: unknown parameter(s) {sorted(unknown)}; allowed: {sorted(DEFAULTS)}")
        self.n = int(check("HeatHubFleet.n", n, 1))
        v = {k: check_shape(f"HeatHubFleet.{k}", val, self.n) for k, val in {**DEFAULTS, **params}.items()}
        for k in ("e_tank_max_kwh", "tank_loss_per_h", "p_eb_max_kw", "p_chp_max_kw", "q_gb_max_kw",
                  "gas_price_per_kwh", "chp_revenue_per_kwh"):
            check(f"HeatHubFleet.{k}", v[k], 0)
        for k in ("eta_eb", "eta_gb", "pf"):
            check(f"HeatHubFleet.{k}", v[k], 0, 1, lo_open=True)
        check("HeatHubFleet.chp_min_frac", v["chp_min_frac"], 0, 1)
        check("HeatHubFleet.e_tank0_kwh", v["e_tank0_kwh"], 0)
        check("HeatHubFleet.e_tank0_kwh - e_tank_max_kwh", v["e_tank0_kwh"] - v["e_tank_max_kwh"], hi=0)
        if heat_demand.shape[1] != self.n:
            raise DataError(f"HeatHubFleet.heat_demand has {heat_demand.shape[1]} columns, expected {self.n}")
        self.demand_index = heat_demand.index.to_numpy(dtype=float)
        self.demand = check("HeatHubFleet.heat_demand", heat_demand.to_numpy(dtype=float), 0)
        self.p = v
        self.e = v["e_tank0_kwh"].copy()
        self.chp_on = np.zeros(self.n, bool)

    def mean_demand_kw(self, t0_s: int, dt_s: int, T: int) -> np.ndarray:
        """True heat demand (n, T) averaged over [t0 + k dt, t0 + (k+1) dt) (the data held between
        its rows), kW: the hubs' heat forecast signal."""
        edges = t0_s + dt_s * np.arange(T + 1)
        idx = self.demand_index
        if edges[-1] > idx[-1] + (idx[-1] - idx[-2] if len(idx) > 1 else 0):
            raise DataError(f"HeatHubFleet.heat_demand ends at {idx[-1]} s; asked up to {edges[-1]} s")
        knots = np.union1d(idx, edges)
        rows = np.searchsorted(idx, knots[:-1], side="right") - 1
        cum = np.concatenate([np.zeros((1, self.n)), np.cumsum(self.demand[np.maximum(rows, 0)]
                                                               * np.diff(knots)[:, None], axis=0)])
        at = cum[np.searchsorted(knots, edges)]
        return (np.diff(at, axis=0) / dt_s).T

    def _local_control(self, q_dem, u):
        p = self.p
        soc = np.divide(self.e, p["e_tank_max_kwh"], out=np.zeros(self.n), where=p["e_tank_max_kwh"] > 0)
        self.chp_on = np.where(soc < 0.3, True, np.where(soc > 0.9, False, self.chp_on))
        p_chp = np.where(self.chp_on, p["p_chp_max_kw"], 0.0)
        q_chp, _ = chp_operating_point(p_chp, p["p_chp_max_kw"])
        short = np.maximum(q_dem - q_chp, 0) * (soc < 0.1)
        q_gb = np.minimum(short, p["q_gb_max_kw"])
        p_eb = np.minimum((short - q_gb) / p["eta_eb"], p["p_eb_max_kw"])
        local = {"p_chp_kw": p_chp, "p_eb_kw": p_eb, "q_gb_kw": q_gb}
        return or_local(u, local)

    def step(self, t_s, dt_s, inputs):
        p = self.p
        dt_h = dt_s / 3600.0
        q_dem = self.demand[row_at(self.demand_index, t_s)]
        u = self._local_control(q_dem, inputs)
        p_chp = np.clip(u["p_chp_kw"], 0.0, p["p_chp_max_kw"])
        p_chp = np.where(p_chp < p["chp_min_frac"] * p["p_chp_max_kw"] / 2, 0.0,
                         np.maximum(p_chp, p["chp_min_frac"] * p["p_chp_max_kw"]))
        q_chp, gas_chp = chp_operating_point(p_chp, p["p_chp_max_kw"])
        p_eb = np.clip(u["p_eb_kw"], 0.0, p["p_eb_max_kw"])
        q_gb = np.clip(u["q_gb_kw"], 0.0, p["q_gb_max_kw"])
        q_in = q_chp + p["eta_eb"] * p_eb + q_gb
        e_next, _ = storage_step(self.e, q_in, q_dem, dt_h, p["tank_loss_per_h"])
        unmet = np.maximum(-e_next, 0.0) / dt_h
        dumped = np.maximum(e_next - p["e_tank_max_kwh"], 0.0) / dt_h
        out = {
            "p_chp_kw": p_chp, "q_chp_kw": q_chp, "p_eb_kw": p_eb, "q_gb_kw": q_gb,
            "gas_kw": gas_chp + q_gb / p["eta_gb"], "e_tank_kwh": self.e.copy(),
            "q_demand_kw": q_dem.copy(), "q_unmet_kw": unmet, "q_dumped_kw": dumped,
        }
        out["gas_cost_per_h"] = out["gas_kw"] * p["gas_price_per_kwh"]
        out["chp_revenue_per_h"] = p_chp * p["chp_revenue_per_kwh"]
        out["p_mw"] = (p_eb - p_chp) / 1000.0
        out["q_mvar"] = out["p_mw"] * tan_phi(p["pf"])
        self.e = np.clip(e_next, 0.0, p["e_tank_max_kwh"])
        return out
