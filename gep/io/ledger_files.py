"""Files the rights ledger reads or writes outside its database.

* run manifests (``manifest.json`` of ``gep run`` or ``gep capacity``) and the
  output files they list, checked against their SHA-256;
* the ledger's coefficient set (``gep/data/coefficients/ledger-2026/``, ``kind = "ledger-table"``);
* trading-ratio tables (``gep/data/coefficients/market-2026/ratios.csv``);
* batch files of operations (``gep ledger batch``), tree heads, certificates,
  export documents and the files the CLI writes (whole or not at all).

Plain ``csv``/``json`` readers (no pandas, nothing heavy imported at module
level) keep the ledger commands fast. Numbers in JSON documents are read with
the bounded parser of :mod:`gep.numbers` (a 5,000-digit integer is refused in
microseconds, not converted). Errors are the plain input errors of
:mod:`gep.errors`; :mod:`gep.ledger.evidence` says what they mean for an issuance.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from gep.errors import CoefficientError, InputError, InputsChanged
from gep.io.files import parse_json, read_json_object, sha256_file
from gep.numbers import parse_decimal

__all__ = ["sha256_file", "read_manifest", "check_outputs", "read_rows", "ledger_coefficients", "read_json",
           "write_json", "write_bytes", "read_ratio_file", "RATIO_COLUMNS"]

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
    from gep.io.coefficient_files import check_hashes, find_set, read_header

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
            value = parse_decimal(r["value"], f"{path}, line {i}: value", error=CoefficientError)
            rows[(r["parameter"], r["key"])] = (value, r["unit"], r["confidence"])
    return {"id": manifest["id"], "version": str(manifest["version"]), "manifest_sha256": sha256_file(folder / "manifest.toml"), "rows": rows}


def read_json(path: str | Path, what: str) -> Any:
    """Parse a JSON file (``-`` reads standard input) with :func:`parse_json`."""
    try:
        if str(path) == "-":
            import sys

            text = sys.stdin.read()
        else:
            text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}", hint="check the path") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path} is not UTF-8 text: {exc}", hint="save the file as UTF-8") from exc
    return parse_json(text, f"{what} {path}")


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically (temporary file + rename)."""
    write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, synced, then renamed (whole or not at all)."""
    p = Path(path)
    tmp = p.with_name(p.name + f".tmp{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {p}: {exc.strerror}", hint="check the folder exists and is writable") from exc


#: Columns of a trading-ratio table (``gep/data/coefficients/market-2026/ratios.csv``).
RATIO_COLUMNS = ("from_zone", "to_zone", "ratio", "basis", "source")


def read_ratio_file(path: str | Path) -> dict:
    """A trading-ratio table file as written (:func:`gep.ledger.ratios.table` makes it publishable).

    Columns :data:`RATIO_COLUMNS` (and optionally ``year, confidence, low, high, range_basis,
    note``, kept in the file, not read). When the file belongs to a coefficient set (a
    ``manifest.toml`` beside it lists it), the set's hashes are checked.

    Returns
    -------
    dict
        ``{"path", "sha256", "rows": [{column: text}], "set": {"id", "version", "manifest_sha256",
        "description"} or None}``.

    Raises
    ------
    InputError
        A missing column or an unreadable file.
    CoefficientError
        A set whose files differ from their hashes.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "ratios.csv"
    folder = p.parent
    found = None
    if (folder / "manifest.toml").is_file():
        from gep.io.coefficient_files import check_hashes, read_header

        header = read_header(folder)
        if p.name in header.get("files", {}):
            problems = check_hashes(folder, header)
            if problems:
                raise CoefficientError(f"coefficient set {header['id']} fails verification: {problems[0]}",
                                       hint="restore the file (a correction is a new set version)")
            found = {"id": header["id"], "version": str(header["version"]), "manifest_sha256": sha256_file(folder / "manifest.toml"),
                     "description": str(header.get("description", ""))}
    if not p.is_file():
        raise InputError(f"ratio table {p} not found", hint="give ratios.csv or its coefficient-set folder (e.g. gep/data/coefficients/market-2026)")
    rows = read_rows(p, RATIO_COLUMNS, "ratio table")
    return {"path": str(p), "name": p.name, "sha256": sha256_file(p), "rows": rows, "set": found}
