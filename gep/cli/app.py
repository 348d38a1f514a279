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


#: glibc's ``M_ARENA_MAX`` (malloc.h).
_M_ARENA_MAX = -8


def bound_malloc_arenas() -> None:
    """Let glibc's malloc keep one arena per core, as it does without threads, instead of up to eight per core.

    Every thread (dask's, GDAL's) that finds an arena locked gets one of its own, and each arena keeps
    the freed blocks of the numpy temporaries computed in it: ``gep run --demo`` peaked ~150 MB higher
    (benchmarks/RESULTS.md, issue 21) for the same CPU time. Linux with glibc only; an explicit
    ``MALLOC_ARENA_MAX`` in the environment wins.
    """
    import os
    import sys

    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, max(1, len(os.sched_getaffinity(0))))
    except (OSError, AttributeError):  # not glibc (musl, another libc): its own policy stays
        pass


def main() -> None:
    """Console-script entry point (``gep``)."""
    bound_malloc_arenas()
    app()
