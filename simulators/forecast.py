"""Forecast errors for the three-stage controller: forecast = truth + nested AR(1) error.

Stages (physics.md section 7): day-ahead "da", intraday "id", real-time "rt". For every signal
(e.g. "load", "wind") and unit, three standardized AR(1) components are drawn once on a fixed grid
of ``res_s`` and combined so that a later stage is always closer to the truth (nested errors):

    e_rt = s_rt z_rt;  e_id = e_rt + sqrt(s_id^2 - s_rt^2) z_id;  e_da = e_id + sqrt(s_da^2 - s_id^2) z_da

with s = h / 1.96 for a 95 % half-width h. The errors depend only on (seed, signal, stage, target
time), not on when a forecast is issued: two forecasts of one stage for the same target interval
carry the same error (a re-issued intraday forecast does not redraw it, and its horizon does not
widen the error). The errors are piecewise constant on ``[k res_s, (k + 1) res_s)``; a forecast
interval of ``dt_s`` gets the mean of the errors inside it, so hourly means spread slightly less
than h / 1.96.

:class:`Forecaster` turns the truth of a window into a :class:`Forecast` of one stage.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from cosim_base.errors import ConfigError, DataError, check, per_unit
from cosim_base.seeds import stream

STAGES = ("da", "id", "rt")
KINDS = ("relative", "capacity", "absolute")
DISTS = ("normal", "laplace")
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
      "absolute": f = truth + e (in the signal's unit), no clipping.
    ``tau_h``: AR(1) correlation time of each error component, h (> 0).
    ``dist``: "normal" or "laplace" innovations of the same (unit) variance. BOPTEST uses Laplace
      AR(1) for solar (physics.md 7). The stationary marginal of an AR(1) with Laplace innovations
      has kurtosis 3 + 3 (1 - phi^2) / (1 + phi^2): heavy tails (6) only when phi is small.
    ``common``: share in [0, 1] of the variance common to all units of the signal (spatial
      correlation): z = sqrt(c) z_common + sqrt(1 - c) z_unit, so the cross-unit correlation is c.
    """

    half_width: tuple[float, float, float]
    kind: str = "relative"
    tau_h: float = 2.0
    dist: str = "normal"
    common: float = 0.0

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
        return self


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


def _draw(rng: np.random.Generator, dist: str, shape) -> np.ndarray:
    if dist == "laplace":
        return rng.laplace(0.0, np.sqrt(0.5), shape)  # Laplace(b) has variance 2 b^2
    return rng.standard_normal(shape)


class ForecastErrors:
    """Nested AR(1) errors of every signal in ``specs`` for ``n_units[signal]`` units.

    The grid ``k res_s``, k = 0..K-1 with K = duration_s // res_s + 1, covers every time in
    [0, duration_s]: pass the run length plus the longest forecast horizon. Each component
    (signal, comp) with comp in "rt", "id", "da" draws from its own stream
    ``cosim_base.seeds.stream(seed, "forecast", signal, comp)`` (first its common series, then the
    units), so adding a signal or changing one spec never changes another signal's draws, and
    changing a spec's widths, tau_h or common keeps its own draws (common random numbers).
    ``perfect=True`` makes every error exactly zero (nothing is drawn).
    Memory: 3 x 8 bytes per unit and grid point per signal are kept (1000 units, 2 days at 300 s:
    14 MB; a year: 2.5 GB), about three times that while one signal is generated.
    """

    def __init__(self, specs: dict[str, ErrorSpec], n_units: dict[str, int], duration_s: int,
                 res_s: int = 300, seed: int = 0, perfect: bool = False):
        self.res_s = _int_field("forecast.res_s", res_s, 0, lo_open=True)
        self.duration_s = _int_field("forecast.duration_s", duration_s, 0)
        self.K = self.duration_s // self.res_s + 1
        self.seed = int(seed)
        self.perfect = bool(perfect)
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
        if not self.perfect:
            for signal in self.specs:
                self._e[signal] = self._generate(signal)

    def _generate(self, signal: str) -> dict[str, np.ndarray]:
        spec, n = self.specs[signal], self.n_units[signal]
        phi = float(np.exp(-self.res_s / (3600.0 * spec.tau_h)))
        c = float(spec.common)
        z = np.empty((self.K, 3, n + 1))  # time, comp (rt, id, da), [common series, units]
        for i, comp in enumerate(("rt", "id", "da")):
            rng = stream(self.seed, "forecast", signal, comp)
            z[:, i, 0] = _draw(rng, spec.dist, self.K)
            z[:, i, 1:] = _draw(rng, spec.dist, (self.K, n))
        _ar1_inplace(z, phi)
        z = np.sqrt(c) * z[:, :, :1] + np.sqrt(1.0 - c) * z[:, :, 1:]
        z_rt, z_id, z_da = z[:, 0], z[:, 1], z[:, 2]
        s_da, s_id, s_rt = spec.sigma()
        e_rt = s_rt * z_rt
        e_id = e_rt + np.sqrt(s_id ** 2 - s_rt ** 2) * z_id
        e_da = e_id + np.sqrt(s_da ** 2 - s_id ** 2) * z_da
        return {"rt": e_rt, "id": e_id, "da": e_da}

    def _spec(self, signal: str, stage: str) -> ErrorSpec:
        if signal not in self.specs:
            raise ConfigError(f"forecast signal {signal!r} has no ErrorSpec (known: {sorted(self.specs)})")
        if stage not in STAGES:
            raise ConfigError(f"forecast stage = {stage!r} is not one of {', '.join(STAGES)}")
        return self.specs[signal]

    def error(self, signal: str, stage: str, t0_s: int, dt_s: int, T: int) -> np.ndarray:
        """(n, T): mean of the stage's error over [t0_s + k dt_s, t0_s + (k + 1) dt_s), k < T.

        ``t0_s`` and ``dt_s`` must be multiples of ``res_s``; a window outside the generated
        grid [0, K res_s) is a DataError naming the times.
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
        i0 = t0_s // self.res_s
        return self._e[signal][stage][i0:i0 + T * m].reshape(T, m, n).mean(axis=1).T  # stored (K, n)

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
