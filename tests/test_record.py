"""The HDF5 run record: writer/reader round trips, fill rules, errors, the mosaik sink, a killed run."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import mosaik
import mosaik_api_v3
import numpy as np
import pandas as pd
import pytest

from cosim_base.errors import ConfigError, DataError
from cosim.record import FORMAT, Record, RecordExistsError, RecordWriter, chunk_shape, partial_paths, read
from cosim.recorder_sim import RecorderSim, column_key, entity_type
from simulators.fleet import Fleet
from tests.sources import ConstSource

COLS = ["Bus_0", "Bus_1", "Bus_2"]


def test_series_round_trip_with_calendar_index(tmp_path):
    path = tmp_path / "sub" / "run.h5"  # parent directories are created
    with RecordWriter(path, meta={"start": "2024-01-15 00:00"}) as w:
        for k in range(4):
            w.append_row("plant/Bus", 60 * k, {"vm_pu": [1.0 + k, 2.0 + k, 3.0 + k], "p_mw": 0.5}, COLS)
        w.append_row("/plant/Grid", 0, {"p_ext_mw": [1.25]}, ["Grid"])  # same group as "plant/Grid"
    vm = read(path, "plant/Bus", "vm_pu")
    assert list(vm.columns) == COLS
    assert list(vm.index) == list(pd.date_range("2024-01-15", periods=4, freq="60s"))
    np.testing.assert_array_equal(vm["Bus_1"], [2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(read(path, "plant/Bus", "p_mw").to_numpy(), np.full((4, 3), 0.5))
    rec = read(path)
    assert isinstance(rec, Record)
    assert rec.groups() == ["plant/Bus", "plant/Grid"]
    assert rec.series("plant/Grid", "p_ext_mw").iloc[0, 0] == 1.25
    with h5py.File(path) as f:  # the layout the module docstring promises
        ds = f["plant/Bus/vm_pu"]
        assert ds.dtype == np.float64 and ds.maxshape == (None, 3) and ds.chunks == chunk_shape((3,), 8)
        assert f["plant/Bus/time_s"].dtype == np.int64
        assert list(f["plant/Bus/columns"].asstr()[:]) == COLS


def test_series_without_start_is_indexed_by_t_s_and_fills_missing_attrs_with_nan(tmp_path):
    path = tmp_path / "run.h5"
    with RecordWriter(path) as w:
        w.append_row("plant/Bus", 0, {"vm_pu": [1.0, 1.0, 1.0]}, COLS)
        w.append_row("plant/Bus", 60, {"vm_pu": [0.9, 0.9, 0.9], "p_mw": [1.0, 2.0, 3.0]}, COLS)
        w.append_row("plant/Bus", 120, {"p_mw": [4.0, 5.0, 6.0]}, COLS)
    vm = read(path, "plant/Bus", "vm_pu")
    assert vm.index.name == "t_s" and list(vm.index) == [0, 60, 120]
    np.testing.assert_array_equal(vm["Bus_0"], [1.0, 0.9, np.nan])
    np.testing.assert_array_equal(read(path, "plant/Bus", "p_mw")["Bus_2"], [np.nan, 3.0, 6.0])


def test_events_round_trip_with_fills_and_back_filled_new_keys(tmp_path):
    path = tmp_path / "run.h5"
    plan0 = np.arange(6.0).reshape(2, 3)
    with RecordWriter(path, flush_every=2, compression="lzf") as w:
        w.append_event("control/rt", 0, {"objective": 1.5, "iters": 7, "feasible": True, "status": "optimal"},
                       {"p_plan_mw": plan0})
        w.append_event("control/rt", 300, {"objective": 2.5}, {"forecast_kw": [1.0, 2.0]})
        w.append_event("control/rt", 600, {"iters": np.int64(3), "status": "infeasible", "gap": None},
                       {"p_plan_mw": plan0 + 1})
    ev = read(path, "control/rt")
    assert ev.index.name == "t_s" and list(ev.index) == [0, 300, 600]
    np.testing.assert_array_equal(ev["objective"], [1.5, 2.5, np.nan])
    assert list(ev["iters"]) == [7, -1, 3] and ev["iters"].dtype == np.int64
    assert list(ev["feasible"]) == [1, -1, -1]
    assert list(ev["status"]) == ["optimal", "", "infeasible"]
    assert "gap" not in ev  # a None value is "missing", it defines nothing
    t_s, plans = read(path).array("control/rt", "p_plan_mw")
    assert list(t_s) == [0, 300, 600] and plans.shape == (3, 2, 3)
    np.testing.assert_array_equal(plans[0], plan0)
    assert np.isnan(plans[1]).all()
    np.testing.assert_array_equal(plans[2], plan0 + 1)
    _, fc = read(path).array("control/rt", "forecast_kw")
    np.testing.assert_array_equal(fc, [[np.nan, np.nan], [1.0, 2.0], [np.nan, np.nan]])


def test_mismatches_raise_naming_the_group(tmp_path):
    with RecordWriter(tmp_path / "run.h5") as w:
        w.append_row("plant/Bus", 0, {"vm_pu": [1.0, 1.0, 1.0]}, COLS)
        with pytest.raises(ValueError, match="plant/Bus: columns changed"):
            w.append_row("plant/Bus", 60, {"vm_pu": [1.0, 1.0]}, COLS[:2])
        with pytest.raises(ValueError, match=r"plant/Bus/p_mw: shape \(2,\)"):
            w.append_row("plant/Bus", 60, {"p_mw": [1.0, 1.0]}, COLS)
        w.append_event("control/rt", 0, arrays={"plan": np.zeros((4, 2))})
        with pytest.raises(ValueError, match=r"control/rt/plan: array of shape \(5, 2\).*\(4, 2\)"):
            w.append_event("control/rt", 300, arrays={"plan": np.zeros((5, 2))})
        w.append_event("control/rt", 300, {"iters": 3})
        with pytest.raises(ValueError, match="control/rt/iters"):
            w.append_event("control/rt", 600, {"iters": 2.5})
        with pytest.raises(ValueError, match="control/da: dataset name 'a/b'"):
            w.append_event("control/da", 0, {"a/b": 1.0})
        with pytest.raises(ValueError, match="plant/Bus is a series group"):
            w.append_event("plant/Bus", 0, {"x": 1.0})
    # the failed appends wrote nothing
    assert len(read(tmp_path / "run.h5", "plant/Bus", "vm_pu")) == 1
    assert list(read(tmp_path / "run.h5", "control/rt")["iters"]) == [-1, 3]


def test_metadata_round_trips(tmp_path):
    toml = 'name = "winter"\nseed = 42\n[grid]\nnetwork = "ieee33"\n'
    meta = {"seed": 42, "scenario": "winter", "step_s": 60, "start": "2024-01-15 00:00",
            "scenario_toml": toml, "versions": {"numpy": np.__version__, "h5py": h5py.__version__}}
    RecordWriter(tmp_path / "run.h5", meta=meta).publish()
    rec = read(tmp_path / "run.h5")
    assert rec.scenario == toml
    assert rec.versions == {"numpy": np.__version__, "h5py": h5py.__version__}
    assert rec.meta["seed"] == 42 and rec.meta["scenario"] == "winter" and rec.meta["format"] == FORMAT
    assert "created_utc" in rec.meta and rec.groups() == []
    with pytest.raises(ConfigError, match="meta\\['bad'\\]"):
        RecordWriter(tmp_path / "bad.h5", meta={"bad": [1, 2]})
    with pytest.raises(ConfigError, match="flush_every"):
        RecordWriter(tmp_path / "bad.h5", flush_every=0)


# -- the mosaik sink -------------------------------------------------------------------------------

class Ramp(Fleet):
    """p_set_kw = minute + 100 * unit; on toggles every step (a time-varying stand-in source)."""

    def __init__(self, n):
        self.n = n
        self.OUTPUTS = ("p_set_kw", "on")

    def step(self, t_s, dt_s, inputs):
        return {"p_set_kw": t_s / 60 + 100.0 * np.arange(self.n), "on": np.full(self.n, (t_s // 60) % 2, float)}


class LogSim(mosaik_api_v3.Simulator):
    """Stand-in controller: one log entry every 300 s, as a non-persistent output of a hybrid sim."""

    def __init__(self):
        super().__init__({"api_version": "3.0", "type": "hybrid",
                          "models": {"Ctrl": {"public": True, "params": [], "attrs": ["log"], "non-persistent": ["log"]}}})
        self.t = 0

    def init(self, sid, time_resolution=1.0):
        return self.meta

    def create(self, num, model):
        return [{"eid": "Ctrl", "type": model}]

    def step(self, time, inputs, max_advance):
        self.t = time
        return time + 300

    def get_data(self, outputs):
        entry = {"group": "control/rt", "t_s": self.t, "scalars": {"objective": self.t / 10, "status": "ok"},
                 "arrays": {"p_plan_mw": [self.t, self.t + 1.0, self.t + 2.0]}}
        return {"Ctrl": {"log": [entry]}}


# mosaik warns about any non-persistent output feeding a time-based sink; the log is meant as one
@pytest.mark.filterwarnings("ignore:A connection between the non-persistent attribute log")
def test_recorder_in_a_mosaik_world(tmp_path):
    path = tmp_path / "world.h5"
    world = mosaik.World({"Src": {"python": "tests.sources:SourceSim"},
                          "Ctrl": {"python": "tests.test_record:LogSim"},
                          "Rec": {"python": "cosim.recorder_sim:RecorderSim"}},
                         skip_greetings=True, configure_logging=False)
    src = world.start("Src", step_size=60).Source.create(11, fleet=Ramp(11))
    const = world.start("Src", step_size=60).Source.create(1, fleet=ConstSource(1, p_set_kw=7.0))
    ctrl = world.start("Ctrl").Ctrl()
    rec = world.start("Rec", step_size=60, path=str(path), meta={"seed": 7}, until=60).Recorder()
    for e in src:
        world.connect(e, rec, "p_set_kw", "on")
    world.connect(ctrl, rec, "log")
    with pytest.raises(DataError, match="share the eid 'Source_0'"):  # same eid from two simulators
        world.connect(const[0], rec, "p_set_kw")
        world.run(until=60)
    world.shutdown()
    assert not path.exists() and not read(partial_paths(path)[0]).complete  # the failed world stays partial

    world = mosaik.World({"Src": {"python": "tests.sources:SourceSim"},
                          "Ctrl": {"python": "tests.test_record:LogSim"},
                          "Rec": {"python": "cosim.recorder_sim:RecorderSim"}},
                         skip_greetings=True, configure_logging=False)
    src = world.start("Src", step_size=60).Source.create(11, fleet=Ramp(11))
    ctrl = world.start("Ctrl").Ctrl()
    rec = world.start("Rec", step_size=60, path=str(path), meta={"seed": 7}, until=600).Recorder()
    for e in src:
        world.connect(e, rec, "p_set_kw", "on")
    world.connect(ctrl, rec, "log")
    world.run(until=600)
    world.shutdown()

    r = read(path)
    assert r.meta["seed"] == 7 and r.groups() == ["control/rt", "plant/Source"]
    p = r.series("plant/Source", "p_set_kw")
    assert list(p.columns) == [f"Source_{i}" for i in range(11)]  # numeric order: 2 before 10
    assert list(p.index) == list(range(0, 600, 60))
    np.testing.assert_array_equal(p["Source_10"], np.arange(10) + 1000.0)
    np.testing.assert_array_equal(r.series("plant/Source", "on")["Source_3"], np.arange(10) % 2)
    ev = r.events("control/rt")
    assert list(ev.index) == [0, 300] and list(ev["objective"]) == [0.0, 30.0]
    _, plans = r.array("control/rt", "p_plan_mw")
    np.testing.assert_array_equal(plans, [[0, 1, 2], [300, 301, 302]])


def test_recorder_sim_rules(tmp_path):
    assert entity_type("GridSim-0.Bus_17") == "Bus" and entity_type("GridSim-0.Grid") == "Grid"
    assert entity_type("EV-0.ev_fleet_3") == "ev_fleet"
    assert sorted(["Bus_10", "Bus_2", "Bus_x"], key=column_key) == ["Bus_2", "Bus_10", "Bus_x"]
    sim = RecorderSim()
    with pytest.raises(ConfigError, match="path"):
        sim.init("Rec-0")
    sim.init("Rec-0", time_resolution=0.5, step_size=2, path=str(tmp_path / "r.h5"))
    sim.create(1, "Recorder")
    with pytest.raises(ConfigError, match="exactly one"):
        sim.create(1, "Recorder")
    sim.step(0, {"Recorder": {"vm_pu": {"G-0.Bus_1": 1.0, "G-0.Bus_0": 0.9}, "converged": {"G-0.Grid": True},
                              "log": {"C-0.Ctrl": None}}}, 0)
    sim.step(2, {"Recorder": {"vm_pu": {"G-0.Bus_1": 1.1}, "log": {"C-0.Ctrl": []}}}, 0)
    log = [{"group": "control/rt", "t_s": 4, "scalars": {"k": 1}}, {"group": "control/rt", "t_s": 4}]
    sim.step(4, {"Recorder": {"log": {"C-0.Ctrl": log}}}, 0)
    sim.step(6, {"Recorder": {"log": {"C-0.Ctrl": log}}}, 0)  # a time-based source's re-delivery
    with pytest.raises(DataError, match="G-0.Bus_0.vm_pu"):
        sim.step(8, {"Recorder": {"vm_pu": {"G-0.Bus_0": [1.0]}}}, 0)
    with pytest.raises(DataError, match="needs 'group'"):
        sim.step(8, {"Recorder": {"log": {"C-0.Ctrl": [{"t_s": 8}]}}}, 0)
    sim.finalize()
    r = read(sim.path)
    assert r.groups() == ["control/rt", "plant/Bus", "plant/Grid"]
    assert list(r.events("control/rt")["k"]) == [1, -1]  # both entries of one list, recorded once
    vm = r.series("plant/Bus", "vm_pu")
    assert list(vm.index) == [0, 1]  # time * time_resolution
    np.testing.assert_array_equal(vm.to_numpy(), [[0.9, 1.0], [np.nan, 1.1]])
    assert r.series("plant/Grid", "converged").iloc[0, 0] == 1.0



def test_a_fleet_entity_list_is_recorded_as_its_units_columns(tmp_path):
    """A list from fleet entity ``EV`` (simulators.fleet_sim) lands in plant/EV as columns EV_0..,
    the same record as one value per unit entity; a list of another length is refused."""
    def run(path, per_unit):
        sim = RecorderSim()
        sim.init("Rec-0", step_size=60, path=str(path))
        sim.create(1, "Recorder")
        for k in range(3):
            vals = [float(k), 10.0 + k, np.nan]
            e = {f"EV-0.EV_{i}": v for i, v in enumerate(vals)} if per_unit else {"EV-0.EV": vals}
            sim.step(60 * k, {"Recorder": {"p_kw": e, "vm_pu": {"G-0.Bus_0": 1.0}}}, 0)
        return sim

    run(tmp_path / "units.h5", True).finalize()
    sim = run(tmp_path / "fleet.h5", False)
    with pytest.raises(DataError, match="EV-0.EV"):
        sim.step(180, {"Recorder": {"p_kw": {"EV-0.EV": [1.0, "x", 2.0]}}}, 0)
    sim.finalize()
    a, b = read(tmp_path / "units.h5"), read(tmp_path / "fleet.h5")
    assert b.groups() == a.groups() == ["plant/Bus", "plant/EV"]
    pd.testing.assert_frame_equal(b.series("plant/EV", "p_kw"), a.series("plant/EV", "p_kw"))
    assert list(b.series("plant/EV", "p_kw").columns) == ["EV_0", "EV_1", "EV_2"]
    assert sim._fast(240, {"p_kw": {"EV-0.EV": [1.0, 2.0]}}) is False  # a list of another length


def test_a_dict_value_is_recorded_as_the_entities_it_names(tmp_path):
    """``{"Bus_0": .., "Bus_10": ..}`` from one entity (simulators.grid_sim's BusSet) gives the record
    of each bus sending its own number; keys of two types in one value are refused."""
    def run(path, per_entity):
        sim = RecorderSim()
        sim.init("Rec-0", step_size=60, path=str(path))
        sim.create(1, "Recorder")
        for k in range(3):
            vals = {"Bus_10": 1.0 + k, "Bus_0": 0.5, "Bus_2": None}
            src = {f"G-0.{b}": v for b, v in vals.items()} if per_entity else {"G-0.BusSet": vals}
            sim.step(60 * k, {"Recorder": {"vm_pu": src}}, 0)
        return sim

    run(tmp_path / "each.h5", True).finalize()
    sim = run(tmp_path / "set.h5", False)
    with pytest.raises(DataError, match="several types"):
        sim.step(180, {"Recorder": {"vm_pu": {"G-0.Mixed": {"Bus_0": 1.0, "Line_0": 2.0}}}}, 0)
    sim.finalize()
    a, b = read(tmp_path / "each.h5"), read(tmp_path / "set.h5")
    pd.testing.assert_frame_equal(b.series("plant/Bus", "vm_pu"), a.series("plant/Bus", "vm_pu"))
    assert list(b.series("plant/Bus", "vm_pu").columns) == ["Bus_0", "Bus_2", "Bus_10"]

# -- a run killed mid-way ---------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from cosim.record import RecordWriter
    cols = [f"Bus_{i}" for i in range(50)]
    with RecordWriter(sys.argv[1], meta={"seed": 1}) as w:
        for k in range(100000):
            w.append_row("plant/Bus", 60 * k, {"vm_pu": np.full(50, float(k)), "p_mw": np.arange(50.0) + k}, cols)
            w.append_event("control/rt", 60 * k, {"k": k, "status": f"s{k}"}, {"plan": np.full(4, float(k))})
            time.sleep(0.005)
""")


def test_sigkilled_writer_leaves_a_readable_file(tmp_path):
    final = tmp_path / "killed.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(final)], cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                path, = partial_paths(final, proc.pid)
                if len(read(path, "plant/Bus", "vm_pu")) >= 5:
                    break
            except (OSError, KeyError, ValueError, RuntimeError):  # not created yet, or caught mid-write
                pass
            time.sleep(0.05)
        else:
            pytest.fail("the writer produced fewer than 5 rows in 20 s")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not final.exists() and not read(path).complete  # never moved into place, says it is partial
    vm = read(path, "plant/Bus", "vm_pu")
    n = len(vm)
    assert n >= 5
    np.testing.assert_array_equal(vm.index, 60 * np.arange(n))
    np.testing.assert_array_equal(vm.to_numpy(), np.repeat(np.arange(n, dtype=float)[:, None], 50, axis=1))
    p = read(path, "plant/Bus", "p_mw")
    np.testing.assert_array_equal(p.to_numpy(), np.arange(n)[:, None] + np.arange(50.0))
    ev = read(path, "control/rt")
    m = len(ev)
    assert m >= n - 1 and list(ev["k"]) == list(range(m)) and list(ev["status"]) == [f"s{k}" for k in range(m)]
    t_s, plan = read(path).array("control/rt", "plan")
    np.testing.assert_array_equal(plan, np.repeat(np.arange(m, dtype=float)[:, None], 4, axis=1))


def test_rows_are_buffered_and_written_in_blocks_with_fills(tmp_path):
    path = tmp_path / "buf.h5"
    w = RecordWriter(path, flush_every=3, compression="gzip")
    w.append_event("control/x", 0, {"a": 1.0})
    w.append_event("control/x", 60, {"a": 2.0, "b": "late"})  # b appears in the buffer
    assert w.h5["control/x/t_s"].shape == (0,)  # nothing written before the flush is due
    w.append_event("control/x", 120, {"b": "c"}, {"v": [1.0, 2.0]})
    assert w.h5["control/x/t_s"].shape == (3,) and w.h5["control/x/b"].shape == (3,)
    w.append_row("plant/Bus", 0, {"vm_pu": [1.0, 0.99]}, ["Bus_0", "Bus_1"])
    w.publish()  # writes the rest
    ev = read(path, "control/x")
    assert list(ev.index) == [0, 60, 120] and ev.a.tolist()[:2] == [1.0, 2.0] and np.isnan(ev.a.iloc[2])
    assert ev.b.tolist() == ["", "late", "c"]
    t, v = read(path).array("control/x", "v")
    assert np.isnan(v[:2]).all() and v[2].tolist() == [1.0, 2.0]
    assert read(path, "plant/Bus", "vm_pu").to_numpy().tolist() == [[1.0, 0.99]]
    with h5py.File(path, "r", locking=False) as f:  # plain h5py reads the compressed, shuffled datasets
        assert f["plant/Bus/vm_pu"].compression == "gzip" and f["plant/Bus/vm_pu"].shuffle


# -- nothing overwritten, nothing lost -------------------------------------------------------------

def test_a_record_is_never_overwritten_unless_asked(tmp_path):
    path = tmp_path / "run.h5"
    with RecordWriter(path, meta={"seed": 1}) as w:
        w.append_row("plant/Bus", 0, {"vm_pu": [1.0]}, ["Bus_0"])
    assert read(path).complete and read(path).meta["seed"] == 1 and partial_paths(path) == []
    with pytest.raises(RecordExistsError, match=r"run.h5 exists.*--out.*--overwrite"):
        RecordWriter(path, meta={"seed": 2})
    with RecordWriter(path, meta={"seed": 2}, overwrite=True):
        assert read(path).meta["seed"] == 1  # the old record stays in place while the new one is written
    assert read(path).meta["seed"] == 2 and partial_paths(path) == []
    w = RecordWriter(tmp_path / "crash.h5")
    with pytest.raises(ZeroDivisionError):
        with w:
            1 / 0
    assert not (tmp_path / "crash.h5").exists() and not read(w.temp_path).complete


CONCURRENT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from cosim.record import RecordExistsError, RecordWriter
    path, seed, overwrite = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    w = RecordWriter(path, meta={"seed": seed}, flush_every=5, overwrite=overwrite)
    for k in range(400):
        w.append_row("plant/Bus", 60 * k, {"vm_pu": np.full(20, float(seed))}, [f"Bus_{i}" for i in range(20)])
    time.sleep(0.5)  # both writers are open at once
    try:
        w.publish()
    except RecordExistsError as exc:
        print(exc)
        sys.exit(3)
""")


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_concurrent_writers_cannot_corrupt_each_other(tmp_path, overwrite):
    path = tmp_path / "same.h5"
    root = os.path.dirname(os.path.dirname(__file__))
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(path), str(seed), str(int(overwrite))],
                              cwd=root, stdout=subprocess.PIPE, text=True) for seed in (1, 2)]
    codes = [p.wait(timeout=60) for p in procs]
    rec = read(path)
    assert rec.complete
    vm = rec.series("plant/Bus", "vm_pu")  # one writer's record, whole
    assert vm.shape == (400, 20) and (vm.to_numpy() == rec.meta["seed"]).all()
    if overwrite:
        assert codes == [0, 0] and partial_paths(path) == []
    else:  # the later one is refused at the move and keeps its record under its temporary name
        assert sorted(codes) == [0, 3]
        loser = procs[codes.index(3)]
        kept, = partial_paths(path)
        assert str(kept) in loser.stdout.read() and read(kept).complete
        assert read(kept).meta["seed"] != rec.meta["seed"]


def test_xarray_opens_a_record_with_calendar_time_and_units(tmp_path):
    xr = pytest.importorskip("xarray")
    path = tmp_path / "run.h5"
    with RecordWriter(path, meta={"start": "2024-01-15 06:00"}, flush_every=2, compression="gzip") as w:
        for k in range(4):
            w.append_row("plant/Bus", 60 * k, {"vm_pu": [1.0 + k / 100, 0.99], "p_mw": [0.5, k]}, ["Bus_0", "Bus_1"])
            w.append_row("plant/Building", 60 * k, {"t_in_c": [20.0 + k], "discomfort_kh": [0.0]}, ["Building_0"])
            w.append_event("control/rt", 60 * k, {"status": "optimal", "solve_time_s": 0.1}, {"plan": [1.0, 2.0]})
    with xr.open_dataset(path, engine="h5netcdf", group="plant/Bus") as ds:
        assert list(ds.time_s.values) == list(pd.date_range("2024-01-15 06:00", periods=4, freq="60s"))
        assert list(ds.columns.values) == ["Bus_0", "Bus_1"] and ds.vm_pu.dims == ("time_s", "columns")
        assert ds.vm_pu.attrs["units"] == "1" and ds.p_mw.attrs["units"] == "MW"
        np.testing.assert_array_equal(ds.p_mw.values[:, 1], [0, 1, 2, 3])
    with xr.open_dataset(path, engine="h5netcdf", group="plant/Building") as ds:
        assert ds.t_in_c.attrs["units"] == "degC" and ds.discomfort_kh.attrs["units"] == "K h"
        assert ds.t_in_c.sel(time_s="2024-01-15 06:02").item() == 22.0
    with xr.open_dataset(path, engine="h5netcdf", group="control/rt", phony_dims="sort") as ev:
        assert ev.solve_time_s.attrs["units"] == "s" and list(ev.status.values) == ["optimal"] * 4
    with h5py.File(path, "r") as f:
        assert f.attrs["Conventions"] == "CF-1.8"
        assert f["plant/Bus/time_s"].attrs["units"] == "seconds since 2024-01-15 06:00:00"
    assert read(path, "plant/Bus", "vm_pu").shape == (4, 2)  # cosim.read unchanged
