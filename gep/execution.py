"""How a run executes: in memory or chunked, in blocks on both cores, locally or on a cluster.

Every run computes in blocks of whole rows (about :data:`BLOCK_CELLS` cells, dask arrays):
the services' arithmetic runs on one block at a time in float64, on as many threads
as the machine has cores, and no temporary is the size of the region. What differs is
where the inputs live. **In memory** (the default), each raster is read once, whole,
in the smallest type that holds it exactly (float32 values, the file's integer type for
codes) and the blocks are views of it. **Chunked**, each block is read from the files
when it is computed (twice: once for the zonal sums, once for the per-cell maps), so
memory stays bounded by the blocks in flight. :func:`plan` chooses in memory whenever
the rasters fit in :data:`MEMORY_SHARE` of the memory available, chunked otherwise.

A run collects the zonal sums of all its services in one :class:`ZonalBatch` and
computes them in one pass over the blocks: every input block is read once for every
service.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from gep.errors import GepError

if TYPE_CHECKING:
    import numpy as np

#: Cells per block: 2**20 (8 MiB per float64 temporary), the size of the 1024² chunks that were
#: faster and smaller than 2048² ones for the chunked whole account at 10⁸ cells
#: (benchmarks/RESULTS.md, session 2); other sizes were not measured for row blocks.
BLOCK_CELLS = 2**20
#: Memory [bytes] an in-memory run may spend holding the services' per-cell maps (float64) from the pass of the zonal
#: sums to the writing, so that they are not computed twice (:func:`gep.accounting.compute.account_landscape`):
#: the demo's 13 maps take 176 MB and save 0.6-1.4 CPU s (benchmarks/RESULTS.md, session 6); one map at
#: 8000² alone would take 512 MB.
HELD_MAPS_BYTES = 2**28
#: Side of the square a ``chunks`` setting names: ``chunks = 1024`` asks for blocks of 1024² cells.
DEFAULT_CHUNKS = 1024
#: Share of the available memory the rasters of an in-memory run may take (the machine is shared).
MEMORY_SHARE = 0.5
#: Working memory of the blocks in flight [bytes] on top of the rasters (2 threads × float64 temporaries).
WORKING_BYTES = 2**29


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.virtual_memory().available)


def threads() -> int:
    """Threads the local scheduler computes blocks on (the cores this process may use)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def block_rows(shape: tuple[int, ...], cells: int = BLOCK_CELLS) -> int:
    """Rows per block of a grid of ``shape``: whole rows, about ``cells`` cells (at least one row)."""
    width = 1
    for n in shape[1:]:
        width *= int(n)
    return max(1, min(int(shape[0]) if shape else 1, round(cells / max(1, width))))


def row_blocks(x: np.ndarray, rows: int) -> Any:
    """A dask array of blocks of ``rows`` whole rows that are views of the 2-D array ``x`` (:func:`view_blocks`)."""
    starts = range(0, x.shape[0], rows)
    return view_blocks(x, (tuple(min(rows, x.shape[0] - start) for start in starts), (x.shape[1],)))


def view_blocks(x: np.ndarray, chunks: tuple[tuple[int, ...], tuple[int, ...]]) -> Any:
    """A dask array of the 2-D array ``x`` (held whole) in ``chunks``, each block a view of ``x``.

    ``dask.array.from_array`` would copy each block when computed and hash ``x``'s bytes to name it
    (~5 ms of SHA-1 per million cells); these blocks share ``x``'s memory and are named at random.
    ``x`` must not be changed afterwards.
    """
    import uuid

    from dask.array.core import Array

    name = f"blocks-{uuid.uuid4().hex}"
    y0, x0 = ([0, *itertools.accumulate(c)][:-1] for c in chunks)  # each block's first row and column
    graph = {(name, i, j): x[y : y + h, c : c + w] for i, (y, h) in enumerate(zip(y0, chunks[0])) for j, (c, w) in enumerate(zip(x0, chunks[1]))}
    return Array(graph, name, chunks, dtype=x.dtype, meta=x[:0, :0])


@dataclass(frozen=True)
class Plan:
    """How a run executes (recorded in its manifest and shown in its summary).

    Attributes
    ----------
    mode : str
        ``"in memory"`` or ``"chunked"``.
    rows : int
        Rows per block (blocks are whole rows).
    cells : int
        Cells of the region.
    raster_bytes : int
        Memory the rasters take when read whole [bytes].
    reason : str
        Why this mode.
    """

    mode: str
    rows: int
    cells: int
    raster_bytes: int
    reason: str

    @property
    def chunked(self) -> bool:
        return self.mode == "chunked"

    def record(self) -> dict:
        """What the manifest records (the choice, not the memory of the machine that made it)."""
        return {"mode": self.mode, "rows_per_block": self.rows, "cells": self.cells, "raster_bytes": self.raster_bytes}


def plan(shape: tuple[int, int], bytes_per_cell: int, chunks: int | None = None, available: int | None = None) -> Plan:
    """In memory when the rasters fit in :data:`MEMORY_SHARE` of the available memory, else chunked.

    Parameters
    ----------
    shape : (int, int)
        Rows and columns of the region.
    bytes_per_cell : int
        Bytes per cell of every raster the run reads, in the types they are held in.
    chunks : int, optional
        Asks for a chunked run with blocks of about ``chunks``² cells (``--chunks``, ``[execution] chunks``).
    available : int, optional
        Available memory [bytes] (default: :func:`available_memory`).
    """
    cells = int(shape[0]) * int(shape[1])
    need = cells * int(bytes_per_cell)
    if chunks:
        return Plan("chunked", block_rows(shape, int(chunks) ** 2), cells, need, f"asked for: blocks of {int(chunks)}² cells")
    have = available if available is not None else available_memory()
    if need + WORKING_BYTES <= MEMORY_SHARE * have:
        return Plan("in memory", block_rows(shape), cells, need, f"{need / 2**30:.2f} GiB of rasters fit in {MEMORY_SHARE:.0%} of the {have / 2**30:.1f} GiB available")
    return Plan("chunked", block_rows(shape), cells, need, f"{need / 2**30:.2f} GiB of rasters do not fit in {MEMORY_SHARE:.0%} of the {have / 2**30:.1f} GiB available")


#: Allocations of container objects between two collections of Python's youngest generation during a run
#: (:func:`fewer_collections`; Python's default is 700).
RUN_GC_THRESHOLD = 10_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector tuned for an accounting run, as it was afterwards.

    The objects made so far (the imported modules: ~170,000 tracked objects) are frozen out of the collector's walks
    (:func:`gc.freeze`), and the youngest generation is collected every :data:`RUN_GC_THRESHOLD` allocations: the
    dask graphs of a run allocate many small containers, which made six full collections walking every module.
    The demo spent 0.60 s collecting, 0.23 s so; the 8000² water-yield benchmark 0.47 s, 0.24 s (measured with
    ``gc.callbacks``; benchmarks/RESULTS.md, session 8). Collection still runs, so arrays held in reference
    cycles are freed as before.
    """
    import gc

    with _RUNS_LOCK:  # runs on several threads (gep serve): the first in tunes, the last out restores
        if _RUNS["count"] == 0:
            _RUNS["threshold"] = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(RUN_GC_THRESHOLD, *_RUNS["threshold"][1:])
        _RUNS["count"] += 1
    try:
        yield
    finally:
        with _RUNS_LOCK:
            _RUNS["count"] -= 1
            if _RUNS["count"] == 0:
                gc.set_threshold(*_RUNS["threshold"])
                gc.unfreeze()


_RUNS_LOCK = threading.Lock()
#: Runs inside :func:`fewer_collections` now, and the collector's thresholds before the first of them.
_RUNS: dict = {"count": 0, "threshold": None}


@contextlib.contextmanager
def scheduler(address: str | None = None, workers: int | None = None) -> Iterator[object | None]:
    """Use an existing dask.distributed cluster (``address``) or start a local one (``workers``); else the
    local threads (named by the function itself: a scheduler named by a string makes dask import
    dask.distributed, about a second, to look for a client)."""
    if not address and not workers:
        import dask
        import dask.threaded

        with dask.config.set(scheduler=dask.threaded.get):
            yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise GepError("dask.distributed is not installed", hint="pip install 'dask[distributed]'") from exc
    if address:
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise GepError(f"cannot reach the dask scheduler at {address}: {exc}", hint="check the address (tcp://host:8786) and that the scheduler runs") from exc
        with client:
            yield client
        return
    with LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


class _Totals:
    """Totals of a batch by slot, filled by :meth:`ZonalBatch.run`, read by the placeholders."""

    def __init__(self) -> None:
        self.sums: dict[int, np.ndarray] = {}

    def get(self, slot: int) -> np.ndarray:
        if slot not in self.sums:
            raise RuntimeError("a zonal sum of a batch was used before ZonalBatch.run()")
        return self.sums[slot]


def _block_sums(key: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sums of one block's ``values`` by ``key`` (cells outside have key ``n``), shape (1, 1, n)."""
    import numpy as np

    out = np.bincount(key.ravel(), weights=np.broadcast_to(values, key.shape).ravel(), minlength=n + 1)[:n]
    return out.reshape(1, 1, n)


def zonal_sum(key: Any, values: Any, n: int) -> Any:
    """Lazy sums of dask ``values`` by the dask ``key`` (cells outside have key ``n``) into ``n`` bins.

    One ``np.bincount`` per block, then the sum over the blocks by a fixed tree, so the
    totals do not depend on the scheduler. ``values`` are broadcast and rechunked to the key's blocks.
    """
    import dask.array as da
    import numpy as np

    values = da.asarray(values)
    if values.shape != key.shape:
        values = da.broadcast_to(values, key.shape)
    if values.chunks != key.chunks:
        values = values.rechunk(key.chunks)
    nby, nbx = key.numblocks
    partial = da.map_blocks(_block_sums, key, values, n=n, new_axis=2, chunks=((1,) * nby, (1,) * nbx, (n,)), dtype=np.float64)
    return partial.sum(axis=(0, 1))


class ZonalBatch:
    """Zonal sums of a run, computed together in one pass over the blocks.

    Inside :meth:`gep.accounting.landscape.Landscape.collecting`, each zonal sum a service
    asks for is recorded (:meth:`add`) and answered with a lazy placeholder, so
    the service's zone-level arithmetic (caps, shares, prices) stays lazy.
    :meth:`run` then computes the sums of every recorded call in one dask
    computation (:func:`zonal_sum`): each block of each input is read once for
    all services, and the scheduler works through the blocks a few at a time.
    The placeholders then resolve to the totals.
    """

    def __init__(self) -> None:
        self._calls: list[tuple[Any, Any, int]] = []
        self._totals = _Totals()

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, key: Any, values: Any, n: int) -> Any:
        """Record the sum of ``values`` by the dask ``key`` (``n`` outside) into ``n`` bins; a lazy (n,) array."""
        import dask
        import dask.array as da
        import numpy as np

        slot = len(self._calls)
        self._calls.append((key, values, n))
        return da.from_delayed(dask.delayed(self._totals.get, pure=False)(slot), shape=(n,), dtype=np.float64)

    def run(self, also: tuple = ()) -> list:
        """Compute every recorded sum in one pass over the blocks (progress to :func:`chunk_progress`).

        One dask computation: each block's sums of every call, then the sum over the
        blocks by a fixed tree, so the totals do not depend on the scheduler. The dask
        arrays ``also`` are computed in the same pass (the work they share with the sums
        done once) and returned whole, in order.
        """
        import dask

        if not self._calls:
            return list(dask.compute(*also))
        key0 = self._calls[0][0]
        if any(key.chunks != key0.chunks for key, _, _ in self._calls):
            raise ValueError("zonal keys of one batch must share their chunks")
        done = dask.compute(*[zonal_sum(key, values, n) for key, values, n in self._calls], *also)
        self._totals.sums.update(enumerate(done[: len(self._calls)]))
        return list(done[len(self._calls) :])


@contextlib.contextmanager
def chunk_progress(report: Callable[[int, int], None] | None) -> Iterator[None]:
    """Report (done, total) dask tasks while chunked work runs (local schedulers)."""
    if report is None:
        yield
        return
    from dask.callbacks import Callback

    class _Progress(Callback):
        def _start_state(self, dsk, state):
            self._total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))

        def _posttask(self, key, result, dsk, state, worker_id):
            report(len(state["finished"]), self._total)

    with _Progress():
        yield
