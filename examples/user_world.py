"""Your own mosaik world with our grid and building simulators, each a process of its own.

    python examples/user_world.py --hours 6 --out user_world.csv

What runs (all numbers are this example's assumptions):

- ``Grid``: our pandapower grid (``python -m simulators.grid_sim``) on the network ``"area"``
  (simulators.networks.area: a 20/0.4 kV 85 kVA transformer, 5 LV feeders of 10 blocks). The
  blocks' own static loads are left out (``keep_net_loads=False``): all demand is what this
  world connects.
- ``Buildings``: our building fleet (``python -m devices.sim``, ``kind="Building"``): a heat-pump
  house at each block of feeders 0 and 1 (buses 2..21), 2 kW electric, well insulated, on their
  own thermostats, with the January weather of the TMY3 file ``tmy3-greensboro``.
- ``Bakery``: a simulator written here, the user's own: a bakery at the end of feeder 0
  (bus 11) whose ovens draw 30 kW from 03:00 to 07:00 and 2 kW otherwise.
- ``Monitor``: a collector written here; it writes every value it receives to a CSV file.

The houses and the bakery send ``p_mw``/``q_mvar`` (MW drawn, consumer convention) to their bus;
the grid's bus voltages ``vm_pu`` and its import ``p_ext_mw`` go to the monitor. The packages must
be importable by the subprocesses (``pip install -e .`` or PYTHONPATH at the repository root).
"""
from __future__ import annotations

import argparse

import mosaik
import mosaik_api_v3
import pandas as pd

START = "2024-01-15 02:00"  # a winter Monday night
STEP_S = 60
HOUSE_BUSES = list(range(2, 22))  # feeders 0 and 1 of the "area" network
BAKERY_BUS = 11  # the last block of feeder 0
WATCHED_BUSES = [1, BAKERY_BUS, 21]  # LV busbar and the ends of feeders 0 and 1

SIM_CONFIG = {
    "Grid": {"cmd": "%(python)s -m simulators.grid_sim %(addr)s"},
    "Buildings": {"cmd": "%(python)s -m devices.sim %(addr)s"},
    "Bakery": {"python": f"{__name__}:BakerySim"},
    "Monitor": {"python": f"{__name__}:MonitorSim"},
}


class BakerySim(mosaik_api_v3.Simulator):
    """The user's own simulator: a bakery's load from its opening hours (one entity)."""

    META = {"api_version": "3.0", "type": "time-based",
            "models": {"Bakery": {"public": True, "any_inputs": False,
                                  "params": ["p_oven_kw", "p_base_kw", "bake_from_h", "bake_to_h", "pf"],
                                  "attrs": ["p_mw", "q_mvar"]}}}

    def __init__(self):
        super().__init__(self.META)
        self.p_kw = 0.0

    def init(self, sid, time_resolution=1.0, start=START, step_size=STEP_S):
        self.start, self.step_size = pd.Timestamp(start), step_size
        return self.meta

    def create(self, num, model, p_oven_kw=30.0, p_base_kw=2.0, bake_from_h=3.0, bake_to_h=7.0, pf=0.95):
        self.p = dict(oven=p_oven_kw, base=p_base_kw, start=bake_from_h, end=bake_to_h, tan_phi=(1 / pf**2 - 1) ** 0.5)
        return [{"eid": "Bakery", "type": model}]

    def step(self, time, inputs, max_advance):
        now = self.start + pd.Timedelta(seconds=time)
        baking = self.p["start"] <= now.hour + now.minute / 60 < self.p["end"]
        self.p_kw = self.p["base"] + (self.p["oven"] if baking else 0.0)
        return time + self.step_size

    def get_data(self, outputs):
        p_mw = self.p_kw / 1000
        return {"Bakery": {"p_mw": p_mw, "q_mvar": p_mw * self.p["tan_phi"]}}


class MonitorSim(mosaik_api_v3.Simulator):
    """The user's own collector: every value received, written as ``<entity>.<attr>`` columns."""

    META = {"api_version": "3.0", "type": "time-based",
            "models": {"Monitor": {"public": True, "any_inputs": True, "params": [], "attrs": []}}}

    def __init__(self):
        super().__init__(self.META)
        self.rows: dict[int, dict[str, float]] = {}

    def init(self, sid, time_resolution=1.0, out="user_world.csv", step_size=STEP_S):
        self.out, self.step_size = out, step_size
        return self.meta

    def create(self, num, model):
        return [{"eid": "Monitor", "type": model}]

    def step(self, time, inputs, max_advance):
        row = self.rows.setdefault(time, {})
        for attr, sources in inputs.get("Monitor", {}).items():
            for src, value in sources.items():
                row[f"{src.split('.', 1)[1]}.{attr}"] = value  # "Grid-0.Bus_11" -> "Bus_11.vm_pu"
        return time + self.step_size

    def finalize(self):
        pd.DataFrame.from_dict(self.rows, orient="index").rename_axis("t_s").to_csv(self.out)


def main(hours: float = 6.0, out: str = "user_world.csv") -> pd.DataFrame:
    world = mosaik.World(SIM_CONFIG)
    # Our grid, by name: "ieee33", "lv", "area", "home", a SimBench code or a pandapower JSON file.
    grid = world.start("Grid", step_size=STEP_S).Grid(network="area", keep_net_loads=False)
    buses = {int(e.eid.split("_")[1]): e for e in grid.children if e.type == "Bus"}
    # Our buildings, from parameters: a scalar for every unit or a list of one value per unit.
    n = len(HOUSE_BUSES)
    houses = world.start("Buildings", step_size=STEP_S, kind="Building").Building.create(
        n, start=START, duration_s=int(hours * 3600), weather="tmy3-greensboro",
        p_hp_max_kw=2.0, rea_k_per_kw=20.0, ria_k_per_kw=25.0, aw_m2=1.0,
        t_in0_c=[20.5 + 0.05 * i for i in range(n)])
    bakery = world.start("Bakery", start=START, step_size=STEP_S).Bakery(p_oven_kw=30.0)
    monitor = world.start("Monitor", out=out, step_size=STEP_S).Monitor()

    for house, bus in zip(houses, HOUSE_BUSES):
        world.connect(house, buses[bus], "p_mw", "q_mvar")
        world.connect(house, monitor, "t_in_c", "t_out_c", "p_mw")
    world.connect(bakery, buses[BAKERY_BUS], "p_mw", "q_mvar")
    world.connect(bakery, monitor, "p_mw")
    world.connect(grid, monitor, "p_ext_mw", "p_loss_mw", "v_min_pu", "v_max_pu", "converged")
    for bus in WATCHED_BUSES:
        world.connect(buses[bus], monitor, "vm_pu", "p_mw")
    world.run(until=int(hours * 3600))  # shuts the world down and the monitor writes its file

    df = pd.read_csv(out, index_col="t_s")
    t_in = df.filter(like=".t_in_c")
    summary = pd.DataFrame({
        "t_out_c": df["Building_0.t_out_c"], "t_in_min_c": t_in.min(axis=1), "t_in_max_c": t_in.max(axis=1),
        "bakery_kw": df["Bakery.p_mw"] * 1e3, "import_kw": df["Grid.p_ext_mw"] * 1e3,
        **{f"vm_bus{b}_pu": df[f"Bus_{b}.vm_pu"] for b in WATCHED_BUSES}})
    summary.index = pd.Timestamp(START) + pd.to_timedelta(summary.index, unit="s")
    print(summary.resample("1h").mean().round(3).to_string())
    return df


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=6.0, help="simulated hours from " + START)
    parser.add_argument("--out", default="user_world.csv", help="CSV file of every value received")
    args = parser.parse_args()
    main(args.hours, args.out)
