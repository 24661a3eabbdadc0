"""Bring your own controller: the contract (controllers.contract), a user's controller from a file
outside the package through the existing commands, the shipped examples, the guards."""
import json
import textwrap

import numpy as np
import pytest

import cosim
from controllers.contract import FutureInformationError, LocalControl, signals
from controllers.controller_sim import ControllerSim
from cosim import cli, kpi, world
from cosim.record import partial_paths
from cosim.scenario import Scenario
from cosim_base.errors import ConfigError
from simulators.forecast import Forecast
from tests.small import SMALL

USER = textwrap.dedent('''
    import numpy as np
    from controllers.contract import Action, Controller, ForecastRequest, Param, log_entry

    class Cheap(Controller):
        """Batteries charge while the tariff is below a threshold and discharge above it."""
        name = "cheap"
        SCHEMA = {"step_s": Param(600, "decision interval (s)", 60),
                  "threshold_per_mwh": Param(500.0, "buy price that splits charge from discharge", 0.0)}

        @classmethod
        def requests(cls, params):
            return [ForecastRequest("rt", 300, 2, params["step_s"])]

        def control(self, obs):
            buy = obs.price(obs.t_s, self.step_s, 1)[0][0]
            fc = obs.forecasts["rt"]
            assert fc.made_at_s <= obs.t_s
            bat = self.plant.fleets["Battery"]
            sign = 1.0 if buy < self.params["threshold_per_mwh"] else -1.0
            return Action({"Battery": {"p_set_kw": sign * bat.p_max_kw}},
                          [log_entry(self.name, obs.t_s, {"buy_per_mwh": buy, "made_at_s": fc.made_at_s},
                                     {"pv_forecast_kw": fc.values["pv"]})])
''')

SHORT = {**SMALL, "duration_s": 1800, "step_s": 300,
         "control.da": {"every_s": 3600, "dt_s": 900, "horizon_s": 3600}}


@pytest.fixture(scope="module")
def user_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "my_controller.py"
    path.write_text(USER)
    return path


def _user(tmp_path, user_file, name="user", **changes):
    return Scenario().updated({**SHORT, "control.controller": f"{user_file}:Cheap",
                               "output": str(tmp_path / f"{name}.h5"), **changes})


def test_a_user_controller_from_a_file_runs_is_recorded_reported_and_compared(tmp_path, user_file):
    sc = _user(tmp_path, user_file, **{"control.params": {"threshold_per_mwh": 700.0}})
    path = cosim.run(sc)
    rec = cosim.read(path)
    ev = rec.events("control/cheap")
    t, made = ev.index.to_numpy(), ev.made_at_s.to_numpy()
    assert list(t) == [0, 600, 1200] and (made <= t).all()
    bat = rec.series("plant/Battery", "p_mw").to_numpy()
    assert (bat > 0).all()  # 00:00-00:30 is the valley (300 < 700): every battery charges
    assert rec.meta["controller"] == f"{user_file}:Cheap"
    builtin = cosim.run(Scenario().updated({**SHORT, "control.stages": ["da"], "output": str(tmp_path / "da.h5")}))
    assert cli.main(["report", str(path), "--out", str(tmp_path / "rep")]) == 0
    assert cli.main(["compare", str(builtin), str(path)]) == 0
    tab = kpi.compare([builtin, path])
    assert np.isfinite(tab.loc["cost_total"]).all()


def test_a_user_controller_is_swept_over_noise_on_an_axis_over_controllers(tmp_path, user_file):
    spec = {"name": "ctl-sweep", "seed": 3, "replicates": 1, "set": {**SHORT, "duration_s": 900},
            "axis": [{"name": "noise", "key": "forecast.error_scale", "values": [0.0, 2.0]},
                     {"name": "controller", "points": [
                         {"label": "user", "set": {"control.controller": f"{user_file}:Cheap"}}]}]}
    res = cosim.sweep(spec, out=tmp_path / "sweep", workers=1, progress=False)
    runs = res.runs
    assert len(runs) == 2 and (runs.status == "done").all() and set(runs.controller) == {"user"}
    pv = [cosim.read(p).array("control/cheap", "pv_forecast_kw")[1] for p in sorted(res.runs.path)]
    assert not np.allclose(pv[0], pv[1])  # the noise axis reaches the user's forecasts


def test_params_are_validated_by_the_controllers_schema(user_file):
    base = {"control.controller": f"{user_file}:Cheap"}
    with pytest.raises(ConfigError, match=r"control.params.threshold: unknown key; allowed: step_s, threshold_per_mwh"):
        Scenario().updated({**base, "control.params": {"threshold": 1.0}})
    with pytest.raises(ConfigError, match=r"control.params.threshold_per_mwh = -1.0 is outside the allowed range \[0.0, inf\]"):
        Scenario().updated({**base, "control.params": {"threshold_per_mwh": -1.0}})
    with pytest.raises(ConfigError, match="control.params.step_s = 'x' must be a number"):
        Scenario().updated({**base, "control.params": {"step_s": "x"}})
    with pytest.raises(ConfigError, match="cannot import 'no_such_module'"):
        Scenario().updated({"control.controller": "no_such_module:X"})
    with pytest.raises(ConfigError, match="'Nope' is not a controllers.contract.Controller"):
        Scenario().updated({"control.controller": f"{user_file}:Nope"})
    with pytest.raises(ConfigError, match="control.params: the built-in multistage"):
        Scenario().updated({"control.params": {"x": 1}})
    sc = Scenario().updated(base)
    assert dict(sc.control.params) == {"step_s": 600, "threshold_per_mwh": 500.0}
    assert sc.lookahead_s() == 600  # the requested forecast's horizon
    assert Scenario.from_toml(sc.to_toml()) == sc


def test_local_control_in_the_loop_equals_no_controller(tmp_path):
    a = cosim.run(Scenario().updated({**SHORT, "control.stages": [], "output": str(tmp_path / "none.h5")}))
    b = cosim.run(Scenario().updated({**SHORT, "control.controller": "controllers.contract:LocalControl",
                                      "output": str(tmp_path / "local.h5")}))
    ra, rb = cosim.read(a), cosim.read(b)
    for group in ("plant/Bus", "plant/Building", "plant/EV", "plant/Battery"):
        attr = "vm_pu" if group == "plant/Bus" else "p_mw"
        np.testing.assert_array_equal(ra.series(group, attr).to_numpy(), rb.series(group, attr).to_numpy())


def test_a_forecast_from_the_future_is_refused_for_every_controller(tmp_path):
    parts = world.build_parts(Scenario().updated({**SHORT, "control.controller": "controllers.contract:LocalControl",
                                                  "output": str(tmp_path / "x.h5")}))
    sim = ControllerSim()
    sim.init("C", controller=parts.controller, units={"Battery": ["Battery_0"]}, price=parts.price)
    late = Forecast("rt", 600, 600, 300, {})
    with pytest.raises(FutureInformationError, match="made at 600 s"):
        sim.step(0, {"Controller": {"forecast": {"F.Forecast_rt": late}}}, 0)


def test_every_signal_is_discoverable_with_unit_and_range():
    rows = signals()
    ev = {r["name"]: r for r in rows if r["kind"] == "EV" and r["role"] == "setpoint"}
    assert ev["p_set_kw"]["unit"] == "kW" and "NaN" in ev["p_set_kw"]["description"]
    assert ev["trip_red_frac"]["min"] == 0.0 and ev["trip_red_frac"]["max"] == 1.0
    assert {r["kind"] for r in rows} >= {"Building", "EV", "Battery", "MicroTurbine", "Trafo", "Capacitor"}
    json.dumps(rows)  # plain data, e.g. for a controller in another language
    assert LocalControl.checked({}) == {"step_s": 3600}


def test_shipped_examples_run_on_a_short_horizon(tmp_path):
    for target in ("controllers.examples.tou_rules:TOURules", "controllers.examples.mpc:MPC"):
        sc = Scenario().updated({**SHORT, "control.controller": target, "output": str(tmp_path / f"{target[-3:]}.h5"),
                                 "control.params": {"step_s": 900, **({"horizon_s": 3600} if "MPC" in target else {})}})
        k = kpi.compute(cosim.run(sc))
        assert np.isfinite(k["cost_total"]) and k["diverged_steps"] == 0
    ev = cosim.read(tmp_path / "MPC.h5").events("control/mpc")
    assert (ev.status == "optimal").all() and len(ev) == 2


@pytest.mark.slow
def test_default_day_ranking_local_rules_multistage(tmp_path):
    costs = {}
    for label, ch in (("local", {"control.stages": []}),
                      ("rules", {"control.controller": "controllers.examples.tou_rules:TOURules"}),
                      ("multistage", {})):
        costs[label] = kpi.compute(cosim.run(Scenario().updated({**ch, "output": str(tmp_path / f"{label}.h5")})))["cost_total"]
    assert costs["multistage"] < costs["rules"] < costs["local"]


def test_a_controller_in_a_separate_process_drives_the_same_plant(tmp_path, user_file):
    """The contract over mosaik's TCP API (cosim.controller_process, started with cmd): the built-in
    controller out of process gives the in-process record; a user's controller runs there too."""
    base = {**SHORT, "control.stages": ["da"]}
    a = cosim.read(cosim.run(Scenario().updated({**base, "output": str(tmp_path / "in.h5")})))
    b = cosim.read(cosim.run(Scenario().updated({**base, "control.process": "separate",
                                                 "output": str(tmp_path / "out.h5")})))
    for group, attr in (("plant/Bus", "vm_pu"), ("plant/Battery", "p_mw"), ("plant/EV", "p_mw")):
        np.testing.assert_array_equal(a.series(group, attr).to_numpy(), b.series(group, attr).to_numpy())
    assert b.events("control/da").objective.iloc[0] == pytest.approx(a.events("control/da").objective.iloc[0])
    c = cosim.read(cosim.run(_user(tmp_path, user_file, name="user-sep", **{"control.process": "separate"})))
    assert list(c.events("control/cheap").index) == [0, 600, 1200]
    assert (c.series("plant/Battery", "p_mw").to_numpy() > 0).all()
    with pytest.raises(ConfigError, match="control.process = 'remote'"):
        Scenario().updated({"control.process": "remote"})


def test_a_controller_failing_in_its_own_process_leaves_a_partial_record(tmp_path):
    """mosaik logs a remote simulator's error and returns normally: the run still says it is
    incomplete and keeps its record partial, never published as complete."""
    out = tmp_path / "fail.h5"
    sc = Scenario().updated({**SHORT, "duration_s": 600, "control.controller": "tests.dying_controller:Fails",
                             "control.params": {"step_s": 300}, "control.process": "separate", "output": str(out)})
    with pytest.raises(world.RunIncomplete, match="partial record is kept at"):
        cosim.run(sc)
    kept, = partial_paths(out)
    assert not out.exists() and not cosim.read(kept).complete


def test_a_slow_controller_steps_hourly_and_decides_only_on_its_grid(tmp_path):
    """A controller deciding every 4 h steps at every hour as well (mosaik prunes its data cache
    only up to the slowest simulator's last step) and decides and logs only at 0 and 4 h; a fleet
    entity's lists reach the controller as arrays and its setpoints leave as one list."""
    from simulators.fleet_sim import HEARTBEAT_S, capped_step

    assert HEARTBEAT_S == 3600 and capped_step(0, 14400) == 3600 and capped_step(3600, 3660) == 3660
    assert capped_step(3599, 86400) == 3600 and capped_step(7200, 86400, time_resolution=60.0) == 7260
    parts = world.build_parts(Scenario().updated({**SHORT, "control.controller": "controllers.contract:LocalControl",
                                                  "control.params": {"step_s": 14400},
                                                  "output": str(tmp_path / "x.h5")}))
    calls = []
    control = parts.controller.control
    parts.controller.control = lambda obs: calls.append(obs) or control(obs)
    sim = ControllerSim()
    sim.init("C", controller=parts.controller, units={"Battery": ["Battery_0", "Battery_1", "Battery_2"]},
             price=parts.price, fleets={"Battery": "Battery"})
    soc = {"e_kwh": {"B.Battery": [10.0, 20.0, 30.0]}}
    steps = [0]
    while steps[-1] < 14400:
        steps.append(sim.step(steps[-1], {"Controller": soc}, 0))
        if steps[-2] % 14400:
            assert sim.get_data({"Controller": ["log"]})["Controller"]["log"] == []
    assert steps == [0, 3600, 7200, 10800, 14400] and [o.t_s for o in calls] == [0]
    sim.step(14400, {"Controller": soc}, 0)
    assert [o.t_s for o in calls] == [0, 14400]
    np.testing.assert_array_equal(calls[-1].meas["Battery"]["e_kwh"], [10.0, 20.0, 30.0])
    sent = sim.get_data({"Controller": ["Battery.p_set_kw"]})["Controller"]["Battery.p_set_kw"]
    assert isinstance(sent, list) and len(sent) == 3 and np.isnan(sent).all()  # local control: NaN
