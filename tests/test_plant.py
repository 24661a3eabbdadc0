"""The assembled plant in a real mosaik world (no controller): wiring, power balance and the CLI."""
import numpy as np
import pytest

from cosim import world
from cosim.cli import main
from cosim_base.errors import ConfigError
from cosim.plant import PlantSpec
from devices.load import scaled_profiles
from cosim.record import read
from cosim.scenario import Scenario

KINDS = ("BaseLoad", "Building", "EV", "PV", "Wind", "Battery", "MicroTurbine")


def plant_only(tmp_path, **changes):
    sc = Scenario().updated({"control.stages": [], "output": str(tmp_path / "plant.h5"), **changes})
    return read(world.run(sc))


@pytest.fixture(scope="module")
def ieee33_run(tmp_path_factory):
    return plant_only(tmp_path_factory.mktemp("plant"), start="2024-01-15 17:00", duration_s=2 * 3600)


def test_every_step_balances_device_power_losses_and_substation_exchange(ieee33_run):
    rec = ieee33_run
    devices_mw = sum(rec.series(f"plant/{k}", "p_mw").sum(axis=1).to_numpy() for k in KINDS)
    balance = rec.series("plant/Grid", "p_ext_mw").iloc[:, 0].to_numpy() - \
        rec.series("plant/Grid", "p_loss_mw").iloc[:, 0].to_numpy() - devices_mw
    assert len(balance) == 120
    np.testing.assert_allclose(balance, 0.0, atol=1e-6)
    bus_mw = rec.series("plant/Bus", "p_mw").sum(axis=1).to_numpy()  # each bus's net draw, recorded
    np.testing.assert_allclose(bus_mw, devices_mw, atol=1e-9)
    assert (rec.series("plant/Grid", "converged").to_numpy() == 1).all()
    assert "control/rt" not in rec.groups()


def test_units_are_wired_to_their_buses(ieee33_run):
    rec = ieee33_run
    widths = {k: rec.series(f"plant/{k}", "p_mw").shape[1] for k in KINDS}
    assert widths == {"BaseLoad": 32, "Building": 260, "EV": 96, "PV": 8, "Wind": 2, "Battery": 3, "MicroTurbine": 2}
    assert not rec.series("plant/Bus", "vm_pu").isna().any().any()
    for k in ("BaseLoad", "Building", "EV"):  # the evening peak of loads, heat pumps and EVs
        assert rec.series(f"plant/{k}", "p_mw").to_numpy().sum() > 0


def test_base_load_peaks_at_the_case_load_on_the_run_day():
    """Each profile is scaled to its peak over the whole days the run touches (not just the run)."""
    spec = PlantSpec(start="2024-01-15 17:00", duration_s=2 * 3600)
    prof = scaled_profiles(spec, ["mv_semiurb"] * 3)
    day = prof[prof.index < 86400]
    np.testing.assert_allclose(day.max(), 1.0)
    assert (prof[prof.index < 7200].max() < 1.0).any()  # the 2 h window alone is not the peak


def test_lv_feeder_plant_runs(tmp_path):
    rec = plant_only(tmp_path, network="lv", start="2024-01-15 06:00", duration_s=1800, step_s=300)
    assert (rec.series("plant/Grid", "converged").to_numpy() == 1).all()
    assert rec.series("plant/Bus", "vm_pu").shape == (6, 129)


def test_bad_spec_names_the_field():
    with pytest.raises(ConfigError, match="network"):
        PlantSpec(network="ieee34")
    with pytest.raises(ConfigError, match="duration_s"):
        PlantSpec(duration_s=90, step_s=60)


def test_cli_runs_a_scenario_and_prints_its_summary(capsys, tmp_path):
    toml = tmp_path / "plant.toml"
    toml.write_text(Scenario().updated({"control.stages": [], "duration_s": 900}).to_toml())
    assert main(["run", str(toml), "--out", str(tmp_path / "cli.h5"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "losses_mwh" in out and "v_min_pu" in out and (tmp_path / "cli.h5").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('network = "nope"\n')
    assert main(["run", str(bad), "--quiet"]) == 2
