"""Seed 001: multi-timescale dispatch of IEEE 33 with TSEH clusters (scenarios/seed001.toml).

The paper (Zhang, Yu, Li, Li) dispatches a modified IEEE 33-node feeder (OLTC, capacitor banks,
SVC, wind, micro-turbines, batteries, TSEH clusters; band 0.94-1.06 p.u.; time-of-use price) in a
day-ahead (1 h), intraday (15 min, hourly) and real-time (5 min) stage and reports (its Table 2):
total cost -8.71 %, grid interaction cost -10.84 % and loss cost -47.41 % with TSEH taking part
against without; total cost -3.91 % (intraday) and -4.59 % (real-time) against day-ahead only, grid
interaction cost -5.34 % and -9.25 %; no voltage outside the band in real time.

Cases, all on the scenario's seed (same weather, loads and forecast errors):

  no_tseh    all three stages, TSEH left to its own night-valley timer and thermostat
             (control.passive = ["tseh"]): "without TSEH participation"
  with_tseh  all three stages dispatching TSEH too: "with TSEH", and the ladder's third rung
  da         day-ahead stage only (its plan carried out open loop over the day)
  da_id      day-ahead and intraday stages

Mapping to our KPIs (cosim.kpi, the true plant's record):

  total cost              kpi ``cost_total`` (grid at the tariff + MT fuel + ESS cycling +
                          discomfort; the paper's has TSEH compensation and deviation costs instead
                          of discomfort)
  grid interaction cost   kpi ``cost_grid`` (import and export at the time-of-use tariff)
  loss cost               :func:`loss_cost`: the true network losses priced at the tariff's buy
                          price of their step (the paper prices losses at a "network loss price";
                          kpi ``cost_losses`` is 0 here since losses are already paid through the
                          import)
  voltage in real time    kpi ``v_violation_bus_steps`` of ``with_tseh`` (feeder buses outside
                          0.94-1.06 p.u. at the 1-min plant step)

Assumptions: the paper's device, building and price tables are not in its text; every size and
price is assumed in scenarios/seed001.toml (est., with reasons there). Absolute costs are in the
currency of the assumed tariff and are not comparable with the paper's yuan; the changes in % are.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.record import read
from cosim.study import Row, change_pct, kpis, run_cases, scenario, table

SCENARIO = "scenarios/seed001.toml"

CASES: dict[str, dict[str, object]] = {
    "no_tseh": {"control.passive": ["tseh"]},
    "with_tseh": {},
    "da": {"control.stages": ["da"]},
    "da_id": {"control.stages": ["da", "id"]},
}
#: The stage ladder: day-ahead only, + intraday, + real-time (the last is the "with TSEH" case).
LADDER = ("da", "da_id", "with_tseh")

#: Headline effect -> (the paper's figure in %, KPI column, case, reference case); the effect is
#: change_pct(KPI of case, KPI of reference).
EFFECTS = {
    "total cost, with vs without TSEH": (-8.71, "cost_total", "with_tseh", "no_tseh"),
    "grid interaction cost, with vs without TSEH": (-10.84, "cost_grid", "with_tseh", "no_tseh"),
    "loss cost, with vs without TSEH": (-47.41, "cost_losses_tariff", "with_tseh", "no_tseh"),
    "total cost, + intraday vs day-ahead only": (-3.91, "cost_total", "da_id", "da"),
    "total cost, + real-time vs day-ahead only": (-4.59, "cost_total", "with_tseh", "da"),
    "grid interaction cost, + intraday vs day-ahead only": (-5.34, "cost_grid", "da_id", "da"),
    "grid interaction cost, + real-time vs day-ahead only": (-9.25, "cost_grid", "with_tseh", "da"),
}
#: The paper's absolute figures (yuan, its Table 2) of the with/without TSEH cases.
PAPER_COSTS = {("cost_total", "no_tseh"): 33025.40, ("cost_total", "with_tseh"): 30148.09,
               ("cost_grid", "no_tseh"): 21419.67, ("cost_grid", "with_tseh"): 19098.48,
               ("cost_losses_tariff", "no_tseh"): 602.88, ("cost_losses_tariff", "with_tseh"): 317.08}

NOTES = {
    "total cost, with vs without TSEH": "ours includes discomfort instead of the paper's TSEH compensation "
                                        "and deviation costs",
    "loss cost, with vs without TSEH": "losses priced at the time-of-use buy price",
    "total cost, + real-time vs day-ahead only": "the real-time rung is the with_tseh case",
    "voltage outside 0.94-1.06 p.u. in real time": "feeder bus-steps at the 1-min plant step, with_tseh",
}


def loss_cost(path) -> float:
    """Network losses of a record priced at the tariff's buy price of their step (currency)."""
    rec = read(path)
    loss = rec.series("plant/Grid", "p_loss_mw").iloc[:, 0].to_numpy()
    buy = rec.series("data/Tariff", "buy_per_mwh").iloc[:, 0].to_numpy()[:len(loss)]
    return float(np.nansum(loss * buy) * float(rec.meta["step_s"]) / 3600.0)


def tseh_stored_kwh(path) -> float:
    """Heat stored in all TSEH units at the last recorded step (kWh)."""
    e = read(path, "plant/Building", "e_st_kwh")
    return float(np.nansum(e.ffill().iloc[-1].to_numpy()))


def case_kpis(paths: Mapping[str, Path]) -> pd.DataFrame:
    """cosim.study.kpis plus ``cost_losses_tariff`` (:func:`loss_cost`) and ``tseh_stored_end_kwh``."""
    k = kpis(paths)
    k["cost_losses_tariff"] = [loss_cost(paths[c]) for c in k.index]
    k["tseh_stored_end_kwh"] = [tseh_stored_kwh(paths[c]) for c in k.index]
    return k


def effects(k: pd.DataFrame) -> dict[str, float]:
    """The headline effects in % (:data:`EFFECTS`) from KPI rows (one per case, :func:`case_kpis`),
    and the real-time voltage violations (bus-steps) of ``with_tseh``."""
    out = {name: change_pct(float(k.at[case, col]), float(k.at[ref, col]))
           for name, (_, col, case, ref) in EFFECTS.items()}
    out["voltage outside 0.94-1.06 p.u. in real time"] = float(k.at["with_tseh", "v_violation_bus_steps"])
    return out


def rows(k: pd.DataFrame) -> list[Row]:
    """The results table's rows: headline effects beside the paper's, then each case's figures."""
    eff = effects(k)
    out = [Row(name, paper, eff[name], "%", NOTES.get(name, "")) for name, (paper, *_) in EFFECTS.items()]
    v = "voltage outside 0.94-1.06 p.u. in real time"
    out.append(Row(v, 0.0, eff[v], "bus-steps", NOTES[v]))
    for col, unit, label in (("cost_total", "currency", "total cost"), ("cost_grid", "currency", "grid interaction cost"),
                             ("cost_losses_tariff", "currency", "loss cost"), ("losses_kwh", "kWh", "losses"),
                             ("discomfort_kh", "K h", "discomfort"), ("tseh_stored_end_kwh", "kWh", "TSEH heat stored at the end"),
                             ("v_min_pu", "p.u.", "lowest voltage"), ("v_max_pu", "p.u.", "highest voltage"),
                             ("v_violation_bus_steps", "bus-steps", "voltage outside the band")):
        for case in k.index:
            paper = PAPER_COSTS.get((col, case))
            note = "paper in yuan at its own prices" if paper is not None else ""
            out.append(Row(f"{label}, {case}", paper, float(k.at[case, col]), unit, note))
    return out


def run(out_dir, hours: float | None = None, seed: int | None = None,
        changes: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Run the four cases into ``out_dir`` and return the results table; ``changes``: dotted
    overrides of the base scenario for every case (e.g. a smaller device set)."""
    base = scenario(SCENARIO, hours=hours, seed=seed)
    if changes:
        base = base.updated(dict(changes))
    return table(rows(case_kpis(run_cases(base, CASES, out_dir))))
