"""Running a sweep on Dask: one task per run, the manifest, resume, and the outputs."""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cosim.scenario import Scenario
from cosim.sweeps.results import plot, run_table, summary
from cosim.sweeps.spec import _MEASURED, CLUSTER_CONFIG, SUMMARY_KPIS, Run, load
from cosim_base.errors import ConfigError
from cosim_base.interrupt import check_stop, stop_on_sigint


def execute(scenario: Scenario) -> dict:
    """The task of one run (on a Dask worker): run it, compute its KPIs, return a small dict
    (status, error, kpi, wall_s, worker, rss_mb, finished_unix_s); every exception becomes status
    "failed"."""
    import psutil
    from distributed import get_worker

    from cosim import kpi, world

    t0 = time.perf_counter()
    try:
        out = {"status": "done", "error": "", "kpi": kpi.compute(world.run(scenario, overwrite=True))}
    except Exception as exc:  # a failed run is a result, not the sweep's end
        out = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "kpi": {}}
    out.update(wall_s=time.perf_counter() - t0, worker=get_worker().address,
               rss_mb=psutil.Process().memory_info().rss / 2**20, finished_unix_s=time.time())
    return out


def _count(field: str, value, what: str = "") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{field} = {value!r} must be a whole number >= 1{what}")
    return value


#: Batch systems of :func:`jobqueue_cluster` -> dask_jobqueue class.
JOBQUEUES = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}


def jobqueue_cluster(system: str, **job_options):
    """A dask-jobqueue cluster (the optional extra ``cosim[jobqueue]``) whose every batch job is one
    single-threaded worker process without the profiler, like the LocalCluster's workers.
    ``job_options`` go to the dask_jobqueue class (``queue``, ``account``, ``walltime``,
    ``memory`` ..., default memory "4GB"); jobs are submitted by ``cluster.scale(jobs)``."""
    if system not in JOBQUEUES:
        raise ConfigError(f"jobqueue = {system!r} must be one of {', '.join(JOBQUEUES)}")
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigError("jobqueue needs dask-jobqueue: pip install 'cosim[jobqueue]'") from None
    env = [f"export DASK_{k.upper().replace('.', '__').replace('-', '_')}={v}" for k, v in CLUSTER_CONFIG.items()
           if k.startswith("distributed.worker")]
    options = {"cores": 1, "processes": 1, "memory": "4GB", **job_options}
    options["job_script_prologue"] = [*env, *options.get("job_script_prologue", [])]
    return getattr(dask_jobqueue, JOBQUEUES[system])(**options)


@contextmanager
def client(workers: int | None = None, scheduler: str | None = None, jobqueue: str | None = None,
           jobs: int | None = None, job_options: dict | None = None):
    """A distributed.Client, closed on exit: to ``scheduler`` if given; else to ``jobs`` batch jobs
    of :func:`jobqueue_cluster` if ``jobqueue`` ("slurm", "pbs") is given; else to a new LocalCluster
    of ``workers`` (default: the machine's cores) single-threaded worker processes without the
    profiler (:data:`CLUSTER_CONFIG`)."""
    import dask
    from distributed import Client, LocalCluster

    if sum(x is not None for x in (workers, scheduler, jobqueue)) > 1:
        raise ConfigError("workers, scheduler and jobqueue: give at most one of them")
    if scheduler is not None:
        with Client(scheduler) as c:
            yield c
        return
    if jobqueue is not None:
        _count("jobs", jobs, " (batch jobs, one worker each)")

        def cluster():
            return jobqueue_cluster(jobqueue, **(job_options or {}))
    else:
        n = _count("workers", (os.cpu_count() or 1) if workers is None else workers)

        def cluster():
            return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
    with dask.config.set(CLUSTER_CONFIG), cluster() as made, Client(made) as c:
        if jobqueue is not None:
            made.scale(jobs)
        yield c


MANIFEST = "manifest.jsonl"


def _entry(run: Run, out: Path) -> dict:
    return {"run_id": run.run_id, "point": run.point, "replicate": run.replicate, "seed": run.scenario.seed,
            "hash": run.hash, "status": "pending", "path": Path(run.scenario.output).relative_to(out).as_posix(),
            "error": "", "worker": "", **dict.fromkeys(_MEASURED, math.nan), "kpi": {}}


def read_manifest(path) -> dict[str, dict]:
    """run_id -> its last manifest line (empty if the file does not exist); nulls back to NaN.
    A torn last line (a process killed while appending) is skipped."""
    path = Path(path)
    if not path.exists():
        return {}

    def nan(values: dict) -> dict:
        return {k: math.nan if v is None else v for k, v in values.items()}
    entries = {}
    for line in path.read_text().splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "run_id" in e:
            entries[e["run_id"]] = {**e, **nan({k: e[k] for k in _MEASURED}), "kpi": nan(e["kpi"])}
    return entries


def _append(path: Path, *docs: dict) -> None:
    """Append one JSON line per doc and flush it to disk."""
    from cosim.report import _json_value  # NaN -> null

    def plain(e):
        if "run_id" not in e:
            return e
        return {**e, **{k: _json_value(e[k]) for k in _MEASURED},
                "kpi": {k: _json_value(v) for k, v in e["kpi"].items()}}
    with open(path, "a") as f:
        f.write("".join(json.dumps(plain(d)) + "\n" for d in docs))
        f.flush()
        os.fsync(f.fileno())


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns: the output folder and its files, the run table (one row
    per run), the summary (one row per point) and how many runs were ``ran`` now and ``skipped``
    (done before with the same hash)."""

    out: Path
    manifest: Path
    runs_path: Path
    summary_path: Path
    plots: list[Path]
    runs: pd.DataFrame
    summary: pd.DataFrame
    ran: int
    skipped: int

    @property
    def failed(self) -> int:
        return int((self.runs.status == "failed").sum())


def run_sweep(spec, out=None, *, workers: int | None = None, scheduler: str | None = None,
              jobqueue: str | None = None, jobs: int | None = None, job_options: dict | None = None,
              progress: bool = True) -> SweepResult:
    """Run sweep ``spec`` (a :class:`Sweep`, a sweep TOML path or text, or a dict) into ``out``
    (default ``results/sweeps/<name>``): the runs not done before, on a new LocalCluster of
    ``workers`` processes, on the cluster at ``scheduler`` or on ``jobs`` batch jobs (``jobqueue``,
    :func:`client`); then the tables and plots."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    sweep = load(spec)
    out = Path(out if out is not None else Path("results/sweeps") / sweep.name).resolve()
    (out / "runs").mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    before = read_manifest(manifest)
    entries, todo = {}, []
    for run in sweep.runs(out):
        old = before.get(run.run_id)
        if old and old["status"] == "done" and old["hash"] == run.hash and (out / old["path"]).exists():
            entries[run.run_id] = old
        else:
            entries[run.run_id] = _entry(run, out)
            todo.append(run)
    _append(manifest, {"sweep": sweep.name, "seed": sweep.seed, "replicates": sweep.replicates,
                       "axes": [a.name for a in sweep.axes], "started_unix_s": time.time()},
            *(entries[run.run_id] for run in todo))
    if todo:
        with client(workers, scheduler, jobqueue, jobs, job_options) as c, stop_on_sigint():
            futures = {c.submit(execute, run.scenario, pure=False): run for run in todo}
            try:
                for fut in tqdm(as_completed(futures), total=len(todo), desc=sweep.name, unit="run",
                                disable=not progress):
                    check_stop()
                    try:
                        result = fut.result()
                    except Exception as exc:  # the worker died more than allowed (KilledWorker)
                        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                    entries[futures[fut].run_id].update(result)
                    fut.release()
                    _append(manifest, entries[futures[fut].run_id])
            except KeyboardInterrupt:
                c.cancel(list(futures))
                raise KeyboardInterrupt(f"sweep interrupted; {sum(e['status'] == 'done' for e in entries.values())}"
                                        f" of {len(entries)} runs are done (run it again to resume)") from None
    runs = run_table(sweep, [{**e, "path": str(out / e["path"])} for e in entries.values()])
    runs_path, summary_path = out / "runs.parquet", out / "summary.csv"
    runs.to_parquet(runs_path, index=False)
    table = summary(sweep, runs)
    table.to_csv(summary_path, index=False)
    plots = [plot(sweep, runs, k, out / f"{k}.png") for k in SUMMARY_KPIS if k in runs]
    return SweepResult(out, manifest, runs_path, summary_path, plots, runs, table, len(todo),
                       len(entries) - len(todo))
