"""How a run executes: in memory or chunked with dask, locally or on a cluster.

In memory, every input grid is a numpy array; a run that would not fit in the
machine's available memory is refused up front with a suggestion to use
a chunked run. Chunked, inputs are read lazily and zonal totals are chunk-wise
reductions, so peak memory is bounded by chunk size × number of inputs.

A chunked account collects the zonal sums of all its services in one
:class:`ZonalBatch` and computes them in one pass over the blocks: every input
block is read once for every service, and only a few blocks are in memory at
a time.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from gep.errors import GepError

if TYPE_CHECKING:
    import numpy as np

#: Chunk side [cells] suggested for chunked runs: 1024² cells (8 MiB per float64 grid) was faster
#: and leaner than 2048² on the whole account at 10⁸ cells (benchmarks/RESULTS.md).
DEFAULT_CHUNKS = 1024
#: Bytes of working memory per cell and per gridded input in an in-memory run
#: (float64 input + the arrays services derive from it), measured on the demo.
BYTES_PER_CELL_PER_INPUT = 48
#: Fixed bytes per cell (class and zone index, cell area, per-cell outputs).
BYTES_PER_CELL_BASE = 160


class ResourceError(GepError):
    """A run that would not fit in memory."""


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


def estimate_bytes(cells: int, n_inputs: int) -> int:
    """Peak memory of an in-memory run [bytes] (see the constants above)."""
    return cells * (BYTES_PER_CELL_BASE + BYTES_PER_CELL_PER_INPUT * n_inputs)


def check_fits(cells: int, n_inputs: int, available: int | None = None) -> None:
    """Refuse an in-memory run that would not fit, suggesting a chunked run (error key ``chunks``)."""
    need = estimate_bytes(cells, n_inputs)
    have = available if available is not None else available_memory()
    if need > 0.8 * have:
        raise ResourceError(
            f"an in-memory run of {cells:,} cells with {n_inputs} gridded inputs needs about {need / 2**30:.1f} GiB, "
            f"but only {have / 2**30:.1f} GiB of memory is available",
            hint=f"run it chunked, {DEFAULT_CHUNKS} × {DEFAULT_CHUNKS} cells per chunk (or [execution] chunks = {DEFAULT_CHUNKS} in the scenario)",
            key="chunks",
        )


@contextlib.contextmanager
def scheduler(address: str | None = None, workers: int | None = None) -> Iterator[object | None]:
    """Use an existing dask.distributed cluster (``address``) or start a local one (``workers``)."""
    if not address and not workers:
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


class ZonalBatch:
    """Zonal sums of a chunked run, computed together in one pass over the blocks.

    Inside :meth:`gep.accounting.landscape.Landscape.collecting`, each zonal sum a service
    asks for is recorded (:meth:`add`) and answered with a lazy placeholder, so
    the service's zone-level arithmetic (caps, shares, prices) stays lazy.
    :meth:`run` then computes the per-block sums of every recorded call,
    ``group`` blocks at a time: each block of each input is read once for all
    services, and at most ``group`` blocks' intermediates are in memory. Block
    sums are added in row-major block order, so the totals do not depend on
    the scheduler. The placeholders then resolve to the totals.
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

    def run(self, group: int | None = None) -> None:
        """Compute every recorded sum in one pass over the blocks (progress to :func:`chunk_progress`)."""
        import dask
        import dask.array as da
        import numpy as np

        if not self._calls:
            return
        key0 = self._calls[0][0]
        partials = []
        for key, values, n in self._calls:
            values = da.asarray(values)
            if values.shape != key.shape:
                values = da.broadcast_to(values, key.shape)
            if values.chunks != key.chunks:
                values = values.rechunk(key.chunks)
            if key.chunks != key0.chunks:
                raise ValueError("zonal keys of one batch must share their chunks")
            nby, nbx = key.numblocks
            partials.append(da.map_blocks(_block_sums, key, values, n=n, new_axis=2, chunks=((1,) * nby, (1,) * nbx, (n,)), dtype=np.float64))
        nby, nbx = key0.numblocks
        group = max(1, group or _threads())
        pieces = [(i, j, min(j + group, nbx)) for i in range(nby) for j in range(0, nbx, group)]
        totals = [np.zeros(n) for _, _, n in self._calls]
        done = 0
        with _blocks_reported():
            for i, j0, j1 in pieces:
                got = dask.compute(*[p.blocks[i, j0:j1] for p in partials])
                for t, g in zip(totals, got):
                    t += g[0].sum(axis=0)
                done += j1 - j0
                _report_blocks(done, nby * nbx)
        self._totals.sums.update(enumerate(totals))


def _threads() -> int:
    """Threads of the scheduler in use (a dask.distributed client's, else the local pool's)."""
    try:
        from distributed import get_client

        return max(1, sum(get_client().nthreads().values()))
    except (ImportError, ValueError):
        import dask

        return int(dask.config.get("num_workers", None) or os.cpu_count() or 1)


#: Reporter of (done, total) chunks set by :func:`chunk_progress`, and whether a batch reports blocks itself.
_REPORT: dict[str, Any] = {"report": None, "blocks": False}


def _report_blocks(done: int, total: int) -> None:
    if _REPORT["report"] is not None:
        _REPORT["report"](done, total)


@contextlib.contextmanager
def _blocks_reported() -> Iterator[None]:
    _REPORT["blocks"] = True
    try:
        yield
    finally:
        _REPORT["blocks"] = False


@contextlib.contextmanager
def chunk_progress(report: Callable[[int, int], None] | None) -> Iterator[None]:
    """Report progress while chunked work runs: (done, total) blocks of a :class:`ZonalBatch`,
    else (done, total) dask tasks of other chunked work (local schedulers)."""
    if report is None:
        yield
        return
    from dask.callbacks import Callback

    class _Progress(Callback):
        def _start_state(self, dsk, state):
            self._total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))

        def _posttask(self, key, result, dsk, state, worker_id):
            if not _REPORT["blocks"]:
                report(len(state["finished"]), self._total)

    _REPORT["report"] = report
    try:
        with _Progress():
            yield
    finally:
        _REPORT["report"] = None
