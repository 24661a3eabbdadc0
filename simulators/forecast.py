"""Forecast errors for the three-stage controller: forecast = truth + nested AR(1) error.

Stages (physics.md section 7): day-ahead "da", intraday "id", real-time "rt". For every signal
(e.g. "load", "wind") and unit, three standardized AR(1) components y_rt, y_id, y_da (unit
variance at long lead) are combined so that a later stage is always closer to the truth (nested
errors):

    e_rt = m + s_rt y_rt;  e_id = e_rt + sqrt(s_id^2 - s_rt^2) y_id;  e_da = e_id + sqrt(s_da^2 - s_id^2) y_da

with s = h / 1.96 for a 95 % half-width h and m the mean error (``bias``). On a grid of ``res_s``
every component is an AR(1) with phi = exp(-res_s / tau), and ``growth`` says along which time:

"lead_time" (default): the error is made when the forecast is issued, at t0, and propagates
along its horizon, as in BOPTEST's forecast uncertainty emulator (Zheng et al. 2025, J. Build.
Perf. Sim., doi:10.1080/19401493.2025.2453537; ibpsa/project1-boptest forecast/error_emulator.py).
At lead L_k = k res_s, with w_k i.i.d. of unit variance and r = ``nowcast``:

    y(t0, L_0) = r w_0;  y(t0, L_k) = phi y(t0, L_{k-1}) + sqrt(1 - phi^2) w_k
    Var y(t0, L_k) = 1 - (1 - r^2) phi^(2k);   m(L_k) = b + (b_0 - b) phi^k   (bias = (b_0, b))

so the spread is r s at lead 0 and grows towards s (the half-width is the long-lead level). The
w of component c come from ``stream(seed, "forecast", signal, c, "t0=<t0_s>")``: the same for
every stage issued at t0 (a shorter horizon draws a prefix of a longer one), so stages issued
together are nested exactly (e_da - e_id is independent of e_id); a forecast issued at another
time draws anew. A stage issued later than another sees a shorter lead at the same target, so
with r <= 1 and non-increasing half-widths its spread there is never larger.

"target_time": the errors depend only on (seed, signal, stage, target time), not on when a
forecast is issued: two forecasts of one stage for the same target interval carry the same error
(a re-issued intraday forecast does not redraw it, and its horizon does not widen the error);
the mean is b. Drawn once for the whole run (``stream(seed, "forecast", signal, c)``).

The errors are piecewise constant on ``[t0 + k res_s, t0 + (k + 1) res_s)``; a forecast interval
of ``dt_s`` gets the mean of the errors inside it, so hourly means spread slightly less than s.
:func:`boptest_errors` maps BOPTEST's published low / medium / high levels for outdoor
temperature and irradiance onto these parameters.

:class:`Forecaster` turns the truth of a window into a :class:`Forecast` of one stage.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from cosim_base.errors import ConfigError, DataError, check, per_unit
from cosim_base.seeds import stream

STAGES = ("da", "id", "rt")
KINDS = ("relative", "capacity", "absolute", "bounded")
DISTS = ("normal", "laplace")
GROWTHS = ("lead_time", "target_time")
BOUNDS = (0.2, 2.0)  # "bounded" kind: BOPTEST clips GHI forecasts to [0.2, 2] x truth (forecaster.py)
Z95 = 1.96  # 95 % two-sided quantile of the normal distribution: sigma = h / 1.96 (physics.md 7)


@dataclass(frozen=True)
class ErrorSpec:
    """Forecast error of one signal.

    ``half_width``: 95 % half-widths (da, id, rt), >= 0 and non-increasing; sigma = h / 1.96.
    ``kind``: how the error e (a standardized draw times sigma) acts on the truth:
      "relative": f = truth (1 + e), clipped at 0;
      "capacity": f = truth + e capacity, clipped to [0, capacity]. Clipping biases the forecast
        towards the interior (near 0 it over-forecasts, near capacity it under-forecasts);
        physics.md 7 asks to say so;
      "absolute": f = truth + e (in the signal's unit), no clipping;
      "bounded": f = truth + e (signal's unit) clipped to [0.2, 2] x truth (BOPTEST's GHI bounds:
        zero when the truth is, e.g. at night; for non-negative signals).
    ``tau_h``: AR(1) correlation time of each error component, h (> 0).
    ``dist``: "normal" or "laplace" innovations of the same (unit) variance. BOPTEST uses Laplace
      AR(1) for solar (physics.md 7). The stationary marginal of an AR(1) with Laplace innovations
      has kurtosis 3 + 3 (1 - phi^2) / (1 + phi^2): heavy tails (6) only when phi is small.
    ``common``: share in [0, 1] of the variance common to all units of the signal (spatial
      correlation): z = sqrt(c) z_common + sqrt(1 - c) z_unit, so the cross-unit correlation is c.
    ``nowcast``: r >= 0, the error's standard deviation at lead 0 as a share of the long-lead one
      (lead-time growth only; r < 1: the spread grows with lead, r = 0: the present is known).
    ``bias``: (b_0, b) mean error at lead 0 and at long lead, in the units of e (target-time
      growth uses b); common to all stages and units.
    """

    half_width: tuple[float, float, float]
    kind: str = "relative"
    tau_h: float = 2.0
    dist: str = "normal"
    common: float = 0.0
    nowcast: float = 0.5  # est. (see DEFAULT_ERRORS)
    bias: tuple[float, float] = (0.0, 0.0)

    def scaled(self, factor: float) -> ErrorSpec:
        """The same error with every half-width and bias times ``factor`` (a noise level)."""
        return replace(self, half_width=tuple(factor * h for h in self.half_width),
                       bias=tuple(factor * b for b in self.bias))

    def sigma(self) -> np.ndarray:
        """Standard deviations (da, id, rt) of the stage errors."""
        return np.asarray(self.half_width, float) / Z95

    def validate(self, prefix: str = "forecast") -> ErrorSpec:
        """Raise ConfigError naming ``prefix.field`` (e.g. "forecast.load.half_width") on bad values."""
        hw = np.asarray(self.half_width, dtype=float)
        if hw.shape != (3,):
            raise ConfigError(f"{prefix}.half_width = {self.half_width!r} must be 3 values (da, id, rt)")
        check(f"{prefix}.half_width", hw, 0)
        if not (hw[0] >= hw[1] >= hw[2]):
            raise ConfigError(f"{prefix}.half_width = {tuple(hw.tolist())} must be non-increasing "
                              "(da >= id >= rt: a later stage is closer to the truth)")
        if self.kind not in KINDS:
            raise ConfigError(f"{prefix}.kind = {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.dist not in DISTS:
            raise ConfigError(f"{prefix}.dist = {self.dist!r} is not one of {', '.join(DISTS)}")
        check(f"{prefix}.tau_h", self.tau_h, 0, lo_open=True)
        check(f"{prefix}.common", self.common, 0, 1)
        check(f"{prefix}.nowcast", self.nowcast, 0)
        if np.shape(self.bias) != (2,):
            raise ConfigError(f"{prefix}.bias = {self.bias!r} must be 2 values (lead 0, long lead)")
        check(f"{prefix}.bias", np.asarray(self.bias, dtype=float))
        return self


#: nowcast: the ErrorSpec default 0.5 for every signal (est., after BOPTEST's "low" temperature level, whose lead-0 spread
#: K0 = 0.6 K is 0.59 of its long-lead K / sqrt(1 - F^2) = 1.02 K): the mean of the coming period
#: is not known at its start.
DEFAULT_ERRORS: dict[str, ErrorSpec] = {
    # seed 001: load +-3 % / 1 % / 0.5 %; tau_h 2 h est.
    "load": ErrorSpec((0.03, 0.01, 0.005), "relative", tau_h=2.0),
    # seed 001: wind +-20 % / 5 % / 2 %, read as shares of installed capacity (physics.md 7);
    # tau_h 3 h est. (wind errors persist over weather-system time scales)
    "wind": ErrorSpec((0.20, 0.05, 0.02), "capacity", tau_h=3.0),
    # est. 0.15 / 0.05 / 0.02 of capacity; Laplace after BOPTEST's solar errors; tau_h 1 h est. (clouds)
    "pv": ErrorSpec((0.15, 0.05, 0.02), "capacity", tau_h=1.0, dist="laplace"),
    # est. 2.0 / 1.0 / 0.5 K after BOPTEST's ~1 K "low" level (physics.md 7); tau_h 6 h est.
    "t_out_c": ErrorSpec((2.0, 1.0, 0.5), "absolute", tau_h=6.0),
    # est. 25 % / 10 % / 5 % relative, Laplace like BOPTEST's solar; tau_h 1 h est.
    "ghi_kw_m2": ErrorSpec((0.25, 0.10, 0.05), "relative", tau_h=1.0, dist="laplace"),
}

#: BOPTEST's published forecast uncertainty levels (ibpsa/project1-boptest, commit 0f8a467c,
#: forecast/forecast_uncertainty_params.json; Zheng et al. 2025). Hourly AR(1) along the horizon of
#: e = truth - forecast (forecaster.py subtracts it), at hour 0 and hour k + 1 of the horizon:
#: temperature (K)  e_0 ~ N(F0, K0^2),           e_k+1 ~ N(F e_k + mu, K^2);
#: GHI (W/m2)       e_0 ~ Laplace(ag0, bg0),     e_k+1 ~ Laplace(phi e_k + ag, bg)   (scale b).
BOPTEST_LEVELS = {
    "low": {"temperature": dict(F0=0.0, K0=0.6, F=0.92, K=0.4, mu=0.0),
            "solar": dict(ag0=4.44, bg0=57.42, phi=0.62, ag=1.86, bg=45.64)},
    "medium": {"temperature": dict(F0=0.15, K0=1.2, F=0.93, K=0.6, mu=0.0),
               "solar": dict(ag0=15.02, bg0=122.6, phi=0.63, ag=4.44, bg=91.97)},
    "high": {"temperature": dict(F0=-0.58, K0=1.5, F=0.95, K=0.7, mu=-0.015),
             "solar": dict(ag0=32.09, bg0=119.94, phi=0.67, ag=10.63, bg=87.44)},
}


def _boptest_spec(F: float, sd0: float, sd: float, mean0: float, mean: float, kind: str, dist: str,
                  scale: float) -> ErrorSpec:
    """ErrorSpec of BOPTEST's AR(1) e_k+1 = F e_k + mean + innovation (sd), e_0 of mean0 and sd0:
    long-lead sd s = sd / sqrt(1 - F^2), tau_h = -1 / ln F (F per hour), nowcast = sd0 / s,
    bias = -(mean0, mean / (1 - F)) (our e = forecast - truth), all times ``scale`` (units)."""
    s = sd / np.sqrt(1.0 - F * F)
    h = float(Z95 * s * scale)
    return ErrorSpec((h, h, h), kind, tau_h=float(-1.0 / np.log(F)), dist=dist, nowcast=float(sd0 / s),
                     bias=(float(0.0 - mean0 * scale), float(0.0 - mean / (1.0 - F) * scale)))


def boptest_errors(level: str) -> dict[str, ErrorSpec]:
    """Errors of "t_out_c" and "ghi_kw_m2" at BOPTEST's ``level`` ("low", "medium", "high").

    BOPTEST has one forecast, no stages: every stage gets the same half-width (the long-lead
    level) and differs only by its lead. Our AR(1) runs at res_s with the same hourly phi, so with
    lead-time growth the hourly spread and mean match BOPTEST's; Laplace innovations at res_s sum
    to a less heavy-tailed hourly marginal. GHI: kind "bounded" (BOPTEST's [0.2, 2] x truth clip);
    BOPTEST's redraw of paths leaving those bounds and its 3-point mean filter are not emulated.
    """
    if level not in BOPTEST_LEVELS:
        raise ConfigError(f"BOPTEST level = {level!r} is not one of {', '.join(BOPTEST_LEVELS)}")
    t, g = BOPTEST_LEVELS[level]["temperature"], BOPTEST_LEVELS[level]["solar"]
    laplace_sd = np.sqrt(2.0)  # Laplace(scale b) has sd sqrt(2) b
    return {"t_out_c": _boptest_spec(t["F"], t["K0"], t["K"], t["F0"], t["mu"], "absolute", "normal", 1.0),
            "ghi_kw_m2": _boptest_spec(g["phi"], laplace_sd * g["bg0"], laplace_sd * g["bg"], g["ag0"], g["ag"],
                                       "bounded", "laplace", 1e-3)}


def _int_field(field: str, value, lo: int, lo_open: bool = False) -> int:
    """``value`` as an int >= lo (> lo if lo_open), else ConfigError naming ``field``."""
    check(field, value, lo, lo_open=lo_open)
    if int(value) != value:
        raise ConfigError(f"{field} = {value!r} must be an integer")
    return int(value)


def _ar1_inplace(z: np.ndarray, phi: float) -> np.ndarray:
    """Turn i.i.d. unit-variance draws w (the array ``z``, overwritten) into an AR(1) along axis 0:
    z[0] = w[0], z[k] = phi z[k-1] + sqrt(1 - phi^2) w[k] (unit variance at every k)."""
    z[1:] *= np.sqrt(1.0 - phi * phi)
    for k in range(1, z.shape[0]):  # time first: one contiguous vector operation per step
        z[k] += phi * z[k - 1]
    return z


def _increments(spec: ErrorSpec) -> tuple[float, float, float]:
    """Standard deviations of the rt, id and da components: s_rt, sqrt(s_id^2 - s_rt^2), ..."""
    s_da, s_id, s_rt = spec.sigma()
    return float(s_rt), float(np.sqrt(s_id ** 2 - s_rt ** 2)), float(np.sqrt(s_da ** 2 - s_id ** 2))


def _draw(rng: np.random.Generator, dist: str, shape) -> np.ndarray:
    if dist == "laplace":
        return rng.laplace(0.0, np.sqrt(0.5), shape)  # Laplace(b) has variance 2 b^2
    return rng.standard_normal(shape)


class ForecastErrors:
    """Nested AR(1) errors of every signal in ``specs`` for ``n_units[signal]`` units.

    Forecast windows must lie in [0, K res_s) with K = duration_s // res_s + 1, which covers every
    time in [0, duration_s]: pass the run length plus the longest forecast horizon. Each component
    (signal, comp) with comp in "rt", "id", "da" draws from its own streams (module docstring;
    target time: first the common series, then the units; lead time: time-major, the common
    series in column 0 of every lead), so adding a signal or changing one spec never changes
    another signal's draws, and changing a spec's widths, tau_h, common, nowcast or bias keeps its
    own draws (common random numbers). ``growth``: "lead_time" or "target_time"
    (module docstring). ``perfect=True`` makes every error exactly zero (nothing is drawn).
    Memory: lead-time errors are drawn when a forecast is made and not kept; target-time errors
    keep 3 x 8 bytes per unit and grid point per signal (1000 units, 2 days at 300 s: 14 MB; a
    year: 2.5 GB), about three times that while one signal is generated.
    """

    def __init__(self, specs: dict[str, ErrorSpec], n_units: dict[str, int], duration_s: int,
                 res_s: int = 300, seed: int = 0, perfect: bool = False, growth: str = "lead_time"):
        self.res_s = _int_field("forecast.res_s", res_s, 0, lo_open=True)
        self.duration_s = _int_field("forecast.duration_s", duration_s, 0)
        self.K = self.duration_s // self.res_s + 1
        self.seed = int(seed)
        self.perfect = bool(perfect)
        if growth not in GROWTHS:
            raise ConfigError(f"forecast.growth = {growth!r} is not one of {', '.join(GROWTHS)}")
        self.growth = growth
        self.specs: dict[str, ErrorSpec] = {}
        self.n_units: dict[str, int] = {}
        for signal, spec in specs.items():
            if not isinstance(spec, ErrorSpec):
                raise ConfigError(f"forecast.{signal} must be an ErrorSpec, got {type(spec).__name__}")
            self.specs[signal] = spec.validate(f"forecast.{signal}")
            if signal not in n_units:
                raise ConfigError(f"forecast.n_units has no entry for signal {signal!r}")
            self.n_units[signal] = _int_field(f"forecast.n_units.{signal}", n_units[signal], 1)
        self._e: dict[str, dict[str, np.ndarray]] = {}
        if not self.perfect and growth == "target_time":
            for signal in self.specs:
                self._e[signal] = self._generate(signal)

    def _phi(self, spec: ErrorSpec) -> float:
        return float(np.exp(-self.res_s / (3600.0 * spec.tau_h)))

    def _generate(self, signal: str) -> dict[str, np.ndarray]:
        """Target-time errors (K, n) of every stage."""
        spec, n = self.specs[signal], self.n_units[signal]
        c = float(spec.common)
        z = np.empty((self.K, 3, n + 1))  # time, comp (rt, id, da), [common series, units]
        for i, comp in enumerate(("rt", "id", "da")):
            rng = stream(self.seed, "forecast", signal, comp)
            z[:, i, 0] = _draw(rng, spec.dist, self.K)
            z[:, i, 1:] = _draw(rng, spec.dist, (self.K, n))
        _ar1_inplace(z, self._phi(spec))
        z = np.sqrt(c) * z[:, :, :1] + np.sqrt(1.0 - c) * z[:, :, 1:]
        e, out = float(spec.bias[1]), {}
        for i, (stage, d) in enumerate(zip(("rt", "id", "da"), _increments(spec))):
            e = out[stage] = e + d * z[:, i]
        return out

    def _lead_time(self, signal: str, stage: str, t0_s: int, steps: int) -> np.ndarray:
        """Lead-time errors (steps, n) of ``stage`` issued at ``t0_s``, leads 0 .. steps - 1 (res_s)."""
        spec, n = self.specs[signal], self.n_units[signal]
        phi, c = self._phi(spec), float(spec.common)
        b0, b = spec.bias
        e = np.broadcast_to(b + (b0 - b) * phi ** np.arange(steps)[:, None], (steps, n)).copy()
        for comp, d in zip(("rt", "id", "da")[:3 - STAGES.index(stage)], _increments(spec)):
            if d == 0.0:
                continue  # its own stream: skipping it changes no other draw
            # time-major draws: a shorter horizon gets a prefix of a longer one (stages share comps)
            z = _draw(stream(self.seed, "forecast", signal, comp, f"t0={t0_s}"), spec.dist, (steps, n + 1))
            z[0] *= spec.nowcast
            _ar1_inplace(z, phi)
            e += d * (np.sqrt(c) * z[:, :1] + np.sqrt(1.0 - c) * z[:, 1:])
        return e

    def _spec(self, signal: str, stage: str) -> ErrorSpec:
        if signal not in self.specs:
            raise ConfigError(f"forecast signal {signal!r} has no ErrorSpec (known: {sorted(self.specs)})")
        if stage not in STAGES:
            raise ConfigError(f"forecast stage = {stage!r} is not one of {', '.join(STAGES)}")
        return self.specs[signal]

    def error(self, signal: str, stage: str, t0_s: int, dt_s: int, T: int) -> np.ndarray:
        """(n, T): mean of the stage's error over [t0_s + k dt_s, t0_s + (k + 1) dt_s), k < T.

        With lead-time growth the forecast is issued at ``t0_s``. ``t0_s`` and ``dt_s`` must be
        multiples of ``res_s``; a window outside [0, K res_s) is a DataError naming the times.
        """
        self._spec(signal, stage)
        t0_s = _int_field("forecast t0_s", t0_s, 0)
        dt_s = _int_field("forecast dt_s", dt_s, 0, lo_open=True)
        T = _int_field("forecast T", T, 0)
        if t0_s % self.res_s or dt_s % self.res_s:
            raise ConfigError(f"forecast t0_s = {t0_s} and dt_s = {dt_s} must be multiples of "
                              f"res_s = {self.res_s}")
        end_s = t0_s + T * dt_s
        if end_s > self.K * self.res_s:
            raise DataError(f"forecast {signal}/{stage}: window [{t0_s}, {end_s}) s is outside the "
                            f"generated errors [0, {self.K * self.res_s}) s (pass a longer duration_s)")
        n = self.n_units[signal]
        if self.perfect:
            return np.zeros((n, T))
        m = dt_s // self.res_s
        if self.growth == "lead_time":
            e = self._lead_time(signal, stage, t0_s, T * m)
        else:
            i0 = t0_s // self.res_s
            e = self._e[signal][stage][i0:i0 + T * m]  # stored (K, n)
        return e.reshape(T, m, n).mean(axis=1).T

    def apply(self, signal: str, stage: str, truth, t0_s: int, dt_s: int, capacity=None) -> np.ndarray:
        """(n, T) forecast of the interval means ``truth`` (n, T) by the signal's kind.

        "capacity" needs ``capacity`` (scalar or (n,), >= 0, the signal's unit). With
        ``perfect`` the truth is returned unchanged (as a float copy).
        """
        spec = self._spec(signal, stage)
        truth = np.asarray(truth, dtype=float)
        n = self.n_units[signal]
        if truth.ndim != 2 or truth.shape[0] != n:
            raise DataError(f"forecast {signal}: truth has shape {truth.shape}, expected ({n}, T)")
        if spec.kind == "capacity":
            if capacity is None:
                raise ConfigError(f"forecast.{signal}.kind = 'capacity' needs a capacity")
            cap = per_unit(f"forecast.{signal}.capacity", capacity, n, 0)[:, None]
        e = self.error(signal, stage, t0_s, dt_s, truth.shape[1])
        if self.perfect:
            return truth.copy()
        if spec.kind == "relative":
            return np.maximum(truth * (1.0 + e), 0.0)
        if spec.kind == "capacity":
            return np.clip(truth + e * cap, 0.0, cap)
        if spec.kind == "bounded":
            return np.clip(truth + e, BOUNDS[0] * truth, BOUNDS[1] * truth)
        return truth + e


@dataclass(frozen=True, eq=False)
class Forecast:
    """One stage's forecast made at ``made_at_s`` for [start_s, start_s + T dt_s).

    ``values``: signal -> (n, T) interval means, read-only (in-process mosaik shares the object).
    """

    stage: str
    made_at_s: int
    start_s: int
    dt_s: int
    values: dict[str, np.ndarray]

    @property
    def times_s(self) -> np.ndarray:
        """Start time of every interval, s."""
        T = next(iter(self.values.values())).shape[1] if self.values else 0
        return self.start_s + self.dt_s * np.arange(T)


class Truth:
    """True interval means of every forecast signal, built by the caller from plant data.

    ``signals[name](t0_s, dt_s, T)`` -> (n, T) true means over [t0_s + k dt_s, t0_s + (k+1) dt_s).
    ``capacity[name]``: (n,) or scalar installed capacity, needed by "capacity"-kind errors.
    """

    def __init__(self, signals: dict[str, Callable[[int, int, int], np.ndarray]],
                 capacity: dict[str, np.ndarray] | None = None):
        if not signals:
            raise ConfigError("forecast truth needs at least one signal")
        self.signals = dict(signals)
        self.capacity = dict(capacity or {})


@dataclass(frozen=True)
class StageGrid:
    """Resolution ``dt_s`` and horizon length ``T`` (intervals) of one stage's forecast."""

    dt_s: int
    T: int


class Forecaster:
    """Forecasts of every truth signal at a stage: truth plus that stage's errors.

    Signals of the truth without an ErrorSpec are passed through exactly (``exact_signals``).
    The truth is queried only for the forecast window [made_at_s, made_at_s + T dt_s).
    """

    def __init__(self, truth: Truth, errors: ForecastErrors, grids: dict[str, StageGrid]):
        self.truth = truth
        self.errors = errors
        self.grids: dict[str, StageGrid] = {}
        for stage, grid in grids.items():
            if stage not in STAGES:
                raise ConfigError(f"forecast.grids stage = {stage!r} is not one of {', '.join(STAGES)}")
            dt_s = _int_field(f"forecast.grids.{stage}.dt_s", grid.dt_s, 0, lo_open=True)
            if dt_s % errors.res_s:
                raise ConfigError(f"forecast.grids.{stage}.dt_s = {dt_s} must be a multiple of "
                                  f"res_s = {errors.res_s}")
            self.grids[stage] = StageGrid(dt_s, _int_field(f"forecast.grids.{stage}.T", grid.T, 1))
        self.exact_signals = [s for s in truth.signals if s not in errors.specs]
        for s in truth.signals:
            if s in errors.specs and errors.specs[s].kind == "capacity" and s not in truth.capacity:
                raise ConfigError(f"forecast.{s}.kind = 'capacity' but the truth has no capacity for {s!r}")

    def forecast(self, stage: str, made_at_s: int) -> Forecast:
        """Forecast of ``stage`` made at ``made_at_s`` over [made_at_s, made_at_s + T dt_s)."""
        if stage not in self.grids:
            raise ConfigError(f"forecast stage = {stage!r} has no grid (known: {sorted(self.grids)})")
        g = self.grids[stage]
        made_at_s = int(made_at_s)
        values = {}
        for name, fn in self.truth.signals.items():
            truth = np.asarray(fn(made_at_s, g.dt_s, g.T), dtype=float)
            if truth.ndim != 2 or truth.shape[1] != g.T:
                raise DataError(f"forecast truth {name!r} returned shape {truth.shape}, expected (n, {g.T})")
            if name in self.errors.specs:
                f = self.errors.apply(name, stage, truth, made_at_s, g.dt_s,
                                      capacity=self.truth.capacity.get(name))
            else:
                f = truth.copy()
            f.flags.writeable = False
            values[name] = f
        return Forecast(stage, made_at_s, made_at_s, g.dt_s, values)
