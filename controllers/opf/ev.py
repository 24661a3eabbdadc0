"""OPF device block of electric vehicles: smart charging, V2G and trip reduction (seeds 002, 003).

Mirrors simulators.ev.EVFleet with the controller's own parameter values (same names, same units).
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np

from controllers.opf.block import Block, Context, make_spec, set_params
from controllers.opf.thermal import cols, make_discrete, mode_rule
from cosim_base.errors import check, check_shape, per_unit
from simulators.fleet import tan_phi


class EVBlock(Block):
    """EVs at home chargers over the horizon; power in kW (grid side), energy in kWh (battery).

    Per unit and period k (physics.md section 4; seed 002 eq. 39-48; seed 003 eq. 15-17):

        e[k+1] = e[k] + dt (eta_charge p_ch - p_dis / eta_discharge) - (trip[k] - trip_red[k])
        p_ch <= p_charge_max min(avail, 1 - v2g_on),  p_dis <= p_discharge_max min(avail, v2g_on)
        p_ch <= p_charge_max (C - e[k+1]) / (C (1 - soc_taper))     CC-CV taper of the plant
        e[k+1] <= soc_max C,   e[k+1] + shortfall[k] >= max(soc_min C, e_need[k])
        0 <= trip_red <= trip_red_max_frac trip                      (seed 002: up to 10 %)

    ``v2g_on`` is a Discrete (no simultaneous charge and discharge, seed 002 eq. 38), present
    only if some unit has ``p_discharge_max_kw`` > 0. The taper bound at the period's end energy
    makes the planned power deliverable by the plant's exact CC-CV step. ``shortfall_kwh`` >= 0
    makes an unreachable need or a trip below the reserve a priced, reported deficit
    (``shortfall_cost_per_mwh``), never an infeasible problem; see :meth:`diagnose`.
    Cost: ``v2g_comp_per_mwh`` per MWh discharged (owner compensation) and ``trip_comp_per_mwh``
    per MWh of trip energy avoided (seed 002 eq. 49); the energy price of p_mw is the core's.

    Constructor: ``bus`` (n,); (scalars or (n,), defaults of simulators.ev.EVFleet) capacity_kwh,
    p_charge_max_kw, p_discharge_max_kw (0 = no V2G), eta_charge, eta_discharge, soc_min, soc_max,
    soc_taper in [0, 1), pf, trip_red_max_frac in [0, 1] (0 = no trip reduction; seed 002 uses 0.1);
    shortfall_cost_per_mwh; name.
    set_data keys: e0_kwh (n,) initial energy; avail (n, T) in [0, 1] plugged-in share of the
    period (p_kw is the period's mean power, at most its share of the limits; the plant gets
    ``p_set_kw`` = p_kw / avail while plugged in, so the period's energy is the planned one); e_need_kwh
    (n, T) energy required at the end of period k (the session's target in the last period before
    departure, default 0); trip_kwh (n, T) energy driven in period k (default 0);
    v2g_comp_per_mwh, trip_comp_per_mwh (n,) (default 0).
    plan keys: p_ch_kw, p_dis_kw, p_kw, p_set_kw, trip_red_kwh, shortfall_kwh, v2g_on (n, T); e_kwh,
    soc (n, T+1); need_met (n,) 1.0 if no shortfall above 1e-6 kWh; with trip reduction also
    trip_red_frac (n, T), the share of each period's trip forgone (the plant's input).
    """

    name = "ev"

    def __init__(self, bus, *, capacity_kwh=60.0, p_charge_max_kw=11.0, p_discharge_max_kw=0.0,
                 eta_charge=0.9, eta_discharge=0.9, soc_min=0.1, soc_max=1.0, soc_taper=0.8, pf=1.0,
                 trip_red_max_frac=0.0, shortfall_cost_per_mwh=10000.0, name=None):
        super().__init__()
        self.name = name or self.name
        self.bus = np.atleast_1d(np.asarray(bus, dtype=int))
        n = self.n
        u = lambda key, v, lo, hi=None, **kw: per_unit(f"EVBlock.{key}", v, n, lo, hi, **kw)  # noqa: E731
        self.capacity_kwh = u("capacity_kwh", capacity_kwh, 0, lo_open=True)
        self.p_charge_max_kw = u("p_charge_max_kw", p_charge_max_kw, 0)
        self.p_discharge_max_kw = u("p_discharge_max_kw", p_discharge_max_kw, 0)
        self.eta_charge = u("eta_charge", eta_charge, 0, 1, lo_open=True)
        self.eta_discharge = u("eta_discharge", eta_discharge, 0, 1, lo_open=True)
        self.soc_min = u("soc_min", soc_min, 0, 1)
        self.soc_max = u("soc_max", soc_max, 0, 1)
        check("EVBlock.soc_max - soc_min", self.soc_max - self.soc_min, 0)
        self.soc_taper = u("soc_taper", soc_taper, 0, 1, hi_open=True)
        self.trip_red_max_frac = u("trip_red_max_frac", trip_red_max_frac, 0, 1)
        self.tan_phi = tan_phi(u("pf", pf, 0, 1, lo_open=True))
        self.shortfall_cost_per_mwh = float(check("EVBlock.shortfall_cost_per_mwh", shortfall_cost_per_mwh, 0))

    def build(self, ctx: Context) -> None:
        n, T, dt = self.n, ctx.T, ctx.dt_h
        cap = self.capacity_kwh
        self.spec = make_spec(self.name, {
            "e0_kwh": (n, None, 0, None), "avail": ((n, T), None, 0, 1),
            "e_need_kwh": ((n, T), 0.0, 0, None), "trip_kwh": ((n, T), 0.0, 0, None),
            "v2g_comp_per_mwh": (n, 0.0, 0, None), "trip_comp_per_mwh": (n, 0.0, 0, None),
        })
        par = {k: v[0] for k, v in self.spec.items()}
        var = lambda key, shape: cp.Variable(shape, nonneg=True, name=f"{self.name}.{key}")  # noqa: E731
        zero = cp.Constant(np.zeros((n, T)))  # a device none of the units has adds no variables
        self.p_ch_kw, self.shortfall_kwh = var("p_ch_kw", (n, T)), var("shortfall_kwh", (n, T))
        v2g, trip_red = np.any(self.p_discharge_max_kw > 0), np.any(self.trip_red_max_frac > 0)
        self.p_dis_kw = var("p_dis_kw", (n, T)) if v2g else zero
        self.trip_red_kwh = var("trip_red_kwh", (n, T)) if trip_red else zero
        self.e_kwh = cp.Variable((n, T + 1), name=f"{self.name}.e_kwh")
        e = self.e_kwh
        ch_max = cp.multiply(cols(self.p_charge_max_kw, T), par["avail"])
        self.constraints = [
            e[:, 0] == par["e0_kwh"],
            e[:, 1:] == e[:, :-1] + dt * (cp.multiply(cols(self.eta_charge, T), self.p_ch_kw)
                                          - cp.multiply(cols(1 / self.eta_discharge, T), self.p_dis_kw))
            - par["trip_kwh"] + self.trip_red_kwh,
            self.p_ch_kw <= cp.multiply(cols(self.p_charge_max_kw / (cap * (1 - self.soc_taper)), T),
                                        cols(cap, T) - e[:, 1:]),
            e[:, 1:] <= cols(self.soc_max * cap, T),
            e[:, 1:] + self.shortfall_kwh >= par["e_need_kwh"],  # with the next: >= max(need, reserve)
            e[:, 1:] + self.shortfall_kwh >= cols(self.soc_min * cap, T),
        ]
        if trip_red:
            self.constraints.append(self.trip_red_kwh <= cp.multiply(cols(self.trip_red_max_frac, T), par["trip_kwh"]))
        if v2g:
            self.v2g_on = make_discrete(self.name, "v2g_on", (n, T),
                                        *mode_rule(self.p_dis_kw, self.p_discharge_max_kw, self.p_ch_kw,
                                                   self.p_charge_max_kw))
            self.discrete = [self.v2g_on]
            z = self.v2g_on.var
            # Gate and availability as separate bounds (= the product for 0/1 z): a Parameter times
            # a Variable of shape (n, T) would make cvxpy's DPP tensor grow as (n T)^2.
            self.constraints += [self.p_ch_kw <= cp.multiply(cols(self.p_charge_max_kw, T), 1 - z),
                                 self.p_dis_kw <= cp.multiply(cols(self.p_discharge_max_kw, T), z),
                                 z >= self.v2g_on.lo, z <= self.v2g_on.hi]
            self.constraints.append(self.p_dis_kw <= cp.multiply(cols(self.p_discharge_max_kw, T), par["avail"]))
        else:
            self.v2g_on = None
        self.constraints.append(self.p_ch_kw <= ch_max)
        self.p_kw = self.p_ch_kw - self.p_dis_kw
        self.p_mw = self.p_kw / 1000.0
        self.q_mvar = cp.multiply(cols(self.tan_phi, T), self.p_mw)
        self.cost = (dt * cp.sum(self.p_dis_kw, axis=1) @ par["v2g_comp_per_mwh"]
                     + cp.sum(self.trip_red_kwh, axis=1) @ par["trip_comp_per_mwh"]
                     + self.shortfall_cost_per_mwh * cp.sum(self.shortfall_kwh)) / 1000.0

    def set_data(self, **data) -> None:
        if "e0_kwh" in data:
            check("EVBlock.e0_kwh - capacity_kwh", check_shape("EVBlock.e0_kwh", data["e0_kwh"], self.n)
                  - self.capacity_kwh, hi=0)
        set_params("EVBlock", self.spec, data)

    def plan(self) -> dict[str, np.ndarray]:
        short, avail = self.shortfall_kwh.value, self.spec["avail"][0].value
        out = {
            "p_ch_kw": self.p_ch_kw.value, "p_dis_kw": self.p_dis_kw.value, "p_kw": self.p_kw.value,
            "trip_red_kwh": self.trip_red_kwh.value, "shortfall_kwh": short,
            "v2g_on": np.zeros_like(short) if self.v2g_on is None else self.v2g_on.var.value,
            "p_set_kw": np.divide(self.p_kw.value, avail, out=np.zeros_like(short), where=avail > 1e-9),
            "e_kwh": self.e_kwh.value, "soc": self.e_kwh.value / self.capacity_kwh[:, None],
            "need_met": (short.max(axis=1, initial=0.0) <= 1e-6).astype(float),
        }
        if np.any(self.trip_red_max_frac > 0):
            trip = self.spec["trip_kwh"][0].value
            out["trip_red_frac"] = np.divide(out["trip_red_kwh"], trip, out=np.zeros_like(trip), where=trip > 1e-9)
        return out

    def diagnose(self) -> list[str]:
        """After a solve: one line per EV with a shortfall (where, how much, and against what)."""
        short, need = self.shortfall_kwh.value, self.spec["e_need_kwh"][0].value
        reserve = self.soc_min * self.capacity_kwh
        lines = []
        for i in np.flatnonzero(short.max(axis=1, initial=0.0) > 1e-6):
            k = int(np.argmax(short[i]))
            lines.append(f"{self.name}[{i}] (bus {self.bus[i]}): {short[i, k]:.3f} kWh short at the end of "
                         f"period {k} (need {need[i, k]:.3f}, reserve {reserve[i]:.3f}, planned "
                         f"{self.e_kwh.value[i, k + 1]:.3f} kWh)")
        return lines
