"""Wall time of a closed-loop run split into Clarabel, power flow and the rest.

Runs a scenario (default: the shipped IEEE 33 winter day, all three stages) through
cosim.world.run and prints:
  total        wall time of world.run (build included)
  build        building the parts before the clock starts (fleets, forecaster, compiled OPFs)
  opf          wall time of every OPFProblem.solve call (from the record): Clarabel plus cvxpy/data glue
  clarabel     Clarabel's own reported solve time, summed (it counts its setup and, measured here,
               can exceed the wall time of the call that contains it; shown for reference only)
  power_flow   time inside simulators.grid.GridModel.step (AC power flow per plant step)
  rest         total - opf - power_flow (mosaik, plant models, controller glue, forecasts, HDF5)
  per stage    median wall time and Clarabel iterations of a solve; the largest relaxation gap
Each path (``--paths``: ``reference``, one OPF row per unit; ``aggregated``, identical buildings of
a bus as one row, control.aggregate) runs the same scenario, and the KPIs are set side by side: the
fast path's cost within 0.5 % of the reference's, voltage violations, discomfort and EV energy
missing no worse (issue 13).
Beside it, in the same run, the peer a user would otherwise pick: pandapower's own
``run_timeseries`` of the same feeder over the same steps with no controller at all (per-bus loads
set from the recorded bus draws by ConstControl, the same power flow options as the plant's grid),
and the ratio of the closed loop's wall time to it (issue 13's goal: within 3x).

    .venv/bin/python benchmarks/bench_closed_loop.py [--hours 24] [--scenario FILE] [--plant]

``--plant`` adds the plant alone: the same scenario and steps with no controller, the floor the
closed loop's part outside the OPF is measured against.
"""
from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import pandas as pd

from cosim import world
from cosim.record import read
from cosim.scenario import Scenario, load
from simulators.grid import GridModel


def peer_timeseries(net, p_mw, q_mvar) -> float:
    """Wall time (s) of pandapower's run_timeseries of ``net`` with per-bus loads ``p_mw``/``q_mvar``
    (steps x buses, the net's bus order) and no controller; the net's own loads are off."""
    import pandapower as pp
    from pandapower.control import ConstControl
    from pandapower.timeseries import DFData, OutputWriter, run_timeseries

    from simulators.grid import BACKENDS

    net = copy.deepcopy(net)
    net.load["in_service"] = False
    loads = pp.create_loads(net, net.bus.index, p_mw=0.0, q_mvar=0.0)
    n = p_mw.shape[0]
    cols = [str(i) for i in range(len(net.bus))]
    ConstControl(net, "load", "p_mw", loads, cols, DFData(pd.DataFrame(p_mw, columns=cols)))
    ConstControl(net, "load", "q_mvar", loads, cols, DFData(pd.DataFrame(q_mvar, columns=cols)))
    OutputWriter(net, output_path=None, log_variables=[("res_bus", "vm_pu"), ("res_line", "loading_percent")])
    t0 = time.perf_counter()
    run_timeseries(net, time_steps=range(n), verbose=False, **BACKENDS["lightsim2grid"],
                   voltage_depend_loads=False, calculate_voltage_angles=True)
    return time.perf_counter() - t0


class Timed:
    """Accumulates the wall time of calls to a method (patched for the benchmark only)."""

    def __init__(self, cls, name):
        self.cls, self.name, self.orig, self.total_s, self.calls = cls, name, getattr(cls, name), 0.0, 0

    def __enter__(self):
        orig = self.orig

        def wrapped(obj, *a, **kw):
            t0 = time.perf_counter()
            try:
                return orig(obj, *a, **kw)
            finally:
                self.total_s += time.perf_counter() - t0
                self.calls += 1
        setattr(self.cls, self.name, wrapped)
        return self

    def __exit__(self, *exc):
        setattr(self.cls, self.name, self.orig)


#: KPIs set side by side (cosim.kpi): the fast path may not be worse on any (cost within 0.5 %).
COMPARED = ("cost_total", "v_violation_bus_steps", "discomfort_kh", "ev_missing_kwh", "ev_missing_feasible_kwh")
#: The paths: the reference model (one row per unit) and identical buildings aggregated.
PATHS = {"reference": {"control.aggregate": False}, "aggregated": {"control.aggregate": True}}


def run_path(sc: Scenario) -> tuple[dict, object]:
    """Run ``sc``; its wall-time split, per-stage solve medians, KPIs and built parts."""
    from cosim import kpi

    with Timed(GridModel, "step") as pf:
        t0 = time.perf_counter()
        parts = world.build_parts(sc)
        build_s = time.perf_counter() - t0
        world.run_parts(parts)
        total = time.perf_counter() - t0
    rec = read(sc.output_path())
    clarabel = opf_wall = 0.0
    gap = 0.0
    solves = {}
    for stage in ("da", "id", "rt"):
        if f"control/{stage}" in rec.groups():
            ev = rec.events(f"control/{stage}")
            clarabel += ev.solve_time_s.sum()
            opf_wall += ev.wall_time_s.sum()
            gap = max(gap, float(ev.gap_rel.max()))
            solves[stage] = (len(ev), ev.solve_time_s.median(), ev.wall_time_s.median(), ev.iterations.median())
    out = {"total": total, "build": build_s, "opf": opf_wall, "clarabel": clarabel, "power_flow": pf.total_s,
           "rest": total - opf_wall - pf.total_s, "flows": pf.calls, "solves": solves, "gap": gap,
           "kpi": kpi.compute(rec), "rec": rec}
    return out, parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--scenario", help="scenario TOML (default: the shipped default)")
    ap.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    ap.add_argument("--plant", action="store_true",
                    help="also the plant alone: the same scenario with no controller (control.stages = [])")
    args = ap.parse_args()
    base = load(args.scenario) if args.scenario else Scenario()
    tmp = Path(tempfile.mkdtemp())
    res, parts = {}, None
    for name in args.paths:
        sc = base.updated({**PATHS[name], "duration_s": int(args.hours * 3600), "output": str(tmp / f"{name}.h5")})
        res[name], parts = run_path(sc)
    print(f"scenario {base.name}: {args.hours:g} h, stages {','.join(base.control.stages) or 'none'}")
    names = list(res)
    print(f"  {'':24s}" + "".join(f"{n:>14s}" for n in names))
    for key in ("total", "build", "opf", "clarabel", "power_flow", "rest"):
        print(f"  {key + ' (s)':24s}" + "".join(f"{res[n][key]:14.1f}" for n in names))
    print(f"  {'solver share':24s}" + "".join(f"{100 * res[n]['opf'] / res[n]['total']:13.1f}%" for n in names))
    for stage in ("da", "id", "rt"):
        if all(stage in res[n]["solves"] for n in names):
            print(f"  {stage + ' median (s)':24s}" + "".join(f"{res[n]['solves'][stage][2]:14.3f}" for n in names))
            print(f"  {stage + ' iterations':24s}" + "".join(f"{res[n]['solves'][stage][3]:14.0f}" for n in names))
    print(f"  {'max relaxation gap':24s}" + "".join(f"{res[n]['gap']:14.2g}" for n in names))
    for key in COMPARED:
        print(f"  {key:24s}" + "".join(f"{res[n]['kpi'].get(key, float('nan')):14.4g}" for n in names))
    if len(names) > 1:
        ref, fast = res[names[0]], res[names[-1]]
        dc = 100 * (fast["kpi"]["cost_total"] - ref["kpi"]["cost_total"]) / abs(ref["kpi"]["cost_total"])
        worse = [k for k in COMPARED[1:] if fast["kpi"].get(k, 0) > ref["kpi"].get(k, 0) + 1e-6]
        print(f"  {names[-1]} vs {names[0]}: wall {fast['total'] / ref['total']:.2f}x, cost {dc:+.2f} % "
              f"(goal within 0.5 %), worse on: {', '.join(worse) or 'none'}")
    rec = res[names[-1]]["rec"]
    p = rec.series("plant/Bus", "p_mw")
    p = p[sorted(p.columns, key=lambda c: int(c.split("_")[1]))]
    q = rec.series("plant/Bus", "q_mvar")[p.columns]
    peer = peer_timeseries(parts.net, p.to_numpy(), q.to_numpy())
    print(f"peer: pandapower run_timeseries of the same feeder, {len(p)} steps, no controller: {peer:.1f} s; "
          + ", ".join(f"{n} / peer = {res[n]['total'] / peer:.1f}x" for n in names) + " (goal <= 3x)")
    if args.plant:
        alone, _ = run_path(base.updated({"control.stages": [], "duration_s": int(args.hours * 3600),
                                          "output": str(tmp / "plant.h5")}))
        print(f"plant alone (no controller; mosaik, the fleets in one DevicesSim, power flow, record): "
              f"{alone['total']:.1f} s (build {alone['build']:.1f}, power flow {alone['power_flow']:.1f}, "
              f"rest {alone['rest']:.1f}), {alone['total'] / peer:.1f}x the peer")


if __name__ == "__main__":
    main()
