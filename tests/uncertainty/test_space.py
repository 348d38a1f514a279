"""The uncertain variables: distributions by confidence, correlated draws, fixed rows, declarations and their errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.errors import ScenarioError
from gep.uncertainty import space as sp


def _ranges(rows):
    cols = ["parameter", "key", "value", "low", "high", "unit", "confidence", "range_basis", "source"]
    return pd.DataFrame([dict(zip(cols, r + ("basis", "src"))) for r in rows], columns=cols)


ROWS = _ranges([
    ("a.uniform", "", 2.0, 1.0, 5.0, "m", "assumed"),
    ("a.tri", "", 2.0, 1.0, 5.0, "m", "recalled"),
    ("a.norm", "", 3.0, 1.0, 5.0, "m", "verified"),
    ("a.lut", "11", 1.0, 0.5, 1.5, "-", "assumed"),
    ("a.lut", "12", 2.0, 1.0, 3.0, "-", "assumed"),
    ("a.none", "", 7.0, np.nan, np.nan, "m", "verified"),
    ("a.flat", "", 7.0, 7.0, 7.0, "m", "recalled"),
])


def _build(decl=None, overrides=frozenset(), inputs=None):
    return sp.build(ROWS, set(overrides), decl, inputs or {"precipitation": "mm/yr"}, "s.toml")


def test_distribution_follows_confidence_and_moments_are_right():
    s = _build()
    u = (np.arange(20000) + 0.5) / 20000
    by = {v.name: v for v in s.variables}
    assert [by[n].distribution for n in ("a.uniform", "a.tri", "a.norm")] == ["uniform", "triangular", "normal"]
    x = by["a.uniform"].ppf(u)
    assert x.min() >= 1.0 and x.max() <= 5.0 and abs(x.mean() - 3.0) < 1e-3
    t = by["a.tri"].ppf(u)
    assert abs(t.mean() - (1.0 + 2.0 + 5.0) / 3) < 1e-3  # triangular mean (a + c + b) / 3
    n = by["a.norm"].ppf(u)
    assert n.min() >= 1.0 and n.max() <= 5.0 and abs(n.mean() - 3.0) < 1e-3
    assert 0.8 < n.std() < 1.0  # sigma = range/4 = 1, truncated at ±2 sigma: 0.88


def test_rows_without_a_range_overrides_and_declared_fixed_rows_are_held():
    s = _build({"fixed": ["a.tri"]}, overrides={("a.uniform", "")})
    held = {f["name"]: f["reason"] for f in s.fixed}
    assert "no range" in held["a.none"] and "low = high" in held["a.flat"]
    assert "overridden" in held["a.uniform"] and "fixed" in held["a.tri"]
    assert {v.name for v in s.variables} == {"a.norm", "a.lut[11]", "a.lut[12]"}


def test_a_correlated_parameter_is_one_draw_for_all_its_keys():
    s = _build({"correlated": ["a.lut"]})
    lut = [v for v in s.variables if v.parameter == "a.lut"]
    assert lut[0].column == lut[1].column and s.columns[lut[0].column] == "a.lut"
    vals = s.values(np.full((1, len(s.columns)), 0.25))[0]
    names = s.names
    assert vals[names.index("a.lut[11]")] == pytest.approx(0.75) and vals[names.index("a.lut[12]")] == pytest.approx(1.5)


def test_declared_ranges_distributions_and_input_errors():
    s = _build({"coefficients": {"a.none": {"low": 6.0, "high": 8.0}, "a.tri": {"distribution": "uniform"}},
                "inputs": {"precipitation": {"relative": 0.1}}, "distributions": {"verified": "uniform"}})
    by = {v.name: v for v in s.variables}
    assert (by["a.none"].low, by["a.none"].high, by["a.none"].distribution) == (6.0, 8.0, "uniform")
    assert by["a.tri"].distribution == "uniform"
    p = by["input:precipitation"]
    assert (p.kind, p.key, p.low, p.high, p.value, p.distribution) == ("input", "relative", 0.9, 1.1, 1.0, "normal")


def test_low_and_high_on_a_bare_name_set_the_row_without_a_key():
    rows = pd.concat([ROWS, _ranges([("a.lut", "", 1.5, 0.5, 3.0, "-", "recalled")])], ignore_index=True)
    s = sp.build(rows, set(), {"coefficients": {"a.lut": {"low": 1.0, "high": 2.0}}}, {}, "s.toml")
    by = {v.name: v for v in s.variables}
    assert (by["a.lut"].low, by["a.lut"].high) == (1.0, 2.0)
    assert (by["a.lut[11]"].low, by["a.lut[11]"].high) == (0.5, 1.5)  # the keyed rows keep their ranges
    with pytest.raises(ScenarioError, match="has 2 keys"):  # without a keyless row the name is the whole parameter
        _build({"coefficients": {"a.lut": {"low": 1.0, "high": 2.0}}})


def test_restrict_renumbers_columns():
    s = _build().restrict({"a.lut[12]", "a.norm"})
    assert s.names == ["a.norm", "a.lut[12]"] and [v.column for v in s.variables] == [0, 1] and len(s.columns) == 2


@pytest.mark.parametrize("decl, words", [
    ({"coefficients": {"a.unifrom": {"relative": 0.1}}}, ["a.unifrom", "did you mean 'a.uniform'"]),
    ({"coefficients": {"a.uniform": {"low": 3.0, "high": 2.0}}}, ["a.uniform", "low 3 > high 2"]),
    ({"inputs": {"precipitaton": {"relative": 0.1}}}, ["precipitaton", "did you mean 'precipitation'"]),
    ({"inputs": {"precipitation": {"low": 1.2, "high": 0.8}}}, ["precipitation", "low 1.2 > high 0.8"]),
    ({"correlated": ["a.nope"]}, ["a.nope"]),
    ({"distributions": {"assumed": "lognormal"}}, ["lognormal"]),
    ({"samples": 3}, ["unknown key"]),
])
def test_bad_declarations_name_what_is_wrong(decl, words):
    with pytest.raises(ScenarioError) as e:
        _build(decl)
    assert all(w in e.value.line() for w in words), e.value.line()
