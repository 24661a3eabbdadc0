"""Base loads (households, aggregated feeders): SimBench or users' profiles at a constant power factor.

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


def base_profiles(spec, kinds, p_peak_kw) -> tuple[np.ndarray, pd.DataFrame]:
    """``(p_peak_kw, profile_pu)`` of units following ``kinds`` (one per unit) for BaseLoadFleet.

    A SimBench kind: :func:`scaled_profiles`; ``"constant"``: ones. ``spec.load_profile`` when it
    is a load file (not a SimBench kind): the file's columns in turn (data.file_profiles), with
    ``spec.load_unit`` "pu" as p.u. of the unit's ``p_peak_kw`` as given (no rescaling), with "kw"
    as kW (the unit's ``p_peak_kw`` becomes 1). The profile spans data_s (and, without a file, the
    run's whole days).
    """
    p_peak_kw = np.asarray(p_peak_kw, float).copy()
    kinds = list(kinds)
    file = spec.load_profile not in _load_kinds()
    in_file = np.array([file and k == spec.load_profile for k in kinds])
    simbench = [i for i, k in enumerate(kinds) if k != "constant" and not in_file[i]]
    profile = scaled_profiles(spec, [kinds[i] for i in simbench]) if simbench else None
    t_s = data.time_grid(spec.data_s, spec.step_s) if file or profile is None else profile.index
    values = np.ones((len(t_s), len(kinds)))
    if simbench:
        values[:, simbench] = profile.loc[t_s].to_numpy()
    if in_file.any():
        values[:, in_file] = data.file_profiles(spec.start_at, spec.data_s, spec.step_s, spec.load_profile,
                                                int(in_file.sum()), spec.load_unit, spec.tz).to_numpy()
        if spec.load_unit == "kw":
            p_peak_kw[in_file] = 1.0
    return p_peak_kw, pd.DataFrame(values, index=pd.Index(t_s, name="t_s"))


class Load(DeviceKind):
    """Group parameters: ``p_peak_kw`` (default: the case load of the bus), ``pf`` (default: the
    case's) and ``profile`` (a SimBench kind, default the scenario's ``data.load_profile``: a
    kind or a load file, see :func:`base_profiles`; or "constant")."""

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
        kw = {"pf": params["pf"]} if "pf" in params else {}  # pf may be left out (devices.sim)
        if all(p == "constant" for p in profiles):
            return BaseLoadFleet(n, params["p_peak_kw"], **kw)
        p_peak_kw, profile = base_profiles(spec, profiles, params["p_peak_kw"])
        return BaseLoadFleet(n, p_peak_kw, **kw, profile_pu=profile)

    def truth(self, fleet):
        return {"load": (fleet.mean_kw, None)}

    def blocks(self, fleet, ctx):
        return [(FixedLoads(ctx.bus_of(self.name), name="load"), np.arange(fleet.n))]

    def block_data(self, name, d):
        p = d.forecast["load"][d.index] / 1000
        return {"p_mw": p, "q_mvar": p * np.tan(np.arccos(d.fleet.pf[d.index]))[:, None]}
