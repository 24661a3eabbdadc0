import numpy as np

from cosim_base.seeds import stream


def test_streams_are_reproducible_independent_and_named():
    a = stream(7, "ev", "sessions").random(5)
    np.testing.assert_array_equal(a, stream(7, "ev", "sessions").random(5))
    assert not np.allclose(a, stream(8, "ev", "sessions").random(5))
    assert not np.allclose(a, stream(7, "forecast", "load").random(5))
