"""Buildings: 3R2C houses with a reversible air-source heat pump and, where ``e_st_max_kwh`` > 0,
thermal storage electric heating (TSEH, seed 001); simulators.building.BuildingFleet.

The controller sets the heat pump's heating and cooling power, direct electric heating, storage
charging and release (kW, >= 0; NaN: the unit's thermostats and TSEH night timer), measures the
indoor and envelope temperatures, the stored heat and the comfort band in force, and models
heat-pump houses as "hp" blocks and TSEH houses as "tseh" blocks (controllers.opf.thermal) from
the plant's own parameters; the heat pump's COP is a line fitted to the plant's Staffell curve
(:func:`fit_cop_linear`) or the plant's own line, its cooling COP (EER) a line fitted to the
plant's Cutler curve (:func:`fit_eer_linear`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from controllers.opf.thermal import BuildingHPBlock, TSEHBlock
from devices.kind import DeviceKind, Signal, series_last, series_sum
from simulators.building import DEFAULTS, BuildingFleet
from simulators.rc import first_order_zoh
from simulators.thermal import cop_staffell_ashp, eer_cutler_ashp, net_mode, supply_temp_c

#: Building fleet parameters the OPF building blocks share with the plant.
RC_KEYS = ("ci_kwh_per_k", "ce_kwh_per_k", "rie_k_per_kw", "rea_k_per_kw", "ria_k_per_kw", "aw_m2", "ae_m2")
TSEH_KEYS = ("p_eh_max_kw", "p_st_max_kw", "e_st_max_kwh", "q_rel_max_kw", "eta_eh", "eta_st", "st_loss_per_h")
TSEH_SETPOINTS = ("p_eh_kw", "p_st_kw", "q_rel_kw")


def fit_cop_linear(t_lo_c: float = -10.0, t_hi_c: float = 15.0) -> tuple[float, float]:
    """(cop_0c, slope_per_k) of the least-squares line through the plant's COP
    cop_staffell_ashp(supply_temp_c(t), t) for t in [t_lo_c, t_hi_c] (0.5 K grid)."""
    t = np.arange(t_lo_c, t_hi_c + 1e-9, 0.5)
    slope, cop0 = np.polyfit(t, cop_staffell_ashp(supply_temp_c(t), t), 1)
    return float(cop0), float(slope)


def fit_eer_linear(eer_rated, t_lo_c: float = 18.0, t_hi_c: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """(eer_0c, slope_per_k) per unit of the least-squares line through the plant's cooling COP
    eer_cutler_ashp(t, eer_rated) for t in [t_lo_c, t_hi_c] (0.5 K grid; largest error 1.6 % of
    eer_rated on the default range)."""
    t = np.arange(t_lo_c, t_hi_c + 1e-9, 0.5)
    slope, eer0 = np.polyfit(t, eer_cutler_ashp(t, 1.0), 1)
    rated = np.asarray(eer_rated, float)
    return eer0 * rated, slope * rated


def season_start(spec, weather: pd.DataFrame, t_in0_c) -> dict:
    """Fleet arguments for the run's season of houses with the default comfort band: ``t_rm0_c``
    (PlantSpec.t_rm0_c) and ``t_in0_c`` moved by the band's middle at the start minus the fixed
    band's middle (0 when the fixed 20-22 degC band holds, as in winter; a summer start begins
    inside the adaptive band)."""
    t_rm0 = spec.t_rm0_c()
    lo, up = BuildingFleet(1, weather, start=spec.start, t_rm0_c=t_rm0).band_c(0)
    shift = (lo[0] + up[0]) / 2 - (DEFAULTS["t_low_c"] + DEFAULTS["t_up_c"]) / 2
    return {"t_rm0_c": t_rm0, "t_in0_c": np.asarray(t_in0_c, float) + shift}


def reachable_store(p: dict, idx, e0, h: float, e_end) -> np.ndarray:
    """The slower plan's storage level at the horizon end, moved into what full charging or
    full release can reach from the measured level e0 in h hours (kept 1 % inside)."""
    decay, gain = first_order_zoh(p["st_loss_per_h"][idx], h)
    hi = decay * e0 + gain * p["eta_st"][idx] * p["p_st_max_kw"][idx]
    lo = decay * e0 - gain * p["q_rel_max_kw"][idx]
    hi, lo = hi - 0.01 * (hi - lo), lo + 0.01 * (hi - lo)
    return np.clip(np.clip(e_end, lo, hi), 0, p["e_st_max_kwh"][idx])


class Building(DeviceKind):
    name, model, fleet_cls = "Building", "Building", BuildingFleet
    measured = (Signal("t_in_c", "degC", "indoor air temperature"),
                Signal("t_env_c", "degC", "envelope temperature (taken as measured)"),
                Signal("e_st_kwh", "kWh", "heat stored in the TSEH store", 0.0),
                Signal("t_low_c", "degC", "lower edge of the comfort band in force"),
                Signal("t_up_c", "degC", "upper edge of the comfort band in force"))
    setpoints = (Signal("p_hp_kw", "kW", "heat-pump electric power for heating; NaN: thermostat", 0.0),
                 Signal("p_cool_kw", "kW", "heat-pump electric power for cooling (reversed); NaN: thermostat", 0.0),
                 Signal("p_eh_kw", "kW", "TSEH direct electric heating; NaN: thermostat", 0.0),
                 Signal("p_st_kw", "kW", "TSEH storage charging; NaN: night-valley timer", 0.0),
                 Signal("q_rel_kw", "kW", "TSEH heat release; NaN: thermostat", 0.0))
    recorded = ("t_in_c", "t_out_c", "p_mw", "p_hp_kw", "p_cool_kw", "p_eh_kw", "p_st_kw", "q_rel_kw",
                "e_st_kwh", "t_low_c", "t_up_c", "discomfort_kh")
    plan_keys = {"hp": ("p_hp_kw", "p_cool_kw", "cop", "eer", "t_in_c"),
                 "tseh": ("p_hp_kw", "p_cool_kw", "cop", "eer", "p_eh_kw", "p_st_kw", "q_rel_kw", "e_st_kwh", "t_in_c")}
    costs = {"cost_discomfort": 1.0}
    storage = ("e_st_kwh", 1 / 0.95)  # TSEH heat, charged at the default eta_st
    #: Parameters a model-mismatch study perturbs (controllers.model.mismatch_factors).
    mismatch_keys = RC_KEYS

    def group_params(self):
        return {k: False for k in DEFAULTS}

    def defaults(self):
        return dict(DEFAULTS)

    def make_fleet(self, spec, n, params, rng):
        return BuildingFleet(n, spec.weather_data().frame, start=spec.start, t_rm0_c=spec.t_rm0_c(), **params)

    def initial(self, b):
        lo, up = b.band_c(0)
        return {"t_in_c": b.x[:, 0], "t_env_c": b.x[:, 1], "e_st_kwh": b.e_st, "t_low_c": lo, "t_up_c": up}

    def blocks(self, f, ctx):
        p = f.p
        cop0, slope = fit_cop_linear()
        line = ~np.isnan(p["cop_0c"])  # the plant's own linear COP where it has one
        cop0, slope = np.where(line, p["cop_0c"], cop0), np.where(line, p["cop_slope_per_k"], slope)
        eer0, eer_slope = fit_eer_linear(p["eer_rated"])
        out = []
        for name, idx in (("hp", np.flatnonzero(p["e_st_max_kwh"] <= 0)), ("tseh", np.flatnonzero(p["e_st_max_kwh"] > 0))):
            if not len(idx):
                continue
            kw = {k: ctx.val(self.name, k, p[k], idx) for k in RC_KEYS + ("p_hp_max_kw", "pf")}
            kw.update(cop_0c=cop0[idx], cop_slope_per_k=slope[idx], eer_0c=eer0[idx], eer_slope_per_k=eer_slope[idx],
                      p_cool_max_kw=kw["p_hp_max_kw"] * p["can_cool"][idx],
                      discomfort_cost=ctx.costs.discomfort_cost_per_kh, aggregate=ctx.aggregate)
            cls = BuildingHPBlock
            if name == "tseh":
                kw.update({k: p[k][idx] for k in TSEH_KEYS})
                cls = TSEHBlock
            out.append((cls(ctx.bus_of(self.name, idx), name=name, **kw), idx))
        return out

    def block_data(self, name, d):
        """Measured temperatures, internal gains and the measured comfort band, held over the
        horizon (the adaptive band moves once a day, by 0.066 K per K of daily mean) and tightened
        by the stage's ``comfort_margin_k``, leaving at least 0.5 K; TSEH: the measured store
        and at the horizon end the slower plan's level (or the run's terminal one,
        StageData.end_state)."""
        p, idx, m, T = d.fleet.p, d.index, d.meas, d.T
        lo, hi = m["t_low_c"][idx], m["t_up_c"][idx]
        margin = np.minimum(d.options.get("comfort_margin_k", 0.0), np.maximum(hi - lo - 0.5, 0.0) / 2)
        out = {"t_in0_c": m["t_in_c"][idx], "t_env0_c": m["t_env_c"][idx],
               "phi_int_kw": np.repeat(p["phi_int_kw"][idx][:, None], T, axis=1),
               "t_low_c": np.repeat((lo + margin)[:, None], T, axis=1),
               "t_up_c": np.repeat((hi - margin)[:, None], T, axis=1)}
        if name == "tseh":
            out["e_st0_kwh"] = np.clip(m["e_st_kwh"][idx], 0, p["e_st_max_kwh"][idx])
            e_end = d.end_state("tseh.e_st_kwh")
            if e_end is not None:
                out["e_st_end_kwh"] = reachable_store(p, idx, out["e_st0_kwh"], T * d.dt_s / 3600, e_end)
        return out

    def dispatch(self, name, plan, k, put):
        """The plan's setpoints at column k (NaN without a plan); the heat pump in one mode
        (simulators.thermal.net_mode: a plan that heats and cools at once, never cheaper while
        energy costs, sends the net heat)."""
        nan = k is None
        if nan:
            put("p_hp_kw", np.nan)
            put("p_cool_kw", np.nan)
        else:
            x = {key: plan.x[f"{name}.{key}"][:, k] for key in ("p_hp_kw", "cop", "p_cool_kw", "eer")}
            p_heat, p_cool = net_mode(x["p_hp_kw"], x["cop"], x["p_cool_kw"], x["eer"])
            put("p_hp_kw", p_heat)
            put("p_cool_kw", p_cool)
        for key in TSEH_SETPOINTS:  # a heat-pump house has no TSEH: 0 under a plan
            put(key, np.nan if nan else plan.x[f"tseh.{key}"][:, k] if name == "tseh" else 0.0)

    def kpis(self, get, dt_h, control):
        """``discomfort_kh``: BOPTEST's thermal discomfort (K h) summed over buildings, the last
        recorded cumulative ``discomfort_kh``; ``heat_energy_kwh``: electricity drawn for heating
        and cooling (``p_mw`` x ``dt_h`` x 1000); ``cost_discomfort`` = discomfort x
        ``control.discomfort_cost_per_kh``."""
        kh = series_last(get("discomfort_kh"))
        return {"discomfort_kh": kh, "heat_energy_kwh": series_sum(get("p_mw"), dt_h) * 1000.0,
                "cost_discomfort": kh * control.discomfort_cost_per_kh}
