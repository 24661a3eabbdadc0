"""Bus injection model (formulation "bim", Jabr's SOCP relaxation) against the DistFlow SOCP on
IEEE 33: on a radial network both relaxations have the same optimum (Subhonmesh et al. 2012)."""
import copy

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from benchmarks.bench_opf import ieee33_case, new_data
from controllers.opf.grid_devices import FixedLoads
from controllers.opf.network import from_pandapower
from controllers.opf.problem import OPFConfig, OPFProblem
from tests.test_opf_problem import _data33

PRICE = np.array([30.0, 60.0, 90.0, 40.0])


@pytest.fixture(scope="module")
def net33():
    return pn.case33bw()


def _fixed(rn, formulation):
    prob = OPFProblem(rn, [FixedLoads.from_network(rn)], T=len(PRICE), dt_h=1.0,
                      config=OPFConfig(formulation=formulation, v_min_pu=0.9))
    prob.set_data(price_import=PRICE, price_export=0.5 * PRICE)
    return prob


def test_bim_fixed_loads_match_socp_and_pandapower_ac(net33):
    rn = from_pandapower(net33)
    bim, socp = _fixed(rn, "bim").solve(), _fixed(rn, "socp").solve()
    assert bim.status == socp.status == "optimal"
    assert abs(bim.objective - socp.objective) <= 1e-6 * abs(socp.objective)
    assert bim.gap_rel < 1e-6
    ac = copy.deepcopy(net33)
    pp.runpp(ac, tolerance_mva=1e-10)
    v_ac = ac.res_bus.vm_pu.reindex(rn.bus_ids).to_numpy()
    assert np.abs(bim.network["v_pu"] - v_ac[:, None]).max() < 1e-4
    assert np.allclose(bim.network["loss_mw"], ac.res_line.pl_mw.sum(), rtol=1e-3)
    assert np.allclose(bim.network["p_mw"], socp.network["p_mw"], atol=1e-5)
    # |I|^2 is |y|^2 (v_i + v_j - 2 c), a difference of nearly equal W entries: less precise
    assert np.allclose(bim.network["i_ka"], socp.network["i_ka"], rtol=1e-3, atol=1e-5)


def test_bim_with_every_grid_block_matches_socp_on_resolves(T=3):
    """OLTC, capacitor banks, SVC, batteries, PV and a micro-turbine; re-solved with new data (DPP)."""
    bim, rn = ieee33_case(T, formulation="bim")
    socp, _ = ieee33_case(T, formulation="socp")
    assert bim.problem.is_dpp()
    for seed in range(2):
        for prob in (bim, socp):
            _data33(prob, rn, np.random.default_rng(seed))
        a, b = bim.solve(), socp.solve()
        assert a.status == b.status == "optimal"
        assert abs(a.objective - b.objective) <= 1e-6 * abs(b.objective)
        assert a.gap_rel < 1e-5
        assert np.abs(a.network["v_pu"] - b.network["v_pu"]).max() < 1e-4
        assert np.allclose(a.plan["ess"]["p_mw"], b.plan["ess"]["p_mw"], atol=1e-3)
    assert bim._direct is not None and bim._direct.solver is not None  # re-solved on the direct path


def test_bim_free_tap_and_commitment_round_and_fix():
    """Discretes (OLTC tap, MT on/off) free: relax-round-fix works on the bus injection model too."""
    bim, rn = ieee33_case(4, formulation="bim")
    socp, _ = ieee33_case(4, formulation="socp")
    for prob in (bim, socp):
        new_data(prob, rn, np.random.default_rng(3), 4)
        prob.set_data(tap_pos=None)
    a, b = bim.solve(discrete="round"), socp.solve(discrete="round")
    assert a.discrete_method == b.discrete_method == "relax-round-fix"
    assert a.ok and b.ok and np.array_equal(a.network["tap_pos"], b.network["tap_pos"])
    assert abs(a.objective - b.objective) <= 1e-5 * abs(b.objective)
