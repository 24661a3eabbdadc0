"""Seconds per plant step of the EV, battery and micro-turbine fleets.

Run: .venv/bin/python benchmarks/bench_ev.py   (prints medians over one simulated day of 60 s steps)
EVs follow sampled sessions over a week with random setpoints between V2G and full charge, so
plugged-in, driving and departing EVs all occur.
"""
import time

import numpy as np

from simulators.ev import EVFleet, sample_sessions
from simulators.microturbine import MicroTurbineFleet
from simulators.storage import BatteryFleet


def median_step_s(fleet, rng, lo_kw, hi_kw, steps=1440, dt_s=60, **fixed):
    times = []
    for k in range(steps):
        inputs = {"p_set_kw": rng.uniform(lo_kw, hi_kw, fleet.n), **fixed}
        t0 = time.perf_counter()
        fleet.step(k * dt_s, dt_s, inputs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    rng = np.random.default_rng(0)
    print(f"{'model':<14}{'units':>8}{'s/step (median)':>18}{'us/unit-step':>14}")
    for n in (10, 100, 1000):
        cases = {
            "ev": (EVFleet(n, sample_sessions(n, 7, rng), p_discharge_max_kw=7.4), -8, 11, {}),
            "battery": (BatteryFleet(n, self_discharge_per_h=1e-4), -60, 60, {}),
            "microturbine": (MicroTurbineFleet(n), 0, 65, {"on": np.ones(n)}),
        }
        for name, (fleet, lo, hi, fixed) in cases.items():
            s = median_step_s(fleet, rng, lo, hi, **fixed)
            print(f"{name:<14}{n:>8}{s:>18.2e}{s / n * 1e6:>14.2f}")


if __name__ == "__main__":
    main()
