"""Land-cover change operations on a 5 × 5 grid of 1-ha cells, every result checked by hand.

    codes                         zones
    11  11  11  12  12            1 1 1 2 2
    11 211 211  12  12            1 1 1 2 2
    11 211  51  12  12            1 1 1 2 2
    11  11  11  12  12            1 1 1 2 2
    43  43  43  43  43            1 1 1 1 1

Cells are 100 m × 100 m (1 ha). Distances are Euclidean between cell centres.
"""

from __future__ import annotations

import numpy as np
import pytest

from gep.accounting import changes
from gep.accounting.changes import ChangeGrid, apply_landcover, follow_class, validate
from gep.errors import ScenarioError

CODES = np.array([
    [11, 11, 11, 12, 12],
    [11, 211, 211, 12, 12],
    [11, 211, 51, 12, 12],
    [11, 11, 11, 12, 12],
    [43, 43, 43, 43, 43],
])
ZONES = np.array([
    [1, 1, 1, 2, 2],
    [1, 1, 1, 2, 2],
    [1, 1, 1, 2, 2],
    [1, 1, 1, 2, 2],
    [1, 1, 1, 1, 1],
])
INPUTS = ("precipitation", "et", "npp", "fcover")


def grid(regions=None) -> ChangeGrid:
    return ChangeGrid(CODES.copy(), ZONES.copy(), np.full(CODES.shape, 1e4), (100.0, 100.0), regions or {})


def ops(*raw) -> list[dict]:
    clean, probs = validate(list(raw), INPUTS)
    assert not probs, probs
    return clean


def changed_cells(res) -> set[tuple[int, int]]:
    return {tuple(map(int, rc)) for rc in np.argwhere(res.codes != res.original)}


def test_convert_entirely_inside_a_zone(coef):
    res = apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 51, "zones": [2]}), coef.legend)
    assert changed_cells(res) == {(r, c) for r in range(4) for c in (3, 4)}
    (e,) = res.log
    assert e["cells"] == 8 and e["area_ha"] == pytest.approx(8.0)
    assert e["by_class_ha"] == {"12": 8.0} and e["by_zone_ha"] == {"2": 8.0}


def test_convert_fraction_row_major(coef):
    res = apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 51, "fraction": 0.5, "order": "row_major"}), coef.legend)
    assert changed_cells(res) == {(0, 3), (0, 4), (1, 3), (1, 4)}  # ceil(0.5 × 8) = 4, north to south


def test_convert_fraction_rounds_up_to_whole_cells(coef):
    res = apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 51, "fraction": 0.3, "order": "row_major"}), coef.legend)
    assert len(changed_cells(res)) == 3  # 0.3 × 8 = 2.4 → 3 cells


#: Paddy cells 100 m from the forest (211 at (1,1), (1,2), (2,1)); the other paddy cells are ≥ 141 m away.
ADJACENT = {(0, 1), (0, 2), (1, 0), (2, 0), (3, 1)}


def test_convert_nearest_first(coef):
    five = apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 213, "area_ha": 5, "near": [211]}), coef.legend)
    assert changed_cells(five) == ADJACENT
    two = apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 213, "area_ha": 2, "near": [211]}), coef.legend)
    assert len(changed_cells(two)) == 2 and changed_cells(two) <= ADJACENT
    six = apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 213, "area_ha": 6, "near": [211]}), coef.legend)
    extra = changed_cells(six) - ADJACENT
    assert ADJACENT <= changed_cells(six) and len(extra) == 1 and extra <= {(0, 0), (3, 0), (3, 2)}  # the 141 m cells


def test_ties_are_deterministic_and_follow_the_seed(coef):
    a = apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 213, "area_ha": 2, "near": [211]}), coef.legend)
    b = apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 213, "area_ha": 2, "near": [211]}), coef.legend)
    assert changed_cells(a) == changed_cells(b)
    picks = {frozenset(changed_cells(apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 213, "area_ha": 2, "near": [211], "seed": s}), coef.legend))) for s in range(8)}
    assert len(picks) > 1 and all(p <= ADJACENT for p in picks)


def test_area_is_reached_with_at_most_one_cell_more(coef):
    res = apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 53, "area_ha": 2.5}), coef.legend)
    assert res.log[0]["cells"] == 3 and res.log[0]["area_ha"] == pytest.approx(3.0) and res.log[0]["requested_ha"] == pytest.approx(2.5)


def test_shortfall_is_an_error_unless_allowed(coef):
    with pytest.raises(ScenarioError, match=r"asks for 100 ha but only 8\.00 ha"):
        apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 53, "area_ha": 100}), coef.legend)
    res = apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 53, "area_ha": 100, "allow_shortfall": True}), coef.legend)
    assert res.log[0]["cells"] == 8


def test_zero_area_changes_nothing(coef):
    for raw in ({"op": "convert", "from": [11], "to": 51, "area_ha": 0}, {"op": "convert", "from": [11], "to": 51, "fraction": 0.0}):
        res = apply_landcover(grid(), ops(raw), coef.legend)
        assert not res.changed.any() and res.log[0]["cells"] == 0


def test_a_to_b_then_b_to_a_restores_the_map(coef):
    res = apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 31, "zones": [2]}, {"op": "convert", "from": [31], "to": 12, "zones": [2]}), coef.legend)
    np.testing.assert_array_equal(res.codes, CODES)
    assert [e["cells"] for e in res.log] == [8, 8]


def test_operations_apply_in_order(coef):
    # the second operation sees the first one's result
    res = apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 31, "zones": [2]}, {"op": "convert", "from": [31], "to": 51, "fraction": 0.25, "order": "row_major"}), coef.legend)
    assert (res.codes == 51).sum() == 1 + 2 and (res.codes == 31).sum() == 6


def test_ecosystem_names_expand_to_codes(coef):
    res = apply_landcover(grid(), ops({"op": "convert", "from": ["cropland"], "to": 53, "zones": [2]}), coef.legend)
    assert res.log[0]["cells"] == 8
    res = apply_landcover(grid(), ops({"op": "convert", "from": "cropland", "to": 53}), coef.legend)
    assert res.log[0]["cells"] == 8 + 8  # 8 paddy + 8 dry cropland


def test_protect_classes_and_regions(coef):
    res = apply_landcover(grid(), ops({"op": "protect", "classes": [11]}, {"op": "convert", "from": ["cropland"], "to": 53}), coef.legend)
    assert changed_cells(res) == {(r, c) for r in range(4) for c in (3, 4)}
    assert res.log[0]["cells"] == 8 and res.log[1]["protected_cells_skipped"] == 8
    # a protect listed after the conversion still applies (protections hold for the whole scenario)
    res2 = apply_landcover(grid(), ops({"op": "convert", "from": ["cropland"], "to": 53}, {"op": "protect", "zones": [2]}), coef.legend)
    assert changed_cells(res2) == {(r, c) for r, c in np.argwhere(CODES == 11)}
    # a polygon region: cells covered by at least half
    poly = np.zeros(CODES.shape)
    poly[0:2, 3:5] = [[1.0, 0.6], [0.5, 0.49]]
    res3 = apply_landcover(grid({"polygon:p.geojson": poly}), ops({"op": "protect", "polygon": "p.geojson"}, {"op": "convert", "from": [12], "to": 53}), coef.legend)
    assert changed_cells(res3) == {(r, c) for r in range(4) for c in (3, 4)} - {(0, 3), (0, 4), (1, 3)}


def test_convert_inside_a_mask(coef):
    mask = np.zeros(CODES.shape)
    mask[3, :] = 1.0
    res = apply_landcover(grid({"mask:m.tif": mask}), ops({"op": "convert", "from": ["cropland"], "to": 46, "mask": "m.tif"}), coef.legend)
    assert changed_cells(res) == {(3, c) for c in range(5)}


def test_target_share(coef):
    # forest 3 ha of 25 ha = 12 %; 40 % needs 10 ha: 7 more, nearest to forest first (5 at 100 m, 2 at 141 m)
    res = apply_landcover(grid(), ops({"op": "target", "classes": ["forest"], "share": 0.4, "from": [11], "to": 211, "by_year": 2030}), coef.legend)
    e = res.log[0]
    assert e["share_before"] == pytest.approx(0.12) and e["share_after"] == pytest.approx(0.40)
    assert e["cells"] == 7 and e["needed_ha"] == pytest.approx(7.0)
    assert ADJACENT <= changed_cells(res) and changed_cells(res) - ADJACENT <= {(0, 0), (3, 0), (3, 2)}


def test_target_already_met_and_unreachable(coef):
    res = apply_landcover(grid(), ops({"op": "target", "classes": [211], "share": 0.1, "from": [11], "to": 211}), coef.legend)
    assert res.log[0]["cells"] == 0 and res.log[0]["already_met"]
    with pytest.raises(ScenarioError, match="share 90.00% needs"):
        apply_landcover(grid(), ops({"op": "target", "classes": [211], "share": 0.9, "from": [11], "to": 211}), coef.legend)
    with pytest.raises(ScenarioError, match="not one of the target classes"):
        apply_landcover(grid(), ops({"op": "target", "classes": [211], "share": 0.5, "from": [11], "to": 212}), coef.legend)


def test_target_inside_a_zone(coef):
    # zone 2: 8 ha of dry cropland, no forest; 25 % forest → 2 ha
    res = apply_landcover(grid(), ops({"op": "target", "classes": ["forest"], "share": 0.25, "from": [12], "to": 213, "zones": [2]}), coef.legend)
    assert res.log[0]["cells"] == 2 and res.log[0]["region_ha"] == pytest.approx(8.0)


def test_unknown_codes_and_zones(coef):
    with pytest.raises(ScenarioError, match="'to' code 99 is not in the legend"):
        apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 99}), coef.legend)
    with pytest.raises(ScenarioError, match="code 98 is not in the legend"):
        apply_landcover(grid(), ops({"op": "convert", "from": [98], "to": 11}), coef.legend)
    with pytest.raises(ScenarioError, match=r"zone\(s\) \[7\] are not in the zones raster"):
        apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 12, "zones": [7]}), coef.legend)


def test_validation_reports_every_problem():
    raw = [
        {"op": "conver", "from": [11], "to": 51},
        {"op": "convert", "from": [11], "to": 51, "are_ha": 3},
        {"op": "target", "classes": ["forest"], "share": 56, "from": [12], "to": 213},
        {"op": "convert", "from": [11]},
        {"op": "input", "input": "precipitaton", "scale": 1.1},
        {"op": "input", "input": "precipitation", "scale": 1.1, "add": "3 mm/yr"},
        {"op": "protect"},
        {"op": "convert", "from": ["woods"], "to": 51, "area_ha": 1, "fraction": 0.5},
    ]
    ok, probs = validate(raw, INPUTS)
    assert ok == []
    text = " | ".join(f"#{p.index} {p.key}: {p.message}" for p in probs)
    for expected in ("#0 op: unknown operation 'conver' (did you mean 'convert'?)", "#1 are_ha: unknown key", "did you mean 'area_ha'?",
                     "#2 share: must be a fraction in [0, 1], got 56 (a fraction: 0.56 for 56 %)", "#3 to: is required",
                     "#4 input: unknown input 'precipitaton' (did you mean 'precipitation'?)", "#5 op: input changes need exactly one of",
                     "#6 op: protect needs", "#7 from: must be land-cover codes or ecosystem names", "#7 fraction: give either area_ha or fraction"):
        assert expected in text, (expected, text)
    assert validate({"op": "convert"}, INPUTS)[1][0].index is None


def test_follow_class_takes_the_zone_mean_of_the_new_class(coef):
    npp = np.where(CODES == 211, 800.0, np.where(np.isin(CODES, [11, 12]), 500.0, 100.0))
    npp[1, 1] = 900.0  # forest in zone 1: 900, 800, 800 → mean 833.33
    res = apply_landcover(grid(), ops({"op": "convert", "from": [11], "to": 211, "area_ha": 1, "near": [211]}, {"op": "convert", "from": [12], "to": 211, "zones": [2], "area_ha": 1}), coef.legend)
    new, log = follow_class(npp, res, ZONES, coef.legend, "npp")
    (z1,) = [tuple(rc) for rc in np.argwhere((res.codes != CODES) & (ZONES == 1))]
    (z2,) = [tuple(rc) for rc in np.argwhere((res.codes != CODES) & (ZONES == 2))]
    assert new[z1] == pytest.approx(2500.0 / 3)  # zone 1 has forest: its mean
    assert new[z2] == pytest.approx(2500.0 / 3)  # zone 2 has no forest: the region's mean
    assert log == {"input": "npp", "cells": 2, "from_zone": 1, "from_region": 1, "kept": 0}
    unchanged = res.codes == CODES
    np.testing.assert_array_equal(new[unchanged], npp[unchanged])
    # a class present nowhere keeps the cell's value
    res2 = apply_landcover(grid(), ops({"op": "convert", "from": [12], "to": 66, "zones": [2], "area_ha": 1}), coef.legend)
    new2, log2 = follow_class(npp, res2, ZONES, coef.legend, "npp")
    np.testing.assert_array_equal(new2, npp)
    assert log2["kept"] == 1


def test_apply_input_scale_add_replace():
    v = np.arange(6.0).reshape(2, 3)
    sel = np.array([[True, False, False], [False, False, True]])
    op = changes.InputChange
    np.testing.assert_allclose(changes.apply_input(v, op(input="et", scale=1.1), None), v * 1.1)
    np.testing.assert_allclose(changes.apply_input(v, op(input="et", scale=2.0), sel), np.where(sel, v * 2, v))
    np.testing.assert_allclose(changes.apply_input(v, op(input="et", add={"value": 10, "units": "mm/yr"}), sel, add=10.0), np.where(sel, v + 10, v))
    np.testing.assert_allclose(changes.apply_input(v, op(input="et", value={"value": 7, "units": "mm/yr"}), None, replacement=7.0), np.full(v.shape, 7.0))


def test_cell_key_is_a_fixed_hash():
    k = changes.cell_key(np.arange(5))
    np.testing.assert_array_equal(k, changes.cell_key(np.arange(5)))
    assert len(set(k.tolist())) == 5
    assert not np.array_equal(k, changes.cell_key(np.arange(5), seed=1))


def test_basin_conversion_uses_the_changes_module():
    from gep.capacity.basin import apply_conversions

    catch = np.where(ZONES == 2, 5, 1)
    lc, log = apply_conversions(CODES, catch, [{"catchment": 5, "from": [12], "to": 51, "share": 0.3}])
    assert log == [{"catchment": 5, "from": [12], "to": 51, "share": 0.3, "cells_converted": 3}]
    assert {tuple(rc) for rc in np.argwhere(lc != CODES)} == {(0, 3), (0, 4), (1, 3)}
