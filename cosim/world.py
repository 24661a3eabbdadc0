"""World assembly: a scenario in, one HDF5 record out.

:func:`run` validates the scenario, builds everything before the clock starts (plant fleets and
grid, truth and forecast errors, the controller's compiled OPF problems, the recorder) and runs
mosaik. Data flow (all simulators in-process)::

    Forecast (one entity per stage)  --forecast-------------------------->  Controller
    fleets, Trafo, Capacitor         --measurements (time_shifted)-------->  Controller
    Controller                       --"<eid>.<attr>" setpoints---------->  fleets (lists), Trafo, Capacitor, SVC
    fleets                           --bus_p_mw, bus_q_mvar (per bus)---->  Grid
    Grid, BusSet, ..., fleets        --RECORDED values------------------->  Recorder (HDF5)
    Controller                       --log (decisions, plans, telemetry)->  Recorder

A fleet is one entity (lists over its units, simulators.fleet_sim) and the grid's elements of a
kind one set entity (dicts, simulators.grid_sim), so mosaik's exchange does not grow with the
units; the single units and elements stay entities for whoever connects to them.
With ``control.stages = ()`` no controller is started: every device runs its own local control
(the uncoordinated case). The recorder writes its buffered rows every 240 steps or 30 s of wall
time and at the end, so a crash or a Ctrl-C keeps every step and a kill every step written by then. A run never replaces
an existing record unless ``overwrite``; it writes a temporary file that becomes the record only
when the world reached its end (cosim.record); a run stopped before (Ctrl-C, a failed simulator)
raises :class:`RunIncomplete` naming its partial file.
"""
from __future__ import annotations

import copy
import math
import shlex
import sys
import importlib.metadata as md
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import mosaik
import numpy as np
import pandas as pd

from controllers.contract import Controller, PlantInfo
from controllers.controller_sim import MEASURED, SETPOINTS
from devices import REGISTRY, grid_kinds
from controllers.model import CostParams, mismatch_factors
from controllers.multistage import MultiStageController, Stage
from cosim_base.errors import ConfigError, CosimError
from cosim_base.interrupt import STOP, sigint_deferred, stop_on_sigint
from cosim.kpi import stored_states
from cosim.plant import SIMULATORS, Plant, build_plant, default_devices
from cosim.record import partial_paths, read, refuse_existing
from cosim.scenario import Scenario, load
from cosim_base.seeds import stream
from simulators import data
from simulators.grid_sim import SET
from simulators.forecast import ErrorSpec, ForecastErrors, Forecaster, StageGrid, Truth

#: mosaik simulators besides the plant's.
EXTRA_SIMULATORS = {
    "Forecast": "simulators.forecast_sim:ForecastSim",
    "Controller": "controllers.controller_sim:ControllerSim",
    "Recorder": "cosim.recorder_sim:RecorderSim",
}
#: True-plant attributes recorded per entity type: the grid's own, then every registry kind's.
RECORDED = {
    "Grid": ("p_loss_mw", "q_loss_mvar", "p_ext_mw", "q_ext_mvar", "converged", "v_min_pu", "v_max_pu"),
    "Bus": ("vm_pu", "p_mw", "q_mvar"),  # the net draw of each bus (the sum of its devices)
    "Line": ("loading_percent",),
    **{name: k.recorded for name, k in REGISTRY.items()},
}
PACKAGES = ("mosaik", "mosaik-api-v3", "pandapower", "lightsim2grid", "cvxpy", "clarabel", "numpy", "pandas",
            "scipy", "h5py", "pvlib", "simbench")


def sim_config() -> dict:
    return {**{name: {"python": target} for name, (target, _) in SIMULATORS.items()},
            **{name: {"python": target} for name, target in EXTRA_SIMULATORS.items()},
            "ControllerProcess": {"cmd": f"{shlex.quote(sys.executable)} -m cosim.controller_process %(addr)s"}}


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("cosim",) + PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


@dataclass
class Parts:
    """Everything a run is made of, built before the clock starts."""

    scenario: Scenario
    net: object
    devices: object
    controller: Controller | None
    forecaster: Forecaster | None
    price: object


def tariff(sc: Scenario) -> pd.DataFrame:
    """Buy and sell price per MWh at the plant step over the run and its lookahead, indexed by t_s:
    the scenario's price file (sell from its sell column, else buy x export_price_ratio) or the
    time-of-use table."""
    spec = sc.plant_spec()
    if sc.data.is_file("prices"):
        tab = data.file_price(spec.start_at, spec.data_s, spec.step_s, sc.data.prices, sc.data.tz)
        if "sell_per_mwh" in tab:
            return tab
    else:
        tab = data.tou_price(sc.start, spec.data_s, spec.step_s, dict(sc.data.prices_per_mwh))
    tab["sell_per_mwh"] = tab.buy_per_mwh * sc.control.export_price_ratio
    return tab


def prices(tab: pd.DataFrame):
    """Per-period mean prices from the tariff: a callable (t0_s, dt_s, T) -> (buy, sell) per MWh."""
    step = int(tab.index[1] - tab.index[0])
    cum = np.vstack([np.zeros((1, 2)), np.cumsum(tab[["buy_per_mwh", "sell_per_mwh"]].to_numpy(), axis=0)])

    def price(t0_s: int, dt_s: int, T: int):
        edges = (t0_s + dt_s * np.arange(T + 1)) // step
        if edges[-1] >= len(cum) or dt_s % step:
            raise ConfigError(f"prices: periods of {dt_s} s up to {t0_s + T * dt_s} s do not fit the tariff "
                              f"({step} s steps to {len(tab) * step} s)")
        mean = np.diff(cum[edges], axis=0) / (dt_s // step)
        return mean[:, 0], mean[:, 1]
    return price


def truth(devices, weather) -> Truth:
    """The true signals the forecaster may look at (kW for powers, degC, kW/m2): every fleet's
    (DeviceKind.truth) and the weather's."""
    signals, capacity = {}, {}
    for kind, fleet in devices.fleets.items():
        for name, (mean, cap) in REGISTRY[kind].truth(fleet).items():
            signals[name] = mean
            if cap is not None:
                capacity[name] = cap
    frame = weather.frame
    t_idx = frame.index.to_numpy()

    def weather_mean(col, scale=1.0):
        vals = frame[col].to_numpy(float) * scale
        step = int(t_idx[1] - t_idx[0])
        cum = np.concatenate([[0.0], np.cumsum((vals[:-1] + vals[1:]) / 2)]) * step  # trapezoid

        def mean(t0_s, dt_s, T):
            edges = (t0_s + dt_s * np.arange(T + 1)) // step
            return (np.diff(cum[edges]) / dt_s)[None, :]
        return mean
    signals["t_out_c"] = weather_mean("t_out_c")
    signals["ghi_kw_m2"] = weather_mean("ghi_w_m2", 1e-3)
    return Truth(signals, capacity)


def terminal_states(path: str, duration_s: int, fleets: dict) -> dict[str, np.ndarray]:
    """Per storing kind, its stored state per unit at the end of the record ``path``
    (cosim.kpi.stored_states), checked against this run's length and fleets (``control.terminal``)."""
    key = f"control.terminal = {path!r}"
    if not Path(path).is_file():
        raise ConfigError(f"{key}: no such record (run the scenario it names first)")
    rec = read(path)
    if not rec.complete or int(rec.meta["duration_s"]) != duration_s:
        raise ConfigError(f"{key}: a complete record of {duration_s} s is needed, it is "
                          f"{'complete' if rec.complete else 'partial'} of {rec.meta['duration_s']} s")
    out = {}
    for kind, (_, end) in stored_states(rec).items():
        n = fleets[kind].n if kind in fleets else 0
        if len(end) != n:
            raise ConfigError(f"{key}: it records {len(end)} {kind} units, this plant has {n}")
        out[kind] = end
    return out


def build_parts(sc: Scenario) -> Parts:
    """Fleets, network, forecaster and controller of scenario ``sc`` (no mosaik yet)."""
    spec = sc.plant_spec()
    net, devices = default_devices(spec, sc.devices, sc.device_preset)
    if not devices.fleets:
        raise ConfigError("devices: the scenario has no devices (device_preset = 'none' and no groups)")
    price = prices(tariff(sc))
    c = sc.control
    if not c.active() or c.process == "separate":  # a separate process builds its own (cosim.controller_process)
        return Parts(sc, net, devices, None, None, price)
    requests = c.forecast_requests()
    forecaster = None
    if requests:
        tr = truth(devices, spec.weather_data())
        fc = sc.forecast
        specs = {s: ErrorSpec(**e.to_dict()).scaled(fc.error_scale) for s, e in fc.errors.items() if s in tr.signals}
        n_units = {s: tr.signals[s](0, fc.res_s, 1).shape[0] for s in specs}
        errors = ForecastErrors(specs, n_units, spec.data_s, res_s=fc.res_s, seed=sc.seed, perfect=fc.perfect,
                                growth=fc.growth)
        forecaster = Forecaster(tr, errors, {r.level: StageGrid(r.dt_s, r.T) for r in requests})
    if c.controller != "multistage":
        plant = PlantInfo(copy.deepcopy(net), devices.fleets, devices.bus_pos, spec.step_s, str(sc.start),
                          spec.duration_s, sc.seed, price)
        ctl = c.controller_class()(plant, **c.params)
        if ctl.step_s <= 0 or ctl.step_s % spec.step_s:
            raise ConfigError(f"control.controller {c.controller!r}: step_s = {ctl.step_s} must be a positive "
                              f"multiple of step_s = {spec.step_s}")
        return Parts(sc, net, devices, ctl, forecaster, price)
    used = c.used()
    stages = [Stage(k, st.every_s, st.dt_s, st.T, st.offset_s, st.track_weight, st.v_margin_pu, st.comfort_margin_k)
              for k, st in used.items()]
    ctl = MultiStageController(
        copy.deepcopy(net), devices.fleets, devices.bus_pos, stages, price,
        costs=CostParams(c.discomfort_cost_per_kh, c.ess_cost_per_mwh, c.ev_comp_per_mwh, c.ev_shortfall_cost_per_mwh),
        opf=dict(v_min_pu=c.v_min_pu, v_max_pu=c.v_max_pu, v_violation_cost=c.v_violation_cost, formulation=c.formulation,
                 weights={"peak": c.peak_weight}),
        fallback=c.fallback, loss_price_per_mwh=c.loss_price_per_mwh, passive=c.passive,
        mismatch=mismatch_factors(devices.fleets, c.mismatch_rel, stream(sc.seed, "control", "mismatch"))
        if c.mismatch_rel else None, ev_schedule=c.ev_schedule, seed=sc.seed,
        ev_error_scale=0.0 if sc.forecast.perfect else sc.forecast.error_scale,
        terminal=(spec.duration_s, terminal_states(c.terminal, spec.duration_s, devices.fleets)) if c.terminal else None,
        aggregate=c.aggregate)
    return Parts(sc, net, devices, ctl, forecaster, price)


def initial_measurements(parts: Parts) -> dict[str, dict[str, np.ndarray]]:
    """What the controller holds before the plant's first report: the states at t = 0
    (DeviceKind.initial) of every measured kind (controllers.controller_sim.MEASURED) the plant has;
    grid device kinds read theirs from the network."""
    f = parts.devices.fleets
    sources = {**{k: parts.net for k in grid_kinds()}, **f}
    return {kind: {a: v for a, v in REGISTRY[kind].initial(sources[kind]).items() if a in attrs}
            for kind, attrs in MEASURED.items() if kind in sources}


class RunIncomplete(CosimError):
    """The world stopped before the scenario's end; the partial record is kept."""


def assemble(world: mosaik.World, parts: Parts, path: Path, overwrite: bool = False) -> dict:
    """Start and connect every simulator of ``parts`` in ``world``; return the main entities."""
    sc = parts.scenario
    spec = sc.plant_spec()
    plant: Plant = build_plant(world, spec, parts.net, parts.devices)
    grid_units = {k.name: [e for e in plant.grid.children if e.type == k.model] for k in grid_kinds().values()}
    net = parts.net
    hv = sorted({f"Bus_{b}" for b in net.ext_grid.bus} | {f"Bus_{b}" for b in net.trafo.hv_bus})
    meta = {"scenario_toml": sc.to_toml(), "versions": versions(), "name": sc.name, "seed": sc.seed,
            "start": str(sc.start), "step_s": spec.step_s, "duration_s": spec.duration_s,
            "network": sc.network, "stages": ",".join(sc.control.used()), "controller": sc.control.controller,
            "hv_buses": ",".join(hv)}  # slack and transformer HV side: outside the feeder's band
    tab = tariff(sc)
    rec = world.start("Recorder", step_size=spec.step_s, path=str(path), meta=meta,
                      until=spec.duration_s, overwrite=overwrite,
                      tables={"data/Tariff": tab[tab.index < spec.duration_s]}).Recorder()
    world.connect(plant.grid, rec, *RECORDED["Grid"])
    for e in plant.grid.children:  # each element kind in one connection (simulators.grid_sim SETS)
        if e.type.endswith(SET) and e.type.removesuffix(SET) in RECORDED:
            world.connect(e, rec, *RECORDED[e.type.removesuffix(SET)])
    for kind, whole in plant.fleets.items():
        world.connect(whole, rec, *RECORDED[kind])
    out = {"plant": plant, "recorder": rec}
    if not sc.control.active():
        return out
    entities = {**plant.units, **{k: v for k, v in grid_units.items() if v}}
    units = {kind: [e.eid for e in ents] for kind, ents in entities.items()}
    fleets = {kind: whole.eid for kind, whole in plant.fleets.items()}
    initial = initial_measurements(parts)
    if sc.control.process == "separate":
        csim = world.start("ControllerProcess", scenario_toml=sc.to_toml(), units=units, fleets=fleets)
    else:
        csim = world.start("Controller", controller=parts.controller, units=units, price=parts.price, fleets=fleets)
    ce = csim.Controller()
    if parts.forecaster is not None:
        fsim = world.start("Forecast", forecaster=parts.forecaster)
        for r in sc.control.forecast_requests():  # at 0 and at every issue time
            fe = fsim.Forecast(stage=r.level, every_s=math.gcd(r.every_s, r.offset_s), offset_s=0)
            world.connect(fe, ce, "forecast")
    for kind, whole in plant.fleets.items():  # a fleet: one connection each way
        attrs, sp = MEASURED.get(kind, ()), SETPOINTS.get(kind, ())
        if attrs:
            world.connect(whole, ce, *attrs, time_shifted=True,
                          initial_data={a: np.asarray(initial[kind][a], float).tolist() for a in attrs})
        if sp:
            world.connect(ce, whole, *[(f"{whole.eid}.{a}", a) for a in sp])
    for kind, ents in grid_units.items():
        for i, e in enumerate(ents):
            attrs, sp = MEASURED.get(kind, ()), SETPOINTS.get(kind, ())
            if attrs:
                world.connect(e, ce, *attrs, time_shifted=True,
                              initial_data={a: float(initial[kind][a][i]) for a in attrs})
            if sp:
                world.connect(ce, e, *[(f"{e.eid}.{a}", a) for a in sp])
    world.connect(ce, rec, "log")
    out["controller"] = ce
    return out


def run(scenario: Scenario | str | os.PathLike, *, out: str | os.PathLike | None = None,
        seed: int | None = None, progress: bool = False, overwrite: bool = False) -> Path:
    """Run ``scenario`` (object, TOML path or text) and return the path of its HDF5 record.

    ``out`` and ``seed`` override the scenario's output path and seed. Everything is validated
    and built before the clock starts; a ConfigError names the offending key, a
    RecordExistsError an existing record (unless ``overwrite``).
    """
    sc = scenario if isinstance(scenario, Scenario) else load(scenario)
    changes = {}
    if seed is not None:
        changes["seed"] = int(seed)
    if out is not None:
        changes["output"] = str(out)
    sc = sc.updated(changes) if changes else sc
    refuse_existing(sc.output_path(), overwrite)
    return run_parts(build_parts(sc), progress=progress, overwrite=overwrite)


def run_all(scenarios: Mapping[str, Scenario], runner: Callable[[Scenario], Path] | None = None,
            overwrite: bool = False) -> dict[str, Path]:
    """Run named scenarios one after another (``runner`` defaults to :func:`run`); name -> record.
    No existing record is replaced unless ``overwrite``, checked for all before the first run."""
    for sc in scenarios.values():
        refuse_existing(sc.output_path(), overwrite)
    if runner is None:
        def runner(sc):
            return run(sc, overwrite=overwrite)
    return {name: runner(sc) for name, sc in scenarios.items()}


def _stamp(path: Path):
    """Identity of the file at ``path`` now (None: none), to tell whether a run published it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def run_parts(parts: Parts, progress: bool = False, overwrite: bool = False) -> Path:
    """Run already built ``parts`` in a new mosaik world; return the record's path."""
    path = parts.scenario.output_path()
    before = set(partial_paths(path, os.getpid()))
    stamp = _stamp(path)
    world = mosaik.World(sim_config(), skip_greetings=True, configure_logging=False)
    interrupted = False
    with stop_on_sigint():
        try:
            assemble(world, parts, path, overwrite=overwrite)
            # shut down below, not inside run(): a Ctrl-C there would tear the record's finishing
            world.run(until=parts.scenario.duration_s, print_progress=progress, shutdown=False)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            with sigint_deferred():  # a Ctrl-C during the shutdown waits for the record to be finished
                world.shutdown()
                interrupted = interrupted or STOP.is_set()
    left = sorted(set(partial_paths(path, os.getpid())) - before)
    where = f"its partial record is kept at {left[0]}" if left else "no record was started"
    if interrupted and (left or _stamp(path) in (None, stamp)):  # else the run reached its end: complete
        raise KeyboardInterrupt(f"run interrupted; {where}")
    if left:  # mosaik logs, and returns from, a failed remote simulator (and some interrupts)
        raise RunIncomplete(f"the run stopped before its end ({parts.scenario.duration_s} s); {where}")
    return path
