"""OPF core on IEEE 33 and the SimBench LV feeder: exactness against pandapower's AC power flow,
LinDistFlow, re-solve vs fresh build, discrete methods, objective terms, diagnostics."""
import copy

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from benchmarks.bench_opf import ieee33_case
from controllers.opf.grid_devices import SVC, Battery, CapacitorBanks, FixedLoads, MicroTurbine, Renewables
from controllers.opf.network import from_pandapower
from controllers.opf.problem import OPFConfig, OPFProblem
from controllers.opf.thermal import BuildingHPBlock
from cosim_base.errors import ConfigError

T = 4
PRICE = np.array([30.0, 60.0, 90.0, 40.0])


@pytest.fixture(scope="module")
def net33():
    return pn.case33bw()


@pytest.fixture(scope="module")
def rn33(net33):
    return from_pandapower(net33)


def _base(rn, cfg=None, extra=(), T=T):
    prob = OPFProblem(rn, [FixedLoads.from_network(rn), *extra], T=T, dt_h=1.0,
                      config=cfg or OPFConfig(v_min_pu=0.9, weights={"loss": 0}))
    prob.set_data(price_import=PRICE[:T], price_export=0.5 * PRICE[:T])
    return prob


def _ac_voltages(net, rn, res, t, tap_pos=None):
    """pandapower AC power flow with the plan's injections of period t (all blocks as PQ loads)."""
    net = copy.deepcopy(net)
    net.load.drop(net.load.index, inplace=True)
    net.sgen.drop(net.sgen.index, inplace=True)
    p, q = res.network["p_bus_mw"][:, t], res.network["q_bus_mvar"][:, t]
    for k in np.flatnonzero((p != 0) | (q != 0)):
        pp.create_load(net, int(rn.bus_ids[k]), p_mw=p[k], q_mvar=q[k])
    if tap_pos is not None:
        net.trafo.loc[rn.oltc.trafo, "tap_pos"] = tap_pos
    pp.runpp(net, tolerance_mva=1e-10)
    return net.res_bus.vm_pu.reindex(rn.bus_ids).to_numpy(), net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()


def test_fixed_injections_match_pandapower_ac(net33, rn33):
    res = _base(rn33).solve()
    assert res.status == "optimal"
    ac = copy.deepcopy(net33)
    pp.runpp(ac, tolerance_mva=1e-10)
    loss_ac = ac.res_line.pl_mw.sum()
    assert abs(loss_ac - 0.20268) < 1e-4
    assert np.allclose(res.network["loss_mw"], loss_ac, rtol=1e-3)
    v_ac = ac.res_bus.vm_pu.reindex(rn33.bus_ids).to_numpy()
    assert np.abs(res.network["v_pu"] - v_ac[:, None]).max() < 1e-4
    assert res.gap_abs < 1e-6 and res.gap_rel < 1e-6
    assert np.allclose(res.network["p_grid_mw"], ac.res_ext_grid.p_mw.iloc[0], rtol=1e-4)
    assert res.network["v_pu"].shape == (33, T) and res.setpoints["load"]["p_mw"].shape == (32,)


def test_lindistflow_base_case_vmin(rn33):
    res = _base(rn33, OPFConfig(formulation="lindistflow", v_min_pu=0.9)).solve()
    assert res.status == "optimal" and res.gap_abs is None
    assert abs(res.network["v_pu"].min() - 0.9159) < 5e-4
    assert np.allclose(res.network["loss_mw"], 0)


def test_lindistflow_current_is_the_apparent_power_over_the_sending_voltage(rn33):
    """|I| = |S| / |V| at the sending end: sqrt((P^2 + Q^2) / v) in p.u., both terms over v."""
    res = _base(rn33, OPFConfig(formulation="lindistflow", v_min_pu=0.9)).solve()
    net = res.network
    s_pu = np.hypot(net["p_mw"], net["q_mvar"]) / rn33.s_base_mva
    v_send = net["v_pu"][rn33.parent]
    np.testing.assert_allclose(net["i_ka"], s_pu / v_send * rn33.i_base_ka()[1:, None], rtol=1e-9)


def _flex(rn):
    b = rn.bus_index([17, 32, 24, 29])
    return [Battery(b[:1], e_max_mwh=1.0, p_max_mw=0.3, cost_per_mwh=2.0, binary=True),
            Renewables(b[1:2], s_rated_mva=0.8, q_mode="circle", name="pv"),
            MicroTurbine(b[2:3], 0.1, 0.5, cost_per_mwh=55.0, ramp_mw_per_h=0.3, q_max_mvar=0.2, on_off=True),
            SVC(b[3:], -0.3, 0.3)]


def _flex_data(prob):
    prob.set_data(blocks={"ess": {"e0_mwh": 0.5}, "pv": {"p_avail_mw": [[0.0, 0.5, 0.7, 0.2]]},
                          "mt": {"p0_mw": 0.2}})


def test_flexible_plan_matches_ac_power_flow(net33, rn33):
    prob = _base(rn33, extra=_flex(rn33))
    _flex_data(prob)
    res = prob.solve()
    assert res.ok and res.discrete_method == "relax-round-fix"
    assert res.gap_rel < 1e-5
    for t in range(T):
        v_ac, _ = _ac_voltages(net33, rn33, res, t)
        assert np.abs(v_ac - res.network["v_pu"][:, t]).max() < 0.002
    u = res.plan["mt"]["u_on"]
    assert np.allclose(u, np.round(u))


def test_lv_feeder_oltc_discrete_and_ac():
    sb = pytest.importorskip("simbench")
    net = sb.get_simbench_net("1-LV-rural3--0-sw")
    assert from_pandapower(net).oltc is None  # no tap_changer_type: pandapower ignores its taps
    net.trafo["tap_changer_type"] = "Ratio"
    rn = from_pandapower(net)
    assert rn.oltc is not None and rn.s_base_mva == 0.1
    prob = OPFProblem(rn, [FixedLoads.from_network(rn)], T=2, dt_h=1.0)
    prob.set_data(price_import=[50, 80], price_export=[10, 10], v_ext_pu=1.0)
    res = prob.solve()
    assert res.ok and res.discrete_method == "relaxed-integral"  # the tap lands on its grid: one solve
    tap = res.network["tap_pos"]
    assert np.all(np.isin(tap, rn.oltc.positions))
    for t in range(2):
        ac = copy.deepcopy(net)
        ac.ext_grid.vm_pu = 1.0
        v_ac, loss_ac = _ac_voltages(ac, rn, res, t, tap_pos=int(tap[t]))
        assert np.abs(v_ac[1:] - res.network["v_pu"][1:, t]).max() < 0.002
        assert abs(loss_ac - res.network["loss_mw"][t]) < 0.05 * loss_ac + 1e-4
    prob.set_data(tap_pos=[0, -1])  # fixed by an earlier stage
    fixed = prob.solve()
    assert fixed.ok and fixed.discrete_method == "continuous"
    assert np.array_equal(fixed.network["tap_pos"], [0, -1])


def test_ieee33_with_substation_cb_and_svc_meets_band():
    networks = pytest.importorskip("simulators.networks")
    net = networks.ieee33(transformer=True)
    rn = from_pandapower(net, exclude_shunts=net.shunt.index)
    assert rn.oltc is not None and len(rn.oltc.positions) == 17
    blocks = [FixedLoads.from_network(rn), CapacitorBanks.from_net(net, rn), SVC.from_net(net, rn)]
    prob = OPFProblem(rn, blocks, T=2, dt_h=1.0)  # default band 0.94-1.06
    prob.set_data(price_import=[40, 80], price_export=[20, 20])
    res = prob.solve()
    assert res.ok and res.discrete_method == "relax-round-fix"
    steps = res.plan["cb"]["steps"]
    assert np.array_equal(steps, np.round(steps)) and steps.max() <= 5
    assert res.network["v_pu"][1:].min() >= 0.94 - 1e-6
    for t in range(2):
        v_ac, _ = _ac_voltages(net, rn, res, t, tap_pos=int(res.network["tap_pos"][t]))
        assert np.abs(v_ac[1:] - res.network["v_pu"][1:, t]).max() < 0.002


def test_resolve_equals_fresh_build(rn33):
    prob = _base(rn33, OPFConfig(v_min_pu=0.9), extra=_flex(rn33))
    _flex_data(prob)
    prob.solve()
    new_load = rn33.p_mw[rn33.p_mw != 0][:, None] * np.array([0.6, 0.8, 1.0, 1.1])
    data = dict(price_import=PRICE[::-1], price_export=0.3 * PRICE[::-1],
                blocks={"load": {"p_mw": new_load}, "ess": {"e0_mwh": 0.3}, "pv": {"p_avail_mw": [[0.3, 0.6, 0.1, 0.0]]},
                        "mt": {"p0_mw": 0.1}})
    prob.set_data(**data)
    again = prob.solve()
    fresh = OPFProblem(rn33, [FixedLoads.from_network(rn33), *_flex(rn33)], T=T, dt_h=1.0, config=OPFConfig(v_min_pu=0.9))
    fresh.set_data(**data)
    ref = fresh.solve()
    assert again.ok and ref.ok
    assert abs(again.objective - ref.objective) < 1e-5 * abs(ref.objective)
    assert np.allclose(again.network["v_pu"], ref.network["v_pu"], atol=1e-6)
    rebuilt = OPFProblem(rn33, [FixedLoads.from_network(rn33), *_flex(rn33)], T=T, dt_h=1.0,
                         config=OPFConfig(v_min_pu=0.9, dpp=False))
    rebuilt.set_data(**data)
    assert abs(rebuilt.solve().objective - ref.objective) < 1e-5 * abs(ref.objective)


def test_infeasible_voltage_band_is_diagnosed(rn33):
    res = _base(rn33, OPFConfig(v_min_pu=0.94)).solve()
    assert res.status == "infeasible"
    assert any("voltage_band" in d for d in res.diagnosis)


def test_soft_voltage_band_gives_the_least_violation_and_says_so(net33, rn33):
    """The same fixed loads against 0.94 p.u. with a soft band: a plan whose AC voltages miss the band
    by what it reports (IEEE 33's far end sits at 0.913 p.u.), exact, and a note naming the bus."""
    res = _base(rn33, OPFConfig(v_min_pu=0.94, v_violation_cost=1e5)).solve()
    assert res.ok and res.gap_rel <= 1e-5 and "least violation" in res.diagnosis[-1]
    v_ac, _ = _ac_voltages(net33, rn33, res, 0)
    viol = res.network["v_violation_pu"][:, 0]
    assert abs(viol.max() - (0.94 - v_ac.min())) < 1e-4 and 0.025 < viol.max() < 0.03
    assert res.costs["voltage"] > 0 and np.all(viol[v_ac > 0.94 + 1e-4] < 1e-6)


def test_solver_exception_becomes_status(rn33):
    res = _base(rn33, OPFConfig(v_min_pu=0.9, solver_opts={"no_such_option": 1})).solve()
    assert res.status == "solver_error" and res.diagnosis


def test_missing_and_unknown_data_raise_config_error(rn33):
    prob = OPFProblem(rn33, [FixedLoads.from_network(rn33)], T=2, dt_h=1.0)
    with pytest.raises(ConfigError, match="price_import"):
        prob.solve()
    with pytest.raises(ConfigError, match="unknown key"):
        prob.set_data(price_imp=[1, 2])
    with pytest.raises(ConfigError, match="shape"):
        prob.set_data(price_import=[1, 2, 3])
    with pytest.raises(ConfigError, match="price_export"):
        prob.set_data(price_import=[1, 2], price_export=[3, 3])


def test_negative_price_raises_loss_price_and_keeps_relaxation_exact(rn33):
    prob = _base(rn33, OPFConfig(v_min_pu=0.9))
    prob.set_data(price_import=[-50, 20, 30, 40], price_export=[-60, 10, 10, 10])
    assert prob.ctx.params["price_loss"].value[0] >= 60 + 1.0
    with pytest.warns(RuntimeWarning, match="price_loss raised"):
        prob.set_data(price_loss=np.full(T, 5.0))
    res = prob.solve()
    assert res.ok and res.gap_rel < 1e-6


def test_tracking_and_peak_terms(rn33):
    cfg = OPFConfig(v_min_pu=0.9, track={"grid.p_mw": 1e4, "ess.p_mw": 1.0})
    prob = _base(rn33, cfg, extra=_flex(rn33)[:1])
    ref = np.array([3.8, 4.05, 3.8, 4.05])  # reachable with the battery alone
    prob.set_data(blocks={"ess": {"e0_mwh": 0.5}}, ref={"grid.p_mw": ref, "ess.p_mw": np.zeros((1, T))})
    res = prob.solve()
    assert res.ok and np.abs(res.network["p_grid_mw"] - ref).max() < 0.03
    assert res.costs["track"] > 0
    flat = _base(rn33, OPFConfig(v_min_pu=0.9, weights={"peak": 1e4}), extra=_flex(rn33)[:1])
    flat.set_data(blocks={"ess": {"e0_mwh": 0.5}})
    cheap = _base(rn33, OPFConfig(v_min_pu=0.9), extra=_flex(rn33)[:1])
    cheap.set_data(blocks={"ess": {"e0_mwh": 0.5}})
    assert flat.solve().network["p_grid_mw"].std() < cheap.solve().network["p_grid_mw"].std()


def test_milp_with_highs_on_lindistflow(rn33):
    b = rn33.bus_index([17, 29])
    blocks = [Battery(b[:1], 1.0, 0.3, binary=True), CapacitorBanks(b[1:], 0.15, 4)]
    cfg = OPFConfig(formulation="lindistflow", v_min_pu=0.9)
    prob = _base(rn33, cfg, extra=blocks)
    prob.set_data(blocks={"ess": {"e0_mwh": 0.5}})
    exact = prob.solve(discrete="milp")
    rounded = prob.solve(discrete="round")
    assert exact.ok and exact.discrete_method == "milp-highs"
    steps = exact.plan["cb"]["steps"]
    assert np.allclose(steps, np.round(steps), atol=1e-6)
    assert exact.objective <= rounded.objective * (1 + 1e-6)
    with pytest.raises(ConfigError, match="lindistflow"):
        _base(rn33, OPFConfig(v_min_pu=0.9), extra=[CapacitorBanks(b[1:], 0.15, 4)]).solve(discrete="milp")


def test_permutation_restructure_matches_cvxpy_clarabel(rn33):
    import cvxpy as cp
    prob = _base(rn33, OPFConfig(v_min_pu=0.9), extra=_flex(rn33))
    _flex_data(prob)
    ours = prob.solve(discrete="relaxed")
    prob.problem.solve(solver=cp.CLARABEL)
    assert abs(prob.problem.value - ours.objective) < 1e-6 * abs(ours.objective)


def _data33(prob, rn, rng, load_scale=1.0):
    T = prob.T
    hours = np.arange(T) * 24 / T
    shape = load_scale * (0.7 + 0.3 * np.sin((hours - 6) / 24 * 2 * np.pi) + 0.05 * rng.standard_normal(T))
    k, pv = prob.blocks["load"].bus, prob.blocks["pv"]
    price = 40 + 40 * (np.abs(hours - 13) < 3) + 10 * rng.random(T)
    sun = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
    prob.set_data(price_import=price, price_export=0.5 * price,
                  blocks={"load": {"p_mw": rn.p_mw[k, None] * shape, "q_mvar": rn.q_mvar[k, None] * shape},
                          "pv": {"p_avail_mw": pv.s_rated_mva[:, None] * sun * (0.9 + 0.1 * rng.random((pv.n, T)))},
                          "ess": {"e0_mwh": rng.uniform(0.2, 0.8, 2)}})


@pytest.mark.parametrize("T, cfg", [(3, {}), (24, {}), (3, {"weights": {"peak": 10.0}})])
def test_direct_path_equals_cvxpy_path(T, cfg):
    direct, rn = ieee33_case(T, **cfg)
    ref, _ = ieee33_case(T, direct=False, **cfg)
    for seed in range(3):
        for prob in (direct, ref):
            _data33(prob, rn, np.random.default_rng(seed))
        a, b = direct.solve(), ref.solve()
        assert a.status == b.status == "optimal" and a.iterations > 0 and a.solve_time_s > 0
        assert abs(a.objective - b.objective) <= 1e-7 * max(1.0, abs(b.objective))
        for va, vb in zip(direct.problem.variables(), ref.problem.variables()):
            assert va.name() == vb.name() and np.abs(va.value - vb.value).max() <= 1e-7, va.name()
        for key in ("v_pu", "p_bus_mw", "q_bus_mvar", "loss_mw"):
            assert np.allclose(a.network[key], b.network[key], rtol=0, atol=1e-7), key
        assert a.costs.keys() == b.costs.keys()
        assert all(abs(a.costs[k] - b.costs[k]) <= 1e-7 * max(1.0, abs(b.costs[k])) for k in a.costs)
    assert direct._direct is not None and direct._direct.solver is not None and ref._direct is None


def test_direct_path_infeasible_data_maps_status_and_recovers():
    direct, rn = ieee33_case(3)
    ref, _ = ieee33_case(3, direct=False)
    rng = np.random.default_rng(5)
    for prob in (direct, ref):
        _data33(prob, rn, np.random.default_rng(0))
        assert prob.solve().ok
        _data33(prob, rn, np.random.default_rng(1), load_scale=4.0)  # no dispatch holds the voltage band
    a, b = direct.solve(), ref.solve()
    assert a.status == b.status == "infeasible"
    assert a.diagnosis == b.diagnosis and a.iterations > b.iterations  # the direct attempt counts too
    _data33(direct, rn, rng)
    again = direct.solve()
    assert again.ok and direct._direct_ok


def test_direct_path_not_used_when_disabled_or_unavailable(rn33):
    off = _base(rn33, OPFConfig(v_min_pu=0.9, direct=False))
    assert off.solve().ok and off._direct is None
    nodpp = _base(rn33, OPFConfig(v_min_pu=0.9, dpp=False))
    assert nodpp.solve().ok and nodpp._direct is None
    bad = _base(rn33, OPFConfig(v_min_pu=0.9, solver_opts={"no_such_option": 1}))
    res = bad.solve()
    assert res.status == "solver_error" and not bad._direct_ok  # cvxpy's path reported the error
    on = _base(rn33, OPFConfig(v_min_pu=0.9))
    res = on.solve()
    assert res.ok and on._direct is not None
    on.problem.solve(solver="CLARABEL")
    assert abs(on.problem.value - res.objective) < 1e-6 * abs(res.objective)


def test_setpoints_take_only_unit_by_period_plans_when_units_equal_periods():
    """A block with n == T units also returns (n,) plan entries (discomfort_kh); they are not setpoints."""
    rn = from_pandapower(pn.case33bw())
    hp = BuildingHPBlock(rn.bus_index([5, 9]), name="hp")
    prob = OPFProblem(rn, [FixedLoads.from_network(rn), hp], T=2, dt_h=1.0, config=OPFConfig(v_min_pu=0.9))
    prob.set_data(price_import=[50.0, 80.0], price_export=[25.0, 40.0], t_out_c=[-2.0, 0.0], ghi_kw_m2=[0.0, 0.1],
                  blocks={"hp": {"t_in0_c": [21.0, 21.0], "t_env0_c": [19.0, 19.0]}})
    res = prob.solve()
    assert res.ok and res.plan["hp"]["discomfort_kh"].shape == (2,)
    assert "discomfort_kh" not in res.setpoints["hp"] and res.setpoints["hp"]["p_hp_kw"].shape == (2,)


def _one_bank(rn, v_min, v_max, q_step_mvar=8.0):
    """IEEE 33 with one 8 Mvar bank at bus 17: no step leaves bus 17 below 0.92 p.u., one step
    lifts it to 1.18 p.u.; inside [0.92, 1.0] only a fraction of a step is feasible."""
    cb = CapacitorBanks(rn.bus_index([17]), q_step_mvar=q_step_mvar, max_step=1)
    prob = OPFProblem(rn, [FixedLoads.from_network(rn), cb], T=1, dt_h=1.0,
                      config=OPFConfig(v_min_pu=v_min, v_max_pu=v_max))
    prob.set_data(price_import=[50.0], price_export=[25.0])
    return prob


def test_rounding_never_makes_a_feasible_relaxation_infeasible(rn33):
    prob = _one_bank(rn33, 0.92, 1.0)
    for steps in (0.0, 1.0):  # both roundings are infeasible
        prob.set_data(blocks={"cb": {"steps": [[steps]]}})
        assert prob.solve().status == "infeasible"
    prob.blocks["cb"].discrete[0].lo.value[:] = 0.0  # free again
    prob.blocks["cb"].discrete[0].hi.value[:] = 1.0
    res = prob.solve()  # used to end "infeasible_after_rounding"
    assert res.ok and res.discrete_method == "relax-round-repair"
    assert 0 < res.plan["cb"]["steps"][0, 0] < 1 and "1 fractional values left relaxed" in res.diagnosis[-1]


def test_a_relaxation_on_the_grid_is_solved_once(rn33, monkeypatch):
    prob = _one_bank(rn33, 0.9, 1.2, q_step_mvar=0.05)  # less than the losses would like: a full step
    calls = []
    solve_once = prob._solve_once
    monkeypatch.setattr(prob, "_solve_once", lambda *a, **k: calls.append(1) or solve_once(*a, **k))
    res = prob.solve()
    assert res.ok and res.discrete_method == "relaxed-integral" and len(calls) == 1
    assert abs(res.plan["cb"]["steps"][0, 0] - 1.0) < 1e-6


def test_tracking_that_rewards_fictitious_losses_is_re_solved_exact(rn33):
    """A grid exchange tracked towards 4.5 MW above the feeder's ~3.9 MW: the relaxation would burn
    fictitious losses to get there (gap_rel ~1); the re-solve with a raised loss price is exact."""
    prob = OPFProblem(rn33, [FixedLoads.from_network(rn33)], T=2, dt_h=0.25,
                      config=OPFConfig(v_min_pu=0.9, track={"grid.p_mw": 1000.0}))
    prob.set_data(price_import=[50.0, 50.0], price_export=[25.0, 25.0], ref={"grid.p_mw": np.array([4.5, 4.5])})
    res = prob.solve()
    assert res.ok and res.gap_rel <= 1e-5 and "tracking made the relaxation inexact" in res.diagnosis[-1]
    assert float(res.diagnosis[-1].split("gap_rel ")[1].split(")")[0]) > 0.5  # the first solve was not exact
    assert np.allclose(res.network["p_grid_mw"], 3.9177, atol=1e-3)  # true load plus true losses
    assert np.allclose(prob.ctx.params["price_loss"].value, prob.ctx.params["price_loss"].value[0])  # restored


def test_binding_upper_voltage_bound_keeps_the_relaxation_exact(net33, rn33):
    """Reverse flow from 2 x 3 MW of PV at the feeder ends against a 1.03 p.u. bound, export paid:
    with the bound on v the relaxation burnt fictitious losses to 'lower' the voltages and exported
    all PV (gap_rel 0.98, AC voltages far above the bound); on the lossless voltage (Gan et al. 2015)
    it is exact and curtails, and the AC power flow of its plan stays in the band."""
    fl = FixedLoads.from_network(rn33)
    prob = OPFProblem(rn33, [fl, Renewables(rn33.bus_index([17, 32]), s_rated_mva=3.0, name="pv")], T=2, dt_h=0.25,
                      config=OPFConfig(v_min_pu=0.85, v_max_pu=1.03))
    prob.set_data(price_import=[50.0, 50.0], price_export=[50.0, 50.0],
                  blocks={"load": {"p_mw": 0.3 * fl._p0[:, None].repeat(2, 1), "q_mvar": 0.3 * fl._q0[:, None].repeat(2, 1)},
                          "pv": {"p_avail_mw": np.full((2, 2), 3.0)}})
    res = prob.solve()
    assert res.ok and res.gap_rel <= 1e-5 and not res.diagnosis
    assert res.plan["pv"]["p_gen_mw"].sum(axis=0)[0] < 2.0  # curtailed (the inexact plan exported 6 MW)
    v_ac, loss_ac = _ac_voltages(net33, rn33, res, 0)
    assert v_ac.max() <= 1.03 + 1e-6 and res.network["v_pu"][1:].max() > 1.02  # in the band, close to it
    assert abs(res.network["loss_mw"][0] - loss_ac) < 1e-4


def test_an_idle_unit_is_planned_at_exactly_zero(rn33, monkeypatch):
    """PV worth more fed in than curtailed: its curtailment is 0 in the plan, not the solver's -7e-9
    (what the plan holds with the zeroing off)."""
    import controllers.opf.problem as problem

    prob = _base(rn33, extra=[Renewables(rn33.bus_index([32]), s_rated_mva=0.8, name="pv")])
    prob.set_data(blocks={"pv": {"p_avail_mw": np.full((1, T), 0.3)}})
    assert not prob.solve().plan["pv"]["curtail_mw"].any()
    monkeypatch.setattr(problem, "PLAN_ZERO", 0.0)
    raw = prob.solve().plan["pv"]["curtail_mw"]
    assert raw.any() and np.abs(raw).max() < 1e-7


def test_a_long_horizon_factors_with_faer_and_reaches_qdldls_answer():
    """From FAER_FROM_PERIODS periods the KKT systems go to faer (faster there, measured in
    controllers/opf/clarabel.py); the answer is the one QDLDL gives."""
    from controllers.opf.clarabel import FAER_FROM_PERIODS

    T = FAER_FROM_PERIODS
    long_, rn = ieee33_case(T)
    forced, _ = ieee33_case(T, solver_opts={"direct_solve_method": "qdldl"})
    short, _ = ieee33_case(T - 1)
    for prob in (long_, forced):
        _data33(prob, rn, np.random.default_rng(0))
    _data33(short, rn, np.random.default_rng(0))
    a, b, c = long_.solve(), forced.solve(), short.solve()
    assert a.status == b.status == c.status == "optimal"
    methods = [p._direct.settings.direct_solve_method for p in (long_, forced, short)]
    assert methods == ["faer", "qdldl", "qdldl"]
    assert abs(a.objective - b.objective) <= 1e-7 * abs(b.objective)
    for va, vb in zip(long_.problem.variables(), forced.problem.variables()):
        assert np.abs(va.value - vb.value).max() <= 1e-6, va.name()
