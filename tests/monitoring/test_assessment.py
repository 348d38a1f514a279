"""Township assessment: indicators, points, score, ranking and grades by the documented rule (hand-worked)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.errors import ScenarioError
from gep.io.files import read_toml
from gep.monitoring.assessment import forest_cover, indicator_table, parse_targets, score, water_class

TARGETS = """
[assessment]
name = "t"
year = 2022
base_year = 2020

[indicators.gep_growth]
weight = 40
target = 0.01
floor = -0.04

[indicators.realisation_rate]
weight = 20
target = 0.04
table = "realised.csv"

[indicators.forest_cover]
weight = 20
target = 0.5

[indicators.water_class]
weight = 20
target = "III"
monitoring = "series.csv"
sections = "sections.csv"

[[target]]
zone = 2
forest_cover = 0.4
"""


def targets(tmp_path, text: str = TARGETS):
    for name in ("realised.csv", "series.csv", "sections.csv"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return parse_targets(read_toml(path), str(path))


def gep_frame(g2020: dict[int, float], g2022: dict[int, float]) -> pd.DataFrame:
    rows = [{"year": y, "zone": z, "zone_name": f"Z{z}", "value_cny": v * 1.1, "value_cny_comparable": v, "base_year": 2020}
            for y, d in ((2020, g2020), (2022, g2022)) for z, v in d.items()]
    return pd.DataFrame(rows)


def test_points_score_rank_and_grade_by_hand(tmp_path):
    t = targets(tmp_path)
    # zone 1: growth (1.0404)^(1/2) - 1 = 2 %/yr; zone 2: (0.9216)^(1/2) - 1 = -4 %/yr (the floor)
    gep = gep_frame({1: 100.0, 2: 100.0}, {1: 104.04, 2: 92.16})
    realised = pd.Series({1: 0.02 * 104.04 * 1.1})            # 2 % of zone 1's 2022 GEP at current prices; zone 2 has none
    cover = pd.Series({1: 0.3, 2: 0.6})
    water = pd.DataFrame({"zone": [1, 2], "water_class": [4, 2], "sections": ["A", "B"]})
    ind, sc = score(indicator_table(t, gep, cover, realised, water))
    p = sc.set_index("zone")
    # zone 1: growth clip((0.02 + 0.04)/(0.01 + 0.04)) = 1 -> 40; rate 0.02/0.04 -> 10; cover 0.3/0.5 -> 12;
    #         water class IV, one below III -> 20 * (1 - 0.5) = 10; total 72 of 100
    assert p.loc[1, "points_gep_growth"] == pytest.approx(40) and p.loc[1, "points_realisation_rate"] == pytest.approx(10)
    assert p.loc[1, "points_forest_cover"] == pytest.approx(12) and p.loc[1, "points_water_class"] == pytest.approx(10)
    assert p.loc[1, "score"] == pytest.approx(72.0) and p.loc[1, "grade"] == "pass" and p.loc[1, "grade_zh"] == "合格"
    # zone 2: growth at the floor -> 0; no realised value -> not assessed, its 20 points drop out;
    #         cover 0.6 >= its own target 0.4 -> 20; class II -> 20: 40 of 80 -> 50
    assert p.loc[2, "points_gep_growth"] == pytest.approx(0.0) and np.isnan(p.loc[2, "points_realisation_rate"])
    assert p.loc[2, "target_forest_cover"] == pytest.approx(0.4) and p.loc[2, "score"] == pytest.approx(50.0)
    assert p.loc[2, "not_assessed"] == "realisation_rate" and p.loc[2, "grade"] == "fail"
    assert list(sc["zone"]) == [1, 2] and list(sc["rank"]) == [1, 2]


def test_ties_are_broken_by_growth_then_ranked_min(tmp_path):
    t = targets(tmp_path, TARGETS.split("[indicators.realisation_rate]")[0] + "[indicators.forest_cover]\nweight = 20\ntarget = 0.1\n")
    gep = gep_frame({1: 100.0, 2: 100.0, 3: 100.0}, {1: 103.0, 2: 105.0, 3: 103.0})
    _, sc = score(indicator_table(t, gep, pd.Series({1: 0.5, 2: 0.5, 3: 0.5}), None, None))
    assert (sc["score"] == 100.0).all()
    assert list(sc["zone"]) == [2, 1, 3] and list(sc["rank"]) == [1, 2, 2]


def test_forest_cover_is_an_area_share():
    names = ["forest", "shrub", "grassland", "wetland", "water", "cropland", "urban", "bare"]
    eco = np.array([[0, 0, 1], [5, 0, -1]])
    zone = np.array([[0, 0, 0], [1, 1, -1]])
    area = np.array([[1.0, 2.0, 1.0], [3.0, 1.0, 0.0]])
    got = forest_cover(eco, zone, area, names, np.array([1, 2]))
    assert got == pytest.approx([3.0 / 4.0, 1.0 / 4.0])
    assert forest_cover(eco, zone, area, names, np.array([1, 2]), ("forest", "shrub")) == pytest.approx([1.0, 0.25])


def test_water_class_is_the_worst_section_of_the_zone():
    summary = pd.DataFrame({"section": ["A", "B", "C", "A"], "period": ["2022", "2022", "2022", "2021"], "class": [2, 4, 3, 6]})
    sections = pd.DataFrame({"section": ["A", "B", "C"], "zone": ["1", "1", "2"]})
    w = water_class(summary, sections, 2022)
    assert w.to_dict(orient="records") == [{"zone": 1, "water_class": 4, "sections": "A;B"}, {"zone": 2, "water_class": 3, "sections": "C"}]


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace("base_year = 2020", "base_year = 2023"), "base_year: must be before year"),
    (lambda t: t.replace("[indicators.forest_cover]", "[indicators.happiness]"), "unknown indicator"),
    (lambda t: t.replace('target = "III"', 'target = "VII"'), "is not a water class"),
    (lambda t: t.replace("weight = 40\n", ""), "gep_growth] weight: missing"),
    (lambda t: t.replace('table = "realised.csv"', 'table = "nowhere.csv"'), "file not found: nowhere.csv"),
])
def test_malformed_targets(tmp_path, edit, words):
    with pytest.raises(ScenarioError) as exc:
        targets(tmp_path, edit(TARGETS))
    assert words in exc.value.line()


def test_floor_must_lie_below_target(tmp_path):
    t = targets(tmp_path, TARGETS.replace("floor = -0.04", "floor = 0.02"))
    with pytest.raises(ScenarioError, match="floor 0.02 is not below the target 0.01"):
        indicator_table(t, gep_frame({1: 1.0}, {1: 1.0}), None, None, None)
