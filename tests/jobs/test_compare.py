"""Series growth rates and the GEP-growth purchase on a hand-made table; compare tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.accounting import delta, growth
from gep.jobs import compare
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


def test_workbook_is_deterministic_with_formats(tmp_path):
    from openpyxl import load_workbook

    from gep.io import workbook

    df = pd.DataFrame({"zone": [1, 2], "value_cny": [1234567.891, -5.0], "share": [0.25, np.nan], "note": ["a", None]})
    sheets = [workbook.Sheet("README", pd.DataFrame({"item": ["x"], "value": ["y"]})), workbook.Sheet("results", df, formats={"value_cny": workbook.CNY, "share": workbook.PCT})]
    workbook.write_workbook(tmp_path / "a.xlsx", sheets)
    workbook.write_workbook(tmp_path / "b.xlsx", sheets)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    ws = load_workbook(tmp_path / "a.xlsx")["results"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:D3"
    assert ws["B2"].value == 1234567.891 and ws["B2"].number_format == "#,##0" and ws["C2"].number_format == "0.00%"
    assert ws["C3"].value is None and ws["A1"].font.bold
