"""The small closed-loop scenario the tests share: IEEE 33 with fewer buildings and EVs than the default."""
from cosim.scenario import Scenario

#: 8 heat-pump houses, 4 TSEH houses and 4 EVs; the rest of the preset (loads, PV, wind, ESS, MT) as shipped.
#: A 2 h run with all three stages takes about 10 s.
SMALL = {
    "duration_s": 7200,
    "devices": {
        "Building": [{"bus": [5, 12, 20, 28], "per_bus": 2},
                     {"bus": [8, 24], "per_bus": 2, "p_hp_max_kw": 0.0, "p_st_max_kw": 8.0, "e_st_max_kwh": 50.0,
                      "e_st0_kwh": 15.0, "q_rel_max_kw": 6.0, "p_eh_max_kw": 6.0}],
        "EV": [{"bus": [3, 10, 17, 25], "capacity_kwh": 60.0, "p_charge_max_kw": 7.4}],
    },
}


def small(tmp_path, name="run", **changes) -> Scenario:
    """SMALL writing to ``tmp_path/<name>.h5``, with dotted-key ``changes``."""
    return Scenario().updated({**SMALL, "output": str(tmp_path / f"{name}.h5"), **changes})
