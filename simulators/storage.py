"""Stationary battery storage (ESS, seed 001): a fleet of batteries stepped as arrays.

Grid-side setpoint ``p_set_kw`` (positive = charge, negative = discharge), held over the step
(zero-order hold, simulators.fleet). The battery-side power u is ``eta_charge * p`` when charging
and ``p / eta_discharge`` when discharging (physics.md section 4: E[k+1] = E[k] + eta_c Pc dt -
Pd dt / eta_d), with optional self-discharge sigma (1/h):

    dE/dt = -sigma E + u   ->   E(t+dt) = E e^{-sigma dt} + u (1 - e^{-sigma dt}) / sigma

(exact for u constant over the step; the form of physics.md section 3). The plant delivers a
constant power over the step, reduced where needed so that E ends inside [soc_min, soc_max] * C.

Seed 001's ESS dispatch cost alpha_ess * sum(P_char + P_dis) dt is left to the KPI layer: it is a
contract price, not a plant property, so the plant reports the physical throughput
``e_throughput_kwh`` (cumulative |grid energy|) and a cost study can change alpha without a rerun.
"""
from __future__ import annotations

import numpy as np

from cosim_base.errors import check, per_unit
from simulators.fleet import Fleet, or_local, tan_phi
from simulators.rc import first_order_zoh


def battery_power_kw(p_grid_kw: np.ndarray, eta_charge: np.ndarray,
                     eta_discharge: np.ndarray) -> np.ndarray:
    """Battery-side power of a grid-side power: eta_c p when charging, p / eta_d when discharging."""
    return np.where(p_grid_kw > 0, eta_charge * p_grid_kw, p_grid_kw / eta_discharge)


def grid_power_kw(u_kw: np.ndarray, eta_charge: np.ndarray, eta_discharge: np.ndarray) -> np.ndarray:
    """Inverse of :func:`battery_power_kw`."""
    return np.where(u_kw > 0, u_kw / eta_charge, u_kw * eta_discharge)


class BatteryFleet(Fleet):
    """n batteries. Parameters are scalars or length-n sequences.

    capacity_kwh (> 0); p_max_kw: grid-side charge and discharge limit (>= 0); eta_charge,
    eta_discharge in (0, 1] (default 0.95 each, a round trip of 0.90 as seed 002's "battery
    efficiency 90 %"); soc_min <= soc_init <= soc_max in [0, 1]; self_discharge_per_h (>= 0, default
    0; Li-ion loses about 2-3 % a month, 4e-5 /h); pf: power factor in (0, 1], q = p tan(arccos pf).

    soc_min/soc_max bound the dispatch only: self-discharge may take an idle battery below soc_min.
    Input ``p_set_kw`` (grid side, positive = charge); NaN (no setpoint) is idle.
    """

    INPUTS = {"p_set_kw": 0.0}
    OUTPUTS = ("p_mw", "q_mvar", "p_kw", "soc", "e_kwh", "e_throughput_kwh", "e_loss_kwh")

    def __init__(self, n: int, capacity_kwh=100.0, p_max_kw=50.0, eta_charge=0.95,
                 eta_discharge=0.95, soc_min=0.1, soc_max=0.9, soc_init=0.5,
                 self_discharge_per_h=0.0, pf=1.0):
        self.n = int(check("BatteryFleet.n", n, 1))
        f = "BatteryFleet."
        self.capacity_kwh = per_unit(f + "capacity_kwh", capacity_kwh, self.n, 0, lo_open=True)
        self.p_max_kw = per_unit(f + "p_max_kw", p_max_kw, self.n, 0)
        self.eta_charge = per_unit(f + "eta_charge", eta_charge, self.n, 0, 1, lo_open=True)
        self.eta_discharge = per_unit(f + "eta_discharge", eta_discharge, self.n, 0, 1, lo_open=True)
        self.soc_min = per_unit(f + "soc_min", soc_min, self.n, 0, 1)
        self.soc_max = per_unit(f + "soc_max", soc_max, self.n, 0, 1)
        check(f + "soc_max - soc_min", self.soc_max - self.soc_min, 0)
        soc0 = per_unit(f + "soc_init", soc_init, self.n, 0, 1)
        check(f + "soc_init - soc_min", soc0 - self.soc_min, 0)
        check(f + "soc_max - soc_init", self.soc_max - soc0, 0)
        self.sigma_per_h = per_unit(f + "self_discharge_per_h", self_discharge_per_h, self.n, 0)
        self.tan_phi = tan_phi(per_unit(f + "pf", pf, self.n, 0, 1, lo_open=True))
        self.e_kwh = soc0 * self.capacity_kwh
        self.e_throughput_kwh = np.zeros(self.n)
        self.e_loss_kwh = np.zeros(self.n)

    def step(self, t_s, dt_s, inputs):
        dt_h = dt_s / 3600.0
        out = {"soc": self.e_kwh / self.capacity_kwh, "e_kwh": self.e_kwh.copy(),
               "e_throughput_kwh": self.e_throughput_kwh.copy(), "e_loss_kwh": self.e_loss_kwh.copy()}
        p_set = or_local(inputs, {"p_set_kw": np.zeros(self.n)})["p_set_kw"]  # no setpoint: idle
        p_kw = np.clip(p_set, -self.p_max_kw, self.p_max_kw)
        u = battery_power_kw(p_kw, self.eta_charge, self.eta_discharge)
        decay, gain = first_order_zoh(self.sigma_per_h, dt_h)
        free = self.e_kwh * decay  # energy at t + dt without any power
        u_hi = np.maximum((self.soc_max * self.capacity_kwh - free) / gain, 0.0)
        u_lo = np.minimum((self.soc_min * self.capacity_kwh - free) / gain, 0.0)
        u = np.clip(u, u_lo, u_hi)
        p_kw = grid_power_kw(u, self.eta_charge, self.eta_discharge)
        e_next = free + u * gain
        self.e_loss_kwh += p_kw * dt_h - (e_next - self.e_kwh)
        self.e_throughput_kwh += np.abs(p_kw) * dt_h
        self.e_kwh = e_next
        out["p_kw"] = p_kw
        out["p_mw"] = p_kw / 1000.0
        out["q_mvar"] = out["p_mw"] * self.tan_phi
        return out
