"""Radial network arrays for DistFlow from a pandapower net.

The OPF core needs, per branch, the parent and child bus, the series impedance in p.u. and the
squared current limit; per bus, the constant-impedance shunt admittance; and the substation
transformer's tap grid. :func:`from_pandapower` reads these from the element tables (lines,
two-winding transformers, shunts, closed switches) rather than from pandapower's internal ppc, so
that the OLTC tap stays a decision instead of being folded into a fixed ratio.

Model (MATPOWER branch model, as pandapower uses it): a branch is an ideal transformer of ratio
``a`` at the parent side followed by the series impedance ``r + jx``; lines have ``a = 1``. Buses
are renumbered in breadth-first order from the slack bus (index 0), so that branch ``k`` feeds bus
``k + 1``. Line charging and transformer magnetizing admittances become constant-impedance shunts
(``p = g v``, ``q = -b v`` with ``v = |V|^2``, exact in DistFlow because they are linear in v).
Simplification: the magnetizing branch of the 't' model is placed at the transformer's low-voltage
bus.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cosim_base.errors import ConfigError, DataError

F_HZ = 50.0


@dataclass
class OLTC:
    """The substation transformer's tap changer (the only branch leaving the slack bus).

    positions: integer tap positions (G,); u_grid: 1 / a(pos)^2 for each position, so that the
    voltage behind the ideal transformer is ``v_ext * u`` (v squared, MATPOWER tap model);
    pos_now: the position in the net.
    """

    trafo: int
    positions: np.ndarray
    u_grid: np.ndarray
    pos_now: int

    def u_of(self, pos) -> np.ndarray:
        """u = 1/a^2 for integer tap positions ``pos`` (any shape)."""
        pos = np.asarray(pos)
        bad = (pos < self.positions[0]) | (pos > self.positions[-1]) | (pos != np.round(pos))
        if bad.any():
            raise ConfigError(f"tap_pos = {pos[bad].ravel()[0]!r} is outside the allowed integer range "
                              f"[{self.positions[0]}, {self.positions[-1]}]")
        return self.u_grid[(pos - self.positions[0]).astype(int)]

    def pos_of(self, u) -> np.ndarray:
        """Nearest tap position for values of u (any shape)."""
        idx = np.abs(np.asarray(u)[..., None] - self.u_grid).argmin(axis=-1)
        return self.positions[idx]


@dataclass
class RadialNetwork:
    """Radial network in p.u. on ``s_base_mva``; buses in BFS order from the slack (index 0).

    bus_ids: pandapower bus index of each model bus (n_bus,); parent: parent bus of branch k, whose
    child is bus k+1 (n_br,); r_pu, x_pu: series impedance; a: fixed ratio of the ideal transformer
    at the parent side (1 for lines); l_max_pu2: squared current limit (inf: none);
    g_pu, b_pu: shunt conductance / susceptance per bus (p = g v, q = -b v);
    p_mw, q_mvar: net base load per bus from the net's load and sgen tables (consumer convention);
    branch_ids: ("line", idx) or ("trafo", idx); v_ext_pu: slack voltage magnitude;
    oltc: the substation tap changer, if any.
    """

    s_base_mva: float
    bus_ids: np.ndarray
    parent: np.ndarray
    r_pu: np.ndarray
    x_pu: np.ndarray
    a: np.ndarray
    l_max_pu2: np.ndarray
    g_pu: np.ndarray
    b_pu: np.ndarray
    p_mw: np.ndarray
    q_mvar: np.ndarray
    branch_ids: list
    vn_kv: np.ndarray
    v_ext_pu: float
    oltc: OLTC | None = None

    @property
    def n_bus(self) -> int:
        return len(self.bus_ids)

    @property
    def n_br(self) -> int:
        return len(self.parent)

    def bus_index(self, pp_buses) -> np.ndarray:
        """Model bus indices of pandapower bus indices (buses fused by closed switches map alike)."""
        lookup = self._lookup
        try:
            return np.array([lookup[int(b)] for b in np.atleast_1d(pp_buses)], dtype=int)
        except KeyError as err:
            raise ConfigError(f"bus {err.args[0]} is not in the energized radial network") from None

    def incidence(self, bus: np.ndarray) -> sp.csr_matrix:
        """Sparse (n_bus, n_units) matrix placing unit u at model bus ``bus[u]``."""
        n = len(bus)
        return sp.csr_matrix((np.ones(n), (bus, np.arange(n))), shape=(self.n_bus, n))

    def children(self) -> sp.csr_matrix:
        """Sparse (n_br, n_br): C[k, m] = 1 when branch m leaves the child bus of branch k."""
        m = np.flatnonzero(self.parent > 0)
        return sp.csr_matrix((np.ones(len(m)), (self.parent[m] - 1, m)), shape=(self.n_br, self.n_br))

    def flow_balance(self) -> sp.csr_matrix:
        """Sparse (n_br, n_br) I - children(): row k gives P_k - sum of the flows leaving its child
        bus (DistFlow's branch balance)."""
        return sp.identity(self.n_br, format="csr") - self.children()

    def parent_map(self) -> sp.csr_matrix:
        """Sparse (n_br, n_bus): row k picks v of branch k's parent divided by a_k^2."""
        k = np.arange(self.n_br)
        return sp.csr_matrix((1.0 / self.a**2, (k, self.parent)), shape=(self.n_br, self.n_bus))

    def root_branches(self) -> np.ndarray:
        return np.flatnonzero(self.parent == 0)

    def i_base_ka(self) -> np.ndarray:
        """Current base per bus in kA: S_base / (sqrt(3) V_n)."""
        return self.s_base_mva / (np.sqrt(3) * self.vn_kv)


def default_s_base_mva(net) -> float:
    """A power of ten at or below the total load (1 MVA for IEEE 33, 0.1 MVA for an LV feeder)."""
    p = float(net.load.p_mw[net.load.in_service].abs().sum()) if len(net.load) else 1.0
    return 10.0 ** np.floor(np.log10(max(p, 1e-3)))


def from_pandapower(net, s_base_mva: float | None = None, exclude_shunts=()) -> RadialNetwork:
    """Radial DistFlow arrays of a pandapower net with one ext_grid.

    ``exclude_shunts``: shunt indices left out because a device block controls them (e.g.
    capacitor banks). Open line switches remove lines; closed bus-bus switches fuse buses.
    Raises ConfigError when the energized network is not radial.
    """
    s_base = default_s_base_mva(net) if s_base_mva is None else float(s_base_mva)
    if not s_base > 0:
        raise ConfigError(f"s_base_mva = {s_base!r} is outside the allowed range (0, inf)")
    eg = net.ext_grid[net.ext_grid.in_service]
    if len(eg) != 1:
        raise ConfigError(f"ext_grid: {len(eg)} in service, the radial model needs exactly 1")
    fuse = _fused_buses(net)
    edges = _line_edges(net, s_base, fuse) + _trafo_edges(net, s_base, fuse)
    root = fuse.get(int(eg.bus.iloc[0]), int(eg.bus.iloc[0]))
    order, edge_of, parent_of = _bfs(root, edges)
    pos = {b: i for i, b in enumerate(order)}
    n_bus = len(order)
    br = [edges[edge_of[b]] for b in order[1:]]
    g = np.zeros(n_bus)
    b_sh = np.zeros(n_bus)
    for e, child in zip(br, order[1:]):
        half = 0.5 if e["kind"] == "line" else 1.0  # lines: pi model; trafo: magnetizing at LV bus
        for bus in ((parent_of[child], child) if e["kind"] == "line" else (e["lv"],)):
            g[pos[bus]] += half * e["g_sh"]
            b_sh[pos[bus]] += half * e["b_sh"]
    _add_shunts(net, s_base, fuse, pos, g, b_sh, exclude_shunts)
    p_mw, q_mvar = _base_loads(net, fuse, pos, n_bus)
    for e, child in zip(br, order[1:]):
        if e["kind"] == "trafo" and e["hv"] != parent_of[child]:
            raise ConfigError(f"trafo {e['idx']}: fed from its low-voltage side, not supported")
    vn = net.bus.vn_kv.reindex(order).to_numpy(float)
    rn = RadialNetwork(
        s_base_mva=s_base, bus_ids=np.array(order), parent=np.array([pos[parent_of[c]] for c in order[1:]], int),
        r_pu=np.array([e["r"] for e in br]), x_pu=np.array([e["x"] for e in br]),
        a=np.array([e["a"] for e in br]), l_max_pu2=np.array([e["l_max"] for e in br]),
        g_pu=g, b_pu=b_sh, p_mw=p_mw, q_mvar=q_mvar, branch_ids=[(e["kind"], e["idx"]) for e in br],
        vn_kv=vn, v_ext_pu=float(eg.vm_pu.iloc[0]), oltc=None)
    rn._lookup = {**{int(b): i for i, b in enumerate(order)}, **{k: pos[v] for k, v in fuse.items() if v in pos}}
    rn.oltc = _oltc(net, rn, br)
    return rn


def _fused_buses(net) -> dict[int, int]:
    """Map each bus joined by a closed bus-bus switch to one representative bus."""
    sw = net.switch[(net.switch.et == "b") & net.switch.closed.astype(bool)]
    rep: dict[int, int] = {}

    def find(b):
        while rep.get(b, b) != b:
            b = rep[b]
        return b

    for a, b in zip(sw.bus.astype(int), sw.element.astype(int)):
        ra, rb = find(a), find(b)
        if ra != rb:
            rep[max(ra, rb)] = min(ra, rb)
    return {b: find(b) for b in rep}


def _open_elements(net, et: str) -> set[int]:
    sw = net.switch[(net.switch.et == et) & ~net.switch.closed.astype(bool)]
    return set(sw.element.astype(int))


def _line_edges(net, s_base: float, fuse: dict) -> list[dict]:
    """In-service lines without an open switch, in p.u. on s_base (z_base = V_n^2 / S_base)."""
    lines = net.line[net.line.in_service.astype(bool)]
    lines = lines[~lines.index.isin(_open_elements(net, "l"))]
    vn = net.bus.vn_kv.reindex(lines.from_bus).to_numpy(float)
    z_base = vn**2 / s_base
    par = lines.parallel.to_numpy(float)
    length = lines.length_km.to_numpy(float)
    r = lines.r_ohm_per_km.to_numpy(float) * length / par / z_base
    x = lines.x_ohm_per_km.to_numpy(float) * length / par / z_base
    b = 2 * np.pi * F_HZ * lines.c_nf_per_km.to_numpy(float) * 1e-9 * length * par * z_base
    g = lines.g_us_per_km.to_numpy(float) * 1e-6 * length * par * z_base
    i_max = lines.max_i_ka.to_numpy(float) * lines.df.to_numpy(float) * par
    i_base = s_base / (np.sqrt(3) * vn)
    l_max = np.where(i_max < 1e4, (i_max / i_base) ** 2, np.inf)  # 99999 kA means "no rating"
    if np.any(r <= 0):
        raise DataError("line: zero resistance; DistFlow needs r > 0 (use a bus-bus switch instead)")
    return [dict(kind="line", idx=int(i), f=fuse.get(int(f), int(f)), t=fuse.get(int(t), int(t)),
                 r=r[k], x=x[k], a=1.0, l_max=l_max[k], g_sh=g[k], b_sh=b[k])
            for k, (i, f, t) in enumerate(zip(lines.index, lines.from_bus, lines.to_bus))]


def _tap_ratio(tr, pos) -> float:
    """Off-nominal ratio a = (V_hv,tap / V_lv,tap) / (V_hv,bus / V_lv,bus) at tap position ``pos``."""
    d = 0.0 if not _has_ratio_taps(tr) else (pos - tr.tap_neutral) * tr.tap_step_percent / 100
    hv = tr.vn_hv_kv * (1 + d if tr.tap_side == "hv" else 1.0)
    lv = tr.vn_lv_kv * (1 + d if tr.tap_side == "lv" else 1.0)
    return (hv / lv) / (tr.vn_hv_bus / tr.vn_lv_bus)


def _has_ratio_taps(tr) -> bool:
    """pandapower >= 3 applies taps only with tap_changer_type set ("Ratio"; "Symmetrical"/"Ideal"
    phase shifters are not supported); older nets have no such column."""
    kind = tr.get("tap_changer_type", "Ratio")
    if kind is None or (isinstance(kind, float) and np.isnan(kind)) or np.isnan(tr.tap_step_percent):
        return False
    if kind != "Ratio":
        raise ConfigError(f"trafo tap_changer_type = {kind!r}: only 'Ratio' taps are supported")
    return True


def _trafo_edges(net, s_base: float, fuse: dict) -> list[dict]:
    """Two-winding transformers in p.u. on s_base referred to the low-voltage bus."""
    out = []
    tr_all = net.trafo[net.trafo.in_service.astype(bool)]
    tr_all = tr_all[~tr_all.index.isin(_open_elements(net, "t"))]
    for idx, tr in tr_all.iterrows():
        tr = tr.copy()
        tr["vn_hv_bus"] = net.bus.vn_kv.at[tr.hv_bus]
        tr["vn_lv_bus"] = net.bus.vn_kv.at[tr.lv_bus]
        scale = s_base / (tr.sn_mva * tr.parallel) * (tr.vn_lv_kv / tr.vn_lv_bus) ** 2
        z, r = tr.vk_percent / 100 * scale, tr.vkr_percent / 100 * scale
        y_m = tr.i0_percent / 100 * tr.sn_mva * tr.parallel / s_base
        g_m = tr.pfe_kw / 1000 / s_base * tr.parallel
        pos = 0 if np.isnan(tr.tap_pos) else tr.tap_pos
        i_max = tr.sn_mva * tr.parallel / (np.sqrt(3) * tr.vn_lv_kv)
        i_base = s_base / (np.sqrt(3) * tr.vn_lv_bus)
        hv, lv = fuse.get(int(tr.hv_bus), int(tr.hv_bus)), fuse.get(int(tr.lv_bus), int(tr.lv_bus))
        out.append(dict(kind="trafo", idx=int(idx), f=hv, t=lv, hv=hv, lv=lv, r=r, x=np.sqrt(max(z**2 - r**2, 0)),
                        a=_tap_ratio(tr, pos), l_max=(i_max / i_base) ** 2, g_sh=g_m,
                        b_sh=-np.sqrt(max(y_m**2 - g_m**2, 0)), tr=tr))
    return out


def _bfs(root: int, edges: list[dict]):
    """Breadth-first order from root; raises ConfigError on a mesh."""
    adj: dict[int, list[int]] = {}
    for i, e in enumerate(edges):
        adj.setdefault(e["f"], []).append(i)
        adj.setdefault(e["t"], []).append(i)
    order, edge_of, parent_of = [root], {}, {}
    seen = {root}
    queue = deque([root])
    while queue:
        b = queue.popleft()
        for i in adj.get(b, []):
            if edge_of.get(b) == i:
                continue
            other = edges[i]["t"] if edges[i]["f"] == b else edges[i]["f"]
            if other in seen:
                raise ConfigError(f"network: {edges[i]['kind']} {edges[i]['idx']} closes a loop; "
                                  "the DistFlow model needs a radial network")
            seen.add(other)
            edge_of[other], parent_of[other] = i, b
            order.append(other)
            queue.append(other)
    return order, edge_of, parent_of


def _add_shunts(net, s_base, fuse, pos, g, b, exclude):
    """Fixed shunts as constant admittance: pandapower q_mvar > 0 absorbs (inductive)."""
    sh = net.shunt[net.shunt.in_service.astype(bool) & ~net.shunt.index.isin(list(exclude))]
    for _, s in sh.iterrows():
        bus = fuse.get(int(s.bus), int(s.bus))
        if bus not in pos:
            continue
        k = pos[bus]
        scale = s.step / s_base * (net.bus.vn_kv.at[s.bus] / s.vn_kv) ** 2
        g[k] += s.p_mw * scale
        b[k] -= s.q_mvar * scale


def _base_loads(net, fuse, pos, n_bus):
    """Net load per bus from load (scaled) minus sgen (scaled), in MW / Mvar."""
    p, q = np.zeros(n_bus), np.zeros(n_bus)
    for table, sign in ((net.load, 1.0), (net.sgen, -1.0)):
        t = table[table.in_service.astype(bool)]
        for bus, pm, qm, sc in zip(t.bus, t.p_mw, t.q_mvar, t.scaling):
            k = pos.get(fuse.get(int(bus), int(bus)))
            if k is not None:
                p[k] += sign * pm * sc
                q[k] += sign * qm * sc
    return p, q


def _oltc(net, rn: RadialNetwork, br: list[dict]) -> OLTC | None:
    """The tap changer of the transformer that is the slack bus's only branch, if it has taps."""
    roots = rn.root_branches()
    if len(roots) != 1 or br[roots[0]]["kind"] != "trafo":
        return None
    tr = br[roots[0]]["tr"]
    if not _has_ratio_taps(tr) or np.isnan(tr.tap_min) or np.isnan(tr.tap_max) or tr.tap_min == tr.tap_max:
        return None
    positions = np.arange(int(tr.tap_min), int(tr.tap_max) + 1)
    u = np.array([1 / _tap_ratio(tr, p) ** 2 for p in positions])
    rn.a[roots[0]] = 1.0  # the tap acts through the root voltage v_ext * u instead
    pos_now = int(tr.tap_pos) if not np.isnan(tr.tap_pos) else int(tr.tap_neutral)
    return OLTC(trafo=int(br[roots[0]]["idx"]), positions=positions, u_grid=u, pos_now=pos_now)
