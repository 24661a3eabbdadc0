"""Wind turbines: a power curve on the run's hub-height wind (simulators.wind.WindFleet); the
controller's view is that of PV (devices.pv): curtailment and the forecast signal ``wind``."""
from __future__ import annotations

from cosim_base.errors import ConfigError, check
from devices.pv import PV
from simulators.wind import WindFleet


class Wind(PV):
    name, model, fleet_cls = "Wind", "Wind", WindFleet

    def parse_param(self, key, value):
        """``curve``: [[wind speeds m/s], [p.u. powers]] of equal length."""
        if key != "curve":
            return NotImplemented
        if not (isinstance(value, (list, tuple)) and len(value) == 2
                and all(isinstance(c, (list, tuple)) for c in value) and len(value[0]) == len(value[1])):
            raise ConfigError(f"curve = {value!r} must be [[wind speeds m/s], [p.u. powers]] of equal length")
        for i, c in enumerate(value):
            for j, v in enumerate(c):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ConfigError(f"curve[{i}][{j}] = {v!r} must be a number")
                check(f"curve[{i}][{j}]", v)
        return tuple(tuple(float(v) for v in c) for c in value)
