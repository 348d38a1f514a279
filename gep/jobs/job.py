"""The one shape of every job: load -> compute -> write.

A job is a command that writes outputs and a manifest (:mod:`gep.audit.manifest`).
Every job module (:mod:`~gep.jobs.run`, :mod:`~gep.jobs.series`,
:mod:`~gep.jobs.compare`, :mod:`~gep.jobs.capacity_basin`,
:mod:`~gep.jobs.bond_coverage`, :mod:`~gep.jobs.bond_impact`,
:mod:`~gep.jobs.uncertainty`) has:

``KIND``
    the manifest kind it writes;
``load(...)``
    reads every input file (through :mod:`gep.io`) and hands the domain plain data;
``compute(inputs, progress=None)``
    the calculation, by the domain packages; no file is read or written;
``write(result, out_dir, command)``
    the outputs and the manifest, returned as a :class:`Written`;
``run(..., out_dir, command, progress=None)``
    the three in order;
``replay(manifest, where, out_dir)``
    re-runs a recorded manifest of its kind for :mod:`gep.audit.replay`
    (``where``: the scenario file, or the run folder for kinds without one);
    returns the new manifest, or None when the results are compared through the outputs.

``gep series`` is replayed year by year (each year is a ``gep run``) and has no ``replay``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Written(Generic[R]):
    """What a job wrote: the result it computed, the output folder and the manifest as written."""

    result: R
    folder: Path
    manifest: Any  # gep.audit.manifest.Manifest


#: The job modules, by the manifest kind they write.
JOBS = {"gep run": "gep.jobs.run", "gep series": "gep.jobs.series", "gep compare": "gep.jobs.compare",
        "gep capacity basin": "gep.jobs.capacity_basin", "gep bond coverage": "gep.jobs.bond_coverage",
        "gep bond impact": "gep.jobs.bond_impact", "gep uncertainty": "gep.jobs.uncertainty"}
