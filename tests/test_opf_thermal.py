"""OPF thermal blocks: comfort and slack, plan = plant physics, pre-heating, TSEH and CHP rules, DPP."""
import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from controllers.opf.block import Context
from controllers.opf.thermal import BuildingHPBlock, HeatHubBlock, TSEHBlock, chp_linear_fit
from cosim_base.errors import ConfigError
from devices.building import fit_eer_linear
from simulators.building import BuildingFleet
from simulators.rc import discretize_zoh, first_order_zoh
from simulators.thermal import chp_operating_point, rc_3r2c_matrices, storage_step

T = 24
HOURS = np.arange(T)
PEAK = (HOURS >= 17) & (HOURS < 21)
TOU = np.where(PEAK, 300.0, np.where(HOURS < 6, 50.0, 100.0))  # currency/MWh
T_OUT = -2.0 + 4.0 * np.sin(2 * np.pi * (HOURS - 9) / 24)
GHI = np.clip(0.4 * np.sin(np.pi * (HOURS - 7) / 10), 0, None)  # kW/m2
SOLVE = dict(solver="CLARABEL", direct_solve_method="qdldl")


def standalone(blocks, dt_h=1.0):
    """Small harness: objective = energy price x total power + block costs (no network)."""
    ctx = Context(T=T, dt_h=dt_h)
    for b in blocks:
        b.build(ctx)
    price = ctx.shared("price_import")
    obj = sum(dt_h * cp.sum(b.p_mw, axis=0) @ price + b.cost for b in blocks)
    prob = cp.Problem(cp.Minimize(obj), [c for b in blocks for c in b.constraints])
    ctx.shared("t_out_c").value = T_OUT
    ctx.shared("ghi_kw_m2").value = GHI
    price.value = TOU
    return ctx, prob


def solve(prob):
    prob.solve(**SOLVE)
    assert prob.status == "optimal"
    return prob.value


def round_fix_solve(blocks, prob):
    """Relax-round-fix as the core does it: round every Discrete, fix it through lo = hi, re-solve."""
    solve(prob)
    for d in (d for b in blocks for d in b.discrete):
        d.lo.value = d.hi.value = d.rounded(d.var.value)
    return solve(prob)


def building_data(n):
    return dict(t_in0_c=np.full(n, 21.0), t_env0_c=np.full(n, 19.0), phi_int_kw=0.3)


def test_problem_is_dpp_and_set_data_names_key_and_shape():
    blocks = [BuildingHPBlock([1, 2]), TSEHBlock([3], name="tseh"), HeatHubBlock([4, 5])]
    _, prob = standalone(blocks)
    assert prob.is_dcp(dpp=True)
    with pytest.raises(ConfigError, match="t_low_c has shape \\(3,\\), expected \\(2, 24\\)"):
        blocks[0].set_data(t_low_c=np.zeros(3))
    with pytest.raises(ConfigError, match="unknown key.*'t_in_c'"):
        blocks[0].set_data(t_in_c=20.0)
    with pytest.raises(ConfigError, match="e_st0_kwh"):
        blocks[1].set_data(e_st0_kwh=99.0)  # above e_st_max_kwh = 20
    with pytest.raises(ConfigError, match="q_demand_kw"):
        blocks[2].set_data(q_demand_kw=-np.ones((2, T)))


def test_comfort_band_held_and_preheating_before_the_price_peak():
    b = BuildingHPBlock([1, 2], ci_kwh_per_k=[0.8, 1.5], ce_kwh_per_k=[10.0, 14.0])
    _, prob = standalone([b])
    b.set_data(**building_data(2))
    solve(prob)
    p = b.plan()
    assert np.all(p["t_in_c"][:, 1:] >= 20 - 1e-6) and np.all(p["t_in_c"][:, 1:] <= 22 + 1e-6)
    assert np.all(p["discomfort_kh"] < 1e-6)
    # Cheap hours before the peak are used: warmer at the peak's start, less power during it.
    assert np.all(p["t_in_c"][:, 17] > 21.5)
    assert np.all(p["p_hp_kw"][:, PEAK].mean(axis=1) < p["p_hp_kw"][:, 13:17].mean(axis=1))
    np.testing.assert_allclose(p["q_hp_kw"], p["cop"] * p["p_hp_kw"], atol=1e-9)
    np.testing.assert_allclose(p["cop"][0], 2.227 + 0.0642 * T_OUT)


def test_too_small_heat_pump_reports_discomfort_instead_of_failing():
    b = BuildingHPBlock([1], p_hp_max_kw=0.3)
    ctx, prob = standalone([b])
    ctx.params["t_out_c"].value = np.full(T, -10.0)
    b.set_data(**building_data(1))
    solve(prob)
    p = b.plan()
    assert p["discomfort_kh"][0] > 1.0
    assert np.all(p["t_in_c"][:, 1:] + p["dev_low_k"] >= 20 - 1e-6)
    np.testing.assert_allclose(p["discomfort_kh"], p["dev_low_k"].sum(axis=1), rtol=1e-6)


def test_hot_day_is_planned_with_cooling_in_one_mode():
    """A 26-38 degC sunny day, band 23-26 degC: the plan cools (heat removed = eer x p_cool), keeps
    the band, never heats at the same time; without cooling capacity the same day ends outside."""
    hot = 32.0 + 6.0 * np.sin(2 * np.pi * (HOURS - 9) / 24)
    data = dict(t_in0_c=[25.0], t_env0_c=[25.0], phi_int_kw=0.3, t_low_c=23.0, t_up_c=26.0)
    plans = []
    for p_cool_max in (3.0, 0.0):
        b = BuildingHPBlock([1], p_cool_max_kw=p_cool_max)
        ctx, prob = standalone([b])
        assert prob.is_dcp(dpp=True)
        ctx.params["t_out_c"].value = hot
        ctx.params["ghi_kw_m2"].value = 2 * GHI
        b.set_data(**data)
        solve(prob)
        plans.append(b.plan())
    p, none = plans
    assert p["discomfort_kh"][0] < 1e-6 and p["p_cool_kw"].sum() > 5.0
    assert np.all(np.minimum(p["p_hp_kw"], p["p_cool_kw"]) < 1e-6)
    np.testing.assert_allclose(p["eer"][0], 7.394 - 0.1136 * hot)  # the default line:
    np.testing.assert_allclose(fit_eer_linear(3.4), (7.394, -0.1136), atol=1e-3)  # the plant's EER fitted
    np.testing.assert_allclose(p["phi_heat_kw"], p["q_hp_kw"] - p["eer"] * p["p_cool_kw"], atol=1e-9)
    assert none["discomfort_kh"][0] > 5.0 and np.all(none["p_cool_kw"] == 0.0)


def simulate_rc(params, t_in0, t_env0, phi_int_kw, phi_heat_kw, dt_h):
    """Reference plant step (simulators.thermal + simulators.rc), one period at a time."""
    a, b = rc_3r2c_matrices(**params)
    ad, bd = discretize_zoh(a, b, dt_h)
    x = np.stack([t_in0, t_env0], axis=1)
    out = [x]
    for k in range(T):
        u = np.stack([np.full(len(x), T_OUT[k]), np.full(len(x), GHI[k]), phi_int_kw[:, k], phi_heat_kw[:, k]], axis=1)
        x = np.einsum("nij,nj->ni", ad, x) + np.einsum("nij,nj->ni", bd, u)
        out.append(x)
    return np.stack(out, axis=2)  # (n, 2, T+1)


@pytest.mark.parametrize("dt_h", [0.25, 1.0])
def test_planned_temperatures_equal_the_plant_physics(dt_h):
    params = dict(ci_kwh_per_k=np.array([0.5, 1.2]), ce_kwh_per_k=np.array([8.0, 12.0]),
                  rie_k_per_kw=np.array([0.6, 0.9]), rea_k_per_kw=np.array([7.0, 9.0]),
                  ria_k_per_kw=np.array([9.0, 12.0]), aw_m2=np.array([4.0, 6.0]), ae_m2=np.array([1.0, 0.5]))
    b = BuildingHPBlock([1, 2], **params)
    _, prob = standalone([b], dt_h=dt_h)
    phi_int = 0.2 + 0.1 * np.vstack([np.cos(HOURS), np.sin(HOURS)]) ** 2
    b.set_data(t_in0_c=[20.5, 21.5], t_env0_c=[18.0, 19.5], phi_int_kw=phi_int)
    solve(prob)
    p = b.plan()
    x = simulate_rc(params, np.array([20.5, 21.5]), np.array([18.0, 19.5]), phi_int, p["phi_heat_kw"], dt_h)
    np.testing.assert_allclose(p["t_in_c"], x[:, 0], atol=1e-6)
    np.testing.assert_allclose(p["t_env_c"], x[:, 1], atol=1e-6)


TSEH = dict(p_eh_max_kw=6.0, p_st_max_kw=8.0, e_st_max_kwh=[60.0, 70.0], q_rel_max_kw=6.0,
            st_loss_per_h=[0.02, 0.05])


def tseh_block(**kw):
    return TSEHBlock([1, 2], **TSEH, **kw)


def test_tseh_rules_after_rounding_and_plan_equals_the_building_plant():
    b = tseh_block()
    _, prob = standalone([b])
    b.set_data(**building_data(2), e_st0_kwh=[5.0, 8.0])
    round_fix_solve([b], prob)
    p = b.plan()
    e = p["e_st_kwh"]
    np.testing.assert_allclose(e[:, -1], e[:, 0], atol=1e-6)  # equal start and end level
    assert np.all(np.minimum(p["p_st_kw"], p["q_rel_kw"]) < 1e-6)  # never store and release at once
    np.testing.assert_allclose(p["st_mode"], np.round(p["st_mode"]), atol=1e-9)
    # Self-loss: the exact decay of storage_step, and the loss heats the room.
    for k in range(T):
        e_next, lost = storage_step(e[:, k], p["p_st_kw"][:, k], p["q_rel_kw"][:, k], 1.0, np.array([0.02, 0.05]), 0.95)
        np.testing.assert_allclose(e[:, k + 1], e_next, atol=1e-6)
        np.testing.assert_allclose(p["q_loss_kw"][:, k], lost, atol=1e-6)
    assert np.all(p["q_loss_kw"][e[:, :-1] > 1] > 0)
    decay, _ = first_order_zoh(np.array([0.02, 0.05]), 1.0)
    np.testing.assert_allclose(decay, np.exp(-np.array([0.02, 0.05])))
    assert np.all(p["discomfort_kh"] < 1e-6)
    assert p["p_st_kw"][:, HOURS < 6].sum() > 20 and p["p_tseh_kw"][:, PEAK].sum() < 1e-4  # valley charging
    # The plant (simulators.building) driven by the plan reproduces the planned temperatures.
    weather = pd.DataFrame({"t_out_c": T_OUT, "ghi_w_m2": GHI * 1000}, index=HOURS * 3600)
    fleet = BuildingFleet(2, weather, phi_int_kw=0.3, t_in0_c=21.0, t_env0_c=19.0, p_hp_max_kw=0.0,
                          e_st0_kwh=[5.0, 8.0], **TSEH)
    clean = {k: np.where(p[k] > 1e-7, p[k], 0.0) for k in ("p_eh_kw", "p_st_kw", "q_rel_kw")}
    for k in range(T):
        out = fleet.step(k * 3600, 3600, {"p_hp_kw": np.zeros(2), "p_cool_kw": np.zeros(2),
                                          **{n: v[:, k] for n, v in clean.items()}})
        np.testing.assert_allclose(out["t_in_c"], p["t_in_c"][:, k], atol=1e-6)
        np.testing.assert_allclose(out["e_st_kwh"], e[:, k], atol=1e-6)
    np.testing.assert_allclose(fleet.x[:, 0], p["t_in_c"][:, T], atol=1e-6)


def test_tseh_regulation_margins_and_adjustment_limit():
    b = tseh_block()
    _, prob = standalone([b])
    b.set_data(**building_data(2), e_st0_kwh=[5.0, 8.0], margin_up_kw=1.0, margin_dn_kw=0.5)
    solve(prob)
    p_tseh = b.plan()["p_tseh_kw"]
    assert p_tseh.min() >= 0.5 - 1e-6 and p_tseh.max() <= 6.0 + 8.0 - 1.0 + 1e-6
    ref = p_tseh.copy()
    b.set_data(margin_up_kw=0.0, margin_dn_kw=0.0, p_ref_kw=ref, adj_max_kw=0.2, adj_cost_per_mwh=10.0)
    solve(prob)
    assert np.abs(b.plan()["p_tseh_kw"] - ref).max() <= 0.2 + 1e-6


def test_chp_fit_is_close_to_the_data_sheet():
    p = np.linspace(3.0, 6.0, 31)
    th, gas = chp_operating_point(p)
    a_q, b_q, a_g, b_g = chp_linear_fit(6.0)
    assert np.abs(a_q * p + b_q - th).max() < 0.07 and np.abs(a_g * p + b_g - gas).max() < 0.27
    a_q2, b_q2, _, _ = chp_linear_fit(3.0)  # scaled unit: same shape at half size
    np.testing.assert_allclose(a_q2 * p / 2 + b_q2, chp_operating_point(p / 2, 3.0)[0], atol=0.04)


def hub_data(n, q_demand=6.0):
    return dict(e_tank0_kwh=np.full(n, 10.0), q_demand_kw=q_demand, gas_price_per_mwh=60.0, e_tank_end_kwh=10.0)


def test_chp_on_off_and_range_with_fixed_binaries():
    b = HeatHubBlock([1, 2], q_gb_max_kw=[0.0, 10.0])
    _, prob = standalone([b])
    b.set_data(**hub_data(2), chp_revenue_per_mwh=np.where(PEAK, 150.0, 0.0))
    round_fix_solve([b], prob)
    p = b.plan()
    on = p["chp_on"]
    np.testing.assert_allclose(on, np.round(on), atol=1e-6)
    assert np.all(p["p_chp_kw"][on < 0.5] < 1e-6)
    assert np.all((p["p_chp_kw"][on > 0.5] >= 3.0 - 1e-6) & (p["p_chp_kw"][on > 0.5] <= 6.0 + 1e-6))
    assert np.all(on[:, PEAK] > 0.5)  # CHP runs when its electricity is worth most
    a_q, b_q, a_g, b_g = chp_linear_fit(6.0)
    np.testing.assert_allclose(p["q_chp_kw"], a_q * p["p_chp_kw"] + b_q * on, atol=1e-6)
    np.testing.assert_allclose(p["gas_kw"], a_g * p["p_chp_kw"] + b_g * on + p["q_gb_kw"] / 0.92, atol=1e-6)
    assert np.all(p["q_unmet_kw"] < 1e-6) and np.all(p["e_tank_kwh"][:, -1] >= 10 - 1e-6)
    e, q_in = p["e_tank_kwh"], p["q_chp_kw"] + p["p_eb_kw"] + p["q_gb_kw"] - p["q_dump_kw"]
    e_next, _ = storage_step(e[:, :-1], q_in, 6.0, 1.0, 0.005)
    np.testing.assert_allclose(e[:, 1:], e_next, atol=1e-6)  # the plant's tank step
    np.testing.assert_allclose(p["p_kw"], p["p_eb_kw"] - p["p_chp_kw"], atol=1e-9)


def test_heat_hub_short_of_heat_reports_unmet_demand():
    b = HeatHubBlock([1], e_tank_max_kwh=5.0)
    _, prob = standalone([b])
    b.set_data(**{**hub_data(1, q_demand=30.0), "e_tank0_kwh": 5.0, "e_tank_end_kwh": 0.0})
    solve(prob)
    unmet = b.plan()["q_unmet_kw"]
    assert unmet.sum() > 100  # 30 kW demand against 14.9 + 6 kW of heat sources


def solve_all(blocks, data):
    _, prob = standalone(blocks)
    for b, d in zip(blocks, data):
        b.set_data(**d)
    return prob, solve(prob)


def test_dpp_resolve_equals_a_fresh_build():
    def make():
        return [BuildingHPBlock([1, 2]), tseh_block(name="tseh"), HeatHubBlock([4], q_gb_max_kw=5.0)]
    a = [building_data(2), {**building_data(2), "e_st0_kwh": [5.0, 8.0]}, hub_data(1)]
    b = [{"t_in0_c": [20.2, 21.7], "t_env0_c": [18.0, 20.0], "t_low_c": np.where(PEAK, 19.0, 20.0)},
         {"t_in0_c": [21.0, 20.5], "e_st0_kwh": [2.0, 12.0], "margin_up_kw": 0.5},
         {"q_demand_kw": 4.0 + 2 * np.cos(HOURS / 4), "gas_price_per_mwh": 40.0 + HOURS}]
    blocks = make()
    prob, _ = solve_all(blocks, a)
    for blk, d in zip(blocks, b):
        blk.set_data(**d)
    value = solve(prob)
    fresh = make()
    _, value_fresh = solve_all(fresh, [{**x, **y} for x, y in zip(a, b)])
    assert value == pytest.approx(value_fresh, rel=1e-6, abs=1e-6)
    for blk, new in zip(blocks, fresh):
        p, q = blk.plan(), new.plan()
        for key in ("t_in_c", "e_st_kwh", "e_tank_kwh"):
            if key in p:
                np.testing.assert_allclose(p[key], q[key], atol=1e-4)


def test_thermal_and_ev_blocks_on_ieee33_through_the_core():
    """All blocks of this module and the EV block in controllers.opf.problem on IEEE 33."""
    pn = pytest.importorskip("pandapower.networks")
    from controllers.opf.ev import EVBlock
    from controllers.opf.grid_devices import FixedLoads
    from controllers.opf.network import from_pandapower
    from controllers.opf.problem import OPFConfig, OPFProblem

    rn = from_pandapower(pn.case33bw())
    rng = np.random.default_rng(3)
    nb, ne = 40, 30
    bus_b, bus_e = rng.integers(1, rn.n_bus, nb), rng.integers(1, rn.n_bus, ne)
    blocks = [FixedLoads.from_network(rn), BuildingHPBlock(bus_b),
              TSEHBlock(bus_b[:10], p_eh_max_kw=6.0, p_st_max_kw=8.0, e_st_max_kwh=60.0, q_rel_max_kw=6.0),
              HeatHubBlock(bus_b[:5]), EVBlock(bus_e, p_discharge_max_kw=7.0, trip_red_max_frac=0.1)]
    prob = OPFProblem(rn, blocks, T=T, dt_h=1.0, config=OPFConfig(v_min_pu=0.9))
    assert prob.problem.is_dcp(dpp=True)
    home = np.tile(((HOURS < 7) | (HOURS >= 18)).astype(float), (ne, 1))
    need = np.zeros((ne, T))
    need[:, 6] = 45.0
    prob.set_data(price_import=TOU, price_export=0.5 * TOU, t_out_c=T_OUT, ghi_kw_m2=GHI, blocks={
        "building_hp": building_data(nb), "tseh": {**building_data(10), "e_st0_kwh": 10.0},
        "heat_hub": hub_data(5), "ev": dict(e0_kwh=25.0, avail=home, e_need_kwh=need, v2g_comp_per_mwh=30.0)})
    res = prob.solve()
    assert res.ok and res.discrete_method == "relax-round-fix" and res.gap_rel < 1e-5
    pl = res.plan
    t_in = pl["building_hp"]["t_in_c"][:, 1:]
    assert t_in.min() > 20 - 1e-5 and t_in.max() < 22 + 1e-5
    assert pl["ev"]["need_met"].min() == 1.0 and np.all(pl["ev"]["p_ch_kw"][home == 0] < 1e-6)
    ts = pl["tseh"]
    np.testing.assert_allclose(ts["e_st_kwh"][:, -1], 10.0, atol=1e-5)
    assert np.all(np.minimum(ts["p_st_kw"], ts["q_rel_kw"]) < 1e-5)
    hub = pl["heat_hub"]
    running = hub["p_chp_kw"][hub["chp_on"] > 0.5]
    assert np.all(hub["p_chp_kw"][hub["chp_on"] < 0.5] < 1e-5) and np.all(running >= 3.0 - 1e-5)
    assert res.network["v_pu"].min() > 0.9 - 1e-5
    # Re-solve the compiled problem with a colder forecast: more heat-pump energy.
    e_hp = pl["building_hp"]["p_hp_kw"].sum()
    prob.set_data(t_out_c=T_OUT - 3.0)
    res_cold = prob.solve()
    assert res_cold.ok and res_cold.plan["building_hp"]["p_hp_kw"].sum() > e_hp
