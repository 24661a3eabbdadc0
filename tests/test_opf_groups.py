"""Identical buildings as one OPF row (controllers.opf.groups): same optimum for equal members,
every member's expanded plan = the plant's physics and within its own limits."""
import numpy as np
import pandas as pd
import pytest

from controllers.opf.groups import UnitGroups
from controllers.opf.thermal import BuildingHPBlock, TSEHBlock
from cosim_base.errors import ConfigError
from simulators.building import BuildingFleet
from tests.test_opf_thermal import GHI, HOURS, T, T_OUT, round_fix_solve, solve, standalone

T_IN0 = np.array([21.0, 21.0, 21.0, 20.6, 21.4, 21.2])
T_ENV0 = np.array([19.0, 19.0, 19.0, 18.7, 19.4, 19.1])
BUS = [1, 1, 1, 2, 2, 2]
TSEH = dict(p_eh_max_kw=6.0, p_st_max_kw=8.0, e_st_max_kwh=60.0, q_rel_max_kw=6.0, st_loss_per_h=0.02)


def plant(n, **kw):
    weather = pd.DataFrame({"t_out_c": T_OUT, "ghi_w_m2": GHI * 1000}, index=HOURS * 3600)
    return BuildingFleet(n, weather, phi_int_kw=0.3, **kw)


def replay(fleet, p):
    """Drive the plant with the plan's per-unit setpoints (0 for a device the plan does not have);
    the largest temperature (and store) error."""
    err = 0.0
    zero = np.zeros((fleet.n, T))
    for k in range(T):
        out = fleet.step(k * 3600, 3600, {key: np.where(p.get(key, zero)[:, k] > 1e-7, p.get(key, zero)[:, k], 0.0)
                                          for key in ("p_hp_kw", "p_cool_kw", "p_eh_kw", "p_st_kw", "q_rel_kw")})
        err = max(err, np.abs(out["t_in_c"] - p["t_in_c"][:, k]).max(),
                  np.abs(out["e_st_kwh"] - p["e_st_kwh"][:, k]).max() if "e_st_kwh" in p else 0.0)
    return err


def test_groups_are_units_with_equal_bus_and_parameters():
    g = UnitGroups([3, 1, 3, 3, 1], {"a": np.array([1.0, 1.0, 1.0, 2.0, 1.0])})
    np.testing.assert_array_equal(g.row, [0, 1, 0, 2, 1])
    np.testing.assert_array_equal(g.count, [2, 2, 1])
    x = np.array([1.0, 2.0, 3.0, 4.0, 6.0])
    np.testing.assert_allclose(g.mean(x), [2.0, 4.0, 4.0])
    np.testing.assert_allclose(g.max(x), [3.0, 6.0, 4.0])
    np.testing.assert_allclose(g.expand(g.min(x)), [1.0, 2.0, 1.0, 4.0, 2.0])


def test_equal_members_give_the_unaggregated_optimum_with_fewer_variables():
    out = {}
    for agg in (False, True):
        b = BuildingHPBlock(BUS, p_cool_max_kw=3.0, aggregate=agg)
        _, prob = standalone([b])
        b.set_data(t_in0_c=21.0, t_env0_c=19.0, phi_int_kw=0.3)
        out[agg] = (solve(prob), b.plan(), sum(v.size for v in prob.variables()))
    assert out[True][0] == pytest.approx(out[False][0], rel=1e-6)
    for key in ("p_hp_kw", "t_in_c", "dev_low_k"):
        np.testing.assert_allclose(out[True][1][key], out[False][1][key], atol=1e-5)
    assert out[True][2] * 3 == out[False][2]  # 2 rows instead of 6


def test_members_that_differ_follow_the_row_each_within_its_own_limits():
    b = BuildingHPBlock(BUS, aggregate=True)
    _, prob = standalone([b])
    with pytest.raises(ConfigError, match=r"need \['t_in0_c', 't_env0_c'\]"):
        b.set_data(phi_int_kw=0.3)
    with pytest.raises(ConfigError, match="t_in0_c has shape \\(2,\\), expected \\(6,\\)"):
        b.set_data(t_in0_c=[21.0, 21.0], t_env0_c=T_ENV0)
    b.set_data(t_in0_c=T_IN0, t_env0_c=T_ENV0, phi_int_kw=0.3)
    assert b.n == 2 and np.any(b.chan["heat"][0].value > 0)  # the spread tightens the second row
    solve(prob)
    p = b.plan()
    assert p["p_hp_kw"].shape == (6, T)
    assert p["p_hp_kw"].min() >= -1e-6 and p["p_hp_kw"].max() <= 3.0 + 1e-6
    assert np.all(p["discomfort_kh"] < 1e-6)
    assert np.ptp(p["t_in_c"][3:, -1]) < 0.5 * np.ptp(T_IN0[3:])  # the correction evens them out
    fleet = plant(6, t_in0_c=T_IN0, t_env0_c=T_ENV0, cop_0c=2.227, cop_slope_per_k=0.0642)  # the block's COP line
    assert replay(fleet, p) < 1e-6


def test_tseh_members_with_other_stores_keep_their_range_after_rounding():
    e0 = np.array([5.0, 8.0, 3.0, 5.0, 5.0, 5.0])
    b = TSEHBlock(BUS, aggregate=True, **TSEH)
    _, prob = standalone([b])
    b.set_data(t_in0_c=T_IN0, t_env0_c=T_ENV0, phi_int_kw=0.3, e_st0_kwh=e0)
    round_fix_solve([b], prob)
    p = b.plan()
    e = p["e_st_kwh"]
    assert e.min() >= -1e-6 and e.max() <= 60.0 + 1e-6
    np.testing.assert_allclose(e[:, -1].reshape(2, 3).mean(axis=1), e0.reshape(2, 3).mean(axis=1), atol=1e-5)
    assert np.all(np.minimum(p["p_st_kw"], p["q_rel_kw"]) < 1e-6)
    assert p["p_eh_kw"].min() >= -1e-6 and p["p_eh_kw"].max() <= 6.0 + 1e-6
    assert np.all(p["discomfort_kh"] < 1e-6)
    fleet = plant(6, t_in0_c=T_IN0, t_env0_c=T_ENV0, p_hp_max_kw=0.0, e_st0_kwh=e0, **TSEH)
    assert replay(fleet, p) < 1e-6
