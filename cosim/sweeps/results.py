"""A sweep's results: the run table, the per-point summary (with CVaR95) and the box plots."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.sweeps.spec import CVAR_TAIL, RUN_FIELDS, SUMMARY_KPIS, Sweep


def run_table(sweep: Sweep, entries) -> pd.DataFrame:
    """One row per manifest entry: run_id, the axes, the other :data:`RUN_FIELDS`, then the KPI
    columns (NaN where a run has none)."""
    head = RUN_FIELDS[1:]
    rows = [{"run_id": e["run_id"], **e["point"], **{k: e[k] for k in head}, **e["kpi"]} for e in entries]
    cols = ["run_id", *(a.name for a in sweep.axes), *head]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(cols + [k for r in rows for k in r])))


def _groups(df: pd.DataFrame, names: list[str]):
    """(labels, rows) per value combination of columns ``names``, in order of appearance."""
    if not names:
        return [((), df)]
    return [(k if isinstance(k, tuple) else (k,), g) for k, g in df.groupby(names, sort=False)]


def cvar(x: np.ndarray, tail: float = CVAR_TAIL) -> float:
    """Mean of the largest ``ceil(tail n)`` values (at least one); NaN for no values."""
    if not len(x):
        return math.nan
    k = max(1, math.ceil(tail * len(x) - 1e-9))
    return float(np.sort(x)[-k:].mean())


def describe(x) -> dict[str, float]:
    """n, mean, std (ddof 1), q05, q50, q95 and cvar95 of the finite values of ``x``."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    nan = math.nan
    q = np.quantile(x, [0.05, 0.5, 0.95]) if len(x) else [nan] * 3
    return {"n": len(x), "mean": float(x.mean()) if len(x) else nan,
            "std": float(x.std(ddof=1)) if len(x) > 1 else nan,
            "q05": float(q[0]), "q50": float(q[1]), "q95": float(q[2]), "cvar95": cvar(x)}


def summary(sweep: Sweep, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per point: axes, n (done runs), failed, and :func:`describe` of each of
    :data:`SUMMARY_KPIS` over the point's done replicates (``<kpi>_<stat>``)."""
    names = [a.name for a in sweep.axes]
    rows = []
    for labels, g in _groups(runs, names):
        done = g[g.status == "done"]
        row = {**dict(zip(names, labels)), "n": len(done), "failed": int((g.status == "failed").sum())}
        for k in SUMMARY_KPIS:
            stats = describe(done[k] if k in done else [])
            row.update({f"{k}_{s}": v for s, v in stats.items() if s != "n"})
        rows.append(row)
    return pd.DataFrame(rows)


def plot(sweep: Sweep, runs: pd.DataFrame, kpi_name: str, path: Path) -> Path:
    """Box plots of ``kpi_name`` over the done replicates against the first numeric axis (else
    the first axis), one coloured series with its mean line per combination of the other axes."""
    from matplotlib.figure import Figure

    from cosim.report import DPI

    axes = sweep.axes
    x_axis = next((a for a in axes if a.numeric), axes[0] if axes else None)
    xs = list(x_axis.labels) if x_axis else [sweep.name]
    pos = np.asarray(xs, float) if x_axis and x_axis.numeric else np.arange(len(xs), dtype=float)
    others = [a.name for a in axes if a is not x_axis]
    done = runs[runs.status == "done"]
    series = _groups(done, others)
    step = np.diff(np.sort(pos)).min() if len(pos) > 1 else 1.0
    width = 0.6 * step / max(len(series), 1)
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    for i, (labels, g) in enumerate(series):
        color = f"C{i % 10}"
        data = [(g[g[x_axis.name] == x] if x_axis else g)[kpi_name].dropna().to_numpy(float) for x in xs]
        at = pos + (i - (len(series) - 1) / 2) * width
        have = [j for j, d in enumerate(data) if len(d)]
        if not have:
            continue
        ax.boxplot([data[j] for j in have], positions=at[have], widths=0.8 * width, manage_ticks=False,
                   boxprops={"color": color}, whiskerprops={"color": color}, capprops={"color": color},
                   medianprops={"color": color}, flierprops={"markeredgecolor": color})
        name = ", ".join(f"{a} = {v}" for a, v in zip(others, labels)) or None
        ax.plot(at[have], [data[j].mean() for j in have], "o--", color=color, lw=1, ms=4, label=name)
    ax.set_xticks(pos, [str(x) for x in xs])
    ax.set_xlabel(x_axis.name if x_axis else "")
    ax.set_ylabel(kpi_name)
    n = int(done.replicate.nunique()) if len(done) else 0
    ax.set_title(f"{sweep.name}: {kpi_name} over {n} replicates (boxes: quartiles, whiskers 1.5 IQR; o: mean)",
                 fontsize=9)
    if others:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path
