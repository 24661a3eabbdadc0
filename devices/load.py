"""Base loads (households, aggregated feeders): SimBench profiles at a constant power factor.

Plant: simulators.loads.BaseLoadFleet (model ``BaseLoad``). The controller measures and sets
nothing; it forecasts the signal ``load`` (kW per unit) and models the units as fixed loads.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from controllers.opf.grid_devices import FixedLoads
from cosim_base.errors import ConfigError
from devices.kind import DeviceKind
from simulators import data
from simulators.loads import BaseLoadFleet


@cache
def _load_kinds() -> tuple[str, ...]:
    return tuple(data.available_load_kinds())


def load_kind(key: str, value, extra: tuple[str, ...] = ()) -> str:
    """``value`` if it is a SimBench load kind (or one of ``extra``), else a ConfigError naming ``key``."""
    if not isinstance(value, str) or value not in extra + _load_kinds():
        either = "".join(f"{e!r} or " for e in extra)
        raise ConfigError(f"{key} = {value!r} must be {either}a SimBench load kind (one of "
                          "simulators.data.available_load_kinds(), e.g. 'mv_semiurb', 'H0-A')")
    return value


def days_s(spec) -> int:
    """The whole days the run touches; load profiles are scaled to their peak over them (so a
    short run keeps the daily shape instead of scaling its first hour up to the case load)."""
    return -(-spec.duration_s // 86400) * 86400


def scaled_profiles(spec, kinds) -> pd.DataFrame:
    """SimBench profiles (data.load_profiles) in p.u. of each column's peak on the run's days."""
    d = days_s(spec)
    profile = data.load_profiles(spec.start, max(spec.data_s, d), spec.step_s, kinds)
    return profile / profile[profile.index < d].max(axis=0)


class Load(DeviceKind):
    """Group parameters: ``p_peak_kw`` (default: the case load of the bus), ``pf`` (default: the
    case's) and ``profile`` (a SimBench kind, default the scenario's ``data.load_profile``, or
    "constant")."""

    name, model, fleet_cls = "Load", "BaseLoad", BaseLoadFleet
    text_params = ("profile",)
    recorded = ("p_mw", "q_mvar")

    def group_params(self):
        return {"p_peak_kw": False, "pf": False, "profile": False}

    def parse_param(self, key, value):
        return load_kind(key, value, ("constant",)) if key == "profile" else NotImplemented

    def case_params(self, case, per_bus):
        s = np.hypot(case.p_mw, case.q_mvar).replace(0, np.nan)
        return {"p_peak_kw": np.repeat(case.p_mw.fillna(0).to_numpy() * 1e3, per_bus),
                "pf": np.repeat((case.p_mw / s).fillna(1.0).to_numpy(), per_bus)}

    def make_fleet(self, spec, n, params, rng):
        profiles = [spec.load_profile if p is None else p for p in params.pop("profile")]
        const = np.array([p == "constant" for p in profiles])
        if const.all():
            return BaseLoadFleet(n, **params)
        profile = scaled_profiles(spec, [spec.load_profile if c else p for p, c in zip(profiles, const)])
        profile.iloc[:, np.flatnonzero(const)] = 1.0
        return BaseLoadFleet(n, **params, profile_pu=profile)

    def truth(self, fleet):
        return {"load": (fleet.mean_kw, None)}

    def blocks(self, fleet, ctx):
        return [(FixedLoads(ctx.bus_of(self.name), name="load"), np.arange(fleet.n))]

    def block_data(self, name, d):
        p = d.forecast["load"][d.index] / 1000
        return {"p_mw": p, "q_mvar": p * np.tan(np.arccos(d.fleet.pf[d.index]))[:, None]}
