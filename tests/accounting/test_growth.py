"""Series growth rates and the GEP-growth purchase on a hand-made table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.accounting import growth
from gep.errors import ScenarioError

TABLE = pd.DataFrame({
    "year": [2020, 2020, 2021, 2021, 2022, 2022],
    "zone": [1, 2, 1, 2, 1, 2],
    "zone_name": ["A", "B"] * 3,
    "category": ["regulating"] * 6,
    "service": ["water_conservation"] * 6,
    "quantity": [10.0, 5.0, 11.0, 3.8, 12.0, 4.0],
    "unit": ["m**3/yr"] * 6,
    "value_cny": [100.0, 50.0, 120.0, 40.0, 140.0, 45.0],
    "value_cny_comparable": [100.0, 50.0, 110.0, 38.0, 120.0, 40.0],
})


def test_growth_current_and_comparable():
    g = growth.growth(TABLE).set_index("year")
    assert np.isnan(g.loc[2020, "growth_current"])
    assert g.loc[2021, "growth_current"] == pytest.approx(160 / 150 - 1)
    assert g.loc[2021, "growth_comparable"] == pytest.approx(148 / 150 - 1)  # Σ Q_t·P_base / Σ Q_t−1·P_base − 1
    assert g.loc[2022, "growth_comparable"] == pytest.approx(160 / 148 - 1)
    assert g.loc[2022, "price_effect"] == pytest.approx((185 / 160) / (160 / 148) - 1)
    z = growth.growth(TABLE, "zone").set_index(["zone", "year"])
    assert z.loc[(2, 2021), "growth_comparable"] == pytest.approx(38 / 50 - 1)
    avg = growth.average_growth(TABLE)
    assert avg["comparable"] == pytest.approx((160 / 150) ** 0.5 - 1)
    assert avg["current"] == pytest.approx((185 / 150) ** 0.5 - 1)


def test_purchase_pays_a_share_of_the_increase_only():
    p = growth.purchase(TABLE, {"share": 0.1, "basis": "comparable", "from_year": 2020, "to_year": 2022}, 2020).set_index("zone")
    assert p.loc[1, "increase_cny"] == pytest.approx(20.0) and p.loc[1, "payment_cny"] == pytest.approx(2.0)
    assert p.loc[2, "increase_cny"] == pytest.approx(-10.0) and p.loc[2, "payment_cny"] == 0.0
    assert p.loc[1, "price_year"] == 2020
    cur = growth.purchase(TABLE, {"share": 0.5, "basis": "current", "from_year": 2020, "to_year": 2021, "zones": [1]}, 2020)
    assert cur["payment_cny"].tolist() == [10.0] and cur["price_year"].tolist() == [2021]
    with pytest.raises(ScenarioError, match=r"zone\(s\) \[9\]"):
        growth.purchase(TABLE, {"share": 0.1, "basis": "current", "from_year": 2020, "to_year": 2021, "zones": [9]}, 2020)
