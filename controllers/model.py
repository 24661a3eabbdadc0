"""The controller's model of the plant: OPF device blocks built from the plant's own fleet objects.

The model is made from the same layer-1 code and parameter values as the true plant, so a
mismatch is a stated difference, never a second implementation. The differences that remain:

* heat pumps: the OPF uses a COP linear in the outdoor temperature (DPP-compatible,
  :func:`controllers.opf.thermal.BuildingHPBlock`) fitted by least squares to the plant's Staffell
  curve at the heating-curve supply temperature over -10..15 degC (:func:`fit_cop_linear`), or
  the plant's own line where its buildings have one (``cop_0c``, seed 002: then exact);
* capacitor banks inject ``q_step N`` at 1 p.u. (the seed's model), the plant ``q_step N V^2``;
* EVs: only the current session of a plugged-in EV is known (no arrival forecast); the CC-CV
  taper is the block's linear bound at the period's end energy;
* TSEH: the block's storage and heat coupling follow simulators.building (same equations);
* on request (a model-mismatch study), the building and EV parameters of :data:`MISMATCH` are
  multiplied by per-unit factors (:func:`mismatch_factors`).

Units: every block's rows are the plant fleet's units in the order given by :class:`Units`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controllers.opf.ev import EVBlock
from controllers.opf.grid_devices import SVC, Battery, CapacitorBanks, FixedLoads, MicroTurbine, Renewables
from controllers.opf.thermal import BuildingHPBlock, HeatHubBlock, TSEHBlock
from simulators import networks
from simulators.thermal import cop_staffell_ashp, supply_temp_c

#: Building fleet parameters the OPF building blocks share with the plant.
RC_KEYS = ("ci_kwh_per_k", "ce_kwh_per_k", "rie_k_per_kw", "rea_k_per_kw", "ria_k_per_kw", "aw_m2", "ae_m2")
TSEH_KEYS = ("p_eh_max_kw", "p_st_max_kw", "e_st_max_kwh", "q_rel_max_kw", "eta_eh", "eta_st", "st_loss_per_h")


#: HeatHub fleet parameters the OPF heat-hub block shares with the plant.
HUB_KEYS = ("e_tank_max_kwh", "tank_loss_per_h", "p_eb_max_kw", "eta_eb", "p_chp_max_kw", "chp_min_frac",
            "q_gb_max_kw", "eta_gb", "pf")
#: Model cost of heat a full tank cannot take (currency per MWh heat), est.: a micro-CHP is heat-led
#: (seed 003 eq. 1 has no heat sink), so dumping is a last resort, far above what running the CHP
#: against a dump could earn (under 100 per MWh of heat at seed 003's prices).
HUB_DUMP_COST_PER_MWH = 1000.0


#: Parameters a model-mismatch study perturbs: the buildings' RC values and solar apertures, the
#: EVs' charging efficiency (capped at 1). The EV capacity stays exact: the controller measures
#: the battery's energy, which a smaller modelled capacity could not hold.
MISMATCH = {"Building": RC_KEYS, "EV": ("eta_charge",)}


def mismatch_factors(fleets: dict, rel: float, rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    """Factors exp(rel z) per unit of every :data:`MISMATCH` parameter of the ``fleets`` present,
    z standard normal clipped to +-3 (lognormal: positive, median 1): kind -> key -> (n,)."""
    return {kind: {key: np.exp(rel * np.clip(rng.standard_normal(fleets[kind].n), -3, 3)) for key in keys}
            for kind, keys in MISMATCH.items() if kind in fleets}


@dataclass(frozen=True)
class Units:
    """Which plant units an OPF block's rows are: fleet ``kind`` and row ``index`` in that fleet."""

    kind: str
    index: np.ndarray


def fit_cop_linear(t_lo_c: float = -10.0, t_hi_c: float = 15.0) -> tuple[float, float]:
    """(cop_0c, slope_per_k) of the least-squares line through the plant's COP
    cop_staffell_ashp(supply_temp_c(t), t) for t in [t_lo_c, t_hi_c] (0.5 K grid)."""
    t = np.arange(t_lo_c, t_hi_c + 1e-9, 0.5)
    slope, cop0 = np.polyfit(t, cop_staffell_ashp(supply_temp_c(t), t), 1)
    return float(cop0), float(slope)


@dataclass
class CostParams:
    """Prices of the controller's objective not set by the grid tariff (currency per unit)."""

    discomfort_cost_per_kh: float = 100.0
    ess_cost_per_mwh: float = 5.0  # est.: cycling cost, also keeps the SOCP exact (no charge+discharge)
    ev_comp_per_mwh: float = 0.0  # paid to EV owners per MWh of V2G and of trip energy forgone


def plant_blocks(net, rn, fleets: dict, bus_pos: dict, costs: CostParams,
                 mismatch: dict | None = None) -> tuple[list, dict[str, Units]]:
    """OPF blocks for the plant ``fleets`` (kind -> fleet object, units at bus positions ``bus_pos``).

    ``net``: the pandapower network (positions are rows of networks.bus_table(net)); ``rn``: its
    RadialNetwork (built with ``exclude_shunts`` = the net's shunts). MT commitment is an on/off
    Discrete (free in the day-ahead stage, fixed by the later ones). Returns (blocks, block name -> Units);
    capacitor banks "cb" and SVC "svc" come from the net's shunts and SVC sgens. ``mismatch``:
    factors of :func:`mismatch_factors` on the model's parameters (None: the plant's values).
    """
    pp_bus = networks.bus_table(net).bus.to_numpy()
    blocks, units = [], {}
    mismatch = mismatch or {}

    def val(kind, key, v, idx=slice(None)):
        """Parameter ``key`` of units ``idx``, times its mismatch factor if any."""
        factor = mismatch.get(kind, {}).get(key)
        return np.asarray(v, float)[idx] * (1.0 if factor is None else factor[idx])

    def bus_of(kind, idx=slice(None)):
        return rn.bus_index(pp_bus[np.asarray(bus_pos[kind])[idx]])

    def add(block, kind, index):
        if len(index) == 0:
            return
        blocks.append(block)
        units[block.name] = Units(kind, np.asarray(index))

    for kind, f in fleets.items():
        allu = np.arange(f.n)
        if kind == "Load":
            add(FixedLoads(bus_of(kind), name="load"), kind, allu)
        elif kind in ("PV", "Wind"):
            s_mva = np.asarray(f.s_max_kva, float) / 1000.0
            add(Renewables(bus_of(kind), s_rated_mva=np.maximum(s_mva, 1e-6), name=kind.lower()), kind, allu)
        elif kind == "Battery":
            add(Battery(bus_of(kind), e_max_mwh=f.capacity_kwh / 1000, p_max_mw=f.p_max_kw / 1000,
                        eta_c=f.eta_charge, eta_d=f.eta_discharge, soc_min=f.soc_min, soc_max=f.soc_max,
                        cost_per_mwh=costs.ess_cost_per_mwh, name="ess"), kind, allu)
        elif kind == "MicroTurbine":
            # Fuel cost at the unit's full-load efficiency plus its marginal cost (plant parameters).
            cost = 1000 * (f.gas_price_per_kwh / f.eta_el_max + f.marginal_cost_per_kwh)
            add(MicroTurbine(bus_of(kind), f.p_min_kw / 1000, f.p_max_kw / 1000, cost_per_mwh=cost,
                             ramp_mw_per_h=f.ramp_kw_per_min * 60 / 1000, on_off=True, name="mt"), kind, allu)
        elif kind == "Building":
            p = f.p
            cop0, slope = fit_cop_linear()
            line = ~np.isnan(p["cop_0c"])  # the plant's own linear COP where it has one
            cop0, slope = np.where(line, p["cop_0c"], cop0), np.where(line, p["cop_slope_per_k"], slope)
            tseh = np.flatnonzero(p["e_st_max_kwh"] > 0)
            hp = np.flatnonzero(p["e_st_max_kwh"] <= 0)
            common = dict(discomfort_cost=costs.discomfort_cost_per_kh)
            for name, idx in (("hp", hp), ("tseh", tseh)):
                if not len(idx):
                    continue
                kw = {k: val(kind, k, p[k], idx) for k in RC_KEYS + ("p_hp_max_kw", "pf")}
                kw.update(cop_0c=cop0[idx], cop_slope_per_k=slope[idx])
                if name == "tseh":
                    kw.update({k: p[k][idx] for k in TSEH_KEYS})
                    add(TSEHBlock(bus_of(kind, idx), name=name, **kw, **common), kind, idx)
                else:
                    add(BuildingHPBlock(bus_of(kind, idx), name=name, **kw, **common), kind, idx)
        elif kind == "EV":
            add(EVBlock(bus_of(kind), capacity_kwh=f.capacity_kwh, p_charge_max_kw=f.p_charge_max_kw,
                        p_discharge_max_kw=f.p_discharge_max_kw,
                        eta_charge=np.minimum(val(kind, "eta_charge", f.eta_charge), 1.0),
                        eta_discharge=f.eta_discharge, soc_min=f.e_min_kwh / f.capacity_kwh,
                        soc_max=f.e_max_kwh / f.capacity_kwh, soc_taper=f.soc_taper,
                        pf=np.cos(np.arctan(f.tan_phi)), trip_red_max_frac=f.trip_red_max_frac,
                        name="ev"), kind, allu)
        elif kind == "HeatHub":
            add(HeatHubBlock(bus_of(kind), **{k: f.p[k] for k in HUB_KEYS}, dump_cost_per_mwh=HUB_DUMP_COST_PER_MWH,
                             name="heat_hub"), kind, allu)
    devs = networks.devices(net)
    if len(devs["cap"]):
        add(CapacitorBanks.from_net(net, rn, name="cb"), "Capacitor", np.arange(len(devs["cap"])))
    if len(devs["svc"]):
        add(SVC.from_net(net, rn, name="svc"), "SVC", np.arange(len(devs["svc"])))
    return blocks, units
