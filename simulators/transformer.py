"""Transformer thermal model and insulation aging (IEEE C57.91-2011 clause 7; physics.md section 6).

K is the load in p.u. of the rating, R the ratio of load losses at rated load to no-load losses::

    dTO_ult = dTO_rated * ((K^2 R + 1) / (R + 1))^n      top-oil rise over ambient, time constant tau_oil
    dH_ult  = dH_rated * K^(2m)                          hot-spot rise over top oil, time constant tau_w
    theta_H = theta_amb + dTO + dH
    F_AA    = exp(15000/383 - 15000/(theta_H + 273))     aging acceleration, 1 at 110 degC
    F_EQA   = sum(F_AA dt) / sum(dt)                     equivalent aging over a period
    loss of life (%) = F_EQA * t_h * 100 / 180000 h      normal insulation life 180 000 h

Both rises are first-order responses to a load held over each step (the plant's zero-order hold,
simulators.fleet). They are stepped exactly, x <- x_ult + (x - x_ult) exp(-dt/tau), which is the
analytic solution for any dt; forward Euler overshoots for dt > tau and diverges for dt > 2 tau
(with tau_w = 4 min, a 10-min step is already unstable).

Defaults: an ONAN distribution transformer as physics.md section 6 gives it: tau_oil 180 min,
tau_w 4 min, R 5, hot-spot gradient 23 K (IEC 60076-7:2018 Table 5, distribution transformers),
rated top-oil rise 55 K (physics.md section 6; IEC's table lists 60 K for the same class), m = n = 0.8
(IEEE C57.91 Table 4, ONAN; IEC's y = 1.6 = 2m, x = 0.8 = n). This module uses the IEEE aging scale
only (reference hot spot 110 degC); IEC's relative aging 2^((theta - 98)/6) is a different scale.
"""
from __future__ import annotations

import numpy as np

from cosim_base.errors import ConfigError, check

#: Rated top-oil rise over ambient (K), physics.md section 6.
D_TO_RATED_K = 55.0
#: Rated hot-spot rise over top oil (K), IEC 60076-7 Table 5 (distribution, ONAN).
D_H_RATED_K = 23.0
#: Load loss / no-load loss at rated load, IEC 60076-7 Table 5 (distribution, ONAN).
R_LOSS_RATIO = 5.0
#: Oil exponent n and winding exponent m, IEEE C57.91 Table 4 (ONAN).
N_OIL = 0.8
M_WINDING = 0.8
#: Oil and winding time constants (min), IEC 60076-7 Table 5 (distribution, ONAN).
TAU_OIL_MIN = 180.0
TAU_W_MIN = 4.0
#: Normal insulation life (h) at F_AA = 1, IEEE C57.91 Table 2 (180 000 h).
NORMAL_LIFE_H = 180000.0
#: Reference hot spot (degC) of the IEEE aging scale: F_AA = 1 there (thermally upgraded paper).
THETA_REF_C = 110.0
INITS = ("steady", "ambient")


def ultimate_rises_k(k_pu, *, d_to_rated_k=D_TO_RATED_K, d_h_rated_k=D_H_RATED_K,
                     r_loss_ratio=R_LOSS_RATIO, n=N_OIL, m=M_WINDING) -> tuple[np.ndarray, np.ndarray]:
    """Steady-state top-oil rise over ambient and hot-spot rise over top oil (K) at load ``k_pu``."""
    k = check("k_pu", k_pu, 0)
    d_to = d_to_rated_k * ((k ** 2 * r_loss_ratio + 1) / (r_loss_ratio + 1)) ** n
    d_h = d_h_rated_k * k ** (2 * m)
    return d_to, d_h


def _first_order(x_ult: np.ndarray, x0: float, decay: float) -> np.ndarray:
    """States at the end of each step of x' = (x_ult - x)/tau, x_ult held per step, x(0) = x0."""
    out = np.empty_like(x_ult)
    x = x0
    for i, u in enumerate(x_ult):
        x = u + (x - u) * decay
        out[i] = x
    return out


def rises_k(k_pu, dt_s, *, d_to_rated_k=D_TO_RATED_K, d_h_rated_k=D_H_RATED_K, r_loss_ratio=R_LOSS_RATIO,
            n=N_OIL, m=M_WINDING, tau_oil_min=TAU_OIL_MIN, tau_w_min=TAU_W_MIN,
            init="steady") -> tuple[np.ndarray, np.ndarray]:
    """Top-oil rise over ambient and hot-spot rise over top oil (K), each (N,), at the end of each step.

    ``k_pu[i]`` is the load held over step i of ``dt_s`` seconds. ``init``: ``"steady"`` starts
    from the steady state of ``k_pu[0]``, ``"ambient"`` from zero rises (a cold transformer).
    """
    k = check("k_pu", k_pu, 0)
    if k.ndim != 1 or k.size == 0:
        raise ConfigError(f"k_pu has shape {k.shape}, expected a non-empty (N,) array")
    dt = float(check("dt_s", dt_s, 0, lo_open=True))
    check("d_to_rated_k", d_to_rated_k, 0)
    check("d_h_rated_k", d_h_rated_k, 0)
    check("r_loss_ratio", r_loss_ratio, 0)
    check("n", n, 0, 2)
    check("m", m, 0, 2)
    tau_oil_s = 60.0 * float(check("tau_oil_min", tau_oil_min, 0, lo_open=True))
    tau_w_s = 60.0 * float(check("tau_w_min", tau_w_min, 0, lo_open=True))
    if init not in INITS:
        raise ConfigError(f"init = {init!r} must be one of {INITS}")
    to_ult, h_ult = ultimate_rises_k(k, d_to_rated_k=d_to_rated_k, d_h_rated_k=d_h_rated_k,
                                     r_loss_ratio=r_loss_ratio, n=n, m=m)
    to0, h0 = (to_ult[0], h_ult[0]) if init == "steady" else (0.0, 0.0)
    return (_first_order(to_ult, to0, np.exp(-dt / tau_oil_s)),
            _first_order(h_ult, h0, np.exp(-dt / tau_w_s)))


def hot_spot_c(k_pu, t_amb_c, dt_s, *, d_to_rated_k=D_TO_RATED_K, d_h_rated_k=D_H_RATED_K,
               r_loss_ratio=R_LOSS_RATIO, n=N_OIL, m=M_WINDING, tau_oil_min=TAU_OIL_MIN,
               tau_w_min=TAU_W_MIN, init="steady") -> np.ndarray:
    """Winding hot-spot temperature (degC), (N,), at the end of each step: ambient ``t_amb_c``
    (scalar or (N,), degC) plus the rises of :func:`rises_k` (same arguments)."""
    d_to, d_h = rises_k(k_pu, dt_s, d_to_rated_k=d_to_rated_k, d_h_rated_k=d_h_rated_k,
                        r_loss_ratio=r_loss_ratio, n=n, m=m, tau_oil_min=tau_oil_min,
                        tau_w_min=tau_w_min, init=init)
    t_amb = check("t_amb_c", t_amb_c, -80, 80)
    if t_amb.ndim and t_amb.shape != d_to.shape:
        raise ConfigError(f"t_amb_c has shape {t_amb.shape}, expected a scalar or {d_to.shape}")
    return t_amb + d_to + d_h


def aging_factor(theta_h_c) -> np.ndarray:
    """Aging acceleration factor F_AA (IEEE C57.91 eq. 2): 1 at 110 degC, doubling about every 6-7 K."""
    theta = check("theta_h_c", theta_h_c, -273, lo_open=True)
    return np.exp(15000.0 / (THETA_REF_C + 273.0) - 15000.0 / (theta + 273.0))


def equivalent_aging(f_aa, dt_s) -> float:
    """Equivalent aging factor F_EQA = sum(F_AA dt) / sum(dt) (IEEE C57.91 eq. 3); ``dt_s`` scalar or (N,)."""
    f = check("f_aa", f_aa, 0)
    dt = np.broadcast_to(check("dt_s", dt_s, 0, lo_open=True), f.shape)
    if f.size == 0:
        raise ConfigError("f_aa is empty: equivalent aging needs at least one step")
    return float(np.sum(f * dt) / np.sum(dt))


def loss_of_life_pct(f_eqa, hours, normal_life_h=NORMAL_LIFE_H) -> float:
    """Insulation life used in ``hours`` at equivalent aging ``f_eqa``, in % of ``normal_life_h``
    (IEEE C57.91 eq. 4)."""
    f = float(check("f_eqa", f_eqa, 0))
    h = float(check("hours", hours, 0))
    life = float(check("normal_life_h", normal_life_h, 0, lo_open=True))
    return f * h * 100.0 / life
