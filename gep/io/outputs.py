"""Writing a run's outputs: CSV (UTF-8 with BOM), Parquet, NetCDF, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import xarray as xr

from gep.io.files import sha256_files


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV in UTF-8 with BOM so Excel opens Chinese names correctly."""
    df.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.10g", lineterminator="\n")


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False)


def write_netcdf(ds: xr.Dataset, path: Path) -> None:
    """NetCDF4 (h5netcdf) with zlib compression of every data variable.

    Written through xarray's h5netcdf store (``Dataset.dump_to_store``): the same bytes as ``Dataset.to_netcdf``,
    which first asks whether dask's scheduler is a ``dask.distributed`` client and so imports it (0.16 s of every
    run; benchmarks/RESULTS.md, session 11). The store takes HDF5's lock (every write to the file holds it), not the
    lock xarray would choose by asking the same question; lazy (dask) variables are computed and written by the
    store's writer.
    """
    from xarray.backends import H5NetCDFStore
    from xarray.backends.common import ArrayWriter
    from xarray.backends.locks import HDF5_LOCK

    encoding = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars if ds[v].dtype.kind in "fiu"}
    store = H5NetCDFStore.open(path, mode="w", lock=HDF5_LOCK)
    try:
        writer = ArrayWriter()
        ds.dump_to_store(store, writer=writer, encoding=encoding)
        writer.sync()
    finally:
        store.close()


#: Deflate level of the per-cell layers: on the demo's class-patterned maps zlib's level 1 took 0.5-0.8 ×
#: the CPU time of level 4 for chunks 1.2-3 × larger, still at most 12 % of the raw bytes
#: (benchmarks/RESULTS.md). The chunks are deflated by ISA-L (python-isal; ordinary zlib streams, as
#: HDF5's gzip filter reads them): at level 1 it took a third of zlib's CPU time on the blocks of the
#: 8000² benchmark's layers, for chunks 0.9-1.1 × the size (benchmarks/RESULTS.md, session 5).
CELLS_ZLIB_LEVEL = 1
#: A chunk is stored compressed only when a sample of it compresses below this share of its size;
#: noisy float maps (water yield from measured precipitation) are stored as they are: zlib
#: spends 20-40 ns a cell on them to save less than half the bytes.
CELLS_WORTH_COMPRESSING = 0.5


def write_cells(ds: xr.Dataset, path: Path, rows: int, observe=None, threads: int | None = None, only_observed=()) -> None:
    """Write per-cell layers (dims ``y, x``; numpy or dask) to NetCDF4 block by block, each layer once.

    Blocks of ``rows`` whole rows (the last may be shorter) are computed on the local
    threads, each compressed on its own thread (a chunk that does not compress well is
    stored as it is, which HDF5 marks per chunk) and written as
    one HDF5 chunk of ``rows`` × width cells (deflate by ISA-L, no shuffle: class-patterned maps compress
    better without it). ``observe(name, row0, block)`` is called
    with every block of every layer as it is written (value digests), from the writing
    threads, in no particular order. Coordinates (scalar ones too: the grid mapping of
    :func:`gep.io.raster.georeferenced`) and attributes are written as xarray writes
    them; readers see an ordinary NetCDF4 file.

    Parameters
    ----------
    ds : Dataset
        Per-cell layers, dims ``(y, x)``, with their attributes; coordinates ``y``, ``x``.
    path : Path
        NetCDF file written.
    rows : int
        Rows per block and per HDF5 chunk.
    observe : callable, optional
        ``observe(name, row0, block)``.
    threads : int, optional
        Threads computing, digesting and compressing blocks (default: dask's, one per core).
    only_observed : iterable of str
        Layers computed in the same pass and handed to ``observe`` but not written to the file.
    """
    import threading

    import dask
    import dask.array as dsa
    import dask.threaded
    import h5netcdf
    import h5py
    import numpy as np

    computed = [n for n in ds.data_vars if ds[n].dims == ("y", "x")]
    names = [n for n in computed if n not in set(only_observed)]
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    rows = max(1, min(int(rows), ny))
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"y": ny, "x": nx}
        for c in ("y", "x"):
            var = f.create_variable(c, (c,), ds[c].dtype)
            var[:] = ds[c].values
            var.attrs.update(ds[c].attrs)
        scalars = [n for n in ds.variables if ds[n].ndim == 0]  # the grid mapping (spatial_ref) of a georeferenced dataset
        for name in scalars:
            var = f.create_variable(name, (), ds[name].dtype)
            var[...] = ds[name].values
            var.attrs.update(ds[name].attrs)
        linked = " ".join(str(n) for n in scalars if n in ds.coords)
        for name in names:
            a = ds[name]
            fill = np.nan if a.dtype.kind == "f" else None
            var = f.create_variable(name, ("y", "x"), a.dtype, chunks=(rows, nx), compression="gzip", compression_opts=CELLS_ZLIB_LEVEL, fillvalue=fill)
            var.attrs.update({k: v for k, v in a.attrs.items() if k != "_FillValue"})
            if linked:
                var.attrs["coordinates"] = linked  # read back as coordinates, as xarray writes them
        for k, v in ds.attrs.items():
            f.attrs[k] = v
    lock = threading.Lock()
    compressed: dict = {}
    with h5py.File(path, "r+") as f:
        datasets = {name: f[name] for name in names}

        def store(name: str, row0: int, block: np.ndarray) -> None:
            if observe is not None:
                observe(name, row0, block)
            if name not in datasets:
                return
            chunk, mask = _chunk_bytes(block, rows, compressed)
            with lock:
                datasets[name].id.write_direct_chunk((row0, 0), chunk, filter_mask=mask)

        arrays = [ds[n].data if hasattr(ds[n].data, "map_blocks") else dsa.from_array(ds[n].data, chunks=(rows, -1)) for n in computed]
        # the writing threads compute, digest and compress the blocks; HDF5 writes one chunk at a time. Rechunked by
        # tasks, as dask does without a dask.distributed client (named, dask imports dask.distributed to look for one)
        targets = [_Sink(n, store) for n in computed]
        blocks = [a.rechunk((rows, -1), method="tasks") for a in arrays]
        dask.compute(dsa.store(blocks, targets, lock=False, compute=False), scheduler=dask.threaded.get, num_workers=threads)


class _Sink:
    """A dask ``store`` target: each block of one layer is handed to ``store(name, row0, block)``."""

    def __init__(self, name: str, store):
        self.name, self.store = name, store

    def __setitem__(self, key, block) -> None:
        self.store(self.name, int(key[0].start or 0), block)


def _chunk_bytes(block, rows: int, cache: dict) -> tuple[bytes, int]:
    """One HDF5 chunk (``rows`` × width, padded) as stored, and its filter mask (0: deflated;
    1: stored as it is). Constant chunks (cell areas) are compressed once."""
    import numpy as np
    from isal import isal_zlib

    b = np.ascontiguousarray(block)
    if len(b) < rows:
        pad = np.zeros((rows - len(b),) + b.shape[1:], dtype=b.dtype)
        if b.dtype.kind == "f":
            pad[:] = np.nan
        b = np.concatenate([b, pad])
    constant = b.size and b.flat[0] == b.flat[-1] and b.min() == b.max()
    key = (b.dtype.str, b.shape, b.flat[0].item() if b.size else None)
    if constant and key in cache:
        return cache[key]
    data = b.reshape(-1).view(np.uint8)
    n = max(4096, len(data) // 16)
    sample = data[(len(data) - n) // 2 :][:n]  # from the middle of the chunk: a cheap first look
    if len(isal_zlib.compress(sample, CELLS_ZLIB_LEVEL)) > CELLS_WORTH_COMPRESSING * len(sample):
        out = (data.tobytes(), 1)
    else:
        packed = isal_zlib.compress(data, CELLS_ZLIB_LEVEL)
        out = (packed, 0) if len(packed) < CELLS_WORTH_COMPRESSING * len(data) else (data.tobytes(), 1)
    if constant:
        cache[key] = out
    return out


def copy_file(source: Path, path: Path) -> None:
    """Write ``path`` as a copy of ``source`` (bytes only: an output written once and copied, not computed twice)."""
    import shutil

    shutil.copyfile(source, path)


def write_text(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def hashes(folder: Path, names: list[str], known: dict[str, str] | None = None) -> dict[str, str]:
    """SHA-256 of the files ``names`` in ``folder`` (several at once: :func:`gep.io.files.sha256_files`), but for
    those ``known`` already (by name: taken as they were written, e.g. :meth:`gep.io.raster.CogWriter.finish`)."""
    known = {n: known[n] for n in names if n in (known or {})}
    rest = sorted(n for n in names if n not in known)
    return dict(sorted({**known, **dict(zip(rest, sha256_files(folder / n for n in rest)))}.items()))


def read_run(folder: Path) -> tuple[xr.Dataset, xr.Dataset | None, dict | None]:
    """A written run folder: its account (``account.nc``), cells (``cells.nc``, if present) and manifest."""
    from gep.errors import InputError

    folder = Path(folder)
    account = read_account(folder)
    try:
        cells = xr.load_dataset(folder / "cells.nc", engine="h5netcdf") if (folder / "cells.nc").is_file() else None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the run in {folder}: {exc}", hint="re-run `gep run` to rewrite it") from exc
    manifest = read_json(folder / "manifest.json") if (folder / "manifest.json").is_file() else None
    return account, cells, manifest


def read_account(folder: Path) -> xr.Dataset:
    """The account (``account.nc``, zone × service × ecosystem) of a run folder, loaded."""
    from gep.errors import InputError

    acc = Path(folder) / "account.nc"
    if not acc.is_file():
        raise InputError(f"{folder} is not a run folder (no account.nc)", hint="give a scenario .toml or a folder written by `gep run`")
    try:
        return xr.load_dataset(acc, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the run in {folder}: {exc}", hint="re-run `gep run` to rewrite it") from exc


def read_cells(path: Path, names: list[str]) -> tuple[dict, dict]:
    """Only the variables ``names`` of a per-cell NetCDF (``cells.nc``, ``delta_cells.nc``), and its attributes.

    Read with h5netcdf directly: nothing else of a file that may hold dozens of grids is
    decoded (a dashboard reads one grid in tens of milliseconds). ``_FillValue`` becomes NaN
    in floating-point grids; ``scale_factor``/``add_offset`` are applied when present.

    Returns
    -------
    (dict of str to numpy.ndarray, dict)
        The variables present among ``names`` (a missing one is left out), and the file's
        attributes (``crs``, ``transform``) plus ``grids``: the names of every (y, x) variable.
    """
    import h5netcdf
    import numpy as np

    from gep.errors import InputError

    try:
        with h5netcdf.File(path, "r") as f:
            attrs = dict(f.attrs)
            attrs["grids"] = [n for n, v in f.variables.items() if v.dimensions == ("y", "x")]
            values = {}
            for n in names:
                if n not in f.variables:
                    continue
                v = f.variables[n]
                a = v[...]
                fill = v.attrs.get("_FillValue")
                if fill is not None and a.dtype.kind == "f" and not np.isnan(fill):
                    a = np.where(a == fill, np.nan, a)
                if "scale_factor" in v.attrs or "add_offset" in v.attrs:
                    a = a * v.attrs.get("scale_factor", 1) + v.attrs.get("add_offset", 0)
                values[n] = a
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}", hint="re-run the command that wrote it") from exc
    return values, attrs
