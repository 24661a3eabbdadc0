"""set_params writes Parameter values past cvxpy's own validation (Parameter.save_value): its checks
must hold every value cvxpy would have refused (sign, finiteness, shape), naming the field."""
import cvxpy as cp
import numpy as np
import pytest

from controllers.opf.block import make_spec, set_params
from cosim import world
from cosim.scenario import Scenario
from cosim_base.errors import ConfigError


@pytest.fixture(scope="module")
def specs():
    parts = world.build_parts(Scenario().updated({"duration_s": 3600}))
    out = []
    for stage, prob in parts.controller.probs.items():
        for block in prob.blocks.values():
            for key, (param, lo, hi) in getattr(block, "spec", {}).items():
                out.append((f"{stage}.{block.name}", block.spec, key, param, lo, hi))
    assert len(out) > 50
    return out


def cvxpy_refuses(param: cp.Parameter, value) -> bool:
    probe = cp.Parameter(param.shape, nonneg=param.is_nonneg())
    try:
        probe.value = value
    except ValueError:
        return True
    return False


def test_every_block_parameter_refuses_what_cvxpy_refuses_and_names_it(specs):
    for owner, spec, key, param, lo, hi in specs:
        assert param.is_nonneg() == (lo is not None and lo >= 0), (owner, key)
        bad = [np.full(param.shape, np.nan), np.full(param.shape, np.inf)]
        if param.is_nonneg():
            negative = np.full(param.shape, -1.0)
            assert cvxpy_refuses(param, negative), (owner, key)  # the check set_params stands in for
            bad.append(negative)
        for value in bad:
            with pytest.raises(ConfigError, match=key):
                set_params(owner, spec, {key: value})


def test_stored_value_is_a_broadcast_copy_that_cvxpy_reads():
    spec = make_spec("blk", {"p_kw": ((2, 3), 0.0, 0.0, 5.0), "e0": (2, None, 0.0, None)})
    row = np.array([1.0, 2.0, 3.0])
    set_params("blk", spec, {"p_kw": row, "e0": 4.0})
    row[:] = 9.0  # the caller's array is not aliased
    np.testing.assert_array_equal(spec["p_kw"][0].value, [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_array_equal(spec["e0"][0].value, [4, 4])
    x = cp.Variable((2, 3))
    prob = cp.Problem(cp.Minimize(cp.sum(x)), [x >= spec["p_kw"][0]])
    prob.solve(solver="CLARABEL")
    np.testing.assert_allclose(x.value, [[1, 2, 3], [1, 2, 3]], atol=1e-6)
    with pytest.raises(ConfigError, match=r"blk.p_kw\[0, 1\] = 6.0 is outside the allowed range \[0.0, 5.0\]"):
        set_params("blk", spec, {"p_kw": [[0, 6, 0], [0, 0, 0]]})
    with pytest.raises(ConfigError, match=r"p_kw has shape \(2,\), expected \(2, 3\)"):
        set_params("blk", spec, {"p_kw": [1.0, 2.0]})
    with pytest.raises(ConfigError, match="unknown key"):
        set_params("blk", spec, {"q_kw": 1.0})
