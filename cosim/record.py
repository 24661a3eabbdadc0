"""The record of a run: one self-describing HDF5 file, written row by row and readable after a kill.

File layout (format ``cosim-record/1``)::

    /                      attrs: format = "cosim-record/1", created_utc (ISO 8601), and every scalar
                           entry of ``meta`` (str, int, float, bool), e.g. seed, start, step_s,
                           cosim_version, scenario
    /meta/scenario.toml    scalar UTF-8 string: the scenario as TOML text (if given)
    /meta/versions         attrs: package -> version string
    series group           true plant, one row per plant step, e.g. /plant/Bus   (attr kind = "series")
      time_s    int64 (N,)          seconds since the run start
      columns   UTF-8 str (n,)      entity ids
      <attr>    float64 (N, n)      one dataset per attribute, rows aligned with time_s
    event group            one row per controller decision/solve, e.g. /control/rt  (attr kind = "events")
      t_s       int64 (N,)
      <scalar>  (N,)                float64 for floats, int64 for ints and bools, UTF-8 str for str
      <array>   (N, *shape) float64 plans over the horizon, forecasts seen, decisions

Readable by netCDF tools: the root has ``Conventions = "CF-1.8"``; the time axis of every group is
an HDF5 dimension scale with ``units = "seconds since <start>"`` (``meta["start"]``, else
``"s"``) and ``calendar = "standard"``, ``columns`` is the scale of a series' second axis, and every
row-aligned dataset is attached to them and has a ``units`` attribute (:func:`units_of`, from its
name's suffix), so ``xarray.open_dataset(path, engine="h5netcdf", group="plant/Bus")`` gives
calendar-time variables. (Event arrays have no scales: open event groups with ``phony_dims="sort"``.)

Missing values: float NaN, int -1, str "". A key that first appears at row k is back-filled with
these for rows < k; a key missing from a row gets them for that row.

Every row-aligned dataset is resizable along axis 0 (``maxshape`` None) and chunked along it:
``CHUNK_BYTES`` (64 KiB) worth of rows per chunk (e.g. 8192 rows of a 1-D float64, 3 rows of a
2500-column series), one row per chunk when a row is larger, and a row itself split along its first
splittable axis while a chunk exceeds ``MAX_CHUNK_BYTES`` (1 MiB); the chunk then fits h5py's
default 1 MiB chunk cache. No compression unless ``compression="lzf"`` or ``"gzip"`` (both lossless,
with HDF5's byte shuffle before it; gzip is in every HDF5 build, lzf in h5py's).

Buffered writes: appended rows are held in memory and written as blocks, dataset by dataset with
the time axis (``time_s``/``t_s``) last, then the file is flushed, every ``flush_every`` appends
(rows of any group) or at the first append ``flush_s`` wall seconds after the last write, and on
close. A killed run keeps every row written by its last flush (the recorder's defaults: 4 simulated
hours of a 1-min run, or 30 s of wall time; each flush costs about 0.1-0.2 s on the default day,
whose record has some 270 datasets), never a torn block. The file is opened with h5py defaults
(superblock v0, no SWMR flags), so a writer killed with SIGKILL leaves a file that opens; readers
take the shortest length over a group's row-aligned datasets, which drops a half-appended row.
Readers open without HDF5 file locking, so a live run can be peeked at (a read may then fail or see a
torn row; retry).

Nothing is overwritten or lost: the writer refuses an existing ``path`` unless ``overwrite``, writes
to a temporary file beside it (:func:`partial_paths`: ``<stem>.partial-<pid>-<n><suffix>``, root
attr ``status = "partial"``) and only :meth:`RecordWriter.publish` marks it ``"complete"`` and moves
it into place. Without ``overwrite`` the move is a hard link that fails if the path appeared
meanwhile (another run finished first): that record stays, this one is kept under its temporary
name and :class:`RecordExistsError` says where. A run that is killed, crashes or is interrupted
leaves its temporary file, readable, ``status = "partial"`` (:attr:`Record.complete` is False).

Reading::

    rec = read("run.h5")                      # Record: .meta, .versions, .scenario, .groups()
    vm = read("run.h5", "plant/Bus", "vm_pu") # DataFrame: time x entity id
    ev = read("run.h5", "control/rt")         # DataFrame of the event scalars, index t_s
    t_s, plans = rec.array("control/rt", "p_plan_mw")
"""
from __future__ import annotations

import datetime as _dt
import itertools
import numbers
import os
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError, CosimError, check

FORMAT = "cosim-record/1"
#: Target bytes of one chunk (rows of a dataset), est.: small enough that a flush per row rewrites
#: little, large enough that a day at 60 s (1440 rows) of one 1-D dataset is a single chunk.
CHUNK_BYTES = 64 * 1024
#: Largest chunk: h5py's default raw-data chunk cache per dataset (1 MiB).
MAX_CHUNK_BYTES = 1024 * 1024
COMPRESSIONS = (None, "lzf", "gzip")
STR = h5py.string_dtype("utf-8")
SERIES, EVENTS = "series", "events"
TIME = {SERIES: "time_s", EVENTS: "t_s"}
#: Fill value per stored dtype kind (float, int); an unwritten UTF-8 string reads as "".
FILL = {"f": np.nan, "i": -1}
PARTIAL, COMPLETE = "partial", "complete"
#: Name suffix -> unit (CF / UDUNITS spelling) of recorded quantities (names carry their unit).
UNIT_SUFFIXES = {"_mw": "MW", "_mvar": "Mvar", "_kw": "kW", "_kvar": "kvar", "_mwh": "MW h", "_kwh": "kW h",
                 "_kwh_el": "kW h", "_pu": "1", "_c": "degC", "_k": "K", "_kh": "K h", "_percent": "percent",
                 "_ka": "kA", "_degree": "degree", "_s": "s", "_h": "h", "_ms": "m s-1", "_w_m2": "W m-2",
                 "_kw_m2": "kW m-2", "_per_mwh": "currency MW-1 h-1", "_per_kwh": "currency kW-1 h-1"}
_LONGEST_FIRST = sorted(UNIT_SUFFIXES, key=len, reverse=True)  # a longer suffix wins: "_kw_m2" over "_kw"


def units_of(name: str) -> str:
    """The unit of a recorded quantity from its name's suffix (``vm_pu`` -> ``"1"``, ``p_mw`` ->
    ``"MW"``, ``t_in_c`` -> ``"degC"``); ``"1"`` (dimensionless: counts, flags, states) otherwise."""
    tail = name.rsplit(".", 1)[-1]
    for suffix in _LONGEST_FIRST:
        if tail.endswith(suffix):
            return UNIT_SUFFIXES[suffix]
    return "1"
_TEMP_COUNTER = itertools.count()


class RecordExistsError(CosimError, FileExistsError):
    """A record is already at the path and overwriting was not asked for."""


def refuse_existing(path, overwrite: bool = False) -> None:
    """Raise :class:`RecordExistsError` if ``path`` exists and ``overwrite`` is false."""
    if not overwrite and Path(path).exists():
        raise RecordExistsError(f"{path} exists: give another output path (--out) or allow "
                                f"overwriting it (--overwrite)")


def partial_paths(path, pid: int | None = None) -> list[Path]:
    """Temporary files of records being written to ``path`` (by process ``pid``; default any)."""
    p = Path(path)
    tag = "*" if pid is None else f"{pid}-*"
    return sorted(p.parent.glob(f"{p.stem}.partial-{tag}{p.suffix}"))


def chunk_shape(row_shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Chunk of a dataset of rows of ``row_shape``: ~CHUNK_BYTES of rows, at most MAX_CHUNK_BYTES."""
    row = list(row_shape)
    for i in range(len(row)):
        while row[i] > 1 and int(np.prod(row)) * itemsize > MAX_CHUNK_BYTES:
            row[i] = -(-row[i] // 2)
    row_bytes = int(np.prod(row)) * itemsize
    return (max(1, CHUNK_BYTES // max(row_bytes, 1)), *row)


def _kind(dtype: np.dtype) -> str:
    """"O" for UTF-8 strings, else the numpy kind ("f", "i")."""
    return "O" if h5py.check_string_dtype(dtype) else dtype.kind


def _check_name(group: str, name: str) -> None:
    """A dataset name must be one HDF5 path component, not the time axis or the columns."""
    if not name or "/" in name or name in (TIME[SERIES], TIME[EVENTS], "columns"):
        raise ValueError(f"{group}: dataset name {name!r} must be non-empty, without '/', "
                         f"and not time_s, t_s or columns")


class _Dataset:
    """An open dataset and what appending checks of it (h5py's own lookups are slow per row)."""

    def __init__(self, ds: h5py.Dataset):
        self.ds, self.row_shape, self.dtype = ds, ds.shape[1:], ds.dtype
        self.kind = _kind(ds.dtype)


class _Group:
    """Writer-side state of one series or event group."""

    def __init__(self, h5: h5py.Group, kind: str, columns: list[str] | None = None):
        self.h5, self.kind, self.columns, self.n = h5, kind, columns, 0  # n: rows in the file
        self.names: dict[str, _Dataset] = {}  # row-aligned datasets besides the time axis
        self.time: h5py.Dataset | None = None
        self.pending: list[tuple[int, dict]] = []  # rows appended, not yet written


class RecordWriter:
    """Writes one run record (layout in the module docstring); use as a context manager."""

    def __init__(self, path, meta: dict | None = None, flush_every: int = 1, compression=None,
                 flush_s: float | None = None, overwrite: bool = False):
        self.flush_every = int(check("flush_every", flush_every, 1))
        self.flush_s = None if flush_s is None else float(check("flush_s", flush_s, 0))
        self._last_write = time.monotonic()
        if compression not in COMPRESSIONS:
            raise ConfigError(f"compression = {compression!r} must be one of {COMPRESSIONS}")
        self.compression = compression
        self.path, self.overwrite = Path(path), bool(overwrite)
        refuse_existing(self.path, self.overwrite)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.temp_path = self.path.with_name(
            f"{self.path.stem}.partial-{os.getpid()}-{next(_TEMP_COUNTER)}{self.path.suffix}")
        meta = dict(meta or {})
        scenario = meta.pop("scenario_toml", None)
        versions = meta.pop("versions", None) or {}
        for key in ("format", "created_utc", "status", "Conventions"):
            if key in meta:
                raise ConfigError(f"meta[{key!r}] is reserved (written by the recorder)")
        attrs = {}
        for key, value in meta.items():
            if not isinstance(value, (str, bool, numbers.Number, np.bool_)):
                raise ConfigError(f"meta[{key!r}] = {value!r} must be a str, number or bool")
            attrs[key] = value
        self.h5 = h5py.File(self.temp_path, "x")
        self.h5.attrs["format"] = FORMAT
        self.h5.attrs["status"] = PARTIAL
        self.h5.attrs["Conventions"] = "CF-1.8"
        self.time_units = (f"seconds since {pd.Timestamp(meta['start']).isoformat(sep=' ')}"
                           if "start" in meta else "s")
        self.h5.attrs["created_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.h5.attrs.update(attrs)
        m = self.h5.create_group("meta")
        if scenario is not None:
            m.create_dataset("scenario.toml", data=str(scenario), dtype=STR)
        v = m.create_group("versions")
        for pkg, ver in versions.items():
            v.attrs[str(pkg)] = str(ver)
        self.groups: dict[str, _Group] = {}
        self.appends = 0
        self.h5.flush()

    # -- writing ---------------------------------------------------------------------------------

    def append_row(self, group: str, t_s: int, values: dict[str, np.ndarray], columns: list[str]) -> None:
        """Append one plant step to series ``group``: ``values`` attr -> (len(columns),) floats."""
        columns = list(columns)
        g = self._existing(group, SERIES)
        if g is not None and columns != g.columns:
            raise ValueError(f"{group}: columns changed from {len(g.columns)} entities "
                             f"{g.columns[:5]}... to {len(columns)} entities {columns[:5]}...")
        n_col = len(columns)
        rows = {}
        for attr, value in values.items():
            arr = np.asarray(value, dtype=float)
            if arr.ndim == 0:
                arr = np.full(n_col, float(arr))
            if arr.shape != (n_col,):
                raise ValueError(f"{group}/{attr}: shape {arr.shape} does not match ({n_col},) columns")
            _check_name(group, attr)
            rows[attr] = arr
        if g is None:
            g = self._group(group, SERIES, columns)
        for attr in rows:
            if attr not in g.names:
                self._dataset(g, attr, (n_col,), np.float64)
        self._append(g, t_s, rows)

    def append_event(self, group: str, t_s: int, scalars: dict | None = None,
                     arrays: dict | None = None) -> None:
        """Append one controller decision to event ``group``: scalars and float arrays by name."""
        g = self._existing(group, EVENTS)
        rows, new = {}, {}  # name -> value; name -> (row shape, dtype) of datasets to create
        for name, value in (scalars or {}).items():
            _check_name(group, name)
            if value is None:
                continue
            if isinstance(value, np.ndarray) and value.ndim == 0:
                value = value.item()
            if isinstance(value, str):
                kind, dtype = "O", STR
            elif isinstance(value, (bool, np.bool_, numbers.Integral)):
                kind, dtype, value = "i", np.int64, int(value)
            elif isinstance(value, numbers.Real):
                kind, dtype, value = "f", np.float64, float(value)
            else:
                raise ValueError(f"{group}/{name}: scalar {value!r} must be a str, int, bool or float")
            have = g.names.get(name) if g is not None else None
            if have is None:
                new[name] = ((), dtype)
            elif have.row_shape != () or (have.kind != kind and (have.kind, kind) != ("f", "i")):
                raise ValueError(f"{group}/{name}: {value!r} does not fit the dataset "
                                 f"(dtype {have.dtype}, row shape {have.row_shape})")
            rows[name] = value
        for name, value in (arrays or {}).items():
            _check_name(group, name)
            if value is None:
                continue
            if name in rows:
                raise ValueError(f"{group}/{name}: given both as a scalar and as an array")
            arr = np.asarray(value, dtype=float)
            have = g.names.get(name) if g is not None else None
            if have is None:
                new[name] = (arr.shape, np.float64)
            elif have.row_shape != arr.shape or have.kind != "f":
                raise ValueError(f"{group}/{name}: array of shape {arr.shape} does not match the "
                                 f"dataset's row shape {have.row_shape} (dtype {have.dtype})")
            rows[name] = arr
        if g is None:
            g = self._group(group, EVENTS)
        for name, (shape, dtype) in new.items():
            self._dataset(g, name, shape, dtype)
        self._append(g, t_s, rows)

    def flush(self) -> None:
        """Write everything appended so far to the file."""
        for g in self.groups.values():
            self._write(g)
        self.h5.flush()
        self._last_write = time.monotonic()

    def close(self) -> None:
        """Flush and close the file, left partial under its temporary name (idempotent)."""
        if self.h5.id.valid:
            self.flush()
            self.h5.close()

    def publish(self) -> Path:
        """Mark the record complete, close it and move it to ``path`` (see the module docstring)."""
        if self.h5.id.valid:
            self.h5.attrs["status"] = COMPLETE
            self.close()
        if self.overwrite:
            os.replace(self.temp_path, self.path)
            return self.path
        try:
            os.link(self.temp_path, self.path)
        except FileExistsError:
            raise RecordExistsError(f"{self.path} was written by another run meanwhile; this run's "
                                    f"record is kept at {self.temp_path}") from None
        os.unlink(self.temp_path)
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.publish()
        else:
            self.close()

    # -- internals -------------------------------------------------------------------------------

    def _existing(self, path: str, kind: str) -> _Group | None:
        g = self.groups.get(path.strip("/"))
        if g is not None and g.kind != kind:
            raise ValueError(f"{path} is a {g.kind} group, not a {kind} group")
        return g

    def _group(self, path: str, kind: str, columns=None) -> _Group:
        path = path.strip("/")
        if path in ("", "meta") or path.startswith("meta/"):
            raise ValueError(f"group {path!r} must be a non-empty path outside /meta")
        h5 = self.h5.require_group(path)
        h5.attrs["kind"] = kind
        t = self._dataset_in(h5, TIME[kind], (), np.int64)
        t.make_scale(TIME[kind])
        t.attrs.update(units=self.time_units, calendar="standard", axis="T", long_name="time")
        if columns is not None:
            c = h5.create_dataset("columns", data=np.array(columns, dtype=object), dtype=STR)
            c.make_scale("columns")
            c.attrs["long_name"] = "entity id"
        g = self.groups[path] = _Group(h5, kind, columns)
        g.time = t
        return g

    def _dataset_in(self, h5: h5py.Group, name: str, row_shape: tuple, dtype, n: int = 0) -> h5py.Dataset:
        itemsize = 16 if dtype is STR else np.dtype(dtype).itemsize  # vlen: heap pointer per item
        kind = _kind(np.dtype(dtype))
        return h5.create_dataset(name, shape=(n, *row_shape), maxshape=(None, *row_shape), dtype=dtype,
                                 chunks=chunk_shape(tuple(row_shape), itemsize), compression=self.compression,
                                 shuffle=self.compression is not None and kind != "O",
                                 fillvalue=None if kind == "O" else FILL[kind])

    def _dataset(self, g: _Group, name: str, row_shape: tuple, dtype) -> None:
        """Create ``name`` in ``g`` back-filled with the missing value for the rows written so far,
        attached to the group's time axis (and columns) with its ``units``."""
        ds = self._dataset_in(g.h5, name, row_shape, dtype, n=g.n)
        if g.kind == SERIES:
            ds.dims[0].attach_scale(g.h5[TIME[g.kind]])
            ds.dims[1].attach_scale(g.h5["columns"])
        elif not row_shape:  # an event array's axes stay unlabeled (netCDF: all or none)
            ds.dims[0].attach_scale(g.h5[TIME[g.kind]])
        if dtype is not STR:
            ds.attrs["units"] = units_of(name)
        g.names[name] = _Dataset(ds)

    def _append(self, g: _Group, t_s: int, rows: dict) -> None:
        """Buffer one row of ``g``; write and flush when due (see the module docstring)."""
        g.pending.append((int(t_s), rows))
        self.appends += 1
        if self.appends % self.flush_every == 0 or (
                self.flush_s is not None and time.monotonic() - self._last_write >= self.flush_s):
            self.flush()

    def _write(self, g: _Group) -> None:
        """Write the buffered rows of ``g`` as one block per dataset (missing values filled), the
        time axis last."""
        if not g.pending:
            return
        n0, n = g.n, g.n + len(g.pending)
        for name, d in g.names.items():
            kind = d.kind
            block = np.full((n - n0, *d.row_shape), "" if kind == "O" else FILL[kind],
                            dtype=object if kind == "O" else d.dtype)
            for i, (_, rows) in enumerate(g.pending):
                if name in rows:
                    block[i] = rows[name]
            d.ds.resize(n, axis=0)
            d.ds[n0:n] = block
        ts = g.time
        ts.resize(n, axis=0)
        ts[n0:n] = [t for t, _ in g.pending]
        g.n, g.pending = n, []


# -- reading ---------------------------------------------------------------------------------------

def _open(path) -> h5py.File:
    return h5py.File(path, "r", locking=False)


def _plain(value):
    """An HDF5 attribute value as a plain Python scalar."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rows(h5: h5py.Group) -> int:
    """Complete rows of a group: the shortest length over its row-aligned datasets."""
    return min((ds.shape[0] for name, ds in h5.items()
                if isinstance(ds, h5py.Dataset) and name != "columns"), default=0)


class Record:
    """A record file opened for reading (each call opens and closes the file)."""

    def __init__(self, path):
        self.path = Path(path)
        with _open(self.path) as f:
            self.meta = {k: _plain(v) for k, v in f.attrs.items()}
            #: False for a run that was killed, crashed or interrupted (its temporary file).
            self.complete = self.meta.pop("status", COMPLETE) == COMPLETE
            if self.meta.get("format") != FORMAT:
                raise ValueError(f"{self.path}: format = {self.meta.get('format')!r}, expected {FORMAT!r}")
            self.versions = {k: _plain(v) for k, v in f["meta/versions"].attrs.items()}
            sc = f.get("meta/scenario.toml")
            self.scenario = sc.asstr()[()] if sc is not None else None
            self._kinds = {}
            f.visititems(lambda name, obj: self._kinds.__setitem__(name, _plain(obj.attrs["kind"]))
                         if isinstance(obj, h5py.Group) and "kind" in obj.attrs else None)

    def groups(self) -> list[str]:
        """Paths of the series and event groups (e.g. ``plant/Bus``, ``control/rt``)."""
        return sorted(self._kinds)

    def _group(self, f: h5py.File, group: str, kind: str) -> h5py.Group:
        group = group.strip("/")
        if self._kinds.get(group) != kind:
            have = {k for k, v in self._kinds.items() if v == kind}
            raise KeyError(f"{self.path}: no {kind} group {group!r}; {kind} groups: {sorted(have)}")
        return f[group]

    def attrs(self, group: str) -> list[str]:
        """Attribute (series) or scalar/array (event) dataset names of ``group``."""
        group = group.strip("/")
        with _open(self.path) as f:
            return sorted(k for k in f[group] if k not in ("columns", TIME[self._kinds[group]]))

    def series(self, group: str, attr: str) -> pd.DataFrame:
        """``attr`` of series ``group``: time (DatetimeIndex from meta ``start``, else t_s) x entity id."""
        with _open(self.path) as f:
            g = self._group(f, group, SERIES)
            if attr not in g or attr in ("columns", "time_s"):
                raise KeyError(f"{group}: no attribute {attr!r}; attributes: {self.attrs(group)}")
            n = _rows(g)
            t_s = g["time_s"][:n]
            values = g[attr][:n]
            columns = list(g["columns"].asstr()[:])
        if "start" in self.meta:
            index = pd.DatetimeIndex(pd.Timestamp(self.meta["start"]) + pd.to_timedelta(t_s, unit="s"),
                                     name="time")
        else:
            index = pd.Index(t_s, name="t_s")
        return pd.DataFrame(values, index=index, columns=columns)

    def events(self, group: str) -> pd.DataFrame:
        """The scalars of event ``group``, one row per event, indexed by t_s."""
        with _open(self.path) as f:
            g = self._group(f, group, EVENTS)
            n = _rows(g)
            cols = {}
            for name, ds in g.items():
                if name == "t_s" or ds.ndim != 1:
                    continue
                cols[name] = ds.asstr()[:n] if ds.dtype == STR else ds[:n]
            index = pd.Index(g["t_s"][:n], name="t_s")
        return pd.DataFrame(cols, index=index)

    def array(self, group: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(t_s, values) of dataset ``name`` of event ``group``; values has shape (N, *row shape)."""
        with _open(self.path) as f:
            g = self._group(f, group, EVENTS)
            if name not in g or name == "t_s":
                raise KeyError(f"{group}: no dataset {name!r}; datasets: {self.attrs(group)}")
            n = _rows(g)
            return g["t_s"][:n], g[name][:n]


def read(path, group: str | None = None, attr: str | None = None):
    """``read(path)`` -> :class:`Record`; ``read(path, series_group, attr)`` -> DataFrame (time x
    entity); ``read(path, event_group)`` -> DataFrame of the event scalars indexed by t_s."""
    rec = Record(path)
    if group is None:
        return rec
    if attr is None:
        return rec.events(group)
    return rec.series(group, attr)
