"""Shared fixtures: the shipped coefficient set and a tiny in-memory landscape builder.

``make_landscape(codes, zones, inputs)`` builds a :class:`gep.accounting.landscape.Landscape`
the way :func:`gep.accounting.region.build` does, without files:

* ``codes``: land-cover codes per cell (0 = nodata);
* ``zones``: zone id per cell (0 = outside the region);
* ``inputs``: ``{name: (array or scalar, unit)}`` gridded inputs;
* every inside cell has area ``cell_size²`` m² (0 outside).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gep.accounting import coefficients
from gep.jobs.inputs import coefficient_set
from gep.accounting.landscape import Landscape

CN = "cn-2022"


def build_landscape(
    coef,
    codes,
    zones,
    inputs: dict | None = None,
    tables: dict | None = None,
    cell_size: float = 30.0,
    year: int = 2022,
    zone_ids=None,
) -> Landscape:
    """A landscape on a ``(y, x)`` grid from plain arrays (see the module docstring)."""
    codes = np.asarray(codes, dtype=np.int64)
    zvals = np.broadcast_to(np.asarray(zones, dtype=np.int64), codes.shape)
    ids = np.asarray(sorted(set(zvals[zvals > 0].tolist())) if zone_ids is None else sorted(zone_ids), dtype=np.int64)
    idx, _ = coefficients.class_index(coef.legend, codes)
    pos = np.searchsorted(ids, zvals)
    known = (zvals > 0) & (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == zvals)
    inside = (idx >= 0) & known
    class_index = np.where(inside, idx, -1).astype(np.int16)
    zone_index = np.where(inside, pos, -1).astype(np.int32)
    area = np.where(inside, float(cell_size) ** 2, 0.0)
    dims = ("y", "x")
    variables = {
        "class_index": (dims, class_index),
        "zone_index": (dims, zone_index),
        "cell_area": (dims, area, {"units": "m**2"}),
    }
    for name, (values, unit) in (inputs or {}).items():
        data = np.broadcast_to(np.asarray(values, dtype=np.float64), codes.shape).copy()
        variables[name] = (dims, data, {"units": unit})
    grid = xr.Dataset(variables, attrs={"cell_size_m": float(cell_size)})  # no y/x coordinates: services do not need them
    table = pd.DataFrame({"zone_id": ids, "name": [f"zone {i}" for i in ids], "name_zh": [f"区{i}" for i in ids]})
    present = np.unique(coef.legend.codes[class_index[class_index >= 0]])
    return Landscape(grid=grid, zones=table, tables=dict(tables or {}), legend=coef.legend, year=year, codes_present=present)


@pytest.fixture(scope="session")
def coef():
    """The shipped national coefficient set ``cn-2022`` (do not mutate; use ``with_overrides``)."""
    return coefficient_set(CN)


@pytest.fixture(scope="session")
def make_landscape(coef):
    """``make_landscape(codes, zones, inputs, tables=None, cell_size=30.0, ...)`` → Landscape."""

    def make(codes, zones, inputs=None, tables=None, cell_size=30.0, **kw):
        return build_landscape(kw.pop("coef", coef), codes, zones, inputs, tables, cell_size, **kw)

    return make
