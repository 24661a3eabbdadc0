"""The contract between the OPF core and its device blocks.

A device block is one family of units (all heat pumps, all EVs, ...) over the horizon, built once
with cvxpy variables of shape (n_units, T) and cvxpy Parameters for everything that changes between
solves, so the problem stays DPP and is compiled once and re-solved by setting ``.value``.

The core (controllers.opf.problem) owns the horizon, the network and the price/weight Parameters;
it calls, for every block, once: ``build(ctx)``; then per solve: ``set_data(**data)`` and, after the
solve, ``plan()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from cosim_base.errors import ConfigError, check


@dataclass
class Context:
    """What a block may use while building: horizon, bases and shared Parameters.

    T: number of periods; dt_h: period length in hours; s_base_mva: power base of the problem
    (blocks keep their own variables in kW or MW as they document; injections are returned in MW).
    params: shared Parameters by name, e.g. ``"price_import"`` (T,) in currency/MWh,
    ``"price_export"`` (T,), ``"t_out_c"`` (T,), ``"ghi_kw_m2"`` (T,).
    """

    T: int
    dt_h: float
    s_base_mva: float = 1.0
    params: dict[str, cp.Parameter] = field(default_factory=dict)

    def shared(self, name: str, shape=None, **kw) -> cp.Parameter:
        """Return the shared Parameter ``name`` (created on first use with ``shape``, default (T,))."""
        if name not in self.params:
            self.params[name] = cp.Parameter(shape if shape is not None else (self.T,), name=name, **kw)
        return self.params[name]


@dataclass
class Discrete:
    """A variable the seeds treat as integer, relaxed to ``[lo, hi]`` by default.

    ``lo``/``hi`` are Parameters of the variable's shape, so the core can fix a rounded value by
    setting ``lo.value = hi.value = rounded`` and re-solving the same compiled problem.
    ``step`` is the integer grid spacing of the variable (1 for tap positions and on/off).
    ``grid``, when given, lists the allowed values instead (sorted, not evenly spaced; e.g. the OLTC
    variable 1/ratio^2). The core adds ``lo <= var <= hi`` for every Discrete (a block may add it
    too) and restores ``lo``/``hi`` after a fixed re-solve.
    """

    var: cp.Variable
    lo: cp.Parameter
    hi: cp.Parameter
    step: float = 1.0
    grid: np.ndarray | None = None

    def unmet(self, rounded: np.ndarray, tol: float) -> np.ndarray:
        """Where the solved (relaxed) problem does not already hold with this Discrete at
        ``rounded``: here, where its value is more than ``tol`` grid steps from it."""
        spacing = self.step if self.grid is None else float(np.diff(self.grid).min())
        return np.abs(np.asarray(rounded) - self.var.value) > tol * spacing

    def rounded(self, value: np.ndarray) -> np.ndarray:
        """``value`` moved to the nearest allowed value, kept within the current [lo, hi]."""
        if self.grid is None:
            out = np.round(np.asarray(value) / self.step) * self.step
        else:
            g = np.asarray(self.grid)
            out = g[np.abs(np.asarray(value)[..., None] - g).argmin(axis=-1)]
        return np.clip(out, self.lo.value, self.hi.value)


class Block:
    """Base class of device blocks.

    Attributes set by ``build``:
      bus: int array (n_units,) -- bus index of each unit in the network's bus order
      p_mw, q_mvar: cvxpy expressions (n_units, T) drawn from the grid (consumer convention)
      constraints: list of cvxpy constraints
      cost: scalar cvxpy expression in currency units over the horizon (0 if none)
      discrete: list of :class:`Discrete`
    """

    name: str = "block"

    def __init__(self):
        self.bus = np.zeros(0, dtype=int)
        self.p_mw: cp.Expression | None = None
        self.q_mvar: cp.Expression | None = None
        self.constraints: list = []
        self.cost: cp.Expression = cp.Constant(0.0)
        self.discrete: list[Discrete] = []

    @property
    def n(self) -> int:
        return len(self.bus)

    def build(self, ctx: Context) -> None:
        raise NotImplementedError

    def set_data(self, **data) -> None:
        """Set this block's Parameters (initial states, forecasts, bounds) before a solve.

        Unknown keys and wrong shapes raise ConfigError naming the key.
        """
        raise NotImplementedError

    def plan(self) -> dict[str, np.ndarray]:
        """After a solve: the block's decisions and states as arrays (n_units, T) or (n_units, T+1)."""
        raise NotImplementedError


def set_params(owner: str, spec: dict, data: dict) -> None:
    """Validate ``data`` against ``spec`` (key -> (Parameter, lo, hi)) and set the values.

    A Parameter of shape (n, T) accepts a scalar, (T,) (same for all units) or (n, T); one of
    shape (n,) or (T,) accepts a scalar or that shape. Unknown keys, other shapes and values out
    of [lo, hi] raise ConfigError naming ``owner.key``.
    """
    unknown = set(data) - set(spec)
    if unknown:
        raise ConfigError(f"{owner}.set_data: unknown key(s) {sorted(unknown)}; allowed: {sorted(spec)}")
    for key, value in data.items():
        param, lo, hi = spec[key]
        # checked_value holds the shape and [lo, hi] (a make_spec Parameter is nonneg iff lo >= 0), so
        # cvxpy's own check of the value (75 us a Parameter, 46 per real-time decision) is skipped
        param.save_value(checked_value(owner, key, value, param.shape, lo, hi))


def checked_value(owner: str, key: str, value, shape: tuple, lo, hi) -> np.ndarray:
    """``value`` as an array of ``shape`` (from a scalar, ``shape[1:]`` or ``shape``), within
    [lo, hi]; a ConfigError names ``owner.key`` otherwise."""
    arr = np.asarray(value, dtype=float)
    if arr.shape not in {(), shape, shape[1:]}:
        alt = f", {shape[1:]}" if len(shape) == 2 else ""
        raise ConfigError(f"{owner}.set_data: {key} has shape {arr.shape}, expected {shape}"
                          f" (or a scalar{alt})")
    return np.broadcast_to(check(f"{owner}.{key}", arr, lo, hi), shape).copy()


def make_spec(owner: str, entries: dict) -> dict:
    """Parameters of a block for :func:`set_params`: key -> (shape, default or None, lo, hi).

    Each Parameter is named ``owner.key`` (the core lists unset Parameters by name), is nonneg
    when ``lo`` >= 0 (so it may scale a cost in DPP) and starts at ``default`` if one is given.
    """
    spec = {}
    for key, (shape, default, lo, hi) in entries.items():
        p = cp.Parameter(shape, name=f"{owner}.{key}", nonneg=lo is not None and lo >= 0)
        if default is not None:
            p.value = np.broadcast_to(np.asarray(default, float), shape).copy()
        spec[key] = (p, lo, hi)
    return spec
