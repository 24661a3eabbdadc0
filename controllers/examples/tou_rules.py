"""A rule-based time-of-use controller: EVs and TSEH stores charge in the tariff's valley,
batteries buy in the valley and sell at the peak, micro-turbines run at the peak.

Rules at every decision (every ``step_s``), from the tariff of the current period:

* EV (plugged in): full power in the valley, or whenever the energy still wanted could no longer
  be delivered at full power within the time to departure less ``ev_margin_h`` (must-run);
  otherwise 0. Away: NaN (nothing to set).
* TSEH houses: store charging at full power in the valley, none outside it; direct heating and
  release stay with the thermostat (NaN). Heat-pump houses: thermostat (NaN).
* Batteries: charge at full power in the valley, discharge at full power at the peak, idle
  otherwise (the plant keeps them inside their SOC limits).
* Micro-turbines: on at full output at the peak when their full-load fuel cost is below the
  peak price, off otherwise.

Valley and peak are the lowest and highest buy prices of the run's tariff.
"""
from __future__ import annotations

import numpy as np

from controllers.contract import Action, Controller, Observation, Param


class TOURules(Controller):
    name = "tou_rules"
    SCHEMA = {"step_s": Param(900, "decision interval (s), a multiple of the plant step", 60, 86400),
              "ev_margin_h": Param(1.0, "EV must-run margin before departure (h)", 0.0, 24.0)}

    def __init__(self, plant, **params):
        super().__init__(plant, **params)
        n = plant.duration_s // self.step_s
        buy, _ = plant.price(0, self.step_s, n)
        self.valley, self.peak = float(buy.min()), float(buy.max())

    def control(self, obs: Observation) -> Action:
        buy = float(obs.price(obs.t_s, self.step_s, 1)[0][0])
        valley, peak = buy <= self.valley, buy >= self.peak
        f, sp = self.plant.fleets, {}
        if "EV" in f:
            ev, m = f["EV"], obs.meas["EV"]
            conn = m["connected"] > 0.5
            reach = ev.eta_charge * ev.p_charge_max_kw * np.maximum(m["t_to_departure_s"] / 3600
                                                                     - self.params["ev_margin_h"], 0.0)
            must = m["e_needed_kwh"] > reach
            sp["EV"] = {"p_set_kw": np.where(conn, np.where(valley | must, ev.p_charge_max_kw, 0.0), np.nan)}
        if "Building" in f:
            p = f["Building"].p
            tseh = p["e_st_max_kwh"] > 0
            sp["Building"] = {"p_st_kw": np.where(tseh, p["p_st_max_kw"] if valley else 0.0, np.nan)}
        if "Battery" in f:
            b = f["Battery"]
            sp["Battery"] = {"p_set_kw": b.p_max_kw * (1.0 if valley else -1.0 if peak else 0.0)}
        if "MicroTurbine" in f:
            mt = f["MicroTurbine"]
            run = peak & (1000 * (mt.gas_price_per_kwh / mt.eta_el_max + mt.marginal_cost_per_kwh) < buy)
            sp["MicroTurbine"] = {"on": np.where(run, 1.0, np.nan), "p_set_kw": np.where(run, mt.p_max_kw, np.nan)}
        return Action(sp)
