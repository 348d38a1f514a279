"""The green-bond catalogue and use-of-proceeds lines: the shipped data, codes checked as deep as it goes, bad lines."""

from __future__ import annotations

import pytest

from gep.errors import InputError
from gep.finance.green import PUBLISHED_COUNTS, Catalogue, use_of_proceeds_from_dict
from gep.jobs.inputs import green_catalogue

ROWS = [  # a small catalogue: 4 -> 4.2 -> 4.2.1 -> 4.2.1.1 held; 4.1 held without deeper levels
    {"code": "4", "level": "1", "parent": "", "name_zh": "生态环境产业", "name_en": "Ecological industry"},
    {"code": "4.1", "level": "2", "parent": "4", "name_zh": "绿色农业", "name_en": "Green agriculture"},
    {"code": "4.2", "level": "2", "parent": "4", "name_zh": "生态保护与建设", "name_en": "Ecological protection"},
    {"code": "4.2.1", "level": "3", "parent": "4.2", "name_zh": "自然生态系统保护和修复", "name_en": ""},
    {"code": "4.2.1.1", "level": "4", "parent": "4.2.1", "name_zh": "", "name_en": ""},
]


@pytest.fixture(scope="module")
def small() -> Catalogue:
    return Catalogue.from_rows(ROWS, sha256="0" * 64)


def test_shipped_catalogue_levels_and_names():
    cat = green_catalogue()
    assert [cat.held(lv) for lv in (1, 2)] == [PUBLISHED_COUNTS[1], PUBLISHED_COUNTS[2]] == [6, 25]
    assert cat.held(3) == 47 and cat.held(4) == 203  # the transcription's codes (docs/bonds.md)
    c = cat.categories
    assert c["4.2"].name_zh == "生态保护与建设" and c["4.2"].parent == "4"
    assert c["4.2.1"].name_zh == "自然生态系统保护和修复" and c["2.4.1.1"].parent == "2.4.1"
    assert all(v.parent in c for v in c.values() if v.level > 1)  # every parent is held
    assert cat.levels_held == "I-II; III-IV in part (47 of 48, 203 of 204)"
    assert len(cat.sha256) == 64
    assert cat.name("4.2.1.6") == "自然生态系统保护和修复"  # level-IV names are not held: the nearest named parent


def test_codes_are_checked_as_deep_as_the_data_goes(small):
    whole = small.check("4.2.1.1")
    assert whole.full and whole.deepest.code == "4.2.1.1" and whole.level2.code == "4.2" and whole.checked_to == "level IV"
    assert small.check("4.2").full and small.check("4.2").checked_to == "level II"
    short = small.check("4.2.1.7")  # not in the data under a held level III: accepted, checked to level III
    assert not short.full and short.deepest.code == "4.2.1" and short.checked_to == "level III"
    assert small.check("4.1.3.2").deepest.code == "4.1"  # nothing below 4.1 held: level II only


@pytest.mark.parametrize("code, fragment", [("4.9", '"4.9" is not in the 2021 Green Bond Endorsed Projects Catalogue'),
                                            ("7.1", '"7.1" is not in the 2021'),
                                            ("4", '"4" is a level-I category'),
                                            ("forest", "is not a catalogue code"),
                                            ("4.2.1.1.1", "is not a catalogue code"),
                                            (True, "is not a catalogue code")])
def test_bad_codes_are_refused_naming_the_key(small, code, fragment):
    with pytest.raises(InputError) as exc:
        small.check(code, where="bond.toml, key use_of_proceeds[0].category")
    assert fragment in exc.value.message and exc.value.where.endswith("use_of_proceeds[0].category")
    assert exc.value.exit_code == 2


def _lines(**row):
    line = {"project": "forest", "category": "4.2.1.1", "amount": 2e6, **row}
    return {"use_of_proceeds": [line]}


def test_use_of_proceeds_lines(small):
    (u,) = use_of_proceeds_from_dict(_lines(total_investment=8e6, zones=[1, 2], ledger_accounts=["f"]), 1e7, "b.toml", small)
    assert u.share == pytest.approx(0.25) and u.zones == ("1", "2") and u.full_code_checked
    d = u.as_dict()
    assert d["category_level2"] == "4.2" and d["category_name_zh"] == "生态保护与建设"
    assert d["category_checked"] == "4.2.1.1" and d["checked_to"] == "full code (level IV)"
    (v,) = use_of_proceeds_from_dict(_lines(category="4.2.1.9"), 1e7, "b.toml", small)
    assert v.as_dict()["checked_to"] == "level III only"
    assert use_of_proceeds_from_dict({}, 1e7, "b.toml", None) == []


@pytest.mark.parametrize("row, fragment", [
    ({"amount": -1}, "amount must be a positive amount"),
    ({"total_investment": 1e6}, "total_investment 1,000,000.00 is below the amount allocated"),
    ({"amount": 2e7}, "more than the face"),
    ({"projet": "x"}, 'unknown key "projet"'),
    ({"zones": "1"}, "zones and ledger_accounts must be lists"),
])
def test_bad_lines_are_refused(small, row, fragment):
    with pytest.raises(InputError) as exc:
        use_of_proceeds_from_dict(_lines(**row), 1e7, "b.toml", small)
    assert fragment in exc.value.message and "b.toml, key use_of_proceeds" in exc.value.where


def test_a_project_named_twice_is_refused(small):
    data = {"use_of_proceeds": [{"project": "a", "category": "4.2", "amount": 1.0}] * 2}
    with pytest.raises(InputError, match='project "a" has two use-of-proceeds lines'):
        use_of_proceeds_from_dict(data, 10.0, "b.toml", small)
