"""The contract every plant model follows: a fleet of ``n`` units stepped together as arrays.

Timing convention (all plant models): ``step(t_s, dt_s, inputs)`` applies ``inputs`` as a
zero-order hold over ``[t_s, t_s + dt_s)`` and returns the outputs *for time t_s*:
states (temperatures, SOC, ...) as they are at ``t_s``, powers as their mean over the interval.
Afterwards the internal states are those at ``t_s + dt_s``.

Grid sign convention: every unit's ``p_mw`` / ``q_mvar`` is what it draws from the grid
(consumer convention, positive = load); a generator reports negative ``p_mw``.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np


class Fleet:
    """Base class of plant fleet models (pure numpy, no mosaik).

    Subclasses set ``INPUTS`` (input attribute -> value a unit holds until it receives one) and
    ``OUTPUTS`` (attribute names returned by :meth:`step`), set ``self.n`` in ``__init__`` and
    implement :meth:`step`.
    """

    INPUTS: ClassVar[dict[str, float]] = {}
    OUTPUTS: ClassVar[tuple[str, ...]] = ()
    #: Names a subclass accepts through ``**params`` (for the mosaik META); named arguments of
    #: ``__init__`` are found by the adapter itself.
    PARAMS: ClassVar[tuple[str, ...]] = ()
    n: int

    def step(self, t_s: int, dt_s: float, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Advance all units from ``t_s`` to ``t_s + dt_s``; return outputs of shape (n,)."""
        raise NotImplementedError

    def default_inputs(self) -> dict[str, np.ndarray]:
        """Inputs every unit holds before anything is received."""
        return {k: np.full(self.n, v, dtype=float) for k, v in self.INPUTS.items()}


def or_local(setpoints: dict[str, np.ndarray], local: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The received setpoints, with the unit's own control ``local`` wherever a setpoint is NaN."""
    return {k: np.where(np.isnan(setpoints[k]), local[k], setpoints[k]) for k in local}


def tan_phi(pf) -> np.ndarray:
    """Q/P ratio of constant power factor operation (lagging): q = p tan(arccos(pf))."""
    return np.tan(np.arccos(np.asarray(pf, float)))


def row_at(index_s: np.ndarray, t_s: float) -> int:
    """Row of a series indexed by seconds since start that holds at ``t_s`` (zero-order hold)."""
    return max(int(np.searchsorted(index_s, t_s, side="right")) - 1, 0)
