"""Files as bytes and documents: SHA-256 of a file, TOML documents, JSON documents (manifests).

Light on purpose (standard library only), so that manifests, ledger commands
and scenario files can be read without pandas.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from gep.errors import InputError, ScenarioError


def package_data(*parts: str) -> Path:
    """A file or folder shipped inside the gep package (``gep/data/...``), found through :mod:`importlib.resources`.

    Works in a source checkout, an editable install and a regular (wheel) install alike.
    """
    from importlib.resources import files

    return Path(str(files("gep").joinpath("data", *parts)))


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_toml(path: str | Path, what: str = "file") -> dict:
    """Parse a TOML file; a syntax error names the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}", hint="check the path")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"malformed TOML in {path}: {exc}", hint="fix the TOML syntax at the line shown") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path} is not UTF-8 text", hint="save the file as UTF-8") from exc


def read_json_object(path: str | Path, what: str, hint: str, default_name: str = "manifest.json") -> tuple[dict, bytes, Path]:
    """A JSON object from a file (a folder: its ``default_name``): the document, its bytes and the file's path.

    Raises :class:`InputError` naming ``what`` when the file is missing, not
    UTF-8 JSON or not an object (``hint``: what to give instead).
    """
    p = Path(path)
    if p.is_dir():
        p = p / default_name
    if not p.is_file():
        raise InputError(f"{what} not found: {p}", hint=hint)
    data = p.read_bytes()
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{what} {p} is not JSON: {exc}", hint=hint) from exc
    if not isinstance(doc, dict):
        raise InputError(f"{what} {p} is not a JSON object", hint=hint)
    return doc, data, p
