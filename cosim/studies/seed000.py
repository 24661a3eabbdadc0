"""Seed 000: thermal-electrical co-optimization of an LV feeder (scenarios/seed000.toml).

The paper (Spanias, Aristidou, Panagi 2026, arXiv 2601.21651) puts calibrated 3R2C buildings with
heat pumps, EVs and PV into a network-constrained OPF of a real low-voltage feeder (convex DistFlow)
and reports, coordinated against uncoordinated operation: transformer aging -41 %, daily losses
-54 %, voltage violations eliminated, the SOCP relaxation exact in practice; it also compares the
convex DistFlow, bus injection and branch flow formulations (DistFlow: sub-second runtimes, near
optimal). Its text gives no further numbers (feeder, fleet sizes, prices, band).

Cases, on the scenario's seed (same weather, loads, EV sessions and forecast errors):

  uncoordinated  no controller (control.stages = []): heat-pump thermostats, EVs charging at full
                 power on arrival, PV uncurtailed
  coordinated    the paper's day-ahead OPF (DistFlow SOCP, 24 x 1 h, EV sessions and trips known
                 day-ahead: control.ev_schedule = "known", the paper's planning with predicted
                 consumer behaviour) re-solved every hour over a receding 24-h horizon from the
                 measured states and fresh forecasts (the paper's single day-ahead solve in closed
                 loop; the intraday and real-time stages of seed 001 are not used: with their 4-h
                 horizon the EVs' night charging was left to its last hours, when the transformer
                 limit could no longer serve all of them)

Mapping to our KPIs (cosim.kpi, the true plant's record at the 1-min step):

  transformer aging     kpi ``trafo_loss_of_life_pct`` (IEEE C57.91 F_EQA x duration; the change
                        in % equals that of ``trafo_f_eqa``)
  losses                kpi ``losses_kwh`` (lines and transformer, AC power flow)
  voltage violations    kpi ``v_violation_bus_steps`` (feeder bus-steps outside the band)
  relaxation exactness  the largest ``<stage>_gap_rel_max`` of the coordinated run

Formulation comparison (:func:`formulations`): the day-ahead problem at the study's start, built
from the study's plant and the forecast and measurements the day-ahead stage sees there, solved
with each of controllers.opf.problem.FORMULATIONS ("socp" DistFlow SOCP, "lindistflow",
"bim" the bus injection SOCP); its horizon is the study's window, at most the day-ahead 24 h.
Reported: build time (construction and DPP compile), median solver time over re-solves, objective,
relaxation gap and the AC error of the plan (pandapower power flow of each period with the plan's
bus injections: max |V_opf - V_ac| over feeder buses and periods).

Assumptions: the feeder and fleet are the ``lv`` preset of cosim.plant (SimBench 1-LV-rural3--0-sw,
a heat-pump house per connection, an 11 kW EV at every second one, the feeder's PV); the day, band,
prices and costs are stated and reasoned in scenarios/seed000.toml.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import pandapower as pp
import pandas as pd

from controllers.opf.problem import FORMULATIONS
from cosim.brackets import Brackets, Headline
from cosim.scenario import STAGE_ORDER, Scenario
from cosim.study import Row, change_pct, kpis, run_cases, scenario, table
from cosim.world import build_parts, initial_measurements

SCENARIO = "scenarios/seed000.toml"

CASES: dict[str, dict[str, object]] = {
    "uncoordinated": {"control.stages": []},
    "coordinated": {},
}

#: Headline effect -> (the paper's figure in %, KPI column); coordinated against uncoordinated.
EFFECTS = {
    "transformer aging (loss of life)": (-41.0, "trafo_loss_of_life_pct"),
    "network losses": (-54.0, "losses_kwh"),
}
#: The bracket sweep (cosim.brackets, docs/studies/seed000.md "Brackets"): both headlines against the
#: number of EVs, one line per outdoor temperature offset.
BRACKETS = (Brackets("scenarios/sweeps/seed000_brackets.toml", tuple(
    Headline(f"{name}, coordinated vs uncoordinated", paper, kpi, ref={"case": "uncoordinated"},
             new={"case": "coordinated"}, x="ev") for name, (paper, kpi) in EFFECTS.items())),)
VIOLATIONS = "voltage violations, coordinated"
GAP = "largest SOCP relaxation gap, coordinated"
#: Re-solves of the compared problem for the median solver time.
REPEATS = 3


def effects(k: pd.DataFrame) -> dict[str, float]:
    """Headline effects from KPI rows (one per case): the changes in % of :data:`EFFECTS`, the
    voltage violations (bus-steps) of both cases and the coordinated run's largest relaxation gap."""
    out = {name: change_pct(float(k.at["coordinated", col]), float(k.at["uncoordinated", col]))
           for name, (_, col) in EFFECTS.items()}
    out[VIOLATIONS] = float(k.at["coordinated", "v_violation_bus_steps"])
    out["voltage violations, uncoordinated"] = float(k.at["uncoordinated", "v_violation_bus_steps"])
    gaps = [float(k.at["coordinated", f"{s}_gap_rel_max"]) for s in STAGE_ORDER if f"{s}_gap_rel_max" in k]
    out[GAP] = max(gaps) if gaps else float("nan")
    return out


def ac_voltage_error(net, rn, result) -> float:
    """Max |V_opf - V_ac| (p.u.) over feeder buses and periods: pandapower's AC power flow of each
    period with the plan's net bus injections as loads (the net's loads, sgens and shunts replaced;
    every shunt is a controller block or left out of the model, as in MultiStageController)."""
    ac = copy.deepcopy(net)
    ac.load.drop(ac.load.index, inplace=True)
    ac.sgen.drop(ac.sgen.index, inplace=True)
    ac.shunt.in_service = False
    p, q = result.network["p_bus_mw"], result.network["q_bus_mvar"]
    rows = np.flatnonzero(np.any(p != 0, axis=1) | np.any(q != 0, axis=1))
    loads = [pp.create_load(ac, int(rn.bus_ids[k]), p_mw=0.0, q_mvar=0.0) for k in rows]
    err = 0.0
    for t in range(p.shape[1]):
        ac.load.loc[loads, "p_mw"], ac.load.loc[loads, "q_mvar"] = p[rows, t], q[rows, t]
        pp.runpp(ac, tolerance_mva=1e-9)
        v_ac = ac.res_bus.vm_pu.reindex(rn.bus_ids).to_numpy()
        err = max(err, float(np.abs(v_ac[1:] - result.network["v_pu"][1:, t]).max()))
    return err


def formulations(base: Scenario, repeats: int = REPEATS) -> pd.DataFrame:
    """The day-ahead problem at ``base``'s start (horizon: the run, at most the day-ahead horizon)
    solved with every formulation; one row each: build_s, solve_s_median (solver's own time over
    ``repeats`` re-solves after the first), objective, gap_rel, v_ac_error_pu, status."""
    da = base.control.da
    horizon_s = min(da.horizon_s, -(-base.duration_s // da.dt_s) * da.dt_s)
    rows = []
    for f in FORMULATIONS:
        sc = base.updated({"control.stages": ["da"], "control.formulation": f,
                           "control.da.horizon_s": horizon_s, "control.da.every_s": horizon_s})
        parts = build_parts(sc)
        ctl = parts.controller
        dec = ctl.decide("da", 0, initial_measurements(parts), parts.forecaster.forecast("da", 0))
        prob, res = ctl.probs["da"], dec.result
        times = [prob.solve().solve_time_s for _ in range(repeats)]
        rows.append(dict(formulation=f, build_s=prob.build_time_s, solve_s_median=float(np.median(times)),
                         objective=res.objective, gap_rel=np.nan if res.gap_rel is None else res.gap_rel,
                         v_ac_error_pu=ac_voltage_error(parts.net, ctl.rn, res) if res.ok else np.nan,
                         status=res.status))
    return pd.DataFrame(rows).set_index("formulation")


FORM_NOTES = {
    "socp": "DistFlow SOCP (the controller's)",
    "lindistflow": "no losses; current limits as an octagon inscribed at v_min (conservative)",
    "bim": "bus injection SOCP: same optimum as socp on a radial feeder",
}


def rows(k: pd.DataFrame, forms: pd.DataFrame) -> list[Row]:
    """The results table: headline effects beside the paper's, each case's figures, then the
    formulation comparison."""
    eff = effects(k)
    out = [Row(f"{name}, coordinated vs uncoordinated", paper, eff[name], "%") for name, (paper, _) in EFFECTS.items()]
    out += [Row(VIOLATIONS, 0.0, eff[VIOLATIONS], "bus-steps", "paper: eliminated"),
            Row("voltage violations, uncoordinated", None, eff["voltage violations, uncoordinated"], "bus-steps"),
            Row(GAP, None, eff[GAP], "-", "paper: exact in practice")]
    for col, unit, label in (("trafo_loss_of_life_pct", "%", "transformer loss of life"),
                             ("trafo_hot_spot_max_c", "degC", "transformer hot spot, max"),
                             ("trafo_loading_max_pct", "%", "transformer loading, max"),
                             ("losses_kwh", "kWh", "losses"), ("v_min_pu", "p.u.", "lowest voltage"),
                             ("line_loading_max_pct", "%", "line loading, max"),
                             ("peak_import_15min_mw", "MW", "15-min peak import"),
                             ("import_mwh", "MWh", "import"), ("heat_energy_kwh", "kWh", "heat-pump energy"),
                             ("ev_energy_delivered_kwh", "kWh", "EV energy delivered"),
                             ("ev_missing_kwh", "kWh", "EV energy missing at departure"),
                             ("discomfort_kh", "K h", "discomfort"), ("cost_grid", "currency", "grid cost")):
        out += [Row(f"{label}, {case}", None, float(k.at[case, col]), unit) for case in k.index]
    for f, r in forms.iterrows():
        note = FORM_NOTES.get(f, "") + ("" if r.status == "optimal" else f"; status {r.status}")
        out += [Row(f"formulation {f}: build", None, float(r.build_s), "s", note),
                Row(f"formulation {f}: solve (median)", None, float(r.solve_s_median), "s",
                    "paper: DistFlow sub-second" if f == "socp" else ""),
                Row(f"formulation {f}: objective", None, float(r.objective), "currency"),
                Row(f"formulation {f}: relaxation gap", None, float(r.gap_rel), "-"),
                Row(f"formulation {f}: max |V_opf - V_ac|", None, float(r.v_ac_error_pu), "p.u.")]
    return out


def run(out_dir, hours: float | None = None, seed: int | None = None,
        changes: Mapping[str, object] | None = None, overwrite: bool = False,
        repeats: int = REPEATS) -> pd.DataFrame:
    """Run both cases into ``out_dir``, compare the formulations (``repeats`` timed re-solves each)
    and return the results table; ``changes``: dotted overrides of the base scenario for every case."""
    base = scenario(SCENARIO, hours=hours, seed=seed, changes=changes)
    k = kpis(run_cases(base, CASES, out_dir, overwrite=overwrite))
    return table(rows(k, formulations(base, repeats)))
