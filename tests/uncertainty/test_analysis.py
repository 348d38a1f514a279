"""The analysis on a tiny landscape against a brute-force loop of engine runs with the sampled coefficients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.accounting import catalogue
from gep.accounting.compute import account_landscape
from gep.uncertainty import analysis, sensitivity
from gep.uncertainty import space as sp

CODES = [[211, 212, 11, 12], [43, 64, 31, 51], [211, 23, 24, 11]]
ZONES = [[1, 1, 2, 2], [1, 2, 2, 2], [1, 1, 2, 2]]
INPUTS = {
    "precipitation": (np.array([[1200.0, 1300, 1100, 1250]] * 3), "mm/yr"), "et": (700.0, "mm/yr"),
    "storm_rainfall": (400.0, "mm/yr"), "npp": (np.array([[600.0, 650, 500, 450]] * 3), "gC/(m**2*yr)"),
    "temperature": (16.0, "degC"), "r_factor": (4000.0, "MJ*mm/(ha*h*yr)"), "k_factor": (0.03, "t*ha*h/(ha*MJ*mm)"),
    "ls_factor": (np.array([[2.0, 3.0, 0.5, 1.0]] * 3), "dimensionless"), "fcover": (np.array([[70.0, 80, 40, 30]] * 3), "percent"),
    "et_hot": (120.0, "mm/yr"), "wind_factor": (20.0, "kg/m"),
    # soil respiration (NEP - Rh) sums twelve monthly grids: the same climate every month
    **{f"temperature_monthly_{m:02d}": (16.0, "degC") for m in range(1, 13)},
    **{f"precipitation_monthly_{m:02d}": (100.0, "mm") for m in range(1, 13)},
}
SERVICES = ("provisioning", "water_conservation", "soil_retention", "sand_fixation", "flood_mitigation", "water_purification",
            "carbon_sequestration", "climate_regulation")


@pytest.fixture(scope="module")
def setup(coef, make_landscape):
    production = pd.DataFrame({"zone_id": [1, 2], "product": ["rice", "tea"], "ecosystem": ["cropland", "forest"], "quantity": [100.0, 2.0], "unit": ["t", "t"]})
    emissions = pd.DataFrame({"zone_id": [1, 1, 1, 2, 2, 2], "pollutant": ["COD", "NH3-N", "TP"] * 2, "load": [2.0, 0.5, 0.05, 0.01, 0.001, 0.0001], "unit": ["t/yr"] * 6})
    ls = make_landscape(CODES, ZONES, INPUTS, tables={"production": production, "emissions": emissions}, cell_size=300.0)
    methods = {s: coef.profile["methods"].get(s, catalogue.BY_ID[s].default_method) for s in SERVICES}
    switches = dict(coef.profile["switches"])
    space = sp.build(coef.ranges(), set(), {"inputs": {"precipitation": {"relative": 0.05}}}, {k: u for k, (_, u) in INPUTS.items()}, "t.toml")
    a = analysis.analyse(ls, coef, SERVICES, methods, switches, space, samples=6, seed=3, workers=1, verify=1)
    return ls, methods, switches, a


def _engine(coef, ls, methods, switches, space, values):
    """The engine with the sampled values put in the ordinary way: overrides, the price index, the scaled input."""
    overrides, idx, lsv = {}, coef.price_index.copy(), ls
    for v, x in zip(space.variables, values):
        if v.kind == "input":
            lsv = type(ls)(**{**ls.__dict__, "grid": ls.grid.assign({v.parameter: (ls.grid[v.parameter] * x).assign_attrs(ls.grid[v.parameter].attrs)})})
        elif v.parameter.startswith("price_index."):
            idx.loc[(idx["series"] == v.parameter.split(".", 1)[1]) & (idx["year"] == int(v.key)), "value"] = x
        else:
            overrides[v.name] = float(x)
    c = coef.with_overrides(overrides)
    from dataclasses import replace

    c = replace(c, price_index=idx)
    acc, _ = account_landscape(lsv, c, list(SERVICES), dict(methods), dict(switches))
    return acc


def test_every_sample_equals_an_engine_run_with_those_coefficients(coef, setup):
    ls, methods, switches, a = setup
    kinds = {u["unit"]: u["method"] for u in a.units}
    assert kinds["sand_fixation"].startswith("per sample")
    # Rh: its constants b and c inside exp(b·T) and ln(c·P + 1) get Chebyshev curves (checked against the engine below)
    assert kinds["carbon_sequestration"] == "multi-affine model, Chebyshev curves in carbon_sequestration.rh_b, carbon_sequestration.rh_c"
    # purification: a model of the capacities, the engine's cap min(load, Σ capacity) applied per sample (it binds in zone 2)
    assert kinds["water_purification"] == "multi-affine model of the capacities, capped by the zone's load per sample"
    assert kinds["water_conservation"] == kinds["soil_retention"] == kinds["flood_mitigation"] == "multi-affine model"
    assert "input:precipitation" in a.space.names
    brute = []
    for i, row in a.draws.iterrows():
        acc = _engine(coef, ls, methods, switches, a.space, row[a.space.names].to_numpy(dtype=float))
        brute.append(acc.gep)
        assert a.samples["gep_cny"].iloc[i] == pytest.approx(acc.gep, rel=1e-9)
        values = acc.data["value"].sum(("zone", "ecosystem"))
        for s in SERVICES:
            assert a.samples[f"service:{s}"].iloc[i] == pytest.approx(float(values.sel(service=s)), rel=1e-9, abs=1e-6)
        zt = acc.zone_table()
        for r in zt.itertuples():
            assert a.samples[f"zone:{r.zone_name}"].iloc[i] == pytest.approx(r.gep_cny, rel=1e-9)
    got = a.gep()
    want = sensitivity.statistics(np.array(brute))
    assert {k: got[k] for k in ("p5", "p50", "p95", "mean", "se")} == pytest.approx({k: want[k] for k in ("p5", "p50", "p95", "mean", "se")}, rel=1e-9)


def test_deterministic_values_sensitivity_and_tornado(setup):
    _, _, _, a = setup
    assert a.deterministic["gep_cny"] > 0 and a.checks["max_relative_difference_gep"] < 1e-9
    assert list(a.sensitivity["rank"]) == list(range(1, len(a.sensitivity) + 1))
    assert any(n.startswith("sand_fixation (per sample") for n in a.sensitivity["name"])
    assert (a.tornado["swing_cny"].diff().dropna() <= 0).all()
    assert set(a.summary["level"]) == {"gep", "category", "service", "zone"}
