"""Base (household and other uncontrolled) loads following real profiles, with a power factor."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError, DataError, check, check_shape
from simulators.fleet import Fleet, tan_phi


class BaseLoadFleet(Fleet):
    """``n`` loads p = p_peak_kw * profile, q from the power factor. No INPUTS.

    ``profile_pu``: DataFrame indexed by t_s with one column per unit, values in p.u. of
    ``p_peak_kw`` and each row the mean over ``[t_s, t_s + step)`` -- as returned by
    :func:`simulators.data.load_profiles` (SimBench profiles, p.u. of their annual peak; see
    there how units get distinct real profiles). ``None`` is the constant-power mode (profile
    of ones, e.g. the IEEE 33 base case, any t_s). ``pf`` (scalar or length n) in (0, 1], lagging.
    A step's power is the mean of the profile rows it covers (t_s, dt_s multiples of the
    profile step).
    OUTPUTS: ``p_mw``, ``q_mvar`` (consumer convention, positive = drawn from the grid).
    """

    OUTPUTS = ("p_mw", "q_mvar")

    def __init__(self, n, p_peak_kw, pf=0.95, profile_pu: pd.DataFrame | None = None):
        self.n = n
        self.p_peak_kw = check("p_peak_kw", check_shape("p_peak_kw", p_peak_kw, n), 0)
        self.pf = check("pf", check_shape("pf", pf, n), 0, 1, lo_open=True)
        self.profile_pu = None
        if profile_pu is not None:
            if not isinstance(profile_pu, pd.DataFrame) or profile_pu.shape[1] != n:
                raise ConfigError(f"profile_pu must be a DataFrame with n = {n} columns")
            if len(profile_pu) < 2:
                raise DataError("profile_pu needs at least 2 rows (t_s = 0 and one step)")
            self.profile_pu = check("profile_pu", profile_pu.to_numpy(float), 0)
            self.profile_step_s = int(profile_pu.index[1] - profile_pu.index[0])

    def _profile_mean(self, t_s: int, dt_s: float) -> np.ndarray:
        if self.profile_pu is None:
            return np.ones(self.n)
        k0, k1 = t_s / self.profile_step_s, (t_s + dt_s) / self.profile_step_s
        if k0 != int(k0) or k1 != int(k1) or k1 <= k0:
            raise DataError(f"t_s = {t_s}, dt_s = {dt_s} must be multiples of the profile step "
                            f"{self.profile_step_s} s")
        if k0 < 0 or k1 > len(self.profile_pu):
            raise DataError(f"t_s = {t_s} + dt_s = {dt_s} is outside the profile's "
                            f"[0, {len(self.profile_pu) * self.profile_step_s}) s")
        return self.profile_pu[int(k0):int(k1)].mean(axis=0)

    def mean_kw(self, t0_s: int, dt_s: int, T: int) -> np.ndarray:
        """True active power (n, T) averaged over [t0 + k dt, t0 + (k+1) dt), kW."""
        return np.stack([self.p_peak_kw * self._profile_mean(t0_s + k * dt_s, dt_s) for k in range(T)], axis=1)

    def step(self, t_s, dt_s, inputs):
        p_kw = self.p_peak_kw * self._profile_mean(t_s, dt_s)
        return {"p_mw": p_kw / 1000.0, "q_mvar": p_kw * tan_phi(self.pf) / 1000.0}
