"""examples/user_world.py: a user's own mosaik world runs our grid and building simulators as
processes of their own (mosaik ``cmd``) next to the user's bakery; the results are physical."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "user_world.py"


def example():
    spec = importlib.util.spec_from_file_location("user_world", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_user_world_runs_our_simulators_out_of_process_with_physical_results(tmp_path):
    ex = example()
    out = tmp_path / "run.csv"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, str(EXAMPLE), "--hours", "2", "--out", str(out)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "vm_bus11_pu" in run.stdout and "2024-01-15 03:00:00" in run.stdout  # the hourly summary
    df = pd.read_csv(out, index_col="t_s")
    assert list(df.index) == list(range(0, 7200, 60))
    houses = [f"Building_{i}" for i in range(len(ex.HOUSE_BUSES))]
    p_houses = df[[f"{h}.p_mw" for h in houses]]
    # Power balance of every step: import = houses + bakery + losses (the blocks' own loads are off).
    assert (df["Grid.converged"] == 1).all()
    np.testing.assert_allclose(df["Grid.p_ext_mw"] - df["Grid.p_loss_mw"], p_houses.sum(axis=1) + df["Bakery.p_mw"],
                               atol=1e-9)
    # Losses: the transformer's 0.3 kW no-load loss plus a few per cent of the flow.
    assert (df["Grid.p_loss_mw"] > 0.00025).all() and (df["Grid.p_loss_mw"] < 0.0004 + 0.05 * df["Grid.p_ext_mw"]).all()
    # Voltages in a plausible band, falling from the busbar to the feeder ends.
    assert df["Grid.v_min_pu"].min() > 0.94 and df["Grid.v_max_pu"].max() < 1.01
    assert (df["Bus_1.vm_pu"] >= df[["Bus_11.vm_pu", "Bus_21.vm_pu"]].max(axis=1) - 1e-6).all()
    # Houses: heat pumps within 0-2 kW on their thermostats, indoor air in the comfort band's reach.
    assert p_houses.to_numpy().min() >= 0 and p_houses.to_numpy().max() <= 0.002 + 1e-12
    assert 0 < p_houses.sum(axis=1).mean() < 0.04
    t_in = df[[f"{h}.t_in_c" for h in houses]].to_numpy()
    assert 19.5 < t_in.min() and t_in.max() < 22.5
    assert (df[[f"{h}.t_out_c" for h in houses]].nunique(axis=1) == 1).all() and -15 < df["Building_0.t_out_c"].mean() < 5
    # The bakery: 2 kW before 03:00, 32 kW of ovens after, all of it at its bus (bus 11 = house 9 + bakery) ...
    before, baking = df.index < 3600, df.index >= 3600
    assert df["Bakery.p_mw"][before].eq(0.002).all() and df["Bakery.p_mw"][baking].eq(0.032).all()
    assert ex.HOUSE_BUSES[9] == ex.BAKERY_BUS == 11
    np.testing.assert_allclose(df["Bus_11.p_mw"], df["Building_9.p_mw"] + df["Bakery.p_mw"], atol=1e-12)
    # ... and its feeder's end drops about 30 kW x 0.06 ohm / (0.4 kV)^2 = 0.011 p.u. more than the other's.
    extra_drop = df["Bus_21.vm_pu"] - df["Bus_11.vm_pu"]
    assert extra_drop[baking].mean() - extra_drop[before].mean() == pytest.approx(0.013, abs=0.004)
