"""Seed studies: run named cases of one scenario on one seed, set our figures beside a paper's.

A study is a module ``cosim.studies.<name>`` (one per seed paper) with

* ``SCENARIO``: its base scenario file (under ``scenarios/``),
* ``run(out_dir, hours=None, seed=None) -> pandas.DataFrame``: runs the study's cases and returns
  its results table (:func:`table` of :class:`Row`),

and ``cosim study <name> [--hours H] [--seed S] [--out DIR]`` runs it, prints the table and writes
it as CSV and Markdown (:func:`write_table`). Every case runs on the base scenario's seed, so all
cases see the same weather, loads, EV sessions and forecast errors (common random numbers).
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from cosim_base.errors import ConfigError
from cosim.scenario import Scenario, load

#: study name -> module (the command's choices)
STUDIES = ("seed000", "seed001", "seed002", "seed003")
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Row:
    """One line of a study's results table: ``paper`` is the published figure (None if the paper
    gives none), ``ours`` the measured one, in ``unit``; ``note`` says why they differ."""

    metric: str
    paper: float | None
    ours: float
    unit: str = ""
    note: str = ""


def scenario(path: str | Path, hours: float | None = None, seed: int | None = None,
             changes: Mapping[str, object] | None = None) -> Scenario:
    """A study's base scenario (path relative to the repository root), optionally shortened to
    ``hours``, reseeded and with dotted ``changes`` (e.g. a smaller device set for a test)."""
    sc = load(ROOT / path)
    changes = dict(changes or {})
    if hours is not None:
        changes["duration_s"] = int(round(hours * 3600))
    if seed is not None:
        changes["seed"] = seed
    return sc.updated(changes) if changes else sc


def run_cases(base: Scenario, cases: Mapping[str, Mapping[str, object]], out_dir: str | Path,
              runner: Callable[[Scenario], Path] | None = None, overwrite: bool = False) -> dict[str, Path]:
    """Run ``base.updated(changes)`` for every case (name -> dotted overrides) into
    ``out_dir/<name>.h5``, one after another; name -> record. All cases are validated first, and
    no existing record is replaced unless ``overwrite`` (cosim.world.run_all)."""
    from cosim.world import run_all

    out_dir = Path(out_dir)
    scs = {name: base.updated({**changes, "output": str(out_dir / f"{name}.h5")}) for name, changes in cases.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    return run_all(scs, runner, overwrite)


def kpis(paths: Mapping[str, Path]) -> pd.DataFrame:
    """cosim.kpi.compute of every record: one row per case, one column per KPI."""
    from cosim import kpi

    return pd.DataFrame({name: kpi.compute(p) for name, p in paths.items()}).T


def change_pct(new: float, ref: float) -> float:
    """Relative change of ``new`` against ``ref`` in % (NaN if ``ref`` is 0)."""
    return 100.0 * (new - ref) / abs(ref) if ref else math.nan


def table(rows: list[Row]) -> pd.DataFrame:
    """The results table: one row per :class:`Row`."""
    return pd.DataFrame([asdict(r) for r in rows], columns=["metric", "paper", "ours", "unit", "note"])


def _cell(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.4g}" if isinstance(x, float) else str(x).replace("|", "\\|")


def markdown(df: pd.DataFrame) -> str:
    """A pipe table of ``df`` (numbers to 4 significant digits, missing as "-")."""
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, out_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``df`` as ``out_dir/<name>.csv`` and ``.md``; kind -> path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out_dir / f"{name}.csv", "md": out_dir / f"{name}.md"}
    df.to_csv(paths["csv"], index=False)
    paths["md"].write_text(markdown(df))
    return paths


def study(name: str):
    """The study module ``cosim.studies.<name>``."""
    if name not in STUDIES:
        raise ConfigError(f"study = {name!r} must be one of {', '.join(STUDIES)}")
    return importlib.import_module(f"cosim.studies.{name}")
