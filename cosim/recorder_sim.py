"""mosaik sink that writes everything it receives into a run record (:mod:`cosim.record`).

One ``Recorder`` entity takes any input::

    world = mosaik.World({..., "Rec": {"python": "cosim.recorder_sim:RecorderSim"}})
    rec = world.start("Rec", step_size=60, path="out/run.h5", meta={"seed": 0}).Recorder()
    world.connect(bus, rec, "vm_pu")        # -> series group plant/Bus, column "Bus_17"
    world.connect(controller, rec, "log")   # -> event groups named by the controller's entries

Number/bool values are grouped by entity type into series ``plant/<Type>``: the type is the source's
eid (after the first ".") up to its last "_" ("GridSim-0.Bus_17" -> "Bus", "Grid" -> "Grid").
Columns are the eids sorted by (type, numeric suffix), fixed by the first step a type is seen; an
entity that sends nothing at a later step gets NaN there. A list value is a fleet entity's
(simulators.fleet_sim): one number per unit, recorded in group ``plant/<eid>`` as the columns
``<eid>_0`` .. ``<eid>_<n-1>``, the same as from one entity per unit. A dict value reports for
other entities ``{"Bus_3": 1.01, ...}`` (simulators.grid_sim's ``BusSet``): group and columns as if
each key had sent its own number. The attribute ``log`` carries a list of
controller entries ``{"group", "t_s", "scalars", "arrays"}``, each one event row. Send it as a
non-persistent output (an event-based or hybrid controller); a time-based controller's output is
persistent and re-delivered at every recorder step until it steps again, so an entry whose t_s is not
after the last one recorded at an earlier step from that source and group is taken as such a
re-delivery and skipped.
A row's time is ``time * time_resolution`` in integer seconds.
"""
from __future__ import annotations

import numbers
from collections import defaultdict

import mosaik_api_v3
import numpy as np

from cosim_base.errors import ConfigError, DataError
from cosim_base.interrupt import check_stop
from cosim.record import RecordWriter
from simulators.fleet_sim import checked_step_size

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {"Recorder": {"public": True, "params": [], "attrs": [], "any_inputs": True}},
}
LOG = "log"
#: Value types the fast path takes as they are (anything else goes through the checked path).
_PLAIN = frozenset({float, int, bool, np.float64, np.float32, np.int64, np.int32, np.bool_, type(None)})
#: A fleet entity's value: one number per unit (simulators.fleet_sim).
_VECTOR = (list, tuple, np.ndarray)


def _shape(value) -> str:
    return "dicts" if isinstance(value, dict) else "lists" if isinstance(value, _VECTOR) else "numbers"


def unit_eids(fleet_eid: str, n: int) -> list[str]:
    """Columns of a fleet entity's list values: its units ``<eid>_0`` .. ``<eid>_<n-1>``."""
    return [f"{fleet_eid}_{i}" for i in range(n)]


def entity_type(full_id: str) -> str:
    """Entity type of a mosaik full id: eid up to its last "_" ("Sim-0.Bus_17" -> "Bus")."""
    eid = full_id.split(".", 1)[-1]
    return eid.rsplit("_", 1)[0] if "_" in eid else eid


def column_key(eid: str) -> tuple:
    """Sort key (type, numeric suffix, eid): Bus_2 before Bus_10; a non-numeric suffix sorts last."""
    head, _, tail = eid.rpartition("_")
    return (head or eid, 0, int(tail), eid) if head and tail.isdigit() else (head or eid, 1, 0, eid)


class RecorderSim(mosaik_api_v3.Simulator):
    def __init__(self):
        super().__init__(META)
        self.eid = None
        self.writer: RecordWriter | None = None
        self.path = None
        self.columns: dict[str, list[str]] = {}  # series group -> eids, fixed at first sight
        self.index: dict[str, dict[str, int]] = {}  # series group -> eid -> column
        self.where: dict[str, tuple[str, str]] = {}  # source full id -> (series group, eid)
        self.full_ids: dict[str, str] = {}  # eid -> full id that sent it first (collision check)
        self.shapes: dict[str, str] = {}  # source -> "numbers", "lists" (a fleet) or "dicts" (reports for others)
        self.last_event: dict[tuple[str, str], int] = {}  # (source, group) -> t_s recorded last
        self._plans: dict[tuple, list] = {}  # (attr, sources) -> [(group, positions, columns)]

    def init(self, sid, time_resolution=1.0, step_size=60, path=None, meta=None, flush_steps=240, flush_s=30.0,
             compression="gzip", tables=None, until=None, overwrite=False):
        """The record is written every ``flush_steps`` recorder steps or at the first step
        ``flush_s`` wall seconds after the last write, and at the end (cosim.record: a killed run
        keeps what was written), ``compression`` lossless (gzip with byte shuffle: any HDF5 reader).
        ``tables``: group -> DataFrame indexed by t_s, known before the run (e.g. the tariff),
        written at once as series groups with one column named after the group's last part.
        ``until`` (the world's end time): the record is moved into place, complete, only if the
        recorder stepped up to it (a world stopped early, e.g. by Ctrl-C, leaves it partial);
        without it, at every finalize. ``overwrite``: replace an existing record at ``path``."""
        if path is None:
            raise ConfigError("Recorder: path (the record file to write) is required")
        self.step_size = checked_step_size("Recorder", step_size)
        self.time_resolution = float(time_resolution)
        self.flush_steps, self.steps = int(checked_step_size("Recorder flush_steps", flush_steps)), 0
        self.writer = RecordWriter(path, meta=meta, flush_every=2 ** 62, flush_s=flush_s, compression=compression,
                                   overwrite=overwrite)
        self.until, self.next_time = until, 0
        self.path = self.writer.path
        for group, df in (tables or {}).items():
            col = [group.rsplit("/", 1)[-1]]
            for t_s, row in zip(df.index, df.to_numpy(float)):
                self.writer.append_row(group, int(t_s), dict(zip(df.columns, row)), col)
        return self.meta

    def create(self, num, model):
        if self.eid is not None or num != 1:
            raise ConfigError(f"Recorder: num = {num}, but a recorder holds exactly one entity "
                              f"({'already created' if self.eid else 'create one'})")
        self.eid = "Recorder"
        return [{"eid": self.eid, "type": model}]

    def step(self, time, inputs, max_advance):
        check_stop()  # a Ctrl-C that Python swallowed elsewhere stops the run here
        t_s = int(round(time * self.time_resolution))
        data = inputs.get(self.eid, {})
        for src in sorted(data.get(LOG, {})):
            self._log(src, data[LOG][src])
        values = {attr: sources for attr, sources in data.items() if attr != LOG}
        if not self._fast(t_s, values):
            self._slow(t_s, values)
        self.steps += 1
        if self.steps % self.flush_steps == 0:
            self.writer.flush()
        self.next_time = time + self.step_size
        return self.next_time

    def _fast(self, t_s: int, inputs: dict) -> bool:
        """Write a step whose (attribute, sources) were all seen before through their cached
        column plans; False (nothing written) if one is new or a value is not a plain number (or,
        from a fleet entity, a list of them of the known length)."""
        plans = [self._plans.get((attr, tuple(sources))) for attr, sources in inputs.items()]
        if any(p is None for p in plans):
            return False
        rows: dict[str, dict[str, np.ndarray]] = defaultdict(dict)

        def row(group, attr):
            r = rows[group].get(attr)
            if r is None:
                r = rows[group][attr] = np.full(len(self.columns[group]), np.nan)
            return r

        for (attr, sources), (scalar, at, vector) in zip(inputs.items(), plans):
            vals = list(sources.values())
            if scalar:
                picked = vals if at is None else [vals[k] for k in at]
                if not all(type(v) in _PLAIN for v in picked):
                    return False
                arr = np.array([np.nan if v is None else v for v in picked], dtype=float)
                for group, idx, cols in scalar:
                    row(group, attr)[cols] = arr[idx]
            for group, k, cols, keys in vector:
                v = vals[k]
                if keys is None:
                    if type(v) not in _VECTOR or len(v) != len(cols):
                        return False
                elif type(v) is not dict or len(v) != len(keys) or tuple(v) != keys:
                    return False
                else:
                    v = list(v.values())
                try:
                    row(group, attr)[cols] = np.asarray(v, dtype=float)
                except (TypeError, ValueError):
                    return False
        for group in sorted(rows):
            self.writer.append_row(group, t_s, rows[group], self.columns[group])
        return True

    def _slow(self, t_s: int, inputs: dict) -> None:
        """Check and place every value one by one (a step with new sources); cache the plans."""
        rows: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        for attr, sources in inputs.items():
            for src, value in sources.items():
                shape = _shape(value)
                if src in self.shapes and self.shapes[src] != shape:
                    raise DataError(f"Recorder: {src}.{attr} = {value!r}: that entity sent {self.shapes[src]} before")
                self.shapes[src] = shape
                if shape == "dicts":
                    types = {entity_type(eid) for eid in value}
                    if len(types) > 1:
                        raise DataError(f"Recorder: {src}.{attr} reports for entities of several types {sorted(types)}; "
                                        f"one type per value")
                    for eid, v in value.items():
                        group = f"plant/{entity_type(eid)}"
                        if self.full_ids.setdefault(eid, src) != src:
                            raise DataError(f"Recorder: {src} and {self.full_ids[eid]} share the eid {eid!r}; "
                                            f"columns are eids, so they must be unique")
                        rows[group][attr][eid] = self._number(src, attr, v)
                    continue
                if shape == "lists":
                    group, eid = self.where.get(src) or self._place(src, vector=True)
                    try:
                        arr = np.asarray(value, dtype=float)
                    except (TypeError, ValueError) as err:
                        raise DataError(f"Recorder: {src}.{attr} is a list with values that are not numbers") from err
                    if arr.ndim != 1:
                        raise DataError(f"Recorder: {src}.{attr} has shape {arr.shape}; a fleet sends a flat list")
                    rows[group][attr].update(zip(unit_eids(eid, len(arr)), arr))
                    continue
                group, eid = self.where.get(src) or self._place(src)
                rows[group][attr][eid] = self._number(src, attr, value)
        for group in sorted(rows):
            seen = {eid for values in rows[group].values() for eid in values}
            if group not in self.columns:
                self.columns[group] = sorted(seen, key=column_key)
                self.index[group] = {eid: i for i, eid in enumerate(self.columns[group])}
            cols, index = self.columns[group], self.index[group]
            if not seen <= index.keys():
                raise DataError(f"Recorder: {group} gained entities {sorted(seen - index.keys())} "
                                f"after its columns were fixed at {len(cols)} entities")
            values = {}
            for attr, by_eid in rows[group].items():
                r = np.full(len(cols), np.nan)
                r[[index[e] for e in by_eid]] = np.fromiter(by_eid.values(), float, len(by_eid))
                values[attr] = r
            self.writer.append_row(group, t_s, values, cols)
        for attr, sources in inputs.items():  # (scalar: group -> (positions, columns), their positions, vector)
            by_group: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
            at, vector = [], []
            for k, (src, value) in enumerate(sources.items()):
                if isinstance(value, dict):
                    keys = tuple(value)
                    if keys:  # an empty one records nothing
                        group = f"plant/{entity_type(keys[0])}"
                        vector.append((group, k, np.array([self.index[group][e] for e in keys], dtype=int), keys))
                    continue
                group, eid = self.where[src]
                if isinstance(value, _VECTOR):
                    cols = [self.index[group][e] for e in unit_eids(eid, len(value))]
                    vector.append((group, k, np.array(cols, dtype=int), None))
                    continue
                by_group[group][0].append(len(at))
                by_group[group][1].append(self.index[group][eid])
                at.append(k)
            scalar = [(g, np.array(i), np.array(c)) for g, (i, c) in by_group.items()]
            self._plans[(attr, tuple(sources))] = (scalar, None if len(at) == len(sources) else at, vector)

    def _place(self, src: str, vector: bool = False) -> tuple[str, str]:
        """Series group and column (a fleet entity's: its eid) of a source seen for the first
        time; eids must be unique."""
        eid = src.split(".", 1)[-1]
        if self.full_ids.setdefault(eid, src) != src:
            raise DataError(f"Recorder: {src} and {self.full_ids[eid]} share the eid {eid!r}; "
                            f"columns are eids, so they must be unique")
        self.where[src] = (f"plant/{eid if vector else entity_type(src)}", eid)
        return self.where[src]

    @staticmethod
    def _number(src: str, attr: str, value) -> float:
        if value is None:
            return np.nan
        if not isinstance(value, (numbers.Real, np.bool_)):
            raise DataError(f"Recorder: {src}.{attr} = {value!r} is not a number or bool "
                            f"(only '{LOG}' may carry other values)")
        return value

    def _log(self, src: str, entries) -> None:
        before = dict(self.last_event)  # entries of this one list may share a t_s
        for entry in entries or []:
            try:
                group, t_entry = entry["group"], int(entry["t_s"])
            except (KeyError, TypeError, ValueError) as err:
                raise DataError(f"Recorder: log entry {entry!r} from {src} needs 'group' (str) and "
                                f"'t_s' (int)") from err
            if t_entry <= before.get((src, group), -np.inf):
                continue
            self.writer.append_event(group, t_entry, entry.get("scalars"), entry.get("arrays"))
            self.last_event[(src, group)] = t_entry

    def finalize(self):
        if self.writer is None:
            return
        if self.until is None or self.next_time >= self.until:
            self.writer.publish()
        else:
            self.writer.close()
