"""Home heat hub plant (seed 003): CHP operating range and data sheet, tank balance, reporting."""
import numpy as np
import pandas as pd
import pytest

from cosim_base.errors import ConfigError, DataError
from simulators.heat_hub import HeatHubFleet
from simulators.thermal import CHP_TABLE_KW


def demand(q_kw, n=1, hours=24):
    idx = np.arange(0, hours * 3600 + 1, 3600)
    return pd.DataFrame(np.full((len(idx), n), q_kw), index=idx)


def sp(**kw):
    u = {"p_chp_kw": np.zeros(1), "p_eb_kw": np.zeros(1), "q_gb_kw": np.zeros(1)}
    u.update({k: np.array([v], float) for k, v in kw.items()})
    return u


@pytest.mark.parametrize("row", range(3))
def test_chp_reproduces_data_sheet_points(row):
    p_el, q_th, gas = CHP_TABLE_KW[row]
    hub = HeatHubFleet(1, demand(0.0), tank_loss_per_h=0.0, e_tank0_kwh=0.0, e_tank_max_kwh=100.0)
    out = hub.step(0, 3600, sp(p_chp_kw=p_el))
    assert out["q_chp_kw"][0] == pytest.approx(q_th) and out["gas_kw"][0] == pytest.approx(gas)
    assert out["p_mw"][0] == pytest.approx(-p_el / 1000)
    assert hub.e[0] == pytest.approx(q_th)


def test_chp_operating_range_50_to_100_percent():
    hub = HeatHubFleet(1, demand(0.0), e_tank_max_kwh=1e3)
    assert hub.step(0, 60, sp(p_chp_kw=1.0))["p_chp_kw"][0] == 0.0  # below half the minimum: off
    assert hub.step(60, 60, sp(p_chp_kw=2.0))["p_chp_kw"][0] == 3.0  # raised to the minimum
    assert hub.step(120, 60, sp(p_chp_kw=9.0))["p_chp_kw"][0] == 6.0


def test_tank_energy_balance_and_unmet_and_dumped_heat_reported():
    hub = HeatHubFleet(1, demand(5.0), e_tank0_kwh=2.0, e_tank_max_kwh=20.0, tank_loss_per_h=0.0,
                       eta_gb=0.9, q_gb_max_kw=2.0)
    out = hub.step(0, 3600, sp(p_eb_kw=1.0, q_gb_kw=1.0))
    assert out["gas_kw"][0] == pytest.approx(1.0 / 0.9)
    assert hub.e[0] == 0.0
    assert out["q_unmet_kw"][0] == pytest.approx(1.0)
    hub2 = HeatHubFleet(1, demand(0.0), e_tank0_kwh=19.0, e_tank_max_kwh=20.0, tank_loss_per_h=0.0)
    out = hub2.step(0, 3600, sp(p_eb_kw=3.0))
    assert out["q_dumped_kw"][0] == pytest.approx(2.0) and hub2.e[0] == 20.0


def test_local_control_covers_demand():
    hub = HeatHubFleet(1, demand(4.0, hours=48))
    unmet = [hub.step(k * 60, 60, {k2: np.array([np.nan]) for k2 in HeatHubFleet.INPUTS})["q_unmet_kw"][0]
             for k in range(24 * 60)]
    assert max(unmet) == 0.0


def test_bad_parameters_name_the_field():
    with pytest.raises(ConfigError, match="eta_gb"):
        HeatHubFleet(1, demand(1.0), eta_gb=1.5)
    with pytest.raises(ConfigError, match="e_tank_max_kwh"):
        HeatHubFleet(1, demand(1.0), e_tank_max_kwh=-1)
    with pytest.raises(DataError, match="columns"):
        HeatHubFleet(2, demand(1.0))
    with pytest.raises(ConfigError, match="heat_demand"):
        HeatHubFleet(1, demand(-1.0))


def test_heat_hub_adapter_in_a_mosaik_world():
    import mosaik

    from cosim.collector import collector_of

    world = mosaik.World({"H": {"python": "devices.sim:DeviceSim"},
                          "Collector": {"python": "cosim.collector:Collector"}},
                         skip_greetings=True, configure_logging=False)
    fleet = HeatHubFleet(2, heat_demand=demand(4.0, n=2), e_tank0_kwh=[2.0, 18.0])
    hubs = world.start("H", step_size=900, kind="HeatHub").HeatHub.create(2, fleet=fleet)  # in-process: a ready fleet
    mon = world.start("Collector", step_size=900).Monitor()
    world.connect(hubs[0], mon, "e_tank_kwh", "p_mw")
    world.run(until=3600)
    e = collector_of(world, mon).frame("e_tank_kwh")["HeatHub_0"]
    assert e.iloc[0] == 2.0 and e.iloc[-1] > e.iloc[0]  # local control starts the CHP when low
