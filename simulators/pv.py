"""PV plant fleet: pvlib PVWatts chain on real weather, curtailable, with inverter reactive power.

Also home of :class:`ConverterFleet`, the step logic shared with :mod:`simulators.wind`:
generators behind a converter whose available power for the whole run is known in advance.
"""
from __future__ import annotations

import numpy as np

from cosim_base.errors import ConfigError, DataError, check, check_shape
from simulators.data import Weather
from simulators.fleet import Fleet


def _trapezoid_mean(rows: np.ndarray) -> np.ndarray:
    """Mean over time of a piecewise-linear series given at equally spaced points (rows)."""
    return (rows[:-1] + rows[1:]).sum(axis=0) / (2 * (len(rows) - 1))


class ConverterFleet(Fleet):
    """Generators whose available AC power ``p_avail_kw`` (T, n) is tabulated on a t_s grid.

    INPUTS (held until replaced; NaN, the default, means "no setpoint" as for all fleets):
      - ``p_max_kw``: curtailment limit; NaN or ``inf`` means no curtailment, negative values
        count as 0.
      - ``q_set_kvar``: reactive setpoint, consumer convention (positive = absorbs reactive
        power); NaN means 0 (unity power factor).
    OUTPUTS: ``p_mw`` (negative = generation), ``q_mvar``, ``p_avail_kw``, ``curtailed_kw``.

    The table holds point values at ``grid_step_s`` spacing; a step's powers are the trapezoid
    means over ``[t_s, t_s + dt_s]`` (``t_s``, ``dt_s`` multiples of the grid step). Active power
    has priority: ``|q| <= sqrt(s_max^2 - p^2)`` with ``p`` the delivered power.
    """

    INPUTS = {"p_max_kw": np.nan, "q_set_kvar": np.nan}
    OUTPUTS = ("p_mw", "q_mvar", "p_avail_kw", "curtailed_kw")

    def __init__(self, p_avail_kw: np.ndarray, grid_step_s: int, s_max_kva: np.ndarray):
        self.p_avail_kw = p_avail_kw
        self.grid_step_s = int(grid_step_s)
        self.n = p_avail_kw.shape[1]
        self.s_max_kva = s_max_kva

    def _rows(self, t_s: int, dt_s: float) -> slice:
        k0, k1 = t_s / self.grid_step_s, (t_s + dt_s) / self.grid_step_s
        if k0 != int(k0) or k1 != int(k1) or k1 <= k0:
            raise DataError(f"t_s = {t_s}, dt_s = {dt_s} must be multiples of the data step "
                            f"{self.grid_step_s} s")
        if k0 < 0 or k1 >= len(self.p_avail_kw):
            raise DataError(f"t_s = {t_s} + dt_s = {dt_s} is outside the data's "
                            f"[0, {(len(self.p_avail_kw) - 1) * self.grid_step_s}] s")
        return slice(int(k0), int(k1) + 1)

    def mean_avail_kw(self, t0_s: int, dt_s: int, T: int) -> np.ndarray:
        """Available AC power (n, T) averaged over [t0 + k dt, t0 + (k+1) dt), kW (trapezoid)."""
        return np.stack([_trapezoid_mean(self.p_avail_kw[self._rows(t0_s + k * dt_s, dt_s)])
                         for k in range(T)], axis=1)

    def step(self, t_s, dt_s, inputs):
        rows = self.p_avail_kw[self._rows(t_s, dt_s)]
        p_max_kw = np.nan_to_num(inputs["p_max_kw"], nan=np.inf)
        p_avail_kw = _trapezoid_mean(rows)
        p_kw = _trapezoid_mean(np.minimum(rows, np.maximum(p_max_kw, 0.0)))
        q_lim_kvar = np.sqrt(np.maximum(self.s_max_kva ** 2 - p_kw ** 2, 0.0))
        q_kvar = np.clip(np.nan_to_num(inputs["q_set_kvar"], nan=0.0), -q_lim_kvar, q_lim_kvar)
        return {"p_mw": -p_kw / 1000.0, "q_mvar": q_kvar / 1000.0,
                "p_avail_kw": p_avail_kw, "curtailed_kw": p_avail_kw - p_kw}


def poa_global_w_m2(weather: Weather, tilt_deg, azimuth_deg, albedo: float) -> np.ndarray:
    """Plane-of-array irradiance (T, k) for k orientations, Hay-Davies sky model.

    Hay & Davies (1980) via pvlib.irradiance.get_total_irradiance; azimuth clockwise from north
    (180 = south). The sun's position is taken at the run's calendar times
    (pvlib.solarposition, NREL SPA, Reda & Andreas 2004).
    """
    import pvlib

    times = weather.times
    sun = pvlib.solarposition.get_solarposition(times, weather.latitude, weather.longitude,
                                                altitude=weather.altitude_m,
                                                temperature=weather.frame["t_out_c"].to_numpy())

    def col(x):
        return np.asarray(x, float)[:, None]

    irr = pvlib.irradiance.get_total_irradiance(
        np.atleast_1d(tilt_deg)[None, :], np.atleast_1d(azimuth_deg)[None, :],
        col(sun["apparent_zenith"]), col(sun["azimuth"]), col(weather.frame["dni_w_m2"]),
        col(weather.frame["ghi_w_m2"]), col(weather.frame["dhi_w_m2"]),
        dni_extra=col(pvlib.irradiance.get_extra_radiation(times)), albedo=albedo,
        model="haydavies")
    return np.nan_to_num(np.asarray(irr["poa_global"], float))


def pv_ac_power_kw(poa_w_m2, t_out_c, p_dc0_kw, gamma_pdc_per_k, noct_c, loss_frac,
                   s_inv_kva, eta_inv_nom):
    """AC power (kW) of a PVWatts system; arrays broadcast (e.g. (T, n) with (n,)).

    Cell temperature T_c = T_a + (NOCT - 20)/800 G (Ross 1980, pvlib.temperature.ross);
    DC: P_dc0 G/1000 (1 + gamma (T_c - 25)) (1 - losses) (pvlib.pvsystem.pvwatts_dc);
    inverter: PVWatts part-load efficiency, AC output clipped at ``s_inv_kva``
    (pvlib.inverter.pvwatts). Dobos 2014, "PVWatts Version 5 Manual", NREL/TP-6A20-62641.
    No incidence-angle or spectral losses beyond ``loss_frac``.
    """
    import pvlib

    t_cell_c = pvlib.temperature.ross(poa_w_m2, t_out_c, noct=noct_c)
    p_dc_kw = pvlib.pvsystem.pvwatts_dc(poa_w_m2, t_cell_c, p_dc0_kw, gamma_pdc_per_k)
    p_dc_kw = p_dc_kw * (1.0 - loss_frac)
    return pvlib.inverter.pvwatts(p_dc_kw, s_inv_kva / eta_inv_nom, eta_inv_nom)


class PVFleet(ConverterFleet):
    """``n`` PV systems at the weather's site; available power for the whole run at construction.

    Per-unit parameters (scalar or length n): ``p_dc0_kw`` DC rating at 1000 W/m2 and 25 degC;
    ``tilt_deg``; ``azimuth_deg`` (180 = south); ``gamma_pdc_per_k`` (default -0.0047 /K, PVWatts
    v5 standard module, Dobos 2014); ``noct_c`` (45 degC, physics.md section 5); ``s_inv_kva``
    inverter apparent-power rating (default = ``p_dc0_kw``, DC/AC ratio 1); ``eta_inv_nom``
    (0.96, PVWatts default). Site: ``loss_frac`` (0.14, PVWatts v5 default system losses) and
    ground ``albedo`` (0.25). INPUTS / OUTPUTS and timing: see :class:`ConverterFleet`.
    Memory: the (T, n) table is 8 bytes per unit and weather row (1000 units, 1 day at 60 s:
    12 MB).
    """

    def __init__(self, n, weather: Weather, p_dc0_kw, tilt_deg=30.0, azimuth_deg=180.0,
                 gamma_pdc_per_k=-0.0047, noct_c=45.0, s_inv_kva=None, eta_inv_nom=0.96,
                 loss_frac=0.14, albedo=0.25):
        if not isinstance(weather, Weather):
            raise ConfigError(f"weather must be a simulators.data.Weather, got {type(weather)}")
        p_dc0_kw = check("p_dc0_kw", check_shape("p_dc0_kw", p_dc0_kw, n), 0, lo_open=True)
        tilt_deg = check("tilt_deg", check_shape("tilt_deg", tilt_deg, n), 0, 90)
        azimuth_deg = check("azimuth_deg", check_shape("azimuth_deg", azimuth_deg, n), 0, 360)
        gamma = check("gamma_pdc_per_k", check_shape("gamma_pdc_per_k", gamma_pdc_per_k, n),
                      -0.01, 0)
        noct_c = check("noct_c", check_shape("noct_c", noct_c, n), 20, 80)
        s_inv_kva = p_dc0_kw.copy() if s_inv_kva is None else check(
            "s_inv_kva", check_shape("s_inv_kva", s_inv_kva, n), 0, lo_open=True)
        eta = check("eta_inv_nom", check_shape("eta_inv_nom", eta_inv_nom, n), 0, 1, lo_open=True)
        check("loss_frac", loss_frac, 0, 1, hi_open=True)
        check("albedo", albedo, 0, 1)

        orientations, group = np.unique(np.column_stack([tilt_deg, azimuth_deg]), axis=0,
                                        return_inverse=True)
        poa = poa_global_w_m2(weather, orientations[:, 0], orientations[:, 1], albedo)
        poa = poa[:, group.ravel()]
        t_out_c = weather.frame["t_out_c"].to_numpy()[:, None]
        p_avail_kw = pv_ac_power_kw(poa, t_out_c, p_dc0_kw, gamma, noct_c, loss_frac,
                                    s_inv_kva, eta)
        super().__init__(np.asarray(p_avail_kw, float), weather.step_s, s_inv_kva)
