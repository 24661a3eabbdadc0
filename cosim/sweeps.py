"""Batch sweeps and robustness studies on Dask distributed: many runs, one table.

``cosim.sweep(spec, out=None, workers=None, scheduler=None, progress=True)`` (:func:`run_sweep`)
runs every run of a sweep and returns a :class:`SweepResult`. ``cosim sweep SWEEP.toml`` is the command line form.

Sweep file (TOML; ``base`` is relative to the file)::

    name = "noise-robustness"      # [A-Za-z0-9_.-]+; default output folder results/sweeps/<name>
    base = "../default.toml"       # the base scenario; absent = the default Scenario()
    seed = 2024                    # sweep seed (>= 0, default 0)
    replicates = 20                # >= 1 (default 1)
    [set]                          # dotted overrides applied to every run (Scenario.updated keys)
    duration_h = 6
    [[axis]]                       # an axis: a dotted key and its values ...
    name = "noise"
    key = "forecast.error_scale"
    values = [0, 0.5, 1, 2]
    [[axis]]                       # ... or listed points, each a label and its own overrides
    name = "controller"
    points = [{label = "three-stage", set = {"control.stages" = ["da", "id", "rt"]}},
              {label = "day-ahead", set = {"control.stages" = ["da"]}}]

Nested tables are dotted keys (``set = {control = {stages = ["da"]}}`` is ``"control.stages"``),
so an override never replaces a whole table. ``seed`` and ``output`` belong to the sweep and may
not be set. Axes combine as a grid product (first axis slowest); every point's scenario is built
and validated before any run starts (a ConfigError names the sweep field or the point).

Seeds (common random numbers): ``np.random.SeedSequence(seed).spawn(replicates)``; replicate r's
scenario seed is ``int(child_r.generate_state(1)[0])``, the same for every point of the sweep, so
within a replicate the alternatives see the same truth and forecast errors (cosim_base.seeds), and
replicate r keeps its seed when ``replicates`` grows.

One Dask task per run (``pure=False``): :func:`execute` runs ``cosim.world.run`` (the record goes
to ``OUT/runs/<run_id>.h5``) and ``cosim.kpi.compute`` and returns a small dict; an exception is a
result (status ``failed`` and its text), never the sweep's end. Default cluster: a
``distributed.LocalCluster`` of ``workers`` (default: the machine's cores) single-threaded
processes without Dask's statistical profiler (:data:`NO_PROFILER`: it grew the workers' memory
run by run); ``scheduler="tcp://host:port"`` uses an existing cluster instead (start its workers
with ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` and ``--nthreads 1`` for the same).
Dask starts local workers by spawning: a script that calls :func:`run_sweep` needs the
``if __name__ == "__main__":`` guard.

Output folder OUT:

- ``manifest.json``: per run ``run_id``, ``point`` (axis -> value), ``replicate``, ``seed``, ``hash``
  (sha256 of the run's scenario TOML, the record's ``/meta/scenario.toml``), ``status`` (pending /
  done / failed), ``path``, ``error``, ``wall_s``, ``worker``, ``rss_mb`` (the worker process's
  resident memory after the run), ``finished_unix_s`` and ``kpi``; rewritten atomically after
  every finished run.
  Running the same sweep into the same OUT again skips runs whose hash is done and whose record
  exists, and retries the rest; runs no longer in the sweep leave the manifest. The hash covers
  the record's absolute path too: a moved OUT runs again.
- ``runs.parquet``: one row per run: run_id, the axes, the other manifest fields and every KPI
  column (``pd.read_parquet(OUT / "runs.parquet")``).
- ``summary.csv``: one row per point: the axes, ``n`` (done runs), ``failed`` and, for each of
  :data:`SUMMARY_KPIS`, ``<kpi>_mean``, ``_std`` (ddof 1), ``_q05``, ``_q50``, ``_q95`` and
  ``_cvar95`` (the mean of the worst 5 % of the replicates, the largest values, at least one run).
- ``<kpi>.png`` for each of :data:`SUMMARY_KPIS`: box plots of the replicates against the first
  numeric axis (else the first axis), one series (colour, mean line) per combination of the others.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
import time
import tomllib
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError
from cosim.scenario import Scenario, load as load_scenario

#: KPIs summarized and plotted per point (cosim.kpi): total cost and voltage violations.
SUMMARY_KPIS = ("cost_total", "v_violation_pu_h", "v_violation_h")
#: Share of the worst replicates averaged by CVaR95.
CVAR_TAIL = 0.05
#: Per-run fields of the manifest and the run table; axis names may not take them.
RUN_FIELDS = ("run_id", "replicate", "seed", "hash", "status", "path", "error", "wall_s", "worker",
              "rss_mb", "finished_unix_s")
#: Dask config of the LocalCluster: no statistical profiler on the workers. Its call trees of every
#: run's mosaik and cvxpy stacks are kept for an hour (distributed.worker.profile) and grew a
#: worker by about 2 MB per run (benchmarks/bench_sweep.py); without it the RSS stays flat.
NO_PROFILER = {"distributed.worker.profile.enabled": False}
_MEASURED = ("wall_s", "rss_mb", "finished_unix_s")  # numeric RUN_FIELDS a task reports
_OWNED = ("seed", "output")  # scenario keys the sweep sets itself
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def _flatten(changes: Mapping, where: str, prefix: str = "") -> dict:
    """Dotted-key overrides from a table that may nest (``{"control": {"stages": x}}`` ->
    ``{"control.stages": x}``); ``where`` names the table in messages."""
    if not isinstance(changes, Mapping):
        raise ConfigError(f"{where} = {changes!r} must be a table of dotted scenario keys")
    out = {}
    for key, value in changes.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, where, dotted + "."))
        else:
            if dotted in _OWNED:
                raise ConfigError(f"{where}.{dotted}: set by the sweep (replicate seeds, OUT/runs), not here")
            out[dotted] = value
    return out


def _label(value):
    """A value's entry in the tables: numbers, bools and strings as they are, else compact JSON."""
    return value if isinstance(value, (int, float, str, bool)) else json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class Axis:
    """One axis: ``labels[i]`` (table entry) with its dotted overrides ``changes[i]``;
    ``numeric``: every label is a number (plotted on a numeric x axis)."""

    name: str
    labels: tuple
    changes: tuple[dict, ...]

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.labels)

    @classmethod
    def from_table(cls, i: int, table) -> Axis:
        where = f"axis[{i}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} = {table!r} must be a table")
        for key in table:
            if key not in ("name", "key", "values", "points"):
                raise ConfigError(f"{where}.{key}: unknown key; allowed: name, key, values, points")
        name = table.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in RUN_FIELDS + ("point", "kpi"):
            raise ConfigError(f"{where}.name = {name!r} must be a string of A-Z a-z 0-9 _ . - and not "
                              f"one of {', '.join(RUN_FIELDS)}")
        where = f"axis {name!r}"
        if ("key" in table) == ("points" in table) or ("values" in table) != ("key" in table):
            raise ConfigError(f"{where}: give either key and values, or points")
        if "key" in table:
            values = table["values"]
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}.values = {values!r} must be a non-empty list")
            if not isinstance(table["key"], str):
                raise ConfigError(f"{where}.key = {table['key']!r} must be a dotted scenario key")
            labels = tuple(_label(v) for v in values)
            changes = tuple(_flatten({table["key"]: v}, where) for v in values)
        else:
            points = table["points"]
            if not isinstance(points, list) or not points:
                raise ConfigError(f"{where}.points = {points!r} must be a non-empty list of "
                                  "{label, set} tables")
            labels, changes = [], []
            for j, p in enumerate(points):
                if not isinstance(p, Mapping) or set(p) - {"label", "set"} or not isinstance(p.get("label"), str):
                    raise ConfigError(f"{where}.points[{j}] = {p!r} must be a table with a string label "
                                      "and a set table")
                labels.append(p["label"])
                changes.append(_flatten(p.get("set", {}), f"{where}.points[{j}].set"))
            labels = tuple(labels)
        ids = [_id_part(name, v) for v in labels]
        if len(set(ids)) < len(ids):
            raise ConfigError(f"{where}: values {list(labels)} are not distinct as file names ({ids})")
        return cls(name, labels, tuple(changes))


def _id_part(axis: str, label) -> str:
    return f"{axis}-" + re.sub(r"[^A-Za-z0-9.+-]", "-", str(label))


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its id, point (axis name -> label), replicate, seed and scenario."""

    run_id: str
    point: dict
    replicate: int
    scenario: Scenario

    @property
    def hash(self) -> str:
        return config_hash(self.scenario)


def config_hash(sc: Scenario) -> str:
    """sha256 (hex) of the scenario's TOML text."""
    return hashlib.sha256(sc.to_toml().encode()).hexdigest()


def replicate_seeds(sweep_seed: int, replicates: int) -> list[int]:
    """Scenario seed of each replicate: the first 32-bit word of child r of
    ``SeedSequence(sweep_seed).spawn(replicates)``."""
    return [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(sweep_seed).spawn(replicates)]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep (module docstring); ``points``: (labels, scenario without seed and
    output) per point of the grid, first axis slowest."""

    name: str
    base: Scenario
    seed: int
    replicates: int
    set: dict
    axes: tuple[Axis, ...]
    points: tuple[tuple[tuple, Scenario], ...]

    @classmethod
    def from_dict(cls, d: Mapping, root: Path = Path(".")) -> Sweep:
        """A sweep from a TOML-shaped dict; ``base`` is relative to ``root``."""
        allowed = ("name", "base", "seed", "replicates", "set", "axis")
        if not isinstance(d, Mapping):
            raise ConfigError(f"sweep = {d!r} must be a table")
        for key in d:
            if key not in allowed:
                raise ConfigError(f"sweep.{key}: unknown key; allowed: {', '.join(allowed)}")
        name = d.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(f"sweep.name = {name!r} must be a non-empty string of A-Z a-z 0-9 _ . -")
        base = Scenario()
        if "base" in d:
            if not isinstance(d["base"], str):
                raise ConfigError(f"sweep.base = {d['base']!r} must be the path of a scenario TOML file")
            try:
                base = load_scenario(root / d["base"])
            except ConfigError as exc:
                raise ConfigError(f"sweep.base: {exc}") from None
        seed = d.get("seed", 0)
        replicates = d.get("replicates", 1)
        for key, value, lo in (("seed", seed, 0), ("replicates", replicates, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < lo:
                raise ConfigError(f"sweep.{key} = {value!r} must be a whole number >= {lo}")
        common = _flatten(d.get("set", {}), "sweep.set")
        axes = d.get("axis", [])
        if not isinstance(axes, list):
            raise ConfigError("sweep.axis must be an array of tables ([[axis]])")
        axes = tuple(Axis.from_table(i, a) for i, a in enumerate(axes))
        names = [a.name for a in axes]
        if len(set(names)) < len(names):
            raise ConfigError(f"sweep.axis: names {names} are not distinct")
        points = []
        for combo in itertools.product(*(range(len(a.labels)) for a in axes)):
            labels = tuple(a.labels[i] for a, i in zip(axes, combo))
            changes = dict(common)
            for a, i in zip(axes, combo):
                changes.update(a.changes[i])
            try:
                points.append((labels, base.updated(changes)))
            except ConfigError as exc:
                at = ", ".join(f"{a.name} = {v!r}" for a, v in zip(axes, labels)) or "the base with set"
                raise ConfigError(f"sweep point {at}: {exc}") from None
        return cls(name, base, seed, replicates, common, axes, tuple(points))

    def runs(self, out: Path) -> list[Run]:
        """Every run (points x replicates, replicate fastest) writing to ``out/runs/<run_id>.h5``."""
        seeds = replicate_seeds(self.seed, self.replicates)
        runs = []
        for labels, sc in self.points:
            stem = "_".join(_id_part(a.name, v) for a, v in zip(self.axes, labels))
            for r, seed in enumerate(seeds):
                run_id = f"{stem}_r{r:03d}" if stem else f"r{r:03d}"
                scenario = dataclasses.replace(sc, seed=seed, output=str(out / "runs" / f"{run_id}.h5"))
                runs.append(Run(run_id, dict(zip((a.name for a in self.axes), labels)), r, scenario))
        return runs


def load(spec) -> Sweep:
    """A :class:`Sweep` from a sweep TOML file (path), TOML text or a TOML-shaped dict."""
    if isinstance(spec, Sweep):
        return spec
    if isinstance(spec, Mapping):
        return Sweep.from_dict(spec)
    root, text = Path("."), spec
    if isinstance(spec, os.PathLike) or "\n" not in spec:
        path = Path(spec)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"sweep file {str(spec)!r} cannot be read: {exc}") from None
        root = path.parent
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sweep {str(spec)[:60]!r} is not valid TOML: {exc}") from None
    return Sweep.from_dict(d, root)


# -- execution -----------------------------------------------------------------------------------

def execute(scenario: Scenario) -> dict:
    """The task of one run (on a Dask worker): run it, compute its KPIs, return a small dict
    (status, error, kpi, wall_s, worker, rss_mb, finished_unix_s); every exception becomes status
    "failed"."""
    import psutil
    from distributed import get_worker

    from cosim import kpi, world

    t0 = time.perf_counter()
    try:
        out = {"status": "done", "error": "", "kpi": kpi.compute(world.run(scenario))}
    except Exception as exc:  # a failed run is a result, not the sweep's end
        out = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "kpi": {}}
    out.update(wall_s=time.perf_counter() - t0, worker=get_worker().address,
               rss_mb=psutil.Process().memory_info().rss / 2**20, finished_unix_s=time.time())
    return out


@contextmanager
def client(workers: int | None = None, scheduler: str | None = None):
    """A distributed.Client: to ``scheduler`` if given, else to a new LocalCluster of ``workers``
    (default: the machine's cores) single-threaded worker processes without the profiler
    (:data:`NO_PROFILER`), closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if workers is not None:
            raise ConfigError("workers and scheduler: give one of them (scheduler runs on its cluster's workers)")
        with Client(scheduler) as c:
            yield c
        return
    n = (os.cpu_count() or 1) if workers is None else workers
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"workers = {workers!r} must be a whole number >= 1")
    with dask.config.set(NO_PROFILER), \
            LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


def _entry(run: Run) -> dict:
    return {"run_id": run.run_id, "point": run.point, "replicate": run.replicate, "seed": run.scenario.seed,
            "hash": run.hash, "status": "pending", "path": run.scenario.output, "error": "", "worker": "",
            **dict.fromkeys(_MEASURED, math.nan), "kpi": {}}


def read_manifest(path) -> dict[str, dict]:
    """run_id -> manifest entry (empty if the file does not exist); nulls back to NaN."""
    path = Path(path)
    if not path.exists():
        return {}

    def nan(values: dict) -> dict:
        return {k: math.nan if v is None else v for k, v in values.items()}
    return {e["run_id"]: {**e, **nan({k: e[k] for k in _MEASURED}), "kpi": nan(e["kpi"])}
            for e in json.loads(path.read_text())["runs"]}


def _write_manifest(path: Path, sweep: Sweep, entries: dict[str, dict]) -> None:
    """Atomic: a temporary file in OUT, then os.replace."""
    from cosim.report import _json_value  # NaN -> null

    def plain(e):
        return {**e, **{k: _json_value(e[k]) for k in _MEASURED},
                "kpi": {k: _json_value(v) for k, v in e["kpi"].items()}}
    doc = {"sweep": sweep.name, "seed": sweep.seed, "replicates": sweep.replicates,
           "axes": [a.name for a in sweep.axes], "runs": [plain(e) for e in entries.values()]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns: the output folder and its files, the run table (one row
    per run), the summary (one row per point) and how many runs were ``ran`` now and ``skipped``
    (done before with the same hash)."""

    out: Path
    manifest: Path
    runs_path: Path
    summary_path: Path
    plots: list[Path]
    runs: pd.DataFrame
    summary: pd.DataFrame
    ran: int
    skipped: int

    @property
    def failed(self) -> int:
        return int((self.runs.status == "failed").sum())


def run_sweep(spec, out=None, *, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True) -> SweepResult:
    """Run sweep ``spec`` (a :class:`Sweep`, a sweep TOML path or text, or a dict) into ``out``
    (default ``results/sweeps/<name>``): the runs not done before, on a new LocalCluster of
    ``workers`` processes or on the cluster at ``scheduler``; then the tables and plots."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    sweep = load(spec)
    out = Path(out if out is not None else Path("results/sweeps") / sweep.name).resolve()
    (out / "runs").mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.json"
    before = read_manifest(manifest)
    entries, todo = {}, []
    for run in sweep.runs(out):
        old = before.get(run.run_id)
        if old and old["status"] == "done" and old["hash"] == run.hash and Path(old["path"]).exists():
            entries[run.run_id] = old
        else:
            entries[run.run_id] = _entry(run)
            todo.append(run)
    _write_manifest(manifest, sweep, entries)
    if todo:
        with client(workers, scheduler) as c:
            futures = {c.submit(execute, run.scenario, pure=False): run for run in todo}
            for fut in tqdm(as_completed(futures), total=len(todo), desc=sweep.name, unit="run",
                            disable=not progress):
                try:
                    result = fut.result()
                except Exception as exc:  # the worker died (KilledWorker) or the task was lost
                    result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                entries[futures[fut].run_id].update(result)
                fut.release()
                _write_manifest(manifest, sweep, entries)
    runs = run_table(sweep, entries.values())
    runs_path, summary_path = out / "runs.parquet", out / "summary.csv"
    runs.to_parquet(runs_path, index=False)
    table = summary(sweep, runs)
    table.to_csv(summary_path, index=False)
    plots = [plot(sweep, runs, k, out / f"{k}.png") for k in SUMMARY_KPIS if k in runs]
    return SweepResult(out, manifest, runs_path, summary_path, plots, runs, table, len(todo),
                       len(entries) - len(todo))


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

