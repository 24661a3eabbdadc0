"""Batch sweeps and robustness studies on Dask distributed: many runs, one table.

``cosim.sweep(spec, out=None, workers=None, scheduler=None, progress=True)`` (:func:`run_sweep`)
runs every run of a sweep and returns a :class:`SweepResult`. ``cosim sweep SWEEP.toml`` is the command line form.

Sweep file (TOML; ``base`` is relative to the file)::

    name = "noise-robustness"      # [A-Za-z0-9_.-]+; default output folder results/sweeps/<name>
    base = "../default.toml"       # the base scenario; absent = the default Scenario()
    seed = 2024                    # sweep seed (>= 0, default 0)
    replicates = 20                # >= 1 (default 1)
    [set]                          # dotted overrides applied to every run (Scenario.updated keys)
    duration_h = 6
    [[axis]]                       # an axis: a dotted key and its values ...
    name = "noise"
    key = "forecast.error_scale"
    values = [0, 0.5, 1, 2]
    [[axis]]                       # ... or listed points, each a label and its own overrides
    name = "controller"
    points = [{label = "three-stage", set = {"control.stages" = ["da", "id", "rt"]}},
              {label = "day-ahead", set = {"control.stages" = ["da"]}}]

Nested tables are dotted keys (``set = {control = {stages = ["da"]}}`` is ``"control.stages"``),
so an override never replaces a whole table. ``seed`` and ``output`` belong to the sweep and may
not be set. Axes combine as a grid product (first axis slowest); every point's scenario is built
and validated before any run starts (a ConfigError names the sweep field or the point).

Seeds (common random numbers): ``np.random.SeedSequence(seed).spawn(replicates)``; replicate r's
scenario seed is ``int(child_r.generate_state(1)[0])``, the same for every point of the sweep, so
within a replicate the alternatives see the same truth and forecast errors (cosim_base.seeds), and
replicate r keeps its seed when ``replicates`` grows.

One Dask task per run (``pure=False``): :func:`execute` runs ``cosim.world.run`` (the record goes
to ``OUT/runs/<run_id>.h5``) and ``cosim.kpi.compute`` and returns a small dict; an exception is a
result (status ``failed`` and its text), never the sweep's end. Default cluster: a
``distributed.LocalCluster`` of ``workers`` (default: the machine's cores) single-threaded
processes without Dask's statistical profiler (:data:`CLUSTER_CONFIG`: it grew the workers' memory
run by run); ``scheduler="tcp://host:port"`` uses an existing cluster instead (start its workers
with ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` and ``--nthreads 1`` for the same).
On a batch cluster, ``jobqueue="slurm"`` or ``"pbs"`` with ``jobs=N`` (the optional extra
``cosim[jobqueue]``, dask-jobqueue) submits N batch jobs of one single-threaded worker each, the
job options (``queue``, ``account``, ``walltime``, ``memory``) passed through
(:func:`jobqueue_cluster`); run it on the cluster's login node.
Dask starts local workers by spawning: a script that calls :func:`run_sweep` needs the
``if __name__ == "__main__":`` guard.

Output folder OUT:

- ``manifest.jsonl``: an append-only log, one JSON object a line: a header per invocation
  (``sweep``, ``seed``, ``replicates``, ``axes``, ``started_unix_s``), then a line per run when
  it is scheduled (``pending``) and when it ends (``done`` / ``failed``): ``run_id``, ``point``
  (axis -> value), ``replicate``, ``seed``, ``hash`` (sha256 of the run's scenario TOML without
  its output path: the content only), ``status``, ``path`` (relative to OUT), ``error``,
  ``wall_s``, ``worker``, ``rss_mb`` (the worker process's resident memory after the run),
  ``finished_unix_s`` and ``kpi``. A run's last line is its state (:func:`read_manifest`); a torn
  last line is skipped. Running the same sweep into the same OUT (or the folder moved elsewhere)
  again skips runs whose hash is done and whose record exists, and retries the rest. Ctrl-C
  cancels the runs not finished and raises KeyboardInterrupt; what finished stays done.
- ``runs.parquet``: one row per run: run_id, the axes, the other manifest fields and every KPI
  column (``pd.read_parquet(OUT / "runs.parquet")``).
- ``summary.csv``: one row per point: the axes, ``n`` (done runs), ``failed`` and, for each of
  :data:`SUMMARY_KPIS`, ``<kpi>_mean``, ``_std`` (ddof 1), ``_q05``, ``_q50``, ``_q95`` and
  ``_cvar95`` (the mean of the worst 5 % of the replicates, the largest values, at least one run).
- ``<kpi>.png`` for each of :data:`SUMMARY_KPIS`: box plots of the replicates against the first
  numeric axis (else the first axis), one series (colour, mean line) per combination of the others.
"""
from __future__ import annotations

from cosim.sweeps.results import cvar, describe, plot, run_table, summary
from cosim.sweeps.run import JOBQUEUES, SweepResult, client, execute, jobqueue_cluster, read_manifest, run_sweep
from cosim.sweeps.spec import (CVAR_TAIL, CLUSTER_CONFIG, RUN_FIELDS, SUMMARY_KPIS, Axis, Run, Sweep, config_hash, load,
                               replicate_seeds)

__all__ = ["Axis", "Run", "Sweep", "SweepResult", "load", "run_sweep", "client", "execute", "read_manifest",
           "jobqueue_cluster", "JOBQUEUES",
           "run_table", "summary", "plot", "cvar", "describe", "config_hash", "replicate_seeds", "SUMMARY_KPIS",
           "CVAR_TAIL", "RUN_FIELDS", "CLUSTER_CONFIG"]
