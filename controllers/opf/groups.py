"""Identical units as one row of an OPF block: grouping, per-group reductions, member deviations.

Units that share a bus and every parameter are one row (a group of ``count`` members). The row's
variables are the members' mean (powers per member, mean states); each member follows it with a
known deviation: its state deviation from the mean evolves by the group's own linear dynamics
under a state-feedback correction of its heat input, ``dphi_i = -K e_i`` (:func:`lqr_gain`), which
sums to zero over the members, so the row's mean dynamics and grid draw are exact. A block bounds
the row by its worst member (comfort band, power limits less the largest correction), so every
member's expanded plan keeps its own limits; a plan of equal members is the unaggregated optimum
(a convex problem symmetric in identical units has a symmetric optimum).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg


class UnitGroups:
    """Rows of units with equal ``bus`` and equal values in every array of ``params`` ((n,) each).

    Rows are in order of their first unit. ``row`` (n,): each unit's row; ``count`` (g,) members;
    ``first`` (g,) a member of each row (its parameters are the row's).
    """

    def __init__(self, bus, params: dict[str, np.ndarray]):
        bus = np.asarray(bus)
        key = np.column_stack([bus.astype(float)] + [np.asarray(params[k], float) for k in sorted(params)])
        _, first, inverse, count = np.unique(key, axis=0, return_index=True, return_inverse=True,
                                             return_counts=True)
        order = np.argsort(first)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.first, self.row, self.count = first[order], rank[np.ravel(inverse)], count[order]

    @property
    def n_units(self) -> int:
        return len(self.row)

    @property
    def n(self) -> int:
        return len(self.first)

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Mean over each row's members of ``x`` (n, ...) -> (g, ...)."""
        x = np.asarray(x, float)
        out = np.zeros((self.n,) + x.shape[1:])
        np.add.at(out, self.row, x)
        return out / self.count.reshape((-1,) + (1,) * (x.ndim - 1))

    def max(self, x: np.ndarray) -> np.ndarray:
        """Largest member value per row: (n, ...) -> (g, ...)."""
        x = np.asarray(x, float)
        out = np.full((self.n,) + x.shape[1:], -np.inf)
        np.maximum.at(out, self.row, x)
        return out

    def min(self, x: np.ndarray) -> np.ndarray:
        return -self.max(-np.asarray(x, float))

    def expand(self, x: np.ndarray) -> np.ndarray:
        """Row values (g, ...) for every unit: (n, ...)."""
        return np.asarray(x)[self.row]


def lqr_gain(ad: np.ndarray, b: np.ndarray, q_diag=(1.0, 0.1), r: float = 0.1) -> np.ndarray:
    """State-feedback gains (g, nx) of the discrete LQR for x+ = ad x + b u, one input per row:
    u = -K x minimizes sum x'Qx + r u^2 (Q = diag(q_diag)); here x is a member's deviation from its
    group's mean state (K, per kW of heat and K of deviation) and u its heat correction (kW). The
    weights (est.) give about 1.7 kW per K of indoor-air deviation at 5-min periods (3R2C house of
    simulators.building); the envelope's deviation decays over hours whatever the gain."""
    q = np.diag(q_diag)
    systems, inverse = np.unique(np.concatenate([ad.reshape(len(ad), -1), b], axis=1), axis=0, return_inverse=True)
    out = np.zeros((len(systems), ad.shape[1]))
    for i, row in enumerate(systems):  # once per distinct system (a Riccati solve takes ~20 ms)
        ai, bi = row[:ad[0].size].reshape(ad.shape[1:]), row[ad[0].size:].reshape(-1, 1)
        p = scipy.linalg.solve_discrete_are(ai, bi, q, np.array([[r]]))
        out[i] = np.linalg.solve(r + bi.T @ p @ bi, bi.T @ p @ ai).ravel()
    return out[np.ravel(inverse)]


def member_deviations(ad: np.ndarray, b_u: np.ndarray, k_gain: np.ndarray, e0: np.ndarray, T: int,
                      b_w: np.ndarray | None = None, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Deviations of members from their group's mean over T periods under ``u = -K e``:
    e[k+1] = (ad - b_u K) e[k] + b_w w[k].

    ``ad`` (n, nx, nx), ``b_u`` (n, nx), ``k_gain`` (n, nx) per member (its row's); ``e0`` (n, nx);
    optional exogenous input deviations ``w`` (n, m, T) with ``b_w`` (n, nx, m). Returns the states
    e (n, nx, T+1) and the corrections u (n, T)."""
    acl = ad - b_u[:, :, None] * k_gain[:, None, :]
    e = [np.asarray(e0, float)]
    for k in range(T):
        nxt = np.einsum("nij,nj->ni", acl, e[-1])
        if w is not None:
            nxt = nxt + np.einsum("nij,nj->ni", b_w, w[:, :, k])
        e.append(nxt)
    e = np.stack(e, axis=2)
    return e, -np.einsum("ni,nik->nk", k_gain, e[:, :, :-1])
