"""What plant data a run needs: network name, calendar window, plant step, seed and data sources.

cosim.plant builds a run's plant from it, and devices.sim a fleet from create parameters; a
device kind's ``make_fleet`` reads its run data (weather, profiles, EV sessions) from it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from cosim_base.errors import ConfigError, DataError, check
from simulators import data, networks
from simulators.grid import LocalVoltageControl
from simulators.thermal import running_means_c

#: Days of weather before the start that make the running-mean outdoor temperature (0.8^30 < 0.2 %).
T_RM_DAYS = 30


@dataclass(frozen=True)
class PlantSpec:
    """What plant to run: network, calendar window, plant step, seed and data sources.

    lookahead_s: data (weather, profiles) is made for duration_s + lookahead_s so that forecasts
    can look past the end of the run; the plant itself only runs duration_s. Data sources (see
    cosim.scenario.DataConfig): ``weather`` (a TMY3 key or a weather file), ``load_profile`` (a
    SimBench kind or a load file in ``load_unit``), ``ev_sessions`` (a session file, "" = sampled)
    and ``tz`` (the zone of the start and of files' naive stamps; "" = the weather site's).
    ``local_voltage``: the grid devices' local voltage control (simulators.grid; None: a device
    without a setpoint keeps its position).
    """

    network: str = "ieee33"
    start: str = "2024-01-15 00:00"  # a winter Monday
    duration_s: int = 86400
    step_s: int = 60
    seed: int = 0
    lookahead_s: int = 0
    weather: str = "tmy3-greensboro"
    load_profile: str = "mv_semiurb"
    load_unit: str = "pu"
    ev_sessions: str = ""
    tz: str = ""
    t_out_offset_k: float = 0.0
    local_voltage: LocalVoltageControl | None = LocalVoltageControl()

    def __post_init__(self):
        if self.network not in networks.NAMED:
            raise ConfigError(f"network = {self.network!r} must be one of {sorted(networks.NAMED)}")
        check("duration_s", self.duration_s, 1)
        check("step_s", self.step_s, 1, 3600)
        check("lookahead_s", self.lookahead_s, 0)
        check("t_out_offset_k", self.t_out_offset_k, -30, 30)
        if self.lookahead_s % self.step_s:
            raise ConfigError(f"lookahead_s = {self.lookahead_s} must be a multiple of step_s = {self.step_s}")
        if self.duration_s % self.step_s:
            raise ConfigError(f"duration_s = {self.duration_s} must be a multiple of step_s = {self.step_s}")
        pd.Timestamp(self.start)  # raises on an unreadable date

    def grid_params(self) -> dict:
        """Create parameters of the grid simulator (simulators.grid_sim) beyond the net."""
        return {"local_control": None if self.local_voltage is None else asdict(self.local_voltage)}

    @property
    def data_s(self) -> int:
        """Length of the data series: the run plus the forecast lookahead."""
        return self.duration_s + self.lookahead_s

    @property
    def start_at(self) -> pd.Timestamp:
        """The start as an absolute time (data.run_start): wall-clock time in ``tz``, or in the
        weather site's zone."""
        return data.run_start(self.start, self.weather, self.tz)

    def weather_data(self) -> data.Weather:
        """The run's weather (data.weather over data_s), outdoor temperature shifted by
        ``t_out_offset_k`` (a temperature scenario: a colder or warmer day of the same shape)."""
        w = data.weather(self.start_at, self.data_s, self.step_s, self.weather, tz=self.tz)
        w.frame["t_out_c"] += self.t_out_offset_k
        return w

    def t_rm0_c(self) -> float | None:
        """EN 16798-1 running-mean outdoor temperature at the start (simulators.thermal.running_means_c
        started at the first day's mean) from the daily means of the :data:`T_RM_DAYS` days before
        it, ``t_out_offset_k`` included;
        None where the weather source does not reach back that far (a calendar file starting with
        the run: BuildingFleet then starts the running mean from the run's first day)."""
        try:
            w = data.weather(self.start_at - pd.Timedelta(days=T_RM_DAYS), T_RM_DAYS * 86400, 3600,
                             self.weather, tz=self.tz)
        except DataError:
            return None
        daily = w.frame["t_out_c"].to_numpy()[:-1].reshape(T_RM_DAYS, 24).mean(axis=1)
        daily = daily + self.t_out_offset_k
        return float(running_means_c(daily[0], daily[1:])[-1])
