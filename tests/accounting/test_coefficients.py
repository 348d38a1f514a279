"""Coefficient look-ups and overrides, and set verification."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from gep.accounting import coefficients
from gep.jobs.inputs import coefficient_problems, coefficient_set
from gep.errors import CoefficientError, UnitError
from gep.io.coefficient_files import coefficients_root
from gep.units import Q_

# --------------------------------------------------------------------------- coefficient look-ups


def test_scalar_and_quantity_lookup(coef):
    # soil_retention.bulk_density = 1.125 t/m³
    assert coef.scalar("soil_retention.bulk_density", "t/m**3") == pytest.approx(1.125)
    assert coef.scalar("soil_retention.bulk_density", "kg/m**3") == pytest.approx(1125.0)
    assert coef.quantity("climate_regulation.latent_heat") == Q_(2450.0, "J/g")
    # keyed scalars: N content of diammonium phosphate 14 % → 0.14
    assert coef.scalar("soil_retention.fertilizer_content", "dimensionless", "N") == pytest.approx(0.14)
    with pytest.raises(CoefficientError, match="no value for key 'CO2'"):
        coef.row("pollution.equivalent_value", "CO2")
    with pytest.raises(CoefficientError, match="'no.such.parameter' is missing"):
        coef.scalar("no.such.parameter", "m")


def test_scalar_in_a_wrong_unit_raises(coef):
    with pytest.raises(UnitError, match="soil_retention.bulk_density"):
        coef.scalar("soil_retention.bulk_density", "CNY")


def test_price_lookup(coef):
    price, year = coef.price("price.reservoir_storage")
    assert (price, year) == (Q_(7.06, "CNY/m**3"), 2010)
    with pytest.raises(CoefficientError, match="not money per unit"):
        coef.price("soil_retention.bulk_density")


def test_lut_with_star_default(coef):
    codes = list(coef.legend.codes)
    alpha = coef.lut("water_conservation.runoff_coefficient", "dimensionless")
    # evergreen broadleaf forest 211: 2.67 % → 0.0267; sparse forest 23: 19.2 %; urban 51 takes '*' = 0
    assert alpha[codes.index(211)] == pytest.approx(0.0267)
    assert alpha[codes.index(23)] == pytest.approx(0.192)
    assert alpha[codes.index(51)] == 0.0
    # storm runoff: '*' = 100 % for classes not listed (e.g. urban)
    storm = coef.lut("flood_mitigation.storm_runoff_coefficient", "dimensionless", np.array([51, 211]))
    assert storm[codes.index(51)] == pytest.approx(1.0) and storm[codes.index(211)] == pytest.approx(0.15)
    # a unit conversion inside the look-up: dust capacity 10.11 t/(ha·yr) = 10 110 kg/(ha·yr)
    dust = coef.lut("air_purification.capacity_dust", "kg/(ha*yr)")
    assert dust[codes.index(211)] == pytest.approx(10110.0)


def without_default(coef, parameter):
    return dataclasses.replace(coef, rows=coef.rows[~((coef.rows["parameter"] == parameter) & (coef.rows["key"] == "*"))].reset_index(drop=True))


def test_lut_missing_class_names_the_class(coef):
    c2 = without_default(coef, "water_conservation.runoff_coefficient")
    # classes that are absent from the region do not matter
    c2.lut("water_conservation.runoff_coefficient", "dimensionless", np.array([211, 31]))
    with pytest.raises(CoefficientError) as exc:
        c2.lut("water_conservation.runoff_coefficient", "dimensionless", np.array([211, 51, 61]))
    msg = str(exc.value)
    assert "51 (urban)" in msg and "61 (sand)" in msg and "water_conservation.runoff_coefficient" in msg
    # without codes_present the missing classes stay NaN; with a default they take it
    assert np.isnan(c2.lut("water_conservation.runoff_coefficient", "dimensionless")[list(coef.legend.codes).index(51)])
    assert c2.lut("water_conservation.runoff_coefficient", "dimensionless", default=0.5)[list(coef.legend.codes).index(51)] == 0.5


def test_class_index_rejects_unknown_codes(coef):
    from gep.errors import GridError

    idx, present = coefficients.class_index(coef.legend, np.array([[211, 0], [31, 255]]))
    assert idx.tolist()[0][1] == -1 and idx.tolist()[1][1] == -1
    assert present.tolist() == [31, 211]
    with pytest.raises(GridError, match=r"999 \(2 cells\)"):
        coefficients.class_index(coef.legend, np.array([[999, 999], [211, 31]]))


# --------------------------------------------------------------------------- overrides


def test_override_by_number_uses_the_row_unit(coef):
    c2 = coef.with_overrides({"price.reservoir_storage": 8.0})
    assert c2.price("price.reservoir_storage") == (Q_(8.0, "CNY/m**3"), 2010)
    # the original set is untouched
    assert coef.price("price.reservoir_storage")[0] == Q_(7.06, "CNY/m**3")
    assert coef.overrides == ()


def test_override_by_string_with_unit_is_converted(coef):
    c2 = coef.with_overrides({
        "soil_retention.bulk_density": "1300 kg/m**3",  # → 1.3 t/m³
        "water_conservation.runoff_coefficient[211]": "0.05",  # dimensionless 0.05 → 5 %
        "price.carbon": "0.01 wan_CNY/tCO2",  # → 100 CNY/t CO2
    })
    assert c2.scalar("soil_retention.bulk_density", "t/m**3") == pytest.approx(1.3)
    assert c2.row("water_conservation.runoff_coefficient", "211")["value"] == pytest.approx(5.0)
    assert c2.lut("water_conservation.runoff_coefficient", "dimensionless")[list(coef.legend.codes).index(211)] == pytest.approx(0.05)
    assert c2.price("price.carbon")[0].to("CNY/tCO2").magnitude == pytest.approx(100.0)
    with pytest.raises(UnitError):
        coef.with_overrides({"price.carbon": "100 CNY/tC"})


def test_override_of_unknown_parameter_suggests_the_nearest(coef):
    with pytest.raises(CoefficientError) as exc:
        coef.with_overrides({"price.resevoir_storage": 8.0}, where="scenario.toml")
    assert "price.resevoir_storage" in str(exc.value)
    assert "did you mean 'price.reservoir_storage'" in str(exc.value)
    assert str(exc.value).startswith("scenario.toml")
    with pytest.raises(CoefficientError, match="names no coefficient"):
        coef.with_overrides({"water_conservation.runoff_coefficient[999]": 1.0})
    with pytest.raises(CoefficientError, match="number or a string"):
        coef.with_overrides({"price.carbon": [1, 2]})


def test_override_is_recorded(coef):
    c2 = coef.with_overrides({"price.reservoir_storage": 8.0}).with_overrides({"water_conservation.runoff_coefficient[211]": 3.0})
    assert [o.as_dict() for o in c2.overrides] == [
        {"parameter": "price.reservoir_storage", "key": "", "old": 7.06, "new": 8.0, "unit": "CNY/m**3"},
        {"parameter": "water_conservation.runoff_coefficient", "key": "211", "old": 2.67, "new": 3.0, "unit": "percent"},
    ]
    assert c2.provenance()["overrides"] == [o.as_dict() for o in c2.overrides]
    row = c2.row("price.reservoir_storage")
    assert row["confidence"] == "assumed" and "override" in row["source"]
    # an overridden value has no range of its own: the set's range no longer describes it
    assert coef.uncertainty("price.reservoir_storage").source.startswith("白玛卓嘎")
    assert not c2.uncertainty("price.reservoir_storage").has_range


def test_override_of_a_carbon_pool(coef):
    pools = lambda c: c.carbon_pools.set_index("lucode").loc[211]  # noqa: E731
    # evergreen broadleaf forest 211: c_above 23.78 t C/ha → 70 (number) or "5000 tC/km**2" = 50 t C/ha (string)
    c2 = coef.with_overrides({"carbon_pools.c_above[211]": 70})
    assert float(pools(c2)["c_above"]) == 70.0 and float(pools(coef)["c_above"]) == 23.78
    assert c2.overrides[-1].as_dict() == {"parameter": "carbon_pools.c_above", "key": "211", "old": 23.78, "new": 70.0, "unit": "tC/ha"}
    assert coef.uncertainty("carbon_pools.c_above", "211").has_range and not c2.uncertainty("carbon_pools.c_above", "211").has_range
    c3 = coef.with_overrides({"carbon_pools.c_soil[211]": "5000 tC/km**2"})
    assert float(pools(c3)["c_soil"]) == pytest.approx(50.0)
    with pytest.raises(CoefficientError, match="not a carbon pool"):
        coef.with_overrides({"carbon_pools.c_wood[211]": 1.0})
    with pytest.raises(CoefficientError, match="no lucode '999'"):
        coef.with_overrides({"carbon_pools.c_above[999]": 1.0})
    with pytest.raises(UnitError):
        coef.with_overrides({"carbon_pools.c_above[211]": "50 tCO2/ha"})


# --------------------------------------------------------------------------- verification


#: The cn-2022 tables this half of the coefficient work completes (the others are coef-b's).
MINE = {"carbon_pools.csv", "parameters.csv", "prices.csv", "price_index.csv", "provisioning.csv", "landcover.csv"}


@pytest.fixture
def set_copy(tmp_path):
    folder = tmp_path / "cn-2022"
    shutil.copytree(coefficients_root() / "cn-2022", folder)
    return folder


def test_copied_set_loads_and_verifies(set_copy):
    c = coefficient_set(str(set_copy))
    assert c.id == "cn-2022" and c.price("price.reservoir_storage")[0].magnitude == 7.06
    # hashes and rows are fine; what the citation rules still find is in the other half's tables only
    assert coefficient_problems(root=set_copy.parent, rules=False) == {"cn-2022": []}
    problems = coefficient_problems(root=set_copy.parent)["cn-2022"]
    assert not [p for p in problems if p.file.rsplit("/", 1)[-1] in MINE]


def test_verify_detects_an_edited_file(set_copy):
    path = set_copy / "prices.csv"
    data = path.read_bytes()
    assert b"7.06," in data
    path.write_bytes(data.replace(b"7.06,", b"7.07,", 1))  # one byte changed
    with pytest.raises(CoefficientError, match="prices.csv: SHA-256 differs"):
        coefficient_set(str(set_copy))
    problems = coefficient_problems(root=set_copy.parent, rules=False)["cn-2022"]
    assert len(problems) == 1 and problems[0].file.endswith("prices.csv") and "SHA-256 differs" in problems[0].message
    assert "prices.csv: SHA-256 differs" in str(coefficient_problems(root=set_copy.parent)["cn-2022"][0])
    # the hash check, not the parser, caught it: without verification the edited value loads
    assert coefficient_set(str(set_copy), verify=False).price("price.reservoir_storage")[0].magnitude == 7.07


def test_verify_detects_an_unlisted_file(set_copy):
    (set_copy / "extra.csv").write_text("parameter,key,value\n")
    with pytest.raises(CoefficientError, match="extra.csv: not listed"):
        coefficient_set(str(set_copy))
