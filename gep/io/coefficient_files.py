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

from gep.errors import CoefficientError
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


def check_hashes(folder: Path, manifest: dict) -> list[str]:
    """Problems found comparing the files of a set with the hashes in its manifest."""
    problems = []
    listed = manifest.get("files", {})
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: listed in the manifest but missing")
        elif sha256_file(path) != digest:
            problems.append(f"{path}: SHA-256 differs from the manifest (file edited after release)")
    for path in sorted(folder.glob("*.csv")):
        if path.name not in listed:
            problems.append(f"{path}: not listed in the manifest's [files]")
    return problems


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
