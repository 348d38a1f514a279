"""What the monitoring jobs share: reading a series and a section table, the GB 3838 limits,
the run folder, and writing the outputs and the manifest.

The jobs are :mod:`gep.jobs.monitoring_compliance`, :mod:`gep.jobs.monitoring_calibrate`,
:mod:`gep.jobs.compensation` and :mod:`gep.jobs.assess`. Each records its input files
relative to its run folder with their SHA-256, its options as ``parameters`` and the
coefficient sets it used by role (a :class:`gep.audit.manifest.MonitoringRecord`); the
outputs and then the manifest are written whole or not at all (:func:`gep.jobs.job.output_folder`),
and an explicit ``--out`` is checked before anything is computed (:func:`check_out`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pandas as pd

from gep.audit import manifest as mf
from gep.audit import provenance
from gep.io import outputs
from gep.io.files import sha256_file

#: Absolute tolerance recorded for replay (values are CNY, mg/L, points, fractions).
TOLERANCE = 1e-6
#: The standards set used when none is given.
STANDARDS = "gb3838-2002"


def relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder``, '/'-separated (a manifest holds no absolute path; replay finds the file)."""
    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()


def read_series(path: Path) -> pd.DataFrame:
    """A monitoring series, read (:func:`gep.io.monitoring.read_series`) and normalised (:func:`gep.monitoring.series.normalise`)."""
    from gep.io.monitoring import read_series as read
    from gep.monitoring.series import normalise

    return normalise(read(path))


def read_sections(path: Path | None) -> pd.DataFrame | None:
    """A section table, or None when no file is given."""
    from gep.io.monitoring import read_sections as read

    return read(path) if path is not None else None


def limits(set_id: str) -> pd.DataFrame:
    """GB 3838-2002 limits [mg/L] by parameter and water body (:func:`gep.monitoring.compliance.limit_table`)."""
    from gep.io.capacity_tables import read_standards
    from gep.monitoring.compliance import limit_table

    return limit_table(read_standards(set_id))


def coefficients(set_id: str) -> dict:
    """Id, version and file hashes of a coefficient set (as a basin run records them)."""
    from gep.jobs.capacity_basin import coefficient_provenance

    return coefficient_provenance(set_id)


def folder(out: Path | None, name: str, tag: str, inputs: dict[str, Path], parameters: dict) -> Path:
    """``out``, or ``runs/<name>-<tag>-<hash of the inputs and options>``."""
    if out is not None:
        return Path(out)
    parts = {"inputs": {k: sha256_file(p) for k, p in sorted(inputs.items())}, "parameters": parameters}
    return Path("runs") / provenance.run_folder_name(name, tag, provenance.sha256_bytes(provenance.canonical_json(parts).encode()), default=tag)


def csv_writer(df: pd.DataFrame) -> Callable[[Path], None]:
    """A writer of ``df`` as a CSV output."""
    return lambda p: outputs.write_csv(df, p)


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready rows (NaN → None)."""
    return provenance.to_jsonable(df.astype(object).where(df.notna(), None).to_dict(orient="records"))


def check_out(out: Path | None, kind: str) -> None:
    """Refuse an unusable ``--out`` before anything is computed (:func:`gep.jobs.job.check_destination`)."""
    from gep.jobs.job import check_destination

    if out is not None:
        check_destination(Path(out), kind)


def write(record_type: type, target: Path, command: str, inputs: dict[str, Path], parameters: dict, writers: dict[str, Callable[[Path], None]],
          results: dict, sets: dict[str, dict] | None = None, **extra) -> mf.Manifest:
    """Write every output, then the manifest with a ``record_type`` record, whole or not at all; return the manifest.

    The files are written into a temporary sibling of ``target`` that replaces it when
    complete (:func:`gep.jobs.job.output_folder`): an error or Ctrl-C leaves the earlier
    run as it was. Input paths are recorded relative to ``target``.
    """
    from gep.jobs.job import output_folder

    with output_folder(target, record_type.KIND) as tmp:
        for name, write_file in writers.items():
            write_file(tmp / name)
        hashes = outputs.hashes(tmp, list(writers))
        record = record_type(inputs={k: mf.FileRef(relative(p, target), sha256_file(p)) for k, p in sorted(inputs.items())},
                             parameters=provenance.to_jsonable(parameters),
                             coefficients={role: mf.CoefficientsRef.from_dict(c) for role, c in (sets or {}).items()}, **extra)
        manifest = mf.Manifest(kind=record_type.KIND, command=command, record=record, outputs=hashes,
                               results={**provenance.to_jsonable(results), "tolerance": TOLERANCE, "relative_tolerance": mf.RELATIVE_TOLERANCE},
                               environment=provenance.environment(), rng=provenance.rng_record(None, used=False))
        written = mf.write(tmp, manifest)[0]
    return written
