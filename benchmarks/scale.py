"""Scale runs of the whole account on synthetic regions, each in a fresh process for peak RSS.

Usage::

    python benchmarks/scale.py CELLS [--chunks N | --numpy] [--service ID] [--zones 100]

prints one JSON line: cells, seconds, cells per second, peak RSS [MiB] of the
process, and the memory-bound baseline (one bincount of a land-cover look-up
over the same cells, in memory, for sizes that fit) with the ratio to it.

Without ``--chunks`` the region is held in memory as ``gep run`` holds it in memory: every grid
whole, computed in blocks of whole rows that are views of it (``gep.execution.row_blocks``, the
rows of ``gep.execution.block_rows``). ``--numpy`` computes on the whole numpy arrays instead
(the code runs on both; region-sized temporaries), which is not what a run does.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.synthetic import baseline, region  # noqa: E402
from gep.accounting import catalogue  # noqa: E402
from gep.jobs.inputs import coefficient_set  # noqa: E402
from gep.accounting.compute import account_landscape, compute_services  # noqa: E402

GRID_SERVICES = [s.id for s in catalogue.CATALOGUE if s.id not in ("provisioning", "recreation", "landscape")]


def tables(zones: int) -> dict[str, pd.DataFrame]:
    """Small per-zone tables so the tabular services run too."""
    z = np.arange(1, zones + 1)
    emissions = pd.DataFrame({"zone_id": np.repeat(z, 6), "pollutant": np.tile(["COD", "NH3-N", "TP", "SO2", "NOx", "dust"], zones), "load": 50.0, "unit": "t"})
    production = pd.DataFrame({"zone_id": z, "product": "rice", "ecosystem": "cropland", "quantity": 1000.0, "unit": "t"})
    visitors = pd.DataFrame({"zone_id": z, "site": "park", "visitors": 1e4, "travel_time": 2.0, "wage": 40.0, "direct_cost": 100.0})
    housing = pd.DataFrame({"zone_id": z, "floor_area": 1e5, "premium": 300.0})
    return {"emissions": emissions, "production": production, "visitors": visitors, "housing": housing}


def carbon_stock(ls, coef) -> tuple[np.ndarray, object]:
    """What the InVEST carbon model gives: the per-cell total-stock map [tC] (float32) and the totals by zone × ecosystem."""
    from gep.accounting.services import carbon

    stock_map = carbon.stock(carbon.pool_density(ls, coef.carbon_pools), ls.cell_area).astype(np.float32)
    return stock_map, carbon.stock_by_zone(ls, coef.carbon_pools)


def in_row_blocks(ls):
    """The landscape as ``gep run`` holds it in memory: each grid whole, in blocks of whole rows that are views of it."""
    from dataclasses import replace

    from gep import execution

    rows = execution.block_rows((ls.grid.sizes["y"], ls.grid.sizes["x"]))
    grid = ls.grid.map(lambda v: v.copy(data=execution.row_blocks(np.asarray(v.data), rows)) if v.dims == ("y", "x") else v, keep_attrs=True)
    return replace(ls, grid=grid)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("cells", type=float)
    p.add_argument("--chunks", type=int, default=None)
    p.add_argument("--service", default=None, help="one service id, or 'carbon_stock' (per-cell stock map and zone × ecosystem totals, as the InVEST carbon model); default the whole account")
    p.add_argument("--zones", type=int, default=100)
    p.add_argument("--numpy", action="store_true", help="in memory on whole numpy arrays, not in row blocks as gep run computes")
    a = p.parse_args()
    cells = int(a.cells)
    coef = coefficient_set("cn-2022")
    ls = region(cells, a.zones, a.chunks, coef=coef, inputs=[] if a.service == "carbon_stock" else None)
    ls.tables.update(tables(a.zones))
    switches = dict(coef.profile["switches"])
    out = {"cells": ls.grid.sizes["y"] * ls.grid.sizes["x"], "chunks": a.chunks, "zones": a.zones, "what": a.service or "whole account"}
    if a.chunks is None:
        t0 = time.perf_counter()
        baseline(ls)
        out["baseline_s"] = time.perf_counter() - t0
        if not a.numpy:
            out["what"] += ", in row blocks"
            ls = in_row_blocks(ls)
    t0 = time.perf_counter()
    if a.service == "carbon_stock":
        stock_map, by_zone = carbon_stock(ls, coef)
        total = float(by_zone.sum())
        out["map_sum"] = float(stock_map.sum(dtype=np.float64))
    elif a.service:
        methods = {"carbon_sequestration": "nep_rh", a.service: catalogue.BY_ID[a.service].default_method if a.service != "carbon_sequestration" else "nep_rh"}
        res = compute_services(ls, coef, [a.service], methods, switches)[a.service]
        total = float(sum(c.quantity.sum() for c in res.components))
    else:
        enabled = [s.id for s in catalogue.CATALOGUE]
        methods = {s: catalogue.BY_ID[s].default_method for s in enabled}
        methods["carbon_sequestration"] = "nep_rh"
        account, _ = account_landscape(ls, coef, enabled, methods, switches)
        total = account.gep
    out["seconds"] = time.perf_counter() - t0
    out["cells_per_second"] = out["cells"] / out["seconds"]
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["check_total"] = total
    if "baseline_s" in out:
        out["ratio_to_baseline"] = out["seconds"] / out["baseline_s"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
