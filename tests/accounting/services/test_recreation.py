"""Recreation (休闲旅游) by hand: travel cost and revenue.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.accounting.hand import qty, run, values


def test_recreation_travel_cost_hand(coef, make_landscape):
    visitors = pd.DataFrame({"zone_id": [1, 2], "ecosystem": ["forest", "water"], "visitors": [1000, 400],
                             "travel_time": [2.0, 1.5], "wage": [50.0, 40.0], "direct_cost": [100.0, 60.0]})
    ls = make_landscape([[211, 31], [42, 51]], [[1, 1], [2, 2]], tables={"visitors": visitors})
    res = run("recreation", ls, coef, "travel_cost")
    # time valued at the full wage (recreation.time_value_share = 1, the spec's formula):
    # zone 1 forest: 1000 × (2 h × 50 CNY/h × 1 + 100) = 1000 × 200 = 200 000 CNY
    # zone 2 water: 400 × (1.5 × 40 × 1 + 60) = 400 × 120 = 48 000 CNY
    assert qty(res, 1, "forest") == 1000
    v = values(res, coef)["travel_cost"]
    assert float(v.value.sel(zone=1, ecosystem="forest")) == pytest.approx(200000)
    assert float(v.value.sel(zone=2, ecosystem="water")) == pytest.approx(48000)
    # with the share of travel-cost studies (0.4): 1000 × (2 × 50 × 0.4 + 100) = 140 000 CNY
    low = run("recreation", ls, coef.with_overrides({"recreation.time_value_share": 0.4}), "travel_cost")
    assert float(values(low, coef)["travel_cost"].value.sel(zone=1, ecosystem="forest")) == pytest.approx(140000)


def test_recreation_revenue_shared_by_area(coef, make_landscape):
    visitors = pd.DataFrame({"zone_id": [1], "visitors": [900], "revenue": [3.0]})
    visitors.attrs["units"] = {"revenue": "wan_CNY"}
    # zone 1: two forest cells and one lake cell (+ urban, not natural)
    ls = make_landscape([[211, 211], [42, 51]], [[1, 1], [1, 1]], tables={"visitors": visitors})
    res = run("recreation", ls, coef, "revenue")
    # natural area: forest 1800 m², water 900 m² → shares 2/3 and 1/3
    assert qty(res, 1, "forest") == pytest.approx(600)
    assert qty(res, 1, "water") == pytest.approx(300)
    v = values(res, coef)["revenue"]
    # 3 wan CNY = 30 000 CNY → 20 000 forest, 10 000 water
    assert float(v.value.sel(zone=1, ecosystem="forest")) == pytest.approx(20000)
    assert float(v.value.sel(zone=1, ecosystem="water")) == pytest.approx(10000)
