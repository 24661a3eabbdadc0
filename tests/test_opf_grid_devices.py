"""Properties of the grid-side device blocks inside the OPF on IEEE 33."""
import numpy as np
import pandapower.networks as pn
import pytest

from controllers.opf.grid_devices import SVC, Battery, CapacitorBanks, FixedLoads, MicroTurbine, Renewables
from controllers.opf.network import from_pandapower
from controllers.opf.problem import OPFConfig, OPFProblem
from cosim_base.errors import ConfigError

T = 6
PRICE = np.array([20.0, 20.0, 90.0, 90.0, 40.0, 120.0])


@pytest.fixture(scope="module")
def rn():
    return from_pandapower(pn.case33bw())


def _prob(rn, blocks, formulation="socp", dt_h=1.0):
    prob = OPFProblem(rn, [FixedLoads.from_network(rn), *blocks], T=T, dt_h=dt_h,
                      config=OPFConfig(formulation=formulation, v_min_pu=0.9))
    prob.set_data(price_import=PRICE, price_export=0.5 * PRICE)
    return prob


def test_battery_soc_balance_and_no_simultaneous_charge(rn):
    ess = Battery(rn.bus_index([17, 32]), e_max_mwh=[1.0, 2.0], p_max_mw=0.4, eta_c=0.9, eta_d=0.9,
                  soc_min=0.1, soc_max=0.9, cost_per_mwh=1.0, binary=True)
    prob = _prob(rn, [ess], dt_h=0.5)
    prob.set_data(blocks={"ess": {"e0_mwh": [0.5, 1.0]}})
    res = prob.solve()
    assert res.ok and res.discrete_method == "relax-round-fix"
    pl = res.plan["ess"]
    assert np.all(pl["soc"][:, 1:] >= 0.1 - 1e-6) and np.all(pl["soc"][:, 1:] <= 0.9 + 1e-6)
    assert np.allclose(np.diff(pl["e_mwh"], axis=1), 0.5 * (0.9 * pl["p_ch_mw"] - pl["p_dis_mw"] / 0.9), atol=1e-6)
    assert np.all(pl["e_mwh"][:, -1] >= [0.5 - 1e-6, 1.0 - 1e-6])
    assert np.all(np.minimum(pl["p_ch_mw"], pl["p_dis_mw"]) < 1e-6)
    assert pl["p_dis_mw"][:, 2:4].sum() > 0.1  # discharges at the expensive hours
    assert set(res.setpoints["ess"]) >= {"p_ch_mw", "p_dis_mw", "p_mw"}


def test_capacitor_steps_integer_and_fixable(rn):
    cb = CapacitorBanks(rn.bus_index([17, 29]), q_step_mvar=0.1, max_step=5)
    prob = _prob(rn, [cb])
    res = prob.solve()
    steps = res.plan["cb"]["steps"]
    assert res.ok and np.array_equal(steps, np.round(steps)) and steps.max() <= 5 and steps.min() >= 0
    assert steps.sum() > 0  # reactive support lowers losses
    prob.set_data(blocks={"cb": {"steps": np.zeros((2, T))}})
    fixed = prob.solve()
    assert fixed.discrete_method == "continuous" and np.allclose(fixed.plan["cb"]["steps"], 0, atol=1e-8)
    with pytest.raises(ConfigError, match="integers"):
        prob.set_data(blocks={"cb": {"steps": np.full((2, T), 6.0)}})


def test_capacitor_switching_limit_exact_with_milp(rn):
    cb = CapacitorBanks(rn.bus_index([29]), q_step_mvar=0.1, max_step=5, max_ops=2)
    res = _prob(rn, [cb], formulation="lindistflow").solve(discrete="milp")
    steps = res.plan["cb"]["steps"]
    assert res.ok and np.allclose(steps, np.round(steps), atol=1e-6)
    assert np.abs(np.diff(np.round(steps), axis=1)).sum() <= 2


def test_microturbine_on_off_limits_and_ramp(rn):
    mt = MicroTurbine(rn.bus_index([24]), p_min_mw=0.2, p_max_mw=0.6, cost_per_mwh=60.0, ramp_mw_per_h=0.3,
                      q_max_mvar=0.1, on_off=True, no_load_cost=2.0)
    prob = _prob(rn, [mt])
    prob.set_data(blocks={"mt": {"p0_mw": 0.0}})
    res = prob.solve()
    pl = res.plan["mt"]
    u, p = pl["u_on"], pl["p_gen_mw"]
    assert res.ok and np.array_equal(u, np.round(u))
    assert np.all(p >= 0.2 * u - 1e-6) and np.all(p <= 0.6 * u + 1e-6)
    assert np.all(np.abs(np.diff(np.concatenate([[[0.0]], p], axis=1))) <= 0.3 + 1e-6)
    assert u[0, 0] == 0 and u[0, 5] == 1  # off at 20/MWh, on at 120/MWh
    with pytest.raises(ConfigError, match="unknown key"):
        prob.set_data(blocks={"mt": {"p_0": 1.0}})


def test_renewables_curtailment_and_inverter_circle(rn):
    pv = Renewables(rn.bus_index([17]), s_rated_mva=1.0, q_mode="circle", curtail_cost=5.0, name="pv")
    wind = Renewables(rn.bus_index([24]), s_rated_mva=0.5, q_mode="pf", pf_min=0.95, name="wind")
    svc = SVC(rn.bus_index([32]), -0.2, 0.3)
    prob = _prob(rn, [pv, wind, svc])
    prob.set_data(blocks={"pv": {"p_avail_mw": np.linspace(0, 0.9, T)}, "wind": {"p_avail_mw": 0.4}})
    res = prob.solve()
    assert res.ok
    p, q = res.plan["pv"]["p_gen_mw"], res.plan["pv"]["q_gen_mvar"]
    assert np.all(res.plan["pv"]["curtail_mw"] >= -1e-6) and np.all(p**2 + q**2 <= 1.0 + 1e-5)
    pw, qw = res.plan["wind"]["p_gen_mw"], res.plan["wind"]["q_gen_mvar"]
    assert np.all(pw <= 0.4 + 1e-6) and np.all(np.abs(qw) <= np.tan(np.arccos(0.95)) * pw + 1e-6)
    qs = res.plan["svc"]["q_gen_mvar"]
    assert np.all(qs >= -0.2 - 1e-6) and np.all(qs <= 0.3 + 1e-6)
    with pytest.raises(ConfigError, match="shape"):
        prob.set_data(blocks={"pv": {"p_avail_mw": np.zeros(T + 1)}})
    with pytest.raises(ConfigError, match="p_avail_mw"):
        prob.set_data(blocks={"pv": {"p_avail_mw": -1.0}})


def test_block_config_errors():
    with pytest.raises(ConfigError, match="soc_min"):
        Battery([1], 1.0, 0.1, soc_min=0.9, soc_max=0.1)
    with pytest.raises(ConfigError, match="q_mode"):
        Renewables([1], 1.0, q_mode="vq")
    with pytest.raises(ConfigError, match="p_min_mw"):
        MicroTurbine([1], 0.5, 0.2, 50.0)
