"""Seed 001 study (cosim.studies.seed001): the direction of each headline effect."""
import pytest

from cosim.studies import seed001
from cosim.study import scenario

#: Test override: 5 instead of 25 TSEH houses per cluster bus and a 5-min plant step (4 cases of 4 h
#: in about 60 s); the rest of scenarios/seed001.toml as shipped.
FAST = {"devices.Building": [{**scenario(seed001.SCENARIO).to_dict()["devices"]["Building"][0], "per_bus": 5}],
        "step_s": 300}
#: Effects whose sign the paper reports as a reduction (all but the voltage row and ours without a paper figure).
PAPER_REDUCTIONS = [name for name, (paper, *_) in seed001.EFFECTS.items() if paper is not None]


def _effects(tmp_path, **kw):
    df = seed001.run(tmp_path, **kw)
    k = seed001.case_kpis({c: tmp_path / f"{c}.h5" for c in seed001.CASES})
    eff = seed001.effects(k)
    ours = df.set_index("metric")["ours"]
    assert all(ours[name] == pytest.approx(v, nan_ok=True) for name, v in eff.items())
    assert (k.diverged_steps == 0).all() and (k.da_failed == 0).all()
    return eff, k


def test_seed001_directions_on_four_night_hours(tmp_path):
    """00-04 h (valley price): every reduction the paper reports holds; TSEH's also net of the heat
    it left unstored; no voltage outside 0.94-1.06 p.u. (the over-voltage of the full day comes later)."""
    eff, k = _effects(tmp_path, hours=4, changes=FAST)
    assert len(PAPER_REDUCTIONS) == 7
    for name in PAPER_REDUCTIONS:
        assert eff[name] < 0, name
    assert eff["total cost net of stored heat, with vs without TSEH"] < 0
    assert eff[seed001.VOLTAGE] == 0


@pytest.mark.slow
def test_seed001_full_day_directions(tmp_path):
    """The full study (about 15 min): the paper's reductions hold in sign; the stage ladder's
    operating-cost saving does not survive crediting the heat left stored, but with discomfort it does;
    the real-time stage lowers the over-voltage integral against day-ahead only (it does not remove it)."""
    eff, k = _effects(tmp_path)
    for name in PAPER_REDUCTIONS:
        assert eff[name] < 0, name
    assert eff["total cost net of stored heat, with vs without TSEH"] < 0
    assert eff["total cost with discomfort, + intraday vs day-ahead only"] < 0
    assert eff["total cost with discomfort, + real-time vs day-ahead only"] < 0
    assert k.at["with_tseh", "v_violation_pu_h"] < k.at["da", "v_violation_pu_h"]
    assert k.v_min_pu.min() > 0.94
