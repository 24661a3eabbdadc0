"""Thermal physics shared by the plant models and the controller's models (pure numpy).

One place for: the 3R2C building matrices, heat-pump COP curves (heating and cooling), the heating
curve, the comfort band (fixed or EN 16798-1 adaptive), the first-order storage step and the
micro-CHP data sheet. The plant (simulators.building, simulators.heat_hub) and
the OPF blocks (controllers.opf.thermal) both build on these, so a model mismatch is a parameter
difference, never a second implementation. Units: T in degC, R in K/kW, C in kWh/K, heat and power
in kW, irradiance in kW/m2, time in hours unless a name says otherwise.
"""
from __future__ import annotations

import numpy as np

from simulators.rc import first_order_zoh

#: Input order of the 3R2C model's B matrix.
RC_INPUTS = ("t_out_c", "ghi_kw_m2", "phi_int_kw", "phi_heat_kw")


def rc_3r2c_matrices(ci_kwh_per_k, ce_kwh_per_k, rie_k_per_kw, rea_k_per_kw, ria_k_per_kw,
                     aw_m2, ae_m2) -> tuple[np.ndarray, np.ndarray]:
    """Continuous-time 3R2C ("TiTe + Ria") model, batched over buildings.

    States x = [t_in_c, t_env_c]; inputs u = RC_INPUTS (outdoor temperature, global irradiance,
    internal gains, heating power to the air node). Returns ``a`` (n, 2, 2) and ``b`` (n, 2, 4)
    in 1/h, for dx/dt = a x + b u (Bacher & Madsen 2011, Energy and Buildings 43:1511):

        Ci dTi/dt = (Te - Ti)/Rie + (Ta - Ti)/Ria + Aw G + Phi_int + Phi_heat
        Ce dTe/dt = (Ti - Te)/Rie + (Ta - Te)/Rea + Ae G
    """
    ci, ce, rie, rea, ria, aw, ae = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, float)) for v in (
        ci_kwh_per_k, ce_kwh_per_k, rie_k_per_kw, rea_k_per_kw, ria_k_per_kw, aw_m2, ae_m2)))
    n = ci.shape[0]
    a = np.empty((n, 2, 2))
    a[:, 0, 0] = -(1 / rie + 1 / ria) / ci
    a[:, 0, 1] = 1 / (rie * ci)
    a[:, 1, 0] = 1 / (rie * ce)
    a[:, 1, 1] = -(1 / rie + 1 / rea) / ce
    b = np.zeros((n, 2, 4))
    b[:, 0, 0] = 1 / (ria * ci)
    b[:, 0, 1] = aw / ci
    b[:, 0, 2] = 1 / ci
    b[:, 0, 3] = 1 / ci
    b[:, 1, 0] = 1 / (rea * ce)
    b[:, 1, 1] = ae / ce
    return a, b


def ua_kw_per_k(rie_k_per_kw, rea_k_per_kw, ria_k_per_kw):
    """Steady-state loss coefficient UA = 1/Ria + 1/(Rie + Rea) in kW/K."""
    return 1 / np.asarray(ria_k_per_kw, float) + 1 / (np.asarray(rie_k_per_kw, float) + np.asarray(rea_k_per_kw, float))


def supply_temp_c(t_out_c, t_base_c=40.0, slope=1.0, t_min_c=25.0, t_max_c=55.0):
    """Heating-curve supply (sink) temperature: ``t_base_c - slope * t_out_c``, clipped.

    Defaults are when2heat's radiator curve, sink = 40 - Ta (Ruhnau et al. 2019, Sci. Data 6:189).
    """
    return np.clip(t_base_c - slope * np.asarray(t_out_c, float), t_min_c, t_max_c)


def cop_staffell_ashp(t_sink_c, t_source_c):
    """Air-source heat pump COP, Staffell et al. 2012 (Energy Environ. Sci. 5:9291) field fit.

    COP = 6.81 - 0.121 dT + 0.000630 dT^2 with dT = sink - source in K, clipped to the fit's
    validity range 15-60 K. Gives 3.50 at 20 degC and 1.96 at -4 degC source for a 53 degC sink.
    """
    dt = np.clip(np.asarray(t_sink_c, float) - np.asarray(t_source_c, float), 15.0, 60.0)
    return 6.81 - 0.121 * dt + 0.000630 * dt**2


def cop_linear(t_out_c, cop_0c=2.227, slope_per_k=0.0642):
    """Linear COP in outdoor temperature through seed 002's pair, 3.51 at 20 degC and 1.97 at
    -4 degC (about the chord of the Staffell fit at a 53 degC sink). The controller's default COP."""
    return cop_0c + slope_per_k * np.asarray(t_out_c, float)


#: Cutler et al. 2013 (NREL/TP-5500-56354) single-speed air-source heat pump, cooling: energy input
#: ratio against indoor wet-bulb and outdoor dry-bulb temperature (both in degF), the biquadratic
#: a + b wb + c wb^2 + d db + e db^2 + f wb db (as used by EnergyPlus and OpenStudio-HPXML).
CUTLER_COOL_EIR_FT = (-3.437356399, 0.136656369, -0.001049231, -0.0079378, 0.000185435, -0.0001441)
#: Rating point of the EER (AHRI 210/240 "A"): 67 degF (19.4 degC) indoor wet bulb, 35 degC outdoor.
EER_RATED_T_WB_C, EER_RATED_T_OUT_C = (67.0 - 32.0) / 1.8, 35.0


def _cutler_eir(t_out_c):
    f = lambda c: np.asarray(c, float) * 1.8 + 32.0  # noqa: E731
    a, b, c, d, e, g = CUTLER_COOL_EIR_FT
    wb, db = f(EER_RATED_T_WB_C), f(t_out_c)
    return a + b * wb + c * wb**2 + d * db + e * db**2 + g * wb * db


def eer_cutler_ashp(t_out_c, eer_rated=3.4):
    """Cooling COP (EER, W/W) of an air-source heat pump run in reverse at outdoor ``t_out_c``.

    EER = eer_rated / EIR(t_out) with Cutler et al. 2013's single-speed curve
    (:data:`CUTLER_COOL_EIR_FT`) at the rating indoor wet bulb (humidity is not modelled), scaled so
    that EER(35 degC) = ``eer_rated`` (the curve itself gives 1.011 there). ``t_out_c`` is clipped
    to 18-46 degC (est.: the range of cooling rating data). The default 3.4 W/W (11.6 Btu/Wh) is
    est., a mid-range single-speed unit. Gives 1.28 x eer_rated at 26.7 degC, 0.85 x at 40 degC.
    """
    t = np.clip(np.asarray(t_out_c, float), 18.0, 46.0)
    return np.asarray(eer_rated, float) * _cutler_eir(EER_RATED_T_OUT_C) / _cutler_eir(t)


def net_mode(p_heat_kw, cop, p_cool_kw, eer):
    """One mode per reversible heat pump: where both heating and cooling power are asked, the net
    heat cop p_heat - eer p_cool decides, delivered in that one mode. Returns (p_heat_kw, p_cool_kw)
    with at most one of them positive per unit; units asking for one mode only are unchanged."""
    p_heat, p_cool = np.asarray(p_heat_kw, float), np.asarray(p_cool_kw, float)
    q = cop * p_heat - eer * p_cool
    both = (p_heat > 0) & (p_cool > 0)
    return (np.where(both, np.maximum(q, 0.0) / cop, p_heat),
            np.where(both, np.maximum(-q, 0.0) / eer, p_cool))


#: EN 16798-1:2019 adaptive comfort (Annex B, as implemented by pythermalcomfort's adaptive_en):
#: comfort temperature 0.33 T_rm + 18.8 degC; category II band -4 / +3 K around it; valid for a
#: running-mean outdoor temperature T_rm of 10-30 degC; running mean weight alpha = 0.8.
ADAPTIVE_SLOPE, ADAPTIVE_OFFSET_C, ADAPTIVE_LOW_K, ADAPTIVE_UP_K = 0.33, 18.8, 4.0, 3.0
ADAPTIVE_T_RM_RANGE_C, RUNNING_MEAN_ALPHA = (10.0, 30.0), 0.8


def running_means_c(t_rm0_c: float, daily_mean_c, alpha=RUNNING_MEAN_ALPHA) -> np.ndarray:
    """EN 16798-1 running-mean outdoor temperature of days 0..len(daily_mean_c): T_rm,0 = ``t_rm0_c``,
    T_rm,d = alpha T_rm,d-1 + (1 - alpha) T_d-1 with T_d-1 the previous day's mean outdoor temperature."""
    t_rm = [float(t_rm0_c)]
    for t_day in np.asarray(daily_mean_c, float):
        t_rm.append(alpha * t_rm[-1] + (1 - alpha) * t_day)
    return np.array(t_rm)


def comfort_band_c(t_rm_c, t_low_c, t_up_c, adaptive):
    """(low, up) comfort band in degC: EN 16798-1 category II adaptive band (T_cmf - 4, T_cmf + 3
    with T_cmf = 0.33 t_rm_c + 18.8) where ``adaptive`` and ``t_rm_c`` lies in 10-30 degC, else
    the fixed band (``t_low_c``, ``t_up_c``). T_rm = 20 degC gives T_cmf 25.4, band 21.4-28.4."""
    t_rm = np.asarray(t_rm_c, float)
    lo_rm, hi_rm = ADAPTIVE_T_RM_RANGE_C
    use = np.asarray(adaptive, bool) & (t_rm >= lo_rm) & (t_rm <= hi_rm)
    t_cmf = ADAPTIVE_SLOPE * t_rm + ADAPTIVE_OFFSET_C
    return (np.where(use, t_cmf - ADAPTIVE_LOW_K, t_low_c), np.where(use, t_cmf + ADAPTIVE_UP_K, t_up_c))


def storage_step(e_kwh, p_in_kw, q_out_kw, dt_h, loss_per_h, eta_in=1.0):
    """Exact step of a first-order storage with self-loss held over ``dt_h`` (zero-order hold).

    dE/dt = -sigma E + eta P_in - Q_out; integrated exactly:
    E(t+dt) = E e^{-sigma dt} + (eta P_in - Q_out) (1 - e^{-sigma dt}) / sigma  (-> dt as sigma -> 0).
    Returns (E at t+dt, heat lost over the step in kWh). physics.md section 3.
    """
    decay, gain = first_order_zoh(loss_per_h, dt_h)
    net = eta_in * np.asarray(p_in_kw, float) - np.asarray(q_out_kw, float)
    e_next = e_kwh * decay + net * gain
    lost = e_kwh + net * dt_h - e_next
    return e_next, lost


#: Micro-CHP data sheet operating points, seed 003 Table I: electric, thermal, gas power in kW.
CHP_TABLE_KW = np.array([[3.0, 9.7, 14.8], [4.5, 12.4, 18.9], [6.0, 14.9, 22.2]])


def chp_operating_point(p_el_kw, p_el_max_kw=6.0):
    """Thermal and gas power (kW) of the micro-CHP at electric output ``p_el_kw``.

    Linear interpolation of seed 003's three data-sheet points, scaled to ``p_el_max_kw``; the
    plant runs between 50 % and 100 % of ``p_el_max_kw`` or is off (0 in, 0 out).
    """
    p = np.asarray(p_el_kw, float)
    scale = np.asarray(p_el_max_kw, float) / CHP_TABLE_KW[-1, 0]
    x = p / scale
    th = np.interp(x, CHP_TABLE_KW[:, 0], CHP_TABLE_KW[:, 1]) * scale
    gas = np.interp(x, CHP_TABLE_KW[:, 0], CHP_TABLE_KW[:, 2]) * scale
    on = p > 0
    return np.where(on, th, 0.0), np.where(on, gas, 0.0)
