"""Reading coefficient-set folders from disk (``coefficients/<set-id>/``).

A set is a folder with ``manifest.toml`` and CSV files. The manifest names the
set (``id``, ``version``, ``description``), optionally a ``base`` set it
extends, the accounting profile (``[services]``, ``[methods]``, ``[switches]``,
``[valuation]``) and ``[files]``: the SHA-256 of every file in the folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from gep.errors import CoefficientError
from gep.io.tables import read_toml


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def coefficients_root() -> Path:
    """Folder holding the shipped coefficient sets (``$GEP_COEFFICIENTS`` overrides)."""
    env = os.environ.get("GEP_COEFFICIENTS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "coefficients"


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
    return next((c.resolve() for c in candidates if (c / "manifest.toml").is_file()), None)


def set_versions(folder: Path) -> dict[str, Path]:
    """Every version of the set whose current folder is ``folder``: version → folder.

    The current version lives in ``<root>/<id>/``, the frozen earlier ones in
    ``<root>/releases/<id>/<version>/`` (``<root>`` is the folder holding the set).
    """
    manifest = read_manifest(folder)
    out = {}
    frozen = folder.parent / RELEASES / str(manifest["id"])
    for sub in sorted(frozen.glob("*/manifest.toml")):
        out[sub.parent.name] = sub.parent.resolve()
    out[str(manifest["version"])] = folder
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
        available = sorted(p.name for p in coefficients_root().glob("*") if (p / "manifest.toml").is_file())
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
    recorded = str(read_manifest(found)["version"])
    if recorded != version:
        raise CoefficientError(f"{found / 'manifest.toml'} says version {recorded}, but its folder is named {version}", hint="a frozen release folder is named after the version in its manifest")
    return found


def _where(path: Path, current: Path) -> str:
    return "current" if path == current else RELEASES


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
