"""Credits with ranges on a tiny basin: each sample equals a basin run with its values; issuing at a percentile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from typer.testing import CliRunner

from gep.capacity.basin import basin_credits, reach_capacities
from gep.cli.capacity import app
from gep.jobs import capacity_basin

runner = CliRunner()
REACHES = """id,catchment,water_body,model,pollutant,class,flow [m**3/s],effluent_flow [m**3/s],upstream [mg/L]
R1,1,river,0d,COD,III,0.002,0,12
R2,2,river,0d,COD,III,0.001,0,10
"""
DECL = "[uncertainty.inputs]\nflow = { relative = 0.2, distribution = \"uniform\" }\npoint_sources = { relative = 0.1 }\n"


def _tif(path: Path, data) -> None:
    data = np.asarray(data)
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="uint16",
                       crs="EPSG:32650", transform=from_origin(500000.0, 3500000.0, 100.0, 100.0), nodata=0) as dst:
        dst.write(data.astype("uint16"), 1)


def basin(tmp: Path, extra: str = DECL) -> Path:
    _tif(tmp / "lc.tif", [[11, 21, 12], [51, 11, 22]])
    _tif(tmp / "catch.tif", [[1, 1, 2], [2, 1, 2]])
    (tmp / "reaches.csv").write_text(REACHES, encoding="utf-8")
    (tmp / "points.csv").write_text("source_id,catchment,pollutant,load,unit\nP1,1,COD,10,kg/yr\nP2,2,COD,5,kg/yr\n", encoding="utf-8")
    (tmp / "basin.toml").write_text("[scenario]\nname = \"tiny\"\nvintage = 2025\nsafety_margin = 0.1\n[tables]\nreaches = \"reaches.csv\"\n"
                                    "point_sources = \"points.csv\"\n[grids]\ncatchments = \"catch.tif\"\nlandcover = \"lc.tif\"\n" + extra, encoding="utf-8")
    return tmp / "basin.toml"


def test_every_sample_equals_a_basin_run_with_its_values(tmp_path):
    inputs = capacity_basin.load(basin(tmp_path), uncertainty={"samples": 6, "seed": 1})
    res = capacity_basin.compute(inputs)
    u = res.uncertainty
    names = u.space.names
    assert "input:flow" in names and "input:point_sources" in names and "export.COD[11]" in names
    assert u.checks["deterministic_issuable_reproduced"]
    cz = np.where(inputs.catchments > 0, inputs.catchments, -1)
    for s, row in u.draws.iterrows():
        export = inputs.export.copy()
        for n in names:
            if n.startswith("export."):
                pol, code = n[len("export."):-1].split("[")
                export.loc[(export["landcover"] == int(code)) & (export["pollutant"] == pol), "value"] = row[n]
        reaches = inputs.reaches.copy()
        reaches["flow"] = reaches["flow"] * row["input:flow"]
        points = inputs.points.copy()
        points["load"] = points["load"] * row["input:point_sources"]
        credits, _ = basin_credits(reach_capacities(reaches, inputs.standards), inputs.landcover, cz, inputs.cell_area, export, points, 0.1, 2025)
        got = u.samples[u.samples["sample"] == s].set_index(["catchment", "pollutant"])
        for _, c in credits.iterrows():
            g = got.loc[(c["catchment"], c["pollutant"])]
            for col in ("capacity_t_per_yr", "nonpoint_load_t_per_yr", "point_load_t_per_yr", "issuable_t_per_yr", "remaining_t_per_yr"):
                assert g[col] == pytest.approx(c[col], rel=1e-9, abs=1e-12), (s, col)


def test_issuing_at_a_percentile_keeps_the_credit_arithmetic_and_replays(tmp_path):
    out = tmp_path / "run"
    r = runner.invoke(app, ["basin", str(basin(tmp_path)), "--out", str(out), "--samples", "40", "--seed", "2", "--issuable-percentile", "10", "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    credits = pd.read_csv(out / "credits.csv", encoding="utf-8-sig")
    summary = pd.read_csv(out / "credits_uncertainty.csv", encoding="utf-8-sig")
    samples = pd.read_parquet(out / "credit_samples.parquet")
    for _, c in credits.iterrows():
        assert c["margin_t_per_yr"] == pytest.approx(0.1 * max(c["capacity_t_per_yr"], 0.0), rel=1e-12)
        assert c["issuable_t_per_yr"] == pytest.approx(max(c["capacity_t_per_yr"] - c["load_t_per_yr"] - c["margin_t_per_yr"], 0.0), rel=1e-12, abs=1e-15)
        assert c["issuable_kg_per_yr"] == int(np.floor(c["issuable_t_per_yr"] * 1000))
        s = summary[(summary["catchment"] == c["catchment"]) & (summary["pollutant"] == c["pollutant"])].iloc[0]
        rem = samples[(samples["catchment"] == c["catchment"]) & (samples["pollutant"] == c["pollutant"])]["remaining_t_per_yr"]
        assert c["remaining_t_per_yr"] == pytest.approx(np.percentile(rem, 10, method="inverted_cdf"), rel=1e-12)
        assert s["chosen_sample"] >= 0 and c["issuable_t_per_yr"] <= s["issuable_p50_t_per_yr"] + 1e-12
        chosen = json.loads(c["inputs"])["uncertainty_sample"]  # the row names its sample and that sample's input errors
        assert chosen["sample"] == s["chosen_sample"] and "input:flow" in chosen["input_errors"]
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"]["uncertainty"]["issuable_percentile"] == 10 and m["parameters"]["safety_margin"] == 0.1
    assert m["results"]["totals"]["COD"]["issuable_t_per_yr"] == pytest.approx(credits["issuable_t_per_yr"].sum(), rel=1e-12)
    assert doc["uncertainty"]["issuable_percentile"] == 10
    from gep.audit.replay import replay

    assert replay(out / "manifest.json").exit_code == 0


@pytest.mark.parametrize("args, extra, words", [
    (["--issuable-percentile", "5"], DECL, ["--issuable-percentile", "--samples"]),
    (["--samples", "1"], DECL, ["--samples", "at least 2"]),
    (["--samples", "4"], "[uncertainty.inputs]\nflw = { relative = 0.2 }\n", ["flw", "did you mean 'flow'"]),
    (["--samples", "4", "--issuable-percentile", "120"], DECL, ["--issuable-percentile", "[0, 100]"]),
])
def test_bad_input_exits_2(tmp_path, args, extra, words):
    r = runner.invoke(app, ["basin", str(basin(tmp_path, extra)), "--out", str(tmp_path / "o"), *args])
    assert r.exit_code == 2, (r.stdout, r.stderr)
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and all(w in err for w in words), err
