"""The run manifest: one typed record for every command that writes outputs.

A :class:`Manifest` is frozen: the header every kind shares (kind, command,
layout version, outputs with their SHA-256, results, environment, random
generator, the previous manifest's hash) and the kind's own record:

=========================  =====================  ==========================================
kind                       record                 written by
=========================  =====================  ==========================================
``gep run``                :class:`RunRecord`     :mod:`gep.jobs.run`
``gep series``             :class:`SeriesRecord`  :mod:`gep.jobs.series`
``gep compare``            :class:`CompareRecord` :mod:`gep.jobs.compare`
``gep capacity basin``     :class:`BasinRecord`   :mod:`gep.jobs.capacity_basin`
``gep bond coverage``      :class:`CoverageRecord` :mod:`gep.jobs.bond_coverage`
``gep bond impact``        :class:`ImpactRecord`  :mod:`gep.jobs.bond_impact`
``gep uncertainty``        :class:`UncertaintyRecord` :mod:`gep.jobs.uncertainty`
=========================  =====================  ==========================================

and the monitoring kinds, each a :class:`MonitoringRecord`: ``gep monitoring compliance``
(:class:`ComplianceRecord`, :mod:`gep.jobs.monitoring_compliance`), ``gep monitoring
calibrate`` (:class:`CalibrationRecord`, :mod:`gep.jobs.monitoring_calibrate`), ``gep
compensation`` (:class:`CompensationRecord`, :mod:`gep.jobs.compensation`) and ``gep assess``
(:class:`AssessmentRecord`, :mod:`gep.jobs.assess`).

On disk a manifest is canonical JSON (:func:`gep.audit.provenance.canonical_json`)
with the header and the record's keys side by side at the top level: the layout
gep has always written, so every manifest already on disk reads back, and keys a
manifest holds that this gep does not know are kept (:attr:`Manifest.extra`) and
written back unchanged.

The chain is kept by one function, :func:`write`: the manifest a run replaces in
its folder is archived as ``manifests/<sha256>.json`` and its hash recorded in
the new one (``previous_manifest_sha256``); :func:`chain` walks it back.

Code outside this module reads manifests through these types only: no raw
dictionary look-ups.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Mapping

from gep.errors import InputError
from gep.io.files import read_json_object

#: Version of the manifest layout; replay refuses layouts it does not know.
MANIFEST_VERSION = 1
#: File name of a run's manifest inside its output folder.
MANIFEST_NAME = "manifest.json"
#: Sub-folder of an output folder that keeps the manifests a re-run replaced.
ARCHIVE_DIR = "manifests"
#: Absolute tolerance of value comparisons when a manifest records none [value's unit].
DEFAULT_TOLERANCE = 1e-3
#: Relative tolerance replay allows on top of a manifest's absolute tolerance [-]; CSV
#: tables keep 10 significant digits, so a value on a rounding boundary moves by ~1e-9.
RELATIVE_TOLERANCE = 1e-8

HEADER_KEYS = ("manifest_version", "kind", "command", "outputs", "results", "environment", "rng", "previous_manifest_sha256")


def _map(value: Any) -> dict:
    return dict(value) if isinstance(value, Mapping) else {}


# --------------------------------------------------------------------------- shared parts


@dataclass(frozen=True)
class FileRef:
    """A file a run read: its path (relative, ``/``-separated) and SHA-256."""

    path: str
    sha256: str | None = None

    @classmethod
    def from_dict(cls, d: Any) -> "FileRef":
        d = _map(d)
        return cls(str(d.get("path", "")), d.get("sha256"))

    def to_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256}


@dataclass(frozen=True)
class ScenarioRef:
    """The scenario file a run read (path relative to the run folder), and the scenario as resolved."""

    path: str | None
    sha256: str | None = None
    resolved: Mapping | None = None

    @classmethod
    def from_dict(cls, d: Any) -> "ScenarioRef":
        d = _map(d)
        return cls(d.get("path"), d.get("sha256"), d.get("resolved"))

    def to_dict(self) -> dict:
        out: dict = {"path": self.path, "sha256": self.sha256}
        if self.resolved is not None:
            out["resolved"] = self.resolved
        return out

    @property
    def coefficient_set(self) -> str | None:
        """``[coefficients] set`` of the resolved scenario (None when it names none)."""
        return _map(_map(self.resolved).get("coefficients")).get("set")

    @property
    def name(self) -> str | None:
        """``[scenario] name`` of the resolved scenario."""
        return _map(_map(self.resolved).get("scenario")).get("name")


@dataclass(frozen=True)
class CoefficientsRef:
    """A coefficient set a run used: id, version, SHA-256 of its files (keyed ``<set-id>/<file>``), overrides."""

    id: str | None
    version: str | None
    files: Mapping[str, str]
    overrides: tuple[Mapping, ...] | None = None
    manifest_sha256: str | None = None

    @classmethod
    def from_dict(cls, d: Any) -> "CoefficientsRef":
        d = _map(d)
        ov = d.get("overrides")
        return cls(d.get("id"), None if d.get("version") is None else str(d.get("version")), _map(d.get("files")),
                   None if ov is None else tuple(ov), d.get("manifest_sha256"))

    def to_dict(self) -> dict:
        out: dict = {"id": self.id, "version": self.version, "files": dict(self.files)}
        if self.overrides is not None:
            out["overrides"] = [dict(o) for o in self.overrides]
        if self.manifest_sha256 is not None:
            out["manifest_sha256"] = self.manifest_sha256
        return out


def _files(d: Any) -> dict[str, FileRef]:
    return {str(k): FileRef.from_dict(v) for k, v in _map(d).items()}


# --------------------------------------------------------------------------- records by kind


@dataclass(frozen=True)
class RunRecord:
    """``gep run``: scenario, services, coefficient set, inputs (relative to the scenario folder), changes."""

    KIND: ClassVar[str] = "gep run"
    KEYS: ClassVar[tuple[str, ...]] = ("scenario", "services", "coefficients", "inputs", "constants", "changes")

    scenario: ScenarioRef
    services: Mapping
    coefficients: CoefficientsRef
    inputs: Mapping[str, FileRef]
    constants: Mapping
    changes: Mapping | None

    @classmethod
    def from_dict(cls, d: Mapping) -> "RunRecord":
        return cls(ScenarioRef.from_dict(d.get("scenario")), _map(d.get("services")), CoefficientsRef.from_dict(d.get("coefficients")),
                   _files(d.get("inputs")), _map(d.get("constants")), d.get("changes"))

    def to_dict(self) -> dict:
        return {"scenario": self.scenario.to_dict(), "services": dict(self.services), "coefficients": self.coefficients.to_dict(),
                "inputs": {k: v.to_dict() for k, v in self.inputs.items()}, "constants": dict(self.constants), "changes": self.changes}

    @property
    def series_year(self) -> int | None:
        """The year of a multi-year series this run accounted (None for a single-year scenario)."""
        ch = _map(self.changes)
        return ch.get("year") if ch.get("series") else None

    @property
    def parcel(self) -> Mapping | None:
        """The parcel (``--area`` or ``[region] area``) the run accounted: path relative to the scenario folder, SHA-256."""
        return _map(self.changes).get("parcel") or None

    @property
    def parcel_given(self) -> str | None:
        """The parcel path when it was given to the run rather than read from the scenario."""
        p = self.parcel
        return None if not p or p.get("from_scenario") else p.get("path")

    @property
    def operations(self) -> list[Mapping]:
        """The scenario's change operations as applied (one log entry each)."""
        return list(_map(self.changes).get("operations") or [])

    @property
    def change_files(self) -> Mapping[str, str]:
        """Masks, polygons and rasters the changes read: ``{"<kind>:<path>": sha256}``."""
        return _map(_map(self.changes).get("files"))


@dataclass(frozen=True)
class SeriesRecord:
    """``gep series``: the scenario and each year's run folder with its manifest's SHA-256."""

    KIND: ClassVar[str] = "gep series"
    KEYS: ClassVar[tuple[str, ...]] = ("scenario", "years", "base_year", "purchase")

    scenario: ScenarioRef
    years: Mapping[str, Mapping]
    base_year: int | None
    purchase: Mapping | None

    @classmethod
    def from_dict(cls, d: Mapping) -> "SeriesRecord":
        return cls(ScenarioRef.from_dict(d.get("scenario")), _map(d.get("years")), d.get("base_year"), d.get("purchase"))

    def to_dict(self) -> dict:
        return {"scenario": self.scenario.to_dict(), "years": dict(self.years), "base_year": self.base_year, "purchase": self.purchase}


@dataclass(frozen=True)
class SideRef:
    """One side of a comparison: its run folder (relative to the comparison folder) and the files read from it."""

    scenario: str | None
    run_dir: str | None
    manifest_sha256: str | None
    files: Mapping[str, str]

    @classmethod
    def from_dict(cls, d: Any) -> "SideRef":
        d = _map(d)
        return cls(d.get("scenario"), d.get("run_dir"), d.get("manifest_sha256"), _map(d.get("files")))

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "run_dir": self.run_dir, "manifest_sha256": self.manifest_sha256, "files": dict(self.files)}


@dataclass(frozen=True)
class CompareRecord:
    """``gep compare``: the BASE and ALT run folders."""

    KIND: ClassVar[str] = "gep compare"
    KEYS: ClassVar[tuple[str, ...]] = ("base", "alt")

    base: SideRef
    alt: SideRef

    @classmethod
    def from_dict(cls, d: Mapping) -> "CompareRecord":
        return cls(SideRef.from_dict(d.get("base")), SideRef.from_dict(d.get("alt")))

    def to_dict(self) -> dict:
        return {"base": self.base.to_dict(), "alt": self.alt.to_dict()}


def _sets(d: Any) -> dict[str, CoefficientsRef]:
    return {str(k): CoefficientsRef.from_dict(v) for k, v in _map(d).items()}


@dataclass(frozen=True)
class BasinRecord:
    """``gep capacity basin``: scenario, parameters, inputs (relative to the scenario folder), coefficient sets by role;
    with a ``[calibration]``, the calibrated values used and where each was applied."""

    KIND: ClassVar[str] = "gep capacity basin"
    KEYS: ClassVar[tuple[str, ...]] = ("scenario", "parameters", "inputs", "coefficients", "calibration")

    scenario: ScenarioRef
    parameters: Mapping
    inputs: Mapping[str, FileRef]
    coefficients: Mapping[str, CoefficientsRef]
    calibration: Mapping | None = None

    @classmethod
    def from_dict(cls, d: Mapping) -> "BasinRecord":
        return cls(ScenarioRef.from_dict(d.get("scenario")), _map(d.get("parameters")), _files(d.get("inputs")),
                   _sets(d.get("coefficients")), d.get("calibration"))

    def to_dict(self) -> dict:
        out = {"scenario": self.scenario.to_dict(), "parameters": dict(self.parameters),
               "inputs": {k: v.to_dict() for k, v in self.inputs.items()},
               "coefficients": {k: v.to_dict() for k, v in self.coefficients.items()}}
        if self.calibration is not None:
            out["calibration"] = dict(self.calibration)
        return out


@dataclass(frozen=True)
class ReferencedFile:
    """A file a bond or revenue file referenced (a price history, a run manifest), as a coverage run recorded it.

    ``path`` is relative to the file that named it: the bond file's folder for a
    loan's run (``relative_to == "bond"``), else the revenue file's; ``outputs``
    are the SHA-256 of the run outputs read from a referenced run.
    """

    label: str
    path: str
    sha256: str
    relative_to: str
    outputs: Mapping[str, str]


@dataclass(frozen=True)
class CoverageRecord:
    """``gep bond coverage``: debt and revenue files (relative to the run folder), what they reference, the options."""

    KIND: ClassVar[str] = "gep bond coverage"
    KEYS: ClassVar[tuple[str, ...]] = ("inputs", "parameters")

    bond: FileRef | None
    revenue: FileRef | None
    references: tuple[Mapping, ...]
    parameters: Mapping

    @classmethod
    def from_dict(cls, d: Mapping) -> "CoverageRecord":
        inputs = _map(d.get("inputs"))
        return cls(FileRef.from_dict(inputs["bond"]) if "bond" in inputs else None,
                   FileRef.from_dict(inputs["revenue"]) if "revenue" in inputs else None,
                   tuple(inputs.get("references") or ()), _map(d.get("parameters")))

    def to_dict(self) -> dict:
        inputs: dict = {}
        if self.bond is not None:
            inputs["bond"] = self.bond.to_dict()
        if self.revenue is not None:
            inputs["revenue"] = self.revenue.to_dict()
        inputs["references"] = [dict(r) for r in self.references]
        return {"inputs": inputs, "parameters": dict(self.parameters)}

    @property
    def referenced_files(self) -> tuple[ReferencedFile, ...]:
        """The files the bond and revenue files referenced (a ledger reference, which names no file, is left out)."""
        out = []
        for ref in self.references:
            if not isinstance(ref, Mapping) or not ref.get("path") or not ref.get("sha256"):
                continue
            role = str(ref.get("role") or "")
            out.append(ReferencedFile(role or str(ref["path"]), str(ref["path"]), str(ref["sha256"]),
                                      "bond" if role.startswith("loan") else "revenue", dict(ref.get("outputs") or {})))
        return tuple(out)

    @property
    def paths(self) -> int:
        return int(self.parameters["paths"])

    @property
    def discount_rate_option(self) -> float | None:
        """The discount rate given as an option (None: the revenue file's, else the coupon rate)."""
        return self.parameters.get("discount_rate_option")

    @property
    def max_breach(self) -> float | None:
        return self.parameters.get("max_breach")

    @property
    def target_dscr(self) -> float:
        return float(self.parameters.get("target_dscr", 1.0))


@dataclass(frozen=True)
class RunInput:
    """A ``gep run`` an impact report compared: its manifest (relative to the report folder), SHA-256, outputs read."""

    path: str
    sha256: str | None
    outputs: Mapping[str, str]

    @classmethod
    def from_dict(cls, d: Any) -> "RunInput":
        d = _map(d)
        return cls(str(d.get("path", "")), d.get("sha256"), _map(d.get("outputs")))

    def to_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "kind": "gep run", "outputs": dict(self.outputs)}


@dataclass(frozen=True)
class LedgerRead:
    """The rights-ledger records a report read: the ledger (path relative to the report folder, or a
    redacted URL), the tree head at the size read, the accounts and the SHA-256 of the records used."""

    ledger: str
    size: int
    root: str
    accounts: tuple[str, ...]
    records_sha256: str | None
    records: int

    @classmethod
    def from_dict(cls, d: Any) -> "LedgerRead":
        d = _map(d)
        head = _map(d.get("tree_head"))
        return cls(str(d.get("ledger", "")), int(head.get("size", 0)), str(head.get("root", "")),
                   tuple(d.get("accounts") or ()), d.get("records_sha256"), int(d.get("records", 0)))

    def to_dict(self) -> dict:
        return {"ledger": self.ledger, "tree_head": {"size": self.size, "root": self.root},
                "accounts": list(self.accounts), "records_sha256": self.records_sha256, "records": self.records}

    @property
    def is_url(self) -> bool:
        """Whether the ledger is a PostgreSQL database (named by URL) rather than a SQLite file."""
        return self.ledger.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class ImpactRecord:
    """``gep bond impact``: the bond file and runs (relative to the report folder), the ledger read,
    the green-bond catalogue (relative to the gep package's folder) and the options."""

    KIND: ClassVar[str] = "gep bond impact"
    KEYS: ClassVar[tuple[str, ...]] = ("inputs", "parameters")

    bond: FileRef | None
    runs: tuple[RunInput, ...]
    ledger: LedgerRead | None
    catalogue: FileRef | None
    parameters: Mapping

    @classmethod
    def from_dict(cls, d: Mapping) -> "ImpactRecord":
        inputs = _map(d.get("inputs"))
        return cls(FileRef.from_dict(inputs["bond"]) if "bond" in inputs else None,
                   tuple(RunInput.from_dict(r) for r in inputs.get("runs") or ()),
                   LedgerRead.from_dict(inputs["ledger"]) if inputs.get("ledger") else None,
                   FileRef.from_dict(inputs["catalogue"]) if inputs.get("catalogue") else None,
                   _map(d.get("parameters")))

    def to_dict(self) -> dict:
        inputs: dict = {}
        if self.bond is not None:
            inputs["bond"] = self.bond.to_dict()
        inputs["runs"] = [r.to_dict() for r in self.runs]
        inputs["ledger"] = None if self.ledger is None else self.ledger.to_dict()
        if self.catalogue is not None:
            inputs["catalogue"] = self.catalogue.to_dict()
        return {"inputs": inputs, "parameters": dict(self.parameters)}

    @property
    def value(self) -> str:
        """GEP basis: ``comparable`` (base-year prices) or ``current``."""
        return str(self.parameters.get("value", "comparable"))

    @property
    def as_of_seq(self) -> int | None:
        """The ledger size the report read (None without a ledger)."""
        v = self.parameters.get("as_of_seq")
        return None if v is None else int(v)


@dataclass(frozen=True)
class UncertaintyRecord(RunRecord):
    """``gep uncertainty``: what a ``gep run`` records, and the parameters of the analysis
    (samples, seed, the distributions and declarations, the variables held fixed)."""

    KIND: ClassVar[str] = "gep uncertainty"
    KEYS: ClassVar[tuple[str, ...]] = RunRecord.KEYS + ("parameters",)

    parameters: Mapping = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping) -> "UncertaintyRecord":
        run = RunRecord.from_dict(d)
        return cls(**{f.name: getattr(run, f.name) for f in fields(RunRecord)}, parameters=_map(d.get("parameters")))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "parameters": dict(self.parameters)}


@dataclass(frozen=True)
class MonitoringRecord:
    """What the monitoring kinds share: input files (relative to the run folder), options, coefficient sets by role."""

    KIND: ClassVar[str] = ""
    KEYS: ClassVar[tuple[str, ...]] = ("inputs", "parameters", "coefficients")

    inputs: Mapping[str, FileRef]
    parameters: Mapping
    coefficients: Mapping[str, CoefficientsRef]

    @classmethod
    def from_dict(cls, d: Mapping) -> "MonitoringRecord":
        return cls(_files(d.get("inputs")), _map(d.get("parameters")), _sets(d.get("coefficients")))

    def to_dict(self) -> dict:
        return {"inputs": {k: v.to_dict() for k, v in self.inputs.items()}, "parameters": dict(self.parameters),
                "coefficients": {k: v.to_dict() for k, v in self.coefficients.items()}}

    def path(self, name: str, run_dir: Path) -> Path | None:
        """The input ``name`` as recorded, found from the run folder (None when not recorded)."""
        ref = self.inputs.get(name)
        return (Path(run_dir) / ref.path).resolve() if ref is not None else None


@dataclass(frozen=True)
class ComplianceRecord(MonitoringRecord):
    """``gep monitoring compliance``: the series and section table, the options of the assessment."""

    KIND: ClassVar[str] = "gep monitoring compliance"


@dataclass(frozen=True)
class CalibrationRecord(MonitoringRecord):
    """``gep monitoring calibrate``: the calibration file, its monitoring, sections and basin scenario with the basin's files."""

    KIND: ClassVar[str] = "gep monitoring calibrate"


@dataclass(frozen=True)
class CompensationRecord(MonitoringRecord):
    """``gep compensation``: agreement and series; with ``--book``, the ledger payments recorded (``booking``)."""

    KIND: ClassVar[str] = "gep compensation"
    KEYS: ClassVar[tuple[str, ...]] = MonitoringRecord.KEYS + ("booking",)

    booking: Mapping | None = None

    @classmethod
    def from_dict(cls, d: Mapping) -> "CompensationRecord":
        return cls(_files(d.get("inputs")), _map(d.get("parameters")), _sets(d.get("coefficients")), d.get("booking"))

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.booking is not None:
            out["booking"] = dict(self.booking)
        return out


@dataclass(frozen=True)
class AssessmentRecord(MonitoringRecord):
    """``gep assess``: the targets file, the GEP runs assessed (manifest, account, cells) and the indicator files."""

    KIND: ClassVar[str] = "gep assess"


MONITORING = (ComplianceRecord, CalibrationRecord, CompensationRecord, AssessmentRecord)
RECORDS: dict[str, type] = {r.KIND: r for r in (RunRecord, SeriesRecord, CompareRecord, BasinRecord, CoverageRecord, ImpactRecord,
                                                UncertaintyRecord, *MONITORING)}
Record = RunRecord | SeriesRecord | CompareRecord | BasinRecord | CoverageRecord | ImpactRecord | UncertaintyRecord | MonitoringRecord


# --------------------------------------------------------------------------- the manifest


def _outputs(value: Any, where: str) -> dict[str, str]:
    """``{file name: sha256}`` from ``{name: sha256}``, ``{name: {"sha256": ...}}`` or a list of
    ``{"path"/"name"/"file": ..., "sha256": ...}`` (every layout a gep or a hand-made manifest used)."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        pairs = [(k, v.get("sha256") if isinstance(v, Mapping) else v) for k, v in value.items()]
    elif isinstance(value, list):
        pairs = [(v.get("path") or v.get("name") or v.get("file"), v.get("sha256")) for v in value if isinstance(v, Mapping)]
    out = {}
    for name, digest in pairs:
        if not isinstance(name, str) or not isinstance(digest, str) or len(digest) != 64:
            raise InputError(f"{where}: output entry {name!r} has no SHA-256", hint="give the manifest.json of a finished run")
        out[name] = digest.lower()
    return out


@dataclass(frozen=True)
class Manifest:
    """A run manifest: the shared header and the kind's record (see the module notes).

    Attributes
    ----------
    kind : str
        ``gep run``, ``gep series``, ``gep compare``, ``gep capacity basin``, ``gep bond coverage``,
        ``gep bond impact``, ``gep uncertainty`` or a monitoring kind (``gep monitoring compliance``, ``gep monitoring calibrate``,
        ``gep compensation``, ``gep assess``).
    command : str
        The command line recorded (file names only).
    record : RunRecord, SeriesRecord, CompareRecord, BasinRecord, CoverageRecord, ImpactRecord, UncertaintyRecord, a MonitoringRecord or None
        The kind's own part (None for a kind this gep does not know).
    outputs : mapping
        Output file name → SHA-256.
    results : mapping
        What the run found (totals, digests of rounded values, tolerances).
    environment : mapping
        :func:`gep.audit.provenance.environment` of the run.
    rng : mapping, optional
        :func:`gep.audit.provenance.rng_record` (generator, seed, used).
    previous : str, optional
        SHA-256 of the manifest this one replaced in its folder (the chain).
    version : int, optional
        Layout version (None: written before layouts were versioned).
    extra : mapping
        Top-level keys this gep does not know, kept as they were.
    """

    kind: str
    command: str = ""
    record: Record | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    results: Mapping = field(default_factory=dict)
    environment: Mapping = field(default_factory=dict)
    rng: Mapping | None = None
    previous: str | None = None
    version: int | None = MANIFEST_VERSION
    extra: Mapping = field(default_factory=dict)

    # ------------------------------------------------------------- conversion
    @classmethod
    def from_dict(cls, doc: Mapping, where: str = "manifest") -> "Manifest":
        """A manifest from its JSON document (any layout gep has written)."""
        if not isinstance(doc, Mapping) or "kind" not in doc:
            raise InputError(f"{where} is not a gep manifest (no 'kind')", hint="give the manifest.json written by a gep run")
        kind = str(doc["kind"])
        rec_type = RECORDS.get(kind)
        record = rec_type.from_dict(doc) if rec_type is not None else None
        own = set(HEADER_KEYS) | set(rec_type.KEYS if rec_type is not None else ())
        return cls(
            kind=kind,
            command=str(doc.get("command") or ""),
            record=record,
            outputs=_outputs(doc.get("outputs") or {}, where),
            results=_map(doc.get("results")),
            environment=_map(doc.get("environment")),
            rng=doc.get("rng") if isinstance(doc.get("rng"), Mapping) else None,
            previous=doc.get("previous_manifest_sha256"),
            version=doc.get("manifest_version"),
            extra={k: v for k, v in doc.items() if k not in own},
        )

    def to_dict(self) -> dict:
        """The JSON document (header and record keys at the top level)."""
        doc: dict = dict(self.extra)
        if self.version is not None:
            doc["manifest_version"] = self.version
        doc.update(kind=self.kind, command=self.command, outputs=dict(self.outputs), results=dict(self.results), environment=dict(self.environment))
        if self.rng is not None:
            doc["rng"] = dict(self.rng)
        doc["previous_manifest_sha256"] = self.previous
        if self.record is not None:
            doc.update(self.record.to_dict())
        return doc

    def document(self, *keys: str) -> dict:
        """The named top-level entries of the JSON document (for reports that show a manifest)."""
        doc = self.to_dict()
        return {k: doc[k] for k in keys if k in doc}

    # ------------------------------------------------------------- results
    @property
    def tolerance(self) -> tuple[float, float]:
        """``(absolute, relative)`` tolerance of value comparisons recorded with the results."""
        r = self.results
        return float(r.get("tolerance") or DEFAULT_TOLERANCE), float(r.get("relative_tolerance") or RELATIVE_TOLERANCE)

    @property
    def gep_total_cny(self) -> float | None:
        """GEP at current prices [CNY] of a ``gep run`` (None for other kinds)."""
        v = self.results.get("gep_total_cny")
        return None if v is None else float(v)

    @property
    def value_digests(self) -> dict[str, str]:
        """Digests of the rounded account values (``value_digest``, ``quantity_digest``) that were recorded."""
        return {k: self.results[k] for k in ("value_digest", "quantity_digest") if self.results.get(k)}

    @property
    def digest_version(self) -> int:
        """Version of the value digests (:func:`gep.audit.provenance.value_digest`; 1 before it was recorded)."""
        return int(self.results.get("digest_version") or 1)

    @property
    def output_digests(self) -> dict[str, dict[str, str]]:
        """``{output file: {variable: digest}}`` of the rounded values of each NetCDF output."""
        return {str(k): dict(v) for k, v in _map(self.results.get("digests")).items()}

    @property
    def seed(self) -> int | None:
        """RNG seed of a seeded calculation (None when deterministic)."""
        s = _map(self.rng).get("seed")
        return None if s is None else int(s)


# --------------------------------------------------------------------------- files and chain


def read_document(path: str | Path) -> tuple[dict, bytes]:
    """The JSON document of a manifest file (or run folder) and its bytes; InputError if missing or malformed."""
    doc, data, path = read_json_object(path, "manifest", "give runs/<run-id>/manifest.json (or the run folder)", MANIFEST_NAME)
    if "kind" not in doc:
        raise InputError(f"{path} is not a gep manifest (no 'kind')", hint="give the manifest.json written by a gep run")
    return doc, data


def read(path: str | Path) -> Manifest:
    """Read a manifest (``manifest.json`` or its run folder); a missing or malformed file raises :class:`InputError`."""
    doc, _ = read_document(path)
    return Manifest.from_dict(doc, str(path))


def folder_of(manifest_path: Path) -> Path:
    """The output folder a manifest belongs to (an archived manifest belongs to the folder above)."""
    folder = Path(manifest_path).parent
    if folder.name == ARCHIVE_DIR and (folder.parent / MANIFEST_NAME).is_file():
        return folder.parent
    return folder


def write(folder: str | Path, manifest: Manifest) -> tuple[Manifest, Path, str]:
    """Chain and write a manifest into ``folder``: the one place the chain is kept.

    The manifest already in the folder (if any) is kept as ``manifests/<sha256>.json``
    and its hash recorded as the new manifest's :attr:`~Manifest.previous`; the new
    manifest is written as canonical JSON.

    Returns
    -------
    (Manifest, Path, str)
        The manifest as written (with its ``previous``), its path and its SHA-256.
    """
    from gep.audit.provenance import canonical_bytes, sha256_bytes, sha256_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST_NAME
    previous = sha256_file(path) if path.is_file() else None
    if previous is not None:
        target = folder / ARCHIVE_DIR / f"{previous}.json"
        target.parent.mkdir(exist_ok=True)
        if not target.is_file():
            shutil.copyfile(path, target)
    manifest = replace(manifest, previous=previous)
    data = canonical_bytes(manifest.to_dict())
    path.write_bytes(data)
    return manifest, path, sha256_bytes(data)


def chain(manifest: Manifest, folder: str | Path, limit: int = 10_000) -> tuple[list[dict], list[dict]]:
    """Walk the chain of previous manifests kept in ``folder/manifests/``.

    Each link must exist as ``manifests/<sha256>.json`` and hash to its name.

    Returns
    -------
    (links, problems)
        ``links``: ``{"sha256", "file"}`` from newest to oldest;
        ``problems``: ``{"kind": "chain", "file", "problem", "recorded", "actual"}``.
    """
    from gep.audit.provenance import sha256_file

    folder = Path(folder)
    links: list[dict] = []
    problems: list[dict] = []
    want = manifest.previous
    seen = set()
    while want and len(links) < limit:
        rel = f"{ARCHIVE_DIR}/{want}.json"
        if want in seen:
            problems.append({"kind": "chain", "file": rel, "problem": "cycle in the manifest chain", "recorded": want, "actual": None})
            break
        seen.add(want)
        path = folder / ARCHIVE_DIR / f"{want}.json"
        if not path.is_file():
            problems.append({"kind": "chain", "file": rel, "problem": "previous manifest missing", "recorded": want, "actual": None})
            break
        actual = sha256_file(path)
        links.append({"sha256": want, "file": rel})
        if actual != want:
            problems.append({"kind": "chain", "file": rel, "problem": "previous manifest changed (SHA-256 differs from the hash recorded by the next run)", "recorded": want, "actual": actual})
            break
        try:
            prev = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            problems.append({"kind": "chain", "file": rel, "problem": "previous manifest is not JSON", "recorded": want, "actual": actual})
            break
        want = prev.get("previous_manifest_sha256") if isinstance(prev, dict) else None
    return links, problems


def is_inside(name: str) -> bool:
    """Whether an output name stays inside its run folder (relative, no ``..``)."""
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts
