"""Thin mosaik-api-v3 adapter of :class:`simulators.grid.GridModel` (time-based, ``step_size``).

The net is named (``network``: see :func:`simulators.networks.network`: ``"ieee33"``, ``"lv"``,
``"area"``, ``"home"``, a SimBench code such as ``"1-LV-rural1--0-sw"`` or a pandapower JSON
file), so the simulator also runs as a process of its own (``python -m simulators.grid_sim
HOST:PORT``); in-process, a ready pandapower net may be passed as ``net`` instead::

    world = mosaik.World({"Grid": {"cmd": "%(python)s -m simulators.grid_sim %(addr)s"}, ...})
    grid = world.start("Grid", step_size=60).Grid(network="ieee33", keep_net_loads=False)
    buses = {e.eid: e for e in grid.children if e.type == "Bus"}    # "Bus_17" is bus index 17
    world.connect(house, buses["Bus_17"], "p_mw", "q_mvar")

``Grid`` is the only public model; its children carry the pandapower index in their eid:

- ``Bus_<i>``: inputs ``p_mw``, ``q_mvar`` (drawn, consumer convention, summed over all connected
  devices); outputs ``vm_pu``, ``va_degree`` (and the summed ``p_mw``, ``q_mvar``).
- ``Line_<i>``: outputs ``loading_percent``, ``i_ka``, ``pl_mw``.
- ``Trafo_<i>``: input ``tap_pos``; outputs ``tap_pos`` (applied), ``loading_percent``.
- ``Capacitor_<i>``: input ``step``; outputs ``step`` (applied), ``q_mvar`` (consumer convention,
  negative while the bank supplies reactive power).
- ``SVC_<i>``: input ``q_mvar`` (setpoint, consumer convention: negative injects); output
  ``q_mvar`` as applied.
- ``BusSet``, ``LineSet``, ``TrafoSet``, ``CapacitorSet``, ``SVCSet`` (one each, where the net has
  such elements): the outputs of all elements of that kind in one value each, a dict
  ``{"Bus_<i>": value, ...}``, so a recorder takes every bus in one connection (cosim.recorder_sim).
- ``Grid``: inputs ``bus_p_mw``, ``bus_q_mvar`` (a list over all buses in the net's order, drawn,
  consumer convention: a whole fleet's draw in one value, simulators.fleet_sim's ``bus_p_mw``; added
  to the buses' own inputs); outputs ``p_loss_mw``, ``q_loss_mvar``, ``p_ext_mw``, ``q_ext_mvar`` (import from the
  upstream grid), ``converged`` (1/0), ``v_min_pu``, ``v_max_pu``.

A Trafo, Capacitor or SVC input that is NaN or never sent leaves the device to its local voltage
control (create parameter ``local_control``: the keys of simulators.grid.LocalVoltageControl,
``{}`` for its defaults; None: off, the device keeps its position).

Each source's value is held until that source sends a new one and an input is the sum over its
sources, so setpoints apply until replaced and an injection of a slower fleet stays in place.
Timing as in :mod:`simulators.fleet`: outputs at time ``t`` are the power flow of the inputs held
over ``[t, t + step_size)``. A step whose power flow diverges reports NaN and ``converged = 0``.
"""
from __future__ import annotations

import mosaik_api_v3
import numpy as np

from cosim_base.errors import ConfigError
from simulators.fleet_sim import BUS_ATTRS, HeldInputs, as_arrays, checked_step_size
from simulators.grid import GridModel, LocalVoltageControl
from simulators.networks import devices, network as named_network

#: entity type -> (input attributes, output attributes)
MODELS = {
    "Bus": (("p_mw", "q_mvar"), ("vm_pu", "va_degree")),
    "Line": ((), ("loading_percent", "i_ka", "pl_mw")),
    "Trafo": (("tap_pos",), ("loading_percent",)),
    "Capacitor": (("step",), ("q_mvar",)),
    "SVC": (("q_mvar",), ()),
    "Grid": (("bus_p_mw", "bus_q_mvar"), ("p_loss_mw", "q_loss_mvar", "p_ext_mw", "q_ext_mvar", "converged",
                  "v_min_pu", "v_max_pu")),
}

#: One entity per element kind reporting all of them (dict values); its model is the kind + SET.
SET = "Set"
SETS = ("Bus", "Line", "Trafo", "Capacitor", "SVC")

#: (entity type, attribute) -> GridModel input array / output key. Scalars of the Grid map 1:1.
INPUT_KEY = {("Bus", "p_mw"): "p_mw", ("Bus", "q_mvar"): "q_mvar", ("Trafo", "tap_pos"): "tap_pos",
             ("Capacitor", "step"): "cap_step", ("SVC", "q_mvar"): "svc_q_mvar"}
OUTPUT_KEY = {("Trafo", "loading_percent"): "trafo_loading_percent", ("Trafo", "tap_pos"): "tap_pos",
              ("Capacitor", "q_mvar"): "cap_q_mvar", ("Capacitor", "step"): "cap_step",
              ("SVC", "q_mvar"): "svc_q_mvar"}

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        model: {
            "public": model == "Grid",
            "params": ["network", "net", "keep_net_loads", "backend", "recycle", "local_control"]
            if model == "Grid" else [],
            "attrs": sorted(set(ins) | set(outs)),
            "any_inputs": False,
        }
        for model, (ins, outs) in MODELS.items()
    } | {
        kind + SET: {"public": False, "params": [], "attrs": sorted(set(MODELS[kind][0]) | set(MODELS[kind][1])),
                     "any_inputs": False}
        for kind in SETS
    },
}


class GridSim(mosaik_api_v3.Simulator):
    def __init__(self):
        super().__init__(META)
        self.model: GridModel | None = None
        self.where: dict[str, tuple[str, int]] = {}
        self.sources = HeldInputs()
        self.bus_whole: dict[str, np.ndarray] = {}  # the Grid entity's per-bus lists, summed
        self.held: dict[str, np.ndarray] = {}
        self.out: dict = {}
        self.step_size = 60

    def init(self, sid, time_resolution=1.0, step_size=60, **sim_params):
        self.sid = sid
        self.step_size = checked_step_size("Grid", step_size)
        return self.meta

    def create(self, num, model, network=None, net=None, keep_net_loads=False,
               backend="lightsim2grid", recycle=True, local_control=None):
        if self.model is not None or num != 1:
            raise ConfigError(f"Grid: create one entity once per simulator instance (num = {num})")
        if (network is None) == (net is None):
            raise ConfigError("Grid: give one of the create parameters network (a name, SimBench "
                              "code or JSON path) and net (a pandapower net, in-process)")
        if net is None:
            net = named_network(network)
        local = None if local_control is None else LocalVoltageControl(**local_control)
        self.model = GridModel(net, keep_net_loads=keep_net_loads, backend=backend, recycle=recycle, local=local,
                               step_s=self.step_size)
        self.held = self.model.default_inputs()
        for key in ("tap_pos", "cap_step", "svc_q_mvar"):  # no setpoint yet: local control
            self.held[key][:] = np.nan
        self.applied = {k: v.copy() for k, v in self.held.items()}  # inputs of the last step
        dev = devices(net)
        indices = {"Bus": net.bus.index, "Line": net.line.index, "Trafo": dev["trafo"],
                   "Capacitor": dev["cap"], "SVC": dev["svc"]}
        children = []
        self.sets = {}  # set eid -> (kind, its elements' eids in order)
        for kind, index in indices.items():
            eids = [f"{kind}_{i}" for i in index]
            for pos, eid in enumerate(eids):
                self.where[eid] = (kind, pos)
                children.append({"eid": eid, "type": kind})
            if eids:
                self.sets[kind + SET] = (kind, eids)
                children.append({"eid": kind + SET, "type": kind + SET})
        self.where["Grid"] = ("Grid", 0)
        return [{"eid": "Grid", "type": "Grid", "children": children}]

    def step(self, time, inputs, max_advance):
        for eid, attrs in inputs.items():
            kind, pos = self.where[eid]
            for attr, values in attrs.items():
                if kind == "Grid" and attr in BUS_ATTRS:
                    n = len(self.held["p_mw"])
                    self.bus_whole[attr] = self.sources.update(eid, attr, as_arrays(values, n, f"{eid}.{attr}"))
                    continue
                key = INPUT_KEY.get((kind, attr))
                if key is None:
                    raise ConfigError(f"{eid}.{attr} is an output of the grid, not an input")
                self.held[key][pos] = self.sources.update(eid, attr, values)
        self.applied = {k: v.copy() for k, v in self.held.items()}
        for attr, key in BUS_ATTRS.items():
            whole = self.bus_whole.get(attr)
            if whole is not None:
                self.applied[key] += whole
        self.out = self.model.step(**{k: v.copy() for k, v in self.applied.items()})
        return time + self.step_size

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            if eid in self.sets:
                kind, eids = self.sets[eid]
                data[eid] = {attr: dict(zip(eids, self._array(kind, attr).tolist())) for attr in attrs}
            elif eid == "Grid":
                data[eid] = {attr: float(self.out[attr]) for attr in attrs}
            else:
                kind, pos = self.where[eid]
                data[eid] = {attr: float(self._array(kind, attr)[pos]) for attr in attrs}
        return data

    def _array(self, kind: str, attr: str) -> np.ndarray:
        """``attr`` of every element of ``kind`` (an output, else the input as applied)."""
        key = OUTPUT_KEY.get((kind, attr), attr)
        if key in self.out:
            return self.out[key]
        return self.applied[INPUT_KEY[(kind, attr)]]


def main():
    """Serve GridSim over mosaik's TCP API: ``python -m simulators.grid_sim HOST:PORT``."""
    mosaik_api_v3.start_simulation(GridSim(), "cosim grid simulator (pandapower)")


if __name__ == "__main__":
    main()
