"""Provenance: run manifests with hashes of every input, coefficient and output.

Manifests are canonical JSON (sorted keys, UTF-8, no NaN) with no timestamps
and no absolute paths, so the same run gives the same manifest bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import gep

LIBRARIES = ("numpy", "pandas", "xarray", "dask", "pint", "scipy", "rioxarray", "rasterio", "pyarrow", "h5netcdf")


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, UTF-8 characters kept, NaN/inf rejected."""
    return json.dumps(_clean(obj), sort_keys=True, ensure_ascii=False, allow_nan=False, indent=1)


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if not math.isfinite(f) else f
    return obj


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state() -> dict[str, Any]:
    """Commit of the gep source tree and whether it had uncommitted changes."""
    root = Path(gep.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gep", "coefficients"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def value_digest(values: np.ndarray, tolerance: float) -> str:
    """SHA-256 of values rounded to ``tolerance`` (absolute), for tolerant comparison."""
    v = np.asarray(values, dtype=np.float64)
    rounded = np.round(np.nan_to_num(v, nan=0.0) / tolerance).astype(np.int64)
    return sha256_bytes(rounded.tobytes())


def environment() -> dict[str, Any]:
    return {"gep_version": gep.__version__, "git": git_state(), "libraries": library_versions()}
