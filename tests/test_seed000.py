"""Seed 000 study (cosim/studies/seed000.py): directions of the headline effects, coordinated OPF
against uncoordinated operation on the LV feeder, and the formulation comparison."""
import math

import pytest

from cosim.study import kpis
from cosim.studies import seed000


def _check(table, paths):
    eff = seed000.effects(kpis(paths))
    losses = "network losses"
    aging = "transformer aging (loss of life)"
    assert eff[losses] < 0
    assert eff[aging] < 0
    assert eff[seed000.VIOLATIONS] == 0
    assert eff["voltage violations, uncoordinated"] > eff[seed000.VIOLATIONS]
    assert eff[seed000.GAP] < 1e-4  # the SOCP relaxation is exact in practice
    ours = table.set_index("metric").ours
    socp, bim = ours["formulation socp: objective"], ours["formulation bim: objective"]
    # same optimum up to the bus injection model's accuracy: 1 %, or 5 % where Clarabel stops short on
    # its poor conditioning (status optimal_inaccurate, named in the table's note; the comfort margin
    # of the day-ahead stage brought that on at 14:00-17:00)
    inaccurate = "optimal_inaccurate" in table.set_index("metric").note["formulation bim: build"]
    assert abs(bim - socp) <= (5e-2 if inaccurate else 1e-2) * abs(socp)
    assert ours["formulation lindistflow: max |V_opf - V_ac|"] > ours["formulation socp: max |V_opf - V_ac|"]
    assert all(math.isfinite(ours[f"formulation {f}: max |V_opf - V_ac|"]) for f in ("socp", "lindistflow", "bim"))


def test_seed000_short_horizon_directions(tmp_path):
    """17:00-20:00, the evening peak: uncoordinated EVs charge on arrival beside the heat pumps and
    pull voltages below the band; the coordinated case defers them to the night (it pre-heated
    before the peak price, so over 14:00-17:00 alone its losses and aging are higher)."""
    table = seed000.run(tmp_path, hours=3, repeats=1, changes={"start": "2024-01-15 17:00"})
    _check(table, {c: tmp_path / f"{c}.h5" for c in seed000.CASES})


@pytest.mark.slow
def test_seed000_full_study_directions(tmp_path):
    table = seed000.run(tmp_path)
    _check(table, {c: tmp_path / f"{c}.h5" for c in seed000.CASES})
