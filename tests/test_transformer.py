"""Transformer thermal model and aging (IEEE C57.91 clause 7): check values, steady state, step
responses, exact stepping against Euler, input errors."""
import numpy as np
import pytest

from cosim_base.errors import ConfigError
from simulators import transformer as tr


def test_aging_factor_check_values():
    f = tr.aging_factor([110.0, 120.0])
    assert f[0] == pytest.approx(1.0, abs=1e-12)
    assert round(float(f[1]), 2) == 2.71  # physics.md section 6


def test_constant_load_is_the_steady_state_formula():
    k, t_amb = 1.3, 25.0
    theta = tr.hot_spot_c(np.full(50, k), t_amb, 60.0)
    d_to = 55.0 * ((k**2 * 5 + 1) / 6) ** 0.8
    d_h = 23.0 * k ** 1.6
    np.testing.assert_allclose(theta, t_amb + d_to + d_h, rtol=1e-12)
    assert tr.hot_spot_c(np.ones(3), 30.0, 60.0)[0] == pytest.approx(30 + 55 + 23)  # rated: 108 degC


def test_step_response_has_the_oil_and_winding_time_constants():
    dt = 60.0
    k = np.r_[np.full(10, 0.5), np.full(600, 1.0)]
    d_to, d_h = tr.rises_k(k, dt)
    to0, h0 = tr.ultimate_rises_k(0.5)
    to1, h1 = tr.ultimate_rises_k(1.0)
    after = lambda minutes: 9 + minutes  # row at the end of minute `minutes` of the new load
    assert (d_to[after(180)] - to0) / (to1 - to0) == pytest.approx(1 - np.exp(-1), abs=1e-9)
    assert (d_h[after(4)] - h0) / (h1 - h0) == pytest.approx(1 - np.exp(-1), abs=1e-9)
    np.testing.assert_allclose(d_to[:10], to0)  # "steady" init: no transient before the step


def test_exact_stepping_is_independent_of_dt_and_euler_is_not():
    """With the load held, a 10-min step gives the 1-min result at the same times; Euler at
    10 min > 2 tau_w oscillates and grows in the winding rise."""
    k_fine = np.r_[np.full(60, 0.3), np.full(240, 1.2)]
    fine = tr.hot_spot_c(k_fine, 10.0, 60.0, init="ambient")
    coarse = tr.hot_spot_c(k_fine[::10], 10.0, 600.0, init="ambient")
    np.testing.assert_allclose(coarse, fine[9::10], rtol=1e-12)

    _, h_ult = tr.ultimate_rises_k(k_fine[::10])
    h, euler = 0.0, []
    for u in h_ult:  # forward Euler of dH' = (dH_ult - dH) / tau_w at dt = 10 min
        h = h + 600.0 / 240.0 * (u - h)
        euler.append(h)
    _, exact = tr.rises_k(k_fine[::10], 600.0, init="ambient")
    assert np.abs(np.array(euler) - exact).max() > 100  # |1 - dt/tau| = 1.5: diverging
    assert exact[-1] == pytest.approx(h_ult[-1], rel=1e-9)  # exact: settled, no oscillation
    assert np.all(np.diff(exact[6:]) >= 0)  # monotone rise after the load step


def test_equivalent_aging_and_loss_of_life():
    f = tr.aging_factor(np.r_[np.full(12, 110.0), np.full(12, 120.0)])
    f_eqa = tr.equivalent_aging(f, 3600.0)
    assert f_eqa == pytest.approx((1 + np.exp(15000 / 383 - 15000 / 393)) / 2)
    assert tr.equivalent_aging([1.0, 3.0], [1.0, 3.0]) == pytest.approx(2.5)  # time-weighted
    assert tr.loss_of_life_pct(1.0, 180000.0) == pytest.approx(100.0)
    assert tr.loss_of_life_pct(f_eqa, 24.0) == pytest.approx(f_eqa * 24 * 100 / 180000)


def test_bad_input_names_the_field():
    with pytest.raises(ConfigError, match="k_pu"):
        tr.hot_spot_c([0.5, -0.1], 20.0, 60.0)
    with pytest.raises(ConfigError, match="dt_s"):
        tr.hot_spot_c([0.5], 20.0, 0.0)
    with pytest.raises(ConfigError, match="init"):
        tr.hot_spot_c([0.5], 20.0, 60.0, init="cold")
    with pytest.raises(ConfigError, match="t_amb_c"):
        tr.hot_spot_c([0.5, 0.6], [20.0, 20.0, 20.0], 60.0)
    with pytest.raises(ConfigError, match="tau_oil_min"):
        tr.hot_spot_c([0.5], 20.0, 60.0, tau_oil_min=0)
