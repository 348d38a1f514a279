"""Files the rights ledger reads or writes outside its database.

* run manifests (``manifest.json`` of ``gep run`` or ``gep capacity``) and the
  output files they list, checked against their SHA-256;
* the ledger's coefficient set (``gep/data/coefficients/ledger-2026/``, ``kind = "ledger-table"``);
* batch files of operations (``gep ledger batch``) and export documents.

Plain ``csv``/``json`` readers (no pandas) keep the ledger commands fast. Errors
are the plain input errors of :mod:`gep.errors`; :mod:`gep.ledger.evidence` says
what they mean for an issuance.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Any

from gep.errors import CoefficientError, InputError, InputsChanged
from gep.io.files import read_json_object, sha256_file

__all__ = ["sha256_file", "read_manifest", "check_outputs", "read_rows", "ledger_coefficients", "read_json", "write_json"]

TIDY_COLUMNS = ("parameter", "key", "value", "unit", "price_year", "source", "year", "confidence", "note")


def read_manifest(path: str | Path) -> tuple[dict, str, Path]:
    """Read a run manifest.

    Parameters
    ----------
    path : str or Path
        ``manifest.json`` of a run, or the run folder holding it.

    Returns
    -------
    (dict, str, Path)
        The parsed manifest, the SHA-256 of its bytes and its folder.

    Raises
    ------
    InputError
        Missing, unreadable or not a JSON object.
    """
    manifest, data, p = read_json_object(path, "run manifest", "give the manifest.json written by `gep run` or `gep capacity` (or its folder)")
    return manifest, hashlib.sha256(data).hexdigest(), p.parent


def check_outputs(outputs: dict[str, str], folder: Path, where: str) -> dict[str, str]:
    """Check every output file a manifest lists (``{file name: sha256}``) against its SHA-256.

    Returns
    -------
    dict
        ``{file name: sha256}``.

    Raises
    ------
    InputError
        An output name that points outside the run folder.
    InputsChanged
        A listed file is missing or its bytes differ from the manifest (exit code 3).
    """
    for name in outputs:
        pp = PurePosixPath(name)
        if pp.is_absolute() or ".." in pp.parts:
            raise InputError(f"{where}: output {name!r} points outside the run folder")
    for name, digest in sorted(outputs.items()):
        path = folder / name
        if not path.is_file():
            raise InputsChanged(f"{where}: output {name} is missing", hint="restore the run folder as written, or re-run and cite the new manifest")
        if sha256_file(path) != digest:
            raise InputsChanged(f"{where}: output {name} differs from its SHA-256 in the manifest (edited after the run)",
                                hint="restore the file, or re-run and cite the new manifest")
    return dict(outputs)


def read_rows(path: Path, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV (BOM tolerated) as dicts of strings; ``# `` comment lines skipped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            lines = [line for line in fh if not line.startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} {path}: {exc}") from exc
    reader = csv.DictReader(lines)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{what} {path} lacks column(s) {', '.join(missing)}", hint=f"expected columns: {', '.join(required)}")
    rows = []
    for row in reader:
        rows.append({(k or "").strip(): (v or "").strip() for k, v in row.items()})
    return rows


def ledger_coefficients(set_id: str) -> dict:
    """Load a ledger coefficient set (``kind = "ledger-table"``), hashes checked.

    Returns
    -------
    dict
        ``{"id", "version", "manifest_sha256", "rows": {(parameter, key): (Decimal value, unit, confidence)}}``.

    Raises
    ------
    CoefficientError
        Set not found, wrong kind, a file that differs from its hash, or a malformed row.
    """
    from gep.io.coefficient_files import check_hashes, find_set
    from gep.io.coefficient_files import read_header

    folder = find_set(set_id)
    manifest = read_header(folder)
    if manifest.get("kind") != "ledger-table":
        raise CoefficientError(f"coefficient set {set_id} is not a ledger table (kind {manifest.get('kind', 'accounting')!r})", hint="use ledger-2026")
    problems = check_hashes(folder, manifest)
    if problems:
        raise CoefficientError(f"coefficient set {set_id} fails verification: {problems[0]}", hint="restore the file (a correction is a new set version)")
    rows: dict[tuple[str, str], tuple[Decimal, str, str]] = {}
    for name in sorted(manifest["files"]):
        path = folder / name
        for i, r in enumerate(read_rows(path, TIDY_COLUMNS, "coefficient table"), start=2):
            try:
                value = Decimal(r["value"])
            except InvalidOperation as exc:
                raise CoefficientError(f"{path}, line {i}: value {r['value']!r} is not a number") from exc
            rows[(r["parameter"], r["key"])] = (value, r["unit"], r["confidence"])
    return {"id": manifest["id"], "version": str(manifest["version"]), "manifest_sha256": sha256_file(folder / "manifest.toml"), "rows": rows}


def read_json(path: str | Path, what: str) -> Any:
    """Parse a JSON file (``-`` reads standard input)."""
    try:
        if str(path) == "-":
            import sys

            return json.loads(sys.stdin.read())
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}", hint="check the path") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} {path} is not JSON: {exc}", hint="fix the JSON syntax") from exc


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically (temporary file + rename)."""
    p = Path(path)
    tmp = p.with_name(p.name + f".tmp{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        raise InputError(f"cannot write {p}: {exc.strerror}", hint="check the folder exists and is writable") from exc
