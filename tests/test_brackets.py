"""cosim.brackets: effects of a sweep's run table, where a paper's number is met, the report; and each
study's bracket sweep on a tiny horizon (its effect's monotone direction on a few points)."""
import itertools

import numpy as np
import pandas as pd
import pytest

from cosim import brackets, cli
from cosim.brackets import Headline, effect_runs, effect_table, met_at, sentence
from cosim.study import ROOT
from cosim.sweeps import load
from cosim_base.errors import ConfigError

AXES = ["case", "p", "q"]


def _runs() -> pd.DataFrame:
    """case a / b x p 1, 2, 4 x q "x" / "y" x 2 replicates; kpi = 10 + replicate for a, and for b
    10 + replicate - p * (1 or 2 for q x / y); one failed run."""
    rows = []
    for case, p, q, r in itertools.product(("a", "b"), (1.0, 2.0, 4.0), ("x", "y"), (0, 1)):
        k = 10.0 + r - (p * (1 if q == "x" else 2) if case == "b" else 0.0)
        rows.append({"case": case, "p": p, "q": q, "replicate": r, "status": "done", "kpi": k})
    rows.append({"case": "b", "p": 8.0, "q": "x", "replicate": 0, "status": "failed", "kpi": np.nan})
    return pd.DataFrame(rows)


H = Headline("b vs a", -3.0, "kpi", ref={"case": "a"}, new={"case": "b"}, x="p", relative=False, unit="$")


def test_effects_pair_each_run_with_its_reference_of_the_same_replicate_and_labels():
    e = effect_runs(_runs(), H, AXES)
    assert len(e) == 12 and (e.case == "b").all()  # the failed run is left out
    assert np.allclose(e.effect, -e.p * np.where(e.q == "x", 1, 2))
    assert np.allclose(e.ref, 10 + e.replicate)
    t = effect_table(_runs(), H, AXES)
    assert list(t.columns[:3]) == ["q", "p", "n"] and t.n.eq(2).all()
    assert t.effect_mean.tolist() == [-1, -2, -4, -2, -4, -8]
    rel = effect_table(_runs(), Headline("b vs a", -20, "kpi", ref={"case": "a"}, new={"case": "b"}, x="p"), AXES)
    assert rel.effect_mean.iloc[0] == pytest.approx(np.mean([-100 / 10, -100 / 11]))
    small = Headline("b vs a", -20, "kpi", ref={"case": "a"}, new={"case": "b"}, x="p", ref_min=10.0)
    t = effect_table(_runs(), small, AXES)  # replicate 0's reference, 10, is too small: only replicate 1 counts
    assert t.n.eq(1).all() and t.effect_mean.iloc[0] == pytest.approx(-100 / 11)
    assert sentence(t, small).startswith("met at p = 2.2 (q = x)")
    none = Headline("b vs a", -20, "kpi", ref={"case": "a"}, new={"case": "b"}, x="p", ref_min=11.0)
    assert sentence(effect_table(_runs(), none, AXES), none) == \
        "not met: undefined at 6 of 6 points (|reference| <= 11)"


def test_met_at_interpolates_along_x_per_line():
    t = effect_table(_runs(), H, AXES)
    hits = met_at(t, H)
    assert hits == [({"q": "x"}, pytest.approx(3.0)), ({"q": "y"}, pytest.approx(1.5))]
    assert sentence(t, H) == "met at p = 3 (q = x); p = 1.5 (q = y)"
    far = Headline("b vs a", -20.0, "kpi", ref={"case": "a"}, new={"case": "b"}, x="p", relative=False, unit="$")
    assert sentence(t, far) == "not met: the sweep covers -8 .. -1 $ (paper -20 $)"


def test_a_reference_on_the_x_axis_gives_zero_and_a_named_one_is_no_x_value():
    runs = _runs()
    h = Headline("vs p 1", 0.0, "kpi", ref={"p": 1.0}, x="p", relative=False)
    t = effect_table(runs[runs.case == "b"], h, AXES)
    assert t[t.p == 1.0].effect_mean.eq(0).all() and len(t) == 6
    named = runs.assign(p=runs.p.astype(str).where(runs.case == "b", "ref"), case="b")
    named = named[(named.p != "ref") | (runs.p == 1.0)]
    t = effect_table(named, Headline("b vs ref", 0.0, "kpi", ref={"p": "ref"}, x="p", relative=False), AXES)
    assert sorted(t.p.unique()) == ["1.0", "2.0", "4.0"] and t.effect_mean.lt(0).all()


def test_report_writes_tables_sentences_and_plots(tmp_path):
    rep = brackets.report(_runs(), AXES, [H], tmp_path)
    paths = brackets.write(rep, tmp_path)
    assert rep["b vs a"]["plot"].read_bytes()[:4] == b"\x89PNG"
    md = paths["md"].read_text()
    assert "### b vs a" in md and "met at p = 3 (q = x)" in md and "![b vs a](b_vs_a.png)" in md
    assert pd.read_csv(paths["csv"]).headline.eq("b vs a").all()


def test_errors_name_the_headline_field():
    with pytest.raises(ConfigError, match="kpi 'cost' is not a column"):
        effect_table(_runs(), Headline("h", 0, "cost", ref={"case": "a"}, x="p"), AXES)
    with pytest.raises(ConfigError, match="headline axis 'day' is not an axis"):
        effect_table(_runs(), Headline("h", 0, "kpi", ref={"day": "a"}, x="p"), AXES)
    with pytest.raises(ConfigError, match=r"ref = \{'case': 'a'\} matches several runs"):
        effect_table(_runs(), H, ["case", "p"])  # axis q left out: its two runs look like one point
    with pytest.raises(ConfigError, match="x = 'r' is not an axis"):
        effect_table(_runs(), Headline("h", 0, "kpi", ref={"case": "a"}, x="r"), AXES)
    with pytest.raises(ConfigError, match="hours = -1 must be"):
        brackets.run("seed003", hours=-1)
    assert cli.main(["brackets", "seed009"]) == 2


@pytest.mark.parametrize("name", ["seed000", "seed001", "seed002", "seed003"])
def test_shipped_bracket_sweeps_load_and_name_their_axes(name):
    from cosim.study import study

    for b in study(name).BRACKETS:
        sweep = load(ROOT / b.sweep)
        axes = [a.name for a in sweep.axes]
        for h in b.headlines:
            assert set(h.ref) | set(h.new) | {h.x} <= set(axes), h
            assert any(lab == h.ref[a] for a in h.ref for lab in next(x.labels for x in sweep.axes if x.name == a))


def test_a_headline_without_runs_is_reported_as_such(tmp_path):
    rep = brackets.report(_runs(), AXES, [Headline("c vs a", 0, "kpi", ref={"case": "a"}, new={"case": "c"}, x="p")],
                          tmp_path)
    assert rep["c vs a"]["sentence"] == "no runs of its cases" and rep["c vs a"]["plot"] is None


@pytest.fixture(scope="module")
def scheduler():
    """One local worker process, shared by the studies' short bracket sweeps."""
    from cosim.sweeps import client

    with client(workers=1) as c:
        yield c.scheduler.address


def _short(name: str, keep: dict, hours: float, scheduler, out, sweeps=None, changes=None):
    """Study ``name``'s bracket sweeps (``sweeps``: their names, default all) on ``hours``, one
    replicate, only the axis labels in ``keep`` (axis -> labels; other axes whole), ``changes``:
    dotted scenario keys set in every run (e.g. the start or the plant step): the report dict."""
    from cosim.study import study

    spec = {}
    for b in study(name).BRACKETS:
        d = brackets.sweep_dict(b, ROOT, int(round(hours * 3600)))
        axes = []
        for a in d["axis"]:
            if a["name"] in keep and "points" in a:
                a = {**a, "points": [p for p in a["points"] if p["label"] in keep[a["name"]]]}
            elif a["name"] in keep:
                a = {**a, "values": [v for v in a["values"] if v in keep[a["name"]]]}
            axes.append(a)
        spec[d["name"]] = {"axis": axes, "replicates": 1, "set": {**d["set"], **(changes or {})}}
    _, rep = brackets.run(name, out=out, hours=hours, scheduler=scheduler, progress=False, spec_changes=spec,
                          sweeps=sweeps)
    return rep


def test_seed003_short_bracket_peak_change_grows_towards_a_flat_price(scheduler, tmp_path):
    """Summer weekday, 20 kWh tank, 6 h: a sell price below the buy price already keeps the economic
    schedule's loads apart; a flat price leaves it free to stack them, so the peak objective saves more."""
    rep = _short("seed003", {"day": ["summer_weekday"], "tank": ["20"], "export_price_ratio": [0.4, 1.0]}, 6,
                 scheduler, tmp_path)
    t = rep["summer_weekday: peak change, peak vs economic objective"]["table"]
    assert t.export_price_ratio.tolist() == [0.4, 1.0]
    e = t.effect_mean.to_numpy()
    assert e[1] < e[0] <= 0, t
    assert rep["winter_weekday: peak change, peak vs economic objective"]["sentence"] == "no runs of its cases"


def test_seed002_short_bracket_renewables_save_more_when_larger(scheduler, tmp_path):
    """3 h from noon of the February day, no wind: 10 x 1 kWp then 10 x 5 kWp of PV against none."""
    rep = _short("seed002", {"wind": ["0"], "pv": ["0", "1", "5"]}, 3, scheduler, tmp_path,
                 sweeps=("seed002_brackets_res",))
    t = rep["renewables, smart charging (s2)"]["table"]
    assert t.pv.tolist() == ["0", "1", "5"]
    e = t.effect_mean.to_numpy()
    assert e[0] == 0 and e[2] < e[1] < 0, t


def test_seed001_short_bracket_tseh_saves_more_losses_when_larger(scheduler, tmp_path):
    """00-03 h at a 5-min plant step (the night valley, when the storage heaters charge), loss
    price 0: dispatching 75 TSEH houses per bus saves a larger share of the loss cost than 25."""
    rep = _short("seed001", {"loss_price": [0.0], "tseh": ["25", "75"]}, 3, scheduler, tmp_path,
                 sweeps=("seed001_brackets",), changes={"step_s": 300})
    t = rep["loss cost, with vs without TSEH"]["table"]
    assert t.tseh.tolist() == ["25", "75"]
    e = t.effect_mean.to_numpy()
    assert e[1] < e[0] < 0, t


def test_seed000_short_bracket_losses_fall_more_with_more_evs(scheduler, tmp_path):
    """17-20 h (the EVs' evening arrivals and the peak price), 0 K offset, a 5-min plant step and one
    24-h plan made at 17:00: coordination saves a larger share of the losses with 59 EVs than with 15."""
    rep = _short("seed000", {"t_out": [0.0], "ev": ["15", "59"]}, 3, scheduler, tmp_path,
                 changes={"start": "2024-01-15 17:00", "step_s": 300, "control.da.every_s": 3 * 3600})
    t = rep["network losses, coordinated vs uncoordinated"]["table"]
    assert t.ev.tolist() == ["15", "59"]
    e = t.effect_mean.to_numpy()
    assert e[1] < e[0] < 0, t
