"""Scenario keys for studies and sweeps: noise level, forecast growth and preset, model mismatch, peak weight,
temperature offset."""
import dataclasses

import numpy as np
import pytest

from controllers.model import mismatch_factors, mismatch_keys
from cosim import world
from cosim_base.errors import ConfigError
from cosim.scenario import Scenario
from simulators.forecast import boptest_errors
from tests.small import small


@pytest.mark.parametrize("key, value, msg", [
    ("forecast.error_scale", -0.5, "forecast.error_scale"),
    ("forecast.error_scale", 11, "forecast.error_scale"),
    ("control.mismatch_rel", 1.5, "control.mismatch_rel"),
    ("control.peak_weight", -1, "control.peak_weight"),
    ("data.t_out_offset_k", 40, "data.t_out_offset_k"),
])
def test_new_keys_are_validated(key, value, msg):
    with pytest.raises(ConfigError, match=msg):
        Scenario().updated({key: value})


def test_error_scale_multiplies_the_forecast_errors(tmp_path):
    """Absolute errors (outdoor temperature, BOPTEST's high level: with a bias) scale exactly; 0 gives the truth."""
    errs = {}
    for scale in (0.0, 1.0, 2.0):
        parts = world.build_parts(small(tmp_path, duration_s=1800, **{
            "forecast.error_scale": scale, "forecast.preset": "boptest-high", "control.stages": ["da"]}))
        fc = parts.forecaster.forecast("da", 0).values["t_out_c"]
        truth = parts.forecaster.truth.signals["t_out_c"](0, 3600, fc.shape[1])
        errs[scale] = fc - truth
    assert np.abs(errs[1.0]).max() > 0.1
    np.testing.assert_allclose(errs[0.0], 0.0, atol=1e-12)
    np.testing.assert_allclose(errs[2.0], 2 * errs[1.0], rtol=1e-9, atol=1e-12)


def test_forecast_growth_and_preset_reach_the_forecaster(tmp_path):
    for growth, preset in (("lead_time", "none"), ("target_time", "boptest-low")):
        parts = world.build_parts(small(tmp_path, duration_s=1800, **{
            "forecast.growth": growth, "forecast.preset": preset, "control.stages": ["da"]}))
        errors = parts.forecaster.errors
        assert errors.growth == growth
        expected = boptest_errors("low")["t_out_c"] if preset != "none" else Scenario().forecast.errors["t_out_c"]
        assert dataclasses.asdict(errors.specs["t_out_c"]) == dataclasses.asdict(expected)


def test_mismatch_perturbs_the_controllers_model_not_the_plant(tmp_path):
    exact = world.build_parts(small(tmp_path, duration_s=1800))
    off = world.build_parts(small(tmp_path, duration_s=1800, **{"control.mismatch_rel": 0.2}))
    fleet = off.devices.fleets["Building"]
    np.testing.assert_array_equal(fleet.p["ci_kwh_per_k"], exact.devices.fleets["Building"].p["ci_kwh_per_k"])
    hp_exact = exact.controller.probs["da"].blocks["hp"]
    hp_off = off.controller.probs["da"].blocks["hp"]
    plant_ci = fleet.p["ci_kwh_per_k"][off.controller.units["da"]["hp"].index]  # the model: one row per house
    assert hp_exact.n < hp_off.n == len(plant_ci)  # equal houses share a row, perturbed ones cannot
    ratio = hp_off.rc["ci_kwh_per_k"] / plant_ci
    assert np.all(ratio > 0) and np.std(np.log(ratio)) > 0.02 and not np.allclose(ratio, 1.0)
    # same seed, same factors: a mismatch study compares alternatives on common random numbers
    again = world.build_parts(small(tmp_path, duration_s=1800, **{"control.mismatch_rel": 0.2}))
    np.testing.assert_array_equal(again.controller.probs["da"].blocks["hp"].rc["ci_kwh_per_k"],
                                  hp_off.rc["ci_kwh_per_k"])


def test_mismatch_factors_are_lognormal_with_the_given_spread():
    class F:
        n = 20000
    f = mismatch_factors({"Building": F, "EV": F}, 0.1, np.random.default_rng(0))
    assert set(f) == set(mismatch_keys()) and set(f["Building"]) == set(mismatch_keys()["Building"])
    z = np.log(f["Building"]["ci_kwh_per_k"])
    assert abs(z.mean()) < 0.005 and abs(z.std() - 0.1) < 0.005


def test_peak_weight_reaches_every_stage(tmp_path):
    parts = world.build_parts(small(tmp_path, duration_s=1800, **{"control.peak_weight": 50.0}))
    for prob in parts.controller.probs.values():
        assert prob.cfg.weight("peak") == 50.0 and "peak" in prob.terms


def test_t_out_offset_shifts_the_plant_and_the_forecast_truth(tmp_path):
    base = small(tmp_path, duration_s=1800)
    cold = small(tmp_path, duration_s=1800, **{"data.t_out_offset_k": -5.0})
    w0, w1 = base.plant_spec().weather_data().frame, cold.plant_spec().weather_data().frame
    np.testing.assert_allclose(w1.t_out_c - w0.t_out_c, -5.0)
    np.testing.assert_array_equal(w1.ghi_w_m2, w0.ghi_w_m2)
    parts = world.build_parts(cold)
    np.testing.assert_allclose(parts.devices.fleets["Building"].weather[:10, 0], w1.t_out_c.to_numpy()[:10])


def test_ev_shortfall_price_and_aggregation_reach_the_controllers_model(tmp_path):
    parts = world.build_parts(small(tmp_path, duration_s=1800, **{"control.ev_shortfall_cost_per_mwh": 5e4,
                                                                  "control.aggregate": False}))
    blocks = parts.controller.probs["rt"].blocks
    assert blocks["ev"].shortfall_cost_per_mwh == 5e4
    assert blocks["hp"].groups is None and blocks["hp"].n == len(parts.controller.units["rt"]["hp"].index)
    default = world.build_parts(small(tmp_path, duration_s=1800)).controller.probs["rt"].blocks
    assert default["ev"].shortfall_cost_per_mwh == 1e4 and default["hp"].n < blocks["hp"].n  # equal houses share rows
