"""Compare tables by hand: a comparison with itself is zero; deltas by service, zone and category; the checks sheet."""

from __future__ import annotations

import numpy as np
import pytest

from gep.accounting import delta
from gep.jobs import compare


def account(values: np.ndarray, quantities: np.ndarray):
    import xarray as xr

    return xr.Dataset(
        {"quantity": (("zone", "service", "ecosystem"), quantities), "value": (("zone", "service", "ecosystem"), values)},
        coords={"zone": [1, 2], "service": ["water_conservation", "carbon_sequestration"], "ecosystem": ["forest", "cropland"],
                "zone_name": ("zone", ["A", "B"]), "category": ("service", ["regulating", "regulating"]), "unit": ("service", ["m**3/yr", "tCO2/yr"])},
        attrs={"year": 2022},
    )


def test_compare_with_itself_is_all_zeros():
    v = np.arange(8.0).reshape(2, 2, 2) * 1e6
    a = account(v, v / 10)
    d = delta.delta_table(a, a)
    assert (d["delta_value_cny"] == 0).all() and (d["delta_quantity"] == 0).all()
    side = compare.Side("BASE", "x", 2022, a, None, None, None)
    doc = compare.summary(side, side, d)
    assert doc["delta_gep_cny"] == 0 and all(s["delta_value_cny"] == 0 for s in doc["by_service"].values())


def test_compare_by_hand():
    v = np.ones((2, 2, 2)) * 100.0
    w = v.copy()
    w[0, 1, 0] = 130.0  # zone 1 carbon forest +30
    w[1, 0, 1] = 90.0  # zone 2 water cropland −10
    d = delta.delta_table(account(v, v), account(w, w))
    svc = delta.by_service(d).set_index("service")
    assert svc.loc["carbon_sequestration", "delta_value_cny"] == 30.0 and svc.loc["water_conservation", "delta_value_cny"] == -10.0
    assert svc.loc["carbon_sequestration", "delta_quantity"] == 30.0
    z = delta.by_zone(d).set_index("zone")
    assert z.loc[1, "delta_value_cny"] == 30.0 and z.loc[2, "delta_pct"] == pytest.approx(-10 / 400)
    cat = delta.by_category(d).set_index("category")
    assert cat.loc["regulating", "delta_value_cny"] == 20.0 and cat.loc["provisioning", "delta_value_cny"] == 0.0
    chk = compare.checks(compare.Side("BASE", "a", 2022, account(v, v), None, None, None), compare.Side("ALT", "b", 2022, account(w, w), None, None, None), d, None)
    assert chk.set_index("check").loc["Δ table adds up", "status"] == "ok"
