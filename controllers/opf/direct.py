"""Direct Clarabel re-solves of a DPP-compiled cvxpy problem, without cvxpy's per-solve round trip.

cvxpy compiles a DPP problem once into parametric tensors (``ParamConeProg``): c = Q theta and the
nonzero values of [A | b] = R theta, theta the stacked Parameter values (Fortran order) and a final
1. A cvxpy re-solve then rebuilds scipy matrices from them, calls Clarabel and maps the solution
back through every reduction (with OPFProblem's result collection about 3 ms per solve on the
IEEE 33 bench case at T = 3, against a 5 ms Clarabel solve). :class:`DirectClarabel` keeps those
tensors, with the rows reordered once to Clarabel's CSC order, and per solve does a few sparse
mat-vecs, one ``DefaultSolver.update`` with (index, value) pairs of the Parameter-dependent
entries (same sparsity pattern, so Clarabel keeps its setup; checked with clarabel 0.11.1) and
writes x back into the cvxpy Variables by their offsets.

Only the reductions cvxpy applies to this OPF are supported (Dcp2Cone, CvxAttr2Constr for sign
attributes, EliminateZeroSized, ConeMatrixStuffing, a Clarabel interface); anything else raises
:class:`Unsupported` at construction, and the caller keeps cvxpy's path.
"""
from __future__ import annotations

from dataclasses import dataclass

import clarabel
import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from cvxpy.lin_ops import lin_op
from cvxpy.reductions.cvx_attr2constr import CvxAttr2Constr
from cvxpy.reductions.dcp2cone.cone_matrix_stuffing import ConeMatrixStuffing
from cvxpy.reductions.dcp2cone.dcp2cone import Dcp2Cone
from cvxpy.reductions.eliminate_zero_sized import EliminateZeroSized
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL, dims_to_solver_cones

_KNOWN = (Dcp2Cone, CvxAttr2Constr, EliminateZeroSized, ConeMatrixStuffing, CLARABEL)
SOLVED = "Solved"


class Unsupported(ValueError):
    """The compiled problem uses a reduction or attribute the direct path does not reproduce."""


@dataclass
class DirectSolution:
    """Clarabel's own outcome of one direct solve: ``status`` its status name, ``objective`` the
    problem's objective value (Clarabel's obj_val plus cvxpy's constant offset)."""

    status: str
    objective: float
    solve_time_s: float
    iterations: int


class _Map:
    """theta -> one data vector of the solver: all entries (setup) and the Parameter-dependent ones.

    Entries fed only by the constant column of theta never change, so an update sends the others
    alone (Clarabel's partial data update); on IEEE 33 at T = 3 that is 3 of A's 2312 values.
    """

    def __init__(self, R, const_col: int):
        self.R = sp.csr_array(R)
        rows = np.repeat(np.arange(self.R.shape[0]), np.diff(self.R.indptr))
        self.idx = np.unique(rows[self.R.indices != const_col])
        self.R_var = self.R[self.idx]

    def full(self, theta: np.ndarray) -> np.ndarray:
        return self.R @ theta

    def varying(self, theta: np.ndarray) -> tuple | None:
        return (self.idx, self.R_var @ theta) if len(self.idx) else None


class DirectClarabel:
    """Re-solve ``problem`` (DPP, compiled for ``solver``) with the current Parameter values.

    ``solver_opts`` are Clarabel settings as given to ``cp.Problem.solve``; they must disable
    presolve (``presolve_enable=False``) for Clarabel's data updates, else each solve sets up anew.
    """

    def __init__(self, problem: cp.Problem, solver: CLARABEL, canon_backend: str, solver_opts: dict):
        data, chain, inverse = problem.get_problem_data(solver, canon_backend=canon_backend)
        if not all(isinstance(r, _KNOWN) for r in chain.reductions) or not isinstance(chain.reductions[-1], CLARABEL):
            raise Unsupported(f"reductions {[type(r).__name__ for r in chain.reductions]}")
        prog = data["param_prob"]
        if prog.lb_tensor is not None or prog.ub_tensor is not None:
            raise Unsupported("variable bounds tensors")
        self.n = n = prog.x.size
        self._params = self._param_layout(problem, prog)
        const = prog.param_id_to_col[lin_op.CONSTANT_ID]
        self.theta = np.zeros(prog.total_param_size + 1)
        self.theta[const] = 1.0
        Q = sp.csr_array(prog.q)                                          # (n + 1, n_theta): [c; d]
        self.q, self.d = _Map(Q[:n], const), Q[[n]]
        RA, Rb, self._A = self._constraint_maps(prog, n)
        self.A, self.b = _Map(RA, const), _Map(Rb, const)
        RP, self._P = self._quad_map(prog, n)
        self.P = None if RP is None else _Map(RP, const)
        self._vars = self._var_layout(problem, chain, inverse, prog)
        self.settings = CLARABEL.parse_solver_opts(False, solver_opts)
        self.refined_settings = CLARABEL.parse_solver_opts(False, {**solver_opts, "iterative_refinement_enable": True})
        self.cones = dims_to_solver_cones(prog.cone_dims)
        self.solver = None
        self.refined = None  # the same problem with iterative refinement, set up when first asked

    # ------------------------------------------------------------------ layout (once)
    @staticmethod
    def _param_layout(problem, prog) -> list:
        own = {p.id: p for p in problem.parameters()}
        out = []
        for pid, col in prog.param_id_to_col.items():
            if pid == lin_op.CONSTANT_ID:
                continue
            if own.get(pid) is not prog.id_to_param[pid]:
                raise Unsupported(f"parameter {pid} was replaced by a reduction")
            out.append((own[pid], col, prog.param_id_to_size[pid]))
        return out

    @staticmethod
    def _csc_order(indices, indptr, shape) -> np.ndarray:
        """Permutation of the stored entries that sorts row indices within each column."""
        m = sp.csc_array((np.arange(len(indices), dtype=float), indices, indptr), shape=shape)
        m.has_sorted_indices = False
        m.sort_indices()
        return m.data.astype(np.int64)

    def _constraint_maps(self, prog, n):
        """theta -> values of Clarabel's A (cvxpy passes -A, CSC order), theta -> b; A's pattern."""
        red = prog.reduced_A
        red.cache()
        if red.problem_data_index is None:
            raise Unsupported("no constraint tensor")
        R = sp.csr_array(red.reduced_mat)
        indices, indptr, (m, n1) = red.problem_data_index
        if n1 != n + 1:
            raise Unsupported("constraint tensor without an offset column")
        nnz_a = indptr[n]
        order = self._csc_order(indices[:nnz_a], indptr[:n + 1], (m, n))
        rows_b = indices[nnz_a:indptr[n + 1]]
        to_b = sp.csr_array((np.ones(len(rows_b)), (rows_b, np.arange(len(rows_b)))), shape=(m, len(rows_b)))
        A = sp.csc_array((np.zeros(nnz_a), indices[:nnz_a][order], indptr[:n + 1]), shape=(m, n))
        return -R[order], to_b @ R[nnz_a:indptr[n + 1]], A

    @staticmethod
    def _quad_map(prog, n):
        """theta -> values of the upper triangle of P (Clarabel's convention, CSC order); P's pattern."""
        if prog.P is None:
            return None, sp.csc_array((n, n))
        red = prog.reduced_P
        red.cache()
        if red.problem_data_index is None:
            raise Unsupported("quadratic tensor without an index")
        R = sp.csr_array(red.reduced_mat)
        indices, indptr, shape = red.problem_data_index
        cols = np.repeat(np.arange(shape[1]), np.diff(indptr))
        keep = np.flatnonzero(indices <= cols)
        ptr = np.concatenate([[0], np.cumsum(np.bincount(cols[keep], minlength=shape[1]))])
        order = DirectClarabel._csc_order(indices[keep], ptr, shape)
        return R[keep[order]], sp.csc_array((np.zeros(len(keep)), indices[keep][order], ptr), shape=shape)

    @staticmethod
    def _var_layout(problem, chain, inverse, prog) -> list:
        """(variable, offset in x, clip) for every Variable. Like cvxpy's CvxAttr2Constr.invert
        (Leaf.project), a value is clipped at 0 from below (nonneg/pos) or above (nonpos/neg)."""
        new, project = {}, False
        for red, inv in zip(chain.reductions, inverse):
            if isinstance(red, CvxAttr2Constr) and inv:
                new, project = inv[0], True
        out = []
        for v in problem.variables():
            nv = new.get(v.id, v)
            attrs = {k for k, on in v.attributes.items() if on}
            if not attrs <= {"nonneg", "pos", "nonpos", "neg"} or len(attrs) > 1 or nv.shape != v.shape:
                raise Unsupported(f"variable {v.name()} has attributes {sorted(attrs)}")
            if v.size == 0:
                continue
            if nv.id not in prog.var_id_to_col:
                raise Unsupported(f"variable {v.name()} is not in the stuffed problem")
            clip = None if not (project and attrs) else (np.maximum if attrs & {"nonneg", "pos"} else np.minimum)
            out.append((v, prog.var_id_to_col[nv.id], clip))
        return out

    # ------------------------------------------------------------------ per solve
    def _theta(self) -> np.ndarray:
        th = self.theta
        for p, col, size in self._params:
            th[col:col + size] = np.ravel(p.value, order="F")
        return th

    def solve(self, refine: bool = False) -> DirectSolution:
        """Solve with the current Parameter values; on "Solved" write x into the Variables.
        ``refine``: with Clarabel's iterative refinement of every KKT solve, whatever the settings
        say (a second solver of the same problem, kept for later refined solves)."""
        th = self._theta()
        solver = self.refined if refine else self.solver
        if solver is None or not solver.is_data_update_allowed():
            self._A.data[:] = self.A.full(th)
            if self.P is not None:
                self._P.data[:] = self.P.full(th)
            solver = clarabel.DefaultSolver(self._P, self.q.full(th), self._A, self.b.full(th), self.cones,
                                            self.refined_settings if refine else self.settings)
            if refine:
                self.refined = solver
            else:
                self.solver = solver
        else:
            parts = {key: m.varying(th) for key, m in (("q", self.q), ("A", self.A), ("b", self.b), ("P", self.P))
                     if m is not None}
            solver.update(**{key: part for key, part in parts.items() if part is not None})
        sol = solver.solve()
        status = str(sol.status)
        out = DirectSolution(status, float(sol.obj_val) + float((self.d @ th)[0]), float(sol.solve_time),
                             int(sol.iterations))
        if status == SOLVED:
            x = np.array(sol.x)
            for v, start, clip in self._vars:
                val = x[start:start + v.size].reshape(v.shape, order="F")
                v.save_value(val if clip is None else clip(val, 0.0))
        return out
