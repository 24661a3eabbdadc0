"""Seconds per plant step of the building fleet (3R2C + heat pump + TSEH) and the heat hub.

Run: .venv/bin/python benchmarks/bench_building.py   (prints medians of repeated timings)
"""
import time

import numpy as np
import pandas as pd

from simulators.building import BuildingFleet
from simulators.heat_hub import HeatHubFleet


def median_step_s(fleet, steps=200, dt_s=60):
    inputs = {k: np.full(fleet.n, np.nan) for k in fleet.INPUTS}
    times = []
    for k in range(steps):
        t0 = time.perf_counter()
        fleet.step(k * dt_s, dt_s, inputs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    idx = np.arange(0, 2 * 86400 + 1, 3600)
    weather = pd.DataFrame({"t_out_c": np.linspace(-5, 5, len(idx)), "ghi_w_m2": 100.0}, index=idx)
    print(f"{'model':<12}{'units':>8}{'s/step (median)':>18}{'us/unit-step':>14}")
    for n in (10, 100, 1000):
        b = BuildingFleet(n, weather, p_st_max_kw=2.0, e_st_max_kwh=14.0, q_rel_max_kw=2.0)
        s = median_step_s(b)
        print(f"{'building':<12}{n:>8}{s:>18.2e}{s / n * 1e6:>14.2f}")
    for n in (10, 100, 1000):
        h = HeatHubFleet(n, pd.DataFrame(np.full((len(idx), n), 3.0), index=idx))
        s = median_step_s(h)
        print(f"{'heat hub':<12}{n:>8}{s:>18.2e}{s / n * 1e6:>14.2f}")


if __name__ == "__main__":
    main()
