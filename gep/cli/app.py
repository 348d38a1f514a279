"""The ``gep`` command: every command group mounted on one app.

Every group is imported here explicitly: a command whose module fails to import
makes ``gep`` itself fail with that error, never a silently missing command.
"""

from __future__ import annotations

import typer

from gep.cli import audit, bond, capacity, coefficients, init, ledger, market, monitoring, run, serve, services, uncertainty
from gep.cli.shell import App

app = App(help="gep: gross ecosystem product (GEP) accounting engine.")


def _version(value: bool) -> None:
    if value:
        from gep import __version__

        typer.echo(f"gep {__version__}")
        raise typer.Exit()


@app.callback()
def _gep(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version of gep and exit.")) -> None:
    """gep: gross ecosystem product (GEP) accounting engine."""


app.add_typer(init.app)  # gep init
app.add_typer(run.app)  # gep run, gep compare
app.add_typer(uncertainty.app)  # gep uncertainty
app.add_typer(audit.app)  # gep replay, gep verify
app.add_typer(services.app, name="services")
app.add_typer(coefficients.app, name="coefficients")
app.add_typer(bond.app, name="bond", help="Ecological bonds: price, schedule, revenue coverage, green-bond impact.")
app.add_typer(capacity.app, name="capacity", help="Water ecological capacity and credits.")
app.add_typer(monitoring.app, name="monitoring", help="Water-quality monitoring: GB 3838-2002 compliance and basin-model calibration.")
app.add_typer(monitoring.top)  # gep compensation, gep assess
ledger.app.add_typer(market.app, name="market")  # gep ledger market ...
ledger.app.add_typer(market.certificate_app, name="certificate")  # gep ledger certificate issue|verify
ledger.app.command("statement")(market.statement_cmd)  # gep ledger statement
app.add_typer(ledger.app, name="ledger", help="Rights ledger: capacity, carbon, energy-use and emission rights; the market.")
app.add_typer(serve.app)  # gep serve


#: glibc's ``mallopt`` parameters (malloc.h) gep sets, with the environment variable that overrides each
#: (glibc reads ``MALLOC_<NAME>_`` at start; an explicit one wins) and the value [count or bytes]:
#:
#: - ``M_ARENA_MAX`` (-8): one arena per core, as glibc keeps without threads, instead of up to eight per core.
#:   Every thread (dask's, GDAL's) that finds an arena locked gets one of its own, and each arena keeps the
#:   freed blocks of the numpy temporaries computed in it: ``gep run --demo`` peaked ~150 MB higher
#:   (benchmarks/RESULTS.md, session 5) for the same CPU time.
#: - ``M_MMAP_THRESHOLD`` (-3) 64 MiB and ``M_TRIM_THRESHOLD`` (-1) 64 MiB: a block's temporaries (a few to
#:   tens of MB) are reused from the arenas instead of being mapped and unmapped each time (glibc's own
#:   threshold moves up to 32 MiB only after such a block is freed, and is trimmed back at twice that): carbon
#:   stock at 8000² made 0.66-1.1 million page faults and spent 6.7-7.0 s of system CPU time, with these
#:   63,000 and 3.6 s, for the same peak memory (benchmarks/RESULTS.md, session 7).
MALLOC_SETTINGS = (("MALLOC_ARENA_MAX", -8, None), ("MALLOC_MMAP_THRESHOLD_", -3, 64 * 2**20), ("MALLOC_TRIM_THRESHOLD_", -1, 64 * 2**20))


def tune_malloc() -> None:
    """Set glibc's malloc for gep's work (:data:`MALLOC_SETTINGS`: arenas one per core, large blocks reused).

    Linux with glibc only; a setting given in the environment wins.
    """
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        for env, param, value in MALLOC_SETTINGS:
            if env not in os.environ:
                libc.mallopt(param, max(1, len(os.sched_getaffinity(0))) if value is None else value)
    except (OSError, AttributeError):  # not glibc (musl, another libc): its own policy stays
        pass


def leave_quickly() -> None:
    """When the command ends, keep the objects still alive out of the collector's walks while the interpreter shuts
    down (:func:`gc.freeze` from an exit handler registered before the command's own, so it runs after theirs).

    The shutdown otherwise walks every object left (the modules, a run's arrays and graphs) in several full
    collections: 0.45-0.6 s of ``gep run --demo``'s 7-8 s (benchmarks/RESULTS.md, session 10). Exit handlers,
    ``weakref.finalize`` callbacks and the flushing of stdout and stderr still run; what is skipped are finalizers
    of objects alive at exit or in uncollected cycles, which Python does not promise to run (Python reference,
    ``object.__del__``; Spack does the same, spack/spack#53020). gep closes its files and connections itself.
    """
    import atexit
    import gc

    atexit.register(gc.freeze)


def main() -> None:
    """Console-script entry point (``gep``)."""
    tune_malloc()
    leave_quickly()
    app()
