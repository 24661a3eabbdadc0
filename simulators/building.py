"""Buildings: 3R2C thermal envelope, air-source heat pump and thermal storage electric heating.

One :class:`BuildingFleet` steps N buildings as arrays. Each building has an air-source heat pump
(``p_hp_max_kw`` = 0 for none) and optionally a TSEH unit (seed 001: direct electric heating,
storage charging, heat release; ``e_st_max_kwh`` = 0 for none). Physics in simulators.thermal,
discretized exactly with simulators.rc (zero-order hold over the plant step).

Setpoints (kW): ``p_hp_kw`` heat-pump electric power, ``p_eh_kw`` TSEH direct heating,
``p_st_kw`` TSEH storage charging, ``q_rel_kw`` TSEH heat release. A NaN setpoint (the default
until a controller sends one) means the unit runs its own local control, as a real unit does
without an aggregator: a hysteresis thermostat for heat pump and release, and a night-valley
timer for TSEH charging (the "uncoordinated" behaviour of the seeds).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError, DataError, check, check_shape
from simulators.fleet import Fleet, or_local, row_at, tan_phi
from simulators.rc import discretize_zoh, first_order_zoh
from simulators.thermal import (cop_linear, cop_staffell_ashp, rc_3r2c_matrices, storage_step,
                                supply_temp_c)

#: Default parameters of a 150 m2 single-family house (physics.md section 1, est.: UA about 215 W/K,
#: time constants about 0.5 h and 40 h) and its heating devices.
DEFAULTS = dict(
    ci_kwh_per_k=0.8, ce_kwh_per_k=10.0, rie_k_per_kw=0.7, rea_k_per_kw=8.0, ria_k_per_kw=10.0,
    aw_m2=5.0, ae_m2=1.0, phi_int_kw=0.3, t_low_c=20.0, t_up_c=22.0, t_in0_c=21.0, t_env0_c=None,
    p_hp_max_kw=3.0, pf=1.0, deadband_k=0.5,
    p_eh_max_kw=0.0, p_st_max_kw=0.0, e_st_max_kwh=0.0, q_rel_max_kw=0.0, eta_eh=0.98,
    eta_st=0.95, st_loss_per_h=0.01, e_st0_kwh=0.0, valley_start_h=23.0, valley_end_h=7.0,
    cop_0c=np.nan, cop_slope_per_k=np.nan,
)


class BuildingFleet(Fleet):
    """N buildings with heat pump and optional TSEH; inputs and outputs in kW and degC.

    ``weather``: DataFrame indexed by seconds since start with ``t_out_c`` and ``ghi_w_m2``,
    covering the run. ``start``: calendar time of t = 0 (for the TSEH valley timer).
    Other parameters: see :data:`DEFAULTS` (scalars or length-n sequences). Heat-pump COP: the
    Staffell curve at the heating-curve supply temperature, or, where ``cop_0c`` and
    ``cop_slope_per_k`` are given (not NaN), the line cop_0c + cop_slope_per_k t_out_c
    (simulators.thermal.cop_linear; seed 002: 3.51 at 20 degC, 1.97 at -4 degC).
    """

    PARAMS = tuple(DEFAULTS)
    INPUTS = {"p_hp_kw": np.nan, "p_eh_kw": np.nan, "p_st_kw": np.nan, "q_rel_kw": np.nan}
    OUTPUTS = ("t_in_c", "t_env_c", "t_out_c", "p_mw", "q_mvar", "p_hp_kw", "q_hp_kw", "cop",
               "p_eh_kw", "p_st_kw", "q_rel_kw", "e_st_kwh", "discomfort_kh")

    def __init__(self, n: int, weather: pd.DataFrame, start: pd.Timestamp | str = "2024-01-15",
                 **params):
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise ConfigError(f"BuildingFleet: unknown parameter(s) {sorted(unknown)}; "
                              f"allowed: {sorted(DEFAULTS)}")
        self.n = int(check("BuildingFleet.n", n, 1))
        p = {**DEFAULTS, **params}
        if p["t_env0_c"] is None:
            p["t_env0_c"] = p["t_in0_c"]
        v = {k: check_shape(f"BuildingFleet.{k}", p[k], self.n) for k in DEFAULTS}
        for k in ("ci_kwh_per_k", "ce_kwh_per_k", "rie_k_per_kw", "rea_k_per_kw", "ria_k_per_kw"):
            check(f"BuildingFleet.{k}", v[k], 0, lo_open=True)
        for k in ("aw_m2", "ae_m2", "phi_int_kw", "p_hp_max_kw", "p_eh_max_kw", "p_st_max_kw",
                  "e_st_max_kwh", "q_rel_max_kw", "st_loss_per_h", "deadband_k"):
            check(f"BuildingFleet.{k}", v[k], 0)
        for k in ("eta_eh", "eta_st", "pf"):
            check(f"BuildingFleet.{k}", v[k], 0, 1, lo_open=True)
        for k in ("valley_start_h", "valley_end_h"):
            check(f"BuildingFleet.{k}", v[k], 0, 24)
        if np.any(np.isnan(v["cop_0c"]) != np.isnan(v["cop_slope_per_k"])):
            raise ConfigError("BuildingFleet.cop_0c and cop_slope_per_k: give both or neither per unit")
        linear = ~np.isnan(v["cop_0c"])
        check("BuildingFleet.cop_0c", v["cop_0c"][linear], 0, lo_open=True)
        check("BuildingFleet.t_up_c - t_low_c", v["t_up_c"] - v["t_low_c"], 0)
        check("BuildingFleet.e_st0_kwh", v["e_st0_kwh"] - v["e_st_max_kwh"], hi=0)
        check("BuildingFleet.e_st0_kwh", v["e_st0_kwh"], 0)
        self.p = v
        self.a, self.b = rc_3r2c_matrices(v["ci_kwh_per_k"], v["ce_kwh_per_k"], v["rie_k_per_kw"],
                                          v["rea_k_per_kw"], v["ria_k_per_kw"], v["aw_m2"], v["ae_m2"])
        self._dt_h = None
        self.x = np.stack([v["t_in0_c"], v["t_env0_c"]], axis=1)  # (n, 2)
        self.e_st = v["e_st0_kwh"].copy()
        self.discomfort_kh = np.zeros(self.n)
        self.heating = np.zeros(self.n, bool)  # thermostat state of local control
        self.t_set_c = (v["t_low_c"] + v["t_up_c"]) / 2
        missing = {"t_out_c", "ghi_w_m2"} - set(weather.columns)
        if missing:
            raise DataError(f"BuildingFleet.weather lacks column(s) {sorted(missing)}")
        self.weather_index = weather.index.to_numpy(dtype=float)
        self.weather = weather[["t_out_c", "ghi_w_m2"]].to_numpy(dtype=float)
        self.start = pd.Timestamp(start)

    def _matrices(self, dt_h: float):
        if dt_h != self._dt_h:
            self.ad, self.bd = discretize_zoh(self.a, self.b, dt_h)
            self._dt_h = dt_h
        return self.ad, self.bd

    def cop(self, t_out_c: float) -> np.ndarray:
        """Heat-pump COP per unit at outdoor temperature ``t_out_c`` (see the class docstring)."""
        p = self.p
        line = cop_linear(t_out_c, p["cop_0c"], p["cop_slope_per_k"])
        return np.where(np.isnan(p["cop_0c"]), cop_staffell_ashp(supply_temp_c(t_out_c), t_out_c), line)

    def _local_control(self, t_s: int, u: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Replace NaN setpoints by the units' own control (thermostat, valley timer)."""
        p, t_in = self.p, self.x[:, 0]
        half = p["deadband_k"] / 2
        self.heating = np.where(t_in < self.t_set_c - half, True,
                                np.where(t_in > self.t_set_c + half, False, self.heating))
        now = self.start + pd.Timedelta(seconds=t_s)
        hour = now.hour + now.minute / 60
        vs, ve = p["valley_start_h"], p["valley_end_h"]
        in_valley = np.where(vs > ve, (hour >= vs) | (hour < ve), (hour >= vs) & (hour < ve))
        has_st = p["e_st_max_kwh"] > 0
        local = {
            "p_hp_kw": np.where(self.heating, p["p_hp_max_kw"], 0.0),
            "p_st_kw": np.where(in_valley & has_st & (self.e_st < p["e_st_max_kwh"]), p["p_st_max_kw"], 0.0),
            # Release stored heat outside the valley; heat directly in the valley or when empty.
            "q_rel_kw": np.where(self.heating & ~in_valley, p["q_rel_max_kw"], 0.0),
            "p_eh_kw": np.where(self.heating & (in_valley | (self.e_st <= 0)), p["p_eh_max_kw"], 0.0),
        }
        return or_local(u, local)

    def step(self, t_s, dt_s, inputs):
        p = self.p
        dt_h = dt_s / 3600.0
        t_out, ghi_w = self.weather[row_at(self.weather_index, t_s)]
        u = self._local_control(t_s, inputs)
        p_hp = np.clip(u["p_hp_kw"], 0.0, p["p_hp_max_kw"])
        cop = self.cop(t_out)
        q_hp = cop * p_hp
        # TSEH: no simultaneous storing and releasing (seed 001): charging wins, release is held at 0.
        # Charging below 1 W is solver noise and counts as none.
        p_st = np.clip(u["p_st_kw"], 0.0, p["p_st_max_kw"])
        p_st = np.where(p_st < 1e-3, 0.0, p_st)
        decay, gain = first_order_zoh(p["st_loss_per_h"], dt_h)
        room = np.maximum(p["e_st_max_kwh"] - self.e_st * decay, 0.0) / (p["eta_st"] * gain)
        p_st = np.minimum(p_st, room)  # ends the step at most full, self-loss included
        q_rel = np.where(p_st > 0, 0.0, np.clip(u["q_rel_kw"], 0.0, p["q_rel_max_kw"]))
        q_rel = np.minimum(q_rel, self.e_st / dt_h)
        p_eh = np.clip(u["p_eh_kw"], 0.0, p["p_eh_max_kw"])
        e_next, lost = storage_step(self.e_st, p_st, q_rel, dt_h, p["st_loss_per_h"], p["eta_st"])
        e_next = np.clip(e_next, 0.0, p["e_st_max_kwh"])  # only rounding: inputs were limited above
        # Heat to the air node: HP, direct heating, release, and the storage's standing loss.
        phi_heat = q_hp + p["eta_eh"] * p_eh + q_rel + lost / dt_h
        ad, bd = self._matrices(dt_h)
        uu = np.stack([np.full(self.n, t_out), np.full(self.n, ghi_w / 1000.0),
                       p["phi_int_kw"], phi_heat], axis=1)
        t_in = self.x[:, 0]
        outside = np.maximum(p["t_low_c"] - t_in, 0) + np.maximum(t_in - p["t_up_c"], 0)
        out = {
            "t_in_c": t_in.copy(), "t_env_c": self.x[:, 1].copy(), "t_out_c": np.full(self.n, t_out),
            "p_hp_kw": p_hp, "q_hp_kw": q_hp, "cop": cop,
            "p_eh_kw": p_eh, "p_st_kw": p_st, "q_rel_kw": q_rel, "e_st_kwh": self.e_st.copy(),
            "discomfort_kh": self.discomfort_kh.copy(),
        }
        p_kw = p_hp + p_eh + p_st
        out["p_mw"] = p_kw / 1000.0
        out["q_mvar"] = out["p_mw"] * tan_phi(p["pf"])
        # Advance: exact ZOH states; discomfort by the left Riemann sum at the plant step.
        self.x = np.einsum("nij,nj->ni", ad, self.x) + np.einsum("nij,nj->ni", bd, uu)
        self.e_st = e_next
        self.discomfort_kh += outside * dt_h
        return out
