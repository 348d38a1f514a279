"""The unit registry, coefficient look-ups and overrides, price indexing and set verification."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pint
import pytest
import xarray as xr

from gep import coefficients
from gep.errors import CoefficientError, UnitError
from gep.io.coefficient_files import coefficients_root
from gep.units import CO2_PER_C, O2_PER_CO2, C_PER_DRY_MATTER, Q_, affine, parse_unit, unitful
from gep.valuation import index_factor

# --------------------------------------------------------------------------- unit registry


@pytest.mark.parametrize(
    "src, dst, expected",
    [
        ("1 wan_CNY", "CNY", 1e4),  # 万元
        ("1 yi_CNY", "CNY", 1e8),  # 亿元
        ("1 yi_CNY", "wan_CNY", 1e4),
        ("1 RMB", "CNY", 1.0),
        ("1 tC", "kgC", 1e3),
        ("1 tC", "gC", 1e6),
        ("1 MgC", "tC", 1.0),
        ("1 tCO2", "kgCO2", 1e3),
        ("1 tCO2e", "tCO2", 1.0),
        ("1 ha", "m**2", 1e4),
        ("1 km**2", "ha", 100.0),
        ("1 km**2", "m**2", 1e6),
        ("1 mm", "m", 1e-3),
        ("1 kWh", "MJ", 3.6),
        ("1 kWh", "J", 3.6e6),
        ("15 mu", "ha", 1.0),  # 1 亩 = 10 000/15 = 666.67 m², so 15 亩 = 1 ha
        ("1 mu", "m**2", 10000 / 15),
        ("3 PE", "PE", 3.0),
        ("1 t/(ha*yr)", "kg/(m**2*yr)", 0.1),
        ("1 CNY/(1e18*ion)", "CNY/ion", 1e-18),
    ],
)
def test_unit_conversions(src, dst, expected):
    assert Q_(src).to(dst).magnitude == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("a, b", [("tC", "tCO2"), ("tC", "t"), ("tCO2", "t"), ("PE", "kg"), ("CNY", "dimensionless"), ("ion", "dimensionless")])
def test_chemical_bases_and_money_are_distinct_dimensions(a, b):
    with pytest.raises(pint.DimensionalityError):
        Q_(1.0, a).to(b)
    with pytest.raises(pint.DimensionalityError):
        Q_(1.0, a) + Q_(1.0, b)


def test_stoichiometric_factors():
    # 1 t C = 44/12 = 3.667 t CO2; 32/44 t O2 per t CO2; 72/162 t C per t dry matter
    assert (Q_(1.0, "tC") * CO2_PER_C).to("tCO2").magnitude == pytest.approx(3.6666667, rel=1e-7)
    assert (Q_(1.0, "tCO2") * O2_PER_CO2).to("t").magnitude == pytest.approx(32 / 44)
    assert (Q_(162.0, "t") * C_PER_DRY_MATTER).to("tC").magnitude == pytest.approx(72.0)
    # 1.63 g CO2 per g dry matter (METHODS.md): 72/162 × 44/12 = 1.6296
    assert (Q_(1.0, "g") * C_PER_DRY_MATTER * CO2_PER_C).to("gCO2").magnitude == pytest.approx(1.6296, abs=1e-4)


def test_affine_conversion_of_temperature():
    scale, offset = affine("K", "degC")
    assert (scale, offset) == pytest.approx((1.0, -273.15))
    scale, offset = affine("degC", "K")
    assert 16.0 * scale + offset == pytest.approx(289.15)
    # multiplicative units have no offset
    assert affine("m/yr", "mm/yr") == pytest.approx((1000.0, 0.0))


def test_parse_unit_rejects_unknown_units():
    with pytest.raises(UnitError, match="unknown unit 'furlongs_per_fortnite'"):
        parse_unit("furlongs_per_fortnite", "somewhere")
    assert parse_unit("CNY/(1e18*ion)").to("CNY/ion").magnitude == pytest.approx(1e-18)


def test_unitful_converts_and_names_the_argument():
    @unitful(length="m", returns="m**2")
    def square(length):
        return length * length

    assert square(Q_(200.0, "cm")) == Q_(4.0, "m**2")
    da = square(xr.DataArray([1.0, 2.0], attrs={"units": "km"}))
    assert da.attrs["units"] == "m**2" and da.values.tolist() == [1e6, 4e6]
    with pytest.raises(UnitError, match=r"argument 'length' of square.*'kg'.*'m'"):
        square(Q_(1.0, "kg"))
    with pytest.raises(UnitError, match="without a unit"):
        square(xr.DataArray([1.0]).values)
    with pytest.raises(UnitError, match="no 'units' attribute"):
        square(xr.DataArray([1.0]))


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
    c2 = copy.copy(coef)
    c2.rows = coef.rows[~((coef.rows["parameter"] == parameter) & (coef.rows["key"] == "*"))].reset_index(drop=True)
    return c2


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
    assert coef.overrides == []


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


# --------------------------------------------------------------------------- price index


def test_index_factor_2020_to_2022_by_hand(coef):
    # CPI 2021 = 100.9, 2022 = 102.0 (previous year = 100) → 1.009 × 1.020 = 1.02918
    assert index_factor(coef.price_index, "cpi", 2020, 2022) == pytest.approx(1.009 * 1.020) == pytest.approx(1.02918)
    # the inverse: 2022 CNY in 2020 prices
    assert index_factor(coef.price_index, "cpi", 2022, 2020) == pytest.approx(1 / 1.02918)
    assert index_factor(coef.price_index, "cpi", 2022, 2022) == 1.0
    # 2008 → 2010: 0.993 × 1.033 (the 2008 value itself is not applied)
    assert index_factor(coef.price_index, "cpi", 2008, 2010) == pytest.approx(0.993 * 1.033)


def test_index_factor_errors(coef):
    with pytest.raises(CoefficientError, match=r"lacks year\(s\) \[1991"):
        index_factor(coef.price_index, "cpi", 1990, 2022)
    with pytest.raises(CoefficientError, match="'ppi' is not in the coefficient set"):
        index_factor(coef.price_index, "ppi", 2020, 2022)


# --------------------------------------------------------------------------- verification


#: The cn-2022 tables this half of the coefficient work completes (the others are coef-b's).
MINE = {"carbon_pools.csv", "parameters.csv", "prices.csv", "price_index.csv", "provisioning.csv", "landcover.csv"}


@pytest.fixture
def set_copy(tmp_path):
    folder = tmp_path / "cn-2022"
    shutil.copytree(coefficients_root() / "cn-2022", folder)
    return folder


def test_copied_set_loads_and_verifies(set_copy):
    c = coefficients.load(str(set_copy))
    assert c.id == "cn-2022" and c.price("price.reservoir_storage")[0].magnitude == 7.06
    # hashes and rows are fine; what the citation rules still find is in the other half's tables only
    assert coefficients.verify_set(set_copy, rules=False) == []
    problems = coefficients.verify_all(set_copy.parent)["cn-2022"]
    assert not [p for p in problems if p.split(",")[0].rsplit("/", 1)[-1] in MINE]


def test_verify_detects_an_edited_file(set_copy):
    path = set_copy / "prices.csv"
    data = path.read_bytes()
    assert b"7.06," in data
    path.write_bytes(data.replace(b"7.06,", b"7.07,", 1))  # one byte changed
    with pytest.raises(CoefficientError, match="prices.csv: SHA-256 differs"):
        coefficients.load(str(set_copy))
    problems = coefficients.verify_set(set_copy, rules=False)
    assert len(problems) == 1 and "prices.csv" in problems[0]
    assert "prices.csv: SHA-256 differs" in coefficients.verify_all(set_copy.parent)["cn-2022"][0]
    # the hash check, not the parser, caught it: without verification the edited value loads
    assert coefficients.load(str(set_copy), verify=False).price("price.reservoir_storage")[0].magnitude == 7.07


def test_verify_detects_an_unlisted_file(set_copy):
    (set_copy / "extra.csv").write_text("parameter,key,value\n")
    with pytest.raises(CoefficientError, match="extra.csv: not listed"):
        coefficients.load(str(set_copy))
