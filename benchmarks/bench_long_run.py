"""A multi-day run of the default scenario: wall time and peak memory per simulated day.

Runs ``cosim run --hours 24*DAYS`` as a child process and samples, every ``--every`` seconds, its
resident memory (psutil, the child and its children) and how far it got (the length of the
partial record's ``plant/Grid/time_s``, read without locking while it is written). Prints per
simulated day: the wall time it took, the peak RSS while it ran, and the day-ahead decisions made
in it (one expected per day); then the whole run's wall time and the record's size. Flat memory
means the peak RSS of day 7 is within a few per cent of day 2's.

    .venv/bin/python benchmarks/bench_long_run.py [--days 7] [--scenario FILE] [--every 2]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from cosim.record import partial_paths, read

DAY_S = 86400


def rss_mb(proc: psutil.Process) -> float:
    try:
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


def progress_s(out: Path) -> float:
    """Simulated seconds written to the partial record so far (NaN before it exists / mid-write)."""
    try:
        path = partial_paths(out)[0]
        t = read(path, "plant/Grid", "p_ext_mw").index
        return float((t[-1] - t[0]).total_seconds()) if len(t) else 0.0
    except (IndexError, OSError, KeyError, ValueError, RuntimeError):
        return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--scenario", help="scenario TOML (default: the shipped default)")
    ap.add_argument("--every", type=float, default=2.0, help="sampling interval (s)")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp()) / "long.h5"
    cmd = [sys.executable, "-m", "cosim.cli", "run", *([args.scenario] if args.scenario else []),
           "--hours", str(24 * args.days), "--out", str(out), "--quiet"]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    samples = []  # (wall_s, simulated_s, rss_mb)
    while child.poll() is None:
        samples.append((time.perf_counter() - t0, progress_s(out), rss_mb(proc)))
        time.sleep(args.every)
    wall = time.perf_counter() - t0
    if child.returncode:
        sys.exit(f"cosim run failed ({child.returncode}):\n{child.stdout.read()}")
    s = np.array(samples)
    sim = np.fmax.accumulate(np.nan_to_num(s[:, 1], nan=0.0))
    da = read(out, "control/da").index.to_numpy() if "control/da" in read(out).groups() else np.array([])
    print(f"{args.days}-day run of {args.scenario or 'the default scenario'}: wall {wall:.0f} s, "
          f"record {out.stat().st_size / 2**20:.1f} MB, {len(samples)} samples")
    print(f"{'day':>4} {'wall_s':>8} {'peak_rss_mb':>12} {'da_decisions':>13}")
    prev_wall = 0.0
    for d in range(args.days):
        in_day = (sim >= d * DAY_S) & (sim < (d + 1) * DAY_S)
        end_wall = s[in_day, 0].max() if in_day.any() else float("nan")
        if d == args.days - 1:
            end_wall = wall
        peak = np.nanmax(s[in_day, 2]) if in_day.any() else float("nan")
        n_da = int(((da >= d * DAY_S) & (da < (d + 1) * DAY_S)).sum())
        print(f"{d + 1:>4} {end_wall - prev_wall:>8.0f} {peak:>12.0f} {n_da:>13}")
        prev_wall = end_wall


if __name__ == "__main__":
    main()
