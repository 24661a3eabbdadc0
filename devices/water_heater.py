"""Heat-pump water heaters (HPWH): a domestic hot-water tank heated by an air-source heat pump.

The whole kind in one module: plant model, OPF block and registry entry.

Plant (:class:`WaterHeaterFleet`, numpy). The tank's energy ``e`` (kWh above the cold-water inlet)
loses a share ``loss_per_h`` an hour to its surroundings and is fed by the heat pump (electric
``p`` kW at a constant ``cop``) and drawn by the hot-water use ``q_draw_kw``:

    de/dt = -loss_per_h e + cop p - q_draw   (exact zero-order hold: simulators.rc.first_order_zoh)

Local control (a NaN setpoint) is the usual thermostat with a deadband: the heat pump runs at
full power once the tank falls below ``soc_on`` and stops when it is full. Heat pump power is cut
where it would overfill the tank; draw the empty tank cannot cover is ``q_unmet_kw``.

Assumed sizes (est., stated): a 200 L tank at 55 degC over a 10 degC inlet holds
200 kg x 4.186 kJ/(kg K) x 45 K = 10.5 kWh; a 0.5 kW el. compressor at a COP of 3.0 (rated COPs of
residential HPWHs to EN 16147 lie between 2.5 and 3.5); standby loss 0.5 % an hour (about 1.3 kWh
a day at full charge, the order of a labelled 200 L tank's standby loss); 6 kWh a day of hot
water drawn evenly (0.25 kW, a constant draw as the heat hubs' hot-water share).

Controller: sets ``p_set_kw`` and measures ``e_kwh``; the OPF block "hpwh" (:class:`WaterHeaterBlock`)
is the same ZOH recursion over the stage's periods, the draw known (a stated, exact forecast),
unmet draw priced at ``unmet_cost_per_mwh``. The day-ahead stage ends the tank at least as full
as measured, later stages at the slower plan's level (a stage reaching the run's end at the run's
terminal level, StageData.end_state).
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np

from controllers.opf.block import Block, Context, make_spec, set_params
from cosim_base.errors import check, per_unit
from devices.kind import DeviceKind, Signal, series_sum
from simulators.fleet import Fleet, or_local, tan_phi
from simulators.rc import first_order_zoh


class WaterHeaterFleet(Fleet):
    """N heat-pump water heaters (see the module docstring); parameters scalar or one per unit."""

    INPUTS = {"p_set_kw": np.nan}
    OUTPUTS = ("p_mw", "q_mvar", "p_kw", "e_kwh", "q_draw_kw", "q_unmet_kw")

    def __init__(self, n: int, e_max_kwh=10.5, p_max_kw=0.5, cop=3.0, loss_per_h=0.005, q_draw_kw=0.25,
                 soc_on=0.5, soc_init=0.8, pf=1.0):
        self.n = int(check("WaterHeaterFleet.n", n, 1))
        self.e_max_kwh = per_unit("WaterHeater.e_max_kwh", e_max_kwh, self.n, 0, lo_open=True)
        self.p_max_kw = per_unit("WaterHeater.p_max_kw", p_max_kw, self.n, 0)
        self.cop = per_unit("WaterHeater.cop", cop, self.n, 1, 8)
        self.loss_per_h = per_unit("WaterHeater.loss_per_h", loss_per_h, self.n, 0, 1)
        self.q_draw_kw = per_unit("WaterHeater.q_draw_kw", q_draw_kw, self.n, 0)
        self.soc_on = per_unit("WaterHeater.soc_on", soc_on, self.n, 0, 1)
        self.pf = per_unit("WaterHeater.pf", pf, self.n, 0, 1, lo_open=True)
        self.e = per_unit("WaterHeater.soc_init", soc_init, self.n, 0, 1) * self.e_max_kwh
        self.heating = self.e < self.soc_on * self.e_max_kwh

    def step(self, t_s, dt_s, inputs):
        decay, gain = first_order_zoh(self.loss_per_h, dt_s / 3600)
        local = np.where(self.heating, self.p_max_kw, 0.0)
        p = or_local({"p_set_kw": inputs.get("p_set_kw", np.full(self.n, np.nan))}, {"p_set_kw": local})["p_set_kw"]
        room = ((self.e_max_kwh - decay * self.e) / gain + self.q_draw_kw) / self.cop  # fills the tank
        p = np.clip(p, 0.0, np.minimum(self.p_max_kw, np.maximum(room, 0.0)))
        e_new = decay * self.e + gain * (self.cop * p - self.q_draw_kw)
        unmet = np.maximum(-e_new, 0.0) / gain
        out = {"p_kw": p, "p_mw": p / 1000, "q_mvar": p * tan_phi(self.pf) / 1000, "e_kwh": self.e.copy(),
               "q_draw_kw": self.q_draw_kw.copy(), "q_unmet_kw": unmet}
        self.e = np.clip(e_new, 0.0, self.e_max_kwh)
        full = self.e >= self.e_max_kwh * (1 - 1e-3)
        self.heating = (self.heating & ~full) | (self.e < self.soc_on * self.e_max_kwh)
        return out


class WaterHeaterBlock(Block):
    """OPF block of N water heaters over T periods: ``p_kw`` (n, T) in [0, p_max], tank
    ``e_kwh`` (n, T+1) in [0, e_max] by the plant's ZOH recursion, unmet draw ``q_unmet_kw`` >= 0
    at ``unmet_cost_per_mwh``. set_data: ``e0_kwh`` (n,), ``e_end_kwh`` (n,) (a lower bound on
    the last level), ``q_draw_kw`` (n, T)."""

    def __init__(self, bus, e_max_kwh, p_max_kw, cop, loss_per_h, pf=1.0, unmet_cost_per_mwh=1000.0,
                 name: str = "hpwh"):
        super().__init__()
        self.name, self.bus = name, np.asarray(bus, dtype=int)
        n = self.n
        self.e_max = per_unit(f"{name}.e_max_kwh", e_max_kwh, n, 0, lo_open=True)
        self.p_max = per_unit(f"{name}.p_max_kw", p_max_kw, n, 0)
        self.cop = per_unit(f"{name}.cop", cop, n, 1)
        self.loss = per_unit(f"{name}.loss_per_h", loss_per_h, n, 0)
        self.tan_phi = tan_phi(per_unit(f"{name}.pf", pf, n, 0, 1, lo_open=True))
        self.unmet_cost = float(check(f"{name}.unmet_cost_per_mwh", unmet_cost_per_mwh, 0))

    def build(self, ctx: Context) -> None:
        n, T = self.n, ctx.T
        self.spec = make_spec(self.name, {"e0_kwh": ((n,), None, 0, None), "e_end_kwh": ((n,), 0.0, 0, None),
                                          "q_draw_kw": ((n, T), None, 0, None)})
        prm = {k: v[0] for k, v in self.spec.items()}
        decay, gain = first_order_zoh(self.loss, ctx.dt_h)
        self.p = cp.Variable((n, T), nonneg=True, name=f"{self.name}.p_kw")
        self.e = cp.Variable((n, T + 1), name=f"{self.name}.e_kwh")
        self.u = cp.Variable((n, T), nonneg=True, name=f"{self.name}.q_unmet_kw")
        self.constraints = [
            self.p <= self.p_max[:, None], self.e >= 0, self.e <= self.e_max[:, None],
            self.e[:, 0] == prm["e0_kwh"], self.e[:, T] >= prm["e_end_kwh"],
            self.e[:, 1:] == cp.multiply(decay[:, None], self.e[:, :-1])
            + cp.multiply(gain[:, None], cp.multiply(self.cop[:, None], self.p) - prm["q_draw_kw"] + self.u)]
        self.p_mw = self.p / 1000
        self.q_mvar = cp.multiply(self.tan_phi[:, None], self.p) / 1000
        self.cost = self.unmet_cost * ctx.dt_h / 1000 * cp.sum(self.u)

    def set_data(self, **data) -> None:
        set_params(self.name, self.spec, data)

    def plan(self) -> dict[str, np.ndarray]:
        return {"p_kw": self.p.value.copy(), "e_kwh": self.e.value.copy(), "q_unmet_kw": self.u.value.copy()}


class WaterHeater(DeviceKind):
    name, model, fleet_cls = "WaterHeater", "WaterHeater", WaterHeaterFleet
    measured = (Signal("e_kwh", "kWh", "tank energy above the cold-water inlet", 0.0),)
    setpoints = (Signal("p_set_kw", "kW", "heat-pump electric power; NaN: thermostat", 0.0),)
    recorded = ("p_mw", "p_kw", "e_kwh", "q_draw_kw", "q_unmet_kw")
    plan_keys = {"hpwh": ("p_kw", "e_kwh", "q_unmet_kw")}
    storage = ("e_kwh", 1 / 3.0)  # tank heat at the default COP

    def initial(self, fleet):
        return {"e_kwh": fleet.e}

    def blocks(self, f, ctx):
        return [(WaterHeaterBlock(ctx.bus_of(self.name), f.e_max_kwh, f.p_max_kw, f.cop, f.loss_per_h, f.pf),
                 np.arange(f.n))]

    def block_data(self, name, d):
        f, idx = d.fleet, d.index
        e0 = np.clip(d.meas["e_kwh"][idx], 0, f.e_max_kwh[idx])
        end = d.end_state("hpwh.e_kwh")
        return {"e0_kwh": e0, "e_end_kwh": np.clip(e0 if end is None else end, 0, f.e_max_kwh[idx]),
                "q_draw_kw": np.repeat(f.q_draw_kw[idx][:, None], d.T, axis=1)}

    def dispatch(self, name, plan, k, put):
        put("p_set_kw", plan.x["hpwh.p_kw"][:, k] if k is not None else np.nan)

    def kpis(self, get, dt_h, control):
        """``hpwh_energy_kwh``: electricity of the water heaters (``p_mw`` x ``dt_h`` x 1000);
        ``hpwh_unmet_kwh``: hot-water draw an empty tank could not cover."""
        return {"hpwh_energy_kwh": series_sum(get("p_mw"), dt_h) * 1000.0,
                "hpwh_unmet_kwh": series_sum(get("q_unmet_kw"), dt_h)}
