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


def test_fleet_entities_give_the_record_of_one_entity_per_unit(tmp_path):
    """The world wires each fleet as one entity (lists over units, per-bus draw to the grid); a
    world wired the older way, one mosaik entity per unit connected to its bus and the recorder,
    gives the same record (the bus sums are added in another order: equal to 1e-9)."""
    import mosaik

    from cosim.plant import SIMULATORS, default_devices, sim_config
    from cosim.world import RECORDED
    from simulators import networks

    sc = Scenario().updated({"control.stages": [], "start": "2024-01-15 17:00", "duration_s": 1800,
                             "output": str(tmp_path / "fleets.h5")})
    fleets = read(world.run(sc))
    spec = sc.plant_spec()
    net, devices = default_devices(spec)
    w = mosaik.World(sim_config() | {"Rec": {"python": "cosim.recorder_sim:RecorderSim"}},
                     skip_greetings=True, configure_logging=False)
    grid = w.start("Grid", step_size=60).Grid(net=net, **spec.grid_params())
    buses = {int(e.eid.split("_", 1)[1]): e for e in grid.children if e.type == "Bus"}
    rec = w.start("Rec", step_size=60, path=str(tmp_path / "units.h5"), until=1800).Recorder()
    w.connect(grid, rec, *RECORDED["Grid"])
    for e in grid.children:
        if e.type in RECORDED:
            w.connect(e, rec, *RECORDED[e.type])
    bus_index = networks.bus_table(net).bus.to_numpy()
    for kind, fleet in devices.fleets.items():
        units = getattr(w.start(kind, step_size=60, kind=kind), SIMULATORS[kind][1]).create(fleet.n, fleet=fleet)
        for u, pos in zip(units, devices.bus_pos[kind]):
            w.connect(u, buses[int(bus_index[pos])], "p_mw", "q_mvar")
            w.connect(u, rec, *RECORDED[kind])
    w.run(until=1800, print_progress=False)
    w.shutdown()
    units = read(tmp_path / "units.h5")
    assert units.groups() == [g for g in fleets.groups() if g != "data/Tariff"]
    for g in units.groups():
        for attr in units.attrs(g):
            a, b = fleets.series(g, attr), units.series(g, attr)
            assert list(a.columns) == list(b.columns) and len(a) == len(b) == 30, f"{g}/{attr}"
            np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, atol=1e-9, err_msg=f"{g}/{attr}")
