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
close. A killed run keeps every row written by its last flush (the recorder's defaults: about a
simulated hour of a 1-min run, or 10 s of wall time), never a torn block. The file is opened with h5py defaults
(superblock v0, no SWMR flags), so a writer killed with SIGKILL leaves a file that opens; readers
take the shortest length over a group's row-aligned datasets, which drops a half-appended row.
Readers open without HDF5 file locking, so a live run can be peeked at (a read may then fail or see a
torn row; retry).

Reading::

    rec = read("run.h5")                      # Record: .meta, .versions, .scenario, .groups()
    vm = read("run.h5", "plant/Bus", "vm_pu") # DataFrame: time x entity id
    ev = read("run.h5", "control/rt")         # DataFrame of the event scalars, index t_s
    t_s, plans = rec.array("control/rt", "p_plan_mw")
"""
from __future__ import annotations

import datetime as _dt
import numbers
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from cosim_base.errors import ConfigError, check

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


class _Group:
    """Writer-side state of one series or event group."""

    def __init__(self, h5: h5py.Group, kind: str, columns: list[str] | None = None):
        self.h5, self.kind, self.columns, self.n = h5, kind, columns, 0  # n: rows in the file
        self.names: list[str] = []  # row-aligned datasets besides the time axis
        self.pending: list[tuple[int, dict]] = []  # rows appended, not yet written


class RecordWriter:
    """Writes one run record (layout in the module docstring); use as a context manager."""

    def __init__(self, path, meta: dict | None = None, flush_every: int = 1, compression=None,
                 flush_s: float | None = None):
        self.flush_every = int(check("flush_every", flush_every, 1))
        self.flush_s = None if flush_s is None else float(check("flush_s", flush_s, 0))
        self._last_write = time.monotonic()
        if compression not in COMPRESSIONS:
            raise ConfigError(f"compression = {compression!r} must be one of {COMPRESSIONS}")
        self.compression = compression
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        meta = dict(meta or {})
        scenario = meta.pop("scenario_toml", None)
        versions = meta.pop("versions", None) or {}
        for key in ("format", "created_utc"):
            if key in meta:
                raise ConfigError(f"meta[{key!r}] is reserved (written by the recorder)")
        attrs = {}
        for key, value in meta.items():
            if not isinstance(value, (str, bool, numbers.Number, np.bool_)):
                raise ConfigError(f"meta[{key!r}] = {value!r} must be a str, number or bool")
            attrs[key] = value
        self.h5 = h5py.File(self.path, "w")
        self.h5.attrs["format"] = FORMAT
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
            g.h5.create_dataset("columns", data=np.array(columns, dtype=object), dtype=STR)
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
            have = g.h5.get(name) if g is not None else None
            if have is None:
                new[name] = ((), dtype)
            elif have.ndim != 1 or (_kind(have.dtype) != kind and (_kind(have.dtype), kind) != ("f", "i")):
                raise ValueError(f"{group}/{name}: {value!r} does not fit the dataset "
                                 f"(dtype {have.dtype}, row shape {have.shape[1:]})")
            rows[name] = value
        for name, value in (arrays or {}).items():
            _check_name(group, name)
            if value is None:
                continue
            if name in rows:
                raise ValueError(f"{group}/{name}: given both as a scalar and as an array")
            arr = np.asarray(value, dtype=float)
            have = g.h5.get(name) if g is not None else None
            if have is None:
                new[name] = (arr.shape, np.float64)
            elif have.shape[1:] != arr.shape or _kind(have.dtype) != "f":
                raise ValueError(f"{group}/{name}: array of shape {arr.shape} does not match the "
                                 f"dataset's row shape {have.shape[1:]} (dtype {have.dtype})")
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
        """Flush and close the file (idempotent)."""
        if self.h5.id.valid:
            self.flush()
            self.h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
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
        self._dataset_in(h5, TIME[kind], (), np.int64)
        g = self.groups[path] = _Group(h5, kind, columns)
        return g

    def _dataset_in(self, h5: h5py.Group, name: str, row_shape: tuple, dtype, n: int = 0) -> h5py.Dataset:
        itemsize = 16 if dtype is STR else np.dtype(dtype).itemsize  # vlen: heap pointer per item
        kind = _kind(np.dtype(dtype))
        return h5.create_dataset(name, shape=(n, *row_shape), maxshape=(None, *row_shape), dtype=dtype,
                                 chunks=chunk_shape(tuple(row_shape), itemsize), compression=self.compression,
                                 shuffle=self.compression is not None and kind != "O",
                                 fillvalue=None if kind == "O" else FILL[kind])

    def _dataset(self, g: _Group, name: str, row_shape: tuple, dtype) -> None:
        """Create ``name`` in ``g`` back-filled with the missing value for the rows written so far."""
        self._dataset_in(g.h5, name, row_shape, dtype, n=g.n)
        g.names.append(name)

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
        for name in g.names:
            ds = g.h5[name]
            kind = _kind(ds.dtype)
            block = np.full((n - n0, *ds.shape[1:]), "" if kind == "O" else FILL[kind],
                            dtype=object if kind == "O" else ds.dtype)
            for i, (_, rows) in enumerate(g.pending):
                if name in rows:
                    block[i] = rows[name]
            ds.resize(n, axis=0)
            ds[n0:n] = block
        ts = g.h5[TIME[g.kind]]
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
