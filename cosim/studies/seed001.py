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

  total cost              ``cost_operating`` = kpi ``cost_total`` - ``cost_discomfort``: grid at the
                          tariff + MT fuel + ESS cycling (the paper's total has no comfort term, it
                          holds comfort as a constraint; its TSEH compensation and deviation costs
                          have no counterpart here). kpi ``cost_total`` with discomfort at the
                          assumed price is reported beside it.
  grid interaction cost   kpi ``cost_grid`` (import and export at the time-of-use tariff)
  loss cost               :func:`loss_cost`: the true network losses priced at the tariff's buy
                          price of their step (the paper prices losses at a "network loss price";
                          kpi ``cost_losses`` is 0 here since losses are already paid through the
                          import)
  total cost net of       ``cost_operating_net``: total cost less the TSEH heat stored at the run
  stored heat             end bought again at the valley price (the cases end at different levels)
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

from cosim.brackets import Brackets, Headline
from cosim.record import read
from cosim.scenario import Scenario
from cosim.study import Row, change_pct, kpis, run_cases, scenario, table
from simulators.building import DEFAULTS as BUILDING_DEFAULTS

SCENARIO = "scenarios/seed001.toml"

CASES: dict[str, dict[str, object]] = {
    "no_tseh": {"control.passive": ["tseh"]},
    "with_tseh": {},
    "da": {"control.stages": ["da"]},
    "da_id": {"control.stages": ["da", "id"]},
}
#: The stage ladder: day-ahead only, + intraday, + real-time (the last is the "with TSEH" case).
LADDER = ("da", "da_id", "with_tseh")

#: Headline effect -> (the paper's figure in % or None, KPI column, case, reference case); the
#: effect is change_pct(KPI of case, KPI of reference).
EFFECTS = {
    "total cost, with vs without TSEH": (-8.71, "cost_operating", "with_tseh", "no_tseh"),
    "grid interaction cost, with vs without TSEH": (-10.84, "cost_grid", "with_tseh", "no_tseh"),
    "loss cost, with vs without TSEH": (-47.41, "cost_losses_tariff", "with_tseh", "no_tseh"),
    "total cost, + intraday vs day-ahead only": (-3.91, "cost_operating", "da_id", "da"),
    "total cost, + real-time vs day-ahead only": (-4.59, "cost_operating", "with_tseh", "da"),
    "grid interaction cost, + intraday vs day-ahead only": (-5.34, "cost_grid", "da_id", "da"),
    "grid interaction cost, + real-time vs day-ahead only": (-9.25, "cost_grid", "with_tseh", "da"),
    "total cost net of stored heat, with vs without TSEH": (None, "cost_operating_net", "with_tseh", "no_tseh"),
    "total cost net of stored heat, + intraday vs day-ahead only": (None, "cost_operating_net", "da_id", "da"),
    "total cost net of stored heat, + real-time vs day-ahead only": (None, "cost_operating_net", "with_tseh", "da"),
    "total cost with discomfort, with vs without TSEH": (None, "cost_total", "with_tseh", "no_tseh"),
    "total cost with discomfort, + intraday vs day-ahead only": (None, "cost_total", "da_id", "da"),
    "total cost with discomfort, + real-time vs day-ahead only": (None, "cost_total", "with_tseh", "da"),
}
VOLTAGE = "voltage outside 0.94-1.06 p.u. in real time"
#: The paper's absolute figures (yuan, its Table 2) of the with/without TSEH cases.
PAPER_COSTS = {("cost_operating", "no_tseh"): 33025.40, ("cost_operating", "with_tseh"): 30148.09,
               ("cost_grid", "no_tseh"): 21419.67, ("cost_grid", "with_tseh"): 19098.48,
               ("cost_losses_tariff", "no_tseh"): 602.88, ("cost_losses_tariff", "with_tseh"): 317.08}
#: Per-case figures of the table: KPI column -> (label, unit).
CASE_FIGURES = {
    "cost_operating": ("total cost", "currency"), "cost_operating_net": ("total cost net of stored heat", "currency"),
    "cost_total": ("total cost with discomfort", "currency"),
    "cost_grid": ("grid interaction cost", "currency"), "cost_losses_tariff": ("loss cost", "currency"),
    "losses_kwh": ("losses", "kWh"), "cost_mt_fuel": ("MT fuel cost", "currency"),
    "discomfort_kh": ("discomfort", "K h"), "tseh_stored_end_kwh": ("TSEH heat stored at the end", "kWh"),
    "peak_import_15min_mw": ("peak import (15 min)", "MW"), "v_min_pu": ("lowest voltage", "p.u."),
    "v_max_pu": ("highest voltage", "p.u."), "v_violation_bus_steps": ("voltage outside the band", "bus-steps"),
}

NOTES = {
    "total cost, with vs without TSEH": "grid + MT fuel + ESS cycling; no comfort term, as in the paper",
    "loss cost, with vs without TSEH": "losses priced at the time-of-use buy price",
    "total cost, + real-time vs day-ahead only": "the real-time rung is the with_tseh case",
    "total cost net of stored heat, with vs without TSEH": "less the TSEH heat stored at the end, valued at "
                                                           "the valley price (the cases end at different levels)",
    "total cost with discomfort, with vs without TSEH": "kpi cost_total: discomfort at 100 per K h (est.)",
    VOLTAGE: "feeder bus-steps at the 1-min plant step, with_tseh",
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


def stored_heat_value(path) -> float:
    """What the heat stored at the end would cost to store again: :func:`tseh_stored_kwh` bought at
    the valley price through the storage efficiency (simulators.building DEFAULTS ``eta_st``, which
    scenarios/seed001.toml keeps) (est.: the next night's valley is the cheapest time to recharge)."""
    valley = Scenario.from_toml(read(path).scenario).data.prices_per_mwh["valley"]
    return tseh_stored_kwh(path) / 1000.0 * valley / BUILDING_DEFAULTS["eta_st"]


def case_kpis(paths: Mapping[str, Path]) -> pd.DataFrame:
    """cosim.study.kpis plus ``cost_operating`` (cost_total without discomfort), ``cost_losses_tariff``
    (:func:`loss_cost`), ``tseh_stored_end_kwh`` (:func:`tseh_stored_kwh`) and ``cost_operating_net``
    (cost_operating less :func:`stored_heat_value`)."""
    k = kpis(paths)
    k["cost_operating"] = k["cost_total"] - k["cost_discomfort"]
    k["cost_losses_tariff"] = [loss_cost(paths[c]) for c in k.index]
    k["tseh_stored_end_kwh"] = [tseh_stored_kwh(paths[c]) for c in k.index]
    k["cost_operating_net"] = k["cost_operating"] - [stored_heat_value(paths[c]) for c in k.index]
    return k


def _bracket_kpis(runs: pd.DataFrame) -> pd.DataFrame:
    """A bracket sweep's run table with ``cost_operating`` and ``cost_losses_tariff`` (as :func:`case_kpis`)."""
    done = runs.status == "done"
    return runs.assign(cost_operating=runs["cost_total"] - runs["cost_discomfort"],
                       cost_losses_tariff=[loss_cost(p) if ok else np.nan for p, ok in zip(runs.path, done)])


#: The bracket sweeps (cosim.brackets, docs/studies/seed001.md "Brackets"): the TSEH headlines
#: against the TSEH houses per cluster bus, one line per loss price of the controller; the stage
#: ladder against the forecast errors' correlation time.
BRACKETS = (Brackets("scenarios/sweeps/seed001_brackets.toml", tuple(
    Headline(f"{name}", EFFECTS[name][0], EFFECTS[name][1], ref={"case": "no_tseh"}, new={"case": "with_tseh"},
             x="tseh")
    for name in ("total cost, with vs without TSEH", "loss cost, with vs without TSEH")), _bracket_kpis),
    Brackets("scenarios/sweeps/seed001_brackets_ladder.toml", tuple(
        Headline(name, EFFECTS[name][0], EFFECTS[name][1], ref={"case": "da"}, new={"case": EFFECTS[name][2]}, x="tau")
        for name in ("total cost, + intraday vs day-ahead only", "total cost, + real-time vs day-ahead only")),
        _bracket_kpis),
)


def effects(k: pd.DataFrame) -> dict[str, float]:
    """The headline effects in % (:data:`EFFECTS`) from KPI rows (one per case, :func:`case_kpis`),
    and :data:`VOLTAGE`: the voltage violations (bus-steps) of ``with_tseh``."""
    out = {name: change_pct(float(k.at[case, col]), float(k.at[ref, col]))
           for name, (_, col, case, ref) in EFFECTS.items()}
    out[VOLTAGE] = float(k.at["with_tseh", "v_violation_bus_steps"])
    return out


def rows(k: pd.DataFrame) -> list[Row]:
    """The results table's rows: headline effects beside the paper's, then each case's figures."""
    eff = effects(k)
    out = [Row(name, paper, eff[name], "%", NOTES.get(name, "")) for name, (paper, *_) in EFFECTS.items()]
    out.append(Row(VOLTAGE, 0.0, eff[VOLTAGE], "bus-steps", NOTES[VOLTAGE]))
    for col, (label, unit) in CASE_FIGURES.items():
        for case in k.index:
            paper = PAPER_COSTS.get((col, case))
            note = "paper: yuan at its own prices" if paper is not None else ""
            out.append(Row(f"{label}, {case}", paper, float(k.at[case, col]), unit, note))
    return out


def run(out_dir, hours: float | None = None, seed: int | None = None,
        changes: Mapping[str, object] | None = None, overwrite: bool = False) -> pd.DataFrame:
    """Run the four cases into ``out_dir`` and return the results table; ``changes``: dotted
    overrides of the base scenario for every case (e.g. a smaller device set)."""
    base = scenario(SCENARIO, hours=hours, seed=seed, changes=changes)
    return table(rows(case_kpis(run_cases(base, CASES, out_dir, overwrite=overwrite))))
