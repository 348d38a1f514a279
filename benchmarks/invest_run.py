"""Run one InVEST 3.20 model on the files of ``benchmarks/invest_data.py``: the InVEST side of
``benchmarks/invest.py``. Runs inside InVEST's own environment (it imports ``natcap.invest``),
never gep's.

Usage::

    /path/to/venv-invest/bin/python benchmarks/invest_run.py carbon|awy DATADIR WORKSPACE

``carbon``: the carbon model, baseline land cover only (no sequestration, no valuation):
the per-cell stock of each pool and their total (``c_storage_bas.tif``, t C/ha) and the
summary table of the total stock. ``awy``: annual water yield with the four watersheds and
the seasonality constant Z of cn-2022: per-cell fractp, AET and water yield, the watershed
table and vector. ``n_workers`` = -1 (synchronous), InVEST's default.
"""

import os
import shutil
import sys

BUDYKO_Z = 3.0  # cn-2022 water_conservation.budyko_z, the value gep's scenario uses


def main() -> None:
    model, data, ws = sys.argv[1], sys.argv[2], sys.argv[3]
    if os.path.exists(ws):
        shutil.rmtree(ws)  # no taskgraph cache from an earlier run
    if model == "carbon":
        from natcap.invest.carbon import carbon as m

        args = {"workspace_dir": ws, "results_suffix": "", "n_workers": -1, "lulc_bas_path": os.path.join(data, "lulc.tif"),
                "carbon_pools_path": os.path.join(data, "carbon_pools.csv"), "calc_sequestration": False, "do_valuation": False}
    elif model == "awy":
        from natcap.invest.annual_water_yield import annual_water_yield as m

        args = {"workspace_dir": ws, "results_suffix": "", "n_workers": -1, "lulc_path": os.path.join(data, "lulc.tif"),
                "depth_to_root_rest_layer_path": os.path.join(data, "depth.tif"), "precipitation_path": os.path.join(data, "precip.tif"),
                "pawc_path": os.path.join(data, "pawc.tif"), "eto_path": os.path.join(data, "eto.tif"),
                "watersheds_path": os.path.join(data, "watersheds.geojson"), "biophysical_table_path": os.path.join(data, "biophysical.csv"),
                "seasonality_constant": BUDYKO_Z}
    else:
        raise SystemExit(f"unknown model {model!r}: carbon or awy")
    errors = m.validate(args)
    if errors:
        raise SystemExit(f"InVEST validation failed: {errors}")
    m.execute(args)


if __name__ == "__main__":
    main()
