"""CLI tests of `gep uncertainty`: outputs, --json, the same seed gives the same files, bad input exits 2 with one line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

DECL = """
[uncertainty]
correlated = ["water_conservation.runoff_coefficient"]

[uncertainty.inputs]
precipitation = { relative = 0.1 }
"""


def test_uncertainty_json_outputs_and_same_seed_same_files(tmp_path, tiny, gep):
    path = tiny.make(tmp_path, extra_toml=DECL)
    out = tmp_path / "u"
    r = gep.invoke("uncertainty", path, "--samples", 16, "--seed", 4, "--out", out, "--json", "--workers", 1)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    g = doc["gep_total_cny"]
    assert set(g) == {"p5", "p50", "p95", "mean", "se"} and g["p5"] <= g["p50"] <= g["p95"] and g["se"] > 0
    assert doc["samples"] == 16 and doc["seed"] == 4
    assert {"rank", "name", "S1", "ST"} <= set(doc["sensitivity"][0]) and doc["sensitivity"][0]["rank"] == 1
    assert "input:precipitation" in {s["name"] for s in doc["sensitivity"]}
    for name in ("summary.csv", "summary.parquet", "sensitivity.csv", "sensitivity.parquet", "samples.csv", "uncertainty.xlsx",
                 "tornado.png", "distribution.png", "manifest.json", "draws.parquet"):
        assert (out / name).is_file(), name
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["kind"] == "gep uncertainty" and m["parameters"]["samples"] == 16 and m["rng"]["seed"] == 4
    assert m["results"]["gep_cny"]["p50"] == pytest.approx(g["p50"], rel=1e-14)  # --json shows 15 significant digits, the manifest all
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert list(summary.columns[:6]) == ["level", "name", "p5", "p50", "p95", "mean"]
    again = tmp_path / "u2"
    assert gep.invoke("uncertainty", path, "--samples", 16, "--seed", 4, "--out", again, "--workers", 2).exit_code == 0
    for name in ("summary.csv", "sensitivity.csv", "samples.csv", "tornado.csv", "summary.parquet", "uncertainty.xlsx"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    other = tmp_path / "u3"
    assert gep.invoke("uncertainty", path, "--samples", 16, "--seed", 5, "--out", other, "--workers", 1).exit_code == 0
    assert (out / "samples.csv").read_bytes() != (other / "samples.csv").read_bytes()


def test_table_output(tmp_path, tiny, gep):
    r = gep.invoke("uncertainty", tiny.make(tmp_path), "--samples", 4, "--out", tmp_path / "o", "--workers", 1)
    assert r.exit_code == 0, r.output
    assert "GEP" in r.output and "what drives GEP" in r.output and "verified against the engine" in r.output


def test_bad_input_exits_2_with_one_line(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    gep.assert_user_error(gep.invoke("uncertainty", path, "--samples", 1), "--samples", "at least 2")
    bad = tiny.make(tmp_path / "b", extra_toml='[uncertainty.coefficients]\n"water_conservation.runof_coefficient[211]" = { relative = 0.1 }\n')
    gep.assert_user_error(gep.invoke("uncertainty", bad, "--samples", 4), "water_conservation.runof_coefficient[211]", "names no coefficient")
    bad = tiny.make(tmp_path / "c", extra_toml='[uncertainty.coefficients]\n"price.reservoir_storage" = { low = 9.0, high = 5.0 }\n')
    gep.assert_user_error(gep.invoke("uncertainty", bad, "--samples", 4), "price.reservoir_storage", "low 9 > high 5")
    bad = tiny.make(tmp_path / "d", extra_toml='[uncertainty.inputs]\nrainfall = { relative = 0.1 }\n')
    gep.assert_user_error(gep.invoke("uncertainty", bad, "--samples", 4), "rainfall", "not a gridded input")


def test_a_confusion_matrix_reallocates_areas_and_matches_the_engine(tmp_path, tiny, gep):
    (tmp_path / "cm.csv").write_text("mapped,211,11\n211,30,20\n11,5,45\n", encoding="utf-8")
    path = tiny.make(tmp_path, extra_toml='[uncertainty.inputs.landcover]\nconfusion_matrix = "cm.csv"\n')
    out = tmp_path / "u"
    r = gep.invoke("uncertainty", path, "--samples", 32, "--seed", 2, "--out", out, "--json", "--workers", 1, "--verify", 3)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    lc = [s for s in doc["sensitivity"] if s["name"] == "input:landcover"]
    assert lc and lc[0]["variables"] == 4 and lc[0]["ST"] > 0
    assert doc["checks"]["max_relative_difference_gep"] < 1e-9  # each verified sample recomputed by the engine on re-allocated areas
    g = doc["gep_total_cny"]
    assert g["p5"] < g["p95"]
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["inputs"]["uncertainty.landcover"]["path"].endswith("cm.csv")


def test_a_bad_confusion_matrix_exits_2_with_one_line(tmp_path, tiny, gep):
    (tmp_path / "cm.csv").write_text("mapped,211,11\n211,30,20\n11,5,-45\n", encoding="utf-8")
    path = tiny.make(tmp_path, extra_toml='[uncertainty.inputs.landcover]\nconfusion_matrix = "cm.csv"\n')
    gep.assert_user_error(gep.invoke("uncertainty", path, "--samples", 4), "cm.csv", "line 3, column '11'")
    path = tiny.make(tmp_path, extra_toml='[uncertainty.inputs.landcover]\nconfusion = "cm.csv"\n')
    gep.assert_user_error(gep.invoke("uncertainty", path, "--samples", 4), "inputs.landcover", "confusion_matrix")
