"""Command line: ``cosim run`` (the main job)."""
from __future__ import annotations

import argparse
import sys

from cosim.errors import CosimError


def _run(args) -> int:
    from cosim.plant import PlantSpec, run_plant

    spec = PlantSpec(network=args.network, start=args.start, duration_s=int(args.hours * 3600),
                     step_s=args.step_s, seed=args.seed)
    print(f"cosim: plant-only run, network {spec.network}, start {spec.start}, "
          f"{args.hours:g} h at {spec.step_s} s steps, seed {spec.seed} (local control everywhere)")
    res = run_plant(spec, progress=not args.quiet)
    s = res["summary"]
    print(f"\nmeasured over the run (build {res['build_s']:.1f} s, total wall {res['wall_s']:.1f} s):")
    width = max(map(len, s))
    for key, value in s.items():
        print(f"  {key:<{width}}  {value:12.4f}" if isinstance(value, float) else f"  {key:<{width}}  {value:12d}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="cosim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the default plant for a day and print what it measured")
    run.add_argument("--network", default="ieee33", help="ieee33 (default) or lv")
    run.add_argument("--start", default="2024-01-15 00:00", help="calendar start (local time)")
    run.add_argument("--hours", type=float, default=24.0, help="duration in hours")
    run.add_argument("--step-s", dest="step_s", type=int, default=60, help="plant step in seconds")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except CosimError as exc:
        print(f"cosim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
