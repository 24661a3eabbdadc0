"""The true plant of a run: a network with its device fleets, as mosaik entities wired to the grid.

:func:`build_plant` starts one simulator per fleet in a mosaik world and creates each fleet as one
entity (simulators.fleet_sim's ``<model>Fleet``) whose children are its units, and connects the
fleet's per-bus draw (``bus_p_mw``/``bus_q_mvar``) to the grid. Controllers and recorders connect
to the fleet entities (one connection per fleet) or to single units. :func:`default_devices` is the
shipped device set of a network; every number there is an assumption stated next to it.

Without a controller (a scenario with ``control.stages = []``) every device follows its own
local behaviour (thermostats, TSEH night timer, uncontrolled EV charging, idle storage,
micro-turbines off), i.e. the uncoordinated case of the seeds. cosim.world wires the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import mosaik
import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError
from cosim_base.seeds import stream
from devices import fleet_kinds
from devices.building import season_start
from devices.ev import ev_fleet
from devices.heat_hub import heat_demand
from devices.load import base_profiles, scaled_profiles
from simulators import data, networks
from simulators.building import BuildingFleet
from simulators.ev import EVFleet
from simulators.fleet_sim import BUS_ATTRS, FLEET
from simulators.heat_hub import HeatHubFleet
from simulators.loads import BaseLoadFleet
from simulators.microturbine import MicroTurbineFleet
from simulators.pv import PVFleet
from simulators.spec import PlantSpec
from simulators.storage import BatteryFleet
from simulators.wind import WindFleet

#: mosaik simulator of each fleet kind of the device registry (devices.sim.DeviceSim, started
#: with ``kind=<name>``), of several kinds at once (DevicesSim, ``kinds=[...]``: build_plant's),
#: the grid and the test collector (all in-process), and their models.
SIMULATORS = {
    "Grid": ("simulators.grid_sim:GridSim", None),
    **{name: ("devices.sim:DeviceSim", k.model) for name, k in fleet_kinds().items()},
    "Devices": ("devices.sim:DevicesSim", None),
    "Collector": ("cosim.collector:Collector", "Monitor"),
}


@dataclass
class Devices:
    """Fleet objects of a plant and the bus position (row of networks.bus_table) of each unit."""

    fleets: dict[str, object] = field(default_factory=dict)
    bus_pos: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, kind: str, fleet, bus_pos) -> None:
        self.fleets[kind] = fleet
        self.bus_pos[kind] = np.asarray(bus_pos, dtype=int)


def _ieee33_devices(net, spec: PlantSpec, rng: np.random.Generator) -> Devices:
    """Seed-001-like device set on IEEE 33 (all sizes est.; the seed's tables are not in its text).

    Base loads: SimBench's aggregated ``mv_semiurb`` profile (each bus a different real week, see
    data.load_profiles) scaled so that each bus's peak over the run's days equals its case load
    (the usual daily load curve of IEEE 33 studies), at the case's power factors; or the
    scenario's load file (devices.load.base_profiles). Heat-pump
    houses: 5 per load bus (160, 3 kW el.). TSEH clusters: 25 houses
    each at buses 8, 14, 24, 30 (8 kW charging, 50 kWh, 6 kW release, 6 kW direct heating).
    EVs: 3 per load bus (96, 7.4 kW, 60 kWh). PV: 8 x 200 kWp; wind: 2 x 500 kW at buses 13 and
    29; batteries: 3 x 300 kWh / 150 kW at 10, 16, 31; micro-turbines: 2 x 300 kW at 7 and 24,
    gas at 0.15 per kWh of fuel (est.: about 500 per MWh electric at full load, between the flat
    and the peak tariff).
    """
    w = spec.weather_data()
    sites = networks.load_sites(net)
    n_b = len(sites)
    # SimBench: case load = peak on the run's days
    p_peak_kw, profile = base_profiles(spec, [spec.load_profile] * n_b, sites.p_mw.to_numpy() * 1e3)
    s = np.hypot(sites.p_mw, sites.q_mvar)
    dev = Devices()
    dev.add("Load", BaseLoadFleet(n_b, p_peak_kw, pf=(sites.p_mw / s).to_numpy(), profile_pu=profile), sites.pos)
    hp_pos = np.repeat(sites.pos.to_numpy(), 5)
    tseh_pos = np.repeat([8, 14, 24, 30], 25)
    n_hp, n_ts = len(hp_pos), len(tseh_pos)
    dev.add("Building", BuildingFleet(
        n_hp + n_ts, w.frame, start=spec.start,
        p_hp_max_kw=np.r_[np.full(n_hp, 3.0), np.zeros(n_ts)],
        p_st_max_kw=np.r_[np.zeros(n_hp), np.full(n_ts, 8.0)],
        e_st_max_kwh=np.r_[np.zeros(n_hp), np.full(n_ts, 50.0)],
        e_st0_kwh=np.r_[np.zeros(n_hp), np.full(n_ts, 15.0)],
        q_rel_max_kw=np.r_[np.zeros(n_hp), np.full(n_ts, 6.0)],
        p_eh_max_kw=np.r_[np.zeros(n_hp), np.full(n_ts, 6.0)],
        **season_start(spec, w.frame, rng.uniform(20.5, 21.5, n_hp + n_ts))), np.r_[hp_pos, tseh_pos])
    ev_pos = np.repeat(sites.pos.to_numpy(), 3)
    dev.add("EV", ev_fleet(spec, rng, len(ev_pos), capacity_kwh=60.0, p_charge_max_kw=7.4), ev_pos)
    pv_pos = [5, 9, 13, 17, 21, 24, 28, 31]
    dev.add("PV", PVFleet(len(pv_pos), w, p_dc0_kw=200.0), pv_pos)
    dev.add("Wind", WindFleet(2, w, p_rated_kw=500.0), [13, 29])
    dev.add("Battery", BatteryFleet(3, capacity_kwh=300.0, p_max_kw=150.0), [10, 16, 31])
    dev.add("MicroTurbine", MicroTurbineFleet(2, p_max_kw=300.0, gas_price_per_kwh=0.15), [7, 24])
    return dev


def _lv_devices(net, spec: PlantSpec, rng: np.random.Generator) -> Devices:
    """Seed-000-like LV feeder: per household connection a SimBench household profile (3 kWp
    annual-peak scale, est.), a heat-pump house; an EV at every second house (11 kW, 60 kWh) and
    the feeder's own PV units (SimBench ratings)."""
    w = spec.weather_data()
    sites = networks.load_sites(net)
    n = len(sites)
    kinds = data.household_mix(n)
    profile = data.load_profiles(spec.start, spec.data_s, spec.step_s, kinds)
    dev = Devices()
    dev.add("Load", BaseLoadFleet(n, sites.p_mw.to_numpy() * 1e3, pf=0.97, profile_pu=profile), sites.pos)
    dev.add("Building", BuildingFleet(n, w.frame, start=spec.start,
                                      **season_start(spec, w.frame, rng.uniform(20.5, 21.5, n))), sites.pos)
    ev_pos = sites.pos.to_numpy()[::2]
    dev.add("EV", ev_fleet(spec, rng, len(ev_pos), p_charge_max_kw=11.0), ev_pos)
    pv = networks.load_sites(net, "sgen")
    dev.add("PV", PVFleet(len(pv), w, p_dc0_kw=pv.p_mw.to_numpy() * 1e3), pv.pos)
    return dev


#: EV availability at home per day type, seed 003 IV (after its ref. [10]): plugged-in intervals
#: in hours of the day; the car drives while away.
HOME_EV_AVAILABLE_H = {"weekday": ((0, 6), (18, 24)), "weekend": ((0, 10), (17, 24))}


def home_ev_sessions(spec: PlantSpec, trip_kwh: float) -> pd.DataFrame:
    """Sessions of one EV plugged in at seed 003's availability times (:data:`HOME_EV_AVAILABLE_H`,
    Saturday and Sunday are weekend days) over the run's days and the next one; each session
    after an away interval brings a trip of ``trip_kwh``. Times in s since the run start."""
    start = pd.Timestamp(spec.start)
    day0 = start.normalize()
    plugged = []
    for d in range(-(-(spec.duration_s + (start - day0).seconds) // 86400) + 1):
        kind = "weekend" if (day0 + pd.Timedelta(days=d)).dayofweek >= 5 else "weekday"
        plugged += [(24 * d + a, 24 * d + b) for a, b in HOME_EV_AVAILABLE_H[kind]]
    merged = [list(plugged[0])]
    for a, b in plugged[1:]:
        if a <= merged[-1][1]:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    off_h = (start - day0).total_seconds() / 3600
    rows = [(max(a - off_h, 0) * 3600, (b - off_h) * 3600, trip_kwh if a > off_h else 0.0)
            for a, b in merged if b > off_h and (a - off_h) * 3600 < spec.duration_s]
    return pd.DataFrame({"ev": 0, "arrival_s": [int(r[0]) for r in rows],
                         "departure_s": [int(r[1]) for r in rows], "trip_kwh": [r[2] for r in rows]})


def _home_devices(net, spec: PlantSpec, rng: np.random.Generator) -> Devices:
    """Seed 003's home energy hub (all sizes est. unless named; the paper gives the CHP only):
    household load on SimBench's H0-A profile with the case's annual peak
    (networks.HOME_KWH_PER_YEAR); 8 kWp rooftop PV (est.); one EV (40 kWh, 3.7 kW single-phase
    wallbox, est.) at the paper's availability times (:func:`home_ev_sessions`) with an 8 kWh daily
    trip (est.: about 40 km at 0.2 kWh/km) and arriving 0.8 full at the start (one trip below
    full); one heat hub: micro-CHP 3-6 kW el. on seed 003's Table I, 20 kWh tank, 6 kW electric
    boiler (simulators.heat_hub defaults), heat demand by degree hours (:func:`heat_demand`,
    DEMAND_DEFAULTS)."""
    w = spec.weather_data()
    sites = networks.load_sites(net)
    profile = scaled_profiles(spec, ["H0-A"] * len(sites))
    dev = Devices()
    dev.add("Load", BaseLoadFleet(len(sites), sites.p_mw.to_numpy() * 1e3, pf=0.97, profile_pu=profile), sites.pos)
    dev.add("PV", PVFleet(1, w, p_dc0_kw=8.0), sites.pos[:1])
    dev.add("EV", EVFleet(1, home_ev_sessions(spec, 8.0), capacity_kwh=40.0, p_charge_max_kw=3.7,
                          soc_init=0.8, horizon_s=spec.duration_s), sites.pos[:1])
    dev.add("HeatHub", HeatHubFleet(1, heat_demand(spec, 1, w)), sites.pos[:1])
    return dev


#: Seed 002's blocks (est. unless named): a well-insulated flat (UA 0.09 kW/K: 1/Ria + 1/(Rie + Rea);
#: 1 m2 of effective window aperture, so that a sunny mild day does not overheat it),
#: a heat pump with the paper's linear COP (3.51 at 20 degC, 1.97 at -4 degC) of 2 kW el. (3.9 kW
#: heat at -4 degC; the paper's pump: 5 kW), a 240 L hot-water tank at 40-55 degC (paper: 4.2 kWh,
#: no losses) charged by a 2 kW electric boiler, releasing up to 2 kW; pf 0.92 (paper).
AREA_BUILDING = dict(ci_kwh_per_k=0.5, ce_kwh_per_k=5.0, rie_k_per_kw=1.0, rea_k_per_kw=20.0,
                     ria_k_per_kw=25.0, aw_m2=1.0, ae_m2=0.3, p_hp_max_kw=2.0, pf=0.92,
                     cop_0c=2.2267, cop_slope_per_k=0.064167, e_st_max_kwh=4.2, e_st0_kwh=2.1,
                     p_st_max_kw=2.0, q_rel_max_kw=2.0, eta_st=0.98, st_loss_per_h=0.0)
#: Seed 002's EV lot (est.; the paper gives no fleet): 20 EVs of 40 kWh on 3.7 kW chargers, charged
#: to at most 80 % (the owners' limit; "full" is then reached at full power, below the CC-CV knee).
AREA_EVS = dict(n=20, capacity_kwh=40.0, p_charge_max_kw=3.7, soc_max=0.8)


def _area_devices(net, spec: PlantSpec, rng: np.random.Generator) -> Devices:
    """Seed 002's residential area (networks.area): per block a SimBench household load of its
    kind and the net's annual peak at pf 0.92 and a building (:data:`AREA_BUILDING`); the EV lot
    (:data:`AREA_EVS`) at its bus. No PV or wind: a scenario adds them as device groups
    (scenarios/seed002.toml), so "without renewables" is the same scenario without those groups."""
    w = spec.weather_data()
    sites = networks.load_sites(net)
    n = len(sites)
    dev = Devices()
    profile = data.load_profiles(spec.start, spec.data_s, spec.step_s, list(sites.profile))
    dev.add("Load", BaseLoadFleet(n, sites.p_mw.to_numpy() * 1e3, pf=networks.AREA_PF, profile_pu=profile),
            sites.pos)
    dev.add("Building", BuildingFleet(n, w.frame, start=spec.start,
                                      **season_start(spec, w.frame, rng.uniform(20.5, 21.5, n)),
                                      **AREA_BUILDING), sites.pos)
    lot = networks.bus_table(net).query("name == 'EV lot'").index[0]
    ev = dict(AREA_EVS)
    dev.add("EV", ev_fleet(spec, rng, ev.pop("n"), **ev), np.full(AREA_EVS["n"], lot))
    return dev


#: Network name (simulators.networks.NAMED) -> (net builder, its shipped device set).
NETWORKS = {name: (networks.NAMED[name], build) for name, build in (
    ("ieee33", _ieee33_devices), ("lv", _lv_devices), ("area", _area_devices), ("home", _home_devices))}


def default_devices(spec: PlantSpec, groups=(), preset: str = "default"):
    """The network (pandapower net) and its device set: the shipped preset of ``spec.network``
    (``preset="default"``) or none (``"none"``), with every fleet kind named in ``groups`` replaced
    by the fleet those groups describe (see :func:`fleet_from_groups`)."""
    if preset not in ("default", "none"):
        raise ConfigError(f"device preset = {preset!r} must be 'default' or 'none'")
    build_net, build_devices = NETWORKS[spec.network]
    net = build_net()
    rng = stream(spec.seed, "plant", "devices")
    dev = build_devices(net, spec, rng) if preset == "default" else Devices()
    by_kind: dict[str, list] = {}
    for g in groups:
        by_kind.setdefault(g.kind, []).append(g)
    for kind, gs in by_kind.items():
        fleet, pos = fleet_from_groups(kind, gs, net, spec, stream(spec.seed, "plant", "devices", kind))
        dev.fleets.pop(kind, None)
        dev.add(kind, fleet, pos)
    return net, dev


def fleet_from_groups(kind: str, groups, net, spec: PlantSpec, rng: np.random.Generator):
    """One fleet of ``kind`` from device groups (objects with ``bus`` (positions or "loads"),
    ``per_bus`` and ``params``; e.g. cosim.scenario.DeviceGroup). A group's scalar parameter applies
    to all its units, a list to its buses in order; a parameter some group leaves out takes the
    kind's default there, or the case data of its buses (``DeviceKind.case_params``: a Load's
    ``p_peak_kw`` and ``pf``); text parameters (a Load's ``profile``) go to the kind per unit
    (None where a group leaves them out). The kind makes the fleet (``DeviceKind.make_fleet``).
    Returns (fleet, bus positions)."""
    kinds = fleet_kinds()
    if kind not in kinds:
        raise ConfigError(f"devices: unknown kind {kind!r}; allowed: {sorted(kinds)}")
    dk = kinds[kind]
    sites = networks.load_sites(net)
    n_bus = len(networks.bus_table(net))
    pos, per_group = [], []
    for g in groups:
        buses = sites.pos.to_numpy() if isinstance(g.bus, str) else np.asarray(g.bus, int)
        if np.any((buses < 0) | (buses >= n_bus)):
            raise ConfigError(f"devices.{kind}: bus positions must lie in [0, {n_bus - 1}]; got {buses.tolist()}")
        k = len(buses) * g.per_bus
        vals = {}
        for key, v in g.params.items():
            if key in dk.text_params:
                continue
            arr = np.asarray(v, float)
            if arr.ndim and len(arr) != len(buses):
                raise ConfigError(f"devices.{kind}.{key}: a list needs one value per bus ({len(buses)}), got {len(arr)}")
            vals[key] = np.repeat(arr, g.per_bus) if arr.ndim else np.full(k, float(arr))
        for key, v in dk.case_params(sites.set_index("pos").reindex(buses), g.per_bus).items():
            vals.setdefault(key, v)
        pos.append(np.repeat(buses, g.per_bus))
        per_group.append((k, vals))
    defaults = dk.defaults()
    merged = {}
    for key in sorted({key for _, vals in per_group for key in vals}):
        parts = []
        for k, vals in per_group:
            if key not in vals and defaults.get(key) is None:
                raise ConfigError(f"devices.{kind}.{key} has no default: give it in every {kind} group")
            parts.append(vals.get(key, np.full(k, defaults.get(key, np.nan), dtype=float)))
        merged[key] = np.concatenate(parts)
    for key in dk.text_params:
        merged[key] = [g.params.get(key) for g, (k, _) in zip(groups, per_group) for _ in range(k)]
    pos = np.concatenate(pos)
    return dk.make_fleet(spec, len(pos), merged, rng), pos


@dataclass
class Plant:
    """Entities of a built plant: the grid's entity and children, each fleet's entity and units."""

    net: object
    devices: Devices
    grid: object
    buses: dict = field(default_factory=dict)  # pandapower bus index -> Bus entity
    units: dict = field(default_factory=dict)  # fleet kind -> list of entities
    fleets: dict = field(default_factory=dict)  # fleet kind -> its fleet entity (lists over units)


def build_plant(world: mosaik.World, spec: PlantSpec, net=None, devices: Devices | None = None) -> Plant:
    """Start the grid and every fleet of ``devices`` in ``world`` (one simulator for all fleets,
    devices.sim.DevicesSim) and connect each fleet's per-bus draw to the grid.

    ``world`` must know :data:`SIMULATORS` (see :func:`sim_config`). Defaults: the network and
    devices of :func:`default_devices`.
    """
    if net is None or devices is None:
        net, devices = default_devices(spec)
    grid = world.start("Grid", step_size=spec.step_s).Grid(net=net, **spec.grid_params())
    buses = {int(e.eid.split("_", 1)[1]): e for e in grid.children if e.type == "Bus"}
    plant = Plant(net, devices, grid, buses)
    sim = world.start("Devices", step_size=spec.step_s, kinds=list(devices.fleets)) if devices.fleets else None
    for kind, fleet in devices.fleets.items():
        model = SIMULATORS[kind][1]
        whole = getattr(sim, model + FLEET).create(1, fleet=fleet, bus_pos=devices.bus_pos[kind].tolist(),
                                                     n_bus=len(net.bus))[0]
        world.connect(whole, grid, *BUS_ATTRS)
        plant.fleets[kind] = whole
        plant.units[kind] = list(whole.children)
    return plant


def sim_config() -> dict:
    """mosaik sim_config of every simulator a plant may use (all in-process)."""
    return {name: {"python": target} for name, (target, _) in SIMULATORS.items()}
