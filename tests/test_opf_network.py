"""Radial network arrays from pandapower nets (IEEE 33, a meshed variant, a tapped transformer)."""
import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from controllers.opf.network import from_pandapower
from cosim_base.errors import ConfigError


def test_case33bw_arrays():
    net = pn.case33bw()
    rn = from_pandapower(net)
    assert (rn.n_bus, rn.n_br, rn.s_base_mva) == (33, 32, 1.0)
    assert rn.bus_ids[0] == 0 and rn.oltc is None
    k = rn.bus_index([1])[0] - 1  # branch feeding pandapower bus 1
    assert np.isclose(rn.r_pu[k], 0.0922 / (12.66**2 / 1.0))
    assert np.isclose(rn.p_mw.sum(), 3.715) and np.isclose(rn.q_mvar.sum(), 2.3)
    assert np.all(rn.parent < np.arange(1, 33))  # BFS order: parents come first
    assert np.all(np.isinf(rn.l_max_pu2))  # case33bw has no ratings (99999 kA)
    C = rn.children().toarray()
    assert C.sum() == 32 - len(rn.root_branches())


def test_mesh_and_unknown_bus_raise():
    net = pn.case33bw()
    net.line.loc[net.line.index[-1], "in_service"] = True  # close a tie line
    with pytest.raises(ConfigError, match="loop"):
        from_pandapower(net)
    rn = from_pandapower(pn.case33bw())
    with pytest.raises(ConfigError, match="bus 999"):
        rn.bus_index([999])
    with pytest.raises(ConfigError, match="s_base_mva"):
        from_pandapower(pn.case33bw(), s_base_mva=0)


def test_open_switch_removes_line_and_bus_switch_fuses():
    net = pp.create_empty_network()
    b = [pp.create_bus(net, 10.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0])
    pp.create_line_from_parameters(net, b[0], b[1], 1.0, 0.2, 0.1, 0, 0.3)
    l2 = pp.create_line_from_parameters(net, b[1], b[2], 1.0, 0.2, 0.1, 0, 0.3)
    pp.create_switch(net, b[2], b[3], et="b", closed=True)
    pp.create_load(net, b[3], 0.5)
    rn = from_pandapower(net)
    assert rn.n_bus == 3 and rn.bus_index([3])[0] == rn.bus_index([2])[0]
    assert np.isclose(rn.p_mw.sum(), 0.5) and np.isfinite(rn.l_max_pu2).all()
    pp.create_switch(net, b[1], l2, et="l", closed=False)
    assert from_pandapower(net).n_bus == 2


def test_oltc_grid_follows_pandapower_tap_convention():
    net = pp.create_empty_network()
    hv, lv, b2 = pp.create_bus(net, 20.0), pp.create_bus(net, 0.4), pp.create_bus(net, 0.4)
    pp.create_ext_grid(net, hv)
    pp.create_transformer_from_parameters(net, hv, lv, 0.4, 20.0, 0.4, 1.2, 6.0, 1.2, 0.3, tap_side="hv",
                                          tap_neutral=0, tap_min=-2, tap_max=2, tap_step_percent=2.5,
                                          tap_pos=0, tap_changer_type="Ratio")
    pp.create_line_from_parameters(net, lv, b2, 0.1, 0.2, 0.08, 0, 0.27)
    rn = from_pandapower(net)
    o = rn.oltc
    assert list(o.positions) == [-2, -1, 0, 1, 2]
    assert np.isclose(o.u_of(1), 1 / 1.025**2)  # HV-side tap up lowers the LV voltage
    assert np.array_equal(o.pos_of(o.u_of([-2, 0, 2])), [-2, 0, 2])
    with pytest.raises(ConfigError, match="tap_pos"):
        o.u_of(3)
    assert rn.a[0] == 1.0 and np.isclose(rn.g_pu[1], 1.2e-3 / rn.s_base_mva)
