"""Reading coefficient-set folders from disk (``coefficients/<set-id>/``).

A set is a folder with ``manifest.toml`` and CSV files. The manifest names the
set (``id``, ``version``, ``description``), optionally a ``base`` set it
extends, the accounting profile (``[services]``, ``[methods]``, ``[switches]``,
``[valuation]``) and ``[files]``: the SHA-256 of every file in the folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gep.errors import CoefficientError, Problem
from gep.io.files import read_toml, sha256_file


def coefficients_root() -> Path:
    """Folder holding the shipped coefficient sets (``$GEP_COEFFICIENTS`` overrides)."""
    env = os.environ.get("GEP_COEFFICIENTS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "coefficients"


def find_set(name_or_path: str, relative_to: Path | None = None) -> Path:
    """Resolve a set id (``cn-2022``) or a folder path to the set's folder."""
    candidates = []
    if relative_to is not None:
        candidates.append((relative_to / name_or_path))
    candidates.append(Path(name_or_path))
    candidates.append(coefficients_root() / name_or_path)
    for c in candidates:
        if (c / "manifest.toml").is_file():
            return c.resolve()
    available = sorted(p.name for p in coefficients_root().glob("*") if (p / "manifest.toml").is_file())
    raise CoefficientError(
        f"coefficient set '{name_or_path}' not found",
        hint=f"use one of {', '.join(available) or '(none found)'} or a path to a folder with manifest.toml",
    )


def read_manifest(folder: Path) -> dict:
    """The parsed ``manifest.toml`` of a set folder."""
    manifest = read_toml(folder / "manifest.toml", what="coefficient manifest")
    for key in ("id", "version", "files"):
        if key not in manifest:
            raise CoefficientError(f"{folder / 'manifest.toml'} lacks '{key}'", hint="see coefficients/README.md for the manifest format")
    return manifest


def check_hashes(folder: Path, manifest: dict) -> list[Problem]:
    """Problems found comparing the files of a set with the hashes in its manifest (one per file)."""
    problems = []
    listed = manifest.get("files", {})
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            problems.append(Problem("listed in the manifest but missing", file=str(path)))
        elif sha256_file(path) != digest:
            problems.append(Problem("SHA-256 differs from the manifest (file edited after release)", file=str(path)))
    for path in sorted(folder.glob("*.csv")):
        if path.name not in listed:
            problems.append(Problem("not listed in the manifest's [files]", file=str(path)))
    return problems


#: Columns of each kind of table in a coefficient set.
TIDY_COLUMNS = ("parameter", "key", "value", "unit", "price_year", "source", "year", "confidence", "note")
LEGEND_COLUMNS = ("code", "class", "name_zh", "ecosystem", "vegetated")
POOL_COLUMNS = ("lucode", "c_above", "c_below", "c_soil", "c_dead")
INDEX_COLUMNS = ("series", "year", "value", "basis", "source", "confidence")


def read_set(name_or_path: str, relative_to: Path | None = None) -> list[dict]:
    """The files of a coefficient set and of the ``base`` sets it extends, as plain tables.

    Returns
    -------
    list of dict
        One entry per set, base first: ``folder``, ``header`` (its ``manifest.toml``),
        ``problems`` (:func:`check_hashes`), ``legend``, ``pools``, ``index`` (a
        DataFrame or None) and ``tidy`` (the list of tidy coefficient tables, each
        with ``attrs['path']``). The tables are read for accounting sets only (other
        kinds, such as ``export-coefficients`` or ``ledger-table``, have their own readers).
    """
    from gep.io.tables import read_csv

    folder = find_set(name_or_path, relative_to)
    header = read_manifest(folder)
    chain = read_set(header["base"], folder.parent) if header.get("base") else []
    entry: dict = {"folder": folder, "header": header, "problems": check_hashes(folder, header), "legend": None, "pools": None, "index": None, "tidy": []}
    for name in sorted(header.get("files", {})) if header.get("kind", "accounting") == "accounting" else ():
        path = folder / name
        if not path.is_file():  # reported by check_hashes
            continue
        if name == "landcover.csv":
            entry["legend"] = read_csv(path, LEGEND_COLUMNS, "land-cover legend")
        elif name == "carbon_pools.csv":
            entry["pools"] = read_csv(path, POOL_COLUMNS, "carbon pool table")
        elif name == "price_index.csv":
            entry["index"] = read_csv(path, INDEX_COLUMNS, "price index series")
        else:
            entry["tidy"].append(read_csv(path, TIDY_COLUMNS, "coefficient table"))
    return chain + [entry]


_FILES_BLOCK = re.compile(r"^\[files\]\n(?:[^\[]*)", re.MULTILINE)


def write_hashes(folder: Path) -> str:
    """Rewrite the ``[files]`` table of a set's manifest with current SHA-256s (maintainers)."""
    path = folder / "manifest.toml"
    text = path.read_text(encoding="utf-8")
    lines = ["[files]"] + [f'"{p.name}" = "{sha256_file(p)}"' for p in sorted(folder.glob("*.csv"))]
    block = "\n".join(lines) + "\n"
    new = _FILES_BLOCK.sub(block, text) if _FILES_BLOCK.search(text) else text.rstrip("\n") + "\n\n" + block
    path.write_text(new, encoding="utf-8")
    return block
