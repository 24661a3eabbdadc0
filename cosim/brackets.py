"""Brackets: does a seed study meet its paper's number somewhere in a sensible range of the
parameters the paper does not give?

A study module (cosim.studies.seedNNN) names its ``BRACKETS`` (a tuple of :class:`Brackets`): each a
sweep file (``scenarios/sweeps/seedNNN_brackets*.toml``) whose axes are the compared cases (``points`` with
``set``) and the driving parameters, and its :class:`Headline` effects. A headline's effect is the
difference of one KPI between a compared case and a reference case (in % of the reference, or in
the KPI's unit), paired per replicate and per value of the other axes (common random numbers:
cosim.sweeps), then averaged over the replicates. Along the headline's driving axis ``x`` the
paper's number is *met* where the mean effect crosses it (linear interpolation between two
neighbouring points); else the sweep's range of the effect is reported.

``cosim brackets seedNNN [--workers N] [--hours H]`` (:func:`run`) runs the sweeps and writes
``OUT/brackets.md`` (a table and a sentence per headline), ``OUT/brackets.csv`` and a plot per
headline (effect against ``x``, one line per value of the other axes, the paper's number as a
dashed line); OUT defaults to ``results/brackets/<study>`` (``-<H>h`` when shortened).
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError


@dataclass(frozen=True)
class Headline:
    """One paper headline as an effect ``kpi(new) - kpi(ref)`` (``relative``: in % of ``|kpi(ref)|``).

    ``ref`` / ``new``: axis name -> label selecting the reference and the compared runs (``new``
    empty: every run, the reference's own giving 0); each compared run is paired with the reference
    run of the same replicate and the same labels on the axes ``ref`` does not name. ``x``: the
    driving parameter's axis (numeric labels, or labels that read as numbers). A relative effect
    is undefined (NaN) where ``|kpi(ref)| <= ref_min`` (a change in % of about nothing)."""

    name: str
    paper: float
    kpi: str
    ref: Mapping[str, object]
    x: str
    new: Mapping[str, object] = field(default_factory=dict)
    relative: bool = True
    unit: str = "%"
    ref_min: float = 0.0


@dataclass(frozen=True)
class Brackets:
    """A study's bracket sweep: the sweep file (relative to the repository root), its headlines,
    ``derive(runs) -> runs`` adding KPI columns the headlines name (or None), and
    ``shorten(duration_s) -> dict`` of dotted overrides a shortened run needs beyond its duration."""

    sweep: str
    headlines: tuple[Headline, ...]
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    shorten: Callable[[int], dict] | None = None


def _match(df: pd.DataFrame, labels: Mapping[str, object]) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for axis, label in labels.items():
        if axis not in df:
            raise ConfigError(f"headline axis {axis!r} is not an axis of the sweep (columns: {list(df.columns)})")
        mask &= df[axis] == label
    return mask


def effect_runs(runs: pd.DataFrame, h: Headline, axes: list[str]) -> pd.DataFrame:
    """One row per compared run (status done): its axis labels, replicate, ``ref`` and ``new``
    (the KPI) and ``effect``."""
    if h.kpi not in runs:
        raise ConfigError(f"headline {h.name!r}: kpi {h.kpi!r} is not a column of the run table")
    done = runs[runs.status == "done"]
    ref = done[_match(done, h.ref)]
    keys = [a for a in axes if a not in h.ref] + ["replicate"]
    if ref.duplicated(keys).any():
        raise ConfigError(f"headline {h.name!r}: ref = {dict(h.ref)} matches several runs per replicate "
                          f"and labels of the other axes ({keys[:-1]}): give every axis of the sweep")
    new = done[_match(done, h.new)]
    pairs = new[axes + ["replicate", h.kpi]].merge(ref[keys + [h.kpi]], on=keys, suffixes=("", "_ref"))
    out = pairs[axes + ["replicate"]].copy()
    out["ref"], out["new"] = pairs[f"{h.kpi}_ref"].to_numpy(float), pairs[h.kpi].to_numpy(float)
    diff = out["new"] - out["ref"]
    out["effect"] = 100.0 * diff / out["ref"].abs().where(out["ref"].abs() > h.ref_min) if h.relative else diff
    return out


def effect_table(runs: pd.DataFrame, h: Headline, axes: list[str]) -> pd.DataFrame:
    """One row per point of the compared runs with a numeric ``h.x``: the axes that vary among them
    (``h.x`` last), ``n`` replicates, the means of ``ref`` and ``new`` and the effect's mean, min and max."""
    e = effect_runs(runs, h, axes)
    if h.x not in axes:
        raise ConfigError(f"headline {h.name!r}: x = {h.x!r} is not an axis of the sweep ({axes})")
    vary = [a for a in axes if a != h.x and e[a].nunique() > 1] + [h.x]
    g = e.groupby(vary, sort=False)
    t = pd.DataFrame({"n": g.effect.count(), "ref_mean": g.ref.mean(), "new_mean": g.new.mean(),
                      "effect_mean": g.effect.mean(), "effect_min": g.effect.min(),
                      "effect_max": g.effect.max()}).reset_index()
    t["_x"] = pd.to_numeric(t[h.x], errors="coerce")
    t = t[t["_x"].notna()]  # a reference labelled on the x axis by name (e.g. "s2") is no x value
    return t.sort_values(vary[:-1] + ["_x"], kind="stable").drop(columns="_x").reset_index(drop=True)


def _series(t: pd.DataFrame, h: Headline):
    """(labels of the other axes, numeric x, mean, min and max effect) per line of the table,
    sorted by x, points of an undefined effect left out."""
    others = [c for c in t.columns[:t.columns.get_loc(h.x)]]
    groups = [((), t)] if not others else [(k if isinstance(k, tuple) else (k,), g)
                                          for k, g in t.groupby(others, sort=False)]
    for labels, g in groups:
        x = pd.to_numeric(g[h.x], errors="coerce").to_numpy(float)
        y = g[["effect_mean", "effect_min", "effect_max"]].to_numpy(float)
        keep = np.isfinite(x) & np.isfinite(y[:, 0])
        order = np.argsort(x[keep], kind="stable")
        yield (dict(zip(others, labels)), x[keep][order], *y[keep][order].T)


def met_at(t: pd.DataFrame, h: Headline) -> list[tuple[dict, float]]:
    """(labels of the other axes, x) wherever a line's mean effect meets the paper's number:
    linear interpolation between neighbouring points on either side of it (or equal to it)."""
    out = []
    for labels, x, y, _, _ in _series(t, h):
        d = y - h.paper
        for i in range(len(x)):
            if d[i] == 0:
                out.append((labels, float(x[i])))
            elif i + 1 < len(x) and d[i] * d[i + 1] < 0:
                out.append((labels, float(x[i] + (x[i + 1] - x[i]) * d[i] / (d[i] - d[i + 1]))))
    return out


def sentence(t: pd.DataFrame, h: Headline) -> str:
    """'met at x = v (other = w); ...' or 'not met: the sweep covers a .. b (paper p)'."""
    hits = met_at(t, h)
    if hits:
        parts = [f"{h.x} = {x:.3g}" + (" (" + ", ".join(f"{a} = {v}" for a, v in lab.items()) + ")" if lab else "")
                 for lab, x in hits]
        return f"met at {'; '.join(parts)}"
    undefined = int(t.effect_mean.isna().sum())
    why = f"undefined at {undefined} of {len(t)} points (|reference| <= {h.ref_min:g})"
    if undefined == len(t):
        return f"not met: {why}"
    lo, hi = float(t.effect_mean.min()), float(t.effect_mean.max())
    return (f"not met: the sweep covers {lo:.4g} .. {hi:.4g} {h.unit} (paper {h.paper:.4g} {h.unit})"
            + (f"; {why}" if undefined else ""))


def slug(name: str) -> str:
    """A headline's name as a file stem."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()


def plot(t: pd.DataFrame, h: Headline, path: Path, title: str = "") -> Path:
    """Mean effect against ``h.x`` (bars: min .. max over the replicates), one line per value of the
    other axes; the paper's number as a dashed line."""
    from matplotlib.figure import Figure

    from cosim.report import DPI

    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    for i, (labels, x, y, lo, hi) in enumerate(_series(t, h)):
        ax.errorbar(x, y, yerr=np.vstack([y - lo, hi - y]), fmt="o-", ms=4, lw=1.2, capsize=3, color=f"C{i % 10}",
                    label=", ".join(f"{a} = {v}" for a, v in labels.items()) or None)
    ax.axhline(h.paper, color="k", ls="--", lw=1, label=f"paper {h.paper:.4g} {h.unit}")
    ax.set_xlabel(h.x)
    ax.set_ylabel(f"effect, {h.unit}")
    ax.set_title(title or h.name, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def report(runs: pd.DataFrame, axes: list[str], headlines, out: Path) -> dict:
    """Effect table, sentence and plot (``out/<slug>.png``) of every headline (none for a headline
    without compared runs); returns headline name -> {"table", "sentence", "plot", "md"} (``md``:
    its section of brackets.md)."""
    from cosim.study import markdown

    out.mkdir(parents=True, exist_ok=True)
    res = {}
    for h in headlines:
        t = effect_table(runs, h, axes)
        if t.empty:  # e.g. a test's sweep without this headline's cases
            res[h.name] = {"table": t, "sentence": "no runs of its cases", "plot": None,
                           "md": f"### {h.name}\n\nno runs of its cases.\n"}
            continue
        s = sentence(t, h)
        p = plot(t, h, out / f"{slug(h.name)}.png")
        kind = f"% of {h.kpi}(ref)" if h.relative else f"{h.kpi} difference, {h.unit}"
        md = "\n".join([f"### {h.name}", "", f"effect = {h.kpi}({_labels(h.new) or 'each point'}) - "
                        f"{h.kpi}({_labels(h.ref)}), {kind}; paper {h.paper:.4g} {h.unit}", "", markdown(t), s + ".",
                        "", f"![{h.name}]({p.name})", ""])
        res[h.name] = {"table": t, "sentence": s, "plot": p, "md": md}
    return res


def write(rep: dict, out: Path) -> dict[str, Path]:
    """``out/brackets.md`` (every headline's section) and ``out/brackets.csv`` (every table, a
    ``headline`` column first); kind -> path."""
    paths = {"md": out / "brackets.md", "csv": out / "brackets.csv"}
    paths["md"].write_text("\n".join(r["md"] for r in rep.values()))
    t = pd.concat([r["table"].assign(headline=name) for name, r in rep.items()], ignore_index=True)
    t[["headline", *[c for c in t.columns if c != "headline"]]].to_csv(paths["csv"], index=False)
    return paths


def _labels(d: Mapping) -> str:
    return ", ".join(f"{a} = {v}" for a, v in d.items())


def sweep_dict(b: Brackets, root: Path, duration_s: int | None = None) -> dict:
    """The bracket sweep file as a dict, ``base`` made absolute; shortened to ``duration_s`` (with
    the study's ``shorten`` overrides) if given."""
    path = root / b.sweep
    try:
        d = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"bracket sweep {str(path)!r}: {exc}") from None
    if "base" in d:
        d["base"] = str((path.parent / d["base"]).resolve())
    if duration_s is not None:
        common = {k: v for k, v in d.get("set", {}).items() if k not in ("duration_h", "duration_s")}
        d["set"] = {**common, "duration_s": duration_s, **(b.shorten(duration_s) if b.shorten else {})}
    return d


def run(name: str, out=None, hours: float | None = None, workers: int | None = None,
        scheduler: str | None = None, progress: bool = True, spec_changes: Mapping | None = None,
        sweeps: tuple[str, ...] | None = None):
    """Run study ``name``'s bracket sweeps (its ``BRACKETS``, a tuple of :class:`Brackets`;
    ``hours``: shortened) into ``out/<sweep name>`` and write the report into ``out`` (:func:`write`);
    ``spec_changes``: sweep name -> top-level keys of its sweep dict replaced (e.g. fewer points in
    a test); ``sweeps``: the names of the sweeps to run (default all). Returns (sweep name ->
    SweepResult, report dict)."""
    from cosim.study import ROOT, study
    from cosim.sweeps import Sweep, run_sweep

    if hours is not None and not (isinstance(hours, (int, float)) and 0 < hours <= 48):
        raise ConfigError(f"hours = {hours!r} must be a number in (0, 48]")
    brackets = getattr(study(name), "BRACKETS", None)
    if not brackets:
        raise ConfigError(f"study {name!r} has no BRACKETS")
    out = Path(out if out is not None else ROOT / "results" / "brackets" / (name + (f"-{hours:g}h" if hours else "")))
    results, rep = {}, {}
    for b in brackets:
        d = sweep_dict(b, ROOT, None if hours is None else int(round(hours * 3600)))
        if sweeps is not None and d["name"] not in sweeps:
            continue
        d = {**d, **(spec_changes or {}).get(d["name"], {})}
        sweep = Sweep.from_dict(d)
        res = results[sweep.name] = run_sweep(sweep, out / sweep.name, workers=workers, scheduler=scheduler,
                                              progress=progress)
        runs = b.derive(res.runs) if b.derive else res.runs
        rep.update(report(runs, [a.name for a in sweep.axes], b.headlines, out))
    write(rep, out)
    return results, rep
