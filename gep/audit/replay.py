"""Replay a recorded run and prove that it reproduces, or show where it does not.

``gep replay runs/<id>/manifest.json`` works in five steps, each stopping the
replay when it fails (DESIGN.md section 6):

1. **chain**: every previous manifest the run folder recorded
   (``previous_manifest_sha256``) must exist as ``manifests/<sha256>.json``
   and hash to that name (:func:`gep.audit.manifest.chain`);
2. **inputs**: the scenario file, every input file and every coefficient file
   must have the SHA-256 the manifest recorded. Any changed or missing file →
   exit code 3, naming each file;
3. **environment**: the package version, git commit and dirty flag, the hash
   of the package source, the platform and the library versions are compared
   with the recorded ones. Differences are warnings; with ``strict`` they stop
   the replay with exit code 4;
4. **re-run**: the recorded scenario is computed again with the recorded
   coefficient set, at the version the run recorded (a frozen copy under
   ``gep/data/coefficients/releases/`` once the set has moved on), with the recorded
   RNG seed for seeded calculations, and
   its outputs written to a temporary folder;
5. **compare**: every recorded output file must still have its recorded
   SHA-256 (an edited output is named), and every value of every numeric
   output (``account.nc``, ``cells.nc``, the CSV and Parquet tables) must
   match the re-run within the recorded tolerance
   ``|a − b| ≤ tol_abs + tol_rel·max(|a|, |b|)``. Exit 0 when everything
   reproduces, 1 when not, with the largest differences listed by output,
   variable and keys (zone, service, ecosystem, year, cell).

Kinds: ``gep run`` (with its ``--area`` parcel and series year), ``gep capacity
basin``, ``gep bond coverage`` (seeded; files listed by :func:`_coverage_files`),
``gep bond impact`` (:func:`_impact_files`; ledger records read up to the recorded
tree head), ``gep uncertainty`` (its recorded samples and seed), ``gep compare`` (recomputed from its two
recorded run folders, :func:`_compare_files`) and the monitoring kinds (``gep monitoring compliance``,
``gep monitoring calibrate``, ``gep compensation``, ``gep assess``: inputs relative
to the run folder, :func:`_monitoring_files`). A ``gep series`` manifest is refused (exit 2) with a
pointer to its year manifests, each a ``gep run`` manifest.

Exit codes: 0 reproduced, 1 not reproduced (or an output file was edited),
2 usage or input error, 3 inputs, coefficients or the manifest chain changed
or missing, 4 environment differs under ``--strict``.

References
----------
DESIGN.md section 6 (provenance and replay); :mod:`gep.audit.provenance`.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

import gep
from gep.audit import provenance
from gep.audit.manifest import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    BasinRecord,
    CoefficientsRef,
    CompareRecord,
    CoverageRecord,
    ImpactRecord,
    Manifest,
    MONITORING,
    MonitoringRecord,
    RunRecord,
    UncertaintyRecord,
    chain,
    folder_of,
)
from gep.audit.manifest import read as read_manifest
from gep.errors import CoefficientError, GepError, InputError
from gep.io.coefficient_files import find_set, read_header, recorded_set
from gep.io.files import sha256_file

#: Exit codes of ``gep replay``.
EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_CHANGED, EXIT_ENVIRONMENT = 0, 1, 2, 3, 4
#: Columns that identify a row of an output table (those present are used).
KEY_COLUMNS = ("year", "zone", "service", "ecosystem", "component", "category", "product", "catchment", "reach", "reach_id", "pollutant", "vintage")
#: How many of the largest differences a report keeps.
MAX_LISTED = 100
#: Smallest relative tolerance for float32 variables (about two units in the last place).
FLOAT32_RTOL = 2.0**-22


@dataclass
class ReplayReport:
    """Everything a replay found; :meth:`to_dict` is the ``--json`` document.

    Attributes
    ----------
    status : str
        ``reproduced``, ``not reproduced``, ``inputs changed`` or ``environment differs``.
    exit_code : int
        0, 1, 3 or 4 (see the module notes).
    chain : list of dict
        Previous manifests found, newest first.
    changed : list of dict
        Changed or missing scenario, input, coefficient and chain files.
    environment : list of dict
        Environment keys that differ (``key``, ``recorded``, ``current``).
    outputs : list of dict
        Recorded output files that are missing or no longer have their recorded SHA-256.
    differences : list of dict
        The largest value differences (up to :data:`MAX_LISTED`), largest first.
    n_differences : int
        All values outside tolerance (the list above is cut at :data:`MAX_LISTED`).
    compared : int
        Values compared in outputs that were not byte-identical to the re-run.
    identical : list of str
        Outputs byte-identical to the re-run (every value reproduces exactly).
    """

    manifest: str
    kind: str
    status: str = "reproduced"
    exit_code: int = EXIT_OK
    checked_files: int = 0
    chain: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    environment: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    differences: list[dict] = field(default_factory=list)
    n_differences: int = 0
    compared: int = 0
    max_abs_diff: float = 0.0
    tolerance: dict[str, float] = field(default_factory=dict)
    identical: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary (non-finite numbers as ``null``)."""
        return provenance.to_jsonable(
            {
                "manifest": self.manifest,
                "kind": self.kind,
                "status": self.status,
                "exit_code": self.exit_code,
                "checked_files": self.checked_files,
                "chain": self.chain,
                "changed": self.changed,
                "environment": self.environment,
                "outputs": self.outputs,
                "differences": self.differences,
                "n_differences": self.n_differences,
                "compared_values": self.compared,
                "identical_outputs": self.identical,
                "max_abs_diff": self.max_abs_diff,
                "tolerance": self.tolerance,
                "notes": self.notes,
            }
        )


# --------------------------------------------------------------------------- file checks


def _file_problem(kind: str, name: str, path: Path, recorded: str | None, shown: str) -> dict | None:
    """A ``changed``/``missing`` finding for one recorded file, or None when it matches."""
    if not path.is_file():
        return {"kind": kind, "name": name, "file": shown, "problem": "missing", "recorded": recorded, "actual": None}
    actual = sha256_file(path)
    if actual != recorded:
        return {"kind": kind, "name": name, "file": shown, "problem": "changed", "recorded": recorded, "actual": actual}
    return None


def _shown(path: Path) -> str:
    """A path for messages: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def coefficient_folders(set_name: str, scenario_folder: Path, version: Any = None) -> dict[str, Path]:
    """Set id → folder for a coefficient set and its ``base`` chain, resolved as a run does
    (the recorded ``version`` of the set when given, see :func:`gep.io.coefficient_files.recorded_set`)."""
    out: dict[str, Path] = {}
    folder = find_set(recorded_set(set_name, version, scenario_folder), scenario_folder)
    while True:
        meta = read_header(folder)
        out[str(meta["id"])] = folder
        base = meta.get("base")
        if not base or len(out) > 50:
            return out
        folder = find_set(str(base), folder.parent)


def check_recorded_files(manifest: Manifest, run_dir: Path) -> tuple[list[dict], int, Path]:
    """Check the files a manifest recorded (scenario, inputs, coefficients; or its kind's own list) against their SHA-256.

    Returns
    -------
    (problems, checked, scenario_path)
        One finding per changed or missing file; the number of files checked;
        the scenario file's location (the run folder for kinds without a scenario file).
    """
    record = manifest.record
    if isinstance(record, (RunRecord, BasinRecord)):
        listed, scenario_path = _scenario_files(record, run_dir)
    elif isinstance(record, CoverageRecord):
        listed, scenario_path = _coverage_files(record, run_dir), run_dir
    elif isinstance(record, ImpactRecord):
        listed, scenario_path = _impact_files(record, run_dir), run_dir
    elif isinstance(record, CompareRecord):
        listed, scenario_path = _compare_files(record, run_dir), run_dir
    elif isinstance(record, MonitoringRecord):
        listed, scenario_path = _monitoring_files(record, run_dir), run_dir
    else:
        raise InputError(f"the manifest records no files this gep can check (kind {manifest.kind!r})", hint="replay needs a manifest written by a gep command")
    problems: list[dict] = []
    for kind, name, path, digest, note in listed:
        p = _file_problem(kind, name, path, digest, _shown(path))
        if p:
            if note:
                p["problem"] = f"{p['problem']} ({note})"
            problems.append(p)
    if isinstance(record, (RunRecord, BasinRecord)):
        problems += _missing_sets(record, scenario_path.parent)
    return problems, len(listed), scenario_path


#: ``(kind, name, path, recorded sha256, note if it differs)`` of one recorded file.
Listed = tuple[str, str, Path, "str | None", "str | None"]


def _scenario_files(record: RunRecord | BasinRecord, run_dir: Path) -> tuple[list[Listed], Path]:
    """Scenario (relative to the run folder), inputs and parcel (relative to the scenario folder), coefficient files."""
    if not record.scenario.path:
        raise InputError("the manifest records no scenario path", hint="replay needs a manifest written by `gep run`")
    scenario_path = (run_dir / record.scenario.path).resolve()
    folder = scenario_path.parent
    listed: list[Listed] = [("scenario", "scenario", scenario_path, record.scenario.sha256, None)]
    listed += [("input", name, (folder / ref.path).resolve(), ref.sha256, None) for name, ref in sorted(record.inputs.items())]
    parcel = record.parcel if isinstance(record, RunRecord) else None
    if parcel and parcel.get("path") and parcel.get("sha256"):  # --area or [region] area: relative to the scenario folder
        listed.append(("input", "parcel", (folder / parcel["path"]).resolve(), parcel["sha256"], None))
    return listed + _coefficient_files(record, folder), scenario_path


def _coefficient_files(record: RunRecord | BasinRecord | MonitoringRecord, folder: Path) -> list[Listed]:
    """Every file of the coefficient sets a run recorded (a version that moved on is noted)."""
    listed: list[Listed] = []
    for set_name, coef in _recorded_sets(record):
        folders = _set_folders(set_name, folder, coef.version)
        for key, digest in sorted(coef.files.items()):
            set_id, _, name = key.partition("/")
            if not name:  # a set-level file listing without the set prefix
                set_id, name = next(iter(folders), set_name), key
            if set_id == "scenario":
                listed.append(("coefficient", key, (folder / name).resolve(), digest, None))
            elif set_id in folders:
                note = None
                current = str(read_header(folders[set_id]).get("version"))
                if set_id == next(iter(folders), None) and coef.version is not None and current != str(coef.version):
                    note = f"set {set_id} version {coef.version} recorded, {current} now"
                listed.append(("coefficient", key if "/" in key else f"{set_id}/{key}", folders[set_id] / name, digest, note))
    return listed


def _monitoring_files(record: MonitoringRecord, run_dir: Path) -> list[Listed]:
    """Files a monitoring manifest records: its inputs (relative to the run folder) and coefficient files."""
    listed: list[Listed] = [("input", name, (run_dir / ref.path).resolve(), ref.sha256, None) for name, ref in sorted(record.inputs.items())]
    return listed + _coefficient_files(record, run_dir)


def _missing_sets(record: RunRecord | BasinRecord, folder: Path) -> list[dict]:
    """Findings for coefficient sets (or sets named in file keys) that cannot be found at all."""
    out = []
    for set_name, coef in _recorded_sets(record):
        try:
            folders = coefficient_folders(set_name, folder, coef.version)
        except CoefficientError as exc:
            if any(not k.startswith("scenario/") for k in coef.files):
                out.append({"kind": "coefficient", "name": set_name, "file": set_name, "problem": f"coefficient set missing ({exc.message})", "recorded": coef.version, "actual": None})
            continue
        for key, digest in sorted(coef.files.items()):
            set_id, _, name = key.partition("/")
            if name and set_id != "scenario" and set_id not in folders:
                out.append({"kind": "coefficient", "name": key, "file": key, "problem": f"coefficient set '{set_id}' not found", "recorded": digest, "actual": None})
    return out


def _set_folders(set_name: str, folder: Path, version: str | None = None) -> dict[str, Path]:
    try:
        return coefficient_folders(set_name, folder, version)
    except CoefficientError:
        return {}


def _coverage_files(record: CoverageRecord, run_dir: Path) -> list[Listed]:
    """Files a ``gep bond coverage`` manifest records: bond and revenue files (relative to the
    run folder), the files they reference (price histories, run manifests: relative to the file
    that names them; a loan's run manifest to the bond file) and the outputs of referenced runs."""
    out: list[Listed] = []
    folders: dict[str, Path] = {}
    for key, ref in (("bond", record.bond), ("revenue", record.revenue)):
        if ref is None or not ref.path:
            raise InputError(f"the coverage manifest records no {key} file", hint="re-run gep bond coverage with this gep, then replay")
        path = (run_dir / ref.path).resolve()
        folders[key] = path.parent
        out.append(("input", key, path, ref.sha256, None))
    for ref in record.referenced_files:
        path = (folders[ref.relative_to] / ref.path).resolve()
        out.append(("reference", ref.label, path, ref.sha256, None))
        for name, digest in sorted(ref.outputs.items()):
            out.append(("reference", f"{ref.label}: {name}", path.parent / name, digest, None))
    return out


def _compare_files(record: CompareRecord, run_dir: Path) -> list[Listed]:
    """Files a ``gep compare`` manifest records: each side's ``manifest.json``, ``account.nc``
    and ``cells.nc`` (run folders relative to the comparison folder)."""
    out: list[Listed] = []
    for label, side in (("base", record.base), ("alt", record.alt)):
        if not side.run_dir or not side.files:
            raise InputError(f"the compare manifest records no {label} run folder and files", hint="re-run gep compare with this gep, then replay")
        folder = (run_dir / side.run_dir).resolve()
        out += [("input", f"{label} {name}", folder / name, digest, None) for name, digest in sorted(side.files.items())]
    return out


def _impact_files(record: ImpactRecord, run_dir: Path) -> list[Listed]:
    """Files a ``gep bond impact`` manifest records: the bond file, each run manifest and its
    ``account.csv`` (relative to the report folder) and the green-bond catalogue (relative to the
    folder of the ``gep`` package). A ledger is checked by its tree head when re-read, not by its
    hash: it may have grown since."""
    if record.bond is None or not record.bond.path:
        raise InputError("the impact manifest records no bond file", hint="re-run gep bond impact with this gep, then replay")
    out: list[Listed] = [("input", "bond", (run_dir / record.bond.path).resolve(), record.bond.sha256, None)]
    for ref in record.runs:
        path = (run_dir / ref.path).resolve()
        out.append(("reference", f"run {ref.path}", path, ref.sha256, None))
        out += [("reference", f"run {ref.path}: {name}", path.parent / name, digest, None) for name, digest in sorted(ref.outputs.items())]
    if record.catalogue is not None:
        out.append(("input", "green bond catalogue", Path(gep.__file__).resolve().parent.parent / record.catalogue.path,
                    record.catalogue.sha256, "the catalogue data of this gep differs from the one the report used"))
    return out


def _recorded_sets(record: RunRecord | BasinRecord | MonitoringRecord) -> list[tuple[str, CoefficientsRef]]:
    """``(set name as the run resolved it, the set's record)`` per coefficient set recorded.

    A ``gep run`` manifest records one set (files keyed ``<set-id>/<file>``, the
    set named by the scenario); a basin run records its sets by role, files keyed
    by name only.
    """
    if isinstance(record, RunRecord):
        c = record.coefficients
        return [(str(record.scenario.coefficient_set or c.id or "cn-2022"), c)]
    return [(str(c.id), CoefficientsRef(c.id, c.version, {f"{c.id}/{k}" if "/" not in k else k: v for k, v in c.files.items()}))
            for _, c in sorted(record.coefficients.items()) if c.id]


# --------------------------------------------------------------------------- value comparison


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _exceed(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """Mask of elements outside tolerance (NaN equals NaN) and their absolute differences."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - b)
        same_inf = np.isinf(a) & np.isinf(b) & (np.sign(a) == np.sign(b))
        diff = np.where(both_nan | same_inf, 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)
        limit = atol + rtol * np.maximum(np.abs(np.nan_to_num(a)), np.abs(np.nan_to_num(b)))
    return diff > limit, diff


def _top(mask: np.ndarray, diff: np.ndarray, n: int) -> np.ndarray:
    idx = np.flatnonzero(mask.ravel())
    if idx.size > n:
        d = diff.ravel()[idx]
        idx = idx[np.argpartition(-d, n - 1)[:n]]
    return idx


def compare_datasets(name: str, rec: Any, rep: Any, atol: float, rtol: float, zone_ids: np.ndarray | None = None, year: Any = None) -> tuple[list[dict], int, int]:
    """Compare every numeric variable of two xarray Datasets element by element.

    Returns
    -------
    (differences, n_differences, n_compared)
        ``differences`` holds at most :data:`MAX_LISTED` per variable, each with
        the keys of the element (coordinate values of its dimensions, the
        accounting year, and for per-cell outputs the row, column and zone).
    """
    out: list[dict] = []
    total = compared = 0
    year = _py(rec.attrs.get("year", rep.attrs.get("year", year)))
    for var in sorted(set(rec.data_vars) | set(rep.data_vars)):
        if var not in rec.data_vars or var not in rep.data_vars:
            side = "recorded output" if var not in rec.data_vars else "re-run"
            out.append({"output": name, "variable": str(var), "keys": {}, "problem": f"variable missing from the {side}", "recorded": None, "replayed": None, "abs_diff": math.inf})
            total += 1
            continue
        a, b = rec[var], rep[var]
        if a.dtype.kind not in "fiub" or b.dtype.kind not in "fiub":
            if not np.array_equal(np.asarray(a.values).astype(str), np.asarray(b.values).astype(str)):
                out.append({"output": name, "variable": str(var), "keys": {}, "problem": "text values differ", "recorded": None, "replayed": None, "abs_diff": math.inf})
                total += 1
            continue
        if a.dims != b.dims or a.shape != b.shape or any(not np.array_equal(np.asarray(a[d].values), np.asarray(b[d].values)) for d in a.dims if d in a.coords and d in b.coords):
            out.append({"output": name, "variable": str(var), "keys": {}, "problem": f"shape or coordinates differ: {dict(a.sizes)} vs {dict(b.sizes)}", "recorded": None, "replayed": None, "abs_diff": math.inf})
            total += 1
            continue
        rt = max(rtol, FLOAT32_RTOL) if np.float32 in (a.dtype, b.dtype) else rtol
        av, bv = np.asarray(a.values), np.asarray(b.values)
        mask, diff = _exceed(av, bv, atol, rt)
        compared += int(av.size)
        n = int(mask.sum())
        total += n
        for flat in _top(mask, diff, MAX_LISTED):
            pos = np.unravel_index(int(flat), av.shape)
            keys: dict[str, Any] = {}
            for d, i in zip(a.dims, pos):
                keys[str(d)] = _py(a[d].values[i]) if d in a.coords else int(i)
                if d in ("y", "x"):
                    keys["row" if d == "y" else "col"] = int(i)
            if "zone_index" in rec.data_vars and a.dims == rec["zone_index"].dims and zone_ids is not None:
                zi = int(np.asarray(rec["zone_index"].values)[pos])
                keys["zone"] = _py(zone_ids[zi]) if 0 <= zi < len(zone_ids) else None
            if year is not None:
                keys["year"] = year
            for c in ("zone_name", "category"):
                if c in a.coords and set(a[c].dims) <= set(a.dims):
                    keys[c] = _py(a[c].values[tuple(pos[a.dims.index(dd)] for dd in a[c].dims)])
            ra, rb = float(av[pos]), float(bv[pos])
            out.append({"output": name, "variable": str(var), "keys": keys, "recorded": _py(ra), "replayed": _py(rb), "abs_diff": float(diff[pos]), "rel_diff": _rel(ra, rb)})
    return out, total, compared


def _rel(a: float, b: float) -> float | None:
    scale = max(abs(a), abs(b))
    if not (math.isfinite(a) and math.isfinite(b)):
        return None
    return abs(a - b) / scale if scale else 0.0


def _row_keys(row: pd.Series, keys: list[str]) -> dict:
    out = {k: _py(row[k]) for k in keys}
    for info in ("zone_name",):
        for col in (info, f"{info}__rec"):
            if col in row.index and info not in out:
                out[info] = _py(row[col])
    return out


def compare_tables(name: str, rec: pd.DataFrame, rep: pd.DataFrame, atol: float, rtol: float) -> tuple[list[dict], int, int]:
    """Compare two output tables row by row, matched by their key columns.

    Numeric columns are compared within tolerance, other columns as text;
    a row present on one side only is a difference.
    """
    keys = [c for c in KEY_COLUMNS if c in rec.columns and c in rep.columns]
    if not keys or rec.duplicated(keys).any() or rep.duplicated(keys).any():
        rec = rec.assign(row=np.arange(len(rec)))
        rep = rep.assign(row=np.arange(len(rep)))
        keys = ["row"]
    m = rec.merge(rep, on=keys, how="outer", suffixes=("__rec", "__rep"), indicator=True)
    out: list[dict] = []
    total = compared = 0
    for _, r in m[m["_merge"] != "both"].iterrows():
        side = "re-run" if r["_merge"] == "left_only" else "recorded output"
        out.append({"output": name, "variable": "(row)", "keys": {k: _py(r[k]) for k in keys}, "problem": f"row missing from the {side}", "recorded": None, "replayed": None, "abs_diff": math.inf})
        total += 1
    both = m[m["_merge"] == "both"]
    for col in [c for c in rec.columns if c not in keys and c in rep.columns]:
        a, b = both[f"{col}__rec"], both[f"{col}__rep"]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            av, bv = a.to_numpy(dtype=np.float64), b.to_numpy(dtype=np.float64)
            mask, diff = _exceed(av, bv, atol, rtol)
            compared += int(av.size)
            total += int(mask.sum())
            for i in _top(mask, diff, MAX_LISTED):
                row = both.iloc[int(i)]
                out.append({"output": name, "variable": col, "keys": _row_keys(row, keys), "recorded": _py(float(av[i])), "replayed": _py(float(bv[i])), "abs_diff": float(diff[i]), "rel_diff": _rel(float(av[i]), float(bv[i]))})
        else:
            sa, sb = a.astype(str).to_numpy(), b.astype(str).to_numpy()
            compared += int(sa.size)
            bad = np.flatnonzero(sa != sb)
            total += int(bad.size)
            for i in bad[:MAX_LISTED]:
                row = both.iloc[int(i)]
                out.append({"output": name, "variable": col, "keys": _row_keys(row, keys), "problem": "text differs", "recorded": str(sa[i]), "replayed": str(sb[i]), "abs_diff": math.inf})
    return out, total, compared


def _read_output(path: Path) -> Any:
    if path.suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(path, engine="h5netcdf", mask_and_scale=False, decode_times=False) as ds:  # values as stored
            return ds.load()
    if path.suffix == ".csv":
        return pd.read_csv(path, encoding="utf-8-sig")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return None


def compare_outputs(manifest: Manifest, run_dir: Path, replay_dir: Path, report: ReplayReport) -> None:
    """Integrity of the recorded outputs, then values of recorded vs re-run outputs."""
    atol, rtol = manifest.tolerance
    recorded_outputs = manifest.outputs
    for name, digest in sorted(recorded_outputs.items()):
        p = _file_problem("output", name, run_dir / name, digest, _shown(run_dir / name))
        if p:
            p["problem"] = "missing" if p["problem"] == "missing" else "changed after the run (SHA-256 differs from the manifest)"
            report.outputs.append(p)
    zone_ids, year = None, None
    if (run_dir / "account.nc").is_file():
        acc = _read_output(run_dir / "account.nc")
        zone_ids = np.asarray(acc["zone"].values) if "zone" in acc.coords else None
        year = _py(acc.attrs.get("year"))
    diffs: list[dict] = []
    for name in sorted(recorded_outputs):
        rec_path, rep_path = run_dir / name, replay_dir / name
        if not rec_path.is_file():
            continue
        if not rep_path.is_file():
            diffs.append({"output": name, "variable": "(file)", "keys": {}, "problem": "the re-run did not write this output", "recorded": None, "replayed": None, "abs_diff": math.inf})
            continue
        if sha256_file(rec_path) == sha256_file(rep_path):
            report.identical.append(name)
            continue
        rec, rep = _read_output(rec_path), _read_output(rep_path)
        if rec is None:
            report.notes.append(f"{name}: the re-run's file differs byte-wise from the recorded one (not a value output; not compared)")
            continue
        if hasattr(rec, "data_vars"):
            d, n, c = compare_datasets(name, rec, rep, atol, rtol, zone_ids, year)
        else:
            d, n, c = compare_tables(name, rec, rep, atol, rtol)
        diffs.extend(d)
        report.n_differences += n
        report.compared += c
        if n == 0:
            report.notes.append(f"{name}: bytes differ from the re-run but every value is within tolerance")
    diffs.sort(key=lambda e: -(e["abs_diff"] if e["abs_diff"] is not None else math.inf))
    report.n_differences = max(report.n_differences, len(diffs))
    report.differences = diffs[:MAX_LISTED]
    finite = [e["abs_diff"] for e in diffs if e.get("abs_diff") is not None]
    report.max_abs_diff = max(finite) if finite else 0.0


def compare_results(recorded: Manifest, replayed: Manifest | None, report: ReplayReport, folder: Path | None = None) -> None:
    """Compare the recorded results (GEP total and value digests) with the re-run's.

    Digests of another version than the re-run's (a manifest written before version 2)
    are compared with the re-run's outputs in ``folder`` digested at the recorded version.
    """
    if replayed is None:  # kinds whose results are compared through their outputs
        return
    atol, rtol = recorded.tolerance
    a, b = recorded.gep_total_cny, replayed.gep_total_cny
    if a is not None and b is not None:
        mask, diff = _exceed(np.array([a]), np.array([b]), atol, rtol)
        if mask[0]:
            report.n_differences += 1
            report.differences.insert(0, {"output": "manifest.json", "variable": "results.gep_total_cny", "keys": {}, "recorded": a, "replayed": b, "abs_diff": float(diff[0]), "rel_diff": _rel(a, b)})
            report.differences.sort(key=lambda e: -(e["abs_diff"] if e["abs_diff"] is not None else math.inf))
            report.max_abs_diff = max(report.max_abs_diff, float(diff[0]))
    now, now_out = replayed.value_digests, replayed.output_digests
    if recorded.digest_version != replayed.digest_version and folder is not None:
        now, now_out = _digests_v1(recorded, folder)
    for key, digest in sorted(recorded.value_digests.items()):
        if digest != now.get(key):
            report.notes.append(f"results.{key} differs from the re-run's (values on a rounding boundary, or changed values: see differences)")
    for out_name, per_var in sorted(recorded.output_digests.items()):
        for var, digest in sorted(per_var.items()):
            if digest != now_out.get(out_name, {}).get(var):
                report.notes.append(f"results.digests.{out_name}.{var} differs from the re-run's")


def _digests_v1(recorded: Manifest, folder: Path) -> tuple[dict, dict]:
    """Version-1 digests of a re-run's outputs in ``folder`` (the account values and every recorded NetCDF output)."""
    import xarray as xr

    tol = recorded.tolerance[0]
    values: dict = {}
    if (folder / "account.nc").is_file():
        with xr.open_dataset(folder / "account.nc", engine="h5netcdf") as acc:
            values = {f"{v}_digest": provenance.value_digest(acc[v].values, tol, version=1) for v in ("value", "quantity") if v in acc}
    outputs = {name: provenance.file_digests(folder / name, tol) for name in recorded.output_digests if (folder / name).is_file()}
    return values, outputs


# --------------------------------------------------------------------------- re-runs by manifest kind


def _rerunner(kind: str) -> Callable[[Manifest, Path, Path], Manifest | None]:
    """The job function that re-runs a manifest of ``kind``: ``(manifest, scenario file or run folder, out_dir)``."""
    import importlib

    from gep.jobs.job import JOBS

    return importlib.import_module(JOBS[kind]).replay


#: Manifest kinds replay re-runs.
REPLAYED = (RunRecord.KIND, BasinRecord.KIND, CoverageRecord.KIND, ImpactRecord.KIND, CompareRecord.KIND, UncertaintyRecord.KIND, *(r.KIND for r in MONITORING))
#: Kinds that write manifests but are replayed through other manifests: kind → hint.
NOT_REPLAYED = {
    "gep series": "a series is replayed year by year: gep replay <run>/<year>/manifest.json for each year "
                  "(the series manifest records each year's manifest SHA-256 under 'years')",
}


# --------------------------------------------------------------------------- replay


def replay(manifest_path: str | Path, strict: bool = False, out_dir: str | Path | None = None) -> ReplayReport:
    """Replay a manifest: chain, input hashes, environment, re-run, comparison.

    Parameters
    ----------
    manifest_path : path
        ``runs/<id>/manifest.json`` (or the run folder).
    strict : bool
        Stop with exit code 4 when the environment differs from the recorded one.
    out_dir : path, optional
        Keep the re-run's outputs here (default: a temporary folder, removed).

    Returns
    -------
    ReplayReport
        With ``exit_code`` 0, 1, 3 or 4.

    Raises
    ------
    GepError
        A missing or malformed manifest, or a manifest kind replay does not know (exit 2).
    """
    path = Path(manifest_path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    manifest = read_manifest(path)
    version = manifest.version if manifest.version is not None else 1
    if not isinstance(version, int) or version > MANIFEST_VERSION:
        raise InputError(f"{path}: manifest_version {version!r} is newer than this gep understands ({MANIFEST_VERSION})", hint="replay with the gep version that wrote it (environment.gep_version)")
    kind = manifest.kind
    if kind in NOT_REPLAYED:
        raise InputError(f"{path}: replay of '{kind}' manifests is not supported", hint=NOT_REPLAYED[kind])
    if kind not in REPLAYED:
        raise InputError(f"{path}: replay of '{kind}' manifests is not supported", hint=f"replay supports: {', '.join(REPLAYED)}")
    if kind != RunRecord.KIND and manifest.version is None:
        raise InputError(
            f"{path}: this '{kind}' manifest predates the replayable layout (no manifest_version; scenario path not relative to the run folder)",
            hint="re-run the command with a gep that writes its manifest through gep.audit.manifest, then replay that manifest",
        )
    run_dir = folder_of(path.resolve())
    if out_dir is not None and Path(out_dir).resolve() == run_dir:
        raise InputError(f"{out_dir} is the run folder being replayed", hint="give another output folder: replay never writes into the recorded run", key="out_dir")
    report = ReplayReport(manifest=_shown(path), kind=kind)
    atol, rtol = manifest.tolerance
    report.tolerance = {"absolute": atol, "relative": rtol}

    # 1-2. chain and recorded files
    report.chain, chain_problems = chain(manifest, run_dir)
    for p in chain_problems:
        p["name"] = "previous manifest"
        p["file"] = _shown(run_dir / p["file"])
    file_problems, checked, scenario_path = check_recorded_files(manifest, run_dir)
    report.checked_files = checked + len(report.chain)
    report.changed = chain_problems + file_problems
    if report.changed:
        report.status, report.exit_code = "inputs changed", EXIT_CHANGED
        return report

    # 3. environment
    report.environment = provenance.environment_differences(dict(manifest.environment))
    if report.environment and strict:
        report.status, report.exit_code = "environment differs", EXIT_ENVIRONMENT
        return report

    # 4-5. re-run and compare
    with tempfile.TemporaryDirectory(prefix="gep-replay-") as tmp:
        target = Path(out_dir) if out_dir is not None else Path(tmp)
        try:
            replayed = _rerunner(kind)(manifest, scenario_path, target)
        except GepError as exc:
            report.status, report.exit_code = "not reproduced", EXIT_MISMATCH
            report.notes.append(f"the re-run failed: {exc.line()}")
            return report
        engine = replayed if replayed is not None else read_manifest(target / "manifest.json") if (target / "manifest.json").is_file() else None
        looser = [f"{what} {mine:g} (gep writes {theirs:g})" for what, mine, theirs in zip(("absolute", "relative"), manifest.tolerance, engine.tolerance)
                  if mine > theirs] if engine is not None else []
        if looser:  # the tolerance is read from the file under test: a looser one would let edited values pass
            report.status, report.exit_code = "not reproduced", EXIT_MISMATCH
            report.notes.append(f"the manifest records a looser tolerance than gep writes for a {kind}: {', '.join(looser)}; "
                                "its outputs are not compared within it")
            return report
        compare_outputs(manifest, run_dir, target, report)
        compare_results(manifest, replayed, report, target)
    if report.outputs or report.n_differences:
        report.status, report.exit_code = "not reproduced", EXIT_MISMATCH
    return report


def describe_keys(keys: dict) -> str:
    """``zone=1 service=water_conservation ecosystem=forest year=2022`` for messages."""
    order = ["zone", "zone_name", "service", "category", "component", "ecosystem", "year", "row", "col"]
    items = [(k, keys[k]) for k in order if k in keys] + [(k, v) for k, v in keys.items() if k not in order and k not in ("y", "x")]
    return " ".join(f"{k}={v}" for k, v in items)
