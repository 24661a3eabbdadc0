"""What a device kind declares, in one place, for every layer that handles it.

A kind (one module under ``devices/``, registered in :data:`devices.REGISTRY`) is a
:class:`DeviceKind` subclass that states:

* the plant: its fleet model (``fleet_cls``, pure numpy), the parameters a scenario's
  ``[[devices.<Kind>]]`` group may give (``group_params``, from the fleet's constructor; values
  are range-checked by the fleet constructor, which names the field and its range), and how a
  fleet is made for a run (:meth:`DeviceKind.make_fleet`);
* mosaik: the model name of its entities (``model``; also the record group ``plant/<model>``);
  inputs and outputs are the fleet's ``INPUTS``/``OUTPUTS`` (devices.sim.DeviceSim);
* the controller: what it measures and what it sets (:class:`Signal` tuples with unit, sign and
  range; a NaN setpoint is the unit's own local control), the state before the first report (:meth:`DeviceKind.initial`), the
  forecast signals the kind's truth provides (:meth:`DeviceKind.truth`), its OPF blocks
  (:meth:`DeviceKind.blocks`), how measurements and forecasts become block data
  (:meth:`DeviceKind.block_data`), which plan arrays are kept (``plan_keys``) and how a plan
  becomes setpoints (:meth:`DeviceKind.dispatch`);
* the record and the KPIs: the attributes recorded per unit (``recorded``), the KPIs it
  contributes (:meth:`DeviceKind.kpis`) and which of them enter ``cost_total`` (``costs``).

Layer: above the plant models (simulators) and the OPF blocks (controllers.opf), below the
controller, the world and the KPIs that iterate over the registry. Nothing here imports cosim.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Signal:
    """One value a controller reads or sets on every unit of a kind: ``name`` (the mosaik
    attribute), ``unit``, ``description`` (sign convention included) and its range."""

    name: str
    unit: str
    description: str
    lo: float = -math.inf
    hi: float = math.inf


@dataclass
class StageData:
    """What a kind's controller hooks see at one stage decision (controllers.multistage).

    ``stage``: "da" | "id" | "rt"; periods ``t_s + k dt_s``, ``k < T``; ``fleet``/``index``: the plant
    fleet and the block's rows in it; ``meas``: this kind's measurements (attr -> (n_fleet,)),
    ``forecast``: signal -> (units, T) or (1, T); ``upper``: the plan in force of the next slower
    stage (None for the slowest); ``da``: the day-ahead plan in force; ``problem``: the stage's
    compiled OPFProblem; ``costs``: controllers.model.CostParams; ``options``: controller options
    (e.g. ``ev_schedule``); ``terminal``: the kind's stored state (its ``storage`` attribute, over
    the fleet's units) the run ends at, given when this stage's horizon reaches the run's end.
    """

    stage: str
    t_s: int
    dt_s: int
    T: int
    fleet: Any
    index: np.ndarray
    meas: dict
    forecast: dict
    upper: Any
    da: Any
    problem: Any
    costs: Any
    options: dict
    terminal: np.ndarray | None = None

    @property
    def horizon_end_s(self) -> int:
        return self.t_s + self.T * self.dt_s

    def upper_state(self, key: str):
        """The slower plan's state ``key`` at the horizon end, or None without one."""
        if self.upper is None or key not in self.upper.x:
            return None
        return self.upper.state_at(key, self.horizon_end_s)

    def end_state(self, key: str, scale: float = 1.0):
        """The state ``key`` the block ends its horizon at: the run's terminal state of the block's
        units (``terminal`` times ``scale``, into the plan's unit) when the horizon reaches the
        run's end, else :meth:`upper_state`."""
        return self.terminal[self.index] * scale if self.terminal is not None else self.upper_state(key)

    def fixed_positions(self, key: str, measured: np.ndarray) -> np.ndarray:
        """Positions of a slow device (taps, capacitor steps) fixed for a later stage: the
        day-ahead plan's at these periods, else the measured position held. (n, T) integers as
        floats."""
        if self.da is not None and key in self.da.x:
            return np.rint(self.da.held(key, self.t_s, self.dt_s, self.T))
        return np.repeat(np.rint(measured)[:, None], self.T, axis=1)


class DeviceKind:
    """Declaration of one device kind (see the module docstring); subclasses set the class
    attributes and override the hooks their kind needs."""

    name: ClassVar[str] = ""  # scenario and plant key, e.g. "Battery"
    model: ClassVar[str] = ""  # mosaik model and record group plant/<model>
    fleet_cls: ClassVar[type | None] = None  # None: a device of the grid simulator
    #: Fleet constructor arguments the plant supplies (never a scenario's).
    plant_supplied: ClassVar[tuple[str, ...]] = ()
    #: Group parameters that are text (one value per group), passed to make_fleet per unit.
    text_params: ClassVar[tuple[str, ...]] = ()
    measured: ClassVar[tuple[Signal, ...]] = ()
    setpoints: ClassVar[tuple[Signal, ...]] = ()
    recorded: ClassVar[tuple[str, ...]] = ()
    #: OPF block name -> plan arrays kept per decision.
    plan_keys: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Block name -> the stage whose plan the plant follows: "da", "id" (the day-ahead one
    #: without an intraday stage) or "fastest" (the default).
    owner: ClassVar[dict[str, str]] = {}
    #: Blocks fixed to the intraday plan in the real-time stage (seed 001): block -> (plan key,
    #: sign of that key as a grid draw).
    rt_fixed: ClassVar[dict[str, tuple[str, float]]] = {}
    #: KPI key -> sign in cost_total.
    costs: ClassVar[dict[str, float]] = {}
    #: Energy the kind stores: (recorded state in kWh, kWh of electricity per kWh stored), or None.
    #: The factor is the fleet's default charging efficiency or COP (est.), so that a run that
    #: ends with more or less in store can be costed net of it (cosim.kpi).
    storage: ClassVar[tuple[str, float] | None] = None

    # ---------------------------------------------------------------- plant
    def group_params(self) -> dict[str, bool]:
        """Parameters a device group may give: name -> required (no default)."""
        params = inspect.signature(self.fleet_cls.__init__).parameters
        return {k: p.default is inspect.Parameter.empty for k, p in params.items()
                if k not in ("self", "n", "params", "kwargs", *self.plant_supplied)}

    def defaults(self) -> dict:
        """Fleet defaults of the group parameters (None where there is none)."""
        params = inspect.signature(self.fleet_cls.__init__).parameters
        return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}

    def parse_param(self, key: str, value):
        """A kind-specific group parameter as plain immutable data, or NotImplemented to leave
        it to the scenario's generic number / bool / list check."""
        return NotImplemented

    def case_params(self, case: pd.DataFrame, per_bus: int) -> dict[str, np.ndarray]:
        """Defaults a group takes from the network's case data at its buses (``case``: load-site
        rows of networks.load_sites reindexed to the group's buses)."""
        return {}

    def make_fleet(self, spec, n: int, params: dict, rng: np.random.Generator):
        """The fleet of ``n`` units with per-unit ``params`` for the run ``spec``
        (simulators.spec.PlantSpec: start, duration_s, data_s, step_s, weather_data(), ...)."""
        return self.fleet_cls(n, **params)

    # ---------------------------------------------------------------- controller
    def initial(self, fleet) -> dict[str, np.ndarray]:
        """Measured attributes at t = 0, before the plant's first report."""
        return {}

    def truth(self, fleet) -> dict[str, tuple[Callable, np.ndarray | None]]:
        """Forecast signals of this kind: name -> (mean(t0_s, dt_s, T) -> (units, T) in kW,
        capacity in kVA for "capacity" errors or None)."""
        return {}

    def blocks(self, fleet, ctx) -> list[tuple[Any, np.ndarray]]:
        """OPF blocks of the fleet and the fleet rows of each: [(block, index)]. ``ctx``
        (controllers.model.ModelContext): ``bus_of(kind, idx)``, ``val(kind, key, v, idx)``
        (a parameter with its mismatch factor), ``costs``."""
        return []

    def net_blocks(self, net, rn) -> list[tuple[Any, np.ndarray]]:
        """OPF blocks of a grid device kind, from the network."""
        return []

    def block_data(self, name: str, d: StageData) -> dict | None:
        """Data of block ``name`` at one decision (its ``set_data`` keys); None: none to set."""
        return None

    def network_data(self, d: StageData) -> dict:
        """Network-level OPF data this kind sets (e.g. the OLTC's fixed taps)."""
        return {}

    def dispatch(self, name: str, plan, k: int | None, put: Callable) -> None:
        """Setpoints from block ``name`` of ``plan`` at column ``k`` (None: no plan in force,
        local control): ``put(attr, values)`` over the block's units."""

    def dispatch_network(self, da, k: int | None, put: Callable) -> None:
        """Setpoints of a grid device kind from the day-ahead plan's network part."""

    # ---------------------------------------------------------------- KPIs
    def kpis(self, get: Callable[[str], pd.DataFrame | None], dt_h: float, control) -> dict[str, float]:
        """KPIs from the record: ``get(attr)`` is this kind's plant series (steps x units) or
        None; ``dt_h`` the plant step in h; ``control`` the scenario's ControlConfig."""
        return {}


def column(plan, key: str, k: int | None, n: int) -> np.ndarray:
    """Plan array ``key`` at column ``k``; NaN (local control) without a plan in force."""
    return plan.x[key][:, k] if k is not None else np.full(n, np.nan)


def series_sum(df: pd.DataFrame | None, dt_h: float, f=lambda x: x) -> float:
    """Sum of ``f(values)`` x dt_h over a series, NaN left out (0 without the series)."""
    return float(np.nansum(f(df.to_numpy())) * dt_h) if df is not None else 0.0


def series_last(df: pd.DataFrame | None) -> float:
    """Sum over entities of the last row of a cumulative series (0 without the series)."""
    return float(np.nansum(df.ffill().iloc[-1].to_numpy())) if df is not None and len(df) else 0.0
