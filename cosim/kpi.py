"""Figures of a run, computed from its HDF5 record (the true plant only; units in the keys).

:func:`summary` is the short table ``cosim run`` prints: energy cost at the tariff, micro-turbine
fuel, losses, the feeder's voltage range (slack and transformer HV buses excluded), peak import,
thermal discomfort, EV energy missing at departure, and per stage the number of solves, failed
solves, fallbacks and the median / max solver time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cosim.record import Record, read


def _dt_h(rec: Record) -> float:
    return float(rec.meta["step_s"]) / 3600.0


def _series(rec: Record, group: str, attr: str) -> pd.DataFrame | None:
    return rec.series(group, attr) if group in rec.groups() and attr in rec.attrs(group) else None


def summary(path_or_record) -> dict[str, float]:
    """The short figures of a run; see the module docstring."""
    rec = path_or_record if isinstance(path_or_record, Record) else read(path_or_record)
    dt = _dt_h(rec)
    p_ext = rec.series("plant/Grid", "p_ext_mw").iloc[:, 0].to_numpy()
    buy = rec.series("data/Tariff", "buy_per_mwh").iloc[:, 0].to_numpy()[:len(p_ext)]
    sell = rec.series("data/Tariff", "sell_per_mwh").iloc[:, 0].to_numpy()[:len(p_ext)]
    out = {
        "energy_cost": float(np.nansum(np.where(p_ext > 0, p_ext * buy, p_ext * sell)) * dt),
        "import_mwh": float(np.nansum(np.clip(p_ext, 0, None)) * dt),
        "export_mwh": float(np.nansum(np.clip(-p_ext, 0, None)) * dt),
        "peak_import_mw": float(np.nanmax(p_ext)),
        "losses_mwh": float(np.nansum(rec.series("plant/Grid", "p_loss_mw").to_numpy()) * dt),
    }
    mt = _series(rec, "plant/MicroTurbine", "cost_per_h")
    out["mt_fuel_cost"] = float(np.nansum(mt.to_numpy()) * dt) if mt is not None else 0.0
    out["total_cost"] = out["energy_cost"] + out["mt_fuel_cost"]
    v = rec.series("plant/Bus", "vm_pu")
    hv = [c for c in str(rec.meta.get("hv_buses", "")).split(",") if c]
    v = v.drop(columns=[c for c in hv if c in v.columns]).to_numpy()
    out["v_min_pu"], out["v_max_pu"] = float(np.nanmin(v)), float(np.nanmax(v))
    out["diverged_steps"] = int((rec.series("plant/Grid", "converged").to_numpy() == 0).sum())
    disc = _series(rec, "plant/Building", "discomfort_kh")
    out["discomfort_kh"] = float(disc.iloc[-1].sum()) if disc is not None else 0.0
    miss = _series(rec, "plant/EV", "e_missing_kwh")
    out["ev_missing_kwh"] = float(miss.iloc[-1].sum()) if miss is not None else 0.0
    for stage in ("da", "id", "rt"):
        group = f"control/{stage}"
        if group not in rec.groups():
            continue
        ev = rec.events(group)
        ok = ev.status.isin(["optimal", "optimal_inaccurate"])
        out[f"{stage}_solves"] = int(len(ev))
        out[f"{stage}_failed"] = int((~ok).sum())
        out[f"{stage}_fallbacks"] = int((ev.fallback != "").sum())
        out[f"{stage}_solve_s_median"] = float(ev.solve_time_s.median())
        out[f"{stage}_solve_s_max"] = float(ev.solve_time_s.max())
        out[f"{stage}_gap_rel_max"] = float(ev.gap_rel.max()) if ok.any() else float("nan")
    return out
