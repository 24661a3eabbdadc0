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

Local voltage control (``local``, a :class:`LocalVoltageControl`): a control input that is NaN
(no setpoint: the device's own control, the project's rule for every device) is set by the
device's local controller from the previous step's power flow; without ``local`` it keeps its
last position. The OLTC and the capacitor banks step one position after their voltage has stayed
outside their band for their delay; the SVC follows a Q(V) droop (see the class).

Direct path (``direct=True``, the default with a lightsim2grid backend): between full runs the
step skips pandapower's tables altogether. It keeps the internal case of the last full run
(admittance matrices, bus injections, slack and PQ buses), moves the bus injections by the change
of the draws and of the SVC, solves with the same lightsim2grid Newton-Raphson that pandapower
calls (``lightsim2grid.newtonpf.newtonpf_new``, warm-started from the previous voltages) and
computes the outputs with pandapower's own result formulas (pypower's pfsoln for branch flows and
the slack's injection; pandapower's results_branch for currents and loadings; shunt powers at
the square of the voltage). The outputs equal the pandapower path's to 1e-9
(tests/test_grid.py). A net with PV generators, several slacks or out-of-service buses takes the
pandapower path.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

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

#: Newton-Raphson tolerance on the largest bus power mismatch (MVA): pandapower's default is 1e-8;
#: at 1e-10 the direct and pandapower paths, which stop at different iterates, agree to 1e-9.
TOLERANCE_MVA = 1e-10

#: Tag of the per-bus injection loads in ``net.load.name``.
INJECTION_NAME = "injection"

#: What pandapower's recycled power flow recomputes: bus P/Q only (loads, sgens incl. the SVC).
_RECYCLE = {"bus_pq": True, "trafo": False, "gen": False}


@dataclass(frozen=True)
class LocalVoltageControl:
    """Settings of the grid devices' local voltage control (voltages in p.u., times in s).

    OLTC (every transformer with a tap range): a voltage-band tap control at its LV bus, as
    pandapower's ``DiscreteTapControl`` (band ``vm_lower_pu``..``vm_upper_pu`` at the LV side) with
    the time delay of a utility tap-changer control (OpenDSS ``RegControl``: ``vreg``, ``band``,
    ``delay``): once the bus voltage has stayed outside ``oltc_v_set_pu`` -+ ``oltc_band_pu`` / 2
    for ``oltc_delay_s``, the tap moves one position towards the band and the delay starts again.
    No line-drop compensation: the regulated voltage is the LV bus's own. Defaults (est.): set
    point 1.04 (a substation bus run high so the feeder end stays up under load), band 0.025
    (OpenDSS's default 3 V on its 120 V base, wider than a 1.25 % tap step, so no hunting), delay
    60 s (utility practice 30-120 s; OpenDSS's default 15 s).

    Capacitor banks: voltage-switched at their own bus, as pandapower's ``DiscreteShuntController``
    with the separate on and off levels and the delay of OpenDSS ``CapControl`` (type voltage,
    ``ONsetting``/``OFFsetting``, ``Delay``): below ``cap_v_on_pu`` for ``cap_delay_s`` one step
    more, above ``cap_v_off_pu`` for ``cap_delay_s`` one step less. Defaults (est.): 0.98 and 1.04
    (the gap far wider than one step's voltage rise), 60 s (OpenDSS's default 15 s).

    SVC: a volt-var droop of the shape of IEEE Std 1547-2018's default (Category B): no output
    within ``svc_v_ref_pu`` -+ ``svc_deadband_pu``, beyond it a line reaching the full rating
    ``svc_slope_pu`` further out, injecting below the band and absorbing above it. Defaults: 1.0,
    0.02 and 0.06 (1547's 0.98/1.02 and 0.92/1.08 p.u.; there 44 % of a DER's kVA, here the
    SVC's full rating, all of which is reactive).

    The devices act on the voltages of the previous plant step (a measurement, then a move), at
    most one position per step; a step of ``dt_s`` adds ``dt_s`` to a delay. The SVC's lagged
    droop settles where the droop meets the grid while its loop gain (droop Mvar per p.u. times
    the bus's dV/dQ) is below 1: about 0.4 at IEEE 33's bus 32 with no load.
    """

    oltc_v_set_pu: float = 1.04
    oltc_band_pu: float = 0.025
    oltc_delay_s: float = 60.0
    cap_v_on_pu: float = 0.98
    cap_v_off_pu: float = 1.04
    cap_delay_s: float = 60.0
    svc_v_ref_pu: float = 1.0
    svc_deadband_pu: float = 0.02
    svc_slope_pu: float = 0.06

    def __post_init__(self):
        for key in ("oltc_v_set_pu", "cap_v_on_pu", "cap_v_off_pu", "svc_v_ref_pu"):
            check(key, getattr(self, key), 0.8, 1.2)
        check("oltc_band_pu", self.oltc_band_pu, 0, 0.2, lo_open=True)
        check("svc_deadband_pu", self.svc_deadband_pu, 0, 0.2)
        check("svc_slope_pu", self.svc_slope_pu, 0, 0.5, lo_open=True)
        for key in ("oltc_delay_s", "cap_delay_s"):
            check(key, getattr(self, key), 0, 3600)
        if self.cap_v_on_pu >= self.cap_v_off_pu:
            raise ConfigError(f"cap_v_on_pu = {self.cap_v_on_pu} must be < cap_v_off_pu = {self.cap_v_off_pu}")


def band_moves(v, lo, hi, timers: np.ndarray, dt_s: float, delay_s: float) -> np.ndarray:
    """One step of delayed band controls: +1 (raise the voltage) for a device whose voltage ``v``
    has been below ``lo`` for ``delay_s``, -1 above ``hi``, else 0. ``timers`` (n, 2): seconds
    below and above so far, updated in place (reset inside the band and after a move)."""
    out = np.stack([v < lo, v > hi], axis=1)
    timers[:] = np.where(out, timers + dt_s, 0.0)
    fire = timers >= delay_s
    timers[fire] = 0.0
    return fire[:, 0].astype(int) - fire[:, 1].astype(int)


class GridModel:
    """AC power flow of ``net`` per step; the net is modified in place (loads, controls, results).

    ``keep_net_loads=True`` keeps the net's own static loads and generators (e.g. the IEEE 33
    base loads) as constant-power base, with the injections added on top; otherwise they are set
    out of service and all demand comes from the injections. The SVC sgen is always controlled.
    Outputs of a step whose power flow does not converge are NaN with ``converged = False``.
    Change the net only through :meth:`step` once stepping began: the recycled power flow would
    not see other edits. ``local``: the devices' local voltage control (None: a device without a
    setpoint keeps its position); ``step_s``: the plant step its delays count.
    """

    def __init__(self, net: pp.pandapowerNet, *, keep_net_loads: bool = False,
                 backend: str = "lightsim2grid", recycle: bool = True, max_iteration: int = 20,
                 direct: bool = True, local: LocalVoltageControl | None = None, step_s: float = 60.0):
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
                        max_iteration=max_iteration, calculate_voltage_angles=True,
                        tolerance_mva=TOLERANCE_MVA)
        self._free = ~net.bus.index.isin(net.ext_grid.bus)
        self._warm = False
        self.backend = backend
        self.recycle = recycle
        self.direct = bool(direct) and recycle and BACKENDS[backend]["lightsim2grid"]
        self._case: _Case | None = None  # the direct path's internal case (None: not available)
        self._held = self.default_inputs()
        self.local, self.step_s = local, float(check("step_s", step_s, 0, lo_open=True))
        rows = net.bus.index.get_indexer
        tr = net.trafo.loc[self._trafo]
        self._tap_bus = rows(tr.lv_bus)
        # +1 where a higher tap position raises the LV-side voltage (a ratio tap on the LV winding),
        # 0 for a transformer without a tap range
        self._tap_dir = np.nan_to_num(np.where(tr.tap_side.to_numpy() == "lv", 1, -1)
                                      * np.sign(tr.tap_step_percent.to_numpy(float)))
        self._tap_dir[~(self.tap_max > self.tap_min)] = 0  # NaN limits compare False
        self._cap_bus = rows(net.shunt.bus.loc[self._cap])
        self._cap_dir = -np.sign(net.shunt.q_mvar.loc[self._cap].to_numpy(float))  # a capacitor step raises v
        self._svc_bus = rows(net.sgen.bus.loc[self._svc])
        self._timers = {"tap_pos": np.zeros((len(self._trafo), 2)), "cap_step": np.zeros((len(self._cap), 2))}
        self._vm: np.ndarray | None = None  # the last converged step's voltages (what local control measures)

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
        reactive power) replace the current settings; a NaN entry (or ``None`` for all) leaves
        the device to its local voltage control (``local``), else at its position. Returns per-bus
        ``vm_pu``/``va_degree``, per-line ``loading_percent``/``i_ka``/``pl_mw``, per-trafo
        ``trafo_loading_percent`` and the applied ``tap_pos``, per-shunt ``cap_q_mvar`` and
        the applied ``cap_step``, per-SVC ``svc_q_mvar``, and scalars
        ``p_loss_mw``/``q_loss_mvar`` (lines + trafos), ``p_ext_mw``/``q_ext_mvar`` (import at
        the ext_grid, positive = drawn from the upstream grid), ``v_min_pu``/``v_max_pu`` (over
        all buses but the ext_grid bus, whose voltage is a fixed setpoint) and ``converged``.
        """
        p = check_shape("p_mw", p_mw, self.n_bus)
        q = check_shape("q_mvar", q_mvar, self.n_bus)
        check("p_mw", p)
        check("q_mvar", q)
        held = self._held
        full = not (self._warm and self.recycle)
        local = self._local_settings()
        for key, value, lo, hi in (("tap_pos", tap_pos, self.tap_min, self.tap_max),
                                   ("cap_step", cap_step, 0, self.cap_max_step),
                                   ("svc_q_mvar", svc_q_mvar, self.svc_min_q_mvar, self.svc_max_q_mvar)):
            n = len(held[key])
            given = np.full(n, np.nan) if value is None else check_shape(key, value, n)
            free = np.isnan(given)
            if key in self._timers:
                self._timers[key][~free] = 0.0  # a device under a setpoint starts its delays afresh
            new = np.array(local[key], float)
            new[~free] = check(key, given[~free], np.broadcast_to(lo, n)[~free], hi[~free])
            if key != "svc_q_mvar" and np.any(new[~free] != np.round(new[~free])):
                raise ConfigError(f"{key} = {given.tolist()} must be whole numbers")
            full |= key != "svc_q_mvar" and not np.array_equal(new, held[key])
            held[key] = new
        held["p_mw"], held["q_mvar"] = p, q
        if not full and self._case is not None:
            return self._measured(self._direct_step())
        net = self.net
        if full:  # a recycled run keeps the taps and steps of the last full one
            net.trafo["tap_pos"] = held["tap_pos"]
            net.shunt["step"] = held["cap_step"]
        net.sgen.loc[self._svc, "q_mvar"] = -held["svc_q_mvar"]
        net.load.loc[self._inj, "p_mw"] = p
        net.load.loc[self._inj, "q_mvar"] = q
        try:
            if full:
                pp.runpp(net, init="results" if self._warm else "dc", **self._pf)
            else:
                pp.runpp(net, recycle=_RECYCLE, **self._pf)
        except pp.LoadflowNotConverged:
            self._warm, self._case = False, None
            return self._measured(self._nan_results())
        self._warm = True
        if self.direct:
            self._case = _Case.capture(self)
        return self._measured(self._results())

    def _local_settings(self) -> dict[str, np.ndarray]:
        """What local voltage control sets now from the last converged step's voltages (the held
        positions without ``local``, before the first power flow or after a diverged one)."""
        held, lv = self._held, self.local
        if lv is None or self._vm is None:
            return {k: held[k] for k in ("tap_pos", "cap_step", "svc_q_mvar")}
        vm, dt = self._vm, self.step_s
        half = lv.oltc_band_pu / 2
        move = band_moves(vm[self._tap_bus], lv.oltc_v_set_pu - half, lv.oltc_v_set_pu + half,
                          self._timers["tap_pos"], dt, lv.oltc_delay_s)
        tap = np.where(self._tap_dir != 0, np.clip(held["tap_pos"] + move * self._tap_dir, self.tap_min,
                                                   self.tap_max), held["tap_pos"])
        move = band_moves(vm[self._cap_bus], lv.cap_v_on_pu, lv.cap_v_off_pu, self._timers["cap_step"], dt,
                          lv.cap_delay_s)
        cap = np.clip(held["cap_step"] + move * self._cap_dir, 0, self.cap_max_step)
        dv = vm[self._svc_bus] - lv.svc_v_ref_pu
        x = np.clip(np.sign(dv) * np.maximum(np.abs(dv) - lv.svc_deadband_pu, 0) / lv.svc_slope_pu, -1.0, 1.0)
        svc = np.where(x < 0, -x * self.svc_min_q_mvar, x * self.svc_max_q_mvar)  # share of the rating
        return {"tap_pos": tap, "cap_step": cap, "svc_q_mvar": svc}

    def _measured(self, out: dict) -> dict:
        """A step's outputs with the applied tap positions and capacitor steps; keeps the voltages
        local control measures (None after a diverged power flow)."""
        self._vm = out["vm_pu"].copy() if out["converged"] else None
        out.update(tap_pos=self._held["tap_pos"].astype(float), cap_step=self._held["cap_step"].astype(float))
        return out

    def _direct_step(self) -> dict:
        """One power flow on the internal case of the last full run (see the module docstring)."""
        from lightsim2grid.newtonpf import newtonpf_new

        c, held = self._case, self._held
        dp = held["p_mw"] - c.p_mw
        dq = held["q_mvar"] - c.q_mvar
        np.add.at(dq, c.svc_bus, held["svc_q_mvar"] - c.svc_q_mvar)  # an SVC is a negative load
        pd, qd = c.pd_mw + dp, c.qd_mvar + dq
        sbus = c.sbus - (dp + 1j * dq) / c.base_mva
        v, success, *_ = newtonpf_new(c.ybus, sbus, c.v, c.ref, c.pv, c.pq, c.ppci, self.net._options)
        if not success:
            self._warm, self._case = False, None
            return self._nan_results()
        c.v = v
        return c.results(v, pd, qd, held, self._free)

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


class _Case:
    """The internal case of the last full pandapower run, for :meth:`GridModel._direct_step`.

    Bus rows are the net's buses in order (checked), branch rows pypower's in-service branches;
    ``p_mw``/``q_mvar``/``svc_q_mvar`` are the draws it was built with, ``pd_mw``/``qd_mvar``
    every bus's total demand then, ``sbus`` its injections (p.u.), ``v`` the latest voltages.
    """

    @classmethod
    def capture(cls, model: GridModel) -> "_Case | None":
        net = model.net
        it = net._ppc["internal"]
        n = model.n_bus
        lookup = net._pd2ppc_lookups["bus"]
        if (len(it["pv"]) or len(it["ref"]) != 1 or it["bus"].shape[0] != n
                or not np.array_equal(lookup[net.bus.index], np.arange(n))):
            return None
        from pandapower.pypower.idx_brch import F_BUS, T_BUS
        from pandapower.pypower.idx_bus import BASE_KV, PD, QD

        c = cls()
        c.ybus, c.yf, c.yt = it["Ybus"].tocsc(), it["Yf"].tocsr(), it["Yt"].tocsr()
        c.ref_row = it["Ybus"].tocsr()[it["ref"][0]]
        c.ref, c.pv, c.pq = it["ref"], it["pv"], it["pq"]
        c.ppci = {"bus": it["bus"], "gen": it["gen"], "branch": it["branch"], "baseMVA": it["baseMVA"],
                  "internal": it, "svc": it["svc"], "tcsc": it["tcsc"], "ssc": it["ssc"], "vsc": it["vsc"]}
        c.base_mva = float(it["baseMVA"])
        c.sbus, c.v = it["Sbus"].copy(), it["V"].copy()
        c.pd_mw, c.qd_mvar = it["bus"][:, PD].real.copy(), it["bus"][:, QD].real.copy()
        c.p_mw, c.q_mvar = model._held["p_mw"].copy(), model._held["q_mvar"].copy()
        c.svc_q_mvar = model._held["svc_q_mvar"].copy()
        c.svc_bus = lookup[net.sgen.bus.loc[model._svc].to_numpy()]
        branch = it["branch"]
        c.f, c.t = branch[:, F_BUS].real.astype(np.int64), branch[:, T_BUS].real.astype(np.int64)
        c.on = np.flatnonzero(it["branch_is"])  # ppc branch row of every in-service branch
        c.n_branch = len(it["branch_is"])
        base_kv = it["bus"][:, BASE_KV].real
        # end buses and their base kV per ppc branch row (bus 0 for an out-of-service one: no flow)
        c.ends = np.zeros((c.n_branch, 2), np.int64)
        c.ends[c.on] = np.column_stack([c.f, c.t])
        c.ends_kv = base_kv[c.ends]
        lk = net._pd2ppc_lookups["branch"]
        c.lines = slice(*lk["line"]) if "line" in lk else slice(0, 0)
        c.trafos = slice(*lk["trafo"]) if "trafo" in lk else slice(0, 0)
        line = net.line
        c.line_i_max = (line.max_i_ka * line.df * line.parallel).to_numpy(float)
        tr = net.trafo
        c.trafo_vn = np.vstack([tr.vn_hv_kv.to_numpy(float), tr.vn_lv_kv.to_numpy(float)]).T
        c.trafo_sn = tr.sn_mva.to_numpy(float)
        c.trafo_div = (tr.parallel * tr.df).to_numpy(float)
        sh = net.shunt.loc[model._cap]
        c.shunt_q = sh.q_mvar.to_numpy(float)
        c.shunt_bus = lookup[sh.bus.to_numpy()]
        return c

    def results(self, v, pd, qd, held, free) -> dict:
        """GridModel.step's outputs from the voltages ``v``; pandapower's formulas."""
        vm, base = np.abs(v), self.base_mva
        sf = np.zeros(self.n_branch, complex)
        st = np.zeros(self.n_branch, complex)
        sf[self.on] = v[self.f] * np.conj(self.yf @ v) * base
        st[self.on] = v[self.t] * np.conj(self.yt @ v) * base
        i_ft = np.abs(np.column_stack([sf, st])) / (vm[self.ends] * self.ends_kv) / np.sqrt(3)
        ln, tr = self.lines, self.trafos
        i_ka = i_ft[ln].max(axis=1)
        loss = sf + st
        ref = self.ref[0]
        s_ref = v[ref] * np.conj(self.ref_row @ v)[0] * base
        return {
            "vm_pu": vm,
            "va_degree": np.angle(v, deg=True),
            "loading_percent": np.divide(i_ka, self.line_i_max, out=np.full_like(i_ka, np.inf),
                                         where=self.line_i_max != 0) * 100,
            "i_ka": i_ka,
            "pl_mw": loss[ln].real,
            "trafo_loading_percent": (i_ft[tr] * self.trafo_vn * np.sqrt(3) / self.trafo_sn[:, None] * 100.0
                                      ).max(axis=1) / self.trafo_div,
            "cap_q_mvar": self.shunt_q * held["cap_step"] * vm[self.shunt_bus] ** 2,
            "svc_q_mvar": held["svc_q_mvar"].copy(),
            "p_loss_mw": float(loss[ln].real.sum() + loss[tr].real.sum()),
            "q_loss_mvar": float(loss[ln].imag.sum() + loss[tr].imag.sum()),
            "p_ext_mw": float(s_ref.real + pd[ref]),
            "q_ext_mvar": float(s_ref.imag + qd[ref]),
            "v_min_pu": float(vm[free].min()),
            "v_max_pu": float(vm[free].max()),
            "converged": True,
        }
