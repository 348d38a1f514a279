"""Reading coefficient-set folders from disk (``coefficients/<set-id>/``).

A set is a folder with CSV files and a header file, ``manifest.toml`` (called
the set's *header* here, so that "manifest" means only what a run writes). The
header names the set (``id``, ``version``, ``description``), optionally a ``base`` set it
extends, the accounting profile (``[services]``, ``[methods]``, ``[switches]``,
``[valuation]``) and ``[files]``: the SHA-256 of every file in the folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gep.errors import CoefficientError, Problem
from gep.io.files import read_toml, sha256_file

#: The header file of a set: id, version, base, profile and the SHA-256 of its files.
HEADER = "manifest.toml"


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
        if (c / HEADER).is_file():
            return c.resolve()
    available = sorted(p.name for p in coefficients_root().glob("*") if (p / HEADER).is_file())
    raise CoefficientError(
        f"coefficient set '{name_or_path}' not found",
        hint=f"use one of {', '.join(available) or '(none found)'} or a path to a folder with manifest.toml",
    )


def read_header(folder: Path) -> dict:
    """The parsed header (``manifest.toml``) of a set folder."""
    header = read_toml(folder / HEADER, what="coefficient set header")
    for key in ("id", "version", "files"):
        if key not in header:
            raise CoefficientError(f"{folder / HEADER} lacks '{key}'", hint="see coefficients/README.md for the header format")
    return header


def check_hashes(folder: Path, header: dict) -> list[Problem]:
    """Problems found comparing the files of a set with the hashes in its header (one per file)."""
    problems = []
    listed = header.get("files", {})
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            problems.append(Problem(f"listed in {HEADER} but missing", file=str(path)))
        elif sha256_file(path) != digest:
            problems.append(Problem(f"SHA-256 differs from {HEADER} (file edited after release)", file=str(path)))
    for path in sorted(folder.glob("*.csv")):
        if path.name not in listed:
            problems.append(Problem(f"not listed in the [files] of {HEADER}", file=str(path)))
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
    header = read_header(folder)
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
    """Rewrite the ``[files]`` table of a set's header with current SHA-256s (maintainers)."""
    path = folder / HEADER
    text = path.read_text(encoding="utf-8")
    lines = ["[files]"] + [f'"{p.name}" = "{sha256_file(p)}"' for p in sorted(folder.glob("*.csv"))]
    block = "\n".join(lines) + "\n"
    new = _FILES_BLOCK.sub(block, text) if _FILES_BLOCK.search(text) else text.rstrip("\n") + "\n\n" + block
    path.write_text(new, encoding="utf-8")
    return block
