"""Reports and comparisons of real runs: a short closed-loop run and a plant-only run of the same plant."""
import json
import math

import pandas as pd
import pytest

from cosim import kpi, report, world
from cosim.cli import main
from cosim.record import read
from cosim.scenario import Scenario
from tests.small import SMALL

SMALL = {**SMALL, "duration_s": 1800}
PLOTS = ("voltage", "trafo", "exchange", "indoor", "ev_soc", "plans")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    loop = world.run(Scenario().updated({**SMALL, "output": str(tmp / "loop.h5")}), progress=False)
    plant = world.run(Scenario().updated({**SMALL, "control.stages": [], "output": str(tmp / "plant.h5")}),
                      progress=False)
    return loop, plant


def _same(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) if isinstance(a, float) and math.isnan(a) else a == b


def test_report_writes_every_file_and_the_kpis_of_the_record(runs, tmp_path):
    loop, _ = runs
    files = report.write_report(loop, tmp_path / "out")
    assert set(files) == {"kpi_csv", "kpi_json", *PLOTS}
    for key in PLOTS:
        assert files[key] == tmp_path / "out" / f"{key}.png"
        assert files[key].read_bytes()[:8] == PNG and files[key].stat().st_size > 10_000
    expected = kpi.compute(loop)
    csv = pd.read_csv(files["kpi_csv"], index_col="kpi", float_precision="round_trip")["value"]
    assert list(csv.index) == list(expected)
    assert all(_same(float(csv[k]), float(v)) for k, v in expected.items())
    js = json.loads(files["kpi_json"].read_text())
    assert list(js) == list(expected)
    assert all(_same(math.nan if js[k] is None else js[k], v) for k, v in expected.items())
    assert report.read_kpis(files["kpi_json"]).keys() == expected.keys()


def test_plant_only_run_skips_the_plans(runs, tmp_path, caplog):
    _, plant = runs
    with caplog.at_level("INFO", logger="cosim.report"):
        files = report.write_report(plant, tmp_path)
    assert set(files) == {"kpi_csv", "kpi_json", *PLOTS} - {"plans"}
    assert not (tmp_path / "plans.png").exists()
    assert "skipped plans.png" in caplog.text


def test_print_table_aligns_keys_and_formats_ints_and_floats():
    text = report.print_table({"cost": 854.98723, "da_solves": 3, "gap_rel_max": 1.5e-9, "v": math.nan})
    lines = text.splitlines()
    assert lines[0].split() == ["cost", "854.9872"] and lines[1].split() == ["da_solves", "3"]
    assert lines[2].split() == ["gap_rel_max", "1.5000e-09"] and lines[3].split() == ["v", "nan"]
    assert len({len(line) for line in lines}) == 1


def test_compare_gives_percent_against_the_first_run(runs, tmp_path):
    loop, plant = runs
    table = report.compare([plant, loop], out_csv=tmp_path / "cmp.csv")
    assert list(table.columns) == ["plant", "loop", "loop vs plant %"]
    a, b = kpi.compute(plant)["import_mwh"], kpi.compute(loop)["import_mwh"]
    assert table.loc["import_mwh", "loop vs plant %"] == pytest.approx((b - a) / a * 100)
    assert math.isnan(table.loc["rt_solves", "plant"]) and table.loc["rt_solves", "loop"] > 0
    assert pd.read_csv(tmp_path / "cmp.csv", index_col="kpi").shape == table.shape


def test_cli_report_and_compare(runs, tmp_path, capsys):
    loop, plant = runs
    assert main(["report", str(loop)]) == 0
    out = capsys.readouterr().out
    default_dir = loop.with_name("loop_report")
    assert "import_mwh" in out and str(default_dir / "voltage.png") in out
    assert (default_dir / "plans.png").is_file()
    assert main(["report", str(plant), "--out", str(tmp_path / "p")]) == 0
    assert "note: plant.h5: skipped plans.png" in capsys.readouterr().out
    assert main(["compare", str(plant), str(loop), "--csv", str(tmp_path / "c.csv")]) == 0
    out = capsys.readouterr().out
    assert "loop vs plant %" in out and (tmp_path / "c.csv").is_file()


def test_cli_missing_or_bad_file_exits_2_with_a_clear_message(runs, tmp_path, capsys):
    missing = tmp_path / "nope.h5"
    assert main(["report", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"cosim: error: {missing}: no such record file"
    assert main(["compare", str(runs[0]), str(missing)]) == 2
    assert f"{missing}: no such record file" in capsys.readouterr().err
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    assert main(["report", str(junk)]) == 2
    assert f"{junk}: not a readable cosim record" in capsys.readouterr().err
    assert read(runs[0]).groups()  # the good record is untouched
