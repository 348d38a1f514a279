"""Provenance: the hashes, digests and environment a run manifest records.

A manifest (:mod:`gep.audit.manifest`) is the record an auditor needs to prove
that a published number follows from recorded inputs, coefficients and code
(DESIGN.md section 6): what was run (command, resolved scenario with every
override), on what (SHA-256 of every input and coefficient file), with what
(package version, git commit and dirty flag, a hash of the package source,
library versions, RNG generator and seed), what came out (SHA-256 of every
output file and digests of the output values rounded to a declared tolerance),
and the hash of the manifest it replaced in the same output folder (a chain,
kept by :func:`gep.audit.manifest.write`). This module makes those pieces.

Canonical form
--------------
Manifests are canonical JSON: keys sorted, UTF-8 text (non-ASCII kept), one
space indentation, no NaN or infinity (they are written as ``null``), a final
newline. Nothing hashed holds a timestamp or an absolute path, so the same
run gives the same manifest bytes, and ``sha256sum manifest.json`` is the
manifest's identity.

References
----------
FIPS PUB 180-4 (2015), Secure Hash Standard (SHA-256).
RFC 8259 (2017), The JavaScript Object Notation (JSON) Data Interchange Format.
O'Neill, M. E. (2014), PCG: A Family of Simple Fast Space-Efficient
Statistically Good Algorithms for Random Number Generation, HMC-CS-2014-0905
(the PCG64 generator of ``numpy.random``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import platform
import re
import subprocess
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import gep
from gep.audit.manifest import RELATIVE_TOLERANCE  # noqa: F401 - the tolerance manifests record
from gep.errors import InputError
from gep.io.files import sha256_file

#: Libraries whose versions every manifest records.
LIBRARIES = ("numpy", "pandas", "xarray", "dask", "pint", "scipy", "rioxarray", "rasterio", "pyarrow", "h5netcdf", "matplotlib")
#: The one random generator gep uses (``numpy.random.Generator(PCG64(seed))``).
RNG_GENERATOR = "numpy.random.Generator(PCG64)"

__all__ = [
    "canonical_json",
    "canonical_bytes",
    "to_jsonable",
    "sha256_bytes",
    "sha256_file",
    "value_digest",
    "Digest",
    "DIGEST_VERSION",
    "digests",
    "file_digests",
    "library_versions",
    "git_state",
    "source_sha256",
    "environment",
    "environment_differences",
    "rng_record",
    "make_rng",
]


# --------------------------------------------------------------------------- canonical JSON


def canonical_json(obj: Any) -> str:
    """Canonical JSON text of ``obj``.

    Keys are sorted, non-ASCII characters kept (the file is UTF-8), one space
    of indentation; NaN and infinities become ``null`` (JSON has no NaN);
    numpy scalars become Python numbers and paths POSIX strings.

    Parameters
    ----------
    obj : Any
        Dicts, lists, tuples, strings, numbers, booleans, None, paths, numpy scalars.

    Returns
    -------
    str
        The JSON text, without a final newline.
    """
    return json.dumps(_clean(obj), sort_keys=True, ensure_ascii=False, allow_nan=False, indent=1)


def canonical_bytes(obj: Any) -> bytes:
    """The bytes of a manifest file: :func:`canonical_json` + newline, UTF-8."""
    return (canonical_json(obj) + "\n").encode("utf-8")


def to_jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars, paths and dates made JSON-ready and NaN/inf as None."""
    return _clean(obj)


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, Path):
        return obj.as_posix()
    if type(obj).__module__ == "numpy" and hasattr(obj, "item"):  # numpy scalars (numpy is not imported here)
        obj = obj.item()
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj
    if isinstance(obj, date):  # dates in scenario or bond files
        return obj.isoformat()
    return obj


def run_folder_name(name: str, tag: str, digest: str, default: str = "run", max_len: int | None = None) -> str:
    """``<name>-<tag>-<first 10 hex of digest>``: a deterministic output folder name.

    ``name`` is reduced to ``[A-Za-z0-9_.-]`` (``default`` when nothing is left).
    """
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:max_len] or default
    return f"{slug}-{tag}-{digest[:10]}"


def sha256_bytes(data: bytes) -> str:
    """SHA-256 hex digest of ``data`` (FIPS 180-4)."""
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- value digests

#: Version of the value digests a run records (``results.digest_version``; absent: 1).
DIGEST_VERSION = 2
#: Cells per segment of a version-2 digest: whole rows (first axis) of about this many cells.
SEGMENT_CELLS = 2**20


def _digest_head(shape: tuple[int, ...]) -> bytes:
    return ("shape=" + ",".join(str(int(n)) for n in shape) + ";").encode()


def _rounded(values: Any, tolerance: float) -> Any:
    """``round(v / tolerance)`` as int64 (NaN → min int64, +inf or beyond ±2**62 → max, −inf → min + 1)."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.round(v / tolerance)
    big = np.abs(np.nan_to_num(scaled)) >= 2.0**62
    ok = np.isfinite(scaled) & ~big
    ints = np.where(ok, np.nan_to_num(scaled), 0.0).astype("<i8")
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    ints = np.where(np.isnan(v), lo, ints)
    ints = np.where(np.isposinf(v) | (big & (np.nan_to_num(scaled) > 0)), hi, ints)
    return np.where(np.isneginf(v) | (big & (np.nan_to_num(scaled) < 0)), lo + 1, ints)


def _rounded_bytes(values: Any, tolerance: float) -> bytes:
    """Version 1: ``round(v / tolerance)`` as little-endian int64 bytes."""
    import numpy as np

    return np.ascontiguousarray(_rounded(values, tolerance), dtype="<i8").tobytes()


def segment_rows(shape: tuple[int, ...]) -> int:
    """Rows (first axis) per segment of a version-2 digest of an array of ``shape``."""
    width = 1
    for n in shape[1:]:
        width *= int(n)
    return max(1, SEGMENT_CELLS // max(1, width))


def _segment_hash(block: Any, tolerance: float) -> bytes:
    """SHA-256 of a segment as version 2 hashes it: integers as they are, other values rounded
    to the tolerance, in the narrowest of int8, int16, int32, int64 that holds them (its width
    in bytes first, then the values little-endian in C order)."""
    import numpy as np

    b = np.asarray(block)
    lo, hi = (b.min().item(), b.max().item()) if b.size else (0, 0)
    if b.size and lo == hi:  # constant (a projected grid's cell areas): hashed once
        return _constant_segment_hash(b.dtype.str, b.shape, lo, tolerance)
    return _values_hash(b, tolerance, lo, hi)


@functools.lru_cache(maxsize=64)
def _constant_segment_hash(dtype: str, shape: tuple[int, ...], value: Any, tolerance: float) -> bytes:
    """:func:`_segment_hash` of a segment whose every value is ``value``."""
    import numpy as np

    return _values_hash(np.full(shape, value, dtype=dtype), tolerance, value, value)


def _values_hash(b: Any, tolerance: float, lo: Any, hi: Any) -> bytes:
    """:func:`_segment_hash` of the numpy array ``b`` whose least and greatest values are ``lo`` and ``hi``."""
    import numpy as np

    if b.dtype.kind in "iub":
        ints = b
        lo, hi = int(lo), int(hi)
    else:
        lo, hi = float(lo), float(hi)
        bound = 2.0**62 * tolerance
        if -bound < lo and hi < bound:  # False for NaN
            ints = np.multiply(b, 1.0 / tolerance, dtype=np.float64)
            np.rint(ints, out=ints)
            lo, hi = round(lo / tolerance) - 1, round(hi / tolerance) + 1  # bounds of the rounded values
        else:  # NaN, infinities or huge values: version 1's codes
            ints = _rounded(b, tolerance)
            lo, hi = int(ints.min()), int(ints.max())
    for width in (1, 2, 4, 8):
        info = np.iinfo(f"i{width}")
        if info.min <= lo and hi <= info.max:
            break
    h = hashlib.sha256(bytes([width]))
    h.update(np.ascontiguousarray(ints, dtype=f"<i{width}").data)
    return h.digest()


class Digest:
    """Version-2 digest of one array, fed block by block in any order (several threads).

    The array is cut into segments of :func:`segment_rows` whole rows; each segment's
    :func:`_segment_bytes` is hashed (SHA-256) on its own, and the digest is the SHA-256
    of the header (version, shape) followed by the segment hashes in row order. Blocks
    given to :meth:`update` must start on a segment boundary and hold whole segments
    (the last block may end with the array).
    """

    def __init__(self, shape: tuple[int, ...], tolerance: float):
        if not tolerance > 0:
            raise ValueError("tolerance must be > 0")
        self.shape = tuple(int(n) for n in shape)
        self.tolerance = float(tolerance)
        self.rows = segment_rows(self.shape)
        self._segments: dict[int, bytes] = {}

    def update(self, row0: int, block: Any) -> None:
        """Hash the segments of ``block``, rows ``row0`` to ``row0 + len(block)``."""
        if row0 % self.rows:
            raise ValueError(f"a digest block must start on a segment boundary ({self.rows} rows), not at row {row0}")
        for i in range(0, max(1, len(block)), self.rows):
            self._segments[(row0 + i) // self.rows] = _segment_hash(block[i : i + self.rows], self.tolerance)

    def hexdigest(self) -> str:
        n = -(-self.shape[0] // self.rows) if self.shape and self.shape[0] else 1
        missing = [i for i in range(n) if i not in self._segments]
        if missing:
            raise ValueError(f"digest of a {self.shape} array lacks segments {missing[:5]}")
        h = hashlib.sha256(b"gep-digest-2;" + _digest_head(self.shape))
        for i in range(n):
            h.update(self._segments[i])
        return h.hexdigest()


def value_digest(values: Any, tolerance: float, version: int = DIGEST_VERSION) -> str:
    """SHA-256 of values rounded to an absolute ``tolerance``.

    Version 2 (:class:`Digest`): segments of whole rows hashed on their own, so that a
    run hashes each block of an output as it writes it, on several threads; integers are
    hashed as they are, other values as ``round(v / tolerance)`` (half to even), each
    segment in the narrowest integer type that holds the bounds of its values (int8 to
    int64; the bounds are widened by one step, so the width never depends on a value on a
    rounding boundary); NaN, infinities and values beyond ±2**62 × tolerance take version
    1's codes in an int64 segment.

    Version 1 (manifests written before): each value becomes ``round(v / tolerance)``
    as little-endian int64 in C order (NaN the smallest int64, so that a missing value
    differs from 0), the shape hashed first (``b"shape=2,3;"``).

    Two arrays whose values differ by much less than ``tolerance`` give the same
    digest except when a value sits on a rounding boundary; replay therefore
    compares values, and uses digests only when the recorded values are not at hand.

    Parameters
    ----------
    values : array_like
        Numbers (any shape).
    tolerance : float
        Absolute rounding step, > 0, in the values' unit.
    version : int
        1 or 2.

    Returns
    -------
    str
        Hex digest.
    """
    import numpy as np

    if not tolerance > 0:
        raise ValueError("tolerance must be > 0")
    v = np.asarray(values)
    if version == 1:
        h = hashlib.sha256(_digest_head(v.shape))
        h.update(_rounded_bytes(v, tolerance))
        return h.hexdigest()
    d = Digest(v.shape, tolerance)
    d.update(0, v if v.ndim else v.reshape(1))
    return d.hexdigest()


def digests(ds: Any, tolerance: float, version: int = DIGEST_VERSION) -> dict[str, str]:
    """:func:`value_digest` of every numeric data variable of an xarray Dataset, by name."""
    out = {}
    for name in sorted(ds.data_vars):
        da = ds[name]
        if da.dtype.kind in "fiu":
            out[str(name)] = value_digest(da.values, tolerance, version)
    return out


def file_digests(path: str | Path, tolerance: float, rows: int = 2048) -> dict[str, str]:
    """Version-1 :func:`value_digest` of every numeric variable of a NetCDF file, read in slabs of ``rows``.

    For replaying manifests written before version 2 (a run now digests its outputs while
    writing them). Values are read as stored (no masking or scaling), a slab of the first
    dimension at a time, so memory stays bounded; the digests equal :func:`digests` of the
    same values.
    """
    import xarray as xr

    if not tolerance > 0:
        raise ValueError("tolerance must be > 0")
    out = {}
    with xr.open_dataset(path, engine="h5netcdf", mask_and_scale=False, decode_times=False, cache=False) as ds:
        for name in sorted(ds.data_vars):
            da = ds[name]
            if da.dtype.kind not in "fiu":
                continue
            h = hashlib.sha256(_digest_head(da.shape))
            if da.ndim == 0:
                h.update(_rounded_bytes(da.values, tolerance))
            else:
                for i in range(0, da.shape[0], rows):
                    h.update(_rounded_bytes(da[i : i + rows].values, tolerance))
            out[str(name)] = h.hexdigest()
    return out


# --------------------------------------------------------------------------- environment


def library_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Python and library versions (:data:`LIBRARIES`, and the ``extra`` libraries a job used)."""
    out = {"python": platform.python_version()}
    for name in dict.fromkeys((*LIBRARIES, *extra)):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state() -> dict[str, Any]:
    """Commit of the gep source tree and whether ``gep/`` (coefficient sets included) had uncommitted changes.

    Read-only git commands; ``None`` values when the package is not in a git
    work tree (an installed wheel, a tarball).
    """
    root = Path(gep.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gep"], cwd=root, capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip()) if dirty.returncode == 0 else None}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def source_sha256() -> str:
    """SHA-256 over the package source: every ``gep/**/*.py`` and ``gep/*.txt`` file.

    The digest is over the sorted lines ``<sha256>  <path relative to gep/>``
    (the format of ``sha256sum``), so it identifies the code even without git
    and changes with any uncommitted edit.
    """
    pkg = Path(gep.__file__).resolve().parent
    files = sorted(p for p in pkg.rglob("*") if p.is_file() and p.suffix in (".py", ".txt") and "__pycache__" not in p.parts)
    lines = [f"{sha256_file(p)}  {p.relative_to(pkg).as_posix()}\n" for p in files]
    return sha256_bytes("".join(lines).encode("utf-8"))


def environment(libraries: Iterable[str] = ()) -> dict[str, Any]:
    """What produced a result: gep version, git state, source hash, platform, library versions.

    Parameters
    ----------
    libraries : iterable of str
        Distributions a job used beyond :data:`LIBRARIES` (e.g. ``QuantLib`` when
        a bond's payment dates follow a business-day calendar), recorded with
        their versions so that replay compares them too.
    """
    return {
        "gep_version": gep.__version__,
        "git": git_state(),
        "source_sha256": source_sha256(),
        "platform": {"system": platform.system(), "machine": platform.machine()},
        "libraries": library_versions(libraries),
    }


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def environment_differences(recorded: dict | None, current: dict | None = None) -> list[dict[str, Any]]:
    """Keys where the recorded environment differs from ``current`` (default: this one).

    Returns
    -------
    list of dict
        ``{"key": "libraries.numpy", "recorded": ..., "current": ...}``, sorted by key;
        a key missing on one side shows ``None`` there.
    """
    a = _flatten(recorded or {})
    if current is None:  # the libraries the recorded run used beyond the standard ones are looked up too
        used = (recorded or {}).get("libraries") if isinstance(recorded, dict) else None
        current = environment([k for k in (used or {}) if k != "python" and k not in LIBRARIES])
    b = _flatten(current)
    return [{"key": k, "recorded": a.get(k), "current": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


# --------------------------------------------------------------------------- RNG


def rng_record(seed: int | None, used: bool | None = None) -> dict[str, Any]:
    """The manifest's ``rng`` entry: generator, seed and whether randomness was used.

    Parameters
    ----------
    seed : int or None
        Seed given to :func:`make_rng`; ``None`` for a deterministic calculation.
    used : bool, optional
        Default: ``seed is not None``.
    """
    return {"generator": RNG_GENERATOR, "seed": None if seed is None else int(seed), "used": bool(seed is not None if used is None else used)}


def make_rng(record_or_seed: dict | int) -> Any:
    """``numpy.random.Generator(PCG64(seed))`` from a seed or a manifest ``rng`` entry."""
    import numpy as np

    seed = record_or_seed.get("seed") if isinstance(record_or_seed, dict) else record_or_seed
    if seed is None:
        raise InputError("the manifest records no RNG seed", hint="a seeded calculation records rng.seed; this one was deterministic")
    return np.random.Generator(np.random.PCG64(int(seed)))


# --------------------------------------------------------------------------- chain
