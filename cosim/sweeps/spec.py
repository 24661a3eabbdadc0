"""A sweep file read and validated: axes, points, replicates and their common random numbers,
one validated scenario per run."""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomli_w

from cosim.scenario import Scenario, load as load_scenario
from cosim_base.errors import ConfigError

#: KPIs summarized and plotted per point (cosim.kpi): total cost and voltage violations.
SUMMARY_KPIS = ("cost_total", "v_violation_pu_h", "v_violation_h")
#: Share of the worst replicates averaged by CVaR95.
CVAR_TAIL = 0.05
#: Per-run fields of the manifest and the run table; axis names may not take them.
RUN_FIELDS = ("run_id", "replicate", "seed", "hash", "status", "path", "error", "wall_s", "worker",
              "rss_mb", "finished_unix_s")
#: Dask config of the LocalCluster. No statistical profiler on the workers: its call trees of every
#: run's mosaik and cvxpy stacks are kept for an hour (distributed.worker.profile) and grew a
#: worker by about 2 MB per run (benchmarks/bench_sweep.py); without it the RSS stays flat. A run
#: whose worker process dies is run again on a fresh worker once; a second death fails that run
#: (KilledWorker), never the sweep. A worker holds one run at a time (worker-saturation 1.0), so a
#: death is charged to the run that caused it only, and runs queue at the scheduler.
CLUSTER_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.scheduler.allowed-failures": 1,
                  "distributed.scheduler.worker-saturation": 1.0}
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
    """sha256 (hex) of the scenario's TOML text without its output path: the run's content only,
    so a moved output folder keeps its finished runs."""
    doc = tomllib.loads(sc.to_toml())
    doc.pop("output", None)
    return hashlib.sha256(tomli_w.dumps(doc).encode()).hexdigest()


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
