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

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd

from cosim.errors import ConfigError

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
    pp.runpp(net)
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
        raise ConfigError(f"lv_feeder code = {code!r} is not a SimBench grid code: {exc}") from exc


def lv_feeder(code: str = "1-LV-rural3--0-sw") -> pp.pandapowerNet:
    """A SimBench LV grid (Meinecke et al. 2020, package ``simbench``, data shipped offline).

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
