"""Files the rights ledger reads or writes outside its database.

* run manifests (``manifest.json`` of ``gep run`` or ``gep capacity``) and the
  output files they list, checked against their SHA-256;
* the ledger's coefficient set (``coefficients/ledger-2026/``, ``kind = "ledger-table"``);
* batch files of operations (``gep ledger batch``) and export documents.

Plain ``csv``/``json`` readers (no pandas, nothing heavy imported at module
level) keep the ledger commands fast. Numbers in JSON files are read with the
bounded parser of :mod:`gep.numbers` (a 5,000-digit integer is refused in
microseconds, not converted).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from gep.errors import GepError
from gep.ledger.errors import EvidenceChanged, EvidenceError, InvalidRequest, LedgerError
from gep.numbers import json_decimal, json_int, parse_decimal

__all__ = ["sha256_file", "read_manifest", "output_hashes", "check_outputs", "read_rows", "ledger_coefficients",
           "read_json", "write_json", "write_bytes", "parse_json"]


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes (streamed)."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()

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
    EvidenceError
        Missing, unreadable or not a JSON object.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.json"
    if not p.is_file():
        raise EvidenceError(f"run manifest {p} not found", hint="give the manifest.json written by `gep run` or `gep capacity` (or its folder)")
    data = p.read_bytes()
    try:
        manifest = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSON syntax, or an integer beyond Python's digit limit
        raise EvidenceError(f"run manifest {p} is not JSON: {exc}", hint="give the manifest.json of a run") from exc
    if not isinstance(manifest, dict):
        raise EvidenceError(f"run manifest {p} is not a JSON object")
    return manifest, hashlib.sha256(data).hexdigest(), p.parent


def output_hashes(manifest: dict, where: str) -> dict[str, str]:
    """``{file name: sha256}`` of a manifest's outputs.

    Accepts ``"outputs": {name: sha256}``, ``{name: {"sha256": ...}}`` or a list of
    ``{"path"/"name": ..., "sha256": ...}``.
    """
    outputs = manifest.get("outputs")
    pairs: list[tuple[Any, Any]] = []
    if isinstance(outputs, dict):
        for name, v in outputs.items():
            pairs.append((name, v.get("sha256") if isinstance(v, dict) else v))
    elif isinstance(outputs, list):
        for v in outputs:
            if isinstance(v, dict):
                pairs.append((v.get("path") or v.get("name") or v.get("file"), v.get("sha256")))
    if not pairs:
        raise EvidenceError(f"{where} lists no output files with SHA-256", hint="cite the manifest.json of a finished `gep run` or `gep capacity` run")
    out = {}
    for name, digest in pairs:
        if not isinstance(name, str) or not isinstance(digest, str) or len(digest) != 64:
            raise EvidenceError(f"{where}: output entry {name!r} has no SHA-256")
        pp = PurePosixPath(name)
        if pp.is_absolute() or ".." in pp.parts:
            raise EvidenceError(f"{where}: output {name!r} points outside the run folder")
        out[name] = digest.lower()
    return out


def check_outputs(manifest: dict, folder: Path, where: str) -> dict[str, str]:
    """Check every output file listed by a manifest against its SHA-256.

    Returns
    -------
    dict
        ``{file name: sha256}``.

    Raises
    ------
    EvidenceChanged
        A listed file is missing or its bytes differ from the manifest (exit code 3).
    """
    hashes = output_hashes(manifest, where)
    for name, digest in sorted(hashes.items()):
        path = folder / name
        if not path.is_file():
            raise EvidenceChanged(f"{where}: output {name} is missing", hint="restore the run folder as written, or re-run and cite the new manifest")
        if sha256_file(path) != digest:
            raise EvidenceChanged(f"{where}: output {name} differs from its SHA-256 in the manifest (edited after the run)",
                                  hint="restore the file, or re-run and cite the new manifest")
    return hashes


def read_rows(path: Path, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV (BOM tolerated) as dicts of strings; ``# `` comment lines skipped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            lines = [line for line in fh if not line.startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"cannot read {what} {path}: {exc}") from exc
    reader = csv.DictReader(lines)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise EvidenceError(f"{what} {path} lacks column(s) {', '.join(missing)}", hint=f"expected columns: {', '.join(required)}")
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
    LedgerError
        Set not found, wrong kind, a file that differs from its hash, or a malformed row.
    """
    from gep.errors import CoefficientError
    from gep.io.coefficient_files import check_hashes, find_set
    from gep.io.coefficient_files import read_manifest as read_set_manifest  # reads TOML through gep.io.tables (pandas): init only

    try:
        folder = find_set(set_id)
        manifest = read_set_manifest(folder)
    except CoefficientError as exc:
        raise LedgerError(exc.message, hint=exc.hint) from exc
    if manifest.get("kind") != "ledger-table":
        raise LedgerError(f"coefficient set {set_id} is not a ledger table (kind {manifest.get('kind', 'accounting')!r})", hint="use ledger-2026")
    problems = check_hashes(folder, manifest)
    if problems:
        raise LedgerError(f"coefficient set {set_id} fails verification: {problems[0]}", hint="restore the file (a correction is a new set version)")
    rows: dict[tuple[str, str], tuple[Decimal, str, str]] = {}
    for name in sorted(manifest["files"]):
        path = folder / name
        for i, r in enumerate(read_rows(path, TIDY_COLUMNS, "coefficient table"), start=2):
            value = parse_decimal(r["value"], f"{path}, line {i}: value", error=LedgerError)
            rows[(r["parameter"], r["key"])] = (value, r["unit"], r["confidence"])
    return {"id": manifest["id"], "version": str(manifest["version"]), "manifest_sha256": sha256_file(folder / "manifest.toml"), "rows": rows}


def parse_json(text: str, what: str) -> Any:
    """Parse JSON text; numbers bounded (:mod:`gep.numbers`), non-integers read as exact Decimals."""
    try:
        return json.loads(text, parse_int=json_int, parse_float=json_decimal, parse_constant=_no_constant)
    except GepError as exc:
        raise InvalidRequest(f"{what}: {exc.message}", hint=exc.hint) from exc
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not JSON: {exc}", hint="fix the JSON syntax") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path: str | Path, what: str) -> Any:
    """Parse a JSON file (``-`` reads standard input) with :func:`parse_json`."""
    try:
        if str(path) == "-":
            import sys

            text = sys.stdin.read()
        else:
            text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidRequest(f"cannot read {what} {path}: {exc.strerror}", hint="check the path") from exc
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{what} {path} is not UTF-8 text: {exc}") from exc
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
        raise InvalidRequest(f"cannot write {p}: {exc.strerror}", hint="check the folder exists and is writable") from exc


#: Columns of a trading-ratio table (``coefficients/market-2026/ratios.csv``).
RATIO_COLUMNS = ("from_zone", "to_zone", "ratio", "basis", "source")


def read_ratio_table(path: str | Path, version: str | None = None) -> dict:
    """A trading-ratio table from a CSV file, ready to publish (:mod:`gep.ledger.ratios`).

    Columns :data:`RATIO_COLUMNS` (and optionally ``year, confidence, low, high, range_basis,
    note``, kept in the file, not published); ``ratio`` is a decimal (``1.2``: the seller delivers
    1.2 per unit received) or ``forbidden``. When the file belongs to a coefficient set
    (a ``manifest.toml`` beside it lists it), the set's hashes are checked and the table's
    version is ``<set id>-<set version>``; otherwise ``version`` must be given.

    Returns
    -------
    dict
        ``{"version", "source", "rows": [{"from", "to", "ratio", "basis", "source"}], ["coefficients"]}``.

    Raises
    ------
    LedgerError
        A missing column, an unreadable ratio (naming the line), a set whose files differ from
        their hashes, or no version.
    """
    from gep.ledger.model import normalise_decimal

    p = Path(path)
    if p.is_dir():
        p = p / "ratios.csv"
    table: dict[str, Any] = {}
    folder = p.parent
    if (folder / "manifest.toml").is_file():
        from gep.errors import CoefficientError
        from gep.io.coefficient_files import check_hashes
        from gep.io.coefficient_files import read_manifest as read_set_manifest

        try:
            manifest = read_set_manifest(folder)
        except CoefficientError as exc:
            raise LedgerError(exc.message, hint=exc.hint) from exc
        if p.name in manifest.get("files", {}):
            problems = check_hashes(folder, manifest)
            if problems:
                raise LedgerError(f"coefficient set {manifest['id']} fails verification: {problems[0]}", hint="restore the file (a correction is a new set version)")
            version = version or f"{manifest['id']}-{manifest['version']}"
            table["coefficients"] = {"id": manifest["id"], "version": str(manifest["version"]), "manifest_sha256": sha256_file(folder / "manifest.toml")}
            table["source"] = f"coefficient set {manifest['id']} {manifest['version']}: {manifest.get('description', '')}"[:500]
    if version is None:
        raise InvalidRequest(f"ratio table {p} is not part of a coefficient set: give its version", hint="--version 2026.1 (a token: letters, digits, . _ + -)")
    table.setdefault("source", f"file {p.name}, SHA-256 {sha256_file(p)}")
    rows = []
    for i, r in enumerate(read_rows(p, RATIO_COLUMNS, "ratio table"), start=2):
        ratio = r["ratio"]
        if ratio != "forbidden":
            ratio = str(normalise_decimal(parse_decimal(ratio, f"{p}, row {i}: ratio", error=LedgerError)))
        row = {"from": r["from_zone"], "to": r["to_zone"], "ratio": ratio, "basis": r["basis"]}
        if r["source"]:
            row["source"] = r["source"]
        rows.append(row)
    return {"version": version, **table, "rows": rows}
