"""Project exceptions and the one parameter check every model uses.

This is a leaf module: every layer may import it, it imports nothing of the project.
Messages name the field, the offending value and the allowed range, so that bad input
is reported before anything runs.
"""
from __future__ import annotations

import numpy as np


class CosimError(Exception):
    """Base of all project errors."""


class ConfigError(CosimError, ValueError):
    """A parameter or scenario field is missing, unknown or out of its allowed range."""


class DataError(CosimError, ValueError):
    """Input data (profiles, weather, network) is missing, malformed or does not cover the run."""


class SolverError(CosimError, RuntimeError):
    """An optimization could not produce a usable result."""


def check(field: str, value, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
          finite: bool = True) -> np.ndarray:
    """Return ``value`` as a float array after checking every element lies in the range.

    ``lo``/``hi`` are inclusive unless ``lo_open``/``hi_open``. Raises :class:`ConfigError`
    naming ``field``, the first offending value (and its index for arrays) and the range.
    """
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) if finite else np.zeros(arr.shape, bool)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if bad.any():
        idx = np.argwhere(bad)[0]
        where = f"[{', '.join(map(str, idx))}]" if arr.ndim else ""
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        rng = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise ConfigError(f"{field}{where} = {arr[tuple(idx)].item()!r} is outside the allowed range {rng}")
    return arr


def per_unit(field: str, value, n: int, lo=None, hi=None, **kw) -> np.ndarray:
    """``value`` broadcast to shape (n,) (see :func:`check_shape`) and range-checked (:func:`check`)."""
    return check(field, check_shape(field, value, n), lo, hi, **kw)


def check_shape(field: str, value, n: int) -> np.ndarray:
    """Broadcast a scalar or length-``n`` sequence to shape (n,); anything else is a ConfigError."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ConfigError(f"{field} has shape {arr.shape}, expected a scalar or ({n},)")
    return arr.copy()
