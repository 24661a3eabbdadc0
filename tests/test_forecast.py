"""Forecast errors (nesting, spreads, AR(1), Laplace, spatial share, streams, lead-time growth, BOPTEST
levels), Forecaster, mosaik adapter."""
import mosaik_api_v3
import numpy as np
import pytest

from cosim_base.errors import ConfigError, DataError
from simulators.forecast import (BOPTEST_LEVELS, DEFAULT_ERRORS, GROWTHS, STAGES, ErrorSpec, Forecast,
                                 Forecaster, ForecastErrors, StageGrid, Truth, boptest_errors)
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


@pytest.mark.parametrize("growth", GROWTHS)
def test_nested_spreads_and_ar1(growth):
    """Target time: every window; lead time: one forecast 69 days long, past its first hours."""
    spec = ErrorSpec((0.20, 0.05, 0.02), "capacity", tau_h=2.0)
    _, e = long_errors(spec, growth=growth)
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
    _, en = long_errors(ErrorSpec((0.2, 0.1, 0.05), tau_h=tau_white), K=50000, growth="target_time")
    _, el = long_errors(ErrorSpec((0.2, 0.1, 0.05), tau_h=tau_white, dist="laplace"), K=50000, growth="target_time")
    for st in STAGES:
        assert np.std(el[st]) == pytest.approx(np.std(en[st]), rel=0.02)
    assert kurtosis(en["rt"]) == pytest.approx(3.0, abs=0.1)
    assert kurtosis(el["rt"]) == pytest.approx(6.0, abs=0.3)
    # with correlation the AR(1) marginal's kurtosis is 3 + 3 (1 - phi^2) / (1 + phi^2)
    phi = 0.5
    _, e = long_errors(ErrorSpec((0.2, 0.1, 0.05), tau_h=RES / 3600 / np.log(1 / phi), dist="laplace"),
                       K=50000, growth="target_time")
    assert kurtosis(e["rt"]) == pytest.approx(3 + 3 * (1 - phi ** 2) / (1 + phi ** 2), abs=0.25)


@pytest.mark.parametrize("growth", GROWTHS)
def test_common_share_is_cross_unit_correlation(growth):
    for c in (0.0, 0.5, 0.9):
        _, e = long_errors(ErrorSpec((0.2, 0.1, 0.05), tau_h=0.25, common=c), n=10, growth=growth)
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


def lead_profile(spec, k):
    """Standard deviation factor of the lead-time AR(1) at lead k res_s: sqrt(1 - (1 - r^2) phi^(2k))."""
    phi = np.exp(-RES / (3600 * spec.tau_h))
    return np.sqrt(1 - (1 - spec.nowcast ** 2) * phi ** (2 * np.asarray(k)))


def test_spread_grows_with_lead_time():
    """An error made at issue time: small at lead 0 (nowcast share), the full half-width at long lead."""
    spec = ErrorSpec((0.2, 0.1, 0.05), "absolute", tau_h=2.0, nowcast=0.3)
    n, T = 4000, 288  # units, leads of 5 min: 24 h
    k = np.arange(T)
    lead = ForecastErrors({"x": spec}, {"x": n}, 2 * 86400, seed=11)
    target = ForecastErrors({"x": spec}, {"x": n}, 2 * 86400, seed=11, growth="target_time")
    for st, s in zip(STAGES, spec.sigma()):
        sd = lead.error("x", st, 3600, RES, T).std(axis=0)  # issued at 1 h, over units
        np.testing.assert_allclose(sd, s * lead_profile(spec, k), rtol=0.06)
        assert sd[0] < 0.4 * sd[-1] and sd[:12].mean() < 0.7 * sd[-12:].mean()
        hourly = lead.error("x", st, 3600, 3600, 24).std(axis=0)  # what a day-ahead stage sees
        assert hourly[0] < 0.6 * hourly[-1]
        # target-time errors: the same spread at every lead
        np.testing.assert_allclose(target.error("x", st, 3600, RES, T).std(axis=0), s, rtol=0.06)


def test_lead_time_errors_are_nested_across_stages():
    spec = ErrorSpec((0.2, 0.1, 0.05), "absolute", tau_h=2.0, nowcast=0.2)
    n, T = 4000, 48
    fe = ForecastErrors({"x": spec}, {"x": n}, 86400, seed=12)
    s_da, s_id, s_rt = spec.sigma()
    prof = lead_profile(spec, np.arange(T))
    e = {st: fe.error("x", st, 7200, RES, T) for st in STAGES}  # all issued at 2 h
    # same issue time: each later stage's error is a component of the earlier one's
    np.testing.assert_allclose((e["da"] - e["id"]).std(axis=0), np.sqrt(s_da ** 2 - s_id ** 2) * prof, rtol=0.06)
    np.testing.assert_allclose((e["id"] - e["rt"]).std(axis=0), np.sqrt(s_id ** 2 - s_rt ** 2) * prof, rtol=0.06)
    for a, b in (("da", "id"), ("id", "rt")):
        assert abs(np.corrcoef((e[a] - e[b]).ravel(), e[b].ravel())[0, 1]) < 0.02
    mae = [np.abs(e[st]).mean(axis=0) for st in STAGES]
    assert (mae[0] > mae[1]).all() and (mae[1] > mae[2]).all()
    # issued later: a shorter lead at the same targets, so a smaller spread
    later_id = fe.error("x", "id", 7200 + 3600, RES, T - 12)
    assert (later_id.std(axis=0) < e["id"][:, 12:].std(axis=0)).all()
    assert (later_id.std(axis=0) < e["da"][:, 12:].std(axis=0)).all()
    # equal half-widths: every stage issued at t0 carries the same error (a shorter horizon is a prefix)
    flat = ForecastErrors({"x": ErrorSpec((0.1, 0.1, 0.1), nowcast=0.5)}, {"x": 3}, 2 * 86400, seed=12)
    da = flat.error("x", "da", 600, RES, 288)
    assert np.array_equal(flat.error("x", "id", 600, RES, 48), da[:, :48])
    assert np.array_equal(flat.error("x", "rt", 600, RES, 3), da[:, :3])


def test_lead_time_errors_are_drawn_per_issue_time_and_seed():
    spec = ErrorSpec((0.2, 0.1, 0.05), tau_h=3.0, nowcast=0.5, common=0.3)
    n = {"x": 500, "y": 2}
    a = ForecastErrors({"x": spec, "y": spec}, n, 2 * 86400, seed=13)
    b = ForecastErrors({"x": spec}, n, 2 * 86400, seed=13)
    c = ForecastErrors({"x": spec}, n, 2 * 86400, seed=14)
    first = a.error("x", "da", 3600, 900, 96)
    a.error("x", "id", 0, 900, 16)  # another forecast in between changes nothing: no state
    assert np.array_equal(first, a.error("x", "da", 3600, 900, 96))
    assert np.array_equal(first, b.error("x", "da", 3600, 900, 96))  # same seed, another signal present
    assert not np.allclose(first, c.error("x", "da", 3600, 900, 96))
    # re-issued an hour later: drawn anew, uncorrelated at the same targets
    again = a.error("x", "da", 7200, 900, 92)
    assert abs(np.corrcoef(first[:, 4:].ravel(), again.ravel())[0, 1]) < 0.05


def test_bias_follows_the_lead_time_mean_path():
    spec = ErrorSpec((0.2, 0.2, 0.2), "absolute", tau_h=1.0, nowcast=0.5, bias=(0.3, -0.1))
    n, T = 10000, 36
    phi = np.exp(-RES / 3600)
    m = ForecastErrors({"x": spec}, {"x": n}, 86400, seed=15).error("x", "rt", 0, RES, T).mean(axis=0)
    np.testing.assert_allclose(m, -0.1 + 0.4 * phi ** np.arange(T), atol=0.004)
    tt = ForecastErrors({"x": spec}, {"x": n}, 86400, seed=15, growth="target_time").error("x", "da", 0, RES, T)
    np.testing.assert_allclose(tt.mean(axis=0), -0.1, atol=0.004)


@pytest.mark.parametrize("level", list(BOPTEST_LEVELS))
def test_boptest_levels_reproduce_boptest_hourly_spread_and_mean(level):
    """BOPTEST's recursion (hour k): mean m_k+1 = F m_k + mu, variance v_k+1 = F^2 v_k + K^2 (e = truth -
    forecast; Laplace(a, b) has variance 2 b^2); ours runs at 5 min and must agree at every hour."""
    specs = boptest_errors(level)
    t, g = BOPTEST_LEVELS[level]["temperature"], BOPTEST_LEVELS[level]["solar"]
    ref = {"t_out_c": (t["F"], t["F0"], t["K0"] ** 2, t["mu"], t["K"] ** 2, 1.0),
           "ghi_kw_m2": (g["phi"], g["ag0"], 2 * g["bg0"] ** 2, g["ag"], 2 * g["bg"] ** 2, 1e-3)}
    n, hours = 20000, 24
    fe = ForecastErrors(specs, {"t_out_c": n, "ghi_kw_m2": n}, 2 * 86400, seed=16)
    for sig, (F, m, v, mu, var, unit) in ref.items():
        assert specs[sig].half_width[0] == specs[sig].half_width[2]  # one forecast quality, stages differ by lead
        e = fe.error(sig, "da", 0, RES, hours * 12)[:, ::12] / unit  # ours, at whole hours
        for k in range(hours):
            assert e[:, k].std() == pytest.approx(np.sqrt(v), rel=0.03), (sig, k)
            assert e[:, k].mean() == pytest.approx(-m, abs=0.03 * np.sqrt(v)), (sig, k)
            m, v = F * m + mu, F * F * v + var
    truth = np.array([[0.0, 0.1, 0.5, 0.8]])
    f = ForecastErrors({"g": specs["ghi_kw_m2"]}, {"g": 1}, 2 * 86400, seed=1)
    for t0 in range(0, 86400, 3600):
        fc = f.apply("g", "da", truth, t0, 3600)
        assert fc[0, 0] == 0.0 and (fc >= 0.2 * truth).all() and (fc <= 2 * truth).all()
    with pytest.raises(ConfigError, match="'extreme' is not one of low, medium, high"):
        boptest_errors("extreme")


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
           (ErrorSpec((0.03, 0.01, 0.005), common=-0.1), "forecast.load.common"),
           (ErrorSpec((0.03, 0.01, 0.005), nowcast=-0.1), r"forecast.load.nowcast = .*-0\.1"),
           (ErrorSpec((0.03, 0.01, 0.005), bias=(0.1,)), "forecast.load.bias = .* must be 2 values"),
           (ErrorSpec((0.03, 0.01, 0.005), bias=(0.1, np.nan)), r"forecast.load.bias\[1\]")]
    for spec, msg in bad:
        with pytest.raises(ConfigError, match=msg):
            ForecastErrors({"load": spec}, {"load": 2}, 3600)
    with pytest.raises(ConfigError, match="n_units"):
        ForecastErrors({"load": DEFAULT_ERRORS["load"]}, {}, 3600)
    with pytest.raises(ConfigError, match="res_s"):
        ForecastErrors({}, {}, 3600, res_s=0)
    with pytest.raises(ConfigError, match="forecast.growth = 'issue_time' is not one of lead_time, target_time"):
        ForecastErrors({}, {}, 3600, growth="issue_time")


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
    only_da = ForecastSim()  # a day-ahead entity alone: hourly steps in between, no forecast there
    only_da.init("F", forecaster=fc)
    only_da.create(1, "Forecast", stage="da", every_s=86400)
    assert only_da.step(0, {}, 0) == 3600 and only_da.step(3600, {}, 0) == 7200
    assert only_da.get_data({"Forecast_da": ["forecast"]})["Forecast_da"]["forecast"] is None
    with pytest.raises(ConfigError, match="already"):
        sim.create(1, "Forecast", stage="id", every_s=3600)
    with pytest.raises(ConfigError, match="'ex'"):
        sim.create(1, "Forecast", stage="ex", every_s=3600)
    with pytest.raises(ConfigError, match="every_s"):
        sim.create(1, "Forecast", stage="rt", every_s=0)
    with pytest.raises(ConfigError, match="forecaster"):
        ForecastSim().init("F")
