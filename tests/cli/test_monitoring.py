"""`gep monitoring compliance` and `gep monitoring calibrate`, a capacity run that uses a calibration, their
manifests and replay, and the bad-input paths: exit 2 with one line naming the problem, nothing written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from gep.audit.replay import replay

ROOT = Path(__file__).resolve().parents[2]
SCEN = ROOT / "scenarios"
DEMO = ROOT / "gep" / "data" / "demo"


@pytest.fixture()
def data(tmp_path, monitoring_series) -> Path:
    """Two years of monthly samples at S1 (``series.csv``) and its section table."""
    (tmp_path / "sections.csv").write_text("# test sections\nsection,name,water_body,target_class,zone\nS1,test,river,III,1\n", encoding="utf-8")
    return monitoring_series(tmp_path)


def test_compliance_outputs_manifest_and_replay(gep, data):
    doc = gep.json("monitoring", "compliance", data / "series.csv", "--sections", data / "sections.csv", "--out", data / "run")
    s = {r["period"]: r for r in doc["sections"]}
    assert s["2021"]["class_name"] == "II" and s["2021"]["meets_target"]           # CODMn 3.6, TP 0.08, NH3-N 0.4: all class II
    assert s["2022"]["class_name"] == "IV" and not s["2022"]["meets_target"]       # NH3-N 1.2 > 1.0
    run = data / "run"
    for name in ("sections.csv", "stats.csv", "samples.csv", "gaps.csv", "compliance.xlsx", "series.png", "classes.png", "manifest.json"):
        assert (run / name).is_file(), name
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert m["kind"] == "gep monitoring compliance" and m["inputs"]["series"]["path"] == "../series.csv"
    assert m["coefficients"]["standards"]["id"] == "gb3838-2002" and m["parameters"]["dl_rule"] == "half"
    rep = replay(run / "manifest.json")
    assert rep.exit_code == 0 and "sections.csv" in rep.identical and "compliance.xlsx" in rep.identical
    (data / "series.csv").write_text((data / "series.csv").read_text() + "S1,2022-12-21,TP,0.1,mg/L,\n")
    assert replay(run / "manifest.json").exit_code == 3  # an input changed


def test_parquet_gives_the_same_result(gep, data):
    pd.read_csv(data / "series.csv", dtype=str).to_parquet(data / "series.parquet")
    a = gep.json("monitoring", "compliance", data / "series.csv", "--out", data / "a")
    b = gep.json("monitoring", "compliance", data / "series.parquet", "--out", data / "b")
    assert a["sections"] == b["sections"]


@pytest.mark.parametrize("row, words", [
    (("S1", "2022-01-10", "XYZ", "1", "mg/L", ""), ("unknown parameter 'XYZ'", "data row 74")),
    (("S1", "2022-01-10", "TP", "1", "mg/zorkmid", ""), ("unknown unit", "data row 74")),
])
def test_bad_series_exits_2_naming_the_row(gep, data, monitoring_files, row, words):
    rows = pd.read_csv(data / "series.csv", dtype=str, keep_default_na=False).values.tolist() + [list(row)]
    monitoring_files.write_series(data / "bad.csv", [tuple(r) for r in rows])
    gep.one_line_error("monitoring", "compliance", data / "bad.csv", "--out", data / "bad", words=words)
    assert not (data / "bad").exists()


def test_no_data_in_the_period_and_bad_options_exit_2(gep, data):
    gep.one_line_error("monitoring", "compliance", data / "series.csv", "--from", "2030-01-01", "--out", data / "x", words=("no data from 2030-01-01",))
    gep.one_line_error("monitoring", "compliance", data / "series.csv", "--parameter", "DO", words=("parameter DO has no data",))
    gep.one_line_error("monitoring", "compliance", data / "series.csv", "--parameter", "XYZ", words=("--parameter", "unknown parameter 'XYZ'"))
    gep.one_line_error("monitoring", "compliance", data / "series.csv", "--period", "decade", words=("--period", "unknown period length"))
    gep.one_line_error("monitoring", "compliance", data / "series.csv", "--dl-rule", "third", words=("--dl-rule", "unknown detection-limit rule"))
    assert not (data / "x").exists()


def test_out_is_checked_first_and_a_failed_write_keeps_the_earlier_run(gep, data, monkeypatch):
    """Whole or nothing: an unusable --out is refused before computing; a write that fails midway leaves the
    earlier run and its manifest as they were, and no partial folder beside it."""
    (data / "notes").mkdir()
    (data / "notes" / "mine.txt").write_text("keep", encoding="utf-8")
    gep.one_line_error("monitoring", "compliance", data / "series.csv", "--out", data / "notes", words=("not a gep output folder",))
    assert (data / "notes" / "mine.txt").read_text(encoding="utf-8") == "keep"
    gep.one_line_error("monitoring", "compliance", data / "series.csv", "--out", data / "sections.csv", words=("is a file",))

    run = data / "run"
    gep.json("monitoring", "compliance", data / "series.csv", "--out", run)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    import gep.io.outputs as outputs

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_csv", broken)
    gep.one_line_error("monitoring", "compliance", data / "series.csv", "--out", run, words=("No space left",))
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in data.iterdir()) == ["notes", "run", "sections.csv", "series.csv"]


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("calibrate")
    (tmp / "cal.toml").write_text(f"""
[calibration]
name = "t"
basin = "{_rel(SCEN / 'demo_capacity.toml', tmp)}"
monitoring = "{_rel(DEMO / 'monitoring' / 'series.csv', tmp)}"
sections = "{_rel(DEMO / 'monitoring' / 'sections.csv', tmp)}"
start = 2020-01-01
end = 2024-12-31
[fit]
decay = true
export = true
profile = false
""", encoding="utf-8")
    return tmp


def test_calibrate_finds_the_synthetic_truth(gep, calibrated):
    doc = gep.json("monitoring", "calibrate", calibrated / "cal.toml", "--out", calibrated / "cal")
    p = {r["parameter"]: r for r in doc["parameters"]}
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", DEMO / "monitoring" / "generate.py")
    truth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(truth)
    assert set(p) == set(truth.TRUTH)
    for name in ("export COD", "export NH3-N", "export TP", "export TN", "decay L5 TN", "decay R3 COD"):
        assert p[name]["ci_low"] < truth.TRUTH[name] < p[name]["ci_high"], name
    assert doc["stats"]["identifiable"] and doc["stats"]["converged"] and doc["stats"]["s"] == pytest.approx(0.15, rel=0.15)
    for name in ("calibration.csv", "residuals.csv", "correlation.csv", "calibration.xlsx", "fit.png"):
        assert (calibrated / "cal" / name).is_file(), name
    m = json.loads((calibrated / "cal" / "manifest.json").read_text(encoding="utf-8"))
    assert {"calibration", "monitoring", "sections", "basin", "basin.tables.reaches"} <= set(m["inputs"])
    assert replay(calibrated / "cal" / "manifest.json").exit_code == 0


def test_capacity_run_uses_a_recorded_calibration(gep, calibrated):
    if not (calibrated / "cal" / "manifest.json").is_file():
        gep.json("monitoring", "calibrate", calibrated / "cal.toml", "--out", calibrated / "cal")
    base = (SCEN / "demo_capacity.toml").read_text(encoding="utf-8")
    text = base.replace('"../gep/data/demo/', f'"{_rel(DEMO, calibrated)}/').replace('"demo.toml"', f'"{_rel(SCEN / "demo.toml", calibrated)}"')
    (calibrated / "basin.toml").write_text(text + '\n[calibration]\nrun = "cal/manifest.json"\n', encoding="utf-8")
    gep.json("capacity", "basin", calibrated / "basin.toml", "--out", calibrated / "basin")
    m = json.loads((calibrated / "basin" / "manifest.json").read_text(encoding="utf-8"))
    assert m["calibration"]["source"] == "run" and "calibration.run" in m["inputs"]
    est = {r["parameter"]: r["estimate"] for r in m["calibration"]["parameters"]}
    applied = {a["parameter"]: a["rows"] for a in m["calibration"]["applied"]}
    assert applied["decay R1 COD"] == 1 and applied["export TP"] > 0
    cap = pd.read_csv(calibrated / "basin" / "capacity.csv", encoding="utf-8-sig")
    used = json.loads(cap[(cap["id"] == "R1") & (cap["pollutant"] == "COD")]["inputs"].iloc[0])["decay"]
    assert used["unit"] == "1/d" and used["value"] == pytest.approx(est["decay R1 COD"])   # the capacity model used the calibrated k
    assert replay(calibrated / "basin" / "manifest.json").exit_code == 0
    # a manifest of another kind is refused; a changed calibration.csv too
    (calibrated / "bad.toml").write_text(text + '\n[calibration]\nrun = "basin/manifest.json"\n', encoding="utf-8")
    gep.one_line_error("capacity", "basin", calibrated / "bad.toml", "--out", calibrated / "bad", words=("not 'gep monitoring calibrate'",))
    assert not (calibrated / "bad").exists()
    (calibrated / "two.toml").write_text(text + '\n[calibration]\nrun = "cal/manifest.json"\nfit = "cal.toml"\n', encoding="utf-8")
    gep.one_line_error("capacity", "basin", calibrated / "two.toml", words=("give exactly one of fit or run",))


def test_malformed_calibration_files(gep, tmp_path):
    (tmp_path / "c.toml").write_text('[calibration]\nbasin = "nowhere.toml"\n', encoding="utf-8")
    gep.one_line_error("monitoring", "calibrate", tmp_path / "c.toml", "--out", tmp_path / "o", words=("[calibration] basin: file not found",))
    (tmp_path / "d.toml").write_text('[fit]\nlevel = 2.0\n[calibration]\n', encoding="utf-8")
    gep.one_line_error("monitoring", "calibrate", tmp_path / "d.toml", words=("[calibration] basin: missing",))
    assert not (tmp_path / "o").exists()
