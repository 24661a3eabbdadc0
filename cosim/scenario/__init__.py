"""The scenario of a run: a TOML file and the same thing as a frozen, validated Python object.

A :class:`Scenario` says what to run: network and devices, calendar window and plant step, seed,
data sources, the three-stage controller (day-ahead ``da``, intraday ``id``, real-time ``rt``)
and the forecast errors it sees. Every field has a default; the defaults are the shipped default
scenario (``scenarios/default.toml``). Validation happens in ``__post_init__`` of every class, so
``Scenario(...)``, :func:`dataclasses.replace`, :meth:`Scenario.from_toml` and
:meth:`Scenario.updated` all reject bad input before anything runs, with a
:class:`~cosim_base.errors.ConfigError` naming the dotted TOML key, the value and the allowed range::

    control.rt.dt_s = 7 must divide horizon_s = 900
    devices.Battery[0].capcity_kwh: unknown key; allowed: bus, per_bus, capacity_kwh, ...

Classes that sit at one place of a scenario (:class:`ControlConfig` at ``control``,
:class:`ForecastConfig` at ``forecast``, :class:`DataConfig` at ``data``, :class:`GridConfig` at
``grid``) name full keys; classes
that occur at several places (:class:`StageConfig`, :class:`ErrorConfig`, :class:`DeviceGroup`)
name keys relative to themselves, and the TOML reader prefixes the place (``control.rt.``).

TOML layout (one table per config class)::

    name = "ieee33-winter-day"          # top-level scalars: see Scenario
    duration_h = 24.0                   # or duration_s = 86400, not both
    [data]                              # DataConfig
    [control]                           # ControlConfig; [control.da], [control.id], [control.rt]
    [forecast]                          # ForecastConfig; [forecast.errors.<signal>]
    [grid]                              # GridConfig: the grid devices' local voltage control
    [[devices.Battery]]                 # one DeviceGroup per table: bus, per_bus and fleet params

Partial tables override only the keys they give: ``[control.rt]`` with ``every_s = 900`` keeps the
default real-time stage otherwise, ``[forecast.errors.wind]`` only that signal's given keys.
"""
from __future__ import annotations

import datetime
import os
import pathlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import pandas as pd
import tomli_w

from cosim.plant import NETWORKS, PlantSpec
from cosim.scenario.checks import _check_keys, _choice, _float, _int, _names, _plain, _set
from cosim.scenario.control import (EV_SCHEDULES, FALLBACKS, FORMULATIONS, PASSIVE_BLOCKS, STAGE_ORDER, STAGE_SETS,
                                    ControlConfig, StageConfig)
from cosim.scenario.data import DataConfig
from cosim.scenario.devices import DEVICE_PARAMS, KINDS, DeviceGroup, _device_groups
from cosim.scenario.forecast import (DEFAULT_ERRORS, ERROR_DISTS, ERROR_KINDS, PRESET_SIGNALS, SIGNALS, ErrorConfig,
                                     ForecastConfig)
from cosim.scenario.grid import GridConfig
from cosim_base.errors import ConfigError
from simulators import data, datafiles
from simulators.ev import file_sessions

DEVICE_PRESETS = ("default", "none")
MAX_DURATION_S = 365 * 86400  # the TMY3 typical year (simulators.data.weather)

_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Scenario:
    """What to run; the defaults are the shipped default scenario (scenarios/default.toml).

    ``name``: [A-Za-z0-9_.-]+. ``network``: a key of cosim.plant.NETWORKS (``"ieee33"``, ``"lv"``).
    ``start``: calendar time of t_s = 0 (pandas-parsable, local time of the weather site).
    ``duration_s``: run length (TOML: ``duration_h`` in hours or ``duration_s``, not both; at most
    365 days, the TMY3 year). ``step_s``: plant step, 1..3600 s, divides ``duration_s``.
    ``seed``: the scenario seed (cosim_base.seeds), >= 0. ``output``: result file,
    ``{name}`` and ``{seed}`` substituted by :meth:`output_path`.

    Devices: ``device_preset = "default"`` starts from the network's shipped device set
    (cosim.plant.default_devices), ``"none"`` from no devices. A kind listed in ``devices``
    replaces that kind of the preset entirely; a kind may have several groups (two
    ``[[devices.Building]]`` tables), kept in order; groups are stored sorted by kind
    (:data:`KINDS` order), which is how the TOML file lists them.

    Cross rules: the fastest running stage's ``dt_s`` is a multiple of ``step_s``; every running
    stage's ``dt_s`` and ``offset_s`` are multiples of ``forecast.res_s`` (forecast windows lie
    on the error grid).
    """

    name: str = "ieee33-winter-day"
    network: str = "ieee33"
    start: str = "2024-01-15 00:00"  # a winter Monday
    duration_s: int = 86400
    step_s: int = 60
    seed: int = 0
    output: str = "results/{name}-seed{seed}.h5"
    data: DataConfig = field(default_factory=DataConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    device_preset: str = "default"
    devices: tuple[DeviceGroup, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ConfigError(f"name = {self.name!r} must be a non-empty string of A-Z a-z 0-9 _ . -")
        _choice("network", self.network, tuple(NETWORKS))
        self._check_start()
        _set(self, "duration_s", _int("duration_s", self.duration_s, 1, MAX_DURATION_S))
        _set(self, "step_s", _int("step_s", self.step_s, 1, 3600))
        if self.duration_s % self.step_s:
            raise ConfigError(f"duration_s = {self.duration_s} must be a multiple of "
                              f"step_s = {self.step_s}")
        _set(self, "seed", _int("seed", self.seed, 0))
        self._check_output()
        for key, cls in (("data", DataConfig), ("control", ControlConfig),
                         ("forecast", ForecastConfig), ("grid", GridConfig)):
            if not isinstance(getattr(self, key), cls):
                raise ConfigError(f"{key} = {getattr(self, key)!r} must be a {cls.__name__}")
        _choice("device_preset", self.device_preset, DEVICE_PRESETS)
        groups = self.devices
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, DeviceGroup) for g in groups):
            raise ConfigError(f"devices = {groups!r} must be a sequence of DeviceGroup")
        _set(self, "devices", tuple(sorted(groups, key=lambda g: KINDS.index(g.kind))))
        self._check_stage_grid()
        if self.duration_s + self.lookahead_s() > MAX_DURATION_S:
            raise ConfigError(f"duration_s = {self.duration_s} plus the forecast lookahead "
                              f"{self.lookahead_s()} s exceeds the {MAX_DURATION_S} s of the "
                              "TMY3 weather year")
        self._check_data_window()

    def _check_data_window(self) -> None:
        """The data files cover the run and its forecast lookahead (the readers' DataErrors name
        file, column and row); EV sessions are assigned to the fleet when the plant is built."""
        d = self.data
        if not any(d.is_file(k) for k in ("weather", "prices", "load_profile", "ev_sessions")):
            return
        spec = self.plant_spec()
        start = spec.start_at
        data.weather_window(start, spec.data_s, d.weather, d.tz)
        if d.is_file("prices"):
            data.file_price(start, spec.data_s, spec.step_s, d.prices, d.tz)
        if d.is_file("load_profile"):
            data.file_profiles(start, spec.data_s, spec.step_s, d.load_profile, 1, d.load_unit, d.tz)
        if d.is_file("ev_sessions"):
            file_sessions(datafiles.read_sessions(d.ev_sessions, d.tz), start, self.duration_s, None)

    def _check_start(self) -> None:
        start = self.start
        if isinstance(start, (datetime.date, datetime.datetime)):  # an unquoted TOML date-time
            start = start.isoformat(sep=" ") if isinstance(start, datetime.datetime) else start.isoformat()
            _set(self, "start", start)
        try:
            ok = isinstance(start, str) and not pd.isna(pd.Timestamp(start))
        except (ValueError, TypeError, OverflowError):
            ok = False
        if not ok:
            raise ConfigError(f"start = {start!r} is not a date pandas can read "
                              "(e.g. \"2024-01-15 00:00\")")

    def _check_output(self) -> None:
        if not isinstance(self.output, str) or not self.output:
            raise ConfigError(f"output = {self.output!r} must be a non-empty path")
        try:
            self.output.format(name=self.name, seed=self.seed)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"output = {self.output!r}: only {{name}} and {{seed}} can be "
                              f"substituted ({type(exc).__name__}: {exc})") from None

    def _check_stage_grid(self) -> None:
        used = self.control.used()
        if not used:
            return
        fastest = self.control.stages[-1]
        if used[fastest].dt_s % self.step_s:
            raise ConfigError(f"control.{fastest}.dt_s = {used[fastest].dt_s} must be a multiple "
                              f"of step_s = {self.step_s}")
        res = self.forecast.res_s
        for s, cfg in used.items():
            for key in ("dt_s", "offset_s"):
                if getattr(cfg, key) % res:
                    raise ConfigError(f"control.{s}.{key} = {getattr(cfg, key)} must be a multiple "
                                      f"of forecast.res_s = {res}")

    # -- conversions ------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: Mapping, base_dir: str | None = None) -> Scenario:
        """A scenario from a TOML-shaped dict (missing keys take their defaults); relative data
        file paths are looked up in ``base_dir`` first (DataConfig)."""
        scalars = ("name", "network", "start", "duration_s", "step_s", "seed", "output",
                   "device_preset")
        _check_keys("", d, (*scalars[:3], "duration_h", *scalars[3:], "data", "control",
                            "forecast", "grid", "devices"))
        kw = {k: d[k] for k in scalars if k in d}
        if "duration_h" in d:
            if "duration_s" in d:
                raise ConfigError("duration_h and duration_s: give one of them, not both")
            seconds = _float("duration_h", d["duration_h"], 0, lo_open=True) * 3600
            if abs(seconds - round(seconds)) > 1e-6:
                raise ConfigError(f"duration_h = {d['duration_h']!r} is not a whole number of seconds")
            kw["duration_s"] = round(seconds)
        if "data" in d:
            kw["data"] = DataConfig._from_table(d["data"], base_dir)
        if "control" in d:
            kw["control"] = ControlConfig._from_table(d["control"])
        if "forecast" in d:
            kw["forecast"] = ForecastConfig._from_table(d["forecast"])
        if "grid" in d:
            _check_keys("grid", d["grid"], _names(GridConfig))
            kw["grid"] = GridConfig(**d["grid"])
        if "devices" in d:
            kw["devices"] = _device_groups(d["devices"])
        return cls(**kw)

    def to_dict(self) -> dict:
        """The TOML-shaped plain dict of the scenario (inverse of :meth:`from_dict`)."""
        out = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "devices"}
        out["devices"] = {}
        for g in self.devices:
            out["devices"].setdefault(g.kind, []).append(g.to_dict())
        return out

    @classmethod
    def from_toml(cls, path_or_text: str | os.PathLike) -> Scenario:
        """A scenario from a TOML file (a path, or a str naming an existing file) or TOML text."""
        source, base_dir = "scenario text", None
        if isinstance(path_or_text, os.PathLike) or (
                isinstance(path_or_text, str) and "\n" not in path_or_text
                and (os.path.isfile(path_or_text) or path_or_text.endswith(".toml"))):
            source = os.fspath(path_or_text)
            base_dir = os.path.dirname(os.path.abspath(source))
            try:
                text = pathlib.Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"scenario file {source!r} cannot be read: {exc}") from None
        else:
            text = path_or_text
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source} is not valid TOML: {exc}") from None
        return cls.from_dict(d, base_dir)

    def to_toml(self) -> str:
        """The scenario as TOML text (every key written out)."""
        return tomli_w.dumps(self.to_dict())

    def updated(self, changes: Mapping[str, object]) -> Scenario:
        """A new validated scenario with dotted keys changed, e.g. ``{"seed": 3,
        "control.stages": ("da",), "forecast.errors.load.half_width": (0.05, 0.02, 0.01)}``.
        An array of tables is indexed by position (``"devices.EV.0.trip_red_max_frac"``).
        Values may be plain data or config objects; ``duration_h`` replaces ``duration_s``;
        ``forecast.preset`` resets the errors it sets (then the changes' own error keys apply)."""
        d = self.to_dict()
        if "forecast.preset" in changes:
            for s in PRESET_SIGNALS:
                d["forecast"]["errors"].pop(s)
        for key, value in changes.items():
            *parents, leaf = key.split(".")
            node = d
            for i, part in enumerate(parents):
                if isinstance(node, list):  # an array of tables, by index: "devices.EV.0.p_charge_max_kw"
                    if not part.isdigit() or int(part) >= len(node):
                        raise ConfigError(f"{key}: {part!r} must be an index of {'.'.join(parents[:i])} "
                                          f"(0 .. {len(node) - 1})")
                    node = node[int(part)]
                else:
                    node = node.setdefault(part, {})
                if not isinstance(node, (dict, list)) or isinstance(node, list) and i == len(parents) - 1:
                    raise ConfigError(f"{key}: {'.'.join(parents[:i + 1])} is not a table")
            node[leaf] = _plain(value)
            if key == "duration_h":
                d.pop("duration_s", None)
            elif key == "duration_s":
                d.pop("duration_h", None)
        return Scenario.from_dict(d)

    def output_path(self) -> pathlib.Path:
        """``output`` with ``{name}`` and ``{seed}`` substituted (relative to the working directory)."""
        return pathlib.Path(self.output.format(name=self.name, seed=self.seed))

    def lookahead_s(self) -> int:
        """Data needed past the run's end: the longest horizon of the controller's forecasts (a plan
        made just before the end reaches that far), rounded up to whole plant steps; 0 without."""
        horizon_s = max((r.horizon_s for r in self.control.forecast_requests()), default=0)
        return -(-horizon_s // self.step_s) * self.step_s

    def plant_spec(self) -> PlantSpec:
        """The true plant's spec: network, calendar window, plant step, seed, data sources and
        the forecast lookahead (:meth:`lookahead_s`)."""
        return PlantSpec(network=self.network, start=self.start, duration_s=self.duration_s,
                         step_s=self.step_s, seed=self.seed, lookahead_s=self.lookahead_s(),
                         weather=self.data.weather, load_profile=self.data.load_profile,
                         load_unit=self.data.load_unit, ev_sessions=self.data.ev_sessions,
                         tz=self.data.tz, t_out_offset_k=self.data.t_out_offset_k,
                         local_voltage=self.grid.local())


def load(path_or_text: str | os.PathLike) -> Scenario:
    """Same as :meth:`Scenario.from_toml`."""
    return Scenario.from_toml(path_or_text)


__all__ = ["Scenario", "load", "ControlConfig", "StageConfig", "DataConfig", "ForecastConfig", "ErrorConfig",
           "GridConfig", "DeviceGroup", "DEVICE_PARAMS", "KINDS", "STAGE_ORDER", "STAGE_SETS", "FORMULATIONS", "FALLBACKS",
           "EV_SCHEDULES", "PASSIVE_BLOCKS", "ERROR_KINDS", "ERROR_DISTS", "DEFAULT_ERRORS", "SIGNALS",
           "DEVICE_PRESETS", "MAX_DURATION_S"]
