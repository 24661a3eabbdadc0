"""Thin mosaik-api-v3 adapter of any controller of the contract (controllers.contract), in-process.

One ``Controller`` entity. Wiring (done by cosim.world):

* plant unit -> controller: measurements (``MEASURED``), ``time_shifted`` with ``initial_data``,
  so at a decision time t the controller sees the plant's state as last reported before t (one
  plant step old) and never anything from t on;
* forecast entity of each requested level -> controller: ``forecast`` (a
  simulators.forecast.Forecast); the adapter keeps the latest of each;
* controller -> plant unit: one output attribute per unit and setpoint, ``"<unit eid>.<attr>"``
  (e.g. ``"EV_3.p_set_kw"``), applied from the decision time on;
* a kind wired as one fleet entity (simulators.fleet_sim, init parameter ``fleets``: kind -> the
  fleet entity's eid) instead sends its measurements as lists over its units and receives
  ``"<fleet eid>.<attr>"`` (e.g. ``"EV.p_set_kw"``), a list over its units;
* controller -> recorder: ``log``, the entries of this step's Action and, for every controller,
  a row of ``control/timing`` (:data:`TIMING`): ``wall_time_s``, the wall time of its ``control``
  call (BOPTEST's computation time per control step: cosim.kpi's ``time_rat``).

The simulator calls ``control(Observation)`` every ``step_s`` of the controller; it also steps at
least hourly (simulators.fleet_sim.capped_step: mosaik prunes its data cache only up to the
slowest simulator's last step), reading its inputs and deciding nothing there. A forecast made
after the decision time raises ``FutureInformationError`` here (the guard, for every controller).
A NaN setpoint goes to the plant as it is: the unit's local control (grid devices: the grid's
local voltage control, or their last position without it; simulators.grid).
"""
from __future__ import annotations

import time as _time

import mosaik_api_v3
import numpy as np

from controllers.contract import Controller, FutureInformationError, Observation, log_entry
from cosim_base.errors import ConfigError
from devices import measured, setpoints
from simulators.fleet_sim import capped_step

#: Measured and set attributes per plant kind, from the device registry.
MEASURED = measured()
SETPOINTS = setpoints()
#: Log group (under control/) of every decision's wall time.
TIMING = "timing"


def setpoint_attrs(units: dict[str, list[str]], fleets: dict[str, str] | None = None) -> list[str]:
    """Output attribute names for plant units ``kind -> [eid, ...]``; a kind in ``fleets``
    (kind -> fleet entity eid) has one per setpoint for the whole fleet."""
    fleets = fleets or {}
    return [f"{eid}.{a}" for kind, eids in units.items() for eid in ([fleets[kind]] if kind in fleets else eids)
            for a in SETPOINTS.get(kind, ())]


class ControllerSim(mosaik_api_v3.Simulator):
    """init params: controller (a controllers.contract.Controller), units (kind -> plant eids in
    fleet order), fleets (kind -> the eid of the fleet entity that carries that kind's units, see
    the module docstring; default none), price (the tariff: (t0_s, dt_s, T) -> buy, sell per MWh);
    the step is the controller's ``step_s``."""

    def __init__(self):
        super().__init__({"api_version": "3.0", "type": "time-based", "models": {}})
        self.ctl: Controller | None = None

    def init(self, sid, time_resolution=1.0, controller=None, units=None, price=None, fleets=None):
        if not isinstance(controller, Controller) or units is None:
            raise ConfigError("ControllerSim needs the init parameters controller (a Controller) and units")
        self.ctl, self.units, self.step_size = controller, units, int(controller.step_s)
        self.next_decision = 0
        self.fleets = dict(fleets or {})
        unknown = sorted(set(self.fleets) - set(units))
        if unknown:
            raise ConfigError(f"ControllerSim: fleets names kinds without units: {unknown}")
        self.forecasts, self.price = {}, price
        self.time_resolution = float(time_resolution)
        self.where = {eid: (kind, i) for kind, eids in units.items() if kind not in self.fleets
                      for i, eid in enumerate(eids)}
        self.where.update({eid: (kind, None) for kind, eid in self.fleets.items()})
        inputs = sorted({a for attrs in MEASURED.values() for a in attrs} | {"forecast"})
        self.meta["models"]["Controller"] = {
            "public": True, "params": [], "any_inputs": False,
            "attrs": inputs + ["log"] + setpoint_attrs(units, self.fleets)}
        self.out: dict[str, float] = {}
        self.log: list[dict] = []
        return self.meta

    def create(self, num, model, **params):
        if num != 1 or getattr(self, "_created", False):
            raise ConfigError("Controller: create exactly one entity")
        self._created = True
        return [{"eid": "Controller", "type": model}]

    def step(self, time, inputs, max_advance):
        t_s = int(round(time * self.time_resolution))
        meas, forecasts = self._read(inputs.get("Controller", {}))
        self.forecasts.update(forecasts)
        late = [fc for fc in self.forecasts.values() if fc.made_at_s > t_s]
        if late:
            raise FutureInformationError(f"the controller at t = {t_s} s received a forecast made at "
                                         f"{late[0].made_at_s} s")
        if time < self.next_decision:  # a heartbeat step: nothing to decide, nothing new to log
            self.log = []
            return capped_step(time, self.next_decision, self.time_resolution)
        t0 = _time.perf_counter()
        action = self.ctl.control(Observation(t_s, meas, dict(self.forecasts), self.price))
        wall_s = _time.perf_counter() - t0
        self.log = [*action.log, log_entry(TIMING, t_s, {"wall_time_s": wall_s})]
        self.out = self._setpoints(action.setpoints)
        self.next_decision = time + self.step_size
        return capped_step(time, self.next_decision, self.time_resolution)

    def _read(self, attrs: dict):
        n = {kind: len(eids) for kind, eids in self.units.items()}
        meas: dict[str, dict[str, np.ndarray]] = {}
        forecasts = {}
        for attr, values in attrs.items():
            if attr == "forecast":
                forecasts.update({fc.stage: fc for fc in values.values() if fc is not None})
                continue
            for src, v in values.items():
                kind, i = self.where[src.split(".", 1)[1]]
                if i is None:  # a fleet entity: the whole kind
                    meas.setdefault(kind, {})[attr] = np.asarray(v, dtype=float)
                    continue
                meas.setdefault(kind, {}).setdefault(attr, np.full(n[kind], np.nan))[i] = v
        return meas, forecasts

    def _setpoints(self, sp: dict) -> dict:
        out = {}
        for kind, eids in self.units.items():
            for attr in SETPOINTS.get(kind, ()):
                vals = sp.get(kind, {}).get(attr, np.full(len(eids), np.nan))
                if kind in self.fleets:
                    out[f"{self.fleets[kind]}.{attr}"] = np.asarray(vals, dtype=float).tolist()
                else:
                    out.update({f"{eid}.{attr}": float(v) for eid, v in zip(eids, vals)})
        return out

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            data[eid] = {a: (self.log if a == "log" else self.out.get(a)) for a in attrs}
        return data
