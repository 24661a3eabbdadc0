"""The assembled plant in a real mosaik world: wiring, power balance and the CLI main job."""
import numpy as np
import pytest

from cosim.cli import main
from cosim.errors import ConfigError
from cosim.plant import PlantSpec, run_plant


@pytest.fixture(scope="module")
def ieee33_run():
    return run_plant(PlantSpec(start="2024-01-15 17:00", duration_s=2 * 3600, step_s=60))


def test_every_step_balances_device_power_losses_and_substation_exchange(ieee33_run):
    f = ieee33_run["frames"]
    devices_mw = f["p_mw"].sum(axis=1)  # all units, consumer convention
    balance = f["p_ext_mw"]["Grid"] - f["p_loss_mw"]["Grid"] - devices_mw
    assert len(balance) == 120
    np.testing.assert_allclose(balance, 0.0, atol=1e-6)
    assert ieee33_run["summary"]["diverged_steps"] == 0


def test_units_are_wired_to_their_buses(ieee33_run):
    f = ieee33_run["frames"]
    # Every unit reports, and the evening peak of EVs and heat pumps shows at the substation.
    assert f["p_mw"].shape[1] == 32 + 260 + 96 + 8 + 2 + 3 + 2
    assert not f["vm_pu"].isna().any().any()
    s = ieee33_run["summary"]
    assert s["ev_mwh"] > 0 and s["buildings_mwh"] > 0 and s["load_mwh"] > 0
    assert 0.9 < s["v_min_pu"] < s["v_max_pu"] < 1.1
    # Each bus's base load peaks at its case load over the run (case total 3.715 MW).
    peaks = f["p_mw"].filter(like="BaseLoad").max()
    assert peaks.sum() == pytest.approx(3.715, rel=1e-9)


def test_lv_feeder_plant_runs():
    res = run_plant(PlantSpec(network="lv", start="2024-01-15 06:00", duration_s=1800, step_s=300))
    assert res["summary"]["diverged_steps"] == 0
    assert res["frames"]["vm_pu"].shape == (6, 129)


def test_bad_spec_names_the_field():
    with pytest.raises(ConfigError, match="network"):
        PlantSpec(network="ieee34")
    with pytest.raises(ConfigError, match="duration_s"):
        PlantSpec(duration_s=90, step_s=60)


def test_cli_main_job_prints_what_it_measured(capsys):
    assert main(["run", "--hours", "0.25", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "losses_mwh" in out and "v_min_pu" in out
    assert main(["run", "--network", "nope", "--quiet"]) == 2
