"""The controller's model of the plant: OPF device blocks built from the plant's own fleet objects.

The model is made from the same layer-1 code and parameter values as the true plant, so a
mismatch is a stated difference, never a second implementation. The differences that remain:

* heat pumps: the OPF uses a COP linear in the outdoor temperature (DPP-compatible,
  :func:`controllers.opf.thermal.BuildingHPBlock`) fitted by least squares to the plant's Staffell
  curve at the heating-curve supply temperature over -10..15 degC
  (:func:`devices.building.fit_cop_linear`), or
  the plant's own line where its buildings have one (``cop_0c``, seed 002: then exact); the
  cooling COP (EER) likewise, a line fitted to the plant's Cutler curve over 18..40 degC
  (:func:`devices.building.fit_eer_linear`, within 1.6 % of ``eer_rated``); the comfort band is
  the measured band in force, held over the horizon (the plant's adaptive band moves at midnight);
* capacitor banks inject ``q_step N`` at 1 p.u. (the seed's model), the plant ``q_step N V^2``;
* EVs: only the current session of a plugged-in EV is known (no arrival forecast); the CC-CV
  taper is the block's linear bound at the period's end energy;
* TSEH: the block's storage and heat coupling follow simulators.building (same equations);
* on request (a model-mismatch study), the parameters a kind lists in ``mismatch_keys`` (building
  RC values and solar apertures, EV charging efficiency) are multiplied by per-unit factors
  (:func:`mismatch_factors`).

Each kind's blocks come from its registry entry (devices.REGISTRY, ``DeviceKind.blocks``).

Units: every block's rows are the plant fleet's units in the order given by :class:`Units`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from devices import REGISTRY, fleet_kinds, grid_kinds
from simulators import networks


def mismatch_keys() -> dict[str, tuple[str, ...]]:
    """Kind -> parameters a model-mismatch study perturbs (the kinds' ``mismatch_keys``)."""
    return {n: k.mismatch_keys for n, k in fleet_kinds().items() if getattr(k, "mismatch_keys", ())}


def mismatch_factors(fleets: dict, rel: float, rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    """Factors exp(rel z) per unit of every :func:`mismatch_keys` parameter of the ``fleets`` present,
    z standard normal clipped to +-3 (lognormal: positive, median 1): kind -> key -> (n,)."""
    return {kind: {key: np.exp(rel * np.clip(rng.standard_normal(fleets[kind].n), -3, 3)) for key in keys}
            for kind, keys in mismatch_keys().items() if kind in fleets}


@dataclass(frozen=True)
class Units:
    """Which plant units an OPF block's rows are: fleet ``kind`` and row ``index`` in that fleet."""

    kind: str
    index: np.ndarray


@dataclass
class CostParams:
    """Prices of the controller's objective not set by the grid tariff (currency per unit)."""

    discomfort_cost_per_kh: float = 100.0
    ess_cost_per_mwh: float = 5.0  # est.: cycling cost, also keeps the SOCP exact (no charge+discharge)
    ev_comp_per_mwh: float = 0.0  # paid to EV owners per MWh of V2G and of trip energy forgone
    ev_shortfall_cost_per_mwh: float = 10000.0  # per MWh an EV leaves short of its target (controllers.opf.ev)


@dataclass(frozen=True)
class ModelContext:
    """What a kind's ``blocks`` hook uses: ``bus_of(kind, idx)`` (OPF bus rows of units),
    ``val(kind, key, v, idx)`` (a parameter times its mismatch factor), ``costs``."""

    bus_of: Callable
    val: Callable
    costs: CostParams
    aggregate: bool = False  # identical units of a kind that supports it as one row (controllers.opf.groups)


def plant_blocks(net, rn, fleets: dict, bus_pos: dict, costs: CostParams,
                 mismatch: dict | None = None, aggregate: bool = False) -> tuple[list, dict[str, Units]]:
    """OPF blocks for the plant ``fleets`` (kind -> fleet object, units at bus positions ``bus_pos``).

    ``net``: the pandapower network (positions are rows of networks.bus_table(net)); ``rn``: its
    RadialNetwork (built with ``exclude_shunts`` = the net's shunts). Fleet kinds give their blocks
    in the order of ``fleets``, then the grid device kinds theirs from the net (capacitor banks
    "cb", SVC "svc"). Returns (blocks, block name -> Units). ``mismatch``: factors of
    :func:`mismatch_factors` on the model's parameters (None: the plant's values). ``aggregate``:
    kinds that can (buildings) model identical units as one row.
    """
    pp_bus = networks.bus_table(net).bus.to_numpy()
    mismatch = mismatch or {}

    def val(kind, key, v, idx=slice(None)):
        factor = mismatch.get(kind, {}).get(key)
        return np.asarray(v, float)[idx] * (1.0 if factor is None else factor[idx])

    def bus_of(kind, idx=slice(None)):
        return rn.bus_index(pp_bus[np.asarray(bus_pos[kind])[idx]])

    ctx = ModelContext(bus_of, val, costs, aggregate)
    parts = [(kind, b, i) for kind, f in fleets.items() for b, i in REGISTRY[kind].blocks(f, ctx)]
    parts += [(kind.name, b, i) for kind in grid_kinds().values() for b, i in kind.net_blocks(net, rn)]
    blocks, units = [], {}
    for kind, block, index in parts:
        if len(index):
            blocks.append(block)
            units[block.name] = Units(kind, np.asarray(index))
    return blocks, units
