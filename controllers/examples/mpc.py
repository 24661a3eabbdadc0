"""A single-stage MPC written against the OPF core: every ``step_s`` one DistFlow SOCP over
``horizon_s`` at ``step_s`` resolution, from the measurements and the forecast at one error level,
and the first period applied (receding horizon). Taps, capacitor steps and micro-turbine
commitment are free at every solve. The device blocks, their data and the dispatch are the
device registry's (devices.REGISTRY), so every kind the plant has is controlled.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from controllers.contract import Action, Controller, ForecastRequest, Observation, Param, log_entry
from controllers.model import CostParams, plant_blocks
from controllers.opf.network import from_pandapower
from controllers.opf.problem import OPFConfig, OPFProblem
from devices import REGISTRY
from devices.kind import StageData


class MPC(Controller):
    name = "mpc"
    SCHEMA = {"step_s": Param(900, "decision interval and period length (s)", 60, 3600),
              "horizon_s": Param(14400, "horizon (s), a multiple of step_s", 900, 86400),
              "level": Param("id", "forecast error level", choices=("da", "id", "rt")),
              "v_min_pu": Param(0.94, "lower voltage limit (p.u.)", 0.8, 1.0),
              "v_max_pu": Param(1.06, "upper voltage limit (p.u.)", 1.0, 1.2)}

    @classmethod
    def requests(cls, params):
        return [ForecastRequest(params["level"], params["step_s"], params["horizon_s"] // params["step_s"],
                                params["step_s"])]

    def __init__(self, plant, **params):
        super().__init__(plant, **params)
        self.T = self.params["horizon_s"] // self.step_s
        rn = from_pandapower(plant.net, exclude_shunts=plant.net.shunt.index)
        blocks, self.units = plant_blocks(plant.net, rn, plant.fleets, plant.bus_pos, CostParams())
        cfg = OPFConfig(v_min_pu=self.params["v_min_pu"], v_max_pu=self.params["v_max_pu"])
        self.prob = OPFProblem(rn, blocks, self.T, self.step_s / 3600, cfg)

    def _view(self, obs, fc, kind, index=None):
        return StageData("da", obs.t_s, self.step_s, self.T, self.plant.fleets.get(kind), index,
                         obs.meas.get(kind, {}), fc, None, None, self.prob, CostParams(), {})

    def control(self, obs: Observation) -> Action:
        fc = obs.forecasts[self.params["level"]].values
        buy, sell = obs.price(obs.t_s, self.step_s, self.T)
        data = dict(price_import=buy, price_export=sell)
        if "t_out_c" in self.prob.ctx.params:
            data.update(t_out_c=fc["t_out_c"][0], ghi_kw_m2=fc["ghi_kw_m2"][0])
        blocks = {name: REGISTRY[u.kind].block_data(name, self._view(obs, fc, u.kind, u.index))
                  for name, u in self.units.items()}
        for name, kind in REGISTRY.items():
            data.update(kind.network_data(self._view(obs, fc, name)))
        self.prob.set_data(blocks={k: v for k, v in blocks.items() if v is not None}, **data)
        res = self.prob.solve(discrete="round")
        sp: dict = {}
        if res.ok:  # else every device falls back to its local control (no setpoints)
            x = {f"{b}.{k}": np.asarray(v, float) for b, keys in res.plan.items() for k, v in keys.items()}
            plan = SimpleNamespace(x=x | {f"grid.{k}": np.asarray(v, float) for k, v in res.network.items()})
            for name, u in self.units.items():
                n = self.plant.n(u.kind) or len(u.index)

                def put(attr, vals, kind=u.kind, idx=u.index, n=n):
                    sp.setdefault(kind, {}).setdefault(attr, np.full(n, np.nan))[idx] = vals
                REGISTRY[u.kind].dispatch(name, plan, 0, put)
            for name, kind in REGISTRY.items():
                kind.dispatch_network(plan, 0, lambda attr, vals, name=name: sp.setdefault(name, {}).update({attr: vals}))
        scalars = {"status": res.status, "objective": res.objective, "solve_time_s": res.solve_time_s,
                   "gap_rel": np.nan if res.gap_rel is None else res.gap_rel}
        arrays = {"plan.grid.p_grid_mw": res.network["p_grid_mw"]} if res.ok else {}
        return Action(sp, [log_entry(self.name, obs.t_s, scalars, arrays)])
