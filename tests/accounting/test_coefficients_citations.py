"""The citation and range rules of `gep coefficients verify` (gep/data/coefficients/README.md):
``gep.accounting.coefficients.citation_problems`` on tables read as text."""

from __future__ import annotations

import pytest

from gep.accounting.coefficients import citation_problems
from gep.io.coefficient_files import coefficients_root
from gep.io.tables import read_csv
from gep.jobs.inputs import coefficient_problems

ROOT = coefficients_root()
HEADER = "parameter,key,value,unit,price_year,source,year,confidence,low,high,range_basis,note\n"


def check(tmp_path, body: str, header: str = HEADER, name: str = "t.csv") -> list[str]:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return [str(p) for p in citation_problems(read_csv(path, (), "t", dtype=str), str(path))]


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
        assert all(p.startswith(f"{tmp_path / 't.csv'}, line 2: p: ") for p in problems)


def test_line_numbers_count_comment_lines_and_several_problems_are_all_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("# a comment\n" + HEADER + 'a,k,1,m,,"x 2013, 表1",2013,verified,,,,\nb,,1,m,,nothing,2026,assumed,,,,\n', encoding="utf-8")
    problems = citation_problems(read_csv(path, (), "t", dtype=str), str(path))
    assert [(p.file, p.line, p.key) for p in problems] == [(str(path), 4, "b")] * 2
    assert "needs a range" in problems[0].message and "range_basis is empty" in problems[1].message


def test_carbon_pool_table_rules(tmp_path):
    header = "lucode,LULC_name,c_above,c_below,c_soil,c_dead,source,year,confidence,c_above_low,c_above_high,c_below_low,c_below_high,c_soil_low,c_soil_high,c_dead_low,c_dead_high,range_basis,note\n"
    good = '211,ebf,20,4,100,3,"李银等 2016, 植物生态学报 40, 表3",2016,recalled,10,40,2,8,80,130,1,5,basis,\n'
    assert check(tmp_path, good, header) == []
    bad = '211,ebf,20,4,100,3,"李银等 2016, 植物生态学报 40, 表3",2016,recalled,10,40,2,8,,,1,2,basis,\n'
    problems = check(tmp_path, bad, header)
    assert any("211 ebf: a value tagged recalled needs a range: c_soil_low and c_soil_high" in p for p in problems)
    assert any("c_dead 3 is outside [1, 2]" in p for p in problems)


def test_tables_without_source_or_confidence_are_not_checked(tmp_path):
    assert check(tmp_path, "11,paddy\n", header="code,class\n") == []


def test_every_shipped_table_of_this_half_follows_the_rules():
    mine = ["cn-2022/carbon_pools.csv", "cn-2022/parameters.csv", "cn-2022/prices.csv", "cn-2022/price_index.csv",
            "cn-2022/provisioning.csv", "zj-2020/zhejiang.csv", "ledger-2026/buffer.csv"]
    for name in mine:
        path = ROOT / name
        assert citation_problems(read_csv(path, (), "t", dtype=str), str(path)) == [], name
    for set_id in ("zj-2020", "ledger-2026"):
        assert coefficient_problems(set_id) == {set_id: []}


@pytest.mark.parametrize("col, text", [("value", "1e99999999"), ("value", "9" * 5000), ("value", "-1e45"), ("low", "1e1000000"), ("high", "7" * 400)])
def test_hostile_numbers_in_a_coefficient_table_are_refused_naming_the_line(tmp_path, col, text):
    """pandas reads 1e99999999 or a 5,000-digit integer as inf: the loader refuses it instead of computing with it."""
    from gep.accounting.coefficients import _validate_tidy
    from gep.errors import CoefficientError

    cells = {"value": "1", "low": "0.5", "high": "2", col: text}
    path = tmp_path / "t.csv"
    path.write_text("# comment\n" + HEADER + f'p,,{cells["value"]},m,,"Kell 1975, p. 97",1975,recalled,{cells["low"]},{cells["high"]},basis,\n', encoding="utf-8")
    with pytest.raises(CoefficientError, match=rf"t\.csv, line 3: {col} .* is out of range"):
        _validate_tidy(read_csv(path, (), "coefficient table"), str(path))
