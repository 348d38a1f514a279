"""The one shape of every job: load -> compute -> write.

A job is a command that writes outputs and a manifest (:mod:`gep.audit.manifest`).
Every job module (:mod:`~gep.jobs.run`, :mod:`~gep.jobs.series`,
:mod:`~gep.jobs.compare`, :mod:`~gep.jobs.capacity_basin`,
:mod:`~gep.jobs.bond_coverage`, :mod:`~gep.jobs.bond_impact`, :mod:`~gep.jobs.uncertainty`, and the monitoring jobs :mod:`~gep.jobs.monitoring_compliance`,
:mod:`~gep.jobs.monitoring_calibrate`, :mod:`~gep.jobs.compensation`, :mod:`~gep.jobs.assess`,
which share :mod:`~gep.jobs.monitoring`) has:

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

Every ``write`` goes through :func:`output_folder`: the destination is checked
before anything is computed (:func:`check_destination`, also called by ``run``
before ``compute``), the outputs are written into a temporary sibling folder,
manifest last, and the folder is renamed into place only when it is complete.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, TypeVar

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
        "gep bond impact": "gep.jobs.bond_impact", "gep uncertainty": "gep.jobs.uncertainty",
        "gep monitoring compliance": "gep.jobs.monitoring_compliance", "gep monitoring calibrate": "gep.jobs.monitoring_calibrate",
        "gep compensation": "gep.jobs.compensation", "gep assess": "gep.jobs.assess"}


# --------------------------------------------------------------------------- output folders: checked first, written whole

#: Infix of the temporary sibling folder a job writes into before it is renamed into place.
PARTIAL = ".gep-partial-"
#: Infix of the previous folder while it is being replaced.
REPLACED = ".gep-replaced-"


def _path_error(message: str, hint: str = "give another --out folder") -> Exception:
    from gep.errors import InputError

    return InputError(message, hint=hint, key="out_dir")


def check_destination(folder: Path, kind: str, refuse: Callable[[dict], str | None] | None = None) -> None:
    """Check an output folder before anything is computed.

    A folder that does not exist yet, an empty folder, and a folder holding an
    earlier output of the same ``kind`` (a ``manifest.json`` of that kind) may be
    written; anything else is refused with an :class:`~gep.errors.InputError` naming
    the folder (key ``out_dir``, shown as ``--out``): a file, a folder of other files
    (not a gep output folder: it is never replaced), an output of another kind, a
    folder that ``refuse(manifest document)`` rejects, a place that cannot be written.
    """
    import json
    import os

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise _path_error(f"{folder} is a file, not a folder")
    if folder.is_dir():
        entries = [p.name for p in folder.iterdir()]
        if entries:
            manifest = folder / "manifest.json"
            if not manifest.is_file():
                shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
                raise _path_error(f"{folder} is not empty and is not a gep output folder (it holds {shown}; no manifest.json); gep never replaces it")
            try:
                doc = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                doc = None
            if not isinstance(doc, dict) or "kind" not in doc:
                raise _path_error(f"{folder} holds a manifest.json that is not a gep manifest; gep never replaces that folder")
            if doc.get("kind") != kind:
                raise _path_error(f"{folder} holds the output of `{doc.get('kind')}`, not of `{kind}`; gep does not replace it with another kind of output")
            reason = refuse(doc) if refuse is not None else None
            if reason:
                raise _path_error(f"{folder}: {reason}")
    existing = folder if folder.is_dir() else next((p for p in folder.absolute().parents if p.exists()), None)
    parent = folder.absolute().parent
    for place in (existing, parent if parent.exists() else None):
        if place is None:
            continue
        if not place.is_dir():
            raise _path_error(f"cannot create {folder}: {place} is a file")
        if not os.access(place, os.W_OK | os.X_OK):
            raise _path_error(f"cannot write into {place}: permission denied", hint="give a folder you can write to as --out")


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(folder: Path) -> None:
    """Remove partial folders of ``folder`` left by processes that no longer run (killed mid-write)."""
    import shutil

    for infix in (PARTIAL, REPLACED):
        for p in folder.parent.glob(f".{folder.name}{infix}*"):
            pid = p.name[len(f".{folder.name}{infix}"):].split("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)


@contextmanager
def output_folder(folder: str | Path, kind: str, refuse: Callable[[dict], str | None] | None = None) -> Iterator[Path]:
    """Write a job's outputs whole or not at all: yield a temporary sibling folder, rename it into place when done.

    The destination is checked first (:func:`check_destination`). The job writes
    into ``.<name>.gep-partial-<pid>-<random>`` beside it (the same depth, so paths
    recorded relative to the output folder stay right), manifest last; the earlier
    manifest and its chain (``manifests/``) are copied in first, so the new manifest
    chains to it. When the block ends the temporary folder replaces the destination
    (a rename; the previous folder is removed only once the new one is in place).
    On an error or an interruption (Ctrl-C) the temporary folder is removed and the
    previous output stays as it was. An :class:`OSError` while writing becomes an
    :class:`~gep.errors.InputError` naming the path: never a traceback.
    """
    import os
    import shutil
    import tempfile

    folder = Path(folder)
    check_destination(folder, kind, refuse)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        _sweep(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}{PARTIAL}{os.getpid()}-", dir=folder.parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        carried = _carry_chains(folder, tmp)
    except OSError as exc:
        raise _path_error(f"cannot write into {folder.parent}: {exc.strerror or exc}", hint="give a folder you can write to as --out") from exc
    try:
        yield tmp
        _drop_unused(tmp, carried)
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}{REPLACED}{os.getpid()}-", dir=folder.parent))
            os.rename(folder, old / folder.name)
            try:
                os.rename(tmp, folder)
            except OSError:
                os.rename(old / folder.name, folder)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        where = exc.filename or folder
        raise _path_error(f"cannot write {where}: {exc.strerror or exc}; nothing was written and {folder} is as it was",
                          hint="check the path, its permissions and the free disk space") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _carry_chains(folder: Path, tmp: Path) -> dict[Path, bytes]:
    """Copy the manifests of ``folder`` and of the runs inside it, with their chains (``manifests/``), into ``tmp``,
    so each new manifest chains to the one it replaces; returns the copied nested manifests and their bytes."""
    import shutil

    carried: dict[Path, bytes] = {}
    if not (folder / "manifest.json").is_file():
        return carried
    for m in folder.rglob("manifest.json"):
        rel = m.parent.relative_to(folder)
        (tmp / rel).mkdir(parents=True, exist_ok=True)
        shutil.copy2(m, tmp / rel / "manifest.json")
        if (m.parent / "manifests").is_dir():
            shutil.copytree(m.parent / "manifests", tmp / rel / "manifests")
        if rel != Path("."):
            carried[tmp / rel] = m.read_bytes()
    return carried


def _drop_unused(tmp: Path, carried: dict[Path, bytes]) -> None:
    """Remove the nested run folders carried over that the new output did not write again (only their old manifest is there)."""
    import shutil

    for sub, old in carried.items():
        if (sub / "manifest.json").is_file() and (sub / "manifest.json").read_bytes() == old:
            shutil.rmtree(sub, ignore_errors=True)


def rebased(path: str | Path, tmp: Path, folder: Path) -> str:
    """``path`` inside a job's temporary folder, as it will be once the folder is in place."""
    p = Path(path)
    try:
        return str(folder / p.relative_to(tmp))
    except ValueError:
        return str(p)
