"""Building blocks of the scenario's config classes: the checks whose messages name the dotted
TOML key, the read-only mapping of frozen configs and the TOML table helpers."""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import fields

import numpy as np

from cosim_base.errors import ConfigError, check


class _FrozenMap(Mapping):
    """Read-only, hashable mapping: the Mapping fields of the frozen configs."""

    def __init__(self, items=()):
        self._d = dict(items)

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __hash__(self):
        return hash(frozenset(self._d.items()))

    def __repr__(self):
        return repr(self._d)


def _set(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)  # normalizing a frozen dataclass in __post_init__


def _range(key: str, value, lo=None, hi=None, **kw) -> None:
    """:func:`cosim_base.errors.check` of a scalar, quoting the value as given (check quotes it as a
    float: 3 -> 3.0)."""
    try:
        check(key, value, lo, hi, **kw)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(f" = {float(value)!r} ", f" = {value!r} ", 1)) from None


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _int(key: str, value, lo=None, hi=None, **kw) -> int:
    if not _is_number(value) or not float(value).is_integer():
        raise ConfigError(f"{key} = {value!r} must be a whole number")
    value = int(value)
    _range(key, value, lo, hi, **kw)
    return value


def _float(key: str, value, lo=None, hi=None, **kw) -> float:
    if not _is_number(value):
        raise ConfigError(f"{key} = {value!r} must be a number")
    value = float(value)
    _range(key, value, lo, hi, **kw)
    return value


def _choice(key: str, value, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{key} = {value!r} must be one of {', '.join(map(repr, allowed))}")
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_keys(path: str, table, allowed) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path or 'scenario'} = {table!r} must be a table")
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{_join(path, key)}: unknown key; allowed: {', '.join(allowed)}")


def _names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _build(path: str, cls, table, base):
    """``cls`` from a TOML table at ``path`` over the fields of ``base`` (its default there);
    messages of ``cls`` (relative keys) are prefixed with ``path``."""
    _check_keys(path, table, _names(cls))
    kw = {n: getattr(base, n) for n in _names(cls)}
    kw.update(table)
    try:
        return cls(**kw)
    except ConfigError as exc:
        raise ConfigError(f"{path}.{exc}") from None


def _plain(value):
    """TOML-shaped plain data: configs as dicts, tuples as lists."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _toml_list(seq) -> str:
    return "[" + ", ".join(f'"{s}"' for s in seq) + "]"


class _Table:
    """``to_dict``: the TOML table of a config (fields in order, tuples as lists)."""

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
