"""Sweep machinery (cosim.sweeps) on this machine: runs per minute with 1 and 2 workers, the per-run
overhead against plain cosim.run in one process, and worker memory over many runs.

    .venv/bin/python benchmarks/bench_sweep.py [--runs 8] [--memory-runs 200]

Throughput and overhead: ``--runs`` runs of tests/small.py's SMALL scenario for 30 min with all
three stages (replicates of one point). Each variant is timed warm: the plain loop after one
untimed run, the clusters after one untimed run on every worker. Plain = ``cosim.run`` then
``cosim.kpi.compute``, one after another in this process, with the BLAS/OpenMP thread limits
Dask's nanny gives its workers (1 thread). Sweep = ``cosim.sweeps.run_sweep`` on an already
started cluster (``scheduler=``), so the figure holds scheduling, the manifest rewrites, the
run table, summary and plots, not the cluster's start (printed apart). "machinery" is the sweep's
wall time minus its tasks' own wall times (1 worker: the tasks run one after another).

Memory: ``--memory-runs`` runs of SMALL for 15 min at 5-min plant steps with a 1-h day-ahead
stage on 2 workers; every task reports its worker's resident set size after its run (rss_mb).
Prints medians and figures, no asserts.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # as Dask's nanny sets them
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from distributed import wait  # noqa: E402

from cosim import kpi, sweeps as sweep, world  # noqa: E402
from tests.small import SMALL  # noqa: E402

THROUGHPUT = {"name": "bench-throughput", "seed": 5, "set": {**SMALL, "duration_s": 1800}}
MEMORY = {"name": "bench-memory", "seed": 6,
          "set": {**SMALL, "duration_s": 900, "step_s": 300, "control.stages": ["da"],
                  "control.da": {"every_s": 3600, "dt_s": 900, "horizon_s": 3600}}}


def plain(runs: list[sweep.Run]) -> list[float]:
    """Wall time (s) of cosim.run + kpi.compute per run, in this process."""
    walls = []
    for r in runs:
        t0 = time.perf_counter()
        kpi.compute(world.run(r.scenario))
        walls.append(time.perf_counter() - t0)
    return walls


def timed_sweep(spec: dict, n_workers: int, out: Path, warm_sc) -> tuple[float, float, sweep.SweepResult]:
    """(cluster start s, sweep wall s, result) of ``spec`` on a new ``n_workers`` cluster (as
    cosim.sweep makes it), warmed by one untimed run on every worker (imports, data caches)."""
    t0 = time.perf_counter()
    with sweep.client(n_workers) as c:
        start_s = time.perf_counter() - t0
        wait([c.submit(sweep.execute, warm_sc, workers=[w], pure=False) for w in c.scheduler_info()["workers"]])
        t0 = time.perf_counter()
        res = sweep.run_sweep(spec, out=out, scheduler=c.scheduler.address, progress=False)
        return start_s, time.perf_counter() - t0, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--memory-runs", type=int, default=200, help="0: no memory part")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; output {tmp}")

    spec = {**THROUGHPUT, "replicates": args.runs}
    runs = sweep.load(spec).runs(tmp / "plain")
    warm_sc = sweep.load({**spec, "replicates": 1}).runs(tmp / "warm")[0].scenario
    plain([sweep.load({**spec, "replicates": 1}).runs(tmp / "warm-plain")[0]])
    walls = plain(runs)
    total_plain = sum(walls)
    print(f"\n{args.runs} runs of SMALL, 30 min, three stages")
    print(f"  plain cosim.run + kpi.compute, one process: median {statistics.median(walls):.2f} s/run, "
          f"total {total_plain:.1f} s ({60 * args.runs / total_plain:.2f} runs/min)")
    for n in (1, 2):
        start_s, wall, res = timed_sweep(spec, n, tmp / f"sweep{n}", warm_sc)
        task = res.runs.wall_s.to_numpy(float)
        print(f"  sweep, {n} worker{'s' * (n > 1)}: {wall:.1f} s = {60 * args.runs / wall:.2f} runs/min "
              f"(cluster start {start_s:.1f} s apart); task median {np.median(task):.2f} s/run; "
              f"{res.failed} failed")
        if n == 1:
            per_run = (wall - total_plain) / args.runs
            print(f"    overhead vs plain: {per_run:+.2f} s/run, sweep/plain = {wall / total_plain:.3f} "
                  f"(task median / plain median = {np.median(task) / statistics.median(walls):.3f}); "
                  f"machinery (sweep wall - sum of task walls) {(wall - task.sum()) / args.runs:.2f} s/run "
                  f"= {wall / task.sum() - 1:+.1%}")

    if not args.memory_runs:
        return
    mem = {**MEMORY, "replicates": args.memory_runs}
    t0 = time.perf_counter()
    res = sweep.run_sweep(mem, out=tmp / "memory", workers=2, progress=False)
    wall = time.perf_counter() - t0
    print(f"\nmemory: {args.memory_runs} runs of SMALL, 15 min at 5-min steps, 1-h day-ahead stage, 2 workers: "
          f"{wall:.0f} s with cluster start ({60 * args.memory_runs / wall:.1f} runs/min), "
          f"{res.failed} failed")
    for worker, g in res.runs.sort_values("finished_unix_s").groupby("worker"):
        rss = g.rss_mb.to_numpy(float)
        half = rss[len(rss) // 2:]
        slope = np.polyfit(np.arange(len(half)), half, 1)[0] * 100 if len(half) > 2 else float("nan")
        print(f"  {worker}: {len(rss)} runs, RSS after run 1 {rss[0]:.0f} MB, after run 10 "
              f"{rss[min(9, len(rss) - 1)]:.0f} MB, max {rss.max():.0f} MB, last {rss[-1]:.0f} MB; "
              f"slope over the second half {slope:+.1f} MB per 100 runs")


if __name__ == "__main__":
    main()
