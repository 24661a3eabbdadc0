"""The mosaik adapter of every fleet kind of the registry (one entity per unit, no equations).

``world.start(<name>, step_size=60, kind="Building")`` starts a simulator whose model is the
kind's ``model`` (e.g. ``Building``, ``BaseLoad``) with the fleet's inputs and outputs as attrs.
``sim.<model>.create(n, fleet=...)`` takes a ready fleet (in-process); without ``fleet`` the
kind makes it (``DeviceKind.make_fleet``, as for a scenario's device group) from plain, JSON-able
create parameters, so the simulator also runs as a process of its own
(``python -m devices.sim HOST:PORT``)::

    sim_config = {"Buildings": {"cmd": "%(python)s -m devices.sim %(addr)s"}}
    houses = world.start("Buildings", step_size=60, kind="Building").Building.create(
        10, start="2024-01-15 06:00", duration_s=7200, p_hp_max_kw=[2.0] * 5 + [3.0] * 5)

Create parameters: the kind's group parameters (``DeviceKind.group_params``: a scalar for every
unit or a list of one value per unit; text parameters such as a Load's ``profile`` a string or
a list of strings) and the run data of :data:`SPEC_PARAMS` (simulators.spec.PlantSpec: calendar
``start``, data horizon ``duration_s``, ``seed`` of sampled data such as EV sessions, ``weather``
(a TMY3 name or a weather file), default ``load_profile`` (a SimBench kind or a load file) and its
``load_unit``, an ``ev_sessions`` file, ``tz``, ``t_out_offset_k``; files as in the README's "Your
own data", paths absolute or relative to the simulator's working directory). The plant step is the
simulator's ``step_size``; stepping past ``duration_s`` is a ConfigError.

``world.start("Devices", step_size=60, kinds=["Building", "EV"])`` (:class:`DevicesSim`) serves
several kinds in one simulator, with the same models and create parameters (cosim.plant's way).
"""
from __future__ import annotations

import mosaik_api_v3

from cosim_base.errors import ConfigError
from cosim_base.seeds import stream
from devices import fleet_kinds
from simulators.fleet_sim import FLEET, FleetSim, fleet_meta
from simulators.spec import PlantSpec

#: Create parameters that describe the run's data, not the units (simulators.spec.PlantSpec).
SPEC_PARAMS = ("start", "duration_s", "seed", "weather", "load_profile", "load_unit", "ev_sessions", "tz",
               "t_out_offset_k")


class DeviceSim(FleetSim):
    """init parameter ``kind``: a fleet kind of devices.REGISTRY."""

    def init(self, sid, time_resolution=1.0, step_size=60, kind=None, **sim_params):
        kinds = fleet_kinds()
        if kind not in kinds:
            raise ConfigError(f"DeviceSim: kind = {kind!r} must be one of {sorted(kinds)}")
        self.kind = kinds[kind]
        self.model, self.fleet_cls = self.kind.model, self.kind.fleet_cls
        self.meta = fleet_meta(self.model, self.fleet_cls)
        params = ["fleet", *SPEC_PARAMS, *self.kind.group_params()]
        self.meta["models"][self.model]["params"] = params
        self.meta["models"][self.model + FLEET]["params"] = params + ["n", "bus_pos", "n_bus"]
        self.spec = None
        return super().init(sid, time_resolution=time_resolution, step_size=step_size, **sim_params)

    def create(self, num, model, fleet=None, **params):
        wiring = {p: params.pop(p) for p in ("bus_pos", "n_bus") if p in params}
        n = params.pop("n", None) if model == self.model + FLEET else num
        if fleet is None:
            if n is None or n < 1:
                raise ConfigError(f"{model}: n = {n} must be the number of units (>= 1)")
            fleet = self.make_fleet(n, params)
        elif params:
            raise ConfigError(f"{self.model}: with a ready fleet, no other create parameters ({sorted(params)})")
        return super().create(num, model, fleet=fleet, **wiring)

    def make_fleet(self, num: int, params: dict):
        """The kind's fleet of ``num`` units from plain create parameters (see the module docstring)."""
        k = self.kind
        allowed = k.group_params()
        unknown = sorted(set(params) - set(allowed) - set(SPEC_PARAMS))
        if unknown:
            raise ConfigError(f"{self.model}: unknown create parameter(s) {unknown}; allowed: "
                              f"{sorted(allowed)} and {list(SPEC_PARAMS)}")
        missing = sorted(p for p in allowed if p not in params and p not in k.defaults() and p not in k.text_params)
        if missing:
            raise ConfigError(f"{self.model}: create parameter(s) {missing} have no default: give them")
        self.spec = PlantSpec(step_s=int(round(self.step_size * self.time_resolution)),
                              **{p: params.pop(p) for p in SPEC_PARAMS if p in params})
        vals = {}
        for p, v in params.items():
            parsed = k.parse_param(p, v) if p not in k.text_params else NotImplemented
            vals[p] = v if parsed is NotImplemented else parsed
        for p in k.text_params:  # one value per unit, None: the kind's default
            v = vals.get(p)
            vals[p] = [k.parse_param(p, x) if x is not None else None
                       for x in (v if isinstance(v, (list, tuple)) else [v] * num)]
        return k.make_fleet(self.spec, num, vals, stream(self.spec.seed, "plant", "devices", k.name))

    def step(self, time, inputs, max_advance):
        end_s = int(round(time * self.time_resolution)) + self.step_size * self.time_resolution
        if self.spec is not None and end_s > self.spec.duration_s:
            raise ConfigError(f"{self.model}: the step to {end_s:g} s runs past duration_s = "
                              f"{self.spec.duration_s} (the data horizon given to create)")
        return super().step(time, inputs, max_advance)


class DevicesSim(mosaik_api_v3.Simulator):
    """Several fleet kinds in one simulator (init parameter ``kinds``: names of devices.REGISTRY),
    each served by its own :class:`DeviceSim` with the same models, entities and create parameters.

    mosaik's scheduling costs per simulator and step, not per entity: a plant of seven kinds in
    one simulator steps once per plant step instead of seven times.
    """

    def __init__(self):
        super().__init__({"api_version": "3.0", "type": "time-based", "models": {}})
        self.subs: dict[str, DeviceSim] = {}  # model -> the kind's simulator
        self.owner: dict[str, DeviceSim] = {}  # eid -> the simulator of its fleet
        self.created: list[DeviceSim] = []  # the kinds' simulators with a fleet, in creation order
        self.step_size = 60

    def init(self, sid, time_resolution=1.0, step_size=60, kinds=(), **sim_params):
        if not kinds:
            raise ConfigError("DevicesSim: kinds must name at least one fleet kind")
        for kind in kinds:
            sub = DeviceSim()
            sub.init(f"{sid}.{kind}", time_resolution=time_resolution, step_size=step_size, kind=kind, **sim_params)
            for model in sub.meta["models"]:
                if model in self.subs:
                    raise ConfigError(f"DevicesSim: kinds = {list(kinds)} names the kind of model {model!r} twice")
                self.subs[model] = sub
                self.meta["models"][model] = sub.meta["models"][model]
        self.step_size = self.subs[next(iter(self.subs))].step_size
        return self.meta

    def create(self, num, model, **params):
        sub = self.subs[model]
        entities = sub.create(num, model, **params)
        self.created.append(sub)
        for e in entities:
            for eid in [e["eid"], *(c["eid"] for c in e.get("children", ()))]:
                self.owner[eid] = sub
        return entities

    def step(self, time, inputs, max_advance):
        own = {id(sub): {} for sub in self.created}
        for eid, attrs in inputs.items():
            own[id(self.owner[eid])][eid] = attrs
        for sub in self.created:
            sub.step(time, own[id(sub)], max_advance)
        return time + self.step_size

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            data.update(self.owner[eid].get_data({eid: attrs}))
        return data


def main():
    """Serve DeviceSim over mosaik's TCP API: ``python -m devices.sim HOST:PORT``."""
    mosaik_api_v3.start_simulation(DeviceSim(), "cosim device fleet simulator")


if __name__ == "__main__":
    main()
