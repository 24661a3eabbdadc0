"""Base loads on real SimBench household profiles and in constant-power mode."""
import mosaik
import numpy as np
import pandas as pd
import pytest

from cosim.collector import collector_of
from cosim_base.errors import ConfigError, DataError
from simulators import data
from simulators.loads import BaseLoadFleet

WEDNESDAY = pd.Timestamp("2021-01-13")  # maps onto Wednesday 2016-01-13 with no shift


@pytest.fixture(scope="module")
def profiles():
    return data.load_profiles(WEDNESDAY, 86400, 60, data.household_mix(7))


def test_constant_mode_gives_q_from_pf_exactly():
    p_kw, q_kvar = np.array([100.0, 90.0, 120.0]), np.array([60.0, 40.0, 80.0])  # IEEE 33 buses 2-4
    fleet = BaseLoadFleet(3, p_peak_kw=p_kw, pf=p_kw / np.hypot(p_kw, q_kvar))
    out = fleet.step(123456, 60, {})
    np.testing.assert_allclose(out["p_mw"], p_kw / 1000, rtol=1e-14)
    np.testing.assert_allclose(out["q_mvar"], q_kvar / 1000, rtol=1e-12)
    assert (BaseLoadFleet(1, 5.0, pf=1.0).step(0, 60, {})["q_mvar"] == 0).all()


def test_daily_energy_and_peak_follow_the_simbench_day(profiles):
    p_peak_kw = np.linspace(3.0, 6.0, 7)
    fleet = BaseLoadFleet(7, p_peak_kw, pf=0.95, profile_pu=profiles)
    p_kw = np.array([fleet.step(t, 60, {})["p_mw"] * 1000 for t in range(0, 86400, 60)])
    year = data.simbench_year(data.HOUSEHOLD_KINDS)
    day = slice(12 * 96, 13 * 96)  # 2016-01-13 in 15-min rows
    for i, kind in enumerate(data.household_mix(5)):
        raw = year[kind][day]
        assert p_kw[:, i].sum() / 60 == pytest.approx(p_peak_kw[i] * raw.sum() / 4, rel=1e-9)
        assert p_kw[:, i].max() == pytest.approx(p_peak_kw[i] * raw.max(), rel=1e-9)
    assert not np.allclose(p_kw[:, 0] / p_peak_kw[0], p_kw[:, 5] / p_peak_kw[5])  # H0-A, a week apart
    q = fleet.step(600, 60, {})
    np.testing.assert_allclose(q["q_mvar"], q["p_mw"] * np.tan(np.arccos(0.95)), rtol=1e-14)


def test_long_step_is_the_mean_of_its_rows(profiles):
    fleet = BaseLoadFleet(7, 4.0, profile_pu=profiles)
    out = fleet.step(3600, 900, {})
    np.testing.assert_allclose(out["p_mw"], 4e-3 * profiles.loc[3600:4440].mean().to_numpy())


def test_bad_inputs_name_the_field(profiles):
    with pytest.raises(ConfigError, match="pf"):
        BaseLoadFleet(2, 5.0, pf=[0.9, 0.0])
    with pytest.raises(ConfigError, match="p_peak_kw"):
        BaseLoadFleet(2, [5.0, -1.0])
    with pytest.raises(ConfigError, match="profile_pu"):
        BaseLoadFleet(3, 5.0, profile_pu=profiles)
    fleet = BaseLoadFleet(7, 5.0, profile_pu=profiles)
    with pytest.raises(DataError, match="t_s"):
        fleet.step(86400 + 60, 60, {})
    with pytest.raises(DataError, match="multiples"):
        fleet.step(30, 60, {})


def test_mosaik_world_reports_consumption(profiles):
    world = mosaik.World({"Loads": {"python": "devices.sim:DeviceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}})
    fleet = BaseLoadFleet(7, 3.0, pf=0.9, profile_pu=profiles)
    units = world.start("Loads", step_size=300, kind="Load").BaseLoad.create(7, fleet=fleet)
    mon = world.start("Collector", step_size=300).Monitor()
    world.connect(units[2], mon, "p_mw", "q_mvar")
    world.run(until=3600)
    got = collector_of(world, mon).frame("p_mw")["BaseLoad_2"]
    expected = [3e-3 * profiles.iloc[k:k + 5, 2].mean() for k in range(0, 60, 5)]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
