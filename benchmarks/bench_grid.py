"""Median wall time of one GridModel step per power-flow backend, IEEE 33 and the LV feeder.

Run: ``.venv/bin/python benchmarks/bench_grid.py [--steps 20] [--repeats 7]``.
Each configuration steps a fresh model through the same random injection sequence (10 % noise
on the base loads, the held controls unchanged, as between OLTC/CB moves); repeats are
interleaved over configurations so that load from other processes hits all alike. Also prints the
largest deviation of ``vm_pu`` and ``p_loss_mw`` from the plain pandapower run, which must stay
below 1e-9 for a backend to be usable. ``direct``: GridModel's direct lightsim2grid path (no
pandapower tables between full runs).
"""
from __future__ import annotations

import argparse
import importlib.util
import time
import warnings

import numpy as np

from simulators.grid import BACKENDS, GridModel
from simulators.networks import bus_table, ieee33, lv_feeder

NETWORKS = {"ieee33": lambda: ieee33(transformer=True), "lv_rural3": lv_feeder}


def injections(net, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(steps, n_bus) draws: the net's base loads times (1 + 10 % normal noise)."""
    table = bus_table(net)
    noise = 1 + 0.1 * np.random.default_rng(seed).standard_normal((steps, len(table)))
    return noise * table.p_load_mw.to_numpy(), noise * table.q_load_mvar.to_numpy()


def run(make_net, backend: str, recycle: bool, direct: bool, p: np.ndarray, q: np.ndarray):
    """Seconds per step (excluding the first, cold one) and the last step's results."""
    model = GridModel(make_net(), backend=backend, recycle=recycle, direct=direct)
    out = model.step(p[0], q[0])
    t0 = time.perf_counter()
    for k in range(1, len(p)):
        out = model.step(p[k], q[k])
    return (time.perf_counter() - t0) / (len(p) - 1), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    has_numba = importlib.util.find_spec("numba") is not None
    backends = [b for b, o in BACKENDS.items() if has_numba or not o["numba"]]
    if not has_numba:
        print("numba is not installed: its backends are skipped")
    configs = [(b, r, False) for b in backends for r in (False, True)]
    configs += [(b, True, True) for b in backends if BACKENDS[b]["lightsim2grid"]]  # the direct path
    for name, make in NETWORKS.items():
        p, q = injections(make(), args.steps)
        times = {c: [] for c in configs}
        results = {}
        for _ in range(args.repeats):
            for c in configs:
                dt, results[c] = run(make, *c, p, q)
                times[c].append(dt)
        ref = results[("pandapower", False, False)]
        print(f"\n{name}: {len(p[0])} buses, {args.steps} steps x {args.repeats} repeats")
        print(f"{'backend':22s}{'recycle':>8s}{'direct':>8s}{'median s/step':>15s}{'max |dvm|':>12s}{'|dloss| MW':>12s}")
        for c in configs:
            r = results[c]
            dvm = np.max(np.abs(r["vm_pu"] - ref["vm_pu"]))
            dloss = abs(r["p_loss_mw"] - ref["p_loss_mw"])
            print(f"{c[0]:22s}{c[1]!s:>8s}{c[2]!s:>8s}{np.median(times[c]):15.5f}{dvm:12.1e}{dloss:12.1e}")


if __name__ == "__main__":
    main()
