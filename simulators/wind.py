"""Wind turbine fleet: power curve on hub-height wind from the weather's 10 m wind speed.

Seed 001 studies distributed wind turbines on a modified IEEE 33 feeder, but its device tables
(Appendix A1-A7) are not in our text copy: no turbine ratings, sites or curve are given, so all
defaults here are generic (physics.md section 5).
"""
from __future__ import annotations

import numpy as np

from cosim_base.errors import ConfigError, check, check_shape
from simulators.data import Weather
from simulators.pv import ConverterFleet


def hub_wind_ms(v_ref_ms, hub_height_m, ref_height_m=10.0, shear_exp=1.0 / 7.0):
    """Power-law height correction v = v_ref (h / h_ref)^alpha, alpha = 1/7 onshore.

    Peterson & Hennessey (1978), J. Appl. Meteor. 17, 390-394; physics.md section 5.
    """
    return np.asarray(v_ref_ms, float) * (np.asarray(hub_height_m, float) / ref_height_m) ** shear_exp


def cubic_curve_pu(v_ms, v_cut_in_ms, v_rated_ms, v_cut_out_ms):
    """Power in p.u. of rating: 0 below cut-in and from cut-out, 1 from rated to cut-out,
    (v^3 - v_ci^3) / (v_r^3 - v_ci^3) between (continuous at cut-in and rated).

    The common analytic curve of distribution-grid studies, e.g. Atwa et al. (2010),
    IEEE Trans. Power Syst. 25(1) 360-370; physics.md section 5. No cut-out hysteresis.
    """
    v = np.asarray(v_ms, float)
    ramp = (v ** 3 - v_cut_in_ms ** 3) / (v_rated_ms ** 3 - v_cut_in_ms ** 3)
    p = np.where(v < v_rated_ms, ramp, 1.0)
    return np.where((v < v_cut_in_ms) | (v >= v_cut_out_ms), 0.0, p)


def tabulated_curve_pu(v_ms, curve_v_ms, curve_p_pu, v_cut_out_ms):
    """Linear interpolation of a (wind speed, p.u. power) table, 0 outside it and from cut-out."""
    p = np.interp(v_ms, curve_v_ms, curve_p_pu, left=0.0, right=0.0)
    return np.where(np.asarray(v_ms) >= v_cut_out_ms, 0.0, p)


class WindFleet(ConverterFleet):
    """``n`` turbines at the weather's site; available power for the whole run at construction.

    Per-unit parameters (scalar or length n): ``p_rated_kw``; ``hub_height_m`` (default 80 m, a
    MW-class turbine, est.); ``v_cut_in_ms`` 3, ``v_rated_ms`` 12,
    ``v_cut_out_ms`` 25 (physics.md section 5); ``s_max_kva`` converter rating (default
    = ``p_rated_kw``, so no reactive power at rated output). ``curve`` = (wind speeds m/s,
    p.u. powers), shared by all units, replaces the cubic curve. The weather's ``wind_ms`` is
    read as 10 m wind (TMY3) and scaled with ``shear_exp`` (1/7). Hourly-mean wind is used as
    is: no turbulence or gusts. INPUTS / OUTPUTS and timing: see :class:`ConverterFleet`.
    """

    def __init__(self, n, weather: Weather, p_rated_kw, hub_height_m=80.0, v_cut_in_ms=3.0,
                 v_rated_ms=12.0, v_cut_out_ms=25.0, s_max_kva=None, curve=None,
                 shear_exp=1.0 / 7.0):
        if not isinstance(weather, Weather):
            raise ConfigError(f"weather must be a simulators.data.Weather, got {type(weather)}")
        p_rated_kw = check("p_rated_kw", check_shape("p_rated_kw", p_rated_kw, n), 0, lo_open=True)
        hub_m = check("hub_height_m", check_shape("hub_height_m", hub_height_m, n), 0, 300,
                      lo_open=True)
        v_ci = check("v_cut_in_ms", check_shape("v_cut_in_ms", v_cut_in_ms, n), 0)
        v_r = check("v_rated_ms", check_shape("v_rated_ms", v_rated_ms, n), 0)
        v_co = check("v_cut_out_ms", check_shape("v_cut_out_ms", v_cut_out_ms, n), 0)
        if np.any(v_ci >= v_r) or np.any(v_r >= v_co):
            raise ConfigError("v_cut_in_ms < v_rated_ms < v_cut_out_ms must hold for every unit, "
                              f"got {v_ci}, {v_r}, {v_co}")
        s_max_kva = p_rated_kw.copy() if s_max_kva is None else check(
            "s_max_kva", check_shape("s_max_kva", s_max_kva, n), 0, lo_open=True)
        check("shear_exp", shear_exp, 0, 1)

        v_hub = hub_wind_ms(weather.frame["wind_ms"].to_numpy()[:, None], hub_m,
                            shear_exp=shear_exp)
        if curve is None:
            p_pu = cubic_curve_pu(v_hub, v_ci, v_r, v_co)
        else:
            curve_v, curve_p = (np.asarray(c, float) for c in curve)
            check("curve speeds", np.diff(curve_v), 0, lo_open=True)
            check("curve powers", curve_p, 0, 1)
            p_pu = tabulated_curve_pu(v_hub, curve_v, curve_p, v_co)
        super().__init__(p_rated_kw * p_pu, weather.step_s, s_max_kva)
