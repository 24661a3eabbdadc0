"""``[data]``: the input data of a run (weather, tariff, load profile, temperature offset)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cosim.scenario.checks import _FrozenMap, _Table, _check_keys, _choice, _float, _set
from cosim_base.errors import ConfigError
from devices.load import load_kind
from simulators import data


@dataclass(frozen=True)
class DataConfig(_Table):
    """Input data (``[data]``): ``weather`` (a key of simulators.data.TMY3_FILES),
    ``prices_per_mwh`` (time-of-use buy price per period, keys those of
    simulators.data.TOU_PER_MWH; the defaults are that table's assumed values) and
    ``load_profile`` (the SimBench load kind of the ieee33 preset's base loads) and
    ``t_out_offset_k`` (K, -30..30, added to the outdoor temperature of the weather: a colder or
    warmer day of the same shape, e.g. the temperature scenarios of seed 002)."""

    weather: str = "tmy3-greensboro"
    prices_per_mwh: Mapping[str, float] = field(default_factory=lambda: dict(data.TOU_PER_MWH))
    load_profile: str = "mv_semiurb"
    t_out_offset_k: float = 0.0

    def __post_init__(self):
        _choice("data.weather", self.weather, tuple(data.TMY3_FILES))
        prices = self.prices_per_mwh
        _check_keys("data.prices_per_mwh", prices, tuple(data.TOU_PER_MWH))
        missing = [k for k in data.TOU_PER_MWH if k not in prices]
        if missing:
            raise ConfigError(f"data.prices_per_mwh lacks {', '.join(missing)}; it needs exactly "
                              f"{', '.join(data.TOU_PER_MWH)}")
        _set(self, "prices_per_mwh", _FrozenMap(
            (k, _float(f"data.prices_per_mwh.{k}", prices[k])) for k in data.TOU_PER_MWH))
        load_kind("data.load_profile", self.load_profile)
        _set(self, "t_out_offset_k", _float("data.t_out_offset_k", self.t_out_offset_k, -30, 30))
