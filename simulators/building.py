"""Buildings: 3R2C thermal envelope, reversible air-source heat pump and thermal storage electric heating.

One :class:`BuildingFleet` steps N buildings as arrays. Each building has an air-source heat pump
(``p_hp_max_kw`` = 0 for none) that also cools where ``can_cool`` (run in reverse, same electric
limit), and optionally a TSEH unit (seed 001: direct electric heating, storage charging, heat
release; ``e_st_max_kwh`` = 0 for none). TSEH cannot cool, so a TSEH house without heat pump has
no cooling. Physics in simulators.thermal, discretized exactly with simulators.rc (zero-order hold
over the plant step).

Comfort band: the fixed ``t_low_c``..``t_up_c``, or, where ``adaptive_comfort`` and the running-mean
outdoor temperature lies in 10-30 degC, EN 16798-1's category II adaptive band
(simulators.thermal.comfort_band_c). The running mean is ``t_rm0_c`` on the first day (the run's
first-day mean if None) and follows the weather's daily means from day to day. The band in force is
an output (``t_low_c``, ``t_up_c``); the thermostats, the discomfort (K h) and the controller use it.

Setpoints (kW): ``p_hp_kw`` heat-pump electric power for heating, ``p_cool_kw`` for cooling,
``p_eh_kw`` TSEH direct heating, ``p_st_kw`` TSEH storage charging, ``q_rel_kw`` TSEH heat release.
A heat pump runs one mode at a time: asked for both, it delivers the net heat
(simulators.thermal.net_mode). A NaN setpoint (the default until a controller sends one) means the
unit runs its own local control, as a real unit does without an aggregator: hysteresis thermostats
for heating, cooling and release, and a night-valley timer for TSEH charging (the "uncoordinated"
behaviour of the seeds). The heating thermostat holds min(band middle, t_low + 1 K) (21 degC in the
fixed 20-22 degC band), the cooling thermostat max(t_up - 1 K, heating setpoint + deadband).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError, DataError, check, check_shape
from simulators.fleet import Fleet, or_local, row_at, tan_phi
from simulators.rc import discretize_zoh, first_order_zoh
from simulators.thermal import (comfort_band_c, cop_linear, cop_staffell_ashp, eer_cutler_ashp, net_mode,
                                rc_3r2c_matrices, running_means_c, storage_step, supply_temp_c)

#: Local thermostats: the heating setpoint sits at most this far above the band's lower edge, the
#: cooling setpoint this far below its upper edge (est.).
THERMOSTAT_INSET_K = 1.0

#: Default parameters of a 150 m2 single-family house (physics.md section 1, est.: UA about 215 W/K,
#: time constants about 0.5 h and 40 h) and its heating and cooling devices. ``t_in0_c`` NaN: the
#: middle of the comfort band at the start; ``eer_rated``: cooling COP at 35 degC (eer_cutler_ashp).
DEFAULTS = dict(
    ci_kwh_per_k=0.8, ce_kwh_per_k=10.0, rie_k_per_kw=0.7, rea_k_per_kw=8.0, ria_k_per_kw=10.0,
    aw_m2=5.0, ae_m2=1.0, phi_int_kw=0.3, t_low_c=20.0, t_up_c=22.0, adaptive_comfort=True,
    t_in0_c=np.nan, t_env0_c=None, p_hp_max_kw=3.0, can_cool=True, eer_rated=3.4, pf=1.0, deadband_k=0.5,
    p_eh_max_kw=0.0, p_st_max_kw=0.0, e_st_max_kwh=0.0, q_rel_max_kw=0.0, eta_eh=0.98,
    eta_st=0.95, st_loss_per_h=0.01, e_st0_kwh=0.0, valley_start_h=23.0, valley_end_h=7.0,
    cop_0c=np.nan, cop_slope_per_k=np.nan,
)


class BuildingFleet(Fleet):
    """N buildings with heat pump and optional TSEH; inputs and outputs in kW and degC.

    ``weather``: DataFrame indexed by seconds since start with ``t_out_c`` and ``ghi_w_m2``,
    covering the run. ``start``: calendar time of t = 0 (for the TSEH valley timer and the days of
    the running mean). ``t_rm0_c``: EN 16798-1 running-mean outdoor temperature on the first day
    (simulators.spec.PlantSpec.t_rm0_c; None: the mean of the weather's first 24 h).
    Other parameters: see :data:`DEFAULTS` (scalars or length-n sequences). Heat-pump COP: the
    Staffell curve at the heating-curve supply temperature, or, where ``cop_0c`` and
    ``cop_slope_per_k`` are given (not NaN), the line cop_0c + cop_slope_per_k t_out_c
    (simulators.thermal.cop_linear; seed 002: 3.51 at 20 degC, 1.97 at -4 degC).
    """

    PARAMS = tuple(DEFAULTS)
    INPUTS = {"p_hp_kw": np.nan, "p_cool_kw": np.nan, "p_eh_kw": np.nan, "p_st_kw": np.nan, "q_rel_kw": np.nan}
    OUTPUTS = ("t_in_c", "t_env_c", "t_out_c", "p_mw", "q_mvar", "p_hp_kw", "q_hp_kw", "cop",
               "p_cool_kw", "q_cool_kw", "eer", "p_eh_kw", "p_st_kw", "q_rel_kw", "e_st_kwh",
               "t_low_c", "t_up_c", "discomfort_kh")

    def __init__(self, n: int, weather: pd.DataFrame, start: pd.Timestamp | str = "2024-01-15",
                 t_rm0_c: float | None = None, **params):
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise ConfigError(f"BuildingFleet: unknown parameter(s) {sorted(unknown)}; "
                              f"allowed: {sorted(DEFAULTS)}")
        self.n = int(check("BuildingFleet.n", n, 1))
        p = {**DEFAULTS, **params}
        v = {k: check_shape(f"BuildingFleet.{k}", p[k], self.n) for k in DEFAULTS if k != "t_env0_c"}
        for k in ("ci_kwh_per_k", "ce_kwh_per_k", "rie_k_per_kw", "rea_k_per_kw", "ria_k_per_kw", "eer_rated"):
            check(f"BuildingFleet.{k}", v[k], 0, lo_open=True)
        for k in ("aw_m2", "ae_m2", "phi_int_kw", "p_hp_max_kw", "p_eh_max_kw", "p_st_max_kw",
                  "e_st_max_kwh", "q_rel_max_kw", "st_loss_per_h", "deadband_k"):
            check(f"BuildingFleet.{k}", v[k], 0)
        for k in ("eta_eh", "eta_st", "pf"):
            check(f"BuildingFleet.{k}", v[k], 0, 1, lo_open=True)
        for k in ("can_cool", "adaptive_comfort"):
            if np.any((v[k] != 0) & (v[k] != 1)):
                raise ConfigError(f"BuildingFleet.{k} must be true or false (1 or 0); got {v[k][(v[k] != 0) & (v[k] != 1)][0]!r}")
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
        missing = {"t_out_c", "ghi_w_m2"} - set(weather.columns)
        if missing:
            raise DataError(f"BuildingFleet.weather lacks column(s) {sorted(missing)}")
        self.weather_index = weather.index.to_numpy(dtype=float)
        self.weather = weather[["t_out_c", "ghi_w_m2"]].to_numpy(dtype=float)
        self.start = pd.Timestamp(start)
        self.t_rm_c = self._running_means(t_rm0_c)
        lo, up = self.band_c(0)
        t_in0 = np.where(np.isnan(v["t_in0_c"]), (lo + up) / 2, v["t_in0_c"])
        t_env0 = t_in0 if p["t_env0_c"] is None else check_shape("BuildingFleet.t_env0_c", p["t_env0_c"], self.n)
        self.x = np.stack([t_in0, t_env0], axis=1)  # (n, 2)
        self.e_st = v["e_st0_kwh"].copy()
        self.discomfort_kh = np.zeros(self.n)
        self.heating = np.zeros(self.n, bool)  # thermostat states of local control
        self.cooling = np.zeros(self.n, bool)

    def _matrices(self, dt_h: float):
        if dt_h != self._dt_h:
            self.ad, self.bd = discretize_zoh(self.a, self.b, dt_h)
            self._dt_h = dt_h
        return self.ad, self.bd

    def _day(self, t_s) -> np.ndarray:
        """Calendar day of ``t_s`` counted from the start's day (0)."""
        midnight_s = (self.start - self.start.normalize()).total_seconds()
        return ((np.asarray(t_s, float) + midnight_s) // 86400).astype(int)

    def _running_means(self, t_rm0_c: float | None) -> np.ndarray:
        """EN 16798-1 running-mean outdoor temperature of every day the weather covers, from the
        weather's daily means (a day the run starts inside counts from the start)."""
        days = self._day(self.weather_index)
        daily = pd.Series(self.weather[:, 0]).groupby(days).mean().to_numpy()
        if t_rm0_c is None:
            t_rm0_c = float(self.weather[self.weather_index < 86400, 0].mean())
        return running_means_c(float(check("BuildingFleet.t_rm0_c", t_rm0_c, -60, 60)), daily[:-1])

    def band_c(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(low, up) comfort band per unit in force at ``t_s`` (simulators.thermal.comfort_band_c)."""
        p = self.p
        t_rm = self.t_rm_c[min(int(self._day(t_s)), len(self.t_rm_c) - 1)]
        return comfort_band_c(t_rm, p["t_low_c"], p["t_up_c"], p["adaptive_comfort"] > 0)

    def cop(self, t_out_c: float) -> np.ndarray:
        """Heat-pump COP per unit at outdoor temperature ``t_out_c`` (see the class docstring)."""
        p = self.p
        line = cop_linear(t_out_c, p["cop_0c"], p["cop_slope_per_k"])
        return np.where(np.isnan(p["cop_0c"]), cop_staffell_ashp(supply_temp_c(t_out_c), t_out_c), line)

    def eer(self, t_out_c: float) -> np.ndarray:
        """Cooling COP (EER) per unit at outdoor temperature ``t_out_c`` (simulators.thermal.eer_cutler_ashp)."""
        return eer_cutler_ashp(t_out_c, self.p["eer_rated"])

    def _local_control(self, t_s: int, u: dict[str, np.ndarray], band) -> dict[str, np.ndarray]:
        """Replace NaN setpoints by the units' own control (thermostats, valley timer)."""
        p, t_in = self.p, self.x[:, 0]
        lo, up = band
        half = p["deadband_k"] / 2
        t_heat = np.minimum((lo + up) / 2, lo + THERMOSTAT_INSET_K)
        t_cool = np.maximum(up - THERMOSTAT_INSET_K, t_heat + p["deadband_k"])
        self.heating = np.where(t_in < t_heat - half, True, np.where(t_in > t_heat + half, False, self.heating))
        self.cooling = np.where(t_in > t_cool + half, True, np.where(t_in < t_cool - half, False, self.cooling))
        now = self.start + pd.Timedelta(seconds=t_s)
        hour = now.hour + now.minute / 60
        vs, ve = p["valley_start_h"], p["valley_end_h"]
        in_valley = np.where(vs > ve, (hour >= vs) | (hour < ve), (hour >= vs) & (hour < ve))
        has_st = p["e_st_max_kwh"] > 0
        local = {
            "p_hp_kw": np.where(self.heating, p["p_hp_max_kw"], 0.0),
            "p_cool_kw": np.where(self.cooling, p["p_hp_max_kw"] * p["can_cool"], 0.0),
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
        lo, up = self.band_c(t_s)
        u = self._local_control(t_s, inputs, (lo, up))
        cop, eer = self.cop(t_out), self.eer(t_out)
        p_hp, p_cool = net_mode(np.clip(u["p_hp_kw"], 0.0, p["p_hp_max_kw"]), cop,
                                np.clip(u["p_cool_kw"], 0.0, p["p_hp_max_kw"] * p["can_cool"]), eer)
        q_hp, q_cool = cop * p_hp, eer * p_cool
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
        # Heat to the air node: HP (heating or cooling), direct heating, release, and the storage's standing loss.
        phi_heat = q_hp - q_cool + p["eta_eh"] * p_eh + q_rel + lost / dt_h
        ad, bd = self._matrices(dt_h)
        uu = np.stack([np.full(self.n, t_out), np.full(self.n, ghi_w / 1000.0),
                       p["phi_int_kw"], phi_heat], axis=1)
        t_in = self.x[:, 0]
        outside = np.maximum(lo - t_in, 0) + np.maximum(t_in - up, 0)
        out = {
            "t_in_c": t_in.copy(), "t_env_c": self.x[:, 1].copy(), "t_out_c": np.full(self.n, t_out),
            "p_hp_kw": p_hp, "q_hp_kw": q_hp, "cop": cop, "p_cool_kw": p_cool, "q_cool_kw": q_cool,
            "eer": eer, "p_eh_kw": p_eh, "p_st_kw": p_st, "q_rel_kw": q_rel, "e_st_kwh": self.e_st.copy(),
            "t_low_c": lo, "t_up_c": up, "discomfort_kh": self.discomfort_kh.copy(),
        }
        p_kw = p_hp + p_cool + p_eh + p_st
        out["p_mw"] = p_kw / 1000.0
        out["q_mvar"] = out["p_mw"] * tan_phi(p["pf"])
        # Advance: exact ZOH states; discomfort by the left Riemann sum at the plant step.
        self.x = np.einsum("nij,nj->ni", ad, self.x) + np.einsum("nij,nj->ni", bd, uu)
        self.e_st = e_next
        self.discomfort_kh += outside * dt_h
        return out
