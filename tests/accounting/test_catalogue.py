"""Conformance of every service spec, with both shipped coefficient sets.

Each spec must declare what its methods really do: every input unit parses, a
method runs on a landscape that holds only the inputs it declares, every
optional input can be left out and every required one cannot, the quantity is
in the declared output unit, every component values to money from a declared
price key, and the scenario's inputs and tables are exactly the specs'.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from gep.accounting import catalogue
from gep.accounting.catalogue import BY_ID, CATALOGUE, CATEGORIES
from gep.accounting.compute import compute_services
from gep.accounting.valuation import Valuation
from gep.errors import GepError
from gep.jobs.inputs import coefficient_set
from gep.units import ureg

SETS = ("cn-2022", "zj-2020")

#: A plausible value of every gridded input a spec declares, in the spec's unit.
SAMPLE = {
    "precipitation": 1400.0, "et": 700.0, "et0": 1000.0, "awc": 150.0,
    "r_factor": 4000.0, "k_factor": 0.03, "sand": 40.0, "silt": 40.0, "clay": 20.0, "organic_carbon": 1.5,
    "dem": None, "ls_factor": 2.0, "fcover": 0.6,
    "wind_factor": 50.0, "erodible_fraction": 0.3, "crust_factor": 0.5, "roughness_factor": 0.8,
    "storm_rainfall": 300.0, "npp": 600.0, "temperature": 16.0, "et_hot": 200.0, "negative_ions": 1500.0,
    "depth_to_root_restricting_layer": 2000.0, "pawc": 0.15,
    "temperature_amplitude": 12.0, "temperature_monthly": 16.0, "precipitation_monthly": 115.0,
}


def _table(frame: pd.DataFrame, name: str, units: dict | None = None) -> pd.DataFrame:
    frame.attrs.update(units=units or {}, path=f"{name}.csv")
    return frame


def tables() -> dict[str, pd.DataFrame]:
    """One small table of every kind a spec declares, for zones 1 and 2."""
    z = [1, 2]
    return {
        "production": _table(pd.DataFrame({"zone_id": z, "product": "rice", "ecosystem": "cropland", "quantity": 1000.0, "unit": "t"}), "production"),
        "reservoirs": _table(pd.DataFrame({"zone_id": z, "total_storage": 1e6, "flood_storage": 3e5}), "reservoirs", {"total_storage": "m**3", "flood_storage": "m**3"}),
        "emissions": _table(pd.DataFrame({"zone_id": np.repeat(z, 6), "pollutant": ["COD", "NH3-N", "TP", "SO2", "NOx", "dust"] * 2, "load": 50.0, "unit": "t"}), "emissions"),
        "visitors": _table(pd.DataFrame({"zone_id": z, "site": "park", "visitors": 1e4, "travel_time": 2.0, "wage": 40.0, "direct_cost": 100.0, "revenue": 2e6}), "visitors"),
        "housing": _table(pd.DataFrame({"zone_id": z, "floor_area": 1e5, "premium": 300.0}), "housing"),
    }


@pytest.fixture(scope="module", params=SETS)
def coefs(request):
    return coefficient_set(request.param)


def landscape(make_landscape, coef, names) -> object:
    """Every class of the set's legend in each of two zones, with only the inputs ``names``."""
    codes = np.vstack([coef.legend.codes, coef.legend.codes])
    zones = np.array([[1] * codes.shape[1], [2] * codes.shape[1]])
    inputs = {}
    for name in names:
        unit = catalogue.INPUTS[name]
        value = SAMPLE[name] if name != "dem" else 100.0 + 3.0 * np.arange(codes.size, dtype=float).reshape(codes.shape)
        grids = [f"{name}_{m}" for m in catalogue.MONTHS] if name in catalogue.MONTHLY else [name]
        inputs.update({grid: (value, unit) for grid in grids})
    return make_landscape(codes, zones, inputs, tables(), coef=coef)


def cases():
    return [(s.id, m.name) for s in CATALOGUE for m in s.methods]


def _run(ls, coef, sid, method):
    methods = {sid: method}
    for needed in BY_ID[sid].method(method).needs:
        methods[needed] = BY_ID[needed].default_method
    switches = dict(coef.profile.get("switches", {}))
    return compute_services(ls, coef, [sid], methods, switches)[sid]


def _needed_inputs(sid, method):
    """The inputs of a method and of the methods of the services it needs."""
    spec = BY_ID[sid]
    names = [i.name for i in spec.inputs_of(method)]
    for needed in spec.method(method).needs:
        names += [i.name for i in BY_ID[needed].inputs_of(BY_ID[needed].default_method)]
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- declarations


def test_every_input_has_a_sample_and_the_scenario_accepts_exactly_the_specs_inputs():
    declared = {i.name for s in CATALOGUE for i in s.inputs}
    assert set(SAMPLE) == declared == set(catalogue.INPUTS)
    assert set(catalogue.TABLES) == {t.name for s in CATALOGUE for t in s.tables} == set(tables())
    from gep.accounting import scenario

    assert set(scenario.INPUTS) == declared and set(scenario.TABLES) == set(catalogue.TABLES)


@pytest.mark.parametrize("sid", list(BY_ID))
def test_spec_is_well_formed(sid):
    spec = BY_ID[sid]
    assert spec.category in CATEGORIES
    assert len(set(spec.method_names)) == len(spec.methods) >= 1
    assert spec.price_keys and spec.references
    if not spec.output_unit.startswith("various"):
        ureg.Unit(spec.output_unit)
    for i in spec.inputs:
        ureg.Unit(i.unit)  # pint parses every input unit
        assert set(i.methods) <= set(spec.method_names), f"{sid}: input {i.name} names an unknown method"
        assert catalogue.INPUTS[i.name] == i.unit or ureg.Unit(catalogue.INPUTS[i.name]).dimensionality == ureg.Unit(i.unit).dimensionality
    for m in spec.methods:
        assert m.formula and callable(m.compute)
        for needed in m.needs:
            assert needed in BY_ID and needed != sid
            assert sid not in {n for mm in BY_ID[needed].methods for n in mm.needs}, "services must not need each other"


# --------------------------------------------------------------------------- behaviour, per coefficient set


@pytest.mark.parametrize(("sid", "method"), cases())
def test_method_runs_on_its_declared_inputs_in_its_declared_units(coefs, make_landscape, sid, method):
    spec = BY_ID[sid]
    ls = landscape(make_landscape, coefs, _needed_inputs(sid, method))
    res = _run(ls, coefs, sid, method)
    if spec.output_unit.startswith("various"):
        assert res.quantity is None
    else:
        unit = res.quantity.attrs["units"]
        assert ureg.Unit(unit).dimensionality == ureg.Unit(spec.output_unit).dimensionality, f"{sid}: {unit} is not {spec.output_unit}"
        assert np.isfinite(res.quantity.values).all()
    valuation = Valuation.of(coefs, 2022)
    assert res.components
    patterns = [re.compile(re.escape(k).replace(re.escape("<product>"), r"[\w-]+") + r"$") for k in spec.price_keys]
    for comp in res.components:
        v = valuation.current(comp)
        assert np.isfinite(v.value.values).all()
        if any(comp.price_source.startswith(f"{t.name} table") for t in spec.tables):
            continue  # a price the user's table gives (visitor spending, housing premium)
        source = re.match(r"[\w.-]+", comp.price_source).group(0)  # the price key, before any factor or note
        assert any(p.match(source) for p in patterns), f"{sid}: price {comp.price_source!r} is not among the spec's price keys {spec.price_keys}"


#: Inputs that stand in for each other (ServiceSpec.alternatives): tested alternative by alternative below.
GROUPED = {(s.id, n) for s in CATALOGUE for group in s.alternatives for alt in group for n in alt}
OPTIONAL = [(s.id, m.name, i.name) for s in CATALOGUE for m in s.methods for i in s.inputs_of(m.name) if not i.required and (s.id, i.name) not in GROUPED]
ALTERNATIVES = [(s.id, m.name, g, a) for s in CATALOGUE for m in s.methods for g, group in enumerate(s.alternatives)
                for a in range(len(group)) if {n for alt in group for n in alt} & {i.name for i in s.inputs_of(m.name)}]
REQUIRED = [(s.id, m.name, i.name) for s in CATALOGUE for m in s.methods for i in s.inputs_of(m.name) if i.required]


@pytest.mark.parametrize(("sid", "method", "name"), OPTIONAL)
def test_an_optional_input_can_be_left_out(coefs, make_landscape, sid, method, name):
    names = [n for n in _needed_inputs(sid, method) if n != name]
    _run(landscape(make_landscape, coefs, names), coefs, sid, method)


@pytest.mark.parametrize(("sid", "method", "group", "alternative"), ALTERNATIVES)
def test_each_alternative_of_a_group_suffices_and_none_fails(coefs, make_landscape, sid, method, group, alternative):
    """E.g. soil retention runs on k_factor or on sand + silt + clay + organic carbon, and not on neither."""
    spec = BY_ID[sid]
    alts = spec.alternatives[group]
    others = {n for i, alt in enumerate(alts) if i != alternative for n in alt}
    names = [n for n in _needed_inputs(sid, method) if n not in others]
    coef = _with_root_depths(coefs)
    _run(landscape(make_landscape, coef, names), coef, sid, method)
    with pytest.raises(GepError):
        _run(landscape(make_landscape, coef, [n for n in names if n not in alts[alternative] or n in others]), coef, sid, method)


def _with_root_depths(coef):
    """The set with InVEST biophysical values for every class (root depths are not in the shipped sets)."""
    codes = coef.legend.codes
    table = pd.DataFrame({"lucode": codes, "lulc_veg": coef.legend.vegetated.astype(int), "root_depth": 1500.0, "kc": 0.8})
    return coef.with_biophysical_table(table, "scenario/biophysical.csv", "0" * 64)


@pytest.mark.parametrize(("sid", "method", "name"), REQUIRED)
def test_a_required_input_cannot_be_left_out(coefs, make_landscape, sid, method, name):
    names = [n for n in _needed_inputs(sid, method) if n != name]
    with pytest.raises(GepError, match=f"'{name}'"):
        _run(landscape(make_landscape, coefs, names), coefs, sid, method)


def test_every_method_has_a_hand_test_next_to_its_module():
    """The function of every method lives in a service module with hand-computed tests at tests/accounting/services/test_<module>.py."""
    from pathlib import Path

    here = Path(__file__).parent / "services"
    for spec in CATALOGUE:
        for m in spec.methods:
            module = m.compute.__module__.rsplit(".", 1)[-1]
            assert m.compute.__module__ == f"gep.accounting.services.{module}"
            test = (here / f"test_{module}.py").read_text(encoding="utf-8")
            named = f'"{spec.id}"' in test and (len(spec.methods) == 1 or f'"{m.name}"' in test)
            assert named, f"{spec.id} ({m.name}): no hand test in {here.name}/test_{module}.py"
