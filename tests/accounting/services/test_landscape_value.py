"""Landscape value (景观价值) by hand: hedonic premium.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.accounting.hand import qty, run, values


def test_landscape_value_hand(coef, make_landscape):
    housing = pd.DataFrame({"zone_id": [1, 2], "floor_area": [10000.0, 2000.0], "premium": [500.0, 300.0]})
    # zone 1: forest + lake (equal areas); zone 2: urban only (falls back on 'water')
    ls = make_landscape([[211, 42], [51, 51]], [[1, 1], [2, 2]], tables={"housing": housing})
    res = run("landscape", ls, coef)
    # zone 1: 10 000 m² × 500 CNY/m² × 4.3 %/yr = 215 000 CNY, half forest half water
    v = values(res, coef)["premium"]
    assert float(v.value.sel(zone=1, ecosystem="forest")) == pytest.approx(107500)
    assert float(v.value.sel(zone=1, ecosystem="water")) == pytest.approx(107500)
    # zone 2: 2000 × 300 × 0.043 = 25 800 CNY on 'water' (fallback)
    assert float(v.value.sel(zone=2, ecosystem="water")) == pytest.approx(25800)
    assert qty(res, 1, "forest") == pytest.approx(5000)
    # switch off: the capitalised premium 10 000 × 500 = 5 000 000 CNY is booked as is
    off = run("landscape", ls, coef, switches={"landscape_annualise": False})
    assert float(values(off, coef)["premium"].value.sel(zone=1).sum()) == pytest.approx(5_000_000)
