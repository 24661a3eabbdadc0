"""Construction time and seconds per plant step of every fleet model, for 10/100/1000 units.

Run: .venv/bin/python benchmarks/bench_plant.py
One day of 60 s steps on Greensboro TMY3 weather and SimBench profiles; each row is the median
step time over the day with random setpoints (NaN = local control for buildings and heat hubs);
construction is timed once after a warm-up that fills the data caches. The grid's power flow
has its own script, benchmarks/bench_grid.py.
"""
import time

import numpy as np
import pandas as pd

from simulators import data
from simulators.building import BuildingFleet
from simulators.ev import EVFleet, sample_sessions
from simulators.heat_hub import HeatHubFleet
from simulators.loads import BaseLoadFleet
from simulators.microturbine import MicroTurbineFleet
from simulators.pv import PVFleet
from simulators.storage import BatteryFleet
from simulators.wind import WindFleet

START = pd.Timestamp("2024-01-15")
DAY_S = 86400
DT_S = 60


def median_step_s(fleet, inputs_at) -> float:
    """Median wall time of ``fleet.step`` over one day; ``inputs_at(n)`` draws the setpoints."""
    times = []
    for k in range(DAY_S // DT_S):
        inputs = inputs_at(fleet.n)
        t0 = time.perf_counter()
        fleet.step(k * DT_S, DT_S, inputs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def cases(n: int, rng: np.random.Generator, weather: data.Weather) -> dict:
    """name -> (constructor, setpoint generator) for ``n`` units."""
    nan = {k: np.full(n, np.nan) for k in ("p_hp_kw", "p_eh_kw", "p_st_kw", "q_rel_kw")}
    demand = pd.DataFrame(np.full((DAY_S // 3600 + 1, n), 3.0), index=np.arange(0, DAY_S + 1, 3600))
    uniform = lambda lo, hi, **fixed: lambda m: {"p_set_kw": rng.uniform(lo, hi, m), **fixed}  # noqa: E731
    return {
        "building": (lambda: BuildingFleet(n, weather.frame, start=START, p_st_max_kw=4.0,
                                           e_st_max_kwh=28.0, q_rel_max_kw=3.0), lambda m: nan),
        "heat hub": (lambda: HeatHubFleet(n, demand),
                     lambda m: {k: np.full(m, np.nan) for k in HeatHubFleet.INPUTS}),
        "ev": (lambda: EVFleet(n, sample_sessions(n, 2, rng), p_discharge_max_kw=7.4), uniform(-8, 11)),
        "battery": (lambda: BatteryFleet(n, self_discharge_per_h=1e-4), uniform(-60, 60)),
        "microturbine": (lambda: MicroTurbineFleet(n), uniform(0, 65, on=np.ones(n))),
        "pv": (lambda: PVFleet(n, weather, rng.uniform(3, 10, n), tilt_deg=rng.uniform(10, 45, n)),
               lambda m: {"p_max_kw": rng.uniform(0, 5, m), "q_set_kvar": rng.uniform(-5, 5, m)}),
        "wind": (lambda: WindFleet(n, weather, rng.uniform(100, 2000, n)),
                 lambda m: {"p_max_kw": rng.uniform(0, 500, m), "q_set_kvar": rng.uniform(-500, 500, m)}),
        "loads": (lambda: BaseLoadFleet(n, rng.uniform(3, 6, n), profile_pu=data.load_profiles(
            START, DAY_S, DT_S, data.household_mix(n))), lambda m: {}),
    }


def main():
    rng = np.random.default_rng(0)
    data.load_profiles(START, DAY_S, DT_S, data.HOUSEHOLD_KINDS)  # fill the SimBench cache
    t0 = time.perf_counter()
    weather = data.weather(START, DAY_S, DT_S)
    print(f"weather (1 day, 60 s): {time.perf_counter() - t0:.3f} s")
    print(f"{'model':<14}{'units':>7}{'build s':>10}{'s/step (median)':>18}{'us/unit-step':>14}")
    for n in (10, 100, 1000):
        for name, (build, inputs_at) in cases(n, rng, weather).items():
            t0 = time.perf_counter()
            fleet = build()
            t_build = time.perf_counter() - t0
            s = median_step_s(fleet, inputs_at)
            print(f"{name:<14}{n:>7}{t_build:>10.3f}{s:>18.2e}{s / n * 1e6:>14.2f}")


if __name__ == "__main__":
    main()
