"""How a run executes: in memory or chunked with dask, locally or on a cluster.

In memory, every input grid is a numpy array; a run that would not fit in the
machine's available memory is refused up front with a suggestion to use
``--chunks``. Chunked, inputs are read lazily and zonal totals are chunk-wise
reductions, so peak memory is bounded by chunk size × number of inputs.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator

from gep.errors import GepError

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
    """Refuse an in-memory run that would not fit, suggesting ``--chunks``."""
    need = estimate_bytes(cells, n_inputs)
    have = available if available is not None else available_memory()
    if need > 0.8 * have:
        raise ResourceError(
            f"an in-memory run of {cells:,} cells with {n_inputs} gridded inputs needs about {need / 2**30:.1f} GiB, "
            f"but only {have / 2**30:.1f} GiB of memory is available",
            hint="run it chunked with --chunks 2048 (or [execution] chunks = 2048 in the scenario)",
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
