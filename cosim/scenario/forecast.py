"""``[forecast]``: the forecast errors the controller sees, per signal and stage level."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from cosim.scenario.checks import _FrozenMap, _Table, _build, _check_keys, _choice, _float, _int, _names, _set
from cosim_base.errors import ConfigError
from simulators.forecast import BOPTEST_LEVELS, DISTS as ERROR_DISTS, GROWTHS, KINDS as ERROR_KINDS, boptest_errors
from simulators.forecast import DEFAULT_ERRORS as FORECAST_DEFAULTS


@dataclass(frozen=True)
class ErrorConfig(_Table):
    """Forecast error of one signal (simulators.forecast's ErrorSpec, validated here too).

    ``half_width``: 95 % half-widths of the da, id, rt errors (>= 0, non-increasing; sigma =
    h / 1.96; with lead-time growth the long-lead level). ``kind``: ``"relative"`` (share of the
    truth), ``"capacity"`` (share of the installed capacity), ``"absolute"`` (signal units) or
    ``"bounded"`` (signal units, forecast clipped to [0.2, 2] x truth). ``tau_h`` > 0: AR(1)
    correlation time. ``dist``: ``"normal"`` or ``"laplace"``. ``common`` in [0, 1]: share of the
    variance common to all units of the signal. ``nowcast`` >= 0: standard deviation at lead 0 as
    a share of the long-lead one (lead-time growth). ``bias``: mean error at lead 0 and at long
    lead (units of the half-width).
    """

    half_width: tuple[float, float, float]
    kind: str = "relative"
    tau_h: float = 2.0
    dist: str = "normal"
    common: float = 0.0
    nowcast: float = 0.5
    bias: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self):
        hw = self.half_width
        if not isinstance(hw, (list, tuple)) or len(hw) != 3:
            raise ConfigError(f"half_width = {hw!r} must be 3 numbers (da, id, rt)")
        hw = tuple(_float(f"half_width[{i}]", h, 0) for i, h in enumerate(hw))
        if not hw[0] >= hw[1] >= hw[2]:
            raise ConfigError(f"half_width = {list(hw)} must be non-increasing (da >= id >= rt)")
        _set(self, "half_width", hw)
        _choice("kind", self.kind, ERROR_KINDS)
        _set(self, "tau_h", _float("tau_h", self.tau_h, 0, lo_open=True))
        _choice("dist", self.dist, ERROR_DISTS)
        _set(self, "common", _float("common", self.common, 0, 1))
        _set(self, "nowcast", _float("nowcast", self.nowcast, 0))
        if not isinstance(self.bias, (list, tuple)) or len(self.bias) != 2:
            raise ConfigError(f"bias = {self.bias!r} must be 2 numbers (lead 0, long lead)")
        _set(self, "bias", tuple(_float(f"bias[{i}]", b) for i, b in enumerate(self.bias)))


#: Default forecast errors per signal: simulators.forecast.DEFAULT_ERRORS (sources next to them there).
DEFAULT_ERRORS = {k: ErrorConfig(**asdict(e)) for k, e in FORECAST_DEFAULTS.items()}
SIGNALS = tuple(DEFAULT_ERRORS)
#: ``forecast.preset``: "none" keeps DEFAULT_ERRORS; "boptest-<level>" sets the outdoor temperature
#: and irradiance errors to BOPTEST's level (simulators.forecast.boptest_errors); others as configured.
PRESETS = ("none", *(f"boptest-{level}" for level in BOPTEST_LEVELS))
PRESET_SIGNALS = ("t_out_c", "ghi_kw_m2")


def preset_errors(preset: str) -> dict[str, ErrorConfig]:
    """The error of every signal under ``preset`` (:data:`PRESETS`) before ``[forecast.errors]``."""
    _choice("forecast.preset", preset, PRESETS)
    if preset == "none":
        return dict(DEFAULT_ERRORS)
    return {**DEFAULT_ERRORS, **{k: ErrorConfig(**asdict(e))
                                 for k, e in boptest_errors(preset.removeprefix("boptest-")).items()}}


@dataclass(frozen=True)
class ForecastConfig(_Table):
    """What the controller is told about the future (``[forecast]``).

    ``perfect``: forecasts equal the truth. ``growth``: ``"lead_time"`` (an error made when the
    forecast is issued grows along its horizon) or ``"target_time"`` (the error depends on the
    target time only; simulators.forecast). ``preset``: one of :data:`PRESETS`, the errors that
    signals not given in ``errors`` keep (:func:`preset_errors`; in TOML,
    ``[forecast.errors.<signal>]`` overrides only the keys it gives, on top of the preset;
    :meth:`Scenario.updated` of ``forecast.preset`` resets :data:`PRESET_SIGNALS` to the new
    preset). ``res_s``: time resolution of the error processes (> 0, divides 300 s). ``errors``:
    :class:`ErrorConfig` per signal of :data:`SIGNALS`. ``error_scale``: factor (0..10) on every
    signal's half-widths and bias, the noise level of a robustness sweep (1: as given; 0: zero
    errors, like ``perfect``).
    """

    perfect: bool = False
    growth: str = "lead_time"
    preset: str = "none"
    res_s: int = 300
    error_scale: float = 1.0
    errors: Mapping[str, ErrorConfig] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.perfect, bool):
            raise ConfigError(f"forecast.perfect = {self.perfect!r} must be true or false")
        _choice("forecast.growth", self.growth, GROWTHS)
        base = preset_errors(self.preset)
        _set(self, "res_s", _int("forecast.res_s", self.res_s, 1, 300))
        if 300 % self.res_s:
            raise ConfigError(f"forecast.res_s = {self.res_s} must divide 300")
        _set(self, "error_scale", _float("forecast.error_scale", self.error_scale, 0, 10))
        _check_keys("forecast.errors", self.errors, SIGNALS)
        for sig, spec in self.errors.items():
            if not isinstance(spec, ErrorConfig):
                raise ConfigError(f"forecast.errors.{sig} = {spec!r} must be an ErrorConfig")
        _set(self, "errors", _FrozenMap((s, self.errors.get(s, base[s])) for s in SIGNALS))

    @classmethod
    def _from_table(cls, table) -> ForecastConfig:
        _check_keys("forecast", table, _names(cls))
        kw = dict(table)
        if "errors" in kw:
            _check_keys("forecast.errors", kw["errors"], SIGNALS)
            base = preset_errors(kw.get("preset", "none"))
            kw["errors"] = {s: _build(f"forecast.errors.{s}", ErrorConfig, t, base[s])
                            for s, t in kw["errors"].items()}
        return cls(**kw)
