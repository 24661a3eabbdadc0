"""Seed 003: a home energy hub scheduled for the owner's cost or for a low grid peak (scenarios/seed003.toml).

The paper (Zimmerlin, Wilferth, Leibfried) schedules one home - household load, PV, an EV at its
home charger, a micro-CHP (3-6 kW el., its Table I), a thermal tank and an electric boiler - over
a day at 15 min, once for the owner's operating cost (eq. 29) and once for the least sum of
squared grid power (eq. 30), on a winter and a summer day, each as a weekday and a weekend day
(EV at home 18-06 h on weekdays, 0-10 h and from 17 h at weekends). Its Tables III and IV: the
peak objective lowers the peak by 31.9-35.3 % in winter and 11.5-38.1 % in summer at the same
cost (winter, summer weekend) or +2.7 % (summer weekday).

Cases (``<day>_<objective>``, all on the scenario's seed): days ``winter_weekday`` (2024-01-03,
Wed), ``winter_weekend`` (2024-02-18, Sun), ``summer_weekday`` (2024-07-17, Wed),
``summer_weekend`` (2024-07-21, Sun) of the TMY3 year (winter days of mean -1.4 and 1.2 degC
whose coldest hour, -2.2 and -2.8 degC, the CHP and electric boiler can still cover);
objectives ``economic`` (control.peak_weight = 0) and ``peak`` (:data:`PEAK_WEIGHT`).

Our peak is kpi ``peak_import_15min_mw`` (the largest 15-min mean import at the grid connection:
the paper's 15-min hub power); our cost is kpi ``cost_total``: grid exchange at the flat tariff
(bought and sold at one price) + the hub's gas - the CHP remuneration. The paper's cost prices
every kWh consumed at the tariff and every kWh generated at its remuneration (a gross cost, 85 EUR
a winter day); ours nets them, so it is smaller and its change in % larger.

Assumptions (all in scenarios/seed003.toml and cosim.plant._home_devices): prices, tank, electric
boiler, PV, EV and heat demand (degree hours from the TMY3 temperature, not the paper's gas
standard load profile); one day-ahead solve at 00:00 with known profiles (the paper's
deterministic schedule), carried out open loop by the plant at a 5-min step. The CHP on/off is
decided by relax-round-fix (no MIQP solver is installed; the paper uses BONMIN), so the economic
schedule is not always the cost optimum.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cosim.brackets import Brackets, Headline
from cosim.study import Row, change_pct, kpis, run_cases, scenario, table

SCENARIO = "scenarios/seed003.toml"

#: Day -> start of the run (the paper's scenarios 1-4, Table II).
DAYS = {
    "winter_weekday": "2024-01-03 00:00",
    "winter_weekend": "2024-02-18 00:00",
    "summer_weekday": "2024-07-17 00:00",
    "summer_weekend": "2024-07-21 00:00",
}
#: Weight of the peak term sum_t dt p_grid^2 in the peak case, EUR per MW^2 h. Picked from a sweep
#: of 1e3, 1e4, 1e5 on the winter and summer weekday (docs/studies/seed003.md): 1e4 takes most of
#: the peak reduction of 1e5 at a smaller cost increase.
PEAK_WEIGHT = 1e4
OBJECTIVES = {"economic": 0.0, "peak": PEAK_WEIGHT}

CASES: dict[str, dict[str, object]] = {
    f"{day}_{obj}": {"start": start, "control.peak_weight": w}
    for day, start in DAYS.items() for obj, w in OBJECTIVES.items()
}

#: The paper's Tables III and IV: day -> (peak kW, cost EUR/day) for (economic, peak).
PAPER = {
    "winter_weekday": ((9.16, 85.30), (5.93, 85.30)),
    "winter_weekend": ((8.74, 90.15), (5.95, 90.15)),
    "summer_weekday": ((2.18, 7.72), (1.35, 7.93)),
    "summer_weekend": ((2.61, 13.59), (2.31, 13.59)),
}


#: The bracket sweep (cosim.brackets, docs/studies/seed003.md "Brackets"): the peak change per day
#: against the economic case's sell / buy price ratio, one line per tank size; undefined where the
#: economic case imports at most 0.1 kW.
BRACKETS = (Brackets("scenarios/sweeps/seed003_brackets.toml", tuple(
    Headline(f"{day}: peak change, peak vs economic objective", change_pct(pk_p, pk_e), "peak_import_15min_mw",
             ref={"day": day, "objective": "economic"}, new={"day": day, "objective": "peak"},
             x="export_price_ratio", ref_min=1e-4)
    for day, ((pk_e, _), (pk_p, _)) in PAPER.items())),)


def effects(k: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Headline effects per day from KPI rows (one per case, as cosim.study.kpis): peak (kW) and
    cost of both objectives, the peak case's change against the economic one in % (and the cost's
    in EUR), and the economic case's gas cost (the day's largest gross spend)."""
    out = {}
    for day in DAYS:
        if f"{day}_economic" not in k.index:
            continue
        e, p = k.loc[f"{day}_economic"], k.loc[f"{day}_peak"]
        out[day] = {
            "peak_economic_kw": 1000 * e.peak_import_15min_mw, "peak_peak_kw": 1000 * p.peak_import_15min_mw,
            "peak_change_pct": change_pct(p.peak_import_15min_mw, e.peak_import_15min_mw),
            "cost_economic": e.cost_total, "cost_peak": p.cost_total,
            "cost_change_pct": change_pct(p.cost_total, e.cost_total),
            "cost_change_eur": p.cost_total - e.cost_total, "gas_economic": e.cost_hub_gas,
        }
    return out


def rows(k: pd.DataFrame) -> list[Row]:
    """The results table of KPI rows ``k``: per day both peaks and costs and their changes."""
    out = []
    for day, f in effects(k).items():
        (pk_e, c_e), (pk_p, c_p) = PAPER[day]
        out += [
            Row(f"{day}: peak, economic", pk_e, f["peak_economic_kw"], "kW", "15-min peak import"),
            Row(f"{day}: peak, peak objective", pk_p, f["peak_peak_kw"], "kW", "15-min peak import"),
            Row(f"{day}: peak change", change_pct(pk_p, pk_e), f["peak_change_pct"], "%"),
            Row(f"{day}: cost, economic", c_e, f["cost_economic"], "EUR/day", "paper gross, ours net"),
            Row(f"{day}: cost, peak objective", c_p, f["cost_peak"], "EUR/day", "paper gross, ours net"),
            Row(f"{day}: cost change", change_pct(c_p, c_e), f["cost_change_pct"], "%"),
        ]
    return out


def run(out_dir, hours: float | None = None, seed: int | None = None,
        days: tuple[str, ...] | None = None, overwrite: bool = False) -> pd.DataFrame:
    """Run the cases (``days``: a subset of :data:`DAYS`, default all) into ``out_dir`` and return
    the results table beside the paper's figures."""
    base = scenario(SCENARIO, hours, seed)
    cases = {name: c for name, c in CASES.items() if days is None or name.rsplit("_", 1)[0] in days}
    return table(rows(kpis(run_cases(base, cases, Path(out_dir), overwrite=overwrite))))
