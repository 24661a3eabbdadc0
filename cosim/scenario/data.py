"""``[data]``: the input data of a run (weather, tariff, load profile, EV sessions, time zone,
temperature offset), built-in or from the user's files (simulators.datafiles)."""
from __future__ import annotations

import functools
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from cosim.scenario.checks import _FrozenMap, _Table, _check_keys, _choice, _float, _set
from cosim_base.errors import ConfigError
from devices.load import load_kind
from simulators import data, datafiles

#: The keys that may name a file, and the built-in values that do not.
FILE_KEYS = {"weather": tuple(data.TMY3_FILES), "prices": ("",), "load_profile": None, "ev_sessions": ("",)}


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _builtin(key: str, value) -> bool:
    if key == "load_profile":
        try:
            load_kind(f"data.{key}", value)
            return True
        except ConfigError:
            return False
    return value in FILE_KEYS[key]


@dataclass(frozen=True)
class DataConfig(_Table):
    """Input data (``[data]``); the file layouts are those of simulators.datafiles.

    ``weather``: a key of simulators.data.TMY3_FILES or a weather file (EPW, TMY3 or CSV).
    ``prices``: "" (the time-of-use table ``prices_per_mwh``, keys those of
    simulators.data.TOU_PER_MWH, defaults that table's assumed values) or a price file
    (per MWh; without a sell column export is paid buy x ``control.export_price_ratio``).
    ``load_profile``: the SimBench load kind of the ieee33 preset's and Load groups' base loads,
    or a load file whose values are in ``load_unit`` ("pu" of each unit's p_peak_kw, or "kw").
    ``ev_sessions``: "" (sampled sessions) or a session file (simulators.ev.file_sessions).
    ``tz``: IANA zone of the start and of files' naive stamps ("" = the weather site's).
    ``t_out_offset_k`` (K, -30..30, added to the outdoor temperature of the weather: a colder or
    warmer day of the same shape, e.g. the temperature scenarios of seed 002).

    A file is a path, relative to the working directory (a scenario read with
    ``Scenario.from_toml(path)`` resolves it against the TOML file's folder first). Files are
    read and checked here (layout, units, gaps); whether they cover the run is checked by the
    Scenario. Errors name the file, column and row (DataError) or the dotted key (ConfigError).
    """

    weather: str = "tmy3-greensboro"
    prices: str = ""
    prices_per_mwh: Mapping[str, float] = field(default_factory=lambda: dict(data.TOU_PER_MWH))
    load_profile: str = "mv_semiurb"
    load_unit: str = "pu"
    ev_sessions: str = ""
    tz: str = ""
    t_out_offset_k: float = 0.0

    def __post_init__(self):
        prices = self.prices_per_mwh
        _check_keys("data.prices_per_mwh", prices, tuple(data.TOU_PER_MWH))
        missing = [k for k in data.TOU_PER_MWH if k not in prices]
        if missing:
            raise ConfigError(f"data.prices_per_mwh lacks {', '.join(missing)}; it needs exactly "
                              f"{', '.join(data.TOU_PER_MWH)}")
        _set(self, "prices_per_mwh", _FrozenMap(
            (k, _float(f"data.prices_per_mwh.{k}", prices[k])) for k in data.TOU_PER_MWH))
        _choice("data.load_unit", self.load_unit, tuple(datafiles.LOAD_RANGES))
        if not isinstance(self.tz, str) or (self.tz and self.tz not in _zones()):
            raise ConfigError(f"data.tz = {self.tz!r} must be \"\" or an IANA time zone, e.g. \"Europe/Berlin\"")
        for key in FILE_KEYS:
            value = getattr(self, key)
            if _builtin(key, value):
                continue
            if not isinstance(value, str) or not os.path.isfile(value):
                builtin = ("a SimBench load kind (simulators.data.available_load_kinds())" if key == "load_profile"
                           else ", ".join(map(repr, FILE_KEYS[key])))
                raise ConfigError(f"data.{key} = {value!r} is neither {builtin} nor a readable file "
                                  f"(relative to {os.getcwd()})")
            self._read(key, value)
        _set(self, "t_out_offset_k", _float("data.t_out_offset_k", self.t_out_offset_k, -30, 30))

    def _read(self, key: str, path: str):
        """The file of ``key`` read and checked (simulators.datafiles)."""
        if key == "weather":
            return data.weather_source(path, self.tz)
        if key == "prices":
            return datafiles.read_prices(path, self.tz)
        if key == "load_profile":
            return datafiles.read_loads(path, self.load_unit, self.tz)
        return datafiles.read_sessions(path, self.tz)

    def is_file(self, key: str) -> bool:
        """Whether ``key`` (one of FILE_KEYS) names a file rather than a built-in source."""
        return not _builtin(key, getattr(self, key))

    @classmethod
    def _from_table(cls, table: Mapping, base_dir: str | None = None) -> DataConfig:
        """From the ``[data]`` table; relative file paths are resolved against ``base_dir`` (the
        scenario file's folder) when the file is there."""
        _check_keys("data", table, tuple(f.name for f in fields(cls)))
        kw = dict(table)
        for key in FILE_KEYS:
            value = kw.get(key)
            if (base_dir and isinstance(value, str) and value and not os.path.isabs(value)
                    and not _builtin(key, value) and os.path.isfile(os.path.join(base_dir, value))):
                kw[key] = os.path.join(base_dir, value)
        return cls(**kw)
