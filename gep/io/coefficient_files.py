"""Reading coefficient-set folders from disk (``gep/data/coefficients/<set-id>/`` in the package, or ``$GEP_COEFFICIENTS``).

A set is a folder with CSV files and a header file, ``manifest.toml`` (called
the set's *header* here, so that "manifest" means only what a run writes). The
header names the set (``id``, ``version``, ``description``), optionally a ``base`` set it
extends, the accounting profile (``[services]``, ``[methods]``, ``[switches]``,
``[valuation]``) and ``[files]``: the SHA-256 of every file in the folder.

A set is named by id (its current version, ``gep/data/coefficients/<id>/``), by
``id@version`` (the current folder when it has that version, else the frozen
copy ``gep/data/coefficients/releases/<id>/<version>/``) or by a folder path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gep.errors import CoefficientError, Problem
from gep.io.files import package_data, read_toml, sha256_file

#: The header file of a set: id, version, base, profile and the SHA-256 of its files.
HEADER = "manifest.toml"


def coefficients_root() -> Path:
    """Folder holding the coefficient sets: those shipped in the package (``gep/data/coefficients``),
    or the folder ``$GEP_COEFFICIENTS`` names."""
    env = os.environ.get("GEP_COEFFICIENTS")
    if env:
        return Path(env)
    return package_data("coefficients")


#: Sub-folder of a coefficient root holding the frozen earlier versions, ``releases/<id>/<version>/``.
RELEASES = "releases"
_VERSION = re.compile(r"^\d+(\.\d+)*$")


def split_version(spec: str) -> tuple[str, str | None]:
    """``"cn-2022@1.0.0"`` → ``("cn-2022", "1.0.0")``; a spec without ``@version`` → ``(spec, None)``."""
    name, sep, version = str(spec).rpartition("@")
    if sep and name and _VERSION.match(version):
        return name, version
    return str(spec), None


def _current_folder(name: str, relative_to: Path | None) -> Path | None:
    candidates = [relative_to / name] if relative_to is not None else []
    candidates += [Path(name), coefficients_root() / name]
    return next((c.resolve() for c in candidates if (c / HEADER).is_file()), None)


def set_versions(folder: Path) -> dict[str, Path]:
    """Every version of the set whose current folder is ``folder``: version → folder.

    The current version lives in ``<root>/<id>/``, the frozen earlier ones in
    ``<root>/releases/<id>/<version>/`` (``<root>`` is the folder holding the set).
    """
    header = read_header(folder)
    out = {}
    frozen = folder.parent / RELEASES / str(header["id"])
    for sub in sorted(frozen.glob(f"*/{HEADER}")):
        out[sub.parent.name] = sub.parent.resolve()
    out[str(header["version"])] = folder
    return out


def find_set(name_or_path: str, relative_to: Path | None = None, version: str | None = None) -> Path:
    """Resolve a set id (``cn-2022``), ``id@version`` (``cn-2022@1.0.0``) or a folder to the set's folder.

    Without a version the current folder is returned; with one (in the spec
    or as ``version``, which wins) the current folder when it has that
    version, else the frozen copy ``releases/<id>/<version>/`` beside it.
    A version that exists in neither place is a :class:`CoefficientError`
    listing the versions there are.
    """
    name, spec_version = split_version(name_or_path)
    version = str(version) if version is not None else spec_version
    folder = _current_folder(name, relative_to)
    if folder is None:
        available = sorted(p.name for p in coefficients_root().glob("*") if (p / HEADER).is_file())
        raise CoefficientError(
            f"coefficient set '{name}' not found",
            hint=f"use one of {', '.join(available) or '(none found)'} or a path to a folder with manifest.toml",
        )
    if version is None:
        return folder
    versions = set_versions(folder)
    if version not in versions:
        raise CoefficientError(
            f"coefficient set '{name}' has no version {version}",
            hint=f"versions present: {', '.join(f'{v} ({_where(p, folder)})' for v, p in versions.items())}; frozen versions live in {folder.parent / RELEASES / folder.name}/<version>/",
        )
    found = versions[version]
    recorded = str(read_header(found)["version"])
    if recorded != version:
        raise CoefficientError(f"{found / HEADER} says version {recorded}, but its folder is named {version}", hint=f"a frozen release folder is named after the version in its {HEADER}")
    return found


def _where(path: Path, current: Path) -> str:
    return "current" if path == current else RELEASES


def recorded_set(set_name: str, version: str | None, relative_to: Path | None = None) -> str:
    """The set spec that loads the version a run recorded: ``id@version`` when that
    version is still present (current or frozen under ``releases/``), else ``set_name``
    (a custom set folder without releases: replay then names its changed files)."""
    if version is None:
        return set_name
    try:
        find_set(set_name, relative_to, version=str(version))
    except CoefficientError:
        return set_name
    return f"{split_version(set_name)[0]}@{version}"


def read_header(folder: Path) -> dict:
    """The parsed header (``manifest.toml``) of a set folder."""
    header = read_toml(folder / HEADER, what="coefficient set header")
    for key in ("id", "version", "files"):
        if key not in header:
            raise CoefficientError(f"{folder / HEADER} lacks '{key}'", hint="see gep/data/coefficients/README.md for the header format")
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


def read_for_rules(folder: Path) -> dict:
    """What the citation and release rules of ``gep coefficients verify`` look at in a set folder, as plain data.

    Returns
    -------
    dict
        ``frozen`` (the folder is a frozen copy under ``releases/``), ``release``
        and ``released`` (the frozen copy of this folder's version and the ``[files]``
        of its header, or None when that version was never frozen), ``base`` and ``base_pinned`` (the header's
        ``base`` and whether it names a version or a frozen copy; None without a
        base) and ``tables``: every CSV file the header lists, read as text
        (``dtype=str``) with ``attrs['path']`` and ``attrs['first_row_line']``.
    """
    from gep.io.tables import read_csv

    header = read_header(folder)
    frozen = folder.parent / RELEASES / str(header["id"]) / str(header["version"])
    base = header.get("base")
    pinned = None if not base else split_version(str(base))[1] is not None or RELEASES in find_set(str(base), folder.parent).parts
    tables = [read_csv(folder / name, (), "coefficient table", dtype=str) for name in sorted(header.get("files", {}))
              if name.endswith(".csv") and (folder / name).is_file()]
    release = frozen if (frozen / HEADER).is_file() else None
    return {"frozen": RELEASES in folder.parts, "release": release, "released": read_header(release).get("files") if release else None,
            "base": base, "base_pinned": pinned, "tables": tables}


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
