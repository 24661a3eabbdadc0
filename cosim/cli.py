"""Command line: ``cosim run [SCENARIO.toml]`` runs a scenario and prints its summary."""
from __future__ import annotations

import argparse
import sys
import time

from cosim.errors import CosimError


def _run(args) -> int:
    from cosim import kpi, world
    from cosim.scenario import Scenario, load

    sc = load(args.scenario) if args.scenario else Scenario()
    if args.hours is not None:
        sc = sc.updated({"duration_s": int(round(args.hours * 3600))})
    stages = ", ".join(sc.control.stages) or "none (local control everywhere)"
    print(f"cosim: {sc.name}: network {sc.network}, start {sc.start}, {sc.duration_s / 3600:g} h at "
          f"{sc.step_s} s steps, stages {stages}, seed {sc.seed if args.seed is None else args.seed}")
    t0 = time.perf_counter()
    path = world.run(sc, out=args.out, seed=args.seed, progress=not args.quiet)
    wall = time.perf_counter() - t0
    s = kpi.summary(path)
    print(f"\nrecord: {path}  (wall {wall:.1f} s)")
    width = max(map(len, s))
    for key, value in s.items():
        print(f"  {key:<{width}}  {value:14.4f}" if isinstance(value, float) else f"  {key:<{width}}  {value:14d}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="cosim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario (default: the shipped IEEE 33 winter day) into an HDF5 record")
    run.add_argument("scenario", nargs="?", help="scenario TOML file (default: scenarios/default.toml's content)")
    run.add_argument("--out", help="HDF5 path (default: the scenario's output)")
    run.add_argument("--seed", type=int, help="scenario seed override")
    run.add_argument("--hours", type=float, help="duration override in hours")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except CosimError as exc:
        print(f"cosim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
