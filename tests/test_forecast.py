"""Forecast errors (nesting, spreads, AR(1), Laplace, spatial share, streams), Forecaster, mosaik adapter."""
import mosaik_api_v3
import numpy as np
import pytest

from cosim_base.errors import ConfigError, DataError
from simulators.forecast import (DEFAULT_ERRORS, STAGES, ErrorSpec, Forecast, Forecaster,
                                 ForecastErrors, StageGrid, Truth)
from simulators.forecast_sim import ForecastSim

RES = 300
GRIDS = {"da": StageGrid(3600, 24), "id": StageGrid(900, 16), "rt": StageGrid(300, 3)}


def long_errors(spec, n=20, K=20000, **kw):
    """Errors of one signal "x" on a long grid; returns (ForecastErrors, {stage: (n, K) errors})."""
    fe = ForecastErrors({"x": spec}, {"x": n}, (K - 1) * RES, res_s=RES, **kw)
    return fe, {st: fe.error("x", st, 0, RES, K) for st in STAGES}


def kurtosis(x):
    x = x - x.mean()
    return float((x ** 4).mean() / (x ** 2).mean() ** 2)


def lag1(e):
    e = e - e.mean(axis=1, keepdims=True)
    return float((e[:, 1:] * e[:, :-1]).sum() / (e * e).sum())


def grid_truth(values):
    """Truth callable of (n, K) values on the RES grid: interval means of [t0 + k dt, t0 + (k+1) dt)."""
    def fn(t0_s, dt_s, T):
        m, i0 = dt_s // RES, t0_s // RES
        return values[:, i0:i0 + T * m].reshape(len(values), T, m).mean(axis=2)
    return fn


def test_nested_spreads_and_ar1():
    spec = ErrorSpec((0.20, 0.05, 0.02), "capacity", tau_h=2.0)
    _, e = long_errors(spec)
    s_da, s_id, s_rt = np.array(spec.half_width) / 1.96
    for st, s in zip(STAGES, (s_da, s_id, s_rt)):
        assert np.std(e[st]) == pytest.approx(s, rel=0.04)
    assert np.var(e["da"] - e["id"]) == pytest.approx(s_da ** 2 - s_id ** 2, rel=0.04)
    assert np.var(e["id"] - e["rt"]) == pytest.approx(s_id ** 2 - s_rt ** 2, rel=0.04)
    # the increments are independent of the later stage's error: the later stage is closer to the truth
    assert abs(np.corrcoef((e["da"] - e["id"]).ravel(), e["id"].ravel())[0, 1]) < 0.03
    mae = [np.abs(e[st]).mean() for st in STAGES]
    assert mae[0] > mae[1] > mae[2]
    assert lag1(e["rt"]) == pytest.approx(np.exp(-RES / 7200), abs=0.005)
    assert lag1(e["da"]) == pytest.approx(np.exp(-RES / 7200), abs=0.005)


def test_laplace_same_std_heavier_tails():
    tau_white = 0.001  # phi = exp(-83): independent draws, the marginal is Laplace itself
    _, en = long_errors(ErrorSpec((0.2, 0.1, 0.05), tau_h=tau_white), K=50000)
    _, el = long_errors(ErrorSpec((0.2, 0.1, 0.05), tau_h=tau_white, dist="laplace"), K=50000)
    for st in STAGES:
        assert np.std(el[st]) == pytest.approx(np.std(en[st]), rel=0.02)
    assert kurtosis(en["rt"]) == pytest.approx(3.0, abs=0.1)
    assert kurtosis(el["rt"]) == pytest.approx(6.0, abs=0.3)
    # with correlation the AR(1) marginal's kurtosis is 3 + 3 (1 - phi^2) / (1 + phi^2)
    phi = 0.5
    _, e = long_errors(ErrorSpec((0.2, 0.1, 0.05), tau_h=RES / 3600 / np.log(1 / phi), dist="laplace"),
                       K=50000)
    assert kurtosis(e["rt"]) == pytest.approx(3 + 3 * (1 - phi ** 2) / (1 + phi ** 2), abs=0.25)


def test_common_share_is_cross_unit_correlation():
    for c in (0.0, 0.5, 0.9):
        _, e = long_errors(ErrorSpec((0.2, 0.1, 0.05), tau_h=0.25, common=c), n=10)
        for st in ("rt", "da"):
            r = np.corrcoef(e[st])[np.triu_indices(10, 1)].mean()
            assert r == pytest.approx(c, abs=0.06), (c, st)
            assert np.std(e[st]) == pytest.approx(ErrorSpec((0.2, 0.1, 0.05)).sigma()[STAGES.index(st)],
                                                  rel=0.08)


def test_seeds_and_independent_streams():
    n = {"load": 4, "wind": 3}
    a = ForecastErrors(DEFAULT_ERRORS, n | {"pv": 2, "t_out_c": 1, "ghi_kw_m2": 1}, 86400, seed=7)
    b = ForecastErrors(DEFAULT_ERRORS, n | {"pv": 2, "t_out_c": 1, "ghi_kw_m2": 1}, 86400, seed=7)
    c = ForecastErrors(DEFAULT_ERRORS, n | {"pv": 2, "t_out_c": 1, "ghi_kw_m2": 1}, 86400, seed=8)
    only = ForecastErrors({"load": DEFAULT_ERRORS["load"]}, n, 86400, seed=7)
    changed = ForecastErrors({"load": DEFAULT_ERRORS["load"],
                              "wind": ErrorSpec((0.5, 0.4, 0.3), "capacity", tau_h=0.5, dist="laplace",
                                                common=0.7)},
                             {"load": 4, "wind": 9}, 86400, seed=7)
    for st in STAGES:
        ea = a.error("load", st, 0, 900, 96)
        assert np.array_equal(ea, b.error("load", st, 0, 900, 96))
        assert not np.allclose(ea, c.error("load", st, 0, 900, 96))
        assert np.array_equal(ea, only.error("load", st, 0, 900, 96))
        assert np.array_equal(ea, changed.error("load", st, 0, 900, 96))
    assert not np.allclose(a.error("wind", "da", 0, 900, 96), changed.error("wind", "da", 0, 900, 96)[:3])


def test_perfect_mode_is_exact():
    fe = ForecastErrors(DEFAULT_ERRORS, {k: 3 for k in DEFAULT_ERRORS}, 86400, perfect=True)
    truth = np.random.default_rng(0).uniform(0, 2, (3, 24))
    for sig in DEFAULT_ERRORS:
        for st in STAGES:
            assert not fe.error(sig, st, 0, 3600, 24).any()
            assert np.array_equal(fe.apply(sig, st, truth, 0, 3600, capacity=2.0), truth)


def test_clipping_by_kind():
    hw = (3.0, 2.0, 1.0)  # wide errors: clipping must bite
    fe = ForecastErrors({"r": ErrorSpec(hw, "relative"), "c": ErrorSpec(hw, "capacity"),
                         "a": ErrorSpec(hw, "absolute")}, {"r": 5, "c": 5, "a": 5}, 86400, seed=1)
    truth = np.full((5, 288), 0.5)
    cap = np.array([1.0, 1.0, 2.0, 2.0, 0.5])
    for st in STAGES:
        e = fe.error("r", st, 0, RES, 288)
        fr = fe.apply("r", st, truth, 0, RES)
        assert fr.min() == 0.0 and np.array_equal(fr, np.maximum(0.5 * (1 + e), 0))
        e = fe.error("c", st, 0, RES, 288)
        fc = fe.apply("c", st, truth, 0, RES, capacity=cap)
        assert np.array_equal(fc, np.clip(0.5 + e * cap[:, None], 0, cap[:, None]))
        assert fc.min() == 0.0 and (fc == cap[:, None]).any() and (fc <= cap[:, None]).all()
        fa = fe.apply("a", st, truth, 0, RES)
        assert np.array_equal(fa, 0.5 + fe.error("a", st, 0, RES, 288)) and fa.min() < 0
    with pytest.raises(ConfigError, match="capacity"):
        fe.apply("c", "da", truth, 0, RES)
    with pytest.raises(DataError, match="shape"):
        fe.apply("r", "da", truth[:3], 0, RES)


def test_interval_means_and_window_checks():
    fe = ForecastErrors({"load": DEFAULT_ERRORS["load"]}, {"load": 3}, 86400, seed=2)
    fine = fe.error("load", "id", 1800, RES, 48)
    assert np.allclose(fe.error("load", "id", 1800, 3600, 4), fine.reshape(3, 4, 12).mean(axis=2))
    assert fe.error("load", "rt", 86400, RES, 1).shape == (3, 1)  # the grid covers [0, duration_s]
    with pytest.raises(DataError, match=r"\[86400, 90000\)"):
        fe.error("load", "da", 86400, 3600, 1)
    with pytest.raises(ConfigError, match="multiples of res_s"):
        fe.error("load", "da", 100, 3600, 1)
    with pytest.raises(ConfigError, match="stage"):
        fe.error("load", "dayahead", 0, 3600, 1)
    with pytest.raises(ConfigError, match="no ErrorSpec"):
        fe.error("wind", "da", 0, 3600, 1)


def test_config_errors_name_the_field():
    for sig, spec in DEFAULT_ERRORS.items():
        spec.validate(f"forecast.{sig}")
    bad = [(ErrorSpec((0.01, 0.03, 0.005)), "forecast.load.half_width.*non-increasing"),
           (ErrorSpec((0.03, 0.01, -0.005)), r"forecast.load.half_width\[2\]"),
           (ErrorSpec((0.03, 0.01)), "forecast.load.half_width"),
           (ErrorSpec((0.03, 0.01, 0.005), kind="percent"), "forecast.load.kind = 'percent'"),
           (ErrorSpec((0.03, 0.01, 0.005), dist="cauchy"), "forecast.load.dist"),
           (ErrorSpec((0.03, 0.01, 0.005), tau_h=0.0), "forecast.load.tau_h"),
           (ErrorSpec((0.03, 0.01, 0.005), common=1.5), r"forecast.load.common = .*1\.5.*\[0, 1\]"),
           (ErrorSpec((0.03, 0.01, 0.005), common=-0.1), "forecast.load.common")]
    for spec, msg in bad:
        with pytest.raises(ConfigError, match=msg):
            ForecastErrors({"load": spec}, {"load": 2}, 3600)
    with pytest.raises(ConfigError, match="n_units"):
        ForecastErrors({"load": DEFAULT_ERRORS["load"]}, {}, 3600)
    with pytest.raises(ConfigError, match="res_s"):
        ForecastErrors({}, {}, 3600, res_s=0)


def recording_truth(n, windows):
    def fn(t0_s, dt_s, T):
        windows.append((t0_s, t0_s + T * dt_s))
        return np.ones((n, T))
    return fn


def test_forecaster_truth_window_and_exact_signals():
    windows = []
    fe = ForecastErrors({"load": DEFAULT_ERRORS["load"], "wind": DEFAULT_ERRORS["wind"]},
                        {"load": 3, "wind": 2}, 86400 + 86400, seed=3)
    truth = Truth({"load": recording_truth(3, windows), "wind": recording_truth(2, windows),
                   "price": recording_truth(1, windows)}, capacity={"wind": np.array([1.0, 2.0])})
    fc = Forecaster(truth, fe, GRIDS)
    assert fc.exact_signals == ["price"]
    for stage, g in GRIDS.items():
        for made_at in (0, 3600, 43200):
            windows.clear()
            f = fc.forecast(stage, made_at)
            assert len(windows) == 3
            assert all(made_at <= a and b <= made_at + g.T * g.dt_s for a, b in windows)
            assert isinstance(f, Forecast) and f.stage == stage and f.made_at_s == made_at == f.start_s
            assert np.array_equal(f.times_s, made_at + g.dt_s * np.arange(g.T))
            assert f.values["load"].shape == (3, g.T) and f.values["wind"].shape == (2, g.T)
            assert np.array_equal(f.values["price"], np.ones((1, g.T)))
            expected = fe.apply("load", stage, np.ones((3, g.T)), made_at, g.dt_s)
            assert np.array_equal(f.values["load"], expected)
            assert not f.values["load"].flags.writeable
    with pytest.raises(ConfigError, match="no capacity"):
        Forecaster(Truth({"wind": recording_truth(2, windows)}), fe, GRIDS)
    with pytest.raises(ConfigError, match="dt_s"):
        Forecaster(truth, fe, {"rt": StageGrid(100, 3)})


def test_forecast_of_a_varying_truth_uses_interval_means():
    rng = np.random.default_rng(4)
    values = rng.uniform(0, 1, (3, 600))
    fe = ForecastErrors({"load": DEFAULT_ERRORS["load"]}, {"load": 3}, 599 * RES, seed=4)
    f = Forecaster(Truth({"load": grid_truth(values)}), fe, GRIDS).forecast("da", 3600)
    mean_h = values[:, 12:12 + 288].reshape(3, 24, 12).mean(axis=2)
    assert np.allclose(f.values["load"], mean_h * (1 + fe.error("load", "da", 3600, 3600, 24)))


class Sink(mosaik_api_v3.Simulator):
    """Test sink: records (time, source entity, value) of everything it receives."""

    def __init__(self):
        super().__init__({"api_version": "3.0", "type": "time-based",
                          "models": {"Sink": {"public": True, "any_inputs": True,
                                              "params": [], "attrs": []}}})
        self.received = []

    def init(self, sid, time_resolution=1.0, step_size=300):
        self.step_size = step_size
        return self.meta

    def create(self, num, model):
        return [{"eid": "Sink", "type": model}]

    def step(self, time, inputs, max_advance):
        for attr, sources in inputs.get("Sink", {}).items():
            for src, value in sources.items():
                self.received.append((time, src.split(".", 1)[-1], value))
        return time + self.step_size

    def get_data(self, outputs):
        return {}


def test_forecast_sim_in_a_mosaik_world():
    import mosaik

    until = 7200
    fe = ForecastErrors({"load": DEFAULT_ERRORS["load"]}, {"load": 3}, until + 4 * 3600, seed=5)
    fc = Forecaster(Truth({"load": lambda t0, dt, T: np.ones((3, T))}), fe, GRIDS)
    world = mosaik.World({"F": {"python": "simulators.forecast_sim:ForecastSim"},
                          "Sink": {"python": "tests.test_forecast:Sink"}},
                         skip_greetings=True, configure_logging=False)
    fsim = world.start("F", forecaster=fc)
    rt = fsim.Forecast(stage="rt", every_s=300)
    id_ = fsim.Forecast(stage="id", every_s=3600)
    sink = world.start("Sink", step_size=300).Sink()
    world.connect(rt, sink, "forecast")
    world.connect(id_, sink, "forecast")
    world.run(until=until)
    received = world.compile(use_cache=True)[sink.sid]._proxy.sim.received  # in-process instance

    arrived = {(t, src): f for t, src, f in received if f is not None}
    assert sorted(t for t, src in arrived if src == "Forecast_rt") == list(range(0, until, 300))
    assert sorted(t for t, src in arrived if src == "Forecast_id") == [0, 3600]
    for (t, src), f in arrived.items():
        stage = src.split("_")[1]
        assert isinstance(f, Forecast) and f.stage == stage and f.made_at_s == t
        assert f.values["load"].shape == (3, GRIDS[stage].T)
    assert len(received) == 2 * until // 300  # both entities at every sink step; None between decisions


def test_forecast_sim_schedule_and_config_errors():
    fe = ForecastErrors({"load": DEFAULT_ERRORS["load"]}, {"load": 1}, 3 * 86400)
    fc = Forecaster(Truth({"load": lambda t0, dt, T: np.ones((1, T))}), fe, GRIDS)
    sim = ForecastSim()
    sim.init("F", forecaster=fc)
    assert sim.create(1, "Forecast", stage="da", every_s=86400, offset_s=3600) == [
        {"eid": "Forecast_da", "type": "Forecast"}]
    sim.create(1, "Forecast", stage="id", every_s=3600, offset_s=900)
    assert sim.step(0, {}, 0) == 900 and sim.get_data({"Forecast_da": ["forecast"]}) == {
        "Forecast_da": {"forecast": None}}
    assert sim.step(900, {}, 0) == 3600
    assert sim.get_data({"Forecast_id": ["forecast"]})["Forecast_id"]["forecast"].made_at_s == 900
    assert sim.step(3600, {}, 0) == 4500
    data = sim.get_data({"Forecast_da": ["forecast"], "Forecast_id": ["forecast"]})
    assert data["Forecast_da"]["forecast"].made_at_s == 3600 and data["Forecast_id"]["forecast"] is None
    with pytest.raises(ConfigError, match="already"):
        sim.create(1, "Forecast", stage="id", every_s=3600)
    with pytest.raises(ConfigError, match="'ex'"):
        sim.create(1, "Forecast", stage="ex", every_s=3600)
    with pytest.raises(ConfigError, match="every_s"):
        sim.create(1, "Forecast", stage="rt", every_s=0)
    with pytest.raises(ConfigError, match="forecaster"):
        ForecastSim().init("F")
