"""Files as bytes and documents: SHA-256 of a file, TOML documents.

Light on purpose (standard library only), so that manifests, ledger commands
and scenario files can be read without pandas.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from gep.errors import InputError, ScenarioError


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
