"""Pollutant loads (point, land cover via bincount), credits, and the export-coefficient table."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.capacity.credits import CREDIT_COLUMNS, capacity_frame, credit_table
from gep.capacity.loads import canonical_pollutant, nonpoint_load_grid, nonpoint_loads, point_loads
from gep.errors import CoefficientError, GridError, InputError, UnitError
from gep.io.capacity_tables import read_export_coefficients, read_point_sources, read_standards
from gep.units import Q_

ROOT = Path(__file__).resolve().parents[2] / "gep" / "data" / "coefficients"

# A small export-coefficient table [kg/(ha*yr)] for hand sums.
COEF = pd.DataFrame(
    {
        "landcover": [11, 21, 51, 11, 21, 51],
        "pollutant": ["TN", "TN", "TN", "TP", "TP", "TP"],
        "value": [20.0, 2.0, 10.0, 0.8, 0.1, 0.5],
        "unit": ["kg/(ha*yr)"] * 6,
    }
)


# --------------------------------------------------------------------------- non-point


def test_nonpoint_hand_sum():
    # land cover         catchment id (-1 = outside)   cell = 900 m2 = 0.09 ha
    # 11 11 21           1  1  2
    # 51 21 11           2  2 -1
    # TN, catchment 1: 2 paddy cells * 20 * 0.09 = 3.6 kg/yr            = 0.0036 t/yr
    # TN, catchment 2: forest 2*0.09 + urban 10*0.09 + forest 2*0.09 = 0.18 + 0.9 + 0.18 = 1.26 kg/yr
    # TP, catchment 1: 2 * 0.8 * 0.09 = 0.144 kg/yr; catchment 2: 0.009 + 0.045 + 0.009 = 0.063 kg/yr
    lc = np.array([[11, 11, 21], [51, 21, 11]])
    cz = np.array([[1, 1, 2], [2, 2, -1]])
    out = nonpoint_loads(lc, cz, COEF, Q_(900.0, "m**2"))
    got = out.set_index(["catchment", "pollutant"])["nonpoint_t_per_yr"]
    assert got[(1, "TN")] == pytest.approx(0.0036)
    assert got[(2, "TN")] == pytest.approx(0.00126)
    assert got[(1, "TP")] == pytest.approx(0.000144)
    assert got[(2, "TP")] == pytest.approx(0.000063)
    assert out.set_index(["catchment", "pollutant"])["area_ha"][(2, "TN")] == pytest.approx(0.27)


def test_nonpoint_per_cell_area_and_dataarray():
    lc = xr.DataArray(np.array([[11, 21]]), dims=("y", "x"))
    cz = xr.DataArray(np.array([[7, 7]]), dims=("y", "x"))
    area = xr.DataArray(np.array([[1.0, 3.0]]), dims=("y", "x"), attrs={"units": "ha"})
    # TN: 20 * 1 + 2 * 3 = 26 kg/yr = 0.026 t/yr
    out = nonpoint_loads(lc, cz, COEF, area, pollutants=["tn"])
    assert out["pollutant"].tolist() == ["TN"]
    assert out["nonpoint_t_per_yr"].item() == pytest.approx(0.026)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 15), st.integers(1, 15)),
    n_zones=st.integers(1, 6),
)
def test_nonpoint_bincount_matches_groupby(seed, shape, n_zones):
    rng = np.random.Generator(np.random.PCG64(seed))
    lc = rng.choice([11, 21, 51], size=shape)
    cz = rng.integers(-1, n_zones, size=shape)
    area = rng.uniform(0.01, 1.0, size=shape)
    out = nonpoint_loads(lc, cz, COEF, Q_(area, "ha"))
    df = pd.DataFrame({"lc": lc.ravel(), "cz": cz.ravel(), "a": area.ravel()})
    df = df[df["cz"] >= 0]
    for pol in ("TN", "TP"):
        e = COEF[COEF["pollutant"] == pol].set_index("landcover")["value"]
        ref = (df["lc"].map(e) * df["a"]).groupby(df["cz"]).sum() / 1000.0
        got = out[out["pollutant"] == pol].set_index("catchment")["nonpoint_t_per_yr"]
        pd.testing.assert_series_equal(got.sort_index(), ref.sort_index(), check_names=False, rtol=1e-12, check_index_type=False)


def test_unknown_landcover_inside_catchment_raises_with_counts():
    lc = np.array([[11, 99, 99], [0, 21, 99]])
    cz = np.array([[1, 1, 1], [-1, 1, 1]])  # the 0 (nodata) cell is outside: fine
    with pytest.raises(GridError, match=r"99 \(3 cells\)"):
        nonpoint_loads(lc, cz, COEF, Q_(1.0, "ha"))


def test_nodata_inside_catchment_raises():
    lc = np.array([[11.0, np.nan]])
    with pytest.raises(GridError, match="NaN"):
        nonpoint_loads(lc, np.array([[1, 1]]), COEF, Q_(1.0, "ha"))


def test_shape_mismatch_and_bare_area():
    with pytest.raises(GridError, match="shape"):
        nonpoint_loads(np.zeros((2, 2), int) + 11, np.zeros((2, 3), int), COEF, Q_(1.0, "ha"))
    with pytest.raises(UnitError, match="cell_area"):
        nonpoint_loads(np.array([[11]]), np.array([[1]]), COEF, 900.0)
    with pytest.raises(UnitError):
        nonpoint_loads(np.array([[11]]), np.array([[1]]), COEF, Q_(900.0, "m"))


def test_nonpoint_load_grid():
    lc = np.array([[11, 51, 44]])
    grid = nonpoint_load_grid(lc, COEF, Q_(0.5, "ha"), "TN")
    # 20 * 0.5 = 10, 10 * 0.5 = 5 kg/yr, code 44 has no coefficient -> NaN
    np.testing.assert_allclose(grid.to("kg/yr").magnitude, [[10.0, 5.0, np.nan]])


# --------------------------------------------------------------------------- point sources


def test_point_loads_units_and_sum():
    table = pd.DataFrame(
        {
            "source_id": ["wwtp-1", "mill", "wwtp-1", "farm"],
            "catchment": [1, 1, 1, 2],
            "pollutant": ["COD", "cod", "NH3-N", "nh3n"],
            "load": [100.0, 2.0, 5.0, 500.0],
            "unit": ["t/yr", "kg/d", "t/yr", "kg/yr"],
        }
    )
    out = point_loads(table).set_index(["catchment", "pollutant"])
    # COD in 1: 100 t/yr + 2 kg/d * 365.25 d/yr (pint's Julian year) = 100 + 0.7305 = 100.7305 t/yr
    assert out.loc[(1, "COD"), "point_t_per_yr"] == pytest.approx(100.7305)
    assert out.loc[(1, "COD"), "n_sources"] == 2
    assert out.loc[(2, "NH3-N"), "point_t_per_yr"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "change,error,match",
    [
        ({"load": [-1.0]}, InputError, "load"),
        ({"unit": ["m**3/s"]}, UnitError, "t/yr"),
        ({"unit": ["bogons"]}, UnitError, "bogons"),
    ],
)
def test_point_loads_errors(change, error, match):
    table = pd.DataFrame({"source_id": ["s"], "catchment": [1], "pollutant": ["COD"], "load": [1.0], "unit": ["t/yr"]})
    for k, v in change.items():
        table[k] = v
    with pytest.raises(error, match=match):
        point_loads(table)


def test_point_loads_duplicate_and_missing_columns():
    dup = pd.DataFrame({"source_id": ["s", "s"], "catchment": [1, 1], "pollutant": ["COD", "COD"], "load": [1.0, 2.0], "unit": ["t/yr"] * 2})
    with pytest.raises(InputError, match="more than once"):
        point_loads(dup)
    with pytest.raises(InputError, match="unit"):
        point_loads(dup.drop(columns="unit"))


def test_read_point_sources(tmp_path):
    p = tmp_path / "points.csv"
    p.write_text("source_id,catchment,pollutant,load,unit\na,1,COD,12.5,t/yr\n", encoding="utf-8")
    assert point_loads(read_point_sources(p))["point_t_per_yr"].item() == pytest.approx(12.5)
    p.write_text("source_id,catchment,pollutant,load,unit\na,1,COD,lots,t/yr\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        read_point_sources(p)


def test_canonical_pollutant():
    assert canonical_pollutant(" nh3_n ") == "NH3-N"
    assert canonical_pollutant("CODmn") == "CODMn"
    assert canonical_pollutant("Zn") == "Zn"


# --------------------------------------------------------------------------- credits


def test_credit_table_hand_numbers():
    # capacity 100 t/yr, point 30, non-point 20, margin 10 % -> margin 10, remaining 40, issuable 40
    # capacity  50 t/yr, point 60, margin 5 -> remaining -15: issuable 0, deficit 15
    # capacity -10 t/yr (upstream already over the target): margin 0, remaining -10, deficit 10
    cap = pd.DataFrame({"catchment": [1, 2, 3], "pollutant": ["COD"] * 3, "capacity_t_per_yr": [100.0, 50.0, -10.0], "model": "0d"})
    point = pd.DataFrame({"catchment": [1, 2], "pollutant": ["COD", "COD"], "point_t_per_yr": [30.0, 60.0]})
    nonpoint = pd.DataFrame({"catchment": [1], "pollutant": ["COD"], "nonpoint_t_per_yr": [20.0]})
    out = credit_table(cap, point, nonpoint, margin_fraction=0.10, vintages=[2024])
    assert tuple(out.columns) == CREDIT_COLUMNS
    r = out.set_index("catchment")
    assert r.loc[1, ["margin_t_per_yr", "remaining_t_per_yr", "issuable_t_per_yr", "deficit_t_per_yr"]].tolist() == pytest.approx([10, 40, 40, 0])
    assert r.loc[1, "issuable_kg_per_yr"] == 40000
    assert r.loc[2, ["remaining_t_per_yr", "issuable_t_per_yr", "deficit_t_per_yr"]].tolist() == pytest.approx([-15, 0, 15])
    assert bool(r.loc[2, "overloaded"])
    assert r.loc[3, ["margin_t_per_yr", "remaining_t_per_yr", "deficit_t_per_yr"]].tolist() == pytest.approx([0, -10, 10])
    assert r.loc[3, "capacity_t_per_yr"] == -10.0  # never clamped


def test_credit_table_vintages_and_vintage_loads():
    cap = pd.DataFrame({"catchment": [1], "pollutant": ["TP"], "capacity_t_per_yr": [5.0]})
    point = pd.DataFrame({"catchment": [1, 1], "pollutant": ["TP", "TP"], "vintage": [2024, 2025], "point_t_per_yr": [1.0, 2.0]})
    out = credit_table(cap, point, margin_fraction=Q_(0, "percent"), vintages=[2025, 2024])
    assert out["vintage"].tolist() == [2024, 2025]
    assert out["issuable_t_per_yr"].tolist() == pytest.approx([4.0, 3.0])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(margin_fraction=1.5, vintages=[2024]), "margin"),
        (dict(margin_fraction=0.1), "vintage"),
        (dict(margin_fraction=0.1, vintages=[2024], point=pd.DataFrame({"catchment": [9], "pollutant": ["COD"], "point_t_per_yr": [1.0]})), "no capacity"),
        (dict(margin_fraction=0.1, vintages=[2024], point=pd.DataFrame({"catchment": [1], "pollutant": ["COD"], "point_t_per_yr": [-1.0]})), "negative"),
    ],
)
def test_credit_table_errors(kwargs, match):
    cap = pd.DataFrame({"catchment": [1], "pollutant": ["COD"], "capacity_t_per_yr": [10.0]})
    with pytest.raises(InputError, match=match):
        credit_table(cap, **kwargs)


def test_loads_of_unassessed_pollutants_are_ignored():
    cap = pd.DataFrame({"catchment": [1], "pollutant": ["COD"], "capacity_t_per_yr": [10.0]})
    nonpoint = pd.DataFrame({"catchment": [1, 1, 2], "pollutant": ["COD", "TN", "TN"], "nonpoint_t_per_yr": [1.0, 5.0, 5.0]})
    out = credit_table(cap, nonpoint=nonpoint, margin_fraction=0.0, vintages=[2024])
    assert out["issuable_t_per_yr"].item() == pytest.approx(9.0)


def test_capacity_frame_records_inputs():
    df = capacity_frame([1, 2], "cod", Q_(np.array([1000.0, -5.0]), "kg/d"), "0d",
                        inputs={"flow": Q_(np.array([1.0, 2.0]), "m**3/s"), "b": 0.9}, vintage=2024)
    # 1000 kg/d * 365.25 / 1000 = 365.25 t/yr (pint year)
    assert df["capacity_t_per_yr"].tolist() == pytest.approx([365.25, -1.82625])
    assert df["pollutant"].tolist() == ["COD", "COD"]
    assert '"flow": {"unit": "m**3/s", "value": 2.0}' in df["inputs"].iloc[1]


@settings(max_examples=20, deadline=None)
@given(
    caps=st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=20),
    seed=st.integers(0, 2**32 - 1),
    margin=st.floats(0.0, 0.99),
)
def test_credits_never_issue_negative(caps, seed, margin):
    rng = np.random.Generator(np.random.PCG64(seed))
    n = len(caps)
    cap = pd.DataFrame({"catchment": np.arange(n), "pollutant": "NH3-N", "capacity_t_per_yr": caps})
    point = pd.DataFrame({"catchment": np.arange(n), "pollutant": "NH3-N", "point_t_per_yr": rng.uniform(0, 1e4, n)})
    nonpoint = pd.DataFrame({"catchment": np.arange(n), "pollutant": "NH3-N", "nonpoint_t_per_yr": rng.uniform(0, 1e4, n)})
    out = credit_table(cap, point, nonpoint, margin_fraction=margin, vintages=[2024, 2025])
    assert len(out) == 2 * n
    assert (out["issuable_t_per_yr"] >= 0).all()
    assert (out["issuable_kg_per_yr"] >= 0).all()
    assert (out["issuable_kg_per_yr"] <= out["issuable_t_per_yr"] * 1000).all()
    assert (out["deficit_t_per_yr"] >= 0).all()
    assert (out["margin_t_per_yr"] >= 0).all()
    np.testing.assert_allclose(out["issuable_t_per_yr"] - out["deficit_t_per_yr"], out["remaining_t_per_yr"], rtol=0, atol=1e-9)
    assert (out.loc[out["capacity_t_per_yr"] <= out["load_t_per_yr"], "issuable_t_per_yr"] == 0).all()


# --------------------------------------------------------------------------- coefficient sets


@pytest.mark.parametrize("set_id,filename", [("gb3838-2002", "standards.csv"), ("export-cn", "export_coefficients.csv")])
def test_manifest_hashes(set_id, filename):
    manifest = tomllib.loads((ROOT / set_id / "manifest.toml").read_text(encoding="utf-8"))
    assert manifest["id"] == set_id and manifest["version"] and manifest["description"]
    digest = hashlib.sha256((ROOT / set_id / filename).read_bytes()).hexdigest()
    assert manifest["files"] == {filename: digest}


def test_export_table_covers_legend_codes_and_pollutants():
    table = read_export_coefficients()
    codes = {11, 12, 21, 211, 212, 213, 214, 215, 22, 221, 222, 223, 23, 24, 31, 32, 33, 41, 42, 43,
             45, 46, 51, 52, 53, 61, 62, 63, 64, 65, 66, 67}
    for pol in ("COD", "NH3-N", "TN", "TP"):
        present = set(table.loc[table["pollutant"] == pol, "landcover"])
        assert codes <= present, pol
    assert set(table["confidence"]) <= {"recalled", "assumed"}
    assert table["note"].str.len().min() > 20
    assert (table["value"] >= 0).all()
    assert set(table["unit"]) == {"kg/(ha*yr)"}
    # NH3-N is part of TN
    wide = table.pivot(index="landcover", columns="pollutant", values="value")
    assert (wide["NH3-N"] <= wide["TN"]).all()
    assert (wide["TP"] <= wide["TN"]).all()


def test_edited_table_fails_verification(tmp_path, monkeypatch):
    import shutil

    dst = tmp_path / "gb3838-2002"
    shutil.copytree(ROOT / "gb3838-2002", dst)
    with (dst / "standards.csv").open("a", encoding="utf-8") as fh:
        fh.write("COD,I,sea,1,mg/L,max,x,2002,assumed,x\n")
    with pytest.raises(CoefficientError, match="SHA-256"):
        read_standards(str(dst))
    with pytest.raises(CoefficientError, match="water_body"):
        read_standards(str(dst), verify=False)
