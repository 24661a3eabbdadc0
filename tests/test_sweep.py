"""cosim.sweeps: batch sweeps on a real 2-worker LocalCluster (one per module), 15-min SMALL runs at 5-min plant steps."""
import json
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pandas as pd
import pytest
import tomli_w

import cosim
from cosim import cli
from cosim_base.errors import ConfigError
from cosim.scenario import Scenario
from cosim.sweeps import Sweep, client, config_hash, load, read_manifest, replicate_seeds
from tests.small import SMALL

SWEEPS = pathlib.Path(__file__).resolve().parents[1] / "scenarios" / "sweeps"

#: SMALL for 15 min at 5-min plant steps with a 1-h day-ahead stage (4 x 15 min, one solve); 2 axes x 2 points:
#: forecast noise on/off x no controller / day-ahead only.
SPEC = {
    "name": "t-sweep",
    "seed": 11,
    "replicates": 2,
    "set": {**SMALL, "duration_s": 900, "step_s": 300, "control.da": {"every_s": 3600, "dt_s": 900, "horizon_s": 3600}},
    "axis": [
        {"name": "perfect", "key": "forecast.perfect", "values": [False, True]},
        {"name": "controller", "points": [{"label": "local", "set": {"control.stages": []}},
                                          {"label": "da", "set": {"control": {"stages": ["da"]}}}]},
    ],
}


@pytest.fixture(scope="module")
def scheduler():
    """The scheduler address of cosim.sweep's own 2-worker LocalCluster, shared by the module."""
    with client(workers=2) as c:
        assert len(c.scheduler_info()["workers"]) == 2
        yield c.scheduler.address


@pytest.fixture(scope="module")
def swept(scheduler, tmp_path_factory):
    """Replicate 0 first (a partial sweep), then both replicates from the TOML file, then again."""
    out = tmp_path_factory.mktemp("sweep")
    toml = out.parent / "t-sweep.toml"
    toml.write_text(tomli_w.dumps(SPEC))
    first = cosim.sweep({**SPEC, "replicates": 1}, out=out, scheduler=scheduler, progress=False)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.h5")}
    full = cosim.sweep(toml, out=out, scheduler=scheduler, progress=False)
    mtimes_full = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.h5")}
    again = cosim.sweep(toml, out=out, scheduler=scheduler, progress=False)
    return {"out": out, "toml": toml, "first": first, "full": full, "again": again,
            "mtimes": mtimes, "mtimes_full": mtimes_full}


def test_table_summary_and_plots(swept):
    res, out = swept["full"], swept["out"]
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 8 and (runs.status == "done").all() and (runs.error == "").all()
    assert {"run_id", "perfect", "controller", "replicate", "seed", "cost_total", "v_violation_pu_h",
            "da_solves", "wall_s", "worker"} <= set(runs.columns)
    assert runs[runs.controller == "da"].da_solves.eq(1).all()
    assert runs[runs.controller == "local"].da_solves.isna().all()
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and (summary.n == 2).all() and (summary.failed == 0).all()
    for _, row in summary.iterrows():
        cost = runs[(runs.perfect == row.perfect) & (runs.controller == row.controller)].cost_total
        assert row.cost_total_mean == pytest.approx(cost.mean())
        assert row.cost_total_std == pytest.approx(cost.std(ddof=1))
        assert row.cost_total_q50 == pytest.approx(cost.median())
        assert row.cost_total_cvar95 == pytest.approx(cost.max())  # 5 % of 2 runs: the worst one
        assert row.cost_total_q05 <= row.cost_total_q50 <= row.cost_total_q95
    pd.testing.assert_frame_equal(res.runs.reset_index(drop=True), runs, check_dtype=False)
    assert [p.name for p in res.plots] == ["cost_total.png", "v_violation_pu_h.png", "v_violation_h.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in res.plots)


def test_common_random_numbers(swept):
    runs = swept["full"].runs
    by_rep = runs.groupby("replicate").seed
    assert (by_rep.nunique() == 1).all()
    assert list(by_rep.first()) == replicate_seeds(11, 2) and len(set(by_rep.first())) == 2
    soc0 = {}
    for _, r in runs.iterrows():
        rec = cosim.read(r.path)
        assert rec.meta["seed"] == r.seed
        assert config_hash(Scenario.from_toml(rec.scenario)) == r.hash
        soc0[r.run_id] = cosim.read(r.path, "plant/EV", "soc").iloc[0].to_numpy()  # sampled truth at t = 0
    for rep in (0, 1):
        ids = runs[runs.replicate == rep].run_id
        assert all(np.array_equal(soc0[ids.iloc[0]], soc0[i]) for i in ids)
    assert not np.array_equal(*(soc0[runs[runs.replicate == rep].run_id.iloc[0]] for rep in (0, 1)))


def test_resume_redoes_nothing_finished(swept):
    first, full, again = swept["first"], swept["full"], swept["again"]
    assert (first.ran, first.skipped) == (4, 0)
    assert (full.ran, full.skipped) == (4, 4)
    assert (again.ran, again.skipped) == (0, 8)
    assert len(swept["mtimes"]) == 4 and len(swept["mtimes_full"]) == 8
    assert all(swept["mtimes_full"][k] == t for k, t in swept["mtimes"].items())
    assert {p.name: p.stat().st_mtime_ns for p in (swept["out"] / "runs").glob("*.h5")} == swept["mtimes_full"]
    lines = [json.loads(x) for x in (swept["out"] / "manifest.jsonl").read_text().splitlines()]
    assert [x["sweep"] for x in lines if "sweep" in x] == ["t-sweep"] * 3  # a header per invocation
    runs = [x for x in lines if "run_id" in x]  # 4 + 4 runs, each pending then done, then nothing new
    assert [x["status"] for x in runs] == ["pending"] * 4 + ["done"] * 4 + ["pending"] * 4 + ["done"] * 4
    assert all(x["path"] == f"runs/{x['run_id']}.h5" for x in runs)


def test_failed_run_is_recorded_and_retried(scheduler, tmp_path):
    spec = {"name": "t-fail", "seed": 1, "set": {**SMALL, "duration_s": 900, "step_s": 300, "control.stages": []},
            "axis": [{"name": "battery", "points": [
                {"label": "ok", "set": {}},
                {"label": "bad-bus", "set": {"devices.Battery": [{"bus": [999]}]}}]}]}  # fails in build_plant
    res = cosim.sweep(spec, out=tmp_path, scheduler=scheduler, progress=False)
    runs = res.runs.set_index("battery")
    assert runs.loc["ok", "status"] == "done" and runs.loc["ok", "cost_total"] > 0
    assert runs.loc["bad-bus", "status"] == "failed" and np.isnan(runs.loc["bad-bus", "cost_total"])
    assert runs.loc["bad-bus", "error"].startswith("ConfigError: devices.Battery: bus positions")
    assert res.failed == 1 and list(res.summary.n) == [1, 0] and list(res.summary.failed) == [0, 1]
    again = cosim.sweep(spec, out=tmp_path, scheduler=scheduler, progress=False)
    assert (again.ran, again.skipped, again.failed) == (1, 1, 1)


def test_hash_follows_the_scenario(tmp_path):
    a = Sweep.from_dict(SPEC).runs(tmp_path)
    b = Sweep.from_dict(SPEC).runs(tmp_path)
    c = Sweep.from_dict({**SPEC, "set": {**SPEC["set"], "duration_s": 1800}}).runs(tmp_path)
    assert [r.hash for r in a] == [r.hash for r in b]
    assert len({r.hash for r in a}) == 8 and not {r.hash for r in a} & {r.hash for r in c}
    assert [r.run_id for r in a] == [r.run_id for r in c]


@pytest.mark.parametrize("change, match", [
    ({"replicate": 2}, "sweep.replicate: unknown key"),
    ({"replicates": 0}, "sweep.replicates = 0 must be a whole number >= 1"),
    ({"axis": [{"name": "x", "key": "seed", "values": [1]}]}, "axis 'x'.seed: set by the sweep"),
    ({"axis": [{"name": "x", "key": "forecast.perfect", "values": []}]}, r"axis 'x'.values = \[\] must be"),
    ({"axis": [{"name": "x", "points": []}]}, r"axis 'x'.points = \[\] must be"),
    ({"axis": [{"name": "x", "key": "forecast.perfect"}]}, "axis 'x': give either key and values, or points"),
    ({"axis": [{"name": "seed", "key": "forecast.perfect", "values": [True]}]}, r"axis\[0\].name = 'seed'"),
    ({"axis": [{"name": "x", "points": [{"label": "a b"}, {"label": "a-b"}]}]}, "not distinct as file names"),
    ({"axis": [{"name": "n", "key": "forecast.error_scale", "values": [1, -1]}]},
     r"sweep point n = -1: forecast.error_scale = -1.0 is outside"),
    ({"axis": [{"name": "c", "points": [{"label": "x", "set": {"control.stagez": []}}]}]},
     "sweep point c = 'x': control.stagez: unknown key"),
    ({"base": "missing.toml"}, "sweep.base: scenario file"),
])
def test_validation_names_the_field(change, match):
    with pytest.raises(ConfigError, match=match):
        Sweep.from_dict({**SPEC, **change})


def test_shipped_sweeps_load():
    noise = load(SWEEPS / "noise_robustness.toml")
    assert [a.labels for a in noise.axes] == [(0.0, 0.5, 1.0, 2.0), ("three-stage", "day-ahead")]
    assert noise.replicates == 20 and len(noise.points) == 8
    assert [sc.forecast.error_scale for _, sc in noise.points[::2]] == [0.0, 0.5, 1.0, 2.0]
    mismatch = load(SWEEPS / "model_mismatch.toml")
    assert [sc.control.mismatch_rel for _, sc in mismatch.points] == [0.0, 0.1, 0.2]


def test_cli_sweep(swept, scheduler, capsys):
    code = cli.main(["sweep", str(swept["toml"]), "--scheduler", scheduler, "--out", str(swept["out"]), "--quiet"])
    text = capsys.readouterr().out
    assert code == 0 and "0 runs now, 8 done before, 0 failed" in text and "cost_total_cvar95" in text
    assert cli.main(["sweep", str(swept["out"] / "nope.toml")]) == 2


def test_a_killed_worker_fails_only_its_run_and_is_retried(scheduler, tmp_path):
    die = {"control.controller": "tests.dying_controller:DieOnce", "control.params": {"step_s": 300}}
    spec = {"name": "t-kill", "seed": 1, "set": {**SMALL, "duration_s": 900, "step_s": 300},
            "axis": [{"name": "case", "points": [
                {"label": "ok", "set": {"control.stages": []}},
                {"label": "dies-once", "set": {**die, "control.params.marker": str(tmp_path / "once")}},
                {"label": "dies-always", "set": {**die, "control.params.marker": str(tmp_path / "x"),
                                                 "control.params.always": True}}]}]}
    res = cosim.sweep(spec, out=tmp_path / "out", scheduler=scheduler, progress=False)
    runs = res.runs.set_index("case")
    assert (tmp_path / "once").exists()  # the first attempt died ...
    assert runs.loc["dies-once", "status"] == "done" and runs.loc["dies-once", "cost_total"] > 0  # ... the retry ran
    assert runs.loc["ok", "status"] == "done"
    assert runs.loc["dies-always", "status"] == "failed" and "KilledWorker" in runs.loc["dies-always", "error"]


def test_a_moved_output_folder_keeps_its_finished_runs(swept, scheduler, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(swept["out"], moved)
    again = cosim.sweep(swept["toml"], out=moved, scheduler=scheduler, progress=False)
    assert (again.ran, again.skipped) == (0, 8)
    assert all(pathlib.Path(p).parent == moved / "runs" for p in again.runs.path)


def test_ctrl_c_stops_a_sweep_cleanly_and_a_rerun_resumes(scheduler, tmp_path):
    spec = {**SPEC, "name": "t-int", "replicates": 4, "set": {**SPEC["set"], "control.stages": []},
            "axis": [{"name": "perfect", "key": "forecast.perfect", "values": [False, True]}]}
    toml = tmp_path / "t-int.toml"
    toml.write_text(tomli_w.dumps(spec))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "cosim.cli", "sweep", str(toml), "--scheduler", scheduler, "--out",
                             str(out), "--quiet"], cwd=pathlib.Path(__file__).resolve().parents[1],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a background CI job ignores SIGINT
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(read_manifest(out / "manifest.jsonl")) and \
                any(e["status"] == "done" for e in read_manifest(out / "manifest.jsonl").values()):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "sweep interrupted" in err and "run it again to resume" in err
    done = sum(e["status"] == "done" for e in read_manifest(out / "manifest.jsonl").values())
    assert 1 <= done < 8
    again = cosim.sweep(toml, out=out, scheduler=scheduler, progress=False)
    assert (again.ran, again.skipped, again.failed) == (8 - done, done, 0)


def test_a_batch_cluster_job_is_one_single_threaded_worker_without_profiler():
    pytest.importorskip("dask_jobqueue")
    from cosim.sweeps import jobqueue_cluster

    with jobqueue_cluster("slurm", queue="short", account="grid", walltime="01:30:00", memory="6GB",
                          scheduler_options={"host": "127.0.0.1"}) as cluster:
        script = cluster.job_script()  # rendered, not submitted: no batch system needed
    assert "#SBATCH -p short" in script and "#SBATCH -A grid" in script and "#SBATCH -t 01:30:00" in script
    assert "--nthreads 1" in script and "#SBATCH --mem=6G" in script and "--nworkers" not in script
    assert "export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False" in script
    with pytest.raises(ConfigError, match="jobqueue = 'lsf' must be one of slurm, pbs"):
        jobqueue_cluster("lsf")
    with pytest.raises(ConfigError, match="jobs = 0 must be"):
        with client(jobqueue="pbs", jobs=0):
            pass


#: Datasets that hold wall-clock measurements, not results: they differ between any two runs.
WALL_CLOCK = ("solve_time_s", "wall_time_s", "build_time_s")


def _datasets(path) -> tuple[dict, dict]:
    """Every dataset's bytes but the wall-clock ones (the scenario by its content hash: the output
    paths differ) and the root attributes but the creation time."""
    out = {}

    def keep(name, obj):
        if isinstance(obj, h5py.Dataset) and name.rsplit("/", 1)[-1] not in WALL_CLOCK:
            x = np.asarray(obj[()])
            out[name] = x.tolist() if x.dtype.kind == "O" else x.tobytes()  # strings by value
    with h5py.File(path, "r") as f:
        f.visititems(keep)
        out["meta/scenario.toml"] = config_hash(Scenario.from_toml(f["meta/scenario.toml"].asstr()[()]))
        attrs = {k: v for k, v in f.attrs.items() if k != "created_utc"}
    return out, attrs


def test_a_run_on_a_dask_worker_is_bit_identical_to_a_plain_run(scheduler, tmp_path):
    from distributed import Client

    from cosim.sweeps import execute

    sc = Scenario().updated({**SMALL, "duration_s": 1800, "seed": 5})
    plain = cosim.run(sc.updated({"output": str(tmp_path / "plain.h5")}))
    with Client(scheduler) as c:
        res = c.submit(execute, sc.updated({"output": str(tmp_path / "dask.h5")}), pure=False).result()
    assert res["status"] == "done", res["error"]
    (a, a_attrs), (b, b_attrs) = _datasets(plain), _datasets(tmp_path / "dask.h5")
    assert a.keys() == b.keys() and len(a) > 50 and a_attrs.keys() == b_attrs.keys()
    assert [name for name in a if a[name] != b[name]] == []
    assert all(np.array_equal(a_attrs[k], b_attrs[k]) for k in a_attrs)
