"""Alternatives to a scenario's controller, on common random numbers, and the regret split.

Every variant keeps the scenario's seed, so it sees the same true plant (weather, loads, EV
sessions) and, where it forecasts, the same forecast errors (cosim_base.seeds streams do not depend on
the control): differences between the variants are due to control only.

  actual         the scenario as given
  perfect        the same controller with zero forecast error (forecast.perfect; EV arrival
                 forecasts become the true sessions: control.ev_schedule "forecast" -> "known")
  oracle         perfect forecast and one solve over the whole run at 15 min (a day-ahead stage
                 whose horizon is the run), dispatched open loop: the best the controller's model
                 can do; the plant-model mismatch (e.g. the linear COP) remains and shows in it.
                 It ends every store where the actual run ended (control.terminal = the actual
                 variant's record, run first), so it cannot gain by emptying them
  no_tseh        TSEH left to its own timer while the rest is optimized (seed 001)
  no_margin      the same controller without its robustness margins (v_margin_pu and
                 comfort_margin_k of every stage 0): what the margins cost
  uncoordinated  no controller: thermostats, TSEH valley timer, EVs charging at full power on
                 arrival, batteries idle, taps fixed
  builtin        the built-in three-stage controller with its default stages in place of a user's
                 controller (``control.controller``), on the same seed

With a user's controller, perfect applies to it; oracle, builtin and uncoordinated are the
built-in references (the oracle is the built-in model's best, so ``structure`` then also holds the
difference between the two controllers); no_tseh and no_margin belong to the built-in controller
and are refused.

Regret split (currency; cost = a total cost of the true plant, :data:`REGRET_COSTS`: net of the
change in stored energy, the comparison that credits a run for what it leaves in store, and gross):
  forecast_error  = cost(actual) - cost(perfect)
  structure       = cost(perfect) - cost(oracle)     multi-stage structure and model mismatch
  baseline_gap    = cost(uncoordinated) - cost(actual)
  margin_price    = cost(actual) - cost(no_margin)
  builtin_gap     = cost(actual) - cost(builtin)      a user's controller against the built-in one
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from cosim.scenario import STAGE_ORDER, Scenario

VARIANTS = ("actual", "perfect", "oracle", "no_tseh", "no_margin", "uncoordinated", "builtin")
#: Costs the regret split is reported on (cosim.kpi), first the one to read: key -> label.
REGRET_COSTS = {"cost_total_net_storage": "net of the change in stored energy",
                "cost_total": "gross, the change in stored energy not credited"}
#: Variants that change the built-in controller's own keys.
_BUILTIN_ONLY = ("no_tseh", "no_margin")


def variant(sc: Scenario, name: str) -> Scenario:
    """Scenario ``sc`` turned into the alternative ``name`` (output path suffixed with it)."""
    stem = sc.output_path()
    out, actual = (str(stem.with_name(f"{stem.stem}-{v}{stem.suffix}")) for v in (name, "actual"))
    user = sc.control.controller != "multistage"
    if user and name in _BUILTIN_ONLY:
        raise ValueError(f"variant {name!r} changes the built-in controller's keys; control.controller = "
                         f"{sc.control.controller!r} is a user's (use actual, perfect, oracle, uncoordinated, builtin)")
    builtin = {"control.controller": "multistage", "control.params": {}} if user else {}
    perfect = {"forecast.perfect": True,
               **({"control.ev_schedule": "known"} if sc.control.ev_schedule == "forecast" else {})}
    if name == "actual":
        changes = {}
    elif name == "perfect":
        changes = perfect
    elif name == "oracle":
        h = -(-sc.duration_s // 900) * 900
        changes = {**builtin, **perfect, "control.stages": ["da"], "control.terminal": actual,
                   "control.da": {"every_s": h, "dt_s": 900, "horizon_s": h, "offset_s": 0, "track_weight": 0.0}}
    elif name == "no_tseh":
        changes = {"control.passive": sorted(set(sc.control.passive) | {"tseh"})}
    elif name == "no_margin":
        changes = {f"control.{s}": {"v_margin_pu": 0.0, "comfort_margin_k": 0.0} for s in ("da", "id", "rt")}
    elif name == "uncoordinated":
        changes = {**builtin, "control.stages": []}
    elif name == "builtin":
        changes = {**builtin, "control.stages": list(STAGE_ORDER)}
    else:
        raise ValueError(f"variant {name!r} is not one of {VARIANTS}")
    return sc.updated({**changes, "output": out})


def run_variants(sc: Scenario, names=VARIANTS, runner: Callable[[Scenario], Path] | None = None,
                 overwrite: bool = False) -> dict[str, Path]:
    """Run the variants one after another, ``actual`` first (the oracle ends where it ended;
    ``runner`` defaults to cosim.world.run); name -> record, in the order of ``names``.
    No existing record is replaced unless ``overwrite`` (cosim.world.run_all)."""
    from cosim.world import run_all

    order = sorted(names, key=lambda n: n != "actual")
    paths = run_all({name: variant(sc, name) for name in order}, runner, overwrite)
    return {name: paths[name] for name in names}


def regret(costs: dict[str, float]) -> dict[str, float]:
    """The regret split from total costs per variant (the entries whose variants are present)."""
    out = {}
    if {"actual", "perfect"} <= costs.keys():
        out["forecast_error"] = costs["actual"] - costs["perfect"]
    if {"perfect", "oracle"} <= costs.keys():
        out["structure"] = costs["perfect"] - costs["oracle"]
    if {"uncoordinated", "actual"} <= costs.keys():
        out["baseline_gap"] = costs["uncoordinated"] - costs["actual"]
    if {"actual", "no_margin"} <= costs.keys():
        out["margin_price"] = costs["actual"] - costs["no_margin"]
    if {"actual", "builtin"} <= costs.keys():
        out["builtin_gap"] = costs["actual"] - costs["builtin"]
    return out
