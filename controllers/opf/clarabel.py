"""Clarabel as the OPF core calls it through cvxpy: the solver, its options and a patch of one cvxpy
internal (the O(variables x parameter entries) DPP compile of cvxpy issue #1332; re-check on a cvxpy
upgrade, pyproject pins cvxpy < 1.10)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from cvxpy.reductions.solvers.conic_solvers import conic_solver
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL

#: cvxpy's canonicalization backend for the parametric problems.
CANON_BACKEND = "COO"
#: Clarabel settings: QDLDL (faer on long horizons: kkt_opts), no presolve (the compiled structure
#: must stay the same between solves), no iterative refinement of each KKT solve. Clarabel still
#: stops on its own residuals and gap (1e-8); refinement polishes the search directions at up to 10
#: extra triangular solves each, about 30 % of the solve time here. A hard case (IEEE 33 far
#: outside a soft voltage band) came back without it with a relaxation gap of 1.4e-5 against
#: 4.2e-6, so a solve whose gap exceeds problem.EXACT_GAP is solved again with refinement
#: (OPFProblem._solve_once). Measured with refinement against this, one run each (tools: the
#: record's solve times): default day OPF time 45.2 -> 31.4 s, seed 000 187.9 -> 99.8 s, the same
#: iterations, cost, voltage, comfort and EV figures, the largest relaxation gap 8.9e-6 -> 9.3e-6
#: and 1.3e-6 -> 2.1e-6.
CLARABEL_OPTS = dict(direct_solve_method="qdldl", presolve_enable=False, iterative_refinement_enable=False)
#: Horizons from this many periods factor their KKT systems with faer (supernodal) instead of QDLDL.
#: The bus-by-period rows leave a dense trailing block whose width grows with the periods, so the
#: factorization's cost grows about as T^3: QDLDL's scalar kernel is faster on short horizons,
#: faer's dense kernels on long ones. One day-ahead solve of each filled problem, QDLDL against
#: faer (2026-12-04): T = 24 IEEE 33 default 1.9 / 3.8 s, seed 000's LV feeder 4.1 / 9.6 s;
#: T = 48 IEEE 33 11.8 / 8.7 s, LV 23.5 / 23.4 s, seed 002's area 15.2 / 17.4 s (even, so seed
#: 002's 48 periods stay with QDLDL); T = 96 IEEE 33 with 224 houses + 96 EVs 135 / 27 s, LV
#: 184 / 58 s, area 128 / 46 s. One thread: faer's second thread gained nothing (27 against
#: 30 s), and sweeps run one worker per core.
FAER_FROM_PERIODS = 64


def kkt_opts(T: int) -> dict:
    """Clarabel's KKT solver settings for a horizon of ``T`` periods (see FAER_FROM_PERIODS)."""
    return {"direct_solve_method": "faer", "max_threads": 1} if T >= FAER_FROM_PERIODS else {}


#: Settings of a formulation that differ: the bus injection model keeps refinement (without it
#: its line flows moved by 5e-6 p.u., tests/test_opf_bim.py).
FORMULATION_OPTS = {"bim": {"iterative_refinement_enable": True}}


class _PermutationRestructure:
    """Signed row permutation standing in for cvxpy's block-diagonal restructuring operator.

    cvxpy's ConicSolver.format_constraints reorders the rows of the parametric problem tensor with a
    sparse matmul whose right operand has (n_vars + 1) (n_param_entries + 1) columns; scipy's
    csr_matmat allocates O(columns) work arrays, which is the O(variables x parameter entries) DPP
    compile cost of cvxpy issue #1332 (2-3 s and > 1 GB at T=96 on IEEE 33). For the cones used here
    (zero, nonneg, SOC) the operator is a signed permutation, so indexing the rows costs O(nnz).
    Falls back to cvxpy's operator when an operator is not a signed permutation.
    """

    def __init__(self, operators):
        perms, signs, offset = [], [], 0
        for op in operators:
            if isinstance(op, conic_solver.NegativeIdentityOperator | conic_solver.IdentityOperator):
                n = op.shape[0]
                perms.append(np.arange(n) + offset)
                signs.append(np.full(n, -1.0 if isinstance(op, conic_solver.NegativeIdentityOperator) else 1.0))
            else:
                m = sp.coo_array(op)
                if m.nnz != m.shape[0] or m.shape[0] != m.shape[1] or len(np.unique(m.row)) != m.shape[0]:
                    raise ValueError("not a permutation")
                perm = np.empty(m.shape[0], dtype=np.int64)
                perm[m.row] = m.col
                sign = np.empty(m.shape[0])
                sign[m.row] = m.data
                perms.append(perm + offset)
                signs.append(sign)
            offset += op.shape[1]
        self.perm, self.sign = np.concatenate(perms), np.concatenate(signs)
        self.shape = (len(self.perm), offset)

    def __call__(self, X):
        Y = sp.csr_matrix(X)[self.perm]
        Y.data *= np.repeat(self.sign, np.diff(Y.indptr))
        return Y


def _block_diag_operator(matrices):
    try:
        return _PermutationRestructure(matrices)
    except ValueError:
        return _CVXPY_BLOCK_DIAG(matrices)


_CVXPY_BLOCK_DIAG = conic_solver.as_block_diag_linear_operator


class _Clarabel(CLARABEL):
    """cvxpy's Clarabel interface with the O(nnz) constraint restructuring above."""

    def name(self):
        return "CLARABEL_OPF"

    @classmethod
    def format_constraints(cls, problem, exp_cone_order):
        conic_solver.as_block_diag_linear_operator = _block_diag_operator
        try:
            return super().format_constraints(problem, exp_cone_order)
        finally:
            conic_solver.as_block_diag_linear_operator = _CVXPY_BLOCK_DIAG


CLARABEL_SOLVER = _Clarabel()
