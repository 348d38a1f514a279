"""Ranges and confidence of coefficients in the API: ``CoefficientSet.uncertainty()`` and ``ranges()``."""

from __future__ import annotations

import pandas as pd
import pytest

from gep.errors import CoefficientError
from gep.io.coefficient_files import coefficients_root

ROOT = coefficients_root()


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


def test_range_columns_sit_after_confidence_and_note_is_last():
    for name in ("parameters.csv", "prices.csv", "provisioning.csv"):
        cols = list(pd.read_csv(ROOT / "cn-2022" / name, nrows=0).columns)
        assert cols[cols.index("confidence") + 1: cols.index("confidence") + 4] == ["low", "high", "range_basis"] and cols[-1] == "note", name
    pools = list(pd.read_csv(ROOT / "cn-2022" / "carbon_pools.csv", nrows=0).columns)
    assert pools[:6] == ["lucode", "LULC_name", "c_above", "c_below", "c_soil", "c_dead"] and pools[-1] == "note"
