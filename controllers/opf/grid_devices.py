"""Device blocks of the grid side: loads, PV/wind, battery ESS, micro-turbine, capacitor banks, SVC.

Each block follows controllers.opf.block: variables of shape (n_units, T) in MW / Mvar (MWh for
energy), cvxpy Parameters for data that changes between solves, ``p_mw`` / ``q_mvar`` drawn from the
grid (consumer convention: generation is negative). Model equations follow seed 001 (Energy Eng.
2026, 123(3), sec. 3.1: MT, ESS, CB, SVC constraints) and physics.md.
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np

from controllers.opf.block import Block, Context, Discrete
from cosim_base.errors import ConfigError, check, check_shape
from simulators.fleet import tan_phi


def _param(shape, name, value=None, **kw) -> cp.Parameter:
    prm = cp.Parameter(shape, name=name, **kw)
    if value is not None:
        prm.value = np.broadcast_to(value, shape).astype(float).copy()
    return prm


def _profile(field: str, value, n: int, T: int, lo=None, hi=None) -> np.ndarray:
    """A (n, T) array from a scalar, (n,) (held over T), (T,) when n == 1, or (n, T)."""
    arr = check(field, value, lo, hi)
    if arr.ndim == 0 or arr.shape == (n,):
        return np.broadcast_to(arr.reshape(-1, 1) if arr.ndim else arr, (n, T)).copy()
    if arr.shape == (T,) and n == 1:
        return arr.reshape(1, T)
    if arr.shape != (n, T):
        raise ConfigError(f"{field} has shape {arr.shape}, expected ({n}, {T}) or ({n},)")
    return arr


def _unknown(block: Block, data: dict, allowed: tuple) -> None:
    bad = sorted(set(data) - set(allowed))
    if bad:
        raise ConfigError(f"{block.name}.set_data: unknown key {bad[0]!r}; allowed: {list(allowed)}")


def _stacked_soc(radius: np.ndarray, a: cp.Expression, b: cp.Expression) -> cp.Constraint:
    """||(a_ut, b_ut)|| <= radius_u for every (unit, period): one cone constraint over all rows."""
    T = a.shape[1]
    r = np.repeat(np.asarray(radius, float), T)
    return cp.SOC(r, cp.vstack([cp.vec(a, order="C"), cp.vec(b, order="C")]), axis=0)


class FixedLoads(Block):
    """Uncontrolled consumption per bus: data Parameters p_mw, q_mvar (n, T)."""

    def __init__(self, bus, p_mw=None, q_mvar=None, name: str = "load"):
        super().__init__()
        self.name = name
        self.bus = np.asarray(bus, dtype=int)
        self._p0, self._q0 = p_mw, q_mvar

    @classmethod
    def from_network(cls, network, name: str = "load") -> "FixedLoads":
        """One unit per bus with a base load in the net (load minus sgen), values as defaults."""
        k = np.flatnonzero((network.p_mw != 0) | (network.q_mvar != 0))
        return cls(k, network.p_mw[k], network.q_mvar[k], name=name)

    def build(self, ctx: Context) -> None:
        shape = (self.n, ctx.T)
        self.p_mw = _param(shape, f"{self.name}.p_mw", None if self._p0 is None else np.reshape(self._p0, (-1, 1)))
        self.q_mvar = _param(shape, f"{self.name}.q_mvar", None if self._q0 is None else np.reshape(self._q0, (-1, 1)))

    def set_data(self, **data) -> None:
        _unknown(self, data, ("p_mw", "q_mvar"))
        for key, val in data.items():
            prm = getattr(self, key)
            prm.value = _profile(f"{self.name}.{key}", val, self.n, prm.shape[1])

    def plan(self) -> dict[str, np.ndarray]:
        return {"p_mw": self.p_mw.value.copy(), "q_mvar": self.q_mvar.value.copy()}


class Renewables(Block):
    """PV or wind: active power curtailable down to 0 from the forecast p_avail_mw (Parameter).

    q_mode: "none" (unity power factor), "pf" (|q| <= tan(acos(pf_min)) p, linear) or "circle"
    (p^2 + q^2 <= s_rated^2, the inverter's apparent-power limit; conic). curtail_cost in
    currency/MWh discourages curtailment beyond what prices already do.
    """

    def __init__(self, bus, s_rated_mva, q_mode: str = "none", pf_min: float = 0.9,
                 curtail_cost: float = 0.0, name: str = "pv"):
        super().__init__()
        if q_mode not in ("none", "pf", "circle"):
            raise ConfigError(f"q_mode = {q_mode!r} is not one of ('none', 'pf', 'circle')")
        self.name = name
        self.bus = np.asarray(bus, dtype=int)
        self.s_rated_mva = check_shape("s_rated_mva", check("s_rated_mva", s_rated_mva, 0, lo_open=True), self.n)
        self.q_mode, self.pf_min = q_mode, float(check("pf_min", pf_min, 0, 1, lo_open=True))
        self.curtail_cost = float(check("curtail_cost", curtail_cost, 0))

    def build(self, ctx: Context) -> None:
        shape = (self.n, ctx.T)
        self.p_avail_mw = _param(shape, f"{self.name}.p_avail_mw", nonneg=True)
        self.p_gen_mw = cp.Variable(shape, nonneg=True, name=f"{self.name}.p_gen_mw")
        self.constraints = [self.p_gen_mw <= self.p_avail_mw, self.p_gen_mw <= self.s_rated_mva[:, None]]
        self.p_mw = -self.p_gen_mw
        if self.q_mode == "none":
            self.q_gen_mvar = None
        else:
            self.q_gen_mvar = cp.Variable(shape, name=f"{self.name}.q_gen_mvar")
            self.q_mvar = -self.q_gen_mvar
        if self.q_mode == "pf":
            k = tan_phi(self.pf_min)
            self.constraints += [cp.abs(self.q_gen_mvar) <= k * self.p_gen_mw]
        elif self.q_mode == "circle":
            self.constraints.append(_stacked_soc(self.s_rated_mva, self.p_gen_mw, self.q_gen_mvar))
        self.cost = self.curtail_cost * ctx.dt_h * cp.sum(self.p_avail_mw - self.p_gen_mw)

    def set_data(self, **data) -> None:
        _unknown(self, data, ("p_avail_mw",))
        if "p_avail_mw" in data:
            self.p_avail_mw.value = _profile(f"{self.name}.p_avail_mw", data["p_avail_mw"], self.n,
                                             self.p_avail_mw.shape[1], lo=0)

    def plan(self) -> dict[str, np.ndarray]:
        q = np.zeros(self.p_avail_mw.shape) if self.q_gen_mvar is None else self.q_gen_mvar.value
        return {"p_gen_mw": self.p_gen_mw.value, "q_gen_mvar": q,
                "curtail_mw": self.p_avail_mw.value - self.p_gen_mw.value}


class Battery(Block):
    """Battery ESS: E[t+1] = E[t] + dt (eta_c Pc - Pd / eta_d) (physics.md sec. 4), SOC band,
    terminal E_T >= e_final (default the initial energy, seed 001), dispatch cost
    cost_per_mwh (Pc + Pd) dt (seed 001 "C_ESS"). binary=True adds a Discrete u (1 = may charge,
    0 = may discharge): Pc <= P_max u, Pd <= P_max (1 - u), i.e. no simultaneous charge/discharge.
    """

    def __init__(self, bus, e_max_mwh, p_max_mw, eta_c=0.95, eta_d=0.95, soc_min=0.1, soc_max=0.9,
                 cost_per_mwh=0.0, binary=False, name: str = "ess"):
        super().__init__()
        self.name = name
        self.bus = np.asarray(bus, dtype=int)
        n = self.n
        self.e_max_mwh = check_shape("e_max_mwh", check("e_max_mwh", e_max_mwh, 0, lo_open=True), n)
        self.p_max_mw = check_shape("p_max_mw", check("p_max_mw", p_max_mw, 0), n)
        self.eta_c = check_shape("eta_c", check("eta_c", eta_c, 0, 1, lo_open=True), n)
        self.eta_d = check_shape("eta_d", check("eta_d", eta_d, 0, 1, lo_open=True), n)
        self.soc_min = check_shape("soc_min", check("soc_min", soc_min, 0, 1), n)
        self.soc_max = check_shape("soc_max", check("soc_max", soc_max, 0, 1), n)
        if np.any(self.soc_min > self.soc_max):
            raise ConfigError("soc_min is above soc_max for some unit; allowed 0 <= soc_min <= soc_max <= 1")
        self.cost_per_mwh = float(check("cost_per_mwh", cost_per_mwh, 0))
        self.binary = bool(binary)

    def build(self, ctx: Context) -> None:
        n, T, dt = self.n, ctx.T, ctx.dt_h
        self.p_ch_mw = cp.Variable((n, T), nonneg=True, name=f"{self.name}.p_ch_mw")
        self.p_dis_mw = cp.Variable((n, T), nonneg=True, name=f"{self.name}.p_dis_mw")
        self.e_mwh = cp.Variable((n, T + 1), name=f"{self.name}.e_mwh")
        self.e0_mwh = _param(n, f"{self.name}.e0_mwh", nonneg=True)
        self.e_final_mwh = _param(n, f"{self.name}.e_final_mwh", nonneg=True)
        pmax = self.p_max_mw[:, None]
        gain = cp.multiply(self.eta_c[:, None], self.p_ch_mw) - cp.multiply(1 / self.eta_d[:, None], self.p_dis_mw)
        self.constraints = [
            self.e_mwh[:, 0] == self.e0_mwh,
            self.e_mwh[:, 1:] == self.e_mwh[:, :-1] + dt * gain,
            self.e_mwh[:, 1:] >= (self.soc_min * self.e_max_mwh)[:, None],
            self.e_mwh[:, 1:] <= (self.soc_max * self.e_max_mwh)[:, None],
            self.e_mwh[:, T] >= self.e_final_mwh,
        ]
        if self.binary:
            u = cp.Variable((n, T), name=f"{self.name}.u_charge")
            self.discrete = [Discrete(u, _param((n, T), f"{self.name}.u_lo", 0.0), _param((n, T), f"{self.name}.u_hi", 1.0))]
            self.constraints += [self.p_ch_mw <= cp.multiply(pmax, u), self.p_dis_mw <= cp.multiply(pmax, 1 - u)]
        else:
            self.constraints += [self.p_ch_mw <= pmax, self.p_dis_mw <= pmax]
        self.p_mw = self.p_ch_mw - self.p_dis_mw
        self.cost = self.cost_per_mwh * dt * cp.sum(self.p_ch_mw + self.p_dis_mw)

    def set_data(self, **data) -> None:
        """e0_mwh (n,) initial energy; e_final_mwh (n,) terminal minimum (defaults to e0_mwh)."""
        _unknown(self, data, ("e0_mwh", "e_final_mwh"))
        hi = self.soc_max * self.e_max_mwh
        if "e0_mwh" in data:
            self.e0_mwh.value = check_shape(f"{self.name}.e0_mwh", check(f"{self.name}.e0_mwh", data["e0_mwh"], 0), self.n)
            if np.any(self.e0_mwh.value > self.e_max_mwh):
                raise ConfigError(f"{self.name}.e0_mwh is above e_max_mwh = {self.e_max_mwh.tolist()}")
            if "e_final_mwh" not in data:
                self.e_final_mwh.value = np.minimum(self.e0_mwh.value, hi)
        if "e_final_mwh" in data:
            self.e_final_mwh.value = check_shape(f"{self.name}.e_final_mwh",
                                                 check(f"{self.name}.e_final_mwh", data["e_final_mwh"], 0), self.n)

    def plan(self) -> dict[str, np.ndarray]:
        e = self.e_mwh.value
        return {"p_ch_mw": self.p_ch_mw.value, "p_dis_mw": self.p_dis_mw.value,
                "p_mw": self.p_ch_mw.value - self.p_dis_mw.value, "e_mwh": e, "soc": e / self.e_max_mwh[:, None]}


class MicroTurbine(Block):
    """Micro-turbine: P_min u <= P <= P_max u (u = 1 without on_off), ramp |P_t - P_{t-1}| <= R dt
    from the Parameter p0_mw, |Q| <= q_max; cost = dt (cost_per_mwh P + no_load_cost u) (seed 001
    "C_MT"). on_off=True makes u a Discrete (0/1)."""

    def __init__(self, bus, p_min_mw, p_max_mw, cost_per_mwh, ramp_mw_per_h=None, q_max_mvar=0.0,
                 on_off=False, no_load_cost=0.0, name: str = "mt"):
        super().__init__()
        self.name = name
        self.bus = np.asarray(bus, dtype=int)
        n = self.n
        self.p_min_mw = check_shape("p_min_mw", check("p_min_mw", p_min_mw, 0), n)
        self.p_max_mw = check_shape("p_max_mw", check("p_max_mw", p_max_mw, 0), n)
        if np.any(self.p_min_mw > self.p_max_mw):
            raise ConfigError("p_min_mw is above p_max_mw for some unit")
        self.cost_per_mwh = check_shape("cost_per_mwh", check("cost_per_mwh", cost_per_mwh), n)
        self.ramp = None if ramp_mw_per_h is None else check_shape("ramp_mw_per_h", check("ramp_mw_per_h", ramp_mw_per_h, 0), n)
        self.q_max_mvar = check_shape("q_max_mvar", check("q_max_mvar", q_max_mvar, 0), n)
        self.on_off = bool(on_off)
        self.no_load_cost = check_shape("no_load_cost", check("no_load_cost", no_load_cost, 0), n)

    def build(self, ctx: Context) -> None:
        n, T, dt = self.n, ctx.T, ctx.dt_h
        self.p_gen_mw = cp.Variable((n, T), nonneg=True, name=f"{self.name}.p_gen_mw")
        self.q_gen_mvar = cp.Variable((n, T), name=f"{self.name}.q_gen_mvar")
        on = np.ones((n, T))
        if self.on_off:
            self.u_on = cp.Variable((n, T), name=f"{self.name}.u_on")
            self.discrete = [Discrete(self.u_on, _param((n, T), f"{self.name}.u_lo", 0.0),
                                      _param((n, T), f"{self.name}.u_hi", 1.0))]
            on = self.u_on
        self.constraints = [self.p_gen_mw >= cp.multiply(self.p_min_mw[:, None], on),
                            self.p_gen_mw <= cp.multiply(self.p_max_mw[:, None], on),
                            cp.abs(self.q_gen_mvar) <= self.q_max_mvar[:, None]]
        if self.ramp is not None:
            self.p0_mw = _param(n, f"{self.name}.p0_mw", nonneg=True)
            prev = cp.hstack([cp.reshape(self.p0_mw, (n, 1), order="C"), self.p_gen_mw[:, :-1]])
            self.constraints.append(cp.abs(self.p_gen_mw - prev) <= (self.ramp * dt)[:, None])
        self.p_mw, self.q_mvar = -self.p_gen_mw, -self.q_gen_mvar
        self.cost = dt * (cp.sum(self.cost_per_mwh @ self.p_gen_mw) + cp.sum(self.no_load_cost @ on))

    def set_data(self, **data) -> None:
        """p0_mw (n,): output in the period before the horizon (needed when ramp_mw_per_h is set)."""
        _unknown(self, data, ("p0_mw",) if self.ramp is not None else ())
        if "p0_mw" in data:
            self.p0_mw.value = check_shape(f"{self.name}.p0_mw", check(f"{self.name}.p0_mw", data["p0_mw"], 0), self.n)

    def plan(self) -> dict[str, np.ndarray]:
        out = {"p_gen_mw": self.p_gen_mw.value, "q_gen_mvar": self.q_gen_mvar.value}
        if self.on_off:
            out["u_on"] = self.u_on.value
        return out


class CapacitorBanks(Block):
    """Switched capacitor banks: Q injected = q_step_mvar * N, N integer in [0, max_step] (a
    Discrete); optional max_ops: sum_t |N_t - N_{t-1}| <= max_ops per horizon (seed 001, CB switching).
    Q is taken at 1 p.u. voltage (the seed's model); the true bank gives q_step N V^2."""

    def __init__(self, bus, q_step_mvar, max_step, max_ops=None, name: str = "cb"):
        super().__init__()
        self.name = name
        self.bus = np.asarray(bus, dtype=int)
        self.q_step_mvar = check_shape("q_step_mvar", check("q_step_mvar", q_step_mvar, 0, lo_open=True), self.n)
        self.max_step = check_shape("max_step", check("max_step", max_step, 1), self.n)
        self.max_ops = None if max_ops is None else float(check("max_ops", max_ops, 0))

    @classmethod
    def from_net(cls, net, network, shunts=None, max_ops=None, name: str = "cb") -> "CapacitorBanks":
        """Banks from pandapower shunt rows (capacitive: q_mvar < 0 per step); default: all with max_step > 1.
        Build the RadialNetwork with ``exclude_shunts`` set to the same rows."""
        sh = net.shunt if shunts is None else net.shunt.loc[list(shunts)]
        if shunts is None:
            sh = sh[sh.in_service.astype(bool) & (sh.max_step > 1)]
        if np.any(sh.q_mvar >= 0):
            raise ConfigError("CapacitorBanks.from_net: shunt q_mvar must be negative (capacitive) per step")
        return cls(network.bus_index(sh.bus), -sh.q_mvar.to_numpy(float), sh.max_step.to_numpy(float),
                   max_ops=max_ops, name=name)

    def build(self, ctx: Context) -> None:
        n, T = self.n, ctx.T
        self.steps = cp.Variable((n, T), name=f"{self.name}.steps")
        lo = _param((n, T), f"{self.name}.steps_lo", 0.0)
        hi = _param((n, T), f"{self.name}.steps_hi", self.max_step[:, None])
        self.discrete = [Discrete(self.steps, lo, hi)]
        self.q_mvar = -cp.multiply(self.q_step_mvar[:, None], self.steps)
        self.constraints = []
        if self.max_ops is not None and T > 1:
            self.constraints.append(cp.sum(cp.abs(cp.diff(self.steps, axis=1)), axis=1) <= self.max_ops)

    def set_data(self, **data) -> None:
        """steps (n, T): fix the positions (an earlier stage's plan); None frees them."""
        _unknown(self, data, ("steps",))
        if "steps" not in data:
            return
        d = self.discrete[0]
        if data["steps"] is None:
            d.lo.value = np.zeros(d.lo.shape)
            d.hi.value = np.broadcast_to(self.max_step[:, None], d.hi.shape).copy()
            return
        s = _profile(f"{self.name}.steps", data["steps"], self.n, d.lo.shape[1], lo=0)
        if np.any(s > self.max_step[:, None]) or np.any(s != np.round(s)):
            raise ConfigError(f"{self.name}.steps must be integers in [0, max_step = {self.max_step.tolist()}]")
        d.lo.value, d.hi.value = s.copy(), s.copy()

    def plan(self) -> dict[str, np.ndarray]:
        return {"steps": self.steps.value, "q_gen_mvar": self.q_step_mvar[:, None] * self.steps.value}


class SVC(Block):
    """Static var compensator: continuous Q injection in [q_min_mvar, q_max_mvar] (seed 001)."""

    def __init__(self, bus, q_min_mvar, q_max_mvar, name: str = "svc"):
        super().__init__()
        self.name = name
        self.bus = np.asarray(bus, dtype=int)
        self.q_min_mvar = check_shape("q_min_mvar", check("q_min_mvar", q_min_mvar), self.n)
        self.q_max_mvar = check_shape("q_max_mvar", check("q_max_mvar", q_max_mvar), self.n)
        if np.any(self.q_min_mvar > self.q_max_mvar):
            raise ConfigError("q_min_mvar is above q_max_mvar for some unit")

    @classmethod
    def from_net(cls, net, network, name: str = "svc") -> "SVC":
        """SVCs from pandapower sgen rows of type "SVC" (limits min_q_mvar / max_q_mvar, generator
        convention as in simulators.networks)."""
        sg = net.sgen[net.sgen.type == "SVC"]
        return cls(network.bus_index(sg.bus), sg.min_q_mvar.to_numpy(float), sg.max_q_mvar.to_numpy(float), name=name)

    def build(self, ctx: Context) -> None:
        self.q_gen_mvar = cp.Variable((self.n, ctx.T), name=f"{self.name}.q_gen_mvar")
        self.constraints = [self.q_gen_mvar >= self.q_min_mvar[:, None], self.q_gen_mvar <= self.q_max_mvar[:, None]]
        self.q_mvar = -self.q_gen_mvar

    def set_data(self, **data) -> None:
        _unknown(self, data, ())

    def plan(self) -> dict[str, np.ndarray]:
        return {"q_gen_mvar": self.q_gen_mvar.value}
