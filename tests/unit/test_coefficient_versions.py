"""Coefficient-set versions (id@version, frozen releases), ranges and confidence in the API, and the
citation and range rules of `gep coefficients verify`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gep import coefficients
from gep.cli import app
from gep.errors import CoefficientError
from gep.io.coefficient_files import coefficients_root, find_set, split_version, write_hashes
from gep.io.tables import read_csv

ROOT = coefficients_root()


# --------------------------------------------------------------------------- versions


def test_split_version():
    assert split_version("cn-2022@1.0.0") == ("cn-2022", "1.0.0")
    assert split_version("cn-2022") == ("cn-2022", None)
    assert split_version("sets/my@set") == ("sets/my@set", None)  # not a version: kept as a path


def test_an_old_version_loads_the_frozen_copy():
    old = coefficients.load("cn-2022@1.0.0")
    new = coefficients.load("cn-2022")
    assert (old.version, new.version) == ("1.0.0", "1.1.0")
    assert old.folders[-1] == (ROOT / "releases" / "cn-2022" / "1.0.0").resolve()
    # the 1.0.0 value (LY/T 1721 at 2005 prices) and its correction (Ganzi account, 2010 prices)
    assert old.price("price.reservoir_storage")[0].magnitude == 6.1107
    assert new.price("price.reservoir_storage")[0].magnitude == 7.06
    assert coefficients.load(f"cn-2022@{new.version}").folders == new.folders
    # a frozen set older than the range columns loads with empty ranges
    assert np.isnan(old.uncertainty("price.electricity").low)


def test_a_frozen_set_extends_the_frozen_version_of_its_base():
    old = coefficients.load("zj-2020@1.0.0")
    assert [f.parent.name + "/" + f.name for f in old.folders] == ["cn-2022/1.0.0", "zj-2020/1.0.0"]
    assert old.price("price.reservoir_storage")[0].magnitude == 6.1107
    new = coefficients.load("zj-2020")
    assert new.version == "1.1.0" and new.price("price.reservoir_storage")[0].magnitude == 7.06


def test_a_missing_version_is_a_clear_error():
    with pytest.raises(CoefficientError) as exc:
        find_set("cn-2022@0.9.0")
    assert "has no version 0.9.0" in str(exc.value)
    assert "1.0.0 (releases)" in exc.value.hint and "1.1.0 (current)" in exc.value.hint
    with pytest.raises(CoefficientError, match="not found"):
        find_set("cn-1999@1.0.0")


def test_a_release_folder_must_match_its_manifest_version(tmp_path):
    shutil.copytree(ROOT / "cn-2022", tmp_path / "cn-2022")
    shutil.copytree(ROOT / "releases" / "cn-2022" / "1.0.0", tmp_path / "releases" / "cn-2022" / "2.0.0")
    with pytest.raises(CoefficientError, match="says version 1.0.0, but its folder is named 2.0.0"):
        find_set(str(tmp_path / "cn-2022"), version="2.0.0")
    problems = coefficients.verify_all(tmp_path)["releases/cn-2022/2.0.0"]
    assert any("version 1.0.0 in a folder named 2.0.0" in p for p in problems)


def test_editing_a_released_version_in_place_is_caught(tmp_path):
    # the current folder claims version 1.0.0 but its files are not those released as 1.0.0
    shutil.copytree(ROOT / "releases", tmp_path / "releases")
    shutil.copytree(ROOT / "cn-2022", tmp_path / "cn-2022")
    manifest = tmp_path / "cn-2022" / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('version = "1.1.0"', 'version = "1.0.0"'), encoding="utf-8")
    problems = coefficients.verify_set(tmp_path / "cn-2022")
    assert any("version 1.0.0 was released with other files" in p and "bump 'version'" in p for p in problems)


def test_an_unpinned_base_is_reported(tmp_path):
    for name in ("cn-2022", "zj-2020"):
        shutil.copytree(ROOT / name, tmp_path / name)
    manifest = tmp_path / "zj-2020" / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('base = "cn-2022@1.1.0"', 'base = "cn-2022"'), encoding="utf-8")
    problems = coefficients.verify_set(tmp_path / "zj-2020")
    assert len(problems) == 1 and "base 'cn-2022' names no version" in problems[0] and 'cn-2022@<version>' in problems[0]


# --------------------------------------------------------------------------- ranges and confidence in the API


def test_uncertainty_of_a_keyed_price_with_unit_conversion(coef):
    jiangsu = coef.uncertainty("price.electricity", "32")
    assert (jiangsu.value, jiangsu.low, jiangsu.high, jiangsu.unit, jiangsu.confidence) == (0.5283, 0.4983, 0.5583, "CNY/kWh", "recalled")
    assert jiangsu.has_range and "2012-07-01" in jiangsu.source and jiangsu.range_basis
    fen = coef.uncertainty("price.electricity", "32", unit="CNY/MWh")
    assert (fen.value, fen.low, fen.high) == pytest.approx((528.3, 498.3, 558.3)) and fen.unit == "CNY/MWh"
    # the national default row, and a province without a row, fall back to '' / '*' as look-ups do
    default = coef.uncertainty("price.electricity")
    assert default.low <= default.value <= default.high
    # a verified row whose source gives no spread has no range
    assert not coef.uncertainty("price.reservoir_storage").has_range
    assert coef.uncertainty("price.reservoir_storage").confidence == "verified"


def test_ranges_cover_tidy_rows_carbon_pools_and_the_price_index(coef):
    table = coef.ranges()
    assert list(table.columns) == ["parameter", "key", "value", "low", "high", "unit", "confidence", "range_basis", "source"]
    assert set(table["confidence"]) <= {"verified", "derived", "recalled", "assumed"}
    pools = table[table["parameter"] == "carbon_pools.c_soil"].set_index("key")
    assert pools.loc["211", ["value", "low", "high"]].tolist() == [106.24, 78.94, 133.54] and pools.loc["211", "unit"] == "tC/ha"
    cpi = table[table["parameter"] == "price_index.cpi"].set_index("key")
    assert cpi.loc["2022", ["value", "low", "high"]].tolist() == pytest.approx([102.0, 101.95, 102.05])
    # every recalled or assumed value of the shipped set has a range around it
    weak = table[table["confidence"].isin(["recalled", "assumed"]) & table["parameter"].str.match(r"price\.|carbon_pools\.|price_index\.|carbon_sequestration\.|climate_regulation\.")]
    assert len(weak) > 50 and weak["low"].notna().all() and (weak["low"] <= weak["value"]).all() and (weak["value"] <= weak["high"]).all()
    # the names are those overrides take, so sampled values can be applied back to the set
    row = table[(table["parameter"] == "carbon_pools.c_above") & (table["key"] == "211")].iloc[0]
    c2 = coef.with_overrides({f"{row['parameter']}[{row['key']}]": float(row["high"])})
    assert float(c2.carbon_pools.set_index("lucode").loc[211, "c_above"]) == row["high"]


def test_uncertainty_of_an_unknown_pool_or_parameter(coef):
    with pytest.raises(CoefficientError, match="not in the carbon-pool table"):
        coef.uncertainty("carbon_pools.c_above", "999")
    with pytest.raises(CoefficientError, match="is missing"):
        coef.uncertainty("price.nothing")


# --------------------------------------------------------------------------- citation and range rules

HEADER = "parameter,key,value,unit,price_year,source,year,confidence,low,high,range_basis,note\n"


def check(tmp_path, body: str, header: str = HEADER, name: str = "t.csv") -> list[str]:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return coefficients.citation_problems(read_csv(path, (), "t", dtype=str), str(path))


@pytest.mark.parametrize(
    "row, expected",
    [
        ('p,,1,m,,"欧阳志云等 2013, 生态学报 33(21): 6747–6761, 表2",2013,verified,,,,', None),
        ('p,,1,m,,"GB/T 38582-2020 表A.3",2020,recalled,0.5,2,from the standard\'s spread,', None),
        ('p,,1,m,,"国家发展改革委 2021 电价通知, 附表1",2021,recalled,0.5,2,basis,', None),
        ('p,,55,CNY/tCO2,2022,"Exchange 2022, CEA close 2022-12-30",2022,recalled,40,62,basis,', None),
        ('p,,1,m,,"Stull 1988, p. 641",1988,derived,,,,', None),
        ('p,,1,m,,"no source: a convention",2026,assumed,0,2,wide because,', None),
        ('p,,1,m,,,2013,verified,,,,', "no source"),
        ('p,,1,m,,"Ouyang et al., Acta Ecol Sin, Table 2",2013,verified,,,,', "names no year"),
        ('p,,1,m,,"Ouyang et al. 2013, Acta Ecologica Sinica",2013,verified,,,,', "names no table, page or section"),
        ('p,,1,m,,"LY/T 1721-2008, runoff coefficient table",2008,recalled,0,2,b,', "names no table, page or section"),
        ('p,,1,m,,"Kell 1975, pp. 97–105",1975,recalled,,,,', "needs a range: low and high are required"),
        ('p,,1,m,,"no source: guess",2026,assumed,0,2,,', "range_basis is empty"),
        ('p,,1,m,,"Kell 1975, p. 97",1975,recalled,3,2,basis,', "low 3 > high 2"),
        ('p,,5,m,,"Kell 1975, p. 97",1975,recalled,1,2,basis,', "value 5 is outside [1, 2]"),
        ('p,,1,m,,"Kell 1975, p. 97",1975,recalled,x,2,basis,', "low 'x' is not a number"),
        ('p,,1,m,,"Kell 1975, p. 97",1975,verified,0.5,,basis,', "give both low and high, or neither"),
    ],
)
def test_citation_rules(tmp_path, row, expected):
    problems = check(tmp_path, row + "\n")
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems
        assert all(p.startswith(f"{tmp_path / 't.csv'}, line 2 (p): ") for p in problems)


def test_line_numbers_count_comment_lines_and_several_problems_are_all_named(tmp_path):
    problems = check(tmp_path, 'a,k,1,m,,"x 2013, 表1",2013,verified,,,,\nb,,1,m,,nothing,2026,assumed,,,,\n', header="# a comment\n" + HEADER)
    assert [p.split(": ", 1)[0] for p in problems] == [f"{tmp_path / 't.csv'}, line 4 (b)"] * 2
    assert "needs a range" in problems[0] and "range_basis is empty" in problems[1]


def test_carbon_pool_table_rules(tmp_path):
    header = "lucode,LULC_name,c_above,c_below,c_soil,c_dead,source,year,confidence,c_above_low,c_above_high,c_below_low,c_below_high,c_soil_low,c_soil_high,c_dead_low,c_dead_high,range_basis,note\n"
    good = '211,ebf,20,4,100,3,"李银等 2016, 植物生态学报 40, 表3",2016,recalled,10,40,2,8,80,130,1,5,basis,\n'
    assert check(tmp_path, good, header) == []
    bad = '211,ebf,20,4,100,3,"李银等 2016, 植物生态学报 40, 表3",2016,recalled,10,40,2,8,,,1,2,basis,\n'
    problems = check(tmp_path, bad, header)
    assert any("(211 ebf): a value tagged recalled needs a range: c_soil_low and c_soil_high" in p for p in problems)
    assert any("c_dead 3 is outside [1, 2]" in p for p in problems)


def test_tables_without_source_or_confidence_are_not_checked(tmp_path):
    assert check(tmp_path, "11,paddy\n", header="code,class\n") == []


def test_verify_cli_names_file_line_and_what_is_missing_exit_1(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "ledger-2026", tmp_path / "ledger-2026")
    path = tmp_path / "ledger-2026" / "buffer.csv"
    text = path.read_text(encoding="utf-8").replace("2026,assumed,0,20,", "2026,assumed,,,")
    path.write_text(text, encoding="utf-8")
    write_hashes(tmp_path / "ledger-2026")
    monkeypatch.setenv("GEP_COEFFICIENTS", str(tmp_path))
    result = CliRunner().invoke(app, ["coefficients", "verify"])
    assert result.exit_code == 1
    assert f"FAIL ledger-2026: {path}, line 3 (ledger.buffer_share capacity): a value tagged assumed needs a range" in result.output
    doc = json.loads(CliRunner().invoke(app, ["coefficients", "verify", "--json"]).stdout)
    assert doc["ok"] is False and len(doc["sets"]["ledger-2026"]) == 1
    # a frozen release is checked for its hashes, not for rules it predates
    assert CliRunner().invoke(app, ["coefficients", "verify", str(ROOT / "releases" / "cn-2022" / "1.0.0")]).exit_code == 0


def test_every_shipped_table_of_this_half_follows_the_rules():
    mine = ["cn-2022/carbon_pools.csv", "cn-2022/parameters.csv", "cn-2022/prices.csv", "cn-2022/price_index.csv",
            "cn-2022/provisioning.csv", "zj-2020/zhejiang.csv", "ledger-2026/buffer.csv"]
    for name in mine:
        path = ROOT / name
        assert coefficients.citation_problems(read_csv(path, (), "t", dtype=str), str(path)) == [], name
    for set_id in ("zj-2020", "ledger-2026"):
        assert coefficients.verify_set(find_set(set_id)) == []


def test_range_columns_sit_after_confidence_and_note_is_last():
    for name in ("parameters.csv", "prices.csv", "provisioning.csv"):
        cols = list(pd.read_csv(ROOT / "cn-2022" / name, nrows=0).columns)
        assert cols[cols.index("confidence") + 1: cols.index("confidence") + 4] == ["low", "high", "range_basis"] and cols[-1] == "note", name
    pools = list(pd.read_csv(ROOT / "cn-2022" / "carbon_pools.csv", nrows=0).columns)
    assert pools[:6] == ["lucode", "LULC_name", "c_above", "c_below", "c_soil", "c_dead"] and pools[-1] == "note"
