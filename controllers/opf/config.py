"""What an OPF problem is asked (:class:`OPFConfig`) and what a solve answers (:class:`OPFResult`);
the problem itself is controllers.opf.problem."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cosim_base.errors import ConfigError, check

FORMULATIONS = ("socp", "lindistflow", "bim")
OK = ("optimal", "optimal_inaccurate")


@dataclass
class OPFConfig:
    """Problem options fixed at build time (changing them needs a new OPFProblem).

    weights: term -> weight; terms "grid", "loss", "peak", "track" and block names; missing terms
    weigh 1 except "peak" (0). track: "grid.p_mw" or "<block>.<attr>" -> weight (currency per
    MW^2 h); its reference is a Parameter set with ``set_data(ref={...})``.
    v_violation_cost: currency per p.u. (of |V|) and hour per bus outside [v_min_pu, v_max_pu]; inf
    (the default) makes the band a hard constraint, a finite value a soft one (a forecast or a fixed
    tap that leaves no feasible voltage then gives the least violation instead of "infeasible").
    direct: re-solve the DPP problem by calling Clarabel on cvxpy's cached parametric tensors
    (controllers.opf.direct) instead of through cvxpy; False (or dpp=False) keeps cvxpy's path.
    """

    formulation: str = "socp"
    v_min_pu: float = 0.94
    v_max_pu: float = 1.06
    p_grid_min_mw: float = -np.inf
    p_grid_max_mw: float = np.inf
    q_grid_min_mvar: float = -np.inf
    q_grid_max_mvar: float = np.inf
    weights: dict = field(default_factory=dict)
    track: dict = field(default_factory=dict)
    loss_price_margin: float = 1.0
    v_violation_cost: float = np.inf
    dpp: bool = True
    direct: bool = True
    solver_opts: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.formulation not in FORMULATIONS:
            raise ConfigError(f"formulation = {self.formulation!r} is not one of {FORMULATIONS}")
        check("v_min_pu", self.v_min_pu, 0.5, 1.0)
        check("v_max_pu", self.v_max_pu, 1.0, 1.5)
        check("loss_price_margin", self.loss_price_margin, 0.0)
        check("v_violation_cost", self.v_violation_cost, 0.0, lo_open=True, finite=False)
        for k, w in {**self.weights, **self.track}.items():
            check(f"weights[{k!r}]", w, 0.0)
        if self.p_grid_min_mw > self.p_grid_max_mw:
            raise ConfigError(f"p_grid_min_mw = {self.p_grid_min_mw} is above p_grid_max_mw = {self.p_grid_max_mw}")

    def weight(self, term: str) -> float:
        return float(self.weights.get(term, 0.0 if term == "peak" else 1.0))


@dataclass
class OPFResult:
    """Outcome of one :meth:`OPFProblem.solve`.

    status: "optimal", "optimal_inaccurate", "infeasible", "unbounded" or "solver_error" (rounding
    never makes a feasible relaxation infeasible: see _round_and_fix). solve_time_s: the solver's own time (summed over the solves of a
    discrete method; Clarabel 0.11's includes its one-off setup, measured +1 ms at T = 3 and +7 ms
    at T = 24 on IEEE 33 over its bare solve() call); wall_time_s: the whole call; build_time_s: building and first compile.
    gap_abs / gap_rel: max over branches and periods of l v_parent - P^2 - Q^2 (p.u.^2), and that
    divided by max(l v_parent) ("bim": v_parent v_child - c^2 - s^2 over max(v_parent v_child));
    None for LinDistFlow. discrete_method: "continuous" (no free
    Discrete), "relaxed", "relaxed-integral", "relax-round-fix", "relax-round-repair",
    "relaxed-kept" (see OPFProblem._round_and_fix) or "milp-highs". plan: block name -> block.plan();
    network: v_pu (n_bus, T; row 0 the slack), v_tap_pu (T,) behind the OLTC, p_mw / q_mvar / i_ka
    (n_br, T) at the sending end, loss_mw (series r l plus shunt g v; LinDistFlow: shunts only), p_grid_mw, q_grid_mvar (T,), tap_pos (T,) if an OLTC,
    p_bus_mw / q_bus_mvar (n_bus, T) the blocks' net consumption per bus (shunts excluded),
    v_violation_pu (n_bus, T) how far the plan leaves the band (soft band only; the upper side on the
    lossless voltage).
    setpoints: block name -> {key: plan[key][:, 0]}. costs: term -> value. diagnosis: constraint
    families whose removal makes an infeasible problem feasible, and other notes.
    """

    status: str
    objective: float = np.nan
    solve_time_s: float = 0.0
    wall_time_s: float = 0.0
    build_time_s: float = 0.0
    iterations: int = 0
    gap_abs: float | None = None
    gap_rel: float | None = None
    discrete_method: str = "continuous"
    plan: dict = field(default_factory=dict)
    network: dict = field(default_factory=dict)
    setpoints: dict = field(default_factory=dict)
    costs: dict = field(default_factory=dict)
    diagnosis: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in OK
