"""The heat-pump water heater kind (devices.water_heater): plant, OPF block and the closed loop
through the device registry (the kind is registered by one line of devices.KINDS)."""
import numpy as np
import pandapower.networks as pn
import pytest

import cosim
from controllers.opf.grid_devices import FixedLoads
from controllers.opf.network import from_pandapower
from controllers.opf.problem import OPFConfig, OPFProblem
from cosim import kpi
from cosim.scenario import Scenario
from cosim_base.errors import ConfigError
from devices import REGISTRY
from devices.water_heater import WaterHeaterBlock, WaterHeaterFleet


def _run(fleet, hours, p_set=np.nan, dt_s=60):
    out = []
    for k in range(int(hours * 3600 / dt_s)):
        out.append(fleet.step(k * dt_s, dt_s, {"p_set_kw": np.full(fleet.n, p_set)}))
    return out


def test_tank_energy_follows_the_closed_form_of_its_first_order_balance():
    f = WaterHeaterFleet(2, e_max_kwh=20.0, p_max_kw=0.5, cop=3.0, loss_per_h=[0.0, 0.05], q_draw_kw=0.25,
                         soc_init=0.25)
    e0 = f.e.copy()
    _run(f, 2.0, p_set=0.4)
    u, sigma = 3.0 * 0.4 - 0.25, 0.05
    expect = [e0[0] + u * 2.0, e0[1] * np.exp(-sigma * 2) + u / sigma * (1 - np.exp(-sigma * 2))]
    np.testing.assert_allclose(f.e, expect, rtol=1e-12)


def test_thermostat_heats_below_its_switch_on_level_until_full_and_an_empty_tank_leaves_draw_unmet():
    f = WaterHeaterFleet(1, e_max_kwh=2.0, p_max_kw=0.5, cop=3.0, loss_per_h=0.0, q_draw_kw=0.25,
                         soc_on=0.5, soc_init=0.4)
    p = np.array([o["p_kw"][0] for o in _run(f, 2.0)])
    # 0.8 kWh + 1.25 kW net fills 2 kWh after 57.6 min: full power, one cut step, then off
    assert (p[:57] == 0.5).all() and 0 < p[57] < 0.5 and (p[58:] == 0).all()
    assert f.e[0] == pytest.approx(2.0 - 0.25 * 62 / 60, rel=1e-12)
    p = np.array([o["p_kw"][0] for o in _run(f, 3.0)])
    on = np.flatnonzero(p > 0)[0]  # back on once the draw took it below soc_on x e_max = 1 kWh
    assert 1.7416 - 0.25 * on / 60 < 1.0 <= 1.7417 - 0.25 * (on - 1) / 60 and p[on] == 0.5
    empty = WaterHeaterFleet(1, e_max_kwh=1.0, q_draw_kw=1.0, loss_per_h=0.0, soc_init=0.5)
    out = _run(empty, 1.0, p_set=0.0)
    unmet_kwh = sum(o["q_unmet_kw"][0] for o in out) / 60
    assert unmet_kwh == pytest.approx(0.5, rel=1e-9) and empty.e[0] == 0.0


def test_bad_parameters_name_the_field():
    with pytest.raises(ConfigError, match="WaterHeater.cop"):
        WaterHeaterFleet(1, cop=0.5)
    with pytest.raises(ConfigError, match="WaterHeater.soc_init"):
        WaterHeaterFleet(1, soc_init=1.5)


def test_opf_block_heats_in_the_cheap_hours_and_keeps_the_tank_balance():
    rn = from_pandapower(pn.case33bw())
    T = 6
    hw = WaterHeaterBlock(rn.bus_index([5, 18]), e_max_kwh=10.5, p_max_kw=0.5, cop=3.0, loss_per_h=0.005)
    prob = OPFProblem(rn, [FixedLoads.from_network(rn), hw], T=T, dt_h=1.0, config=OPFConfig(v_min_pu=0.9))
    price = np.array([20.0, 20.0, 90.0, 90.0, 120.0, 120.0])
    prob.set_data(price_import=price, price_export=0.5 * price,
                  blocks={"hpwh": {"e0_kwh": [5.0, 5.0], "e_end_kwh": [5.0, 5.0], "q_draw_kw": 0.25}})
    res = prob.solve()
    assert res.ok
    plan = res.plan["hpwh"]
    assert plan["p_kw"][:, :2].sum() > 0.9 and plan["p_kw"][:, 2:].sum() < 1e-4  # shifted to the valley
    from simulators.rc import first_order_zoh
    decay, gain = first_order_zoh(0.005, 1.0)
    e = plan["e_kwh"]
    np.testing.assert_allclose(e[:, 1:], decay * e[:, :-1] + gain * (3.0 * plan["p_kw"] - 0.25 + plan["q_unmet_kw"]),
                               atol=1e-5)
    assert (e[:, -1] >= 5.0 - 1e-5).all()


def _scenario(tmp_path, stages, name):
    return Scenario().updated({
        "duration_s": 2 * 3600, "step_s": 300, "device_preset": "none", "control.stages": stages,
        "output": str(tmp_path / f"{name}.h5"),
        "devices": {"Load": [{"bus": "loads"}],
                    "WaterHeater": [{"bus": [5, 12, 20, 28], "per_bus": 3, "soc_init": 0.55}]}})


def test_the_kind_runs_in_the_closed_loop_is_recorded_and_counted(tmp_path):
    assert "WaterHeater" in REGISTRY and "hpwh" in REGISTRY["WaterHeater"].plan_keys
    ctl = cosim.run(_scenario(tmp_path, ["da", "id"], "ctl"))
    local = cosim.run(_scenario(tmp_path, [], "local"))
    rec = cosim.read(ctl)
    assert rec.series("plant/WaterHeater", "e_kwh").shape[1] == 12
    t_dec, plan = rec.array("control/id", "plan.hpwh.p_kw")
    p = rec.series("plant/WaterHeater", "p_kw").to_numpy()
    k = int(t_dec[1] // 300)  # the plant follows the intraday plan from its decision on (within the tank's cut)
    assert np.all(p[k] <= plan[1][:, 0] + 1e-6) and np.allclose(p[k], plan[1][:, 0], atol=1e-3)
    a, b = kpi.compute(ctl), kpi.compute(local)
    assert a["hpwh_energy_kwh"] > 0 and b["hpwh_energy_kwh"] > 0 and a["hpwh_unmet_kwh"] == 0.0
    # the controller runs the heaters at the night tariff rather than by the thermostat: cheaper heat
    assert a["cost_grid"] < b["cost_grid"]
