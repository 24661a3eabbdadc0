"""OPF device blocks of thermal units: buildings with heat pumps, TSEH buildings, home heat hubs.

Each block mirrors a plant model in layer 1 with the controller's own parameter values and the same
shared physics (simulators.thermal, simulators.rc), so a plan/plant difference is a parameter or
forecast difference, never a second implementation:

- :class:`BuildingHPBlock` -- simulators.building.BuildingFleet with its reversible air-source heat pump;
- :class:`TSEHBlock` -- the same building heated by a thermal storage electric heater (seed 001);
- :class:`HeatHubBlock` -- simulators.heat_hub.HeatHubFleet (seed 003).

Units: power in kW, energy in kWh, temperature in degC, time in h; ``p_mw``/``q_mvar`` are what a
unit draws from the grid (consumer convention). Prices are in currency/MWh. The energy price of
``p_mw`` is not in a block's ``cost``: the core prices the grid exchange.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cvxpy as cp
import numpy as np

from controllers.opf.block import Block, Context, Discrete, checked_value, make_spec, set_params
from controllers.opf.groups import UnitGroups, lqr_gain, member_deviations
from cosim_base.errors import ConfigError, check, check_shape, per_unit
from simulators.fleet import tan_phi
from simulators.rc import discretize_zoh, first_order_zoh
from simulators.thermal import CHP_TABLE_KW, rc_3r2c_matrices

BIG_KW = 1e6  # "no limit" default of adjustment bounds
#: Gain scalings tried before a group's members get no correction (groups.member_deviations).
CORRECTION_TRIES = 4
#: Per-unit parameters of BuildingHPBlock besides its RC values (the keys a group shares).
_HP_PARAMS = ("p_hp_max_kw", "cop_0c", "cop_slope_per_k", "p_cool_max_kw", "eer_0c", "eer_slope_per_k", "tan_phi")


# ----------------------------------------------------------------------------- shared helpers

@dataclass
class GatedDiscrete(Discrete):
    """An on/off Discrete that rounds from the flows it gates, not from its own relaxed value.

    In a relaxation a gate sits anywhere its flows allow (e.g. at p / p_max), so rounding it to
    the nearest integer switches small flows off. ``rule(value)`` returns the 0/1 decision from
    the solved flows instead; the core's relax-round-fix calls :meth:`rounded` as for any Discrete.
    """

    rule: Callable[[np.ndarray], np.ndarray] | None = None
    #: Where the solved flows break the gated constraints at a rounded gate (tol: share of the
    #: flows' limits); None: the gate's own value is compared (Discrete.unmet).
    flows_unmet: Callable[[np.ndarray, float], np.ndarray] | None = None

    def rounded(self, value: np.ndarray) -> np.ndarray:
        return np.clip(self.rule(np.asarray(value)).astype(float), self.lo.value, self.hi.value)

    def unmet(self, rounded: np.ndarray, tol: float) -> np.ndarray:
        """A gate whose flows already respect it at ``rounded`` needs no re-solve: the relaxed
        solution is feasible with the gate there (the gate itself enters no cost)."""
        return super().unmet(rounded, tol) if self.flows_unmet is None else self.flows_unmet(rounded, tol)


def make_discrete(owner: str, key: str, shape, rule, flows_unmet=None) -> GatedDiscrete:
    """An on/off GatedDiscrete (n, T) relaxed to [0, 1]; lo/hi start at 0 and 1."""
    lo, hi = (cp.Parameter(shape, name=f"{owner}.{key}.{b}", value=np.full(shape, v))
              for b, v in (("lo", 0.0), ("hi", 1.0)))
    return GatedDiscrete(cp.Variable(shape, nonneg=True, name=f"{owner}.{key}"), lo, hi, rule=rule,
                         flows_unmet=flows_unmet)


def mode_rule(a: cp.Expression, a_max, b: cp.Expression, b_max):
    """Rounding rule of a mode m with a <= a_max m, b <= b_max (1 - m): 1 where a's share of its
    limit exceeds b's, the nearest integer where both are idle; and where the solved a, b break
    those two constraints at a rounded m (beyond ``tol`` of their limits)."""
    def shares():
        return (np.asarray(x.value) / np.maximum(lim, 1e-9)[:, None] for x, lim in ((a, a_max), (b, b_max)))

    def rule(m):
        sa, sb = shares()
        return np.where(np.maximum(sa, sb) < 1e-6, np.round(m), sa >= sb)

    def flows_unmet(m, tol):
        sa, sb = shares()
        return (sa > m + tol) | (sb > 1 - m + tol)
    return rule, flows_unmet


def cols(v: np.ndarray, T: int) -> np.ndarray:
    """Per-unit constants (n,) repeated over the horizon: (n, T)."""
    return np.repeat(np.asarray(v, float)[:, None], T, axis=1)


def _row(p: cp.Expression, n: int) -> cp.Expression:
    """A (T,) expression repeated over n units: (n, T)."""
    return np.ones((n, 1)) @ cp.reshape(p, (1, p.shape[0]), order="C")


# ----------------------------------------------------------------------------- buildings

def _sizes_and_efficiencies(owner: str, n: int, sizes: dict, efficiencies: dict) -> dict[str, np.ndarray]:
    """Per-unit (n,) parameters of a storage block: ``sizes`` >= 0, ``efficiencies`` in (0, 1]."""
    out = {k: per_unit(f"{owner}.{k}", v, n, 0) for k, v in sizes.items()}
    out.update({k: per_unit(f"{owner}.{k}", v, n, 0, 1, lo_open=True) for k, v in efficiencies.items()})
    return out


class BuildingHPBlock(Block):
    """3R2C buildings (Bacher & Madsen 2011; physics.md section 1) with reversible air-source heat pumps.

    States t_in_c, t_env_c (n, T+1) follow the exact ZOH step of simulators.rc.discretize_zoh
    applied to simulators.thermal.rc_3r2c_matrices with this block's parameters, inputs in the
    order of RC_INPUTS: the shared forecasts ``t_out_c`` and ``ghi_kw_m2`` (Context, (T,)), the
    internal gains ``phi_int_kw`` and the heat to the air node ``cop * p_hp_kw - eer * p_cool_kw``
    (+ subclass heat). COP is the linear curve cop_0c + cop_slope_per_k * t_out_c of
    simulators.thermal.cop_linear (seed 002) and the cooling COP (EER) the line eer_0c +
    eer_slope_per_k * t_out_c, affine expressions of the shared forecast Parameter, so both
    products are DPP. Heating and cooling are separate nonnegative powers (the model stays an LP);
    both at once only waste energy, never optimal while it costs (devices.building's dispatch sends
    the net mode). Cooling shares the compressor: p_cool_kw <= p_cool_max_kw (0: no cooling; then
    p_cool_kw is the constant 0 and adds no variables).
    Comfort: t_low_c - dev_low_k <= t_in_c[:, 1:] <= t_up_c + dev_up_k, deviations >= 0 cost
    ``discomfort_cost`` per K*h (the BOPTEST discomfort KPI, physics.md section 1).

    Constructor: ``bus`` (n,) bus indices; (scalars or (n,)) building parameters as in
    rc_3r2c_matrices, ``p_hp_max_kw``, ``cop_0c``, ``cop_slope_per_k``, ``p_cool_max_kw``,
    ``eer_0c``, ``eer_slope_per_k``, ``pf`` (power factor); ``discomfort_cost`` per K*h; ``name``
    (unique per problem). Defaults: the est. 150 m2 house of simulators.building (physics.md
    section 1), without cooling; the EER line is devices.building.fit_eer_linear's at eer_rated 3.4.

    set_data keys: t_in0_c (n,), t_env0_c (n,) initial states; phi_int_kw (n, T) internal gains;
    t_low_c, t_up_c (n, T) comfort band (default 20 and 22). plan keys: p_hp_kw, cop, q_hp_kw,
    p_cool_kw, eer, q_cool_kw, phi_heat_kw, dev_low_k, dev_up_k (n, T); t_in_c, t_env_c (n, T+1);
    discomfort_kh (n,).

    ``aggregate=True``: units that share a bus and every parameter are one row of the problem
    (controllers.opf.groups), so its size grows with the distinct units, not their number. set_data
    and plan stay per unit. Each member's heat is the row's plus a correction ``-K e`` of its state
    deviation ``e`` from the row's mean (LQR gain, summing to zero over the members), carried by the
    heat pump (heating or, on a day the forecast is above the band's middle, cooling; a TSEH house:
    its direct heater, no correction above the band's middle); the members' deviations follow from
    their measured states, so the row is bounded by its worst member: the comfort band and the
    carrying device's range less the largest correction. Discomfort is priced as ``count`` times the
    row's (worst member's) deviation; the plan's ``dev_low_k``/``dev_up_k`` are each member's own.
    """

    name = "building_hp"

    def __init__(self, bus, *, ci_kwh_per_k=0.8, ce_kwh_per_k=10.0, rie_k_per_kw=0.7,
                 rea_k_per_kw=8.0, ria_k_per_kw=10.0, aw_m2=5.0, ae_m2=1.0, p_hp_max_kw=3.0,
                 cop_0c=2.227, cop_slope_per_k=0.0642, p_cool_max_kw=0.0, eer_0c=7.394,
                 eer_slope_per_k=-0.1136, pf=1.0, discomfort_cost=100.0, aggregate=False, name=None):
        super().__init__()
        self.name = name or self.name
        self.aggregate, self.groups = bool(aggregate), None
        self.bus = np.atleast_1d(np.asarray(bus, dtype=int))
        n, own = self.n, type(self).__name__ + "."
        self.rc = {k: per_unit(own + k, v, n, 0, lo_open=True)
                   for k, v in dict(ci_kwh_per_k=ci_kwh_per_k, ce_kwh_per_k=ce_kwh_per_k,
                                    rie_k_per_kw=rie_k_per_kw, rea_k_per_kw=rea_k_per_kw,
                                    ria_k_per_kw=ria_k_per_kw).items()}
        self.rc.update(aw_m2=per_unit(own + "aw_m2", aw_m2, n, 0), ae_m2=per_unit(own + "ae_m2", ae_m2, n, 0))
        self.p_hp_max_kw = per_unit(own + "p_hp_max_kw", p_hp_max_kw, n, 0)
        self.cop_0c = per_unit(own + "cop_0c", cop_0c, n)
        self.cop_slope_per_k = per_unit(own + "cop_slope_per_k", cop_slope_per_k, n)
        self.p_cool_max_kw = per_unit(own + "p_cool_max_kw", p_cool_max_kw, n, 0)
        self.eer_0c = per_unit(own + "eer_0c", eer_0c, n)
        self.eer_slope_per_k = per_unit(own + "eer_slope_per_k", eer_slope_per_k, n)
        self.tan_phi = tan_phi(per_unit(own + "pf", pf, n, 0, 1, lo_open=True))
        self.discomfort_cost = float(check(own + "discomfort_cost", discomfort_cost, 0))

    # ------------------------------------------------------------ groups of identical units
    def _unit_params(self) -> dict[str, np.ndarray]:
        """Every per-unit parameter array (what a group's members share)."""
        return {**{f"rc.{k}": v for k, v in self.rc.items()}, **{k: getattr(self, k) for k in _HP_PARAMS}}

    def _pick_params(self, idx: np.ndarray) -> None:
        """Keep the parameters of units ``idx`` (a group's first members) as the rows'."""
        self.rc = {k: v[idx] for k, v in self.rc.items()}
        for k in _HP_PARAMS:
            setattr(self, k, getattr(self, k)[idx])

    def _group(self) -> None:
        self.groups = UnitGroups(self.bus, self._unit_params())
        self._pick_params(self.groups.first)
        self.bus = self.bus[self.groups.first]

    @property
    def n_units(self) -> int:
        return self.n if self.groups is None else self.groups.n_units

    def build(self, ctx: Context) -> None:
        if self.aggregate and self.groups is None:
            self._group()
        n, T, dt = self.n, ctx.T, ctx.dt_h
        self.dt_h, self.ctx = dt, ctx
        self.spec = make_spec(self.name, {
            "t_in0_c": (n, None, -50, 80), "t_env0_c": (n, None, -50, 80),
            "phi_int_kw": ((n, T), 0.0, 0, None),
            "t_low_c": ((n, T), 20.0, -50, 80), "t_up_c": ((n, T), 22.0, -50, 80),
        })
        par = {k: v[0] for k, v in self.spec.items()}
        t_out, ghi = ctx.shared("t_out_c"), ctx.shared("ghi_kw_m2")
        self.p_hp_kw = cp.Variable((n, T), nonneg=True, name=f"{self.name}.p_hp_kw")
        # COP affine in the forecast Parameter times a Variable: DPP (seed 002, cop_linear).
        self.cop = cols(self.cop_0c, 1) + cols(self.cop_slope_per_k, 1) @ cp.reshape(t_out, (1, T), order="C")
        self.q_hp_kw = cp.multiply(self.cop, self.p_hp_kw)
        self.constraints = [self.p_hp_kw <= cols(self.p_hp_max_kw, T)]
        self.eer = cols(self.eer_0c, 1) + cols(self.eer_slope_per_k, 1) @ cp.reshape(t_out, (1, T), order="C")
        if np.any(self.p_cool_max_kw > 0):
            self.p_cool_kw = cp.Variable((n, T), nonneg=True, name=f"{self.name}.p_cool_kw")
            self.constraints.append(self.p_cool_kw <= cols(self.p_cool_max_kw, T))
            self.q_cool_kw = cp.multiply(self.eer, self.p_cool_kw)
        else:
            self.p_cool_kw = self.q_cool_kw = cp.Constant(np.zeros((n, T)))
        self.phi_heat_kw = self.q_hp_kw - self.q_cool_kw + self._extra_heat_kw(ctx)
        self.t_in_c = cp.Variable((n, T + 1), name=f"{self.name}.t_in_c")
        self.t_env_c = cp.Variable((n, T + 1), name=f"{self.name}.t_env_c")
        a, b = rc_3r2c_matrices(**self.rc)
        ad, bd = discretize_zoh(a, b, dt)  # exact ZOH, the plant's discretization
        self._ad, self._bd = ad, bd
        inputs = (_row(t_out, n), _row(ghi, n), par["phi_int_kw"], self.phi_heat_kw)  # RC_INPUTS order
        x = (self.t_in_c, self.t_env_c)
        for i in range(2):  # the two state equations (Ti, Te)
            rhs = sum(cp.multiply(cols(ad[:, i, j], T), x[j][:, :-1]) for j in range(2))
            rhs = rhs + sum(cp.multiply(cols(bd[:, i, m], T), u) for m, u in enumerate(inputs))
            self.constraints.append(x[i][:, 1:] == rhs)
        self.dev_low_k = cp.Variable((n, T), nonneg=True, name=f"{self.name}.dev_low_k")
        self.dev_up_k = cp.Variable((n, T), nonneg=True, name=f"{self.name}.dev_up_k")
        self.constraints += [
            self.t_in_c[:, 0] == par["t_in0_c"], self.t_env_c[:, 0] == par["t_env0_c"],
            self.t_in_c[:, 1:] + self.dev_low_k >= par["t_low_c"],
            self.t_in_c[:, 1:] - self.dev_up_k <= par["t_up_c"],
        ]
        self.cost = self.discomfort_cost * dt * self._total(self.dev_low_k + self.dev_up_k)
        self.cost = self.cost + self._extra_cost(ctx)
        self.p_mw = self._p_kw() / 1000.0
        if self.groups is not None:
            self.p_mw = cp.multiply(cols(self.groups.count, T), self.p_mw)
            self._build_groups(ctx)
        self.q_mvar = cp.multiply(cols(self.tan_phi, T), self.p_mw)

    def _total(self, x: cp.Expression) -> cp.Expression:
        """Sum over units of a row quantity (n, T): each row counts its members."""
        return cp.sum(x) if self.groups is None else cp.sum(self.groups.count.astype(float) @ x)

    def _channels(self) -> list[tuple[str, cp.Expression, cp.Expression]]:
        """(name, heat it carries (n, T) kW, its capacity) of the devices that carry a member's
        heat correction: the heat pump heating, and cooling if it can."""
        T = self.ctx.T
        out = [("heat", self.q_hp_kw, cp.multiply(self.cop, cols(self.p_hp_max_kw, T)))]
        if np.any(self.p_cool_max_kw > 0):
            out.append(("cool", self.q_cool_kw, cp.multiply(self.eer, cols(self.p_cool_max_kw, T))))
        return out

    def _build_groups(self, ctx: Context) -> None:
        """Bounds of each row by its worst member: a carrying device at least the largest negative
        correction and at most its capacity less the largest positive one (Parameters set by
        set_data)."""
        n, T = self.n, ctx.T
        self.unit_data = {k: self.groups.expand(p.value) for k, (p, _, _) in self.spec.items()
                          if p.ndim and p.value is not None}  # per-unit defaults
        self.k_gain = lqr_gain(self._ad, self._bd[:, :, 3])
        self.chan = {}
        for key, heat, cap in self._channels():
            lo, cut = (cp.Parameter((n, T), nonneg=True, name=f"{self.name}.{key}_{b}_kw", value=np.zeros((n, T)))
                       for b in ("lo", "cut"))
            self.constraints += [heat >= lo, heat + cut <= cap]
            self.chan[key] = (lo, cut)

    def _extra_heat_kw(self, ctx: Context) -> cp.Expression:
        """Heat to the air node from devices other than the heat pump (none here)."""
        return cp.Constant(np.zeros((self.n, ctx.T)))

    def _extra_cost(self, ctx: Context) -> cp.Expression:
        return cp.Constant(0.0)

    def _p_kw(self) -> cp.Expression:
        """Electric power drawn per unit (n, T) in kW."""
        return self.p_hp_kw + self.p_cool_kw

    def set_data(self, **data) -> None:
        if self.groups is None:
            return set_params(type(self).__name__, self.spec, data)
        owner = type(self).__name__
        unknown = set(data) - set(self.spec)
        if unknown:
            set_params(owner, self.spec, data)  # raises, naming the keys
        for key, value in data.items():
            param, lo, hi = self.spec[key]
            if not param.ndim:
                set_params(owner, self.spec, {key: value})
                continue
            self.unit_data[key] = checked_value(owner, key, value, (self.n_units,) + param.shape[1:], lo, hi)
        missing = [k for k in self._state_keys() if k not in self.unit_data]
        if missing:
            raise ConfigError(f"{owner}.set_data: aggregated units need {missing} (per unit) first")
        set_params(owner, self.spec, self._reduce())

    def _state_keys(self) -> tuple[str, ...]:
        return ("t_in0_c", "t_env0_c")

    def _member_heat_kw(self) -> np.ndarray | None:
        """Known heat a member receives beyond its row's, besides the correction (n_units, T); None."""
        return None

    def _carrier(self) -> np.ndarray:
        """Per row, the channel that carries the corrections ("" = none): cooling where the day's
        forecast mean is above the comfort band's middle and the row can cool, else heating."""
        t_out = self.ctx.params["t_out_c"].value
        mid = self.groups.mean((self.unit_data["t_low_c"] + self.unit_data["t_up_c"]) / 2).mean(axis=1)
        warm = t_out is not None and float(np.mean(t_out)) > mid
        heat = np.where(self.p_hp_max_kw > 0, "heat", "")
        return np.where(warm & (self.p_cool_max_kw > 0), "cool", np.where(warm, "", heat))

    def _carrier_capacity_kw(self) -> np.ndarray:
        """Heat range (kW) of each row's carrier over the horizon (inf without one)."""
        t_out = self.ctx.params["t_out_c"].value
        t = np.asarray(t_out if t_out is not None else 0.0, float)
        heat = np.min(self.cop_0c[:, None] + self.cop_slope_per_k[:, None] * t, axis=-1) * self.p_hp_max_kw
        cool = np.min(self.eer_0c[:, None] + self.eer_slope_per_k[:, None] * t, axis=-1) * self.p_cool_max_kw
        return np.where(self.carrier == "heat", heat, np.where(self.carrier == "cool", cool, np.inf))

    def _reduce(self) -> dict[str, np.ndarray]:
        """Row data from the units': mean states and gains; members' deviations under the
        correction, and from them the worst member's band and the carrying devices' bounds."""
        G, T = self.groups, self.ctx.T
        r = G.row
        x0 = np.stack([self.unit_data["t_in0_c"], self.unit_data["t_env0_c"]], axis=1)
        phi = self.unit_data["phi_int_kw"]
        xm, phim = G.mean(x0), G.mean(phi)
        w = [phi - phim[r]]
        extra = self._member_heat_kw()
        if extra is not None:
            w.append(extra)
        self.carrier = self._carrier()
        k_gain = np.where((self.carrier != "")[:, None], self.k_gain, 0.0)
        bd, cap = self._bd[r], self._carrier_capacity_kw()

        def roll(k_gain):
            e, u = member_deviations(self._ad[r], bd[:, :, 3], k_gain[r], x0 - xm[r], T,
                                     bd[:, :, 2:2 + len(w)], np.stack(w, axis=1))
            return e, u, (G.max(u) + G.max(-u)).max(axis=1)  # the corrections' span per row

        for _ in range(CORRECTION_TRIES):  # a gain whose corrections span at most half the carrier's range
            e, u, span = roll(k_gain)
            if np.all(span <= cap / 2 + 1e-9):
                break
            k_gain = k_gain * np.minimum(1.0, cap / 2 / np.maximum(span, 1e-12))[:, None] * 0.95
        else:
            e, u, _ = roll(np.where((span <= cap / 2 + 1e-9)[:, None], k_gain, 0.0))  # none where it still would not fit
        self.dev = {"e": e, "u": u}
        out = {"t_in0_c": xm[:, 0], "t_env0_c": xm[:, 1], "phi_int_kw": phim,
               "t_low_c": G.max(self.unit_data["t_low_c"] - e[:, 0, 1:]),
               "t_up_c": G.min(self.unit_data["t_up_c"] - e[:, 0, 1:])}
        for key, (lo, cut) in self.chan.items():
            on = (self.carrier == key)[:, None]
            sign = -1.0 if key == "cool" else 1.0  # cooling carries a positive correction as less cooling
            lo.value = np.where(on, np.maximum(G.max(-sign * u), 0.0), 0.0)
            cut.value = np.where(on, np.maximum(G.max(sign * u), 0.0), 0.0)
        return out

    def plan(self) -> dict[str, np.ndarray]:
        if self.groups is None:
            return self._plan_rows()
        G, e, u = self.groups, self.dev["e"], self.dev["u"]
        out = {k: G.expand(v) for k, v in self._plan_rows().items()}
        car = G.expand(self.carrier)[:, None]
        heat, cool = np.where(car == "heat", u, 0.0), np.where(car == "cool", u, 0.0)
        out["p_hp_kw"] = out["p_hp_kw"] + heat / out["cop"]
        out["q_hp_kw"] = out["q_hp_kw"] + heat
        out["p_cool_kw"] = out["p_cool_kw"] - cool / out["eer"]
        out["q_cool_kw"] = out["q_cool_kw"] - cool
        out["phi_heat_kw"] = out["phi_heat_kw"] + u
        out["t_in_c"] = out["t_in_c"] + e[:, 0]
        out["t_env_c"] = out["t_env_c"] + e[:, 1]
        t = out["t_in_c"][:, 1:]
        out["dev_low_k"] = np.maximum(self.unit_data["t_low_c"] - t, 0.0)
        out["dev_up_k"] = np.maximum(t - self.unit_data["t_up_c"], 0.0)
        out["discomfort_kh"] = (out["dev_low_k"] + out["dev_up_k"]).sum(axis=1) * self.dt_h
        return out

    def _plan_rows(self) -> dict[str, np.ndarray]:
        dev = self.dev_low_k.value + self.dev_up_k.value
        return {
            "p_hp_kw": self.p_hp_kw.value, "cop": self.cop.value, "q_hp_kw": self.q_hp_kw.value,
            "p_cool_kw": self.p_cool_kw.value, "eer": self.eer.value, "q_cool_kw": self.q_cool_kw.value,
            "phi_heat_kw": self.phi_heat_kw.value, "t_in_c": self.t_in_c.value,
            "t_env_c": self.t_env_c.value, "dev_low_k": self.dev_low_k.value,
            "dev_up_k": self.dev_up_k.value, "discomfort_kh": dev.sum(axis=1) * self.dt_h,
        }


class TSEHBlock(BuildingHPBlock):
    """Buildings heated by thermal storage electric heating (seed 001), optionally with a heat pump.

    Heat coupling choice: the TSEH heats the block's own 3R2C building (the air node), as in
    simulators.building.BuildingFleet, rather than meeting a fixed heat demand, so comfort and
    pre-heating stay in the model. Per unit and period (seed 001, "TSEH power" and "heat storage"
    constraints, with the exact storage step of simulators.thermal.storage_step):

        p_tseh = p_eh + p_st                              electric power, kW
        e_st[k+1] = decay e_st[k] + gain (eta_st p_st - q_rel)     0 <= e_st <= e_st_max
        heat to air = eta_eh p_eh + q_rel + q_loss,  q_loss = standing loss over the step / dt
        p_st <= p_st_max m,  q_rel <= q_rel_max (1 - m)      (m = st_mode, a Discrete, relaxed)
        e_st[T] = e_st_end  (equal start and end level: e_st_end defaults to e_st0)
        margin_dn <= p_tseh <= p_eh_max + p_st_max - margin_up   (regulation margins kept for RT)
        |p_tseh - p_ref| <= adj_max,  cost adj_cost_per_mwh * |p_tseh - p_ref| dt  (seed 001 k_EH)

    One mode variable m (1 = may store, 0 = may release) is seed 001's pair B_abs + B_relea <= 1
    with "both off" folded into either mode; it rounds well: storing only leaves m in
    [p_st/p_st_max, 1], releasing only in [0, 1 - q_rel/q_rel_max], so an interior solution lies
    on the correct side of 0.5 (two gated binaries would sit at p/p_max and round small flows off),
    and :func:`mode_rule` rounds m from the flows themselves.
    The storage loss goes to the room (physics.md section 3: a storage heater's loss heats the room),
    as the plant adds it to Ti. The regulation margins are power headroom only (seed 001); whether
    the storage can absorb the extra energy of a called margin is not modelled.

    Constructor: building parameters as BuildingHPBlock (``p_hp_max_kw`` defaults to 0: no heat
    pump), ``p_eh_max_kw``, ``p_st_max_kw``, ``e_st_max_kwh``, ``q_rel_max_kw``, ``eta_eh``,
    ``eta_st``, ``st_loss_per_h`` (scalars or (n,)). set_data keys (besides the building's):
    e_st0_kwh (n,), e_st_end_kwh (n,), margin_up_kw, margin_dn_kw (n, T) (default 0), p_ref_kw
    (n, T) (default 0), adj_max_kw (n, T) (default no limit), adj_cost_per_mwh scalar (default 0).
    plan keys (besides the building's): p_eh_kw, p_st_kw, q_rel_kw, q_loss_kw, p_tseh_kw, st_mode
    (n, T); e_st_kwh (n, T+1).
    """

    name = "tseh"

    def __init__(self, bus, *, p_eh_max_kw=3.0, p_st_max_kw=3.0, e_st_max_kwh=20.0, q_rel_max_kw=3.0,
                 eta_eh=0.98, eta_st=0.95, st_loss_per_h=0.01, p_hp_max_kw=0.0, **building):
        super().__init__(bus, p_hp_max_kw=p_hp_max_kw, **building)
        n = self.n
        self.tseh = _sizes_and_efficiencies(
            "TSEHBlock", n, dict(p_eh_max_kw=p_eh_max_kw, p_st_max_kw=p_st_max_kw, e_st_max_kwh=e_st_max_kwh,
                                 q_rel_max_kw=q_rel_max_kw, st_loss_per_h=st_loss_per_h),
            dict(eta_eh=eta_eh, eta_st=eta_st))

    def _unit_params(self) -> dict[str, np.ndarray]:
        return {**super()._unit_params(), **{f"tseh.{k}": v for k, v in self.tseh.items()}}

    def _pick_params(self, idx: np.ndarray) -> None:
        super()._pick_params(idx)
        self.tseh = {k: v[idx] for k, v in self.tseh.items()}

    def _extra_heat_kw(self, ctx: Context) -> cp.Expression:
        n, T, dt, d = self.n, ctx.T, ctx.dt_h, self.tseh
        p_max = d["p_eh_max_kw"] + d["p_st_max_kw"]
        self.spec.update(make_spec(self.name, {
            "e_st0_kwh": (n, None, 0, None), "e_st_end_kwh": (n, None, 0, None),
            "margin_up_kw": ((n, T), 0.0, 0, None), "margin_dn_kw": ((n, T), 0.0, 0, None),
            "p_ref_kw": ((n, T), 0.0, 0, None), "adj_max_kw": ((n, T), BIG_KW, 0, None),
            "adj_cost_per_mwh": ((), 0.0, 0, None),
        }))
        par = {k: v[0] for k, v in self.spec.items()}
        var = lambda key, shape: cp.Variable(shape, nonneg=True, name=f"{self.name}.{key}")  # noqa: E731
        self.p_eh_kw, self.p_st_kw, self.q_rel_kw = (var(k, (n, T)) for k in ("p_eh_kw", "p_st_kw", "q_rel_kw"))
        self.e_st_kwh = var("e_st_kwh", (n, T + 1))
        self.adj_kw = var("adj_kw", (n, T))  # |p_tseh - p_ref| epigraph
        self.st_mode = make_discrete(self.name, "st_mode", (n, T),
                                     *mode_rule(self.p_st_kw, d["p_st_max_kw"], self.q_rel_kw, d["q_rel_max_kw"]))
        self.discrete = [self.st_mode]
        m = self.st_mode.var
        decay, gain = first_order_zoh(d["st_loss_per_h"], dt)
        e, net = self.e_st_kwh, cp.multiply(cols(d["eta_st"], T), self.p_st_kw) - self.q_rel_kw
        self.p_tseh_kw = self.p_eh_kw + self.p_st_kw
        self.q_loss_kw = (e[:, :-1] - e[:, 1:]) / dt + net  # storage_step's "lost" per hour
        self.constraints += [
            e[:, 1:] == cp.multiply(cols(decay, T), e[:, :-1]) + cp.multiply(cols(gain, T), net),
            e[:, 0] == par["e_st0_kwh"], e[:, T] == par["e_st_end_kwh"],
            e <= cols(d["e_st_max_kwh"], T + 1),
            self.p_eh_kw <= cols(d["p_eh_max_kw"], T),
            self.p_st_kw <= cp.multiply(cols(d["p_st_max_kw"], T), m),
            self.q_rel_kw <= cp.multiply(cols(d["q_rel_max_kw"], T), 1 - m),
            m >= self.st_mode.lo, m <= self.st_mode.hi,
            self.p_tseh_kw >= par["margin_dn_kw"],
            self.p_tseh_kw <= cols(p_max, T) - par["margin_up_kw"],
            self.adj_kw >= self.p_tseh_kw - par["p_ref_kw"],
            self.adj_kw >= par["p_ref_kw"] - self.p_tseh_kw,
            self.adj_kw <= par["adj_max_kw"],
        ]
        if self.groups is not None:  # each member's store within its own range (see _reduce)
            self.e_lo, self.e_cut = (cp.Parameter((n, T + 1), nonneg=True, name=f"{self.name}.e_st_{b}_kwh",
                                                  value=np.zeros((n, T + 1))) for b in ("lo", "cut"))
            self.constraints += [e >= self.e_lo, e + self.e_cut <= cols(d["e_st_max_kwh"], T + 1)]
        return cp.multiply(cols(d["eta_eh"], T), self.p_eh_kw) + self.q_rel_kw + self.q_loss_kw

    def _extra_cost(self, ctx: Context) -> cp.Expression:
        return self.spec["adj_cost_per_mwh"][0] * (ctx.dt_h / 1000.0) * cp.sum(self.adj_kw)

    def _p_kw(self) -> cp.Expression:
        return super()._p_kw() + self.p_tseh_kw

    def _channels(self) -> list[tuple[str, cp.Expression, cp.Expression]]:
        T, d = self.ctx.T, self.tseh
        return [("eh", cp.multiply(cols(d["eta_eh"], T), self.p_eh_kw), cols(d["eta_eh"] * d["p_eh_max_kw"], T))]

    def _carrier_capacity_kw(self) -> np.ndarray:
        d = self.tseh
        return np.where(self.carrier == "eh", d["eta_eh"] * d["p_eh_max_kw"], np.inf)

    def _carrier(self) -> np.ndarray:
        """The direct heater carries the corrections, except on a day above the band's middle."""
        return np.where(super()._carrier() == "cool", "", "eh")

    def _state_keys(self) -> tuple[str, ...]:
        return super()._state_keys() + ("e_st0_kwh",)

    def _store_deviation(self) -> np.ndarray:
        """Members' store minus their row's mean (n_units, T+1): the equal flows leave the initial
        difference decaying by the standing loss."""
        G, T = self.groups, self.ctx.T
        e0 = self.unit_data["e_st0_kwh"]
        decay, _ = first_order_zoh(self.tseh["st_loss_per_h"], self.ctx.dt_h)
        return (e0 - G.mean(e0)[G.row])[:, None] * G.expand(decay)[:, None] ** np.arange(T + 1)

    def _member_heat_kw(self) -> np.ndarray:
        o = self._store_deviation()
        return (o[:, :-1] - o[:, 1:]) / self.ctx.dt_h  # its own standing loss, to the room

    def _reduce(self) -> dict[str, np.ndarray]:
        out = super()._reduce()
        G, o, u = self.groups, self._store_deviation(), self.dev["u"]
        dp = np.where(G.expand(self.carrier)[:, None] == "eh", u, 0.0) / G.expand(self.tseh["eta_eh"])[:, None]
        ref = self.unit_data["p_ref_kw"] - dp
        out.update(e_st0_kwh=G.mean(self.unit_data["e_st0_kwh"]), e_st_end_kwh=G.mean(self.unit_data["e_st_end_kwh"]),
                   margin_dn_kw=np.maximum(G.max(self.unit_data["margin_dn_kw"] - dp), 0.0),
                   margin_up_kw=np.maximum(G.max(self.unit_data["margin_up_kw"] + dp), 0.0),
                   p_ref_kw=np.maximum(G.mean(ref), 0.0),
                   adj_max_kw=np.maximum(G.min(self.unit_data["adj_max_kw"] - np.abs(ref - G.mean(ref)[G.row])), 0.0))
        self.e_lo.value = np.maximum(G.max(-o), 0.0)
        self.e_cut.value = np.maximum(G.max(o), 0.0)
        self.dev["o"], self.dev["dp"] = o, dp
        return out

    def set_data(self, **data) -> None:
        if "e_st0_kwh" in data and "e_st_end_kwh" not in data:
            data = {**data, "e_st_end_kwh": data["e_st0_kwh"]}  # seed 001: equal start and end level
        e_max = self.tseh["e_st_max_kwh"] if self.groups is None else self.groups.expand(self.tseh["e_st_max_kwh"])
        for key in ("e_st0_kwh", "e_st_end_kwh"):
            if key in data:
                check(f"TSEHBlock.{key} - e_st_max_kwh",
                      check_shape(f"TSEHBlock.{key}", data[key], self.n_units) - e_max, hi=0)
        super().set_data(**data)

    def _plan_rows(self) -> dict[str, np.ndarray]:
        out = super()._plan_rows()
        out.update({
            "p_eh_kw": self.p_eh_kw.value, "p_st_kw": self.p_st_kw.value, "q_rel_kw": self.q_rel_kw.value,
            "q_loss_kw": self.q_loss_kw.value, "p_tseh_kw": self.p_tseh_kw.value,
            "e_st_kwh": self.e_st_kwh.value, "st_mode": self.st_mode.var.value,
        })
        return out

    def plan(self) -> dict[str, np.ndarray]:
        out = super().plan()
        if self.groups is not None:
            o, dp = self.dev["o"], self.dev["dp"]
            out["p_eh_kw"] = out["p_eh_kw"] + dp
            out["p_tseh_kw"] = out["p_tseh_kw"] + dp
            out["e_st_kwh"] = out["e_st_kwh"] + o
            out["q_loss_kw"] = out["q_loss_kw"] + (o[:, :-1] - o[:, 1:]) / self.ctx.dt_h
        return out


# ----------------------------------------------------------------------------- heat hub

def chp_linear_fit(p_chp_max_kw) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares lines through seed 003's Table I (simulators.thermal.CHP_TABLE_KW), scaled to
    ``p_chp_max_kw`` as chp_operating_point scales it: q_chp = a_q p + b_q on, gas = a_g p + b_g on.

    Returns (a_q, b_q, a_g, b_g) of shape (n,). Largest error against the plant's interpolation:
    0.07 kW heat (0.5 %) and 0.27 kW gas (1.4 %) for the rated 6 kW unit, at 4.5 kW.
    """
    scale = np.asarray(p_chp_max_kw, float) / CHP_TABLE_KW[-1, 0]
    a_q, b_q = np.polyfit(CHP_TABLE_KW[:, 0], CHP_TABLE_KW[:, 1], 1)
    a_g, b_g = np.polyfit(CHP_TABLE_KW[:, 0], CHP_TABLE_KW[:, 2], 1)
    one = np.ones_like(scale)
    return a_q * one, b_q * scale, a_g * one, b_g * scale


class HeatHubBlock(Block):
    """Home heat hubs (seed 003): micro-CHP, thermal tank, electric boiler, optional gas boiler.

    The tank is the heat bus, as in simulators.heat_hub.HeatHubFleet (exact storage step):

        e_tank[k+1] = decay e_tank[k] + gain (q_chp + eta_eb p_eb + q_gb + q_unmet - q_dump - q_demand)
        0 <= e_tank <= e_tank_max,  e_tank[T] >= e_tank_end
        chp_min_frac p_chp_max on <= p_chp <= p_chp_max on     (seed 003 eq. 7-8; on Discrete,
                                                    rounded as the plant does: on iff p_chp >= half the minimum)
        q_chp = a_q p_chp + b_q on,  gas = a_g p_chp + b_g on + q_gb / eta_gb   (chp_linear_fit)

    ``q_unmet_kw`` >= 0 is heat demand the hub cannot cover, priced at ``unmet_cost_per_mwh`` so a
    short hub is reported, not infeasible; ``q_dump_kw`` >= 0 is heat a full tank cannot take (the
    plant's q_dumped_kw), so a CHP fixed on at its minimum output stays feasible; it costs
    ``dump_cost_per_mwh`` (a small tie-break, so heat is dumped only when the tank is full, as in the plant). Cost: gas at ``gas_price_per_mwh`` minus the CHP
    remuneration ``chp_revenue_per_mwh`` on its electric output (seed 003 eq. 29, R_CHP,el; the
    grid energy price of p_mw = (p_eb - p_chp)/1000 is the core's).

    Constructor: ``bus`` (n,); (scalars or (n,), defaults of simulators.heat_hub) e_tank_max_kwh,
    tank_loss_per_h, p_eb_max_kw, eta_eb, p_chp_max_kw, chp_min_frac, q_gb_max_kw (0: no gas
    boiler), eta_gb, pf; unmet_cost_per_mwh, dump_cost_per_mwh; name.
    set_data keys: e_tank0_kwh (n,), e_tank_end_kwh (n,) (default 0), q_demand_kw (n, T),
    gas_price_per_mwh (T,), chp_revenue_per_mwh (T,) (default 0).
    plan keys: p_chp_kw, chp_on, q_chp_kw, p_eb_kw, q_gb_kw, gas_kw, q_unmet_kw, q_dump_kw, p_kw (n, T);
    e_tank_kwh (n, T+1).
    """

    name = "heat_hub"

    def __init__(self, bus, *, e_tank_max_kwh=20.0, tank_loss_per_h=0.005, p_eb_max_kw=6.0, eta_eb=1.0,
                 p_chp_max_kw=6.0, chp_min_frac=0.5, q_gb_max_kw=0.0, eta_gb=0.92, pf=1.0,
                 unmet_cost_per_mwh=5000.0, dump_cost_per_mwh=1.0, name=None):
        super().__init__()
        self.name = name or self.name
        self.bus = np.atleast_1d(np.asarray(bus, dtype=int))
        n = self.n
        self.d = _sizes_and_efficiencies(
            "HeatHubBlock", n, dict(e_tank_max_kwh=e_tank_max_kwh, tank_loss_per_h=tank_loss_per_h,
                                    p_eb_max_kw=p_eb_max_kw, p_chp_max_kw=p_chp_max_kw, q_gb_max_kw=q_gb_max_kw),
            dict(eta_eb=eta_eb, eta_gb=eta_gb))
        self.d["chp_min_frac"] = per_unit("HeatHubBlock.chp_min_frac", chp_min_frac, n, 0, 1)
        self.tan_phi = tan_phi(per_unit("HeatHubBlock.pf", pf, n, 0, 1, lo_open=True))
        self.unmet_cost_per_mwh = float(check("HeatHubBlock.unmet_cost_per_mwh", unmet_cost_per_mwh, 0))
        self.dump_cost_per_mwh = float(check("HeatHubBlock.dump_cost_per_mwh", dump_cost_per_mwh, 0))

    def build(self, ctx: Context) -> None:
        n, T, dt, d = self.n, ctx.T, ctx.dt_h, self.d
        self.spec = make_spec(self.name, {
            "e_tank0_kwh": (n, None, 0, None), "e_tank_end_kwh": (n, 0.0, 0, None),
            "q_demand_kw": ((n, T), None, 0, None),
            "gas_price_per_mwh": (T, None, None, None), "chp_revenue_per_mwh": (T, 0.0, None, None),
        })
        par = {k: v[0] for k, v in self.spec.items()}
        var = lambda key, shape: cp.Variable(shape, nonneg=True, name=f"{self.name}.{key}")  # noqa: E731
        self.p_chp_kw, self.p_eb_kw, self.q_gb_kw, self.q_unmet_kw, self.q_dump_kw = (
            var(k, (n, T)) for k in ("p_chp_kw", "p_eb_kw", "q_gb_kw", "q_unmet_kw", "q_dump_kw"))
        self.e_tank_kwh = var("e_tank_kwh", (n, T + 1))
        p_off = d["chp_min_frac"] * d["p_chp_max_kw"] / 2  # the plant's rule: below this, off
        self.chp_on = make_discrete(self.name, "chp_on", (n, T), lambda on: self.p_chp_kw.value >= p_off[:, None])
        self.discrete = [self.chp_on]
        on, e = self.chp_on.var, self.e_tank_kwh
        a_q, b_q, a_g, b_g = chp_linear_fit(d["p_chp_max_kw"])
        self.q_chp_kw = cp.multiply(cols(a_q, T), self.p_chp_kw) + cp.multiply(cols(b_q, T), on)
        self.gas_kw = (cp.multiply(cols(a_g, T), self.p_chp_kw) + cp.multiply(cols(b_g, T), on)
                       + cp.multiply(cols(1 / d["eta_gb"], T), self.q_gb_kw))
        q_in = (self.q_chp_kw + cp.multiply(cols(d["eta_eb"], T), self.p_eb_kw) + self.q_gb_kw
                + self.q_unmet_kw - self.q_dump_kw - par["q_demand_kw"])
        decay, gain = first_order_zoh(d["tank_loss_per_h"], dt)
        self.constraints = [
            e[:, 1:] == cp.multiply(cols(decay, T), e[:, :-1]) + cp.multiply(cols(gain, T), q_in),
            e[:, 0] == par["e_tank0_kwh"], e[:, T] >= par["e_tank_end_kwh"],
            e <= cols(d["e_tank_max_kwh"], T + 1),
            self.p_chp_kw >= cp.multiply(cols(d["chp_min_frac"] * d["p_chp_max_kw"], T), on),
            self.p_chp_kw <= cp.multiply(cols(d["p_chp_max_kw"], T), on),
            on >= self.chp_on.lo, on <= self.chp_on.hi,
            self.p_eb_kw <= cols(d["p_eb_max_kw"], T), self.q_gb_kw <= cols(d["q_gb_max_kw"], T),
        ]
        self.p_kw = self.p_eb_kw - self.p_chp_kw
        self.p_mw = self.p_kw / 1000.0
        self.q_mvar = cp.multiply(cols(self.tan_phi, T), self.p_mw)
        mwh = dt / 1000.0
        self.cost = mwh * (cp.sum(self.gas_kw, axis=0) @ par["gas_price_per_mwh"]
                           - cp.sum(self.p_chp_kw, axis=0) @ par["chp_revenue_per_mwh"]
                           + self.unmet_cost_per_mwh * cp.sum(self.q_unmet_kw)
                           + self.dump_cost_per_mwh * cp.sum(self.q_dump_kw))

    def set_data(self, **data) -> None:
        for key in ("e_tank0_kwh", "e_tank_end_kwh"):
            if key in data:
                check(f"HeatHubBlock.{key} - e_tank_max_kwh",
                      check_shape(f"HeatHubBlock.{key}", data[key], self.n) - self.d["e_tank_max_kwh"], hi=0)
        set_params("HeatHubBlock", self.spec, data)

    def plan(self) -> dict[str, np.ndarray]:
        return {
            "p_chp_kw": self.p_chp_kw.value, "chp_on": self.chp_on.var.value, "q_chp_kw": self.q_chp_kw.value,
            "p_eb_kw": self.p_eb_kw.value, "q_gb_kw": self.q_gb_kw.value, "gas_kw": self.gas_kw.value,
            "q_unmet_kw": self.q_unmet_kw.value, "q_dump_kw": self.q_dump_kw.value, "p_kw": self.p_kw.value, "e_tank_kwh": self.e_tank_kwh.value,
        }
