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
from cosim.sweeps.spec import _MEASURED, NO_PROFILER, SUMMARY_KPIS, Run, Sweep, load
from cosim_base.errors import ConfigError


def execute(scenario: Scenario) -> dict:
    """The task of one run (on a Dask worker): run it, compute its KPIs, return a small dict
    (status, error, kpi, wall_s, worker, rss_mb, finished_unix_s); every exception becomes status
    "failed"."""
    import psutil
    from distributed import get_worker

    from cosim import kpi, world

    t0 = time.perf_counter()
    try:
        out = {"status": "done", "error": "", "kpi": kpi.compute(world.run(scenario))}
    except Exception as exc:  # a failed run is a result, not the sweep's end
        out = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "kpi": {}}
    out.update(wall_s=time.perf_counter() - t0, worker=get_worker().address,
               rss_mb=psutil.Process().memory_info().rss / 2**20, finished_unix_s=time.time())
    return out


@contextmanager
def client(workers: int | None = None, scheduler: str | None = None):
    """A distributed.Client: to ``scheduler`` if given, else to a new LocalCluster of ``workers``
    (default: the machine's cores) single-threaded worker processes without the profiler
    (:data:`NO_PROFILER`), closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if workers is not None:
            raise ConfigError("workers and scheduler: give one of them (scheduler runs on its cluster's workers)")
        with Client(scheduler) as c:
            yield c
        return
    n = (os.cpu_count() or 1) if workers is None else workers
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"workers = {workers!r} must be a whole number >= 1")
    with dask.config.set(NO_PROFILER), \
            LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


def _entry(run: Run) -> dict:
    return {"run_id": run.run_id, "point": run.point, "replicate": run.replicate, "seed": run.scenario.seed,
            "hash": run.hash, "status": "pending", "path": run.scenario.output, "error": "", "worker": "",
            **dict.fromkeys(_MEASURED, math.nan), "kpi": {}}


def read_manifest(path) -> dict[str, dict]:
    """run_id -> manifest entry (empty if the file does not exist); nulls back to NaN."""
    path = Path(path)
    if not path.exists():
        return {}

    def nan(values: dict) -> dict:
        return {k: math.nan if v is None else v for k, v in values.items()}
    return {e["run_id"]: {**e, **nan({k: e[k] for k in _MEASURED}), "kpi": nan(e["kpi"])}
            for e in json.loads(path.read_text())["runs"]}


def _write_manifest(path: Path, sweep: Sweep, entries: dict[str, dict]) -> None:
    """Atomic: a temporary file in OUT, then os.replace."""
    from cosim.report import _json_value  # NaN -> null

    def plain(e):
        return {**e, **{k: _json_value(e[k]) for k in _MEASURED},
                "kpi": {k: _json_value(v) for k, v in e["kpi"].items()}}
    doc = {"sweep": sweep.name, "seed": sweep.seed, "replicates": sweep.replicates,
           "axes": [a.name for a in sweep.axes], "runs": [plain(e) for e in entries.values()]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


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
              progress: bool = True) -> SweepResult:
    """Run sweep ``spec`` (a :class:`Sweep`, a sweep TOML path or text, or a dict) into ``out``
    (default ``results/sweeps/<name>``): the runs not done before, on a new LocalCluster of
    ``workers`` processes or on the cluster at ``scheduler``; then the tables and plots."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    sweep = load(spec)
    out = Path(out if out is not None else Path("results/sweeps") / sweep.name).resolve()
    (out / "runs").mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.json"
    before = read_manifest(manifest)
    entries, todo = {}, []
    for run in sweep.runs(out):
        old = before.get(run.run_id)
        if old and old["status"] == "done" and old["hash"] == run.hash and Path(old["path"]).exists():
            entries[run.run_id] = old
        else:
            entries[run.run_id] = _entry(run)
            todo.append(run)
    _write_manifest(manifest, sweep, entries)
    if todo:
        with client(workers, scheduler) as c:
            futures = {c.submit(execute, run.scenario, pure=False): run for run in todo}
            for fut in tqdm(as_completed(futures), total=len(todo), desc=sweep.name, unit="run",
                            disable=not progress):
                try:
                    result = fut.result()
                except Exception as exc:  # the worker died (KilledWorker) or the task was lost
                    result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                entries[futures[fut].run_id].update(result)
                fut.release()
                _write_manifest(manifest, sweep, entries)
    runs = run_table(sweep, entries.values())
    runs_path, summary_path = out / "runs.parquet", out / "summary.csv"
    runs.to_parquet(runs_path, index=False)
    table = summary(sweep, runs)
    table.to_csv(summary_path, index=False)
    plots = [plot(sweep, runs, k, out / f"{k}.png") for k in SUMMARY_KPIS if k in runs]
    return SweepResult(out, manifest, runs_path, summary_path, plots, runs, table, len(todo),
                       len(entries) - len(todo))
