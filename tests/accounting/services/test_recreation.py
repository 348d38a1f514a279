"""Recreation (休闲旅游) by hand: travel cost and revenue.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from gep.errors import InputError
from tests.accounting.hand import chain, qty, run, total_value, values


def test_recreation_travel_cost_hand(coef, make_landscape):
    visitors = pd.DataFrame({"zone_id": [1, 2], "ecosystem": ["forest", "water"], "visitors": [1000, 400],
                             "travel_time": [2.0, 1.5], "wage": [50.0, 40.0], "direct_cost": [100.0, 60.0]})
    ls = make_landscape([[211, 31], [42, 51]], [[1, 1], [2, 2]], tables={"visitors": visitors})
    res = run("recreation", ls, coef, "travel_cost")
    # time valued at the full wage (recreation.time_value_share = 1, the spec's formula):
    # zone 1 forest: 1000 × (2 h × 50 CNY/h × 1 + 100) = 1000 × 200 = 200 000 CNY
    # zone 2 water: 400 × (1.5 × 40 × 1 + 60) = 400 × 120 = 48 000 CNY
    assert qty(res, 1, "forest") == 1000
    v = values(res, coef)
    # two components: the travel time (1000 × 2 × 50 = 100 000; 400 × 1.5 × 40 = 24 000) and the direct cost
    # (1000 × 100 = 100 000; 400 × 60 = 24 000), both in CNY of the table's price year (2022 here)
    assert float(v["travel_time"].value.sel(zone=1, ecosystem="forest")) == pytest.approx(100000)
    assert float(v["direct_cost"].value.sel(zone=2, ecosystem="water")) == pytest.approx(24000)
    total = v["travel_time"].value + v["direct_cost"].value
    assert float(total.sel(zone=1, ecosystem="forest")) == pytest.approx(200000)
    assert float(total.sel(zone=2, ecosystem="water")) == pytest.approx(48000)
    # only the travel time rests on recreation.time_value_share: its confidence is that row's (assumed in cn-2022 1.1.0)
    time, direct = res.components
    assert ("recreation.time_value_share", "") in time.uses and not direct.uses and direct.confidence == "verified"
    # with the share of travel-cost studies (0.4): 1000 × (2 × 50 × 0.4 + 100) = 140 000 CNY
    low = run("recreation", ls, coef.with_overrides({"recreation.time_value_share": 0.4}), "travel_cost")
    lv = values(low, coef)
    assert float((lv["travel_time"].value + lv["direct_cost"].value).sel(zone=1, ecosystem="forest")) == pytest.approx(140000)


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


def test_table_money_carries_its_price_year_and_identical_years_show_no_real_change(coef, make_landscape):
    """CNY in input tables are in the table's price year and indexed like coefficient prices (issue 13, item 4)."""
    from gep.accounting.valuation import Valuation

    visitors = pd.DataFrame({"zone_id": [1], "visitors": [900], "revenue": [30000.0]})
    visitors.attrs["price_year"] = 2020  # a table of 2020 CNY, e.g. shared by every year of a series
    real = {}
    for year in (2020, 2022):
        ls = make_landscape([[211, 211], [42, 51]], [[1, 1], [1, 1]], tables={"visitors": visitors}, year=year)
        res = run("recreation", ls, coef, "revenue")
        valuation = Valuation.of(coef, year, base_year=2020)
        (comp,) = res.components
        assert comp.price_year == 2020
        current = float(valuation.current(comp).value.sum())
        real[year] = float(valuation.comparable(comp).value.sum())
        # at current prices: 30 000 CNY of 2020 × CPI 2020→year (2021: 100.9, 2022: 102.0 → 1.029180)
        assert current == pytest.approx(30000 * chain(2020, year))
    # identical physical inputs in 2020 and 2022: zero real change at comparable 2020 prices
    assert real[2022] == pytest.approx(real[2020], rel=1e-12) == pytest.approx(30000)
    # a price_year column overrides the table's year row by row; a cell that is not a year is a clear error
    visitors2 = pd.DataFrame({"zone_id": [1, 1], "visitors": [450, 450], "revenue": [15000.0, 15000.0], "price_year": [2021, None]})
    ls = make_landscape([[211, 211], [42, 51]], [[1, 1], [1, 1]], tables={"visitors": visitors2})
    res = run("recreation", ls, coef, "revenue")
    assert sorted(c.price_year for c in res.components) == [2021, 2022]
    assert total_value(res, coef) == pytest.approx(15000 * chain(2021) + 15000)
    visitors2["price_year"] = ["last year", 2021]
    visitors2.attrs["path"] = "visitors.csv"
    with pytest.raises(InputError, match="visitors.csv, line 2: price_year 'last year' is not a year"):
        run("recreation", make_landscape([[211, 211], [42, 51]], [[1, 1], [1, 1]], tables={"visitors": visitors2}), coef, "revenue")
