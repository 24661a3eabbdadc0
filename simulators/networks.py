"""Network builders: pandapower nets of the case studies plus a small uniform description.

Every builder returns a plain ``pandapowerNet``. The description the OPF and the world assembly
use is read from the net itself, the same way for every network:

- :func:`bus_table`: one row per bus, in the net's bus order. Row position ``pos`` is the index
  into every per-bus array of :class:`simulators.grid.GridModel`; ``bus`` is the pandapower index.
- :func:`load_sites`: one row per static load (or static generator) of the net with its bus and
  position, e.g. the household connections of an LV feeder where houses, EVs and PV are placed.
- Controllable devices are ordinary pandapower elements: the substation OLTC is ``net.trafo``
  (``tap_pos``), capacitor banks are ``net.shunt`` rows (``step`` of ``max_step``), the SVC is a
  ``net.sgen`` row of ``type == "SVC"`` with ``p_mw = 0`` and limits ``min_q_mvar``/``max_q_mvar``.
  :func:`devices` lists them by kind.

Added buses (the HV bus of a substation transformer) are appended after the published buses, so
positions ``0..32`` of the IEEE 33-bus case stay the published bus indices.
"""
from __future__ import annotations

import copy
import functools
import os
import re

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd

from cosim_base.errors import ConfigError
from simulators.data import household_mix, peak_kw_from_annual_energy

#: Continuous current ratings (kA) of the ACSR overhead conductors in pandapower's 10 kV line
#: standard types (34-AL1/6 ... 149-AL1/24-ST1A; values of EN 50182 / DIN 48204 conductors).
ACSR_10KV_MAX_I_KA = (0.170, 0.210, 0.290, 0.350, 0.410, 0.470)

#: Peak current of a branch in the base case may use at most 1/LINE_MARGIN of its rating.
LINE_MARGIN = 1.5

#: IEEE 33 devices of the seed-001 case (bus index, size). Seed 001 names OLTC, CB and SVC but its
#: appendix tables (locations, sizes) are not in the text; these are our documented choices:
#: CB at bus 29 (node 30: the 0.6 Mvar load; a 0.5 Mvar shunt cuts losses most there, 34.5 kW,
#: by our own sweep of all buses) and at bus 17 (node 18: the base-case V_min). SVC at bus 32
#: (node 33: end of the second long branch, the second-lowest base-case voltage).
IEEE33_CB = ({"bus": 29, "q_step_mvar": 0.1, "max_step": 5},
             {"bus": 17, "q_step_mvar": 0.1, "max_step": 5})
IEEE33_SVC = {"bus": 32, "q_max_mvar": 0.5}


def ieee33(transformer: bool = True) -> pp.pandapowerNet:
    """IEEE 33-bus feeder (Baran & Wu 1989, ``pandapower.networks.case33bw``) with the seed-001 devices.

    Changes to the published case, none of which alters its power flow:

    - **Line ratings** ``max_i_ka`` (the case has none): each branch gets the smallest ACSR
      conductor class of pandapower's 10 kV standard types (:data:`ACSR_10KV_MAX_I_KA`, 170-470 A)
      that carries 1.5 x its base-case current, i.e. the peak of the base case loads it to at
      most 2/3 (an assumption: planning headroom, not published data). The first two trunk
      sections get 350 A and 290 A and run at 60 % and 65 % in the base case; the five open tie
      lines get the smallest class.
    - **Capacitor banks** ``net.shunt`` (:data:`IEEE33_CB`): 2 x 5 steps of 0.1 Mvar, at step 0.
    - **SVC** ``net.sgen`` of type ``"SVC"`` (:data:`IEEE33_SVC`): a reactive injection with
      ``p_mw = 0`` and ``q`` in +-0.5 Mvar, at 0. An sgen is a constant-Q element, which is the
      SVC model of seed 001 (Q_SVC,t as a bounded decision variable); pandapower's ``svc`` element
      is a voltage-controlling susceptance set by firing angle and has no plain Q mode.

    With ``transformer=False`` the ext_grid stays at bus 0 (1.0 p.u.) and the power flow is the
    published base case: losses 202.68 kW, V_min 0.9131 p.u. at bus index 17.

    With ``transformer=True`` (the seed-001 case with OLTC) the ext_grid (1.0 p.u.) moves to a new
    110 kV bus (index 33) feeding bus 0 through a substation transformer (est. values of a
    10 MVA 110 kV two-winding unit, GB/T 6451 class): 10 MVA (seed 001's power base),
    110/13.29 kV (secondary rated 5 % above the 12.66 kV feeder nominal, the usual practice that
    covers the transformer's own voltage drop), vk 10.5 %, vkr 0.5 % (50 kW load loss),
    pfe 11.2 kW, i0 0.7 %, on-load tap changer +-8 x 1.25 % (the standard 110 kV OLTC range).
    The tap sits on the LV side so that the no-load feeder voltage is proportional to
    ``k = 1 + 0.0125 * tap_pos`` (positive tap raises the feeder voltage), the ratio seed 001's
    OLTC constraint ``V_m = k_OLTC V_0`` uses.

    The net is built once per process and flag (pandapower's JSON loading takes about 0.5 s) and
    a deep copy is returned per call.
    """
    return copy.deepcopy(_ieee33(transformer))


@functools.lru_cache(maxsize=2)
def _ieee33(transformer: bool) -> pp.pandapowerNet:
    net = pn.case33bw()
    _rate_lines(net)
    for i, cb in enumerate(IEEE33_CB):
        pp.create_shunt(net, cb["bus"], q_mvar=-cb["q_step_mvar"], step=0, max_step=cb["max_step"],
                        name=f"CB{i + 1}")
    pp.create_sgen(net, IEEE33_SVC["bus"], p_mw=0.0, q_mvar=0.0, name="SVC", type="SVC",
                   max_q_mvar=IEEE33_SVC["q_max_mvar"], min_q_mvar=-IEEE33_SVC["q_max_mvar"])
    if transformer:
        _add_substation(net)
    return net


def _rate_lines(net: pp.pandapowerNet) -> None:
    """Set ``net.line.max_i_ka`` by conductor class from base-case currents (see :func:`ieee33`)."""
    pp.runpp(net, numba=False)  # one base-case flow: compiling numba kernels for it would cost ~8 s
    need_ka = LINE_MARGIN * net.res_line.i_ka.fillna(0.0).to_numpy()
    classes = np.asarray(ACSR_10KV_MAX_I_KA)
    if need_ka.max() > classes[-1]:
        raise ConfigError(f"line current {need_ka.max():.3f} kA exceeds the largest conductor class")
    net.line["max_i_ka"] = classes[np.searchsorted(classes, need_ka)]
    pp.reset_results(net)


def _add_substation(net: pp.pandapowerNet) -> None:
    """Move the ext_grid behind a 110 kV OLTC transformer feeding bus 0 (see :func:`ieee33`)."""
    feeder_bus = int(net.ext_grid.bus.iloc[0])
    hv = pp.create_bus(net, vn_kv=110.0, name="HV", index=len(net.bus))
    net.ext_grid.loc[net.ext_grid.index[0], "bus"] = hv
    pp.create_transformer_from_parameters(
        net, hv_bus=hv, lv_bus=feeder_bus, sn_mva=10.0, vn_hv_kv=110.0,
        vn_lv_kv=1.05 * float(net.bus.vn_kv.at[feeder_bus]), vk_percent=10.5, vkr_percent=0.5,
        pfe_kw=11.2, i0_percent=0.7, tap_side="lv", tap_neutral=0, tap_min=-8, tap_max=8,
        tap_step_percent=1.25, tap_pos=0, tap_changer_type="Ratio", name="OLTC")


@functools.lru_cache(maxsize=4)
def _simbench(code: str) -> pp.pandapowerNet:
    import simbench  # slow import (about 2 s): only when an LV feeder is built

    try:
        return simbench.get_simbench_net(code)
    except Exception as exc:  # simbench raises bare errors for unknown codes
        raise ConfigError(f"code = {code!r} is not a SimBench grid code: {exc}") from exc


def lv_feeder(code: str = "1-LV-rural3--0-sw") -> pp.pandapowerNet:
    """A SimBench grid by its code, an LV feeder by default (Meinecke et al. 2020, package
    ``simbench``, data shipped offline).

    The default ``1-LV-rural3--0-sw`` has 128 LV buses (0.4 kV) plus its 20 kV MV bus (index 384,
    last in bus order) with the ext_grid (1.025 p.u.), a 0.4 MVA 20/0.4 kV transformer
    (tap +-2 x 2.5 % on the HV side), 127 lines (NAYY, 270 A), 118 loads at 118 distinct buses
    (331 kW in total: 113 households with H0-* profiles, 5 small businesses with G* profiles)
    and 17 rooftop PV units. Each load is one connection point: :func:`load_sites` maps
    connection ``i`` to its bus (its ``profile`` tells households from businesses), so houses,
    EVs and PV are placed per row. The yearly 15-min profiles stay in ``net.profiles``.
    The file is parsed once per process (about 4 s) and a deep copy is returned per call.
    """
    return copy.deepcopy(_simbench(code))


#: Residential area of seed 002 (assumed layout; the paper gives only the 85 kVA transformer and
#: 50 blocks): 5 LV feeders of 10 block connections each, AREA_SPAN_M apart, and the EV lot.
AREA_FEEDERS, AREA_BLOCKS_PER_FEEDER, AREA_SPAN_M, AREA_LOT_M = 5, 10, 30.0, 50.0
#: Annual consumption of a block's base load (est.: a flat of 2-3 persons; seed 002 gives only a
#: daily curve, Fig. 1, not in its text) and its power factor (seed 002: 0.92).
AREA_BLOCK_KWH_PER_YEAR, AREA_PF = 3000.0, 0.92


def area() -> pp.pandapowerNet:
    """Seed 002's residential area: 50 blocks and an EV lot behind one 85 kVA MV/LV transformer.

    Buses in order: 0 the 20 kV MV bus (ext_grid, 1.0 p.u.), 1 the 0.4 kV LV busbar, 2..51 the
    block connections (feeder f = 0..4 holds blocks 2 + 10 f .. 11 + 10 f in a chain from the
    busbar), 52 the EV lot. Transformer (seed 002: 85 kVA; the rest est. from pandapower's
    "0.25 MVA 20/0.4 kV" type: vk 6 %, vkr 1.44 %, pfe scaled to 0.3 kW, i0 0.32 %), its tap
    fixed at neutral (a one-position tap range: no OLTC for the controller). Cables: pandapower's "NAYY 4x150 SE" (0.208 + j0.08 ohm/km, 270 A), 30 m between
    connections and 50 m to the lot (est.). One static load per block (``load_sites``): its
    ``profile`` a SimBench household kind (data.household_mix), its ``p_mw`` the annual peak of
    that kind at 3000 kWh a year (est.), pf 0.92 (seed 002); the lot has no static load (its EVs
    are a device fleet).
    """
    net = pp.create_empty_network(name="seed002-area")
    mv = pp.create_bus(net, vn_kv=20.0, name="MV")
    lv = pp.create_bus(net, vn_kv=0.4, name="LV busbar")
    pp.create_ext_grid(net, mv, vm_pu=1.0)
    pp.create_transformer_from_parameters(
        net, hv_bus=mv, lv_bus=lv, sn_mva=0.085, vn_hv_kv=20.0, vn_lv_kv=0.4, vk_percent=6.0,
        vkr_percent=1.44, pfe_kw=0.3, i0_percent=0.32, tap_side="hv", tap_neutral=0, tap_min=0, tap_max=0,
        tap_step_percent=2.5, tap_pos=0, tap_changer_type="Ratio", name="85 kVA")
    kinds = household_mix(AREA_FEEDERS * AREA_BLOCKS_PER_FEEDER)
    for f in range(AREA_FEEDERS):
        prev = lv
        for k in range(AREA_BLOCKS_PER_FEEDER):
            i = f * AREA_BLOCKS_PER_FEEDER + k
            p_mw = float(peak_kw_from_annual_energy(AREA_BLOCK_KWH_PER_YEAR, kinds[i])) / 1000.0
            b = pp.create_bus(net, vn_kv=0.4, name=f"block {i + 1}")
            pp.create_line(net, prev, b, AREA_SPAN_M / 1000.0, "NAYY 4x150 SE")
            pp.create_load(net, b, p_mw=p_mw, q_mvar=p_mw * np.tan(np.arccos(AREA_PF)), name=f"block {i + 1}")
            prev = b
    net.load["profile"] = kinds
    lot = pp.create_bus(net, vn_kv=0.4, name="EV lot")
    pp.create_line(net, lv, lot, AREA_LOT_M / 1000.0, "NAYY 4x150 SE")
    return net


#: Seed 003's home: annual household consumption (est.: a German 4-person household, about
#: 4500 kWh a year) and its service cable (est.: 30 m of "NAYY 4x50 SE" from the street cabinet).
HOME_KWH_PER_YEAR, HOME_CABLE_M = 4500.0, 30.0


def home() -> pp.pandapowerNet:
    """Seed 003's single home energy hub at an LV grid connection (the paper neglects the grid).

    Buses in order: 0 the LV street cabinet (0.4 kV, ext_grid at 1.0 p.u.: the stiff LV grid),
    1 the house connection, joined by a service cable (pandapower's "NAYY 4x50 SE", 0.642 +
    j0.083 ohm/km, 142 A; :data:`HOME_CABLE_M`). One static load at bus 1 (``load_sites``): the
    annual peak of an H0 household using :data:`HOME_KWH_PER_YEAR`, pf 0.97 (est.). No
    transformer: the exchange at bus 0 is the hub's grid connection point (seed 003 eq. 24).
    """
    net = pp.create_empty_network(name="seed003-home")
    street = pp.create_bus(net, vn_kv=0.4, name="street cabinet")
    house = pp.create_bus(net, vn_kv=0.4, name="house")
    pp.create_ext_grid(net, street, vm_pu=1.0)
    pp.create_line(net, street, house, HOME_CABLE_M / 1000.0, "NAYY 4x50 SE", name="service cable")
    p_mw = float(peak_kw_from_annual_energy(HOME_KWH_PER_YEAR, "H0-A")) / 1000.0
    pp.create_load(net, house, p_mw=p_mw, q_mvar=p_mw * np.tan(np.arccos(0.97)), name="household")
    return net


#: Networks by name: the case studies' nets (a scenario's ``network``, ``Grid(network=...)``).
NAMED = {"ieee33": ieee33, "lv": lv_feeder, "area": area, "home": home}
#: What a SimBench grid code looks like, e.g. "1-LV-rural1--0-sw", "1-MV-urban--2-no_sw".
SIMBENCH_CODE = re.compile(r"1-[A-Za-z_]+-[a-z0-9]+-[a-z0-9]*-[0-2]-(sw|no_sw)")


def network(name: str) -> pp.pandapowerNet:
    """The net ``name`` names: a key of :data:`NAMED` (the default build of each), a SimBench
    grid code (:data:`SIMBENCH_CODE`, e.g. ``"1-LV-rural1--0-sw"``) or the path of a pandapower
    JSON file (``*.json``, ``pandapower.to_json``). Anything else is a ConfigError naming
    ``network`` and what it may be."""
    if isinstance(name, str) and name in NAMED:
        return NAMED[name]()
    if isinstance(name, str) and SIMBENCH_CODE.fullmatch(name):
        return lv_feeder(name)
    if isinstance(name, (str, os.PathLike)) and str(name).endswith(".json"):
        if not os.path.isfile(name):
            raise ConfigError(f"network = {str(name)!r}: no such pandapower JSON file")
        try:
            return pp.from_json(name)
        except Exception as exc:  # pandapower raises bare errors for unreadable files
            raise ConfigError(f"network = {str(name)!r} is not a pandapower JSON net: {exc}") from exc
    raise ConfigError(f"network = {name!r} must be one of {sorted(NAMED)}, a SimBench grid code "
                      f"(e.g. '1-LV-rural1--0-sw') or the path of a pandapower JSON file (*.json)")


def bus_table(net: pp.pandapowerNet) -> pd.DataFrame:
    """One row per bus in net order: ``pos``, ``bus`` (pandapower index), ``name``, ``vn_kv``,
    ``p_load_mw``/``q_load_mvar`` (the net's own static loads at the bus, consumer convention),
    ``n_loads`` and ``slack`` (ext_grid bus)."""
    loads = net.load[net.load.in_service].groupby("bus")
    table = pd.DataFrame({
        "pos": np.arange(len(net.bus)),
        "bus": net.bus.index.to_numpy(),
        "name": net.bus.name.to_numpy(),
        "vn_kv": net.bus.vn_kv.to_numpy(float),
        "p_load_mw": loads.p_mw.sum().reindex(net.bus.index, fill_value=0.0).to_numpy(),
        "q_load_mvar": loads.q_mvar.sum().reindex(net.bus.index, fill_value=0.0).to_numpy(),
        "n_loads": loads.size().reindex(net.bus.index, fill_value=0).to_numpy(),
        "slack": net.bus.index.isin(net.ext_grid.bus).astype(bool),
    })
    return table.set_index("pos")


def load_sites(net: pp.pandapowerNet, element: str = "load") -> pd.DataFrame:
    """One row per ``element`` (``"load"`` or ``"sgen"``, the SVC excluded) in the net: ``bus``,
    ``pos`` (bus position, see :func:`bus_table`), ``p_mw``, ``q_mvar``, ``name`` and SimBench's
    ``profile`` where present. For an LV feeder each load row is one household connection."""
    if element not in ("load", "sgen"):
        raise ConfigError(f"element = {element!r} must be 'load' or 'sgen'")
    df = net[element]
    if element == "sgen":
        df = df[df.type != "SVC"]
    pos = pd.Series(np.arange(len(net.bus)), index=net.bus.index)
    cols = [c for c in ("bus", "p_mw", "q_mvar", "name", "profile") if c in df.columns]
    sites = df[cols].reset_index(drop=True)
    sites.insert(1, "pos", pos.loc[sites.bus].to_numpy())
    return sites


def devices(net: pp.pandapowerNet) -> dict[str, pd.Index]:
    """pandapower indices of the controllable devices by kind: ``trafo`` (OLTC), ``cap`` (shunt
    capacitor banks) and ``svc`` (sgen rows of type ``"SVC"``)."""
    return {"trafo": net.trafo.index, "cap": net.shunt.index,
            "svc": net.sgen.index[net.sgen.type == "SVC"]}


def bus_positions(net: pp.pandapowerNet, buses) -> np.ndarray:
    """Positions (rows of :func:`bus_table`) of pandapower bus indices ``buses``; an index that is
    not a bus of the net is a ConfigError naming it."""
    buses = np.atleast_1d(np.asarray(buses))
    unknown = ~np.isin(buses, net.bus.index)
    if unknown.any():
        raise ConfigError(f"bus = {buses[unknown].tolist()[0]!r} is not a bus of the net "
                          f"(indices {net.bus.index.min()}..{net.bus.index.max()})")
    return net.bus.index.get_indexer(buses)
