"""Construction time and seconds per plant step of the PV, wind and base-load fleets.

Run: .venv/bin/python benchmarks/bench_renewables.py   (one day of 60 s steps on Greensboro TMY3
weather and SimBench household profiles; medians over the day, construction timed once after a
warm-up that fills the data caches). PV units get distinct tilts, the worst case for the
irradiance transposition.
"""
import time

import numpy as np
import pandas as pd

from simulators import data
from simulators.loads import BaseLoadFleet
from simulators.pv import PVFleet
from simulators.wind import WindFleet

START = pd.Timestamp("2021-04-17")
DAY_S = 86400
DT_S = 60


def timed(build):
    t0 = time.perf_counter()
    obj = build()
    return obj, time.perf_counter() - t0


def median_step_s(fleet, rng, p_max_kw=None):
    times = []
    for k in range(DAY_S // DT_S):
        inputs = fleet.default_inputs()
        if p_max_kw is not None:
            inputs["p_max_kw"] = rng.uniform(0, p_max_kw, fleet.n)
            inputs["q_set_kvar"] = rng.uniform(-p_max_kw, p_max_kw, fleet.n)
        t0 = time.perf_counter()
        fleet.step(k * DT_S, DT_S, inputs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    rng = np.random.default_rng(0)
    weather = data.weather(START, DAY_S, DT_S)
    data.load_profiles(START, DAY_S, DT_S, data.HOUSEHOLD_KINDS)  # fill the SimBench cache
    _, t_weather = timed(lambda: data.weather(START, DAY_S, DT_S))
    print(f"weather (1 day, 60 s): {t_weather:.3f} s")
    print(f"{'model':<8}{'units':>7}{'build s':>10}{'s/step (median)':>18}{'us/unit-step':>14}")
    for n in (10, 100, 1000):
        cases = {
            "pv": (lambda: PVFleet(n, weather, rng.uniform(3, 10, n),
                                   tilt_deg=rng.uniform(10, 45, n)), 5.0),
            "wind": (lambda: WindFleet(n, weather, rng.uniform(100, 2000, n)), 500.0),
            "loads": (lambda: BaseLoadFleet(n, rng.uniform(3, 6, n), profile_pu=data.load_profiles(
                START, DAY_S, DT_S, data.household_mix(n))), None),
        }
        for name, (build, p_max_kw) in cases.items():
            fleet, t_build = timed(build)
            s = median_step_s(fleet, rng, p_max_kw)
            print(f"{name:<8}{n:>7}{t_build:>10.3f}{s:>18.2e}{s / n * 1e6:>14.2f}")


if __name__ == "__main__":
    main()
