"""Provisioning (物质供给) by hand: output × price × ecosystem share.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.accounting.hand import run, total_value, values


def production_table():
    t = pd.DataFrame({
        "zone_id": [1, 2, 1, 2, 2],
        "product": ["rice", "tea", "timber", "crabs", "vegetables"],
        "ecosystem": ["cropland", "forest", "forest", "water", "cropland"],
        "quantity": [10.0, 500.0, 20.0, 1.0, 3.0],
        "unit": ["t", "kg", "m**3", "t", "t"],
        "origin": [None, None, None, "outside", None],
        "value": [np.nan, np.nan, np.nan, np.nan, 5.0],
    })
    t.attrs["units"] = {"value": "wan_CNY"}
    return t


def test_provisioning_hand(coef, make_landscape):
    ls = make_landscape([[12, 211], [42, 51]], [[1, 1], [2, 2]], tables={"production": production_table()})
    res = run("provisioning", ls, coef)
    assert res.quantity is None
    v = values(res, coef)
    # rice: zone 1 cropland, 10 t × 2620 CNY/t (2022) = 26 200 CNY
    assert float(v["rice"].value.sel(zone=1, ecosystem="cropland")) == pytest.approx(10 * 2620)
    # tea: 500 kg = 0.5 t × 150 000 CNY/t = 75 000 CNY (zone 2 forest)
    assert float(v["tea"].value.sel(zone=2, ecosystem="forest")) == pytest.approx(0.5 * 150000)
    # timber: 20 m³ × 1100 CNY/m³ = 22 000 CNY (zone 1 forest)
    assert float(v["timber"].value.sel(zone=1, ecosystem="forest")) == pytest.approx(20 * 1100)
    # crabs grown on outside inputs are excluded (GB/T 46869-2025)
    assert "crabs" not in v
    # vegetables given as gross output value 5 wan CNY = 50 000 CNY (share 100 %)
    assert float(v["vegetables"].value.sel(zone=2, ecosystem="cropland")) == pytest.approx(50000)
    assert total_value(res, coef) == pytest.approx(26200 + 75000 + 22000 + 50000)


def test_provisioning_share_and_origin_switch(coef, make_landscape):
    ls = make_landscape([[12, 211], [42, 51]], [[1, 1], [2, 2]], tables={"production": production_table()})
    c2 = coef.with_overrides({"provisioning.ecosystem_share[rice]": 60})
    v = values(run("provisioning", ls, c2, switches={"exclude_outside_origin": False}), c2)
    # rice at a 60 % ecosystem share: 0.6 × 26 200 = 15 720 CNY
    assert float(v["rice"].value.sum()) == pytest.approx(0.6 * 26200)
    # switch off: crabs count, 1 t × 100 000 CNY/t
    assert float(v["crabs"].value.sel(zone=2, ecosystem="water")) == pytest.approx(100000)


def test_provisioning_water_supply_and_hydropower_national_form_hand(coef, make_landscape):
    """The national form (docs/methods.md §1; Bai Ma Zhuo Ga et al. 2017 §2.3 and Table 3): water supplied and
    hydropower generated are valued as quantity × unit price, V = Σ Q_i·P_i."""
    table = pd.DataFrame({
        "zone_id": [2, 2], "product": ["water_supply", "hydropower"], "ecosystem": ["water", "water"],
        "quantity": [20000.0, 1.5], "unit": ["m**3", "MWh"],
    })
    ls = make_landscape([[12, 211], [42, 51]], [[1, 1], [2, 2]], tables={"production": table})
    v = values(run("provisioning", ls, coef), coef)
    # water: 20 000 m³ × 0.5 CNY/m³ (2011, Baiyangdian §2.1.3) × CPI 2011→2022 (1.026 × 1.026 × 1.020 × 1.014
    # × 1.020 × 1.016 × 1.021 × 1.029 × 1.025 × 1.009 × 1.020 = 1.2504981) = 12 504.981 CNY
    assert float(v["water_supply"].value.sel(zone=2, ecosystem="water")) == pytest.approx(12504.981, rel=1e-6)
    # hydropower: 1.5 MWh = 1500 kWh × 0.35 CNY/kWh (2022) = 525 CNY
    assert float(v["hydropower"].value.sel(zone=2, ecosystem="water")) == pytest.approx(1500 * 0.35)
    assert total_value(run("provisioning", ls, coef), coef) == pytest.approx(13029.981, rel=1e-6)
