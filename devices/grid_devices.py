"""Devices of the grid simulator (simulators.grid): the substation OLTC, capacitor banks and SVCs.

They have no fleet: their entities are the grid simulator's children (model = entity type) and
their OPF parts come from the network. A NaN setpoint is the device's local voltage control
(simulators.grid.LocalVoltageControl, scenario table ``[grid]``), or its last position with that
off. Taps and capacitor steps are decided day-ahead and fixed for the later stages (the
day-ahead plan's, else the measured position held).
"""
from __future__ import annotations

import numpy as np

from controllers.opf.grid_devices import SVC as SVCBlock
from controllers.opf.grid_devices import CapacitorBanks
from devices.kind import DeviceKind, Signal
from simulators import networks


class Trafo(DeviceKind):
    """The OLTC of the substation transformer: part of the OPF's network model (``tap_pos``)."""

    name = model = "Trafo"
    measured = (Signal("tap_pos", "-", "OLTC tap position"),)
    setpoints = (Signal("tap_pos", "-", "OLTC tap position; NaN: local voltage-band control"),)
    recorded = ("tap_pos", "loading_percent")

    def initial(self, net):
        return {"tap_pos": net.trafo.tap_pos.to_numpy(float)}

    def network_data(self, d):
        if d.problem.net.oltc is None:
            return {}
        if d.stage == "da":
            return {"tap_pos": None}
        return {"tap_pos": d.fixed_positions("grid.tap_pos", d.meas["tap_pos"])[0].astype(int)}

    def dispatch_network(self, da, k, put):
        if k is not None and "grid.tap_pos" in da.x:
            put("tap_pos", np.array([float(np.rint(da.x["grid.tap_pos"][k]))]))


class Capacitor(DeviceKind):
    """Switched capacitor banks (pandapower shunts), block "cb"."""

    name = model = "Capacitor"
    measured = (Signal("step", "-", "switched steps", 0.0),)
    setpoints = (Signal("step", "-", "switched steps; NaN: local voltage-switched control", 0.0),)
    recorded = ("step", "q_mvar")
    plan_keys = {"cb": ("steps",)}
    owner = {"cb": "da"}

    def initial(self, net):
        return {"step": net.shunt.step.to_numpy(float)}

    def net_blocks(self, net, rn):
        n = len(networks.devices(net)["cap"])
        return [(CapacitorBanks.from_net(net, rn, name="cb"), np.arange(n))] if n else []

    def block_data(self, name, d):
        return None if d.stage == "da" else {"steps": d.fixed_positions("cb.steps", d.meas["step"])}

    def dispatch(self, name, plan, k, put):
        put("step", np.rint(plan.x["cb.steps"][:, k]) if k is not None else np.nan)


class SVC(DeviceKind):
    """Static var compensators (pandapower sgens named SVC), block "svc"."""

    name = model = "SVC"
    setpoints = (Signal("q_mvar", "Mvar", "reactive power drawn (consumer sign); NaN: local Q(V) droop"),)
    recorded = ("q_mvar",)
    plan_keys = {"svc": ("q_gen_mvar",)}

    def net_blocks(self, net, rn):
        n = len(networks.devices(net)["svc"])
        return [(SVCBlock.from_net(net, rn, name="svc"), np.arange(n))] if n else []

    def dispatch(self, name, plan, k, put):
        put("q_mvar", -plan.x["svc.q_gen_mvar"][:, k] if k is not None else np.nan)
