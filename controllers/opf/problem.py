"""Multi-period OPF on a radial feeder: assembly, objective, solve, discrete handling, diagnostics.

Formulations (``OPFConfig.formulation``):
  "socp"        branch-flow DistFlow with the SOCP relaxation of Farivar & Low (2013), IEEE TPS
                28(3); variables v = |V|^2 (n_bus, T), l = |I|^2, P, Q (n_br, T) in p.u.
  "lindistflow" Baran & Wu (1989) linearization: the l terms dropped, losses zero, linear only
                (so an exact MILP with HiGHS is possible).
  "bim"         bus injection model with the SOCP relaxation of Jabr (2006), IEEE TPS 21(3), as in
                Bose, Low et al. (2014): v = W_ii (n_bus, T), per branch W_ij = c + j s (n_br, T)
                with c^2 + s^2 <= W_ii W_jj, both ends' flows linear in W through the branch
                admittance y = 1/(r + jx); l = |y|^2 |V_i - V_j|^2 is an expression. On a radial
                network it is equivalent to "socp" (Subhonmesh et al. 2012): same optimum, other
                variables (tested on IEEE 33).

Performance choices (measured on this 2-core machine, IEEE 33 with fixed loads unless noted):
  * Matrix variables (rows = branches/buses/units, columns = periods), sparse incidence matrices and
    one ``cp.SOC(axis=0)`` over all (branch, period) rows; no Python loops over t or buses.
  * The net consumption per bus and period is a variable (one row sums the units' terms), which
    both flow models use (DistFlow and the lossless voltage): with the units' terms in each model's
    balance rows instead, Clarabel's KKT factor had a dense block about 1000 wide (default
    day-ahead problem: factorization 0.27 -> 0.06 s, solve 30 -> 7.5 s; intraday 6 -> 2.3 s).
  * DPP: everything that changes between solves is a cvxpy Parameter (prices, forecasts, initial
    states, references, discrete bounds); the problem is compiled once in ``__init__`` and re-solved
    by setting ``.value``. Fixed loads are one Parameter row per bus (FixedLoads.from_network).
  * Re-solves skip cvxpy's per-solve round trip (``controllers/opf/direct.py``): c, A, b are sparse
    mat-vecs of cvxpy's cached parametric tensors, only their Parameter-dependent entries go to
    Clarabel's data update (presolve off, so its setup is kept; bench case at T = 3: 3 of A's
    2312 values, 222 of b's 1240) and x is written into the Variables by offset. Time per re-solve above
    Clarabel's bare ``solve()`` call (bench case of benchmarks/bench_opf.py, median): IEEE 33
    T = 3: 3.1 -> 0.7 ms (solve 5.1 ms), T = 24: 9.0 -> 1.4 ms (solve 49-53 ms); LV T = 3:
    5.3 -> 1.1 ms (solve 31 ms). Any status but "Solved", a reduction it does not reproduce or an
    exception hands the solve to cvxpy's path (``OPFConfig(direct=False)`` always uses it).
    Direct solves leave ``self.problem``'s status, value and duals as cvxpy last set them.
  * Results: block injections are evaluated block by block and parent voltages with numpy rather
    than through cvxpy's expression trees, and fixed Discretes are stored with ``save_value`` (the
    ``.value`` setter's validation took 0.1 ms per variable): about 0.7 -> 0.2 ms at T = 3.
  * cvxpy 1.9.3's DPP compile of a SOC problem was O(variables x parameter entries) (issue #1332):
    build T=96 took 2.7 s (CPP backend) / 7.2 s (SCIPY); the whole cost is one sparse matmul in
    ConicSolver.format_constraints. ``_Clarabel`` replaces that operator by the equivalent signed
    row permutation (O(nnz)): build T=96 0.12 s, T=24 0.03 s, identical results (tested).
    The COO canonicalization backend is used (it failed on a parametric product with a promoted
    constant, avoided by scaling incidence matrices instead of dividing expressions).
  * ``OPFConfig(dpp=False)`` re-solves with ``ignore_dpp=True`` (a fresh compile with the values as
    constants): +15-75 ms per solve on IEEE 33 (T=3..96), so DPP is the default; see
    benchmarks/bench_opf.py for the current figures of both.
  * QOCO (evaluated, not a dependency): same optimum, solver time 0.6-1.4x Clarabel's, but no
    data-update path in cvxpy, so wall time per re-solve is not lower.

Discrete decisions (``Discrete`` of the blocks, the OLTC tap): ``solve(discrete="round")`` solves
the relaxation, rounds every free Discrete to its grid, fixes it through its lo/hi Parameters and
re-solves the same compiled problem; ``discrete="milp"`` builds (once, on demand) a separate problem
with integer variables tied to the Discretes and solves it with HiGHS (LinDistFlow only).

Objective (currency over the horizon), each term times its weight in ``OPFConfig.weights``:
  grid   sum_t dt (c_imp p_imp - c_exp p_exp), p_grid = p_imp - p_exp  (needs c_exp <= c_imp)
  loss   sum_t dt c_loss sum_k r_k l_k S_base  (seed 001 eq. "C_Loss")
  peak   sum_t dt p_grid^2                     (seed 003, currency per MW^2 h)
  voltage  sum_t dt v_violation_cost sum_buses (slack of v = |V|^2) / 2 (soft band only: about
           v_violation_cost per p.u. of |V| outside the band, per bus and hour)
  track  sum_t dt (x - x_ref)^2 for each entry of ``OPFConfig.track`` ("grid.p_mw", "<block>.<attr>")
  <block name>  the block's own cost (MT fuel, ESS dispatch, comfort, EV compensation, ...)
The SOCP relaxation is exact when the objective increases with losses; the loss price is kept at
``max(0, -c_imp, -c_exp) + loss_price_margin`` or above (raised with a warning when needed), and
the upper voltage bound acts on the lossless voltage (Gan et al. 2015, :meth:`OPFProblem._linear_voltage`).
"""
from __future__ import annotations

import time
import warnings

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from controllers.opf.block import Block, Context, Discrete
from controllers.opf.clarabel import CANON_BACKEND, CLARABEL_OPTS, CLARABEL_SOLVER, FORMULATION_OPTS, kkt_opts
from controllers.opf.config import FORMULATIONS, OK, OPFConfig, OPFResult  # noqa: F401 (FORMULATIONS re-exported)
from controllers.opf.direct import SOLVED, DirectClarabel, DirectSolution
from controllers.opf.network import RadialNetwork
from cosim_base.errors import ConfigError, check

DISCRETE_METHODS = ("round", "relaxed", "milp")
#: A relaxed Discrete within this share of its grid step of a grid value counts as on the grid.
ROUND_TOL = 1e-6
GAP_WARN = 1e-4  # relative relaxation gap above which the result carries a diagnosis note
#: Plan values smaller than this in magnitude (in their own unit: kW, MW, degC, ...) are zero within
#: the solver's precision (Clarabel's tolerances are 1e-8) and are reported as exactly 0: an idle
#: unit's setpoint is 0, not 1e-9, and the record compresses (4.7 of 18.6 MB on a summer day).
PLAN_ZERO = 1e-7
#: Relative relaxation gap above which a tracking solve is re-solved with a raised loss price.
EXACT_GAP = 1e-5


class OPFProblem:
    """One compiled multi-period OPF over ``T`` periods of ``dt_h`` hours.

    Usage::
        prob = OPFProblem(net, [FixedLoads.from_network(net), Battery(...)], T=24, dt_h=1.0)
        prob.set_data(price_import=c, price_export=0.5 * c, blocks={"load": {"p_mw": P, "q_mvar": Q}})
        res = prob.solve()            # OPFResult
    """

    def __init__(self, network: RadialNetwork, blocks: list[Block], T: int, dt_h: float,
                 config: OPFConfig | None = None):
        t0 = time.perf_counter()
        self.net, self.T, self.dt_h = network, int(check("T", T, 1)), float(check("dt_h", dt_h, 0, lo_open=True))
        self.cfg = config or OPFConfig()
        self.cfg.validate()
        self.blocks = {}
        for b in blocks:
            if b.name in self.blocks:
                raise ConfigError(f"block name {b.name!r} is used twice; give each block a unique name")
            self.blocks[b.name] = b
        self.ctx = Context(T=self.T, dt_h=self.dt_h, s_base_mva=network.s_base_mva)
        for name in ("price_import", "price_export", "price_loss"):
            self.ctx.shared(name)
        self.v_ext_pu2 = self.ctx.shared("v_ext_pu2", nonneg=True)
        for b in self.blocks.values():
            b.build(self.ctx)
        self.families: dict[str, list] = {}
        self.terms: dict[str, cp.Expression] = {}
        self.refs: dict[str, cp.Parameter] = {}
        self._build_network()
        self._build_objective()
        cons = [c for fam in self.families.values() for c in fam]
        self.problem = cp.Problem(cp.Minimize(self.objective), cons)
        self._milp: cp.Problem | None = None
        self._direct: DirectClarabel | None = None
        self._direct_ok = self.cfg.dpp and self.cfg.direct
        self._loss_price_user = np.zeros(self.T)
        self._defaults()
        if self.cfg.dpp:
            self.problem.get_problem_data(CLARABEL_SOLVER, canon_backend=CANON_BACKEND)
        self.build_time_s = time.perf_counter() - t0

    # ---------------------------------------------------------------- build
    def _injection(self, attr: str) -> cp.Expression:
        """Net consumption per bus (n_bus, T) in p.u. from all blocks (consumer convention)."""
        self._bus_parts[attr] = [(self.net.incidence(b.bus), getattr(b, attr)) for b in self.blocks.values()
                                 if b.n and getattr(b, attr) is not None]
        parts = [(inc / self.net.s_base_mva) @ expr for inc, expr in self._bus_parts[attr]]
        return sum(parts[1:], parts[0]) if parts else cp.Constant(np.zeros((self.net.n_bus, self.T)))

    def _bus_value(self, attr: str) -> np.ndarray:
        """Value of ``_injection(attr)`` in MW (Mvar), summed block by block (cheaper than cvxpy's tree)."""
        out = np.zeros((self.net.n_bus, self.T))
        for inc, expr in self._bus_parts[attr]:
            out += inc @ expr.value
        return out

    def _build_network(self) -> None:
        """Power flow of ``cfg.formulation`` in matrix form, voltage band, limits and exchange."""
        n, T, cfg = self.net, self.T, self.cfg
        self.v = cp.Variable((n.n_bus, T), name="v_pu2")
        self._bus_parts: dict[str, list] = {}
        self.p_bus, self.q_bus = self._injection("p_mw"), self._injection("q_mvar")
        # net consumption per bus as variables: both flow models below use them (one row each), so
        # the units' terms sit in one row per bus and period (less fill in the KKT factor)
        ptot, qtot = cp.Variable((n.n_bus, T), name="p_bus_pu"), cp.Variable((n.n_bus, T), name="q_bus_pu")
        self.families["power_flow"] = [ptot == self.p_bus + sp.diags(n.g_pu) @ self.v,
                                       qtot == self.q_bus - sp.diags(n.b_pu) @ self.v]
        self._Fp = n.parent_map()
        self.v_par = self._Fp @ self.v
        build = self._bus_injection if cfg.formulation == "bim" else self._distflow
        self.v_tap = self._root_voltage()
        self.families["power_flow"] += build(ptot, qtot) + [self.v[0] == self.v_tap]
        v_upper = self.v[1:]
        if self.l is not None:
            self.v_lin = self._linear_voltage(ptot, qtot)
            v_upper = self.v_lin[1:]
        self.v_slack = None
        lo, hi = cfg.v_min_pu**2, cfg.v_max_pu**2
        if np.isfinite(cfg.v_violation_cost):
            self.v_slack = [cp.Variable((n.n_bus - 1, T), nonneg=True, name=f"v_slack_{s}_pu2") for s in ("lo", "hi")]
            lo, hi = lo - self.v_slack[0], hi + self.v_slack[1]
        self.families["voltage_band"] = [self.v[1:] >= lo, v_upper <= hi]
        self.families["line_limits"] = self._line_limits()
        root = n.root_branches()
        self.p_grid = cp.Variable(T, name="p_grid_pu")  # import at the slack bus
        self.q_grid = cp.Variable(T, name="q_grid_pu")
        self.families["power_flow"] += [self.p_grid == cp.sum(self.P[root], axis=0) + ptot[0],
                                        self.q_grid == cp.sum(self.Q[root], axis=0) + qtot[0]]
        s = n.s_base_mva
        lim = []
        for expr, lo, hi in ((self.p_grid, cfg.p_grid_min_mw, cfg.p_grid_max_mw),
                             (self.q_grid, cfg.q_grid_min_mvar, cfg.q_grid_max_mvar)):
            lim += [expr >= lo / s] if np.isfinite(lo) else []
            lim += [expr <= hi / s] if np.isfinite(hi) else []
        self.families["exchange_limits"] = lim
        self.discretes = [d for b in self.blocks.values() for d in b.discrete]
        if self.tap is not None:
            self.discretes.append(self.tap)
        self.families["discrete_bounds"] = [c for d in self.discretes for c in (d.var >= d.lo, d.var <= d.hi)]
        for b in self.blocks.values():
            self.families[f"block:{b.name}"] = list(b.constraints)

    def _distflow(self, ptot, qtot) -> list:
        """DistFlow (Baran & Wu 1989, eqs. in physics.md section 9); "socp" adds l and one cone
        ||(2P, 2Q, l - v_i)|| <= l + v_i per (branch, period), "lindistflow" drops l."""
        n, T = self.net, self.T
        socp = self.cfg.formulation == "socp"
        self.P = cp.Variable((n.n_br, T), name="p_pu")
        self.Q = cp.Variable((n.n_br, T), name="q_pu")
        self.l = cp.Variable((n.n_br, T), nonneg=True, name="l_pu2") if socp else None
        down = n.flow_balance()
        R, X, v_par = sp.diags(n.r_pu), sp.diags(n.x_pu), self.v_par
        if not socp:
            return [down @ self.P == ptot[1:], down @ self.Q == qtot[1:],
                    self.v[1:] == v_par - 2 * (R @ self.P + X @ self.Q)]
        return [down @ self.P - R @ self.l == ptot[1:], down @ self.Q - X @ self.l == qtot[1:],
                self.v[1:] == v_par - 2 * (R @ self.P + X @ self.Q) + sp.diags(n.r_pu**2 + n.x_pu**2) @ self.l,
                _rotated_soc(self.l, v_par, 2 * self.P, 2 * self.Q)]

    def _bus_injection(self, ptot, qtot) -> list:
        """Bus injection model, SOCP relaxation (Jabr 2006). Branch k from parent i (behind the ratio
        a: v_par = v_i / a^2, W_k = V_i V_j^* / a = c + j s) to child j with y = g + j b:
        S_send = y^* (v_par - W_k), S_recv = y^* (v_j - W_k^*); the flows leaving a bus balance its
        net consumption; |W_k|^2 <= v_par v_j is one cone per (branch, period)."""
        n, T = self.net, self.T
        self.w_re = c = cp.Variable((n.n_br, T), name="w_re_pu2")
        self.w_im = s = cp.Variable((n.n_br, T), name="w_im_pu2")
        z2 = n.r_pu**2 + n.x_pu**2
        G, B, v_par, v_ch = sp.diags(n.r_pu / z2), sp.diags(-n.x_pu / z2), self.v_par, self.v[1:]
        self.P = G @ (v_par - c) - B @ s
        self.Q = -B @ (v_par - c) - G @ s
        p_recv, q_recv = G @ (v_ch - c) + B @ s, -B @ (v_ch - c) + G @ s
        self.l = sp.diags(1 / z2) @ (v_par + v_ch - 2 * c)   # |I|^2 = |y|^2 |V_i / a - V_j|^2
        out = n.children()   # row of child bus m (m - 1): the branches leaving m
        return [out @ self.P + p_recv == -ptot[1:], out @ self.Q + q_recv == -qtot[1:],
                _rotated_soc(v_ch, v_par, 2 * c, 2 * s)]

    def _linear_voltage(self, ptot, qtot) -> cp.Variable:
        """The lossless (LinDistFlow) voltage v_lin of the same injections, on which the upper voltage
        bound is imposed (Gan, Li, Topcu & Low 2015, IEEE TAC 60(1), the modified OPF).

        v_lin follows DistFlow with l = 0: P_lin, Q_lin are the sums of the downstream injections and
        v_lin[child] = v_lin[parent] / a^2 - 2 (r P_lin + x Q_lin), v_lin[0] = v[0]. With l >= 0 every
        relaxed point has P - P_lin = r l + the downstream r l (likewise Q), so v[child] - v_lin[child]
        = (v - v_lin)[parent] / a^2 - |z|^2 l - 2 (r, x) . (downstream losses) <= 0: v <= v_lin, and
        v_lin <= v_max keeps the true voltage in the band. Unlike v <= v_max, it cannot be met by
        fictitious losses (l above P^2 + Q^2 / v lowers v but not v_lin), which is what made the
        relaxation inexact whenever the upper bound bound (Gan et al.: exact under their condition C1,
        which holds on feeders whose reverse flows stay moderate). Price: the upper bound is tightened by
        v_lin - v, the voltage drop the losses cause (case33bw at its base load: 0.0002 p.u. at the
        first bus, 0.0028 at the far end; simulators.networks.ieee33 with its transformer: 0.0026
        and 0.0052); it matters where the upper bound binds, mostly the first buses."""
        n, T = self.net, self.T
        p_lin = cp.Variable((n.n_br, T), name="p_lin_pu")
        q_lin = cp.Variable((n.n_br, T), name="q_lin_pu")
        v_lin = cp.Variable((n.n_bus, T), name="v_lin_pu2")
        down = n.flow_balance()
        self.families["power_flow"] += [
            down @ p_lin == ptot[1:], down @ q_lin == qtot[1:], v_lin[0] == self.v[0],
            v_lin[1:] == self._Fp @ v_lin - 2 * (sp.diags(n.r_pu) @ p_lin + sp.diags(n.x_pu) @ q_lin)]
        return v_lin

    def _root_voltage(self) -> cp.Expression:
        """v behind the substation transformer: v_ext * u with u = 1/ratio^2 a Discrete on the OLTC grid."""
        oltc = self.net.oltc
        self.tap = None
        if oltc is None:
            return self.v_ext_pu2
        u = cp.Variable(self.T, name="u_tap")
        lo, hi = cp.Parameter(self.T, name="u_tap_lo"), cp.Parameter(self.T, name="u_tap_hi")
        self.tap = Discrete(u, lo, hi, grid=np.sort(oltc.u_grid))
        return cp.multiply(self.v_ext_pu2, u)

    def _line_limits(self) -> list:
        """l <= l_max (SOCP); for LinDistFlow an inscribed octagon on (P, Q) with |S| <= sqrt(l_max) v_min."""
        n = self.net
        k = np.flatnonzero(np.isfinite(n.l_max_pu2))
        if len(k) == 0:
            return []
        if self.l is not None:
            return [self.l[k] <= n.l_max_pu2[k][:, None]]
        s = (np.sqrt(n.l_max_pu2[k]) * self.cfg.v_min_pu * np.cos(np.pi / 8))[:, None]
        P, Q = self.P[k], self.Q[k]
        return [cp.abs(P) <= s, cp.abs(Q) <= s, cp.abs(P + Q) <= np.sqrt(2) * s, cp.abs(P - Q) <= np.sqrt(2) * s]

    def _build_objective(self) -> None:
        cfg, dt, s = self.cfg, self.dt_h, self.net.s_base_mva
        p = self.ctx.params
        p_grid_mw = self.p_grid * s
        if cfg.weight("grid"):
            self.p_imp = cp.Variable(self.T, nonneg=True, name="p_import_mw")
            self.p_exp = cp.Variable(self.T, nonneg=True, name="p_export_mw")
            self.families["power_flow"].append(p_grid_mw == self.p_imp - self.p_exp)
            self.terms["grid"] = dt * (p["price_import"] @ self.p_imp - p["price_export"] @ self.p_exp)
        if cfg.weight("loss") and self.l is not None:
            self.terms["loss"] = dt * s * (p["price_loss"] @ (self.net.r_pu @ self.l))
        if self.v_slack is not None:  # slack in v = |V|^2 is about 2 dV near 1 p.u.: c/2 per unit of it
            self.terms["voltage"] = dt * cfg.v_violation_cost / 2 * sum(cp.sum(x) for x in self.v_slack)
        if cfg.weight("peak"):
            self.terms["peak"] = dt * cp.sum_squares(p_grid_mw)
        track = []
        for key in cfg.track:
            x = self._tracked(key)
            self.refs[key] = cp.Parameter(x.shape, name=f"ref[{key}]")
            track.append(cfg.track[key] * dt * cp.sum_squares(x - self.refs[key]))
        if track:
            self.terms["track"] = sum(track[1:], track[0])
        for b in self.blocks.values():
            self.terms[b.name] = b.cost
        self.objective = sum((self.cfg.weight(k) * e for k, e in self.terms.items()), cp.Constant(0.0))

    def _tracked(self, key: str) -> cp.Expression:
        if key == "grid.p_mw":
            return self.p_grid * self.net.s_base_mva
        name, _, attr = key.partition(".")
        expr = getattr(self.blocks.get(name), attr, None)
        if not isinstance(expr, cp.Expression):
            raise ConfigError(f"track key {key!r}: expected 'grid.p_mw' or '<block>.<attr>' naming a "
                              f"cvxpy expression; blocks are {sorted(self.blocks)}")
        return expr

    def _defaults(self) -> None:
        self.v_ext_pu2.value = np.full(self.T, self.net.v_ext_pu**2)
        if self.tap is not None:
            self.tap.lo.value = np.full(self.T, self.tap.grid.min())
            self.tap.hi.value = np.full(self.T, self.tap.grid.max())
        for ref in self.refs.values():
            ref.value = np.zeros(ref.shape)

    # ---------------------------------------------------------------- data
    def set_data(self, *, blocks: dict | None = None, ref: dict | None = None, **data) -> None:
        """Set Parameters before a solve.

        Keys: price_import, price_export, price_loss (T,) currency/MWh; v_ext_pu (scalar or (T,));
        tap_pos ((T,) integer positions fixing the OLTC, or None to free it); any shared Parameter
        a block created (e.g. t_out_c); blocks={name: {...}} passed to that block's set_data;
        ref={track key: array} the tracking references.
        """
        for key, val in data.items():
            if key == "v_ext_pu":
                self.v_ext_pu2.value = self._vec(key, val, 0.5, 1.5) ** 2
            elif key == "tap_pos":
                self._set_tap(val)
            elif key == "price_loss":
                self._loss_price_user = self._vec(key, val)
            elif key in self.ctx.params and key != "v_ext_pu2":
                prm = self.ctx.params[key]
                prm.value = np.broadcast_to(check(key, val), prm.shape).copy() if np.ndim(val) == 0 else \
                    self._shaped(key, val, prm.shape)
            else:
                raise ConfigError(f"set_data: unknown key {key!r}; allowed: v_ext_pu, tap_pos, blocks, ref, "
                                  f"{sorted(k for k in self.ctx.params if k != 'v_ext_pu2')}")
        for name, d in (blocks or {}).items():
            if name not in self.blocks:
                raise ConfigError(f"set_data: unknown block {name!r}; blocks are {sorted(self.blocks)}")
            self.blocks[name].set_data(**d)
        for key, val in (ref or {}).items():
            if key not in self.refs:
                raise ConfigError(f"set_data: no tracking reference {key!r}; configured: {sorted(self.refs)}")
            self.refs[key].value = self._shaped(f"ref[{key}]", val, self.refs[key].shape)
        self._update_loss_price()

    def _vec(self, key, val, lo=None, hi=None) -> np.ndarray:
        arr = check(key, val, lo, hi)
        return np.full(self.T, float(arr)) if arr.ndim == 0 else self._shaped(key, arr, (self.T,))

    @staticmethod
    def _shaped(key, val, shape) -> np.ndarray:
        arr = check(key, val)
        if arr.shape != tuple(shape):
            raise ConfigError(f"{key} has shape {arr.shape}, expected {tuple(shape)}")
        return arr

    def _set_tap(self, pos) -> None:
        if self.tap is None:
            raise ConfigError("tap_pos: the network has no OLTC (no tapped transformer at the slack bus)")
        if pos is None:
            self.tap.lo.value = np.full(self.T, self.tap.grid.min())
            self.tap.hi.value = np.full(self.T, self.tap.grid.max())
            return
        u = self.net.oltc.u_of(np.broadcast_to(np.asarray(pos), (self.T,)))
        self.tap.lo.value = u.astype(float)
        self.tap.hi.value = u.astype(float)

    def _update_loss_price(self) -> None:
        """price_loss = max(user value, floor) with floor = max(0, -c_imp, -c_exp) + margin (exactness)."""
        p = self.ctx.params
        prices = [p[k].value for k in ("price_import", "price_export") if p[k].value is not None]
        w_grid, w_loss = self.cfg.weight("grid"), self.cfg.weight("loss")
        floor = np.zeros(self.T)
        for c in prices:
            floor = np.maximum(floor, -c * w_grid / max(w_loss, 1e-12))
        floor += self.cfg.loss_price_margin
        if p["price_import"].value is not None and p["price_export"].value is not None and w_grid and \
                np.any(p["price_export"].value > p["price_import"].value + 1e-12):
            raise ConfigError("price_export is above price_import in some period; the import/export split "
                              "is only exact with price_export <= price_import")
        eff = np.maximum(self._loss_price_user, floor)
        if np.any(eff > self._loss_price_user + 1e-12) and np.any(self._loss_price_user > 0):
            warnings.warn(f"price_loss raised to at least {floor.max():.3g} (max(0, -price) + margin) to keep "
                          "the SOCP relaxation exact", RuntimeWarning, stacklevel=3)
        p["price_loss"].value = eff

    # ---------------------------------------------------------------- solve
    def solve(self, discrete: str = "round") -> OPFResult:
        """Solve and return an :class:`OPFResult`; infeasibility and solver failures become a status.

        Exactness with tracking: the tracking term w dt (p_grid - ref)^2 rewards raising p_grid where
        it is below ref by 2 w (ref - p_grid) per MWh, so an SOCP relaxation may burn fictitious
        losses (l above P^2 + Q^2 / v) to get there. When a solve with a grid tracking term comes
        back with gap_rel above EXACT_GAP, it is solved again with the loss price raised to at least
        2 w (ref - p_grid + losses)^+ + loss_price_margin per period (at most twice): burning losses
        then costs at least what it could gain in tracking, the objective increases with the losses
        and the relaxation is exact (Farivar & Low 2013's condition). The diagnosis says so; the
        objective then carries the raised loss price (the first solve is kept if the re-solve is no
        better). The other source of inexactness, a binding upper voltage bound (the relaxation lowers
        voltages with fictitious losses, which no loss price rules out), is removed by imposing that
        bound on the lossless voltage (:meth:`_linear_voltage`)."""
        if discrete not in DISCRETE_METHODS:
            raise ConfigError(f"discrete = {discrete!r} is not one of {DISCRETE_METHODS}")
        self._check_values()
        t0 = time.perf_counter()
        w = self.cfg.track.get("grid.p_mw", 0.0)
        # a tracking solve's gap goes to _exact_tracking, which settles both causes
        res = self._solve_discrete(discrete, polish=not w)
        if res.ok and res.gap_rel is not None and res.gap_rel > EXACT_GAP and w:
            res = self._exact_tracking(res, discrete, w)
        res.build_time_s = self.build_time_s
        res.wall_time_s = time.perf_counter() - t0
        return res

    def _exact_tracking(self, res: OPFResult, discrete: str, w: float) -> OPFResult:
        """Re-solve an inexact tracking solve with the loss price raised (see :meth:`solve`)."""
        price, ref = self.ctx.params["price_loss"], self.refs["grid.p_mw"].value
        saved, first, original = price.value.copy(), res.gap_rel, res
        try:
            for _ in range(2):
                net = res.network
                need = 2 * w * np.maximum(ref - net["p_grid_mw"] + net["loss_mw"].sum(axis=0), 0.0)
                price.value = np.maximum(price.value, need + self.cfg.loss_price_margin)
                again = self._solve_discrete(discrete)
                if not again.ok:
                    break
                again.solve_time_s += res.solve_time_s
                again.iterations += res.iterations
                res = again
                if res.gap_rel <= EXACT_GAP:
                    break
        finally:
            top = float(price.value.max())
            price.value = saved
        if res.gap_rel >= first:  # no better: keep the solve at the true loss price (and count the work)
            original.solve_time_s, original.iterations = res.solve_time_s, res.iterations
            res = original
        res.diagnosis.append(f"tracking made the relaxation inexact (gap_rel {first:.2g}): re-solved with the "
                             f"loss price raised up to {top:.4g} per MWh, gap_rel now {res.gap_rel:.2g}")
        return res

    def _solve_discrete(self, discrete: str, polish: bool = True) -> OPFResult:
        """Solve with the Discretes as ``discrete`` says (``polish``: see :meth:`_solve_once`)."""
        free = [d for d in self.discretes if np.any(d.lo.value < d.hi.value)]
        if discrete == "milp" and free:
            res = self._solve_milp()
        else:
            res = self._solve_once(polish=polish)
            res.discrete_method = "relaxed" if free else "continuous"
            if free and discrete == "round" and res.ok:
                res = self._round_and_fix(free, res, polish)
        if res.status == "infeasible":
            res.diagnosis += self._diagnose()
        return res

    def _check_values(self) -> None:
        missing = sorted({p.name() for p in self.problem.parameters() if p.value is None})
        if missing:
            raise ConfigError(f"Parameters without a value: {missing}; set them with set_data(...)")

    def _solve_once(self, problem: cp.Problem | None = None, solver=CLARABEL_SOLVER, polish: bool = True) -> OPFResult:
        """One solve; Discrete entries fixed by lo = hi are reported at exactly that value.

        The compiled problem goes to Clarabel directly (``_solve_direct``) when it can; any other
        outcome than "Solved" is solved again through cvxpy, which maps the status as it always did
        (solve_time_s and iterations then add both solves). With ``polish``, a direct solve without
        iterative refinement (CLARABEL_OPTS) whose relaxation gap exceeds EXACT_GAP is solved again
        with it: the gap can be the solve's inaccuracy (solve_time_s and iterations add both). The
        first solve of a tracking problem does not polish: :meth:`_exact_tracking` re-solves it.
        """
        prob = problem or self.problem
        own = FORMULATION_OPTS.get(self.cfg.formulation, {})
        opts = {**CLARABEL_OPTS, **kkt_opts(self.T), **own, **self.cfg.solver_opts} \
            if solver is CLARABEL_SOLVER else {}
        direct = self._solve_direct(opts) if prob is self.problem and self._direct_ok else None
        if direct is not None and direct.status == SOLVED:
            res = OPFResult(status="optimal", solve_time_s=direct.solve_time_s, iterations=direct.iterations)
            self._finish(res)
            res.objective = direct.objective
            if polish and res.gap_rel is not None and res.gap_rel > EXACT_GAP \
                    and not opts.get("iterative_refinement_enable", True):
                again = self._solve_direct(opts, refine=True)
                if again is not None and again.status == SOLVED:
                    res = OPFResult(status="optimal", solve_time_s=direct.solve_time_s + again.solve_time_s,
                                    iterations=direct.iterations + again.iterations)
                    self._finish(res)
                    res.objective = again.objective
            return res
        res = self._solve_cvxpy(prob, solver, opts)
        if direct is not None:
            res.solve_time_s += direct.solve_time_s
            res.iterations += direct.iterations
        return res

    def _solve_direct(self, opts: dict, refine: bool = False) -> DirectSolution | None:
        """Solve through :class:`DirectClarabel` (``refine``: with iterative refinement); None if it
        cannot be used (then never again) or failed."""
        try:
            if self._direct is None:
                self._direct = DirectClarabel(self.problem, CLARABEL_SOLVER, CANON_BACKEND, opts)
        except Exception:  # structure or settings the direct path does not take: cvxpy's path decides
            self._direct_ok = False
            return None
        try:
            return self._direct.solve(refine=refine)
        except Exception:  # e.g. a rejected data update: set up afresh next time, cvxpy answers now
            self._direct.solver = self._direct.refined = None
            return None

    def _finish(self, res: OPFResult) -> None:
        for d in self.discretes:  # save_value: the .value setter's validation took 0.1 ms per variable
            d.var.save_value(np.where(d.lo.value == d.hi.value, d.lo.value, d.var.value))
        self._collect(res)

    def _solve_cvxpy(self, prob: cp.Problem, solver, opts: dict) -> OPFResult:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                prob.solve(solver=solver, warm_start=True, ignore_dpp=not self.cfg.dpp,
                           canon_backend=CANON_BACKEND, **opts)
            status = prob.status
        except Exception as err:  # any failure inside cvxpy or the solver becomes a status
            return OPFResult(status="solver_error", diagnosis=[f"{type(err).__name__}: {err}"])
        stats = prob.solver_stats
        res = OPFResult(status=status if status in OK or status is None else _plain(status),
                        solve_time_s=float(stats.solve_time or 0.0), iterations=int(stats.num_iters or 0))
        if res.ok:
            self._finish(res)
            res.objective = float(prob.value)
        return res

    def _round_and_fix(self, free: list[Discrete], relaxed: OPFResult, polish: bool = True) -> OPFResult:
        """Relax, round, fix, and never end infeasible when the relaxation was feasible:

        1. a relaxed solution that already holds with every Discrete at its rounded value (its value
           within ROUND_TOL of a grid step, or a gate whose flows respect it: Discrete.unmet) is the
           answer as solved ("relaxed-integral", one solve; consumers round positions they need as
           integers, and a gate's own relaxed value does not matter);
        2. else the Discretes are rounded, fixed via lo = hi and the problem re-solved
           ("relax-round-fix");
        3. if that is infeasible, only the Discretes the relaxation left on the grid stay fixed and
           the fractional ones are relaxed again ("relax-round-repair", a diagnosis names how many);
        4. if that fails too, the relaxed plan is kept ("relaxed-kept", with a diagnosis): its
           fractional values are what the plant is asked to follow; the consumer rounds the
           positions it needs as integers (taps, steps, on/off).

        lo/hi are restored afterwards."""
        rounded = [d.rounded(d.var.value) for d in free]
        frac = [d.unmet(r, ROUND_TOL) for d, r in zip(free, rounded)]
        n_frac = int(sum(f.sum() for f in frac))
        if n_frac == 0:
            relaxed.discrete_method = "relaxed-integral"
            return relaxed
        saved = [(d.lo.value.copy(), d.hi.value.copy()) for d in free]
        res = None
        try:
            for step, method in ((False, "relax-round-fix"), (True, "relax-round-repair")):
                for d, r, f, (lo, hi) in zip(free, rounded, frac, saved):
                    d.lo.value, d.hi.value = (np.where(f, lo, r), np.where(f, hi, r)) if step else (r.copy(), r.copy())
                tried = self._solve_once(polish=polish)
                tried.solve_time_s += relaxed.solve_time_s + (res.solve_time_s if res is not None else 0.0)
                tried.iterations += relaxed.iterations + (res.iterations if res is not None else 0)
                tried.discrete_method = method
                res = tried
                if res.ok:
                    if step:
                        res.diagnosis.append(f"rounding all Discretes was infeasible: {n_frac} fractional "
                                             "values left relaxed")
                    return res
        finally:
            for d, (lo, hi) in zip(free, saved):
                d.lo.value, d.hi.value = lo, hi
        relaxed.solve_time_s, relaxed.iterations = res.solve_time_s, res.iterations
        relaxed.discrete_method = "relaxed-kept"
        relaxed.diagnosis.append(f"rounding was infeasible (also with the {n_frac} fractional values relaxed): "
                                 "the relaxed plan is kept")
        return relaxed

    def _solve_milp(self) -> OPFResult:
        if self.cfg.formulation != "lindistflow":
            raise ConfigError("discrete='milp' needs formulation='lindistflow' (no MISOCP solver is installed)")
        if self._milp is None:
            ints = []
            for d in self.discretes:
                ints += _integrality(d)
            self._milp = cp.Problem(self.problem.objective, self.problem.constraints + ints)
        res = self._solve_once(self._milp, solver=cp.HIGHS)
        res.discrete_method = "milp-highs"
        return res

    def _diagnose(self) -> list[str]:
        """Name the constraint families whose removal makes the problem feasible (constants, no DPP)."""
        notes = []
        for fam in self.families:
            if fam == "power_flow":
                continue
            rest = [c for f, cs in self.families.items() if f != fam for c in cs]
            if not self.families[fam]:
                continue
            try:
                prob = cp.Problem(cp.Minimize(0), rest)
                prob.solve(solver=CLARABEL_SOLVER, ignore_dpp=True, **CLARABEL_OPTS)
            except Exception as err:
                notes.append(f"{fam}: check failed ({type(err).__name__})")
                continue
            if prob.status in OK:
                notes.append(f"infeasible because of {fam}: feasible without it")
        if not notes:
            notes.append("no single constraint family explains the infeasibility")
        return notes

    # ---------------------------------------------------------------- results
    def _collect(self, res: OPFResult) -> None:
        n, s, T = self.net, self.net.s_base_mva, self.T
        v, P, Q = self.v.value, self.P.value, self.Q.value
        net = dict(v_pu=np.sqrt(np.maximum(v, 0)), p_mw=P * s, q_mvar=Q * s,
                   p_grid_mw=self.p_grid.value * s, q_grid_mvar=self.q_grid.value * s,
                   p_bus_mw=self._bus_value("p_mw"), q_bus_mvar=self._bus_value("q_mvar"))
        net["v_pu"][0] = np.sqrt(self.v_ext_pu2.value)
        net["v_tap_pu"] = np.sqrt(np.maximum(v[0], 0))
        if self.tap is not None:
            net["tap_pos"] = n.oltc.pos_of(self.tap.var.value)
        i_base = n.i_base_ka()[1:, None]
        if self.l is not None:
            l, vp = self.l.value, self._Fp @ v
            net["i_ka"] = np.sqrt(np.maximum(l, 0)) * i_base
            net["loss_mw"] = (n.r_pu @ l + n.g_pu @ v) * s
            if self.cfg.formulation == "bim":
                w = vp * v[1:]
                gap = w - self.w_re.value**2 - self.w_im.value**2
            else:
                w = l * vp
                gap = w - P**2 - Q**2
            res.gap_abs = float(gap.max())
            res.gap_rel = float(gap.max() / max(w.max(), 1e-12))
            if res.gap_rel > GAP_WARN:
                k, t = np.unravel_index(gap.argmax(), gap.shape)
                res.diagnosis.append(f"SOCP relaxation inexact: gap_rel {res.gap_rel:.2g} at branch {n.branch_ids[k]}, "
                                     f"period {t} (an objective rewarding losses?)")
        else:
            net["i_ka"] = np.sqrt((P**2 + Q**2) / np.maximum(v[n.parent], 1e-6)) * i_base
            net["loss_mw"] = n.g_pu @ v * s
        if self.v_slack is not None:
            lo, hi = self.cfg.v_min_pu, self.cfg.v_max_pu  # slacks in |V|^2 back to p.u. of |V|
            viol = (lo - np.sqrt(np.maximum(lo**2 - self.v_slack[0].value, 0.0))
                    + np.sqrt(hi**2 + self.v_slack[1].value) - hi)
            net["v_violation_pu"] = np.vstack([np.zeros(T), viol])
            if viol.max() > 1e-6:
                k, t = np.unravel_index(viol.argmax(), viol.shape)
                res.diagnosis.append(f"no plan keeps the voltage band: least violation {viol.max():.2g} p.u. "
                                     f"(bus {n.bus_ids[k + 1]}, period {t}; soft band)")
        res.network = net
        res.plan = {name: {k: _zeroed(a) for k, a in b.plan().items()} for name, b in self.blocks.items()}
        res.setpoints = {name: {k: np.asarray(a)[:, 0] for k, a in pl.items() if np.ndim(a) == 2 and np.shape(a)[1] == self.T}
                         for name, pl in res.plan.items()}
        res.costs = {k: float(self.cfg.weight(k) * np.asarray(e.value).sum()) if e is not None else 0.0
                     for k, e in self.terms.items()}


def _rotated_soc(x, y, a, b) -> cp.SOC:
    """a^2 + b^2 <= 4 x y as ||(a, b, x - y)|| <= x + y, one cone per entry of the (rows, T) arrays."""
    return cp.SOC(cp.vec(x + y, order="C"),
                  cp.vstack([cp.vec(a, order="C"), cp.vec(b, order="C"), cp.vec(x - y, order="C")]), axis=0)


def _zeroed(a):
    """``a`` with entries below PLAN_ZERO in magnitude set to 0 (non-float values unchanged)."""
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return np.where(np.abs(a) < PLAN_ZERO, 0.0, a)
    return a


def _plain(status: str) -> str:
    """cvxpy status -> result status (infeasible / unbounded, inaccurate folded in)."""
    return status.replace("_inaccurate", "") if "infeasible" in status or "unbounded" in status else status


def _integrality(d: Discrete) -> list:
    """Tie a Discrete to integers: var = step z (z integer) or var = grid . onehot (z boolean)."""
    if d.grid is None:
        z = cp.Variable(d.var.shape, integer=True)
        return [d.var == d.step * z]
    size = int(np.prod(d.var.shape))
    g = np.asarray(d.grid, dtype=float)
    z = cp.Variable((len(g), size), boolean=True)
    return [cp.reshape(d.var, (size,), order="C") == g @ z, cp.sum(z, axis=0) == 1]
