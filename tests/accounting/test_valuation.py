"""Valuation: price indexing through the CPI chain, written out by hand, and unit checks on prices."""

from __future__ import annotations

import pytest

from gep.accounting.valuation import index_factor, value
from gep.errors import CoefficientError, UnitError
from tests.accounting.hand import carbon_landscape, run


def test_cpi_factor_reservoir_cost_2005_to_2022_written_out(coef):
    # reservoir cost 6.1107 CNY/m³ of 2005 → 2022 prices:
    # × 1.015 (2006) × 1.048 (2007) × 1.059 (2008) × 0.993 (2009) × 1.033 (2010) × 1.054 (2011)
    #   × 1.026 (2012) × 1.026 (2013) × 1.020 (2014) × 1.014 (2015) × 1.020 (2016) × 1.016 (2017)
    #   × 1.021 (2018) × 1.029 (2019) × 1.025 (2020) × 1.009 (2021) × 1.020 (2022)
    # = 1.522988115 → 6.1107 × 1.522988115 = 9.306519 CNY/m³
    factor = (1.015 * 1.048 * 1.059 * 0.993 * 1.033 * 1.054 * 1.026 * 1.026 * 1.020 * 1.014
              * 1.020 * 1.016 * 1.021 * 1.029 * 1.025 * 1.009 * 1.020)
    assert factor == pytest.approx(1.522988115, rel=1e-9)
    assert index_factor(coef.price_index, "cpi", 2005, 2022) == pytest.approx(factor, rel=1e-12)
    assert 6.1107 * factor == pytest.approx(9.306519, rel=1e-6)
    # cn-2022 1.1.0 ships the same cost as printed by the Ganzi account (7.06 CNY/m³ at 2010 prices):
    # 6.1107 × 1.015 × 1.048 × 1.059 × 0.993 × 1.033 (CPI 2005→2010 = 1.155502) = 7.0610 ≈ 7.06
    price, year = coef.price("price.reservoir_storage")
    assert (price.magnitude, f"{price.units}", year) == (7.06, "CNY/m³", 2010)
    assert 6.1107 * 1.015 * 1.048 * 1.059 * 0.993 * 1.033 == pytest.approx(7.06, abs=0.005)


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


def test_valuing_a_tco2_quantity_with_a_per_tc_price_raises(coef, make_landscape):
    from gep.accounting.services.result import Component

    res = run("carbon_sequestration", carbon_landscape(make_landscape), coef, "rate_lut")
    price, year = coef.price("price.carbon_tax_basis")  # CNY/tC
    with pytest.raises(UnitError):
        value(Component("bad", res.quantity, price, year, "test"), coef.price_index, "cpi", 2022)
