"""gep.io.outputs: the account's NetCDF file."""

import dask.array as dsa
import numpy as np
import xarray as xr

from gep.io import outputs


def _account() -> xr.Dataset:
    rng = np.random.default_rng(3)
    value = rng.gamma(2.0, 1e6, size=(4, 3, 5))
    return xr.Dataset(
        {"value": (("zone", "service", "ecosystem"), value, {"units": "CNY/yr"}), "cells": (("zone", "ecosystem"), rng.integers(0, 9, (4, 5)))},
        coords={"zone": [1, 2, 3, 4], "service": ["a", "b", "c"], "ecosystem": list("vwxyz")},
        attrs={"price_year": 2022},
    )


def test_the_account_file_is_the_bytes_xarray_writes(tmp_path):
    ds = _account()
    outputs.write_netcdf(ds, tmp_path / "gep.nc")
    encoding = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars}
    ds.to_netcdf(tmp_path / "xarray.nc", engine="h5netcdf", encoding=encoding)
    assert (tmp_path / "gep.nc").read_bytes() == (tmp_path / "xarray.nc").read_bytes()
    back = xr.load_dataset(tmp_path / "gep.nc", engine="h5netcdf")
    assert back.identical(ds) and back["value"].encoding["zlib"]


def test_lazy_variables_are_computed_and_written(tmp_path):
    ds = _account()
    lazy = ds.assign(value=ds["value"].copy(data=dsa.from_array(ds["value"].values, chunks=(2, 3, 5))))
    outputs.write_netcdf(lazy, tmp_path / "lazy.nc")
    assert xr.load_dataset(tmp_path / "lazy.nc", engine="h5netcdf").identical(ds)
