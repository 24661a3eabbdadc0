"""Network builders against the published IEEE 33-bus case and the SimBench LV feeder."""
import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from cosim_base.errors import ConfigError
from simulators.networks import (ACSR_10KV_MAX_I_KA, network, bus_positions, bus_table, devices, ieee33,
                                 load_sites, lv_feeder)


def test_ieee33_without_transformer_is_the_published_base_case():
    net, ref = ieee33(transformer=False), pn.case33bw()
    pp.runpp(net)
    pp.runpp(ref)
    assert net.res_line.pl_mw.sum() * 1e3 == pytest.approx(202.68, abs=0.01)
    assert net.res_bus.vm_pu.min() == pytest.approx(0.9131, abs=1e-4)
    assert net.res_bus.vm_pu.idxmin() == 17
    np.testing.assert_allclose(net.res_bus.vm_pu, ref.res_bus.vm_pu, atol=1e-12)
    assert net.res_ext_grid.p_mw.iloc[0] == pytest.approx(3.9177, abs=1e-4)


def test_ieee33_line_ratings_are_conductor_classes_with_base_case_headroom():
    net = ieee33(transformer=False)
    assert set(net.line.max_i_ka) <= set(ACSR_10KV_MAX_I_KA)
    pp.runpp(net)
    assert net.res_line.loading_percent.max() <= 100 / 1.5 + 1e-9
    assert net.line.max_i_ka.iloc[0] == 0.35  # trunk: 210 A base-case current


def test_ieee33_devices_and_substation():
    net = ieee33(transformer=True)
    dev = devices(net)
    assert list(net.shunt.bus) == [29, 17] and list(net.shunt.max_step) == [5, 5]
    assert (net.shunt.step == 0).all()
    svc = net.sgen.loc[dev["svc"]]
    assert list(svc.bus) == [32] and (svc.max_q_mvar == 0.5).all() and (svc.min_q_mvar == -0.5).all()
    trafo = net.trafo.loc[dev["trafo"][0]]
    assert (trafo.hv_bus, trafo.lv_bus, trafo.tap_min, trafo.tap_max) == (33, 0, -8, 8)
    assert net.ext_grid.bus.iloc[0] == 33 and net.bus.vn_kv.at[33] == 110.0
    table = bus_table(net)
    assert list(table.bus[:33]) == list(range(33)) and table.slack.tolist() == [False] * 33 + [True]
    assert table.p_load_mw.sum() == pytest.approx(3.715)
    assert table.q_load_mvar.sum() == pytest.approx(2.3)


def test_bus_positions_rejects_unknown_bus():
    net = lv_feeder()
    np.testing.assert_array_equal(bus_positions(net, [0, 384]), [0, 128])
    with pytest.raises(ConfigError, match="bus = 999"):
        bus_positions(net, [0, 999])


def test_lv_feeder_households_map_to_buses_and_converge():
    net = lv_feeder()
    assert len(net.bus) == 129 and bus_table(net).slack.iloc[-1]
    homes = load_sites(net)
    assert len(homes) == 118 and homes.bus.is_unique
    np.testing.assert_array_equal(net.bus.index[homes.pos], homes.bus)
    assert homes.profile.str.startswith("H0").sum() == 113  # and 5 businesses (G*)
    assert len(load_sites(net, "sgen")) == 17
    pp.runpp(net)
    assert net.converged and 0.95 < net.res_bus.vm_pu.min() < 1.0
    net.load["p_mw"] = 0.0
    assert lv_feeder().load.p_mw.sum() == pytest.approx(0.331)  # each call is a fresh copy


def test_bad_network_arguments_name_the_field():
    with pytest.raises(ConfigError, match="code"):
        lv_feeder("no-such-grid")
    with pytest.raises(ConfigError, match="element"):
        load_sites(ieee33(), "line")


def test_network_by_name_simbench_code_or_json_file(tmp_path):
    path = tmp_path / "feeder.json"
    pp.to_json(ieee33(transformer=False), str(path))
    assert len(network("ieee33").bus) == 34 and len(network("home").bus) == 2
    assert len(network(str(path)).bus) == 33 and len(network(path).line) == 37
    with pytest.raises(ConfigError, match="network = 'ieee34' must be one of .*SimBench.*json"):
        network("ieee34")
    with pytest.raises(ConfigError, match="network = .*no such pandapower JSON file"):
        network(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match="network = .*not a pandapower JSON net"):
        network(str(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="code = '1-LV-nowhere--0-sw' is not a SimBench grid code"):
        network("1-LV-nowhere--0-sw")
