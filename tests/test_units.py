"""The unit registry: CNY multiples, chemical bases, stoichiometric factors, @unitful."""

from __future__ import annotations

import pint
import pytest
import xarray as xr

from gep.errors import UnitError
from gep.units import CO2_PER_C, O2_PER_CO2, C_PER_DRY_MATTER, Q_, affine, parse_unit, split_quantity, unitful


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


@pytest.mark.parametrize("text", ["kg*1e9999999", "g*" + "9" * 5000, "kg/nan", "1e1000000*kg", "m*10**10**10", "kg*10**99", "m**(1e400)", "0*kg"])
def test_parse_unit_refuses_hostile_numbers(text):
    """pint evaluates the numbers of a unit expression exactly: 10**10**10 would run for hours. Refused on the text first."""
    with pytest.raises(UnitError) as info:
        parse_unit(text, "a test")
    assert len(info.value.line()) < 300


def test_parse_unit_keeps_ordinary_expressions():
    assert parse_unit("CNY/(1e18*ion)").magnitude == pytest.approx(1e-18)
    assert str(parse_unit("m**3/s").units) == str(parse_unit("m^3/s").units)
    assert parse_unit("s**-1").dimensionality == parse_unit("1/s").dimensionality


def test_split_quantity_reads_offset_units_bare_numbers_and_refuses_unbounded_numbers():
    assert split_quantity("15.5 degC") == (15.5, "degC")
    assert split_quantity("-3e2 CNY/tCO2") == (-300.0, "CNY/tCO2")
    assert split_quantity("1200") == (1200.0, "")
    with pytest.raises(UnitError, match="scenario key"):
        split_quantity("1e99999 mm", "scenario key")
    with pytest.raises(UnitError, match="not a number"):
        split_quantity("mm/yr", "scenario key")


def test_the_registry_reads_its_cache_and_parses_again_when_the_cache_is_broken(tmp_path, monkeypatch):
    """pint's cache of the parsed definitions (gep's cache folder): the same units from it, and a file cut short
    (another process still writing it) or a cache folder that cannot be made costs a parse, never a failure."""
    from gep import units

    monkeypatch.setenv("GEP_CACHE_DIR", str(tmp_path / "cache"))
    first = units._registry()
    pickles = sorted((tmp_path / "cache" / "pint").glob("*.pickle"))
    assert pickles  # written
    cached = units._registry()
    for reg in (first, cached):
        assert reg.Quantity(1.0, "tC").to("gram_carbon").magnitude == pytest.approx(1e6)
        assert reg.Quantity(3.0, "kg/ha").to("t/km**2").magnitude == pytest.approx(0.3)
    for p in pickles:
        p.write_bytes(p.read_bytes()[:100])
    assert units._registry().Quantity(1.0, "tC").to("gram_carbon").magnitude == pytest.approx(1e6)
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("GEP_CACHE_DIR", str(tmp_path / "file"))
    assert units._registry().Quantity(1.0, "tC").to("gram_carbon").magnitude == pytest.approx(1e6)
