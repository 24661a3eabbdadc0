"""GridModel and the Grid mosaik adapter on real pandapower nets and real mosaik worlds."""
import mosaik
import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from cosim.collector import collector_of
from cosim_base.errors import ConfigError, DataError
from simulators.fleet import Fleet
from simulators.fleet_sim import FleetSim
from simulators.grid import TOLERANCE_MVA, GridModel, LocalVoltageControl
from simulators.grid_sim import GridSim
from simulators.networks import bus_table, ieee33, load_sites, lv_feeder

STEP_S = 60


class Loads(Fleet):
    """Constant loads ``p_mw``/``q_mvar`` per unit, times ``scale[k]`` at step ``k`` (test source)."""
    OUTPUTS = ("p_mw", "q_mvar")

    def __init__(self, n, p_mw, q_mvar, scale=(1.0,)):
        self.n, self.p_mw, self.q_mvar, self.scale, self.k = n, np.asarray(p_mw), np.asarray(q_mvar), scale, 0

    def step(self, t_s, dt_s, inputs):
        s = self.scale[min(self.k, len(self.scale) - 1)]
        self.k += 1
        return {"p_mw": s * self.p_mw, "q_mvar": s * self.q_mvar}


class LoadsSim(FleetSim):
    model = "Loads"
    fleet_cls = Loads


def base_injections(net):
    """Per-bus base loads of a net as built (before a GridModel takes its loads out of service)."""
    table = bus_table(net)
    return table.p_load_mw.to_numpy(), table.q_load_mvar.to_numpy()


def run_world(net, until, keep_net_loads=False, loads=None):
    """Grid (+ optional Loads fleet whose units feed ``loads["bus"]``) and a collector."""
    world = mosaik.World({"Grid": {"python": "simulators.grid_sim:GridSim"},
                          "Loads": {"python": "tests.test_grid:LoadsSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    grid = world.start("Grid", step_size=STEP_S).Grid(net=net, keep_net_loads=keep_net_loads)
    kids = {e.eid: e for e in grid.children}
    mon = world.start("Collector", step_size=STEP_S).Monitor()
    world.connect(grid, mon, "p_loss_mw", "q_loss_mvar", "p_ext_mw", "converged", "v_min_pu")
    for eid, e in kids.items():
        if e.type == "Bus":
            world.connect(e, mon, "vm_pu")
    if loads is not None:
        fleet = Loads(len(loads["bus"]), loads["p_mw"], loads["q_mvar"], loads.get("scale", (1.0,)))
        units = world.start("Loads", step_size=STEP_S).Loads.create(fleet.n, fleet=fleet)
        for unit, bus in zip(units, loads["bus"]):
            world.connect(unit, kids[f"Bus_{bus}"], "p_mw", "q_mvar")
    world.run(until=until)
    return collector_of(world, mon)


def test_ieee33_base_case_through_mosaik_with_the_nets_own_loads():
    col = run_world(ieee33(transformer=False), until=2 * STEP_S, keep_net_loads=True)
    assert col.frame("p_loss_mw").iloc[:, 0].tolist() == pytest.approx([0.20268] * 2, abs=1e-4)
    vm = col.frame("vm_pu").iloc[-1]
    assert vm.min() == pytest.approx(0.9131, abs=1e-4) and vm.idxmin() == "Bus_17"
    assert col.frame("converged").iloc[:, 0].tolist() == [1, 1]


def test_injections_sent_through_mosaik_arrive_at_their_buses():
    """Base loads split over two units per bus (summed by the Bus), vs a direct pandapower run."""
    net = ieee33(transformer=False)
    sites = load_sites(net)
    loads = {"bus": np.repeat(sites.bus, 2), "p_mw": np.repeat(sites.p_mw / 2, 2),
             "q_mvar": np.repeat(sites.q_mvar / 2, 2), "scale": (1.0, 0.5)}
    col = run_world(net, until=2 * STEP_S, loads=loads)
    ref = pn.case33bw()
    vm = col.frame("vm_pu")
    for t, scale in ((0, 1.0), (STEP_S, 0.5)):
        ref.load["scaling"] = scale
        pp.runpp(ref, tolerance_mva=TOLERANCE_MVA)
        np.testing.assert_allclose(vm.loc[t, [f"Bus_{b}" for b in ref.bus.index]], ref.res_bus.vm_pu,
                                   atol=1e-8)
        assert col.frame("p_loss_mw").loc[t].iloc[0] == pytest.approx(ref.res_line.pl_mw.sum(), abs=1e-9)


def test_diverging_step_is_flagged_and_the_next_step_recovers():
    net = ieee33(transformer=False)
    sites = load_sites(net)
    loads = {"bus": sites.bus, "p_mw": sites.p_mw, "q_mvar": sites.q_mvar, "scale": (1.0, 20.0, 1.0)}
    col = run_world(net, until=3 * STEP_S, loads=loads)
    assert col.frame("converged").iloc[:, 0].tolist() == [1, 0, 1]
    assert col.frame("vm_pu").loc[STEP_S].isna().all()
    assert col.frame("p_loss_mw").iloc[:, 0].tolist()[2] == pytest.approx(0.20268, abs=1e-4)


def test_tap_scales_the_feeder_voltage_by_the_tap_ratio():
    p, q = base_injections(ieee33(transformer=True))
    model = GridModel(ieee33(transformer=True))
    zero = np.zeros(model.n_bus)
    v0 = model.step(zero, zero, tap_pos=0)["vm_pu"]
    v2 = model.step(zero, zero, tap_pos=2)["vm_pu"]
    assert v2[0] / v0[0] == pytest.approx(1 + 2 * 0.0125, abs=1e-6)
    lo, hi = model.step(p, q, tap_pos=-1), model.step(p, q, tap_pos=1)
    assert (hi["vm_pu"][:33] > lo["vm_pu"][:33]).all()
    assert hi["v_min_pu"] - lo["v_min_pu"] == pytest.approx(0.025, abs=0.005)


def test_capacitor_steps_and_svc_raise_voltages_and_supply_reactive_power():
    p, q = base_injections(ieee33(transformer=True))
    model = GridModel(ieee33(transformer=True))
    off = model.step(p, q)
    caps = model.step(p, q, cap_step=[5, 3])
    assert caps["vm_pu"][17] > off["vm_pu"][17] and caps["vm_pu"][29] > off["vm_pu"][29]
    np.testing.assert_allclose(caps["cap_q_mvar"], [-0.5, -0.3] * caps["vm_pu"][[29, 17]] ** 2)
    assert caps["p_loss_mw"] < off["p_loss_mw"]
    svc = model.step(p, q, svc_q_mvar=-0.4)
    assert svc["vm_pu"][32] > caps["vm_pu"][32] and svc["svc_q_mvar"][0] == pytest.approx(-0.4)
    assert 0.4 < caps["q_ext_mvar"] - svc["q_ext_mvar"] < 0.5  # 0.4 Mvar plus lower Q losses


def test_recycled_steps_equal_full_power_flows():
    """Warm, recycled stepping (the default) gives the same results as a fresh full run."""
    p, q = base_injections(ieee33())
    fast, full = GridModel(ieee33()), GridModel(ieee33(), recycle=False)
    rng = np.random.default_rng(1)
    controls = [{}, {"tap_pos": 2}, {}, {"cap_step": [1, 4]}, {"svc_q_mvar": 0.3}, {}, {"tap_pos": -3}]
    for ctrl in controls:
        noise = 1 + 0.2 * rng.standard_normal(len(p))
        a, b = fast.step(noise * p, noise * q, **ctrl), full.step(noise * p, noise * q, **ctrl)
        for key in ("vm_pu", "va_degree", "loading_percent", "i_ka", "trafo_loading_percent"):
            np.testing.assert_allclose(a[key], b[key], atol=1e-8, err_msg=key)
        assert a["p_loss_mw"] == pytest.approx(b["p_loss_mw"], abs=1e-10)


@pytest.mark.parametrize("make, scale, steps", [(ieee33, 1.0, 200), (lv_feeder, 0.02, 50)])
def test_the_direct_lightsim2grid_path_equals_pandapowers_to_1e_9(make, scale, steps):
    """Random steps with taps, capacitor steps and SVC moves: every output of the direct path
    (pandapower's case, lightsim2grid's Newton-Raphson, pandapower's result formulas) equals the
    pandapower path's (loadings compared as fractions)."""
    direct, ref = GridModel(make()), GridModel(make(), direct=False)
    rng = np.random.default_rng(3)
    n_direct = 0
    for k in range(steps):
        kw = {"p_mw": scale * rng.uniform(-0.05, 0.25, ref.n_bus), "q_mvar": scale * rng.uniform(-0.02, 0.08, ref.n_bus)}
        if len(ref.tap_min) and k % 37 == 5:
            kw["tap_pos"] = rng.integers(ref.tap_min, ref.tap_max + 1)
        if len(ref.cap_max_step) and k % 23 == 7:
            kw["cap_step"] = rng.integers(0, ref.cap_max_step + 1)
        if len(ref.svc_min_q_mvar) and k % 3 == 1:
            kw["svc_q_mvar"] = rng.uniform(ref.svc_min_q_mvar, ref.svc_max_q_mvar)
        n_direct += direct._case is not None and "tap_pos" not in kw and "cap_step" not in kw
        a, b = direct.step(**kw), ref.step(**kw)
        assert a["converged"] and b["converged"]
        for key in a:
            x, y = np.asarray(a[key], float), np.asarray(b[key], float)
            if key.endswith("loading_percent"):
                x, y = x / 100, y / 100
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-9, err_msg=f"{make.__name__} step {k}: {key}")
    assert n_direct >= 0.9 * steps  # the direct path did the work


def test_lv_feeder_households_as_injections_equal_the_nets_own_loads():
    net = lv_feeder()
    homes = load_sites(net)
    p, q = np.zeros(len(net.bus)), np.zeros(len(net.bus))
    np.add.at(p, homes.pos, homes.p_mw)
    np.add.at(q, homes.pos, homes.q_mvar)
    injected = GridModel(net).step(p, q)
    kept = GridModel(lv_feeder(), keep_net_loads=True)
    kept.net.sgen["in_service"] = False
    own = kept.step(np.zeros(len(p)), np.zeros(len(p)))
    assert injected["converged"] and own["converged"]
    np.testing.assert_allclose(injected["vm_pu"], own["vm_pu"], atol=1e-10)
    assert 0.95 < injected["v_min_pu"] < injected["v_max_pu"] < 1.06


@pytest.mark.parametrize("kwargs, field", [
    ({"tap_pos": 9}, "tap_pos"), ({"tap_pos": 0.5}, "tap_pos"), ({"cap_step": [-1, 0]}, "cap_step"),
    ({"cap_step": [6, 0]}, "cap_step"), ({"svc_q_mvar": 0.6}, "svc_q_mvar"),
    ({"p_mw": np.zeros(5)}, "p_mw"), ({"q_mvar": np.nan}, "q_mvar"),
])
def test_bad_inputs_raise_config_error_naming_the_field(kwargs, field):
    model = GridModel(ieee33())
    args = {"p_mw": 0.0, "q_mvar": 0.0, **kwargs}
    with pytest.raises(ConfigError, match=field):
        model.step(**args)


def test_bad_grid_parameters_raise_config_error():
    with pytest.raises(ConfigError, match="backend"):
        GridModel(ieee33(), backend="fast")
    sim = GridSim()
    with pytest.raises(ConfigError, match="step_size"):
        sim.init("Grid-0", step_size=0)
    with pytest.raises(ConfigError, match="one of the create parameters network .* and net"):
        sim.create(1, "Grid")
    with pytest.raises(ConfigError, match="one of the create parameters network .* and net"):
        sim.create(1, "Grid", network="ieee33", net=ieee33())
    with pytest.raises(ConfigError, match="network = 'ieee34'"):
        sim.create(1, "Grid", network="ieee34")


def test_grid_sim_builds_a_named_network():
    sim = GridSim()
    sim.init("Grid-0", step_size=STEP_S)
    (grid,) = sim.create(1, "Grid", network="ieee33", keep_net_loads=True)
    assert sum(c["type"] == "Bus" for c in grid["children"]) == 34
    sim.step(0, {}, 0)
    out = sim.get_data({"Grid": ["converged", "p_loss_mw"]})["Grid"]
    assert out["converged"] == 1.0 and 0.19 < out["p_loss_mw"] < 0.26  # the base case's losses (+ transformer)


def test_adapter_holds_each_source_until_it_sends_again():
    sim = GridSim()
    sim.init("Grid-0", step_size=STEP_S)
    sim.create(1, "Grid", net=ieee33())
    sim.step(0, {"Bus_5": {"p_mw": {"a.x": 0.1, "b.y": 0.2}}, "Trafo_0": {"tap_pos": {"c.z": 3}}}, 0)
    sim.step(60, {"Bus_5": {"p_mw": {"a.x": 0.3}}}, 0)
    data = sim.get_data({"Bus_5": ["p_mw"], "Trafo_0": ["tap_pos"], "Grid": ["converged"]})
    assert data == {"Bus_5": {"p_mw": pytest.approx(0.5)}, "Trafo_0": {"tap_pos": 3.0},
                    "Grid": {"converged": 1.0}}
    with pytest.raises(ConfigError, match="Bus_5.vm_pu"):
        sim.step(120, {"Bus_5": {"vm_pu": {"a.x": 1.0}}}, 0)


def test_set_entities_report_every_element_and_the_grid_adds_per_bus_lists():
    """``BusSet`` etc.: one dict per attribute with every element's own value; ``Grid``'s
    ``bus_p_mw`` list adds to the buses' own inputs (a fleet's draw in one value)."""
    sim = GridSim()
    sim.init("Grid-0", step_size=STEP_S)
    (grid,) = sim.create(1, "Grid", net=ieee33())
    sets = [c["eid"] for c in grid["children"] if c["type"].endswith("Set")]
    assert sets == ["BusSet", "LineSet", "TrafoSet", "CapacitorSet", "SVCSet"]
    draw = np.zeros(34)
    draw[[5, 7]] = [0.2, 0.1]
    sim.step(0, {"Bus_5": {"p_mw": {"a.x": 0.1}}, "Grid": {"bus_p_mw": {"f.F": draw.tolist(), "g.G": draw.tolist()}}}, 0)
    data = sim.get_data({"BusSet": ["vm_pu", "p_mw"], "LineSet": ["loading_percent"], "TrafoSet": ["tap_pos"]})
    buses = [f"Bus_{i}" for i in range(34)]
    one = sim.get_data({b: ["vm_pu", "p_mw"] for b in buses})
    assert list(data["BusSet"]["vm_pu"]) == buses
    assert data["BusSet"]["vm_pu"] == {b: one[b]["vm_pu"] for b in buses}
    assert data["BusSet"]["p_mw"]["Bus_5"] == pytest.approx(0.5) and data["BusSet"]["p_mw"]["Bus_7"] == pytest.approx(0.2)
    lines = [c["eid"] for c in grid["children"] if c["type"] == "Line"]
    assert list(data["LineSet"]["loading_percent"]) == lines and list(data["TrafoSet"]["tap_pos"]) == ["Trafo_0"]
    with pytest.raises(DataError, match="expected a list of 34 numbers"):
        sim.step(60, {"Grid": {"bus_p_mw": {"f.F": [0.1]}}}, 0)


NAN = {"tap_pos": [np.nan], "cap_step": [np.nan, np.nan], "svc_q_mvar": [np.nan]}  # no setpoints


def test_oltc_steps_after_its_delay_into_the_band_and_stays():
    """No load: the IEEE 33 feeder head sits at 1.05 p.u. at tap 0, above a 0.99..1.01 band. The
    tap moves one position down each time the voltage has been above the band for 120 s (two
    60-s steps), until the head is inside the band; then it stays."""
    local = LocalVoltageControl(oltc_v_set_pu=1.0, oltc_band_pu=0.02, oltc_delay_s=120)
    model = GridModel(ieee33(), local=local, step_s=60)
    zero = np.zeros(model.n_bus)
    taps, heads = [], []
    for _ in range(14):
        out = model.step(zero, zero, **{**NAN, "svc_q_mvar": [0.0]})
        taps.append(out["tap_pos"][0])
        heads.append(out["vm_pu"][0])
    assert heads[0] > 1.04 and taps[0] == 0
    moves = np.flatnonzero(np.diff(taps))
    assert (np.diff(taps)[moves] == -1).all() and (np.diff(moves) >= 2).all()  # one step per delay
    assert taps[moves[0] + 1] == -1 and moves[0] + 1 == 2  # the first move: after 120 s above the band
    last = moves[-1] + 1
    assert all(0.99 <= v <= 1.01 for v in heads[last:]) and all(t == taps[last] for t in taps[last:])
    assert all(heads[m - 1] > 1.01 and heads[m] > 1.01 for m in moves)  # moved after 120 s above the band
    # a setpoint overrides local control; without local control a device keeps its position
    assert model.step(zero, zero, tap_pos=[2], cap_step=[np.nan, np.nan])["tap_pos"][0] == 2
    held = GridModel(ieee33(), step_s=60)
    for tap in (3, np.nan, np.nan):
        assert held.step(zero, zero, tap_pos=[tap], **{k: v for k, v in NAN.items() if k != "tap_pos"})["tap_pos"][0] == 3


def test_a_capacitor_bank_switches_in_at_low_voltage_and_the_svc_follows_its_droop():
    p, q = base_injections(ieee33(transformer=True))
    local = LocalVoltageControl(cap_v_on_pu=0.95, cap_v_off_pu=1.04, cap_delay_s=60)
    model = GridModel(ieee33(), local=local, step_s=60)
    out = [model.step(1.3 * p, 1.3 * q, **NAN) for _ in range(4)]  # heavy load: low voltages
    low = out[0]["vm_pu"][[29, 17]] < 0.95  # the banks' buses (CB1 at 29, CB2 at 17)
    assert low.all() and (out[0]["cap_step"] == 0).all()
    np.testing.assert_array_equal([o["cap_step"] for o in out], [[0, 0], [1, 1], [2, 2], [3, 3]])
    assert out[3]["vm_pu"][17] > out[0]["vm_pu"][17]
    v = out[2]["vm_pu"][32]  # the SVC (bus 32) reads the step before its own
    share = np.clip((v - 1.0 + 0.02) / 0.06, -1, 0) if v < 0.98 else 0.0
    assert out[3]["svc_q_mvar"][0] == pytest.approx(0.5 * share) and out[3]["svc_q_mvar"][0] < -0.1  # injects


def test_the_adapter_leaves_devices_without_setpoints_to_local_control():
    sim = GridSim()
    sim.init("Grid-0", step_size=STEP_S)
    sim.create(1, "Grid", net=ieee33(), local_control={"oltc_v_set_pu": 1.0, "oltc_band_pu": 0.02})
    for t in range(0, 5 * STEP_S, STEP_S):
        sim.step(t, {}, 0)  # no setpoint ever sent
    assert sim.get_data({"Trafo_0": ["tap_pos"]})["Trafo_0"]["tap_pos"] < 0
    sim.step(5 * STEP_S, {"Trafo_0": {"tap_pos": {"c.z": 2}}}, 0)
    assert sim.get_data({"Trafo_0": ["tap_pos"]})["Trafo_0"]["tap_pos"] == 2.0
    sim.step(6 * STEP_S, {"Trafo_0": {"tap_pos": {"c.z": np.nan}}}, 0)  # NaN: back to local control
    assert sim.get_data({"Trafo_0": ["tap_pos"]})["Trafo_0"]["tap_pos"] == 1.0  # 60 s above the band at 2
