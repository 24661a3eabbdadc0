"""OPF EV block: needs at departure, reported shortfall, V2G against compensation, trip reduction, DPP."""
import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from controllers.opf.block import Context
from controllers.opf.ev import EVBlock
from cosim_base.errors import ConfigError
from simulators.ev import EVFleet, cccv_charge_kwh

T = 24
HOURS = np.arange(T)
PEAK = (HOURS >= 17) & (HOURS < 21)
TOU = np.where(PEAK, 400.0, np.where(HOURS < 6, 60.0, 100.0))  # currency/MWh
HOME = ((HOURS < 7) | (HOURS >= 16)).astype(float)  # plugged in overnight
SOLVE = dict(solver="CLARABEL", direct_solve_method="qdldl")


def standalone(block, price=TOU):
    """Small harness: objective = energy price x power + block cost (no network)."""
    ctx = Context(T=T, dt_h=1.0)
    block.build(ctx)
    p = ctx.shared("price_import")
    p.value = price
    return cp.Problem(cp.Minimize(cp.sum(block.p_mw, axis=0) @ p + block.cost), block.constraints)


def solve(prob):
    prob.solve(**SOLVE)
    assert prob.status == "optimal"
    return prob.value


def need_at(hour, kwh, n=1):
    need = np.zeros((n, T))
    need[:, hour] = kwh
    return need


def test_problem_is_dpp_and_set_data_names_key_and_shape():
    ev = EVBlock([1, 2], p_discharge_max_kw=7.0)
    prob = standalone(ev)
    assert prob.is_dcp(dpp=True)
    with pytest.raises(ConfigError, match="avail has shape \\(3, 24\\), expected \\(2, 24\\)"):
        ev.set_data(avail=np.ones((3, T)))
    with pytest.raises(ConfigError, match="avail"):
        ev.set_data(avail=2.0)
    with pytest.raises(ConfigError, match="e0_kwh"):
        ev.set_data(e0_kwh=[10.0, 70.0])  # above capacity_kwh = 60
    with pytest.raises(ConfigError, match="unknown key.*'soc'"):
        ev.set_data(soc=0.5)


def test_need_met_at_departure_charging_only_when_plugged_in_and_cheap():
    ev = EVBlock([1], capacity_kwh=60.0)
    prob = standalone(ev)
    ev.set_data(e0_kwh=20.0, avail=HOME, e_need_kwh=need_at(6, 45.0))
    solve(prob)
    p = ev.plan()
    assert p["e_kwh"][0, 7] >= 45.0 - 1e-6 and p["need_met"][0] == 1.0
    assert np.all(p["p_ch_kw"][:, HOME == 0] < 1e-6)
    assert p["p_ch_kw"][0, HOURS < 6].sum() * 0.9 >= 25.0 - 1e-4  # all in the 60/MWh valley
    # The taper bound keeps the plan deliverable by the plant's exact CC-CV step.
    e = p["e_kwh"][0]
    e_plant = cccv_charge_kwh(e[:-1], p["p_ch_kw"][0], 1.0, 60.0, 11.0, 0.9, 0.8)
    np.testing.assert_allclose(e[1:], e_plant, atol=1e-5)


def test_unreachable_need_is_a_reported_shortfall_not_an_exception():
    ev = EVBlock([1, 2], p_charge_max_kw=3.7)
    prob = standalone(ev)
    need = need_at(6, 55.0, n=2)
    need[1, 6] = 30.0
    ev.set_data(e0_kwh=10.0, avail=HOME, e_need_kwh=need)
    solve(prob)
    p = ev.plan()
    assert p["need_met"].tolist() == [0.0, 1.0]
    # 7 h at 3.7 kW and eta 0.9 give 23.3 kWh: 55 - 10 - 23.3 = 21.7 kWh short.
    assert p["shortfall_kwh"][0, 6] == pytest.approx(55.0 - 10.0 - 7 * 3.7 * 0.9, abs=1e-4)
    (line,) = ev.diagnose()
    assert "ev[0]" in line and "period 6" in line and "need 55.000" in line


def v2g_run(comp_per_mwh):
    ev = EVBlock([1], p_discharge_max_kw=7.0, soc_taper=0.95)
    prob = standalone(ev)
    ev.set_data(e0_kwh=40.0, avail=1.0, e_need_kwh=need_at(T - 1, 40.0), v2g_comp_per_mwh=comp_per_mwh)
    solve(prob)
    return ev, prob


def test_v2g_discharges_only_at_high_prices_when_compensation_is_low():
    ev, prob = v2g_run(20.0)
    for d in ev.discrete:  # relax-round-fix as the core does it
        d.lo.value = d.hi.value = d.rounded(d.var.value)
    solve(prob)
    p = ev.plan()
    assert p["p_dis_kw"][0, PEAK].sum() > 20.0
    assert np.all(p["p_dis_kw"][0, ~PEAK] < 1e-6)
    assert np.all(np.minimum(p["p_dis_kw"], p["p_ch_kw"]) < 1e-6)  # no charge and discharge at once
    np.testing.assert_allclose(p["v2g_on"], PEAK[None, :].astype(float), atol=1e-9)
    assert v2g_run(1000.0)[0].plan()["p_dis_kw"].max() < 1e-6  # compensation above the spread: no V2G


def trip_run(comp_per_mwh, frac=0.1):
    ev = EVBlock([1, 2], trip_red_max_frac=frac)
    prob = standalone(ev)
    trip = np.zeros((2, T))
    trip[:, 8:16] = 2.5  # 20 kWh driven while away
    ev.set_data(e0_kwh=30.0, avail=HOME, trip_kwh=trip, e_need_kwh=need_at(T - 1, 30.0, n=2),
                trip_comp_per_mwh=comp_per_mwh)
    solve(prob)
    return ev.plan()


def test_trip_reduction_is_bounded_by_ten_percent_and_priced():
    p = trip_run(10.0)  # cheaper than recharging: use all of it
    np.testing.assert_allclose(p["trip_red_kwh"].sum(axis=1), 2.0, atol=1e-5)
    assert np.all(p["trip_red_kwh"][:, 8:16] <= 0.25 + 1e-6)
    assert trip_run(10_000.0)["trip_red_kwh"].max() < 1e-6  # too expensive: none
    assert trip_run(10.0, frac=0.0)["trip_red_kwh"].max() < 1e-6  # disabled


def test_dpp_resolve_equals_a_fresh_build():
    a = dict(e0_kwh=[20.0, 35.0], avail=HOME, e_need_kwh=need_at(6, 50.0, n=2), v2g_comp_per_mwh=30.0)
    b = dict(e0_kwh=[12.0, 50.0], avail=np.roll(HOME, 2), trip_kwh=np.where(HOURS == 10, 8.0, 0.0),
             e_need_kwh=need_at(8, 40.0, n=2), trip_comp_per_mwh=[5.0, 500.0])
    kw = dict(p_discharge_max_kw=[0.0, 7.0], trip_red_max_frac=0.1)
    price = TOU + 0.37 * HOURS  # distinct prices: a unique optimum to compare plans
    ev = EVBlock([1, 2], **kw)
    prob = standalone(ev, price)
    ev.set_data(**a)
    solve(prob)
    ev.set_data(**b)
    value = solve(prob)
    fresh = EVBlock([1, 2], **kw)
    prob_fresh = standalone(fresh, price)
    fresh.set_data(**{**a, **b})
    assert value == pytest.approx(solve(prob_fresh), rel=1e-6, abs=1e-6)
    np.testing.assert_allclose(ev.plan()["e_kwh"], fresh.plan()["e_kwh"], atol=1e-4)


def test_periods_a_session_starts_and_ends_in_count_with_their_share():
    """Plugged in 01:40-06:20 at 3.7 kW: the whole hours 02-06 (13.3 kWh) cannot give the 15 kWh
    asked, their shares of 01-02 and 06-07 can; the plant driven by p_set_kw delivers the plan."""
    fleet = EVFleet(1, pd.DataFrame({"ev": [0], "arrival_s": [6000], "departure_s": [22800], "trip_kwh": [0.0]}),
                    p_charge_max_kw=3.7, soc_init=20.0 / 60, target_soc=35.0 / 60)
    s = fleet.schedule(0, 3600, T)
    np.testing.assert_allclose(s["avail"][0, :8], [0, 1 / 3, 1, 1, 1, 1, 1 / 3, 0])
    assert s["need_kwh"][0, 6] == pytest.approx(35.0) and s["need_kwh"].sum() == pytest.approx(35.0)
    ev = EVBlock([1], p_charge_max_kw=3.7)
    prob = standalone(ev)
    ev.set_data(e0_kwh=20.0, avail=s["avail"], e_need_kwh=s["need_kwh"])
    solve(prob)
    p = ev.plan()
    assert p["need_met"][0] == 1.0 and p["p_set_kw"].max() <= 3.7 + 1e-6
    out = [fleet.step(60 * k, 60, {"p_set_kw": p["p_set_kw"][:, k // 60]}) for k in range(8 * 60)]
    assert out[-1]["e_missing_kwh"][0] == 0.0
    np.testing.assert_allclose(out[60 * 7]["e_kwh"], p["e_kwh"][:, 7], atol=1e-3)
