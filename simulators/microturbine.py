"""Micro gas turbines (MT, seed 001): dispatchable generators stepped as arrays.

Each unit is off (0 kW) or on between p_min_kw and p_max_kw. Its output is held constant over a
step (zero-order hold, simulators.fleet) and moves between consecutive steps by at most
ramp_kw_per_min * dt (the discrete ramp constraint of dispatch models such as seed 001's MT
constraints). A start-up goes straight to p_min_kw and a shut-down straight to 0 (est.: both within
one plant step, as micro-turbines start in a few minutes).

Operating cost (seed 001): C_MT = sum_t rho_MT P_MT dt, here the rate ``cost_per_h`` =
marginal_cost_per_kwh * P plus gas_price_per_kwh * fuel_kw. Fuel input is linear in output between
(p_min, p_min / eta_el_min) and (p_max, p_max / eta_el_max), the linear interpolation of seed 003's
CHP data sheet; its default efficiencies are that sheet's, 27.0 % at full and 20.3 % at half load
(simulators.thermal.CHP_TABLE_KW). Neither seed's text gives prices: they default to 0.
"""
from __future__ import annotations

import numpy as np

from cosim_base.errors import check
from simulators.fleet import Fleet, or_local
from cosim_base.errors import per_unit
from simulators.fleet import tan_phi
from simulators.thermal import CHP_TABLE_KW

ETA_EL_MAX = CHP_TABLE_KW[-1, 0] / CHP_TABLE_KW[-1, 2]
ETA_EL_MIN = CHP_TABLE_KW[0, 0] / CHP_TABLE_KW[0, 2]


def fuel_kw(p_kw, on, p_min_kw, p_max_kw, eta_el_min, eta_el_max) -> np.ndarray:
    """Fuel (gas) input power: linear between the two operating points, 0 when off."""
    f_min, f_max = p_min_kw / eta_el_min, p_max_kw / eta_el_max
    span = p_max_kw - p_min_kw
    slope = np.where(span > 0, (f_max - f_min) / np.where(span > 0, span, 1.0), 0.0)
    return np.where(on, f_min + slope * (p_kw - p_min_kw), 0.0)


class MicroTurbineFleet(Fleet):
    """n micro-turbines; parameters are scalars or length-n sequences.

    p_max_kw (> 0, default 65, est.: a common unit size); p_min_kw in [0, p_max_kw] (default half
    of p_max_kw, seed 003's 50-100 % range); ramp_kw_per_min (> 0, default 10, est.);
    marginal_cost_per_kwh and gas_price_per_kwh (>= 0, money per kWh of output / of fuel);
    eta_el_min, eta_el_max in (0, 1] (electrical efficiency at p_min / p_max); pf in (0, 1];
    on_init (0/1) and p_init_kw (within the limits when on): the state before the first step.

    Inputs: ``p_set_kw`` (generation, >= 0) and ``on`` (>= 0.5 runs the unit; default 0, off;
    NaN, i.e. no setpoint, is off: a micro-turbine has no local dispatch).
    Outputs, means over [t, t + dt): p_mw (consumer convention, negative when generating), q_mvar
    (= p tan(arccos pf)), p_kw (generation, positive), on (0/1), fuel_kw, cost_per_h.
    """

    INPUTS = {"p_set_kw": 0.0, "on": 0.0}
    OUTPUTS = ("p_mw", "q_mvar", "p_kw", "on", "fuel_kw", "cost_per_h")

    def __init__(self, n: int, p_max_kw=65.0, p_min_kw=None, ramp_kw_per_min=10.0,
                 marginal_cost_per_kwh=0.0, gas_price_per_kwh=0.0, eta_el_min=ETA_EL_MIN,
                 eta_el_max=ETA_EL_MAX, pf=1.0, on_init=0, p_init_kw=None):
        self.n = int(check("MicroTurbineFleet.n", n, 1))
        f = "MicroTurbineFleet."
        self.p_max_kw = per_unit(f + "p_max_kw", p_max_kw, self.n, 0, lo_open=True)
        self.p_min_kw = (0.5 * self.p_max_kw if p_min_kw is None
                         else per_unit(f + "p_min_kw", p_min_kw, self.n, 0))
        check(f + "p_max_kw - p_min_kw", self.p_max_kw - self.p_min_kw, 0)
        self.ramp_kw_per_min = per_unit(f + "ramp_kw_per_min", ramp_kw_per_min, self.n, 0, lo_open=True)
        self.marginal_cost_per_kwh = per_unit(f + "marginal_cost_per_kwh", marginal_cost_per_kwh, self.n, 0)
        self.gas_price_per_kwh = per_unit(f + "gas_price_per_kwh", gas_price_per_kwh, self.n, 0)
        self.eta_el_min = per_unit(f + "eta_el_min", eta_el_min, self.n, 0, 1, lo_open=True)
        self.eta_el_max = per_unit(f + "eta_el_max", eta_el_max, self.n, 0, 1, lo_open=True)
        self.tan_phi = tan_phi(per_unit(f + "pf", pf, self.n, 0, 1, lo_open=True))
        self.on = per_unit(f + "on_init", on_init, self.n, 0, 1) >= 0.5
        p0 = self.p_min_kw if p_init_kw is None else per_unit(f + "p_init_kw", p_init_kw, self.n, 0)
        check(f + "p_init_kw - p_min_kw", np.where(self.on, p0 - self.p_min_kw, 0.0), 0)
        check(f + "p_max_kw - p_init_kw", np.where(self.on, self.p_max_kw - p0, 0.0), 0)
        self.p_kw = np.where(self.on, p0, 0.0)

    def step(self, t_s, dt_s, inputs):
        u = or_local(inputs, {"on": np.zeros(self.n), "p_set_kw": self.p_min_kw})  # no setpoint: off
        on = u["on"] >= 0.5
        target = np.clip(u["p_set_kw"], self.p_min_kw, self.p_max_kw)
        prev = np.where(self.on, self.p_kw, self.p_min_kw)  # a start-up begins at p_min
        ramp = self.ramp_kw_per_min * dt_s / 60.0
        p_kw = np.where(on, np.clip(target, prev - ramp, prev + ramp), 0.0)
        fuel = fuel_kw(p_kw, on, self.p_min_kw, self.p_max_kw, self.eta_el_min, self.eta_el_max)
        self.on, self.p_kw = on, p_kw
        p_mw = -p_kw / 1000.0
        return {"p_mw": p_mw, "q_mvar": p_mw * self.tan_phi, "p_kw": p_kw, "on": on.astype(float),
                "fuel_kw": fuel,
                "cost_per_h": self.marginal_cost_per_kwh * p_kw + self.gas_price_per_kwh * fuel}
