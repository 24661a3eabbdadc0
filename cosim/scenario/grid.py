"""``[grid]``: the local voltage control of the grid's tap changers, capacitor banks and SVCs."""
from __future__ import annotations

from dataclasses import dataclass, fields

from cosim.scenario.checks import _Table, _float, _set
from cosim_base.errors import ConfigError
from simulators.grid import LocalVoltageControl

_DEFAULT = LocalVoltageControl()


@dataclass(frozen=True)
class GridConfig(_Table):
    """The grid devices' own control (``[grid]``).

    ``local_control``: a transformer tap, capacitor bank or SVC without a setpoint (NaN from the
    controller, or no controller: ``control.stages = []``) follows its local voltage control, the
    OLTC a delayed voltage band at its LV bus, the banks voltage-switched at their bus, the SVC a
    Q(V) droop, with the settings below (simulators.grid.LocalVoltageControl documents each, its
    default and source); false: it keeps its position.
    """

    local_control: bool = True
    oltc_v_set_pu: float = _DEFAULT.oltc_v_set_pu
    oltc_band_pu: float = _DEFAULT.oltc_band_pu
    oltc_delay_s: float = _DEFAULT.oltc_delay_s
    cap_v_on_pu: float = _DEFAULT.cap_v_on_pu
    cap_v_off_pu: float = _DEFAULT.cap_v_off_pu
    cap_delay_s: float = _DEFAULT.cap_delay_s
    svc_v_ref_pu: float = _DEFAULT.svc_v_ref_pu
    svc_deadband_pu: float = _DEFAULT.svc_deadband_pu
    svc_slope_pu: float = _DEFAULT.svc_slope_pu

    def __post_init__(self):
        if not isinstance(self.local_control, bool):
            raise ConfigError(f"grid.local_control = {self.local_control!r} must be true or false")
        for f in fields(LocalVoltageControl):
            _set(self, f.name, _float(f"grid.{f.name}", getattr(self, f.name)))
        try:
            self.settings()
        except ConfigError as exc:
            raise ConfigError(f"grid.{exc}") from None

    def settings(self) -> LocalVoltageControl:
        """The local control's settings (also with ``local_control`` off)."""
        return LocalVoltageControl(**{f.name: getattr(self, f.name) for f in fields(LocalVoltageControl)})

    def local(self) -> LocalVoltageControl | None:
        """The plant's local voltage control (simulators.spec.PlantSpec.local_voltage), None when off."""
        return self.settings() if self.local_control else None
