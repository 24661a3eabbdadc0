"""True-plant AC grid: a pandapower net stepped with per-bus injections (pure pandapower, no mosaik).

Per step :meth:`GridModel.step` takes the net power every bus draws (consumer convention,
positive = load, MW/Mvar, arrays over buses in the net's bus order, see
:func:`simulators.networks.bus_table`), the OLTC tap positions, capacitor steps and SVC reactive
powers, runs the AC power flow (Newton-Raphson) and returns voltages, flows, losses and the
substation exchange. Timing convention as in :mod:`simulators.fleet`: injections are held over
``[t, t + dt)``, the power flow is the steady state of that interval.

Speed: one aggregated constant-power ``load`` per bus is created once and set as a vector each
step; the controls are written into the net's tables in place; each power flow starts from the
previous result (``init="results"``) and from a cold start (``init="dc"``: flat magnitudes, DC
angles, which also covers phase-shifting transformers) after a failed one. While no tap or
capacitor step changes, pandapower's ``recycle`` path reuses the internal case and admittance
matrix and only updates the bus injections (shunt steps and tap ratios are outside that update,
so a change of either triggers a full run). The backend is chosen by measurement
(``benchmarks/bench_grid.py``): see :data:`BACKENDS`.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pandapower as pp

from cosim_base.errors import ConfigError, check, check_shape
from simulators.networks import devices

#: ``runpp`` options per backend. Loads are constant power (``voltage_depend_loads=False``), which
#: lightsim2grid requires and the injections of the device fleets are. The numba backends need
#: the numba package (a ConfigError otherwise). All four agree to 1e-12 p.u.; "lightsim2grid" with
#: ``recycle=True`` measured fastest (benchmarks/bench_grid.py) and is the default.
BACKENDS = {
    "pandapower": {"numba": False, "lightsim2grid": False},
    "numba": {"numba": True, "lightsim2grid": False},
    "lightsim2grid": {"numba": False, "lightsim2grid": True},
    "lightsim2grid+numba": {"numba": True, "lightsim2grid": True},
}

#: Tag of the per-bus injection loads in ``net.load.name``.
INJECTION_NAME = "injection"

#: What pandapower's recycled power flow recomputes: bus P/Q only (loads, sgens incl. the SVC).
_RECYCLE = {"bus_pq": True, "trafo": False, "gen": False}


class GridModel:
    """AC power flow of ``net`` per step; the net is modified in place (loads, controls, results).

    ``keep_net_loads=True`` keeps the net's own static loads and generators (e.g. the IEEE 33
    base loads) as constant-power base, with the injections added on top; otherwise they are set
    out of service and all demand comes from the injections. The SVC sgen is always controlled.
    Outputs of a step whose power flow does not converge are NaN with ``converged = False``.
    Change the net only through :meth:`step` once stepping began: the recycled power flow would
    not see other edits.
    """

    def __init__(self, net: pp.pandapowerNet, *, keep_net_loads: bool = False,
                 backend: str = "lightsim2grid", recycle: bool = True, max_iteration: int = 20):
        if backend not in BACKENDS:
            raise ConfigError(f"backend = {backend!r} must be one of {sorted(BACKENDS)}")
        if BACKENDS[backend]["numba"] and importlib.util.find_spec("numba") is None:
            raise ConfigError(f"backend = {backend!r} needs the numba package, which is not installed")
        check("max_iteration", max_iteration, 1)
        if len(net.ext_grid) != 1:
            raise ConfigError(f"net has {len(net.ext_grid)} ext_grids, GridModel needs exactly 1")
        self.net = net
        self.n_bus = len(net.bus)
        dev = devices(net)
        self._trafo, self._cap, self._svc = dev["trafo"], dev["cap"], dev["svc"]
        if not keep_net_loads:
            net.load["in_service"] = False
            net.sgen.loc[net.sgen.index.difference(self._svc), "in_service"] = False
        self._inj = pp.create_loads(net, net.bus.index, p_mw=0.0, q_mvar=0.0, name=INJECTION_NAME)
        self.tap_min = net.trafo.tap_min.to_numpy(float)
        self.tap_max = net.trafo.tap_max.to_numpy(float)
        self.cap_max_step = net.shunt.max_step.to_numpy(float)
        self.svc_min_q_mvar = -net.sgen.max_q_mvar.loc[self._svc].to_numpy(float)
        self.svc_max_q_mvar = -net.sgen.min_q_mvar.loc[self._svc].to_numpy(float)
        self._pf = dict(BACKENDS[backend], algorithm="nr", voltage_depend_loads=False,
                        max_iteration=max_iteration, calculate_voltage_angles=True)
        self._free = ~net.bus.index.isin(net.ext_grid.bus)
        self._warm = False
        self.backend = backend
        self.recycle = recycle

    def default_inputs(self) -> dict[str, np.ndarray]:
        """Inputs as the net holds them now: zero injections and the net's control settings."""
        return {
            "p_mw": np.zeros(self.n_bus),
            "q_mvar": np.zeros(self.n_bus),
            "tap_pos": self.net.trafo.tap_pos.to_numpy(float).copy(),
            "cap_step": self.net.shunt.step.to_numpy(float).copy(),
            "svc_q_mvar": -self.net.sgen.q_mvar.loc[self._svc].to_numpy(float),
        }

    def step(self, p_mw, q_mvar, tap_pos=None, cap_step=None, svc_q_mvar=None) -> dict:
        """Run the power flow for per-bus draws ``p_mw``/``q_mvar`` (shape (n_bus,)).

        ``tap_pos`` (per trafo, integer in [tap_min, tap_max]), ``cap_step`` (per shunt, integer in
        [0, max_step]) and ``svc_q_mvar`` (per SVC, consumer convention: negative = injects
        reactive power) replace the current settings; ``None`` keeps them. Returns per-bus
        ``vm_pu``/``va_degree``, per-line ``loading_percent``/``i_ka``/``pl_mw``, per-trafo
        ``trafo_loading_percent``, per-shunt ``cap_q_mvar``, per-SVC ``svc_q_mvar``, and scalars
        ``p_loss_mw``/``q_loss_mvar`` (lines + trafos), ``p_ext_mw``/``q_ext_mvar`` (import at
        the ext_grid, positive = drawn from the upstream grid), ``v_min_pu``/``v_max_pu`` (over
        all buses but the ext_grid bus, whose voltage is a fixed setpoint) and ``converged``.
        """
        p = check_shape("p_mw", p_mw, self.n_bus)
        q = check_shape("q_mvar", q_mvar, self.n_bus)
        check("p_mw", p)
        check("q_mvar", q)
        net = self.net
        full = not (self._warm and self.recycle)
        if tap_pos is not None:
            tap = self._integers("tap_pos", tap_pos, self.tap_min, self.tap_max, len(self._trafo))
            full |= not np.array_equal(tap, net.trafo.tap_pos.to_numpy())
            net.trafo["tap_pos"] = tap
        if cap_step is not None:
            step = self._integers("cap_step", cap_step, 0, self.cap_max_step, len(self._cap))
            full |= not np.array_equal(step, net.shunt.step.to_numpy())
            net.shunt["step"] = step
        if svc_q_mvar is not None:
            qs = check_shape("svc_q_mvar", svc_q_mvar, len(self._svc))
            check("svc_q_mvar", qs, self.svc_min_q_mvar, self.svc_max_q_mvar)
            net.sgen.loc[self._svc, "q_mvar"] = -qs
        net.load.loc[self._inj, "p_mw"] = p
        net.load.loc[self._inj, "q_mvar"] = q
        try:
            if full:
                pp.runpp(net, init="results" if self._warm else "dc", **self._pf)
            else:
                pp.runpp(net, recycle=_RECYCLE, **self._pf)
        except pp.LoadflowNotConverged:
            self._warm = False
            return self._nan_results()
        self._warm = True
        return self._results()

    @staticmethod
    def _integers(field: str, value, lo, hi, n: int) -> np.ndarray:
        arr = check(field, check_shape(field, value, n), lo, hi)
        if np.any(arr != np.round(arr)):
            raise ConfigError(f"{field} = {arr.tolist()} must be whole numbers")
        return arr.astype(int)

    def _results(self) -> dict:
        """Copies of the result tables (pandapower overwrites them in place on the next run)."""
        net = self.net
        vm_pu = net.res_bus.vm_pu.to_numpy(float, copy=True)
        return {
            "vm_pu": vm_pu,
            "va_degree": net.res_bus.va_degree.to_numpy(float, copy=True),
            "loading_percent": net.res_line.loading_percent.to_numpy(float, copy=True),
            "i_ka": net.res_line.i_ka.to_numpy(float, copy=True),
            "pl_mw": net.res_line.pl_mw.to_numpy(float, copy=True),
            "trafo_loading_percent": net.res_trafo.loading_percent.to_numpy(float, copy=True),
            "cap_q_mvar": net.res_shunt.q_mvar.to_numpy(float, copy=True),
            "svc_q_mvar": -net.res_sgen.q_mvar.loc[self._svc].to_numpy(float, copy=True),
            "p_loss_mw": float(net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()),
            "q_loss_mvar": float(net.res_line.ql_mvar.sum() + net.res_trafo.ql_mvar.sum()),
            "p_ext_mw": float(net.res_ext_grid.p_mw.iloc[0]),
            "q_ext_mvar": float(net.res_ext_grid.q_mvar.iloc[0]),
            "v_min_pu": float(vm_pu[self._free].min()),
            "v_max_pu": float(vm_pu[self._free].max()),
            "converged": True,
        }

    def _nan_results(self) -> dict:
        sizes = {"vm_pu": self.n_bus, "va_degree": self.n_bus, "loading_percent": len(self.net.line),
                 "i_ka": len(self.net.line), "pl_mw": len(self.net.line),
                 "trafo_loading_percent": len(self._trafo), "cap_q_mvar": len(self._cap),
                 "svc_q_mvar": len(self._svc)}
        out = {k: np.full(n, np.nan) for k, n in sizes.items()}
        out.update(p_loss_mw=np.nan, q_loss_mvar=np.nan, p_ext_mw=np.nan, q_ext_mvar=np.nan,
                   v_min_pu=np.nan, v_max_pu=np.nan, converged=False)
        return out
