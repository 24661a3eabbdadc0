"""Exact zero-order-hold discretization of linear state-space models, batched over units.

Used by the plant (simulators.building) and by the controller's building model alike, so a model
mismatch study changes parameters, never numerics (../shared/reference/physics.md section 1).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import expm


def first_order_zoh(sigma_per_h, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
    """``(decay, gain)`` with x(t+dt) = decay x + gain u for dx/dt = -sigma x + u, u held.

    The scalar case of :func:`discretize_zoh`: decay = e^{-sigma dt}, gain = (1 - e^{-sigma dt})
    / sigma, which tends to dt as sigma -> 0 (storage self-loss, physics.md section 3).
    """
    sigma = np.asarray(sigma_per_h, float)
    decay = np.exp(-sigma * dt_h)
    safe = np.where(sigma > 0, sigma, 1.0)
    gain = np.where(sigma > 0, -np.expm1(-sigma * dt_h) / safe, dt_h)
    return decay, gain


def discretize_zoh(a: np.ndarray, b: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(ad, bd)`` with ``x[k+1] = ad x[k] + bd u[k]`` for ``dx/dt = a x + b u``.

    ``a`` has shape (..., n, n), ``b`` (..., n, m); ``dt`` is in the time unit of ``a``.
    Computed from one matrix exponential of the augmented matrix [[a, b], [0, 0]] * dt
    (Van Loan 1978), which stays exact for any step length, unlike forward Euler. Units with
    identical ``(a, b)`` share one exponential (a fleet of one parameter set costs one).
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    n, m = a.shape[-1], b.shape[-1]
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = np.broadcast_to(a, lead + (n, n)), np.broadcast_to(b, lead + (n, m))
    aug = np.zeros(lead + (n + m, n + m))
    aug[..., :n, :n] = a * dt
    aug[..., :n, n:] = b * dt
    flat = aug.reshape(-1, (n + m) ** 2)
    uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
    e = expm(uniq.reshape(-1, n + m, n + m))[inverse.reshape(-1)].reshape(aug.shape)
    return e[..., :n, :n], e[..., :n, n:]
