"""Issuance caps from engine runs, their attestation, and the genesis parameters of a ledger.

An issuance cites the ``manifest.json`` of the run that computed the quantity:

``capacity/<catchment>/<pollutant>/<vintage>``
    A ``gep capacity`` run whose outputs include ``credits.csv``
    (:data:`gep.capacity.credits.CREDIT_COLUMNS`); the cap is the row's
    ``issuable_kg_per_yr`` [kg/yr] (remaining capacity after loads and the
    safety margin, rounded down; never a deficit).
``carbon/<project>/<vintage>``
    A ``gep run`` whose outputs include ``account.csv``; the cap is the sum of
    the ``carbon_sequestration`` quantity [t CO2/yr] of the vintage year,
    optionally of one zone (the project area) and/or one ecosystem type,
    converted to kg CO2e and rounded down. A zone may be named by its id or
    its ``zone_name`` / ``zone_name_zh``; the selection is keyed (and signed) by
    the id of the rows it matches, so every spelling of a zone shares one cap.

Every output file listed in the manifest is checked against its SHA-256 first
(:class:`~gep.ledger.errors.EvidenceChanged` on a difference), then the table is
checked against itself and the manifest (:func:`check_consistency`: the kg and
t columns, the remaining-capacity arithmetic, the recorded safety margin and
totals). Since whoever edits a table can also rewrite the manifest's hashes,
the run must also be **attested** (:func:`attestation`): signed by an engine
operator named in the genesis record (``manifest.json.sig``, written by ``gep
ledger attest``), or reproduced by ``gep replay`` from its inputs when they are
present beside the manifest. The request signs the manifest's SHA-256 and the
selection; the resolved cap and attestation are recorded in the transaction,
so ``verify`` re-checks an operator's signature without the files.

The ledger reads no file itself: what it needs of the runs and of its
coefficient set comes through a :class:`RunFiles` object, which
:class:`gep.audit.evidence.RunFiles` implements on the files on disk (the
ledger is opened with it wherever an issuance may be made).

References
----------
docs/capacity.md (credits) and docs/ledger.md (buffer share,
Gold Standard 20 %).
"""

from __future__ import annotations

import contextlib
import json
import re
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Protocol

from gep.audit.manifest import BasinRecord, Manifest, RunRecord
from gep.errors import CoefficientError, GepError, InputError, InputsChanged
from gep.ledger import keys
from gep.ledger.canonical import ATTEST_DOMAIN
from gep.ledger.errors import EvidenceChanged, EvidenceError, InvalidRequest, LedgerError
from gep.ledger.model import EVIDENCE_KINDS, Instrument, normalise_decimal
from gep.numbers import parse_decimal

__all__ = ["RunFiles", "resolve", "genesis_params", "selector", "attestation", "attestation_document", "check_consistency"]

CARBON_SERVICE = "carbon_sequestration"
CREDIT_REQUIRED = ("catchment", "pollutant", "vintage", "issuable_kg_per_yr")
ACCOUNT_REQUIRED = ("year", "zone", "service", "ecosystem", "quantity", "unit")


class RunFiles(Protocol):
    """What the ledger reads of the runs an issuance cites, and of its coefficient set.

    Implemented on the files on disk by :class:`gep.audit.evidence.RunFiles`. A missing,
    unreadable or malformed file raises :class:`gep.errors.InputError`, an output that
    differs from its recorded SHA-256 :class:`gep.errors.InputsChanged`, a coefficient set
    that fails its hashes :class:`gep.errors.CoefficientError`; :func:`resolve` and
    :func:`genesis_params` turn them into ledger refusals.
    """

    def manifest(self, path: str | Path) -> tuple[dict, str, Path]:
        """A run manifest (``manifest.json`` or its folder): the document, the SHA-256 of its bytes, its folder."""

    def check_outputs(self, outputs: Mapping[str, str], folder: Path, where: str) -> dict[str, str]:
        """Every output ``{file name: sha256}`` checked against its file in ``folder``; returned as checked."""

    def rows(self, path: Path, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
        """The rows of a CSV output as text, the ``required`` columns present."""

    def operator_signature(self, manifest_path: str | Path) -> tuple[str, Any] | None:
        """Where an engine operator's signature of the manifest is kept and its document, or None when there is none."""

    def reproduce(self, manifest_path: str | Path) -> tuple[int, str] | None:
        """Re-run the recorded run (``gep replay``): its exit code and status, or None when its inputs are not present."""

    def ledger_set(self, set_id: str) -> dict:
        """A ledger coefficient set: ``{"id", "version", "manifest_sha256", "rows": {(parameter, key): (Decimal, unit, confidence)}}``."""


@contextlib.contextmanager
def _as_evidence() -> Iterator[None]:
    """Input errors of the evidence files as evidence refusals (a changed output: exit code 3)."""
    try:
        yield
    except InputsChanged as exc:
        raise EvidenceChanged(exc.message, hint=exc.hint, where=exc.where) from exc
    except InputError as exc:
        raise EvidenceError(exc.message, hint=exc.hint, where=exc.where) from exc


def _norm_id(text: str) -> str:
    t = str(text).strip()
    return t[:-2] if re.fullmatch(r"-?\d+\.0", t) else t


def selector(instrument: Instrument, zone: str | None = None, ecosystem: str | None = None) -> dict:
    """What part of a run an issuance of ``instrument`` draws on, as asked (``zone``: an id or a name).

    :func:`resolve` replaces a zone's name by its id (the selection signed in the request), so
    every spelling of a zone is one evidence key with one cap.
    """
    if instrument.kind == "capacity":
        if zone or ecosystem:
            raise InvalidRequest("zone and ecosystem select a project area of a `gep run`; capacity credits are selected by the instrument id", key="zone")
        return {"instrument_kind": "capacity", "catchment": instrument.get("catchment"), "pollutant": instrument.get("pollutant"), "vintage": instrument.vintage}
    sel: dict = {"instrument_kind": "carbon", "vintage": instrument.vintage}
    if zone:
        sel["zone"] = _norm_id(zone)
    if ecosystem:
        sel["ecosystem"] = str(ecosystem).strip()
    return sel


def resolve(files: RunFiles, manifest_path: str | Path, instrument: Instrument, zone: str | None = None, ecosystem: str | None = None,
            operators: Iterable[str] = ()) -> dict:
    """Resolve an issuance's evidence to its cap.

    Parameters
    ----------
    files : RunFiles
        Reads the run's manifest and outputs.
    manifest_path : str or Path
        ``manifest.json`` of the run (or its folder).
    instrument : Instrument
        What is issued.
    zone, ecosystem : str, optional
        For carbon: the project area (zone id or name in ``account.csv``) and
        ecosystem type (e.g. ``forest``).
    operators : iterable of str
        Engine operator keys of the ledger (genesis record).

    Returns
    -------
    dict
        ``manifest_sha256``, ``selector`` (its zone by id), ``cap`` [base units, int],
        ``kind`` (the manifest's kind), ``file``, ``file_sha256`` and
        ``attestation`` (see :func:`attestation`; absent when the run is neither
        reproducible here nor signed, which the rules refuse).

    Raises
    ------
    EvidenceError
        The manifest does not hold the needed output, nothing matches the
        selection, the table contradicts itself or its manifest, the run does not
        reproduce, or its signature is not an operator's; a zone name shared by zones
        of several ids.
    EvidenceChanged
        An output differs from its SHA-256 in the manifest.
    """
    where = f"evidence {manifest_path}"
    with _as_evidence():
        doc, digest, folder = files.manifest(manifest_path)
        manifest = Manifest.from_dict(dict(doc, kind=doc.get("kind", "")), where)
        if not manifest.outputs:
            raise InputError(f"{where} lists no output files with SHA-256", hint="cite the manifest.json of a finished `gep run` or `gep capacity` run")
        hashes = files.check_outputs(dict(manifest.outputs), folder, where)
    sel = selector(instrument, zone, ecosystem)
    kind = manifest.kind
    if instrument.kind == "capacity":
        cap, name, rows = _capacity_cap(files, instrument, folder, hashes, where, kind)
    else:
        sel, cap, name, rows = _carbon_cap(files, instrument, sel, folder, hashes, where, kind)
    check_consistency(manifest, rows, instrument.kind, where)
    out = {"manifest_sha256": digest, "selector": sel, "cap": cap, "kind": kind, "file": name, "file_sha256": hashes[name]}
    att = attestation(files, manifest_path, manifest, digest, operators, where)
    if att is not None:
        out["attestation"] = att
    return out


# --------------------------------------------------------------------------- consistency


def _close(a: Decimal, b: Decimal, rel: Decimal = Decimal("1e-6"), abs_: Decimal = Decimal("1e-6")) -> bool:
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def _num(row: dict, column: str, where: str) -> Decimal:
    return parse_decimal(row[column], f"{where}: {column}", error=EvidenceError)


def check_consistency(manifest: Manifest, rows: list[dict], kind: str, where: str) -> None:
    """Check an output table against itself and its manifest (a credits table edited alone is caught).

    * capacity (``credits.csv``, every row): ``issuable_kg_per_yr`` = ``issuable_t_per_yr`` × 1000
      rounded down; where the columns exist, ``issuable = max(capacity − load − margin, 0)``,
      ``margin = margin_fraction × max(capacity, 0)`` and ``margin_fraction`` = the manifest's
      ``parameters.safety_margin``; the manifest's ``results.totals[pollutant].issuable_t_per_yr``
      = the sum of the rows (:mod:`gep.capacity.credits`, :func:`gep.capacity.basin.totals`);
    * carbon (``account.csv``): the manifest's ``results.gep_total_cny`` = the sum of ``value_cny``.

    Tolerance: 10⁻⁶ absolute + 10⁻⁶ relative (the tables are written from floats).

    Raises
    ------
    EvidenceError
        Naming the first row and column that disagree.
    """
    results = manifest.results
    if kind == "capacity":
        margin = manifest.record.parameters.get("safety_margin") if isinstance(manifest.record, BasinRecord) else None
        sums: dict[str, Decimal] = {}
        for i, r in enumerate(rows, start=2):
            at = f"{where}: credits.csv line {i} ({r.get('catchment')}/{r.get('pollutant')})"
            kg = _num(r, "issuable_kg_per_yr", at)
            if "issuable_t_per_yr" in r:
                t = _num(r, "issuable_t_per_yr", at)
                sums[r["pollutant"]] = sums.get(r["pollutant"], Decimal(0)) + t
                if not (t * 1000 - 1 - Decimal("1e-6") * abs(t * 1000) <= kg <= t * 1000 + Decimal("1e-6") * abs(t * 1000)):
                    raise EvidenceError(f"{at}: issuable_kg_per_yr {r['issuable_kg_per_yr']} is not issuable_t_per_yr {r['issuable_t_per_yr']} × 1000 rounded down",
                                        hint="the credits table was edited: cite the run as written")
                if all(c in r for c in ("capacity_t_per_yr", "load_t_per_yr", "margin_t_per_yr")):
                    cap, load, m = (_num(r, c, at) for c in ("capacity_t_per_yr", "load_t_per_yr", "margin_t_per_yr"))
                    if not _close(t, max(cap - load - m, Decimal(0))):
                        raise EvidenceError(f"{at}: issuable_t_per_yr {r['issuable_t_per_yr']} is not max(capacity − load − margin, 0)",
                                            hint="the credits table was edited: cite the run as written")
                    if "margin_fraction" in r:
                        f = _num(r, "margin_fraction", at)
                        if not _close(m, f * max(cap, Decimal(0))):
                            raise EvidenceError(f"{at}: margin_t_per_yr is not margin_fraction × capacity")
                        if margin is not None and not _close(f, parse_decimal(str(margin), "safety_margin", error=EvidenceError)):
                            raise EvidenceError(f"{at}: margin_fraction {r['margin_fraction']} differs from the run's safety margin {margin}",
                                                hint="the credits table was edited: cite the run as written")
        totals = results.get("totals") if isinstance(results.get("totals"), dict) else {}
        for pol, tot in sorted(totals.items()):
            if isinstance(tot, dict) and "issuable_t_per_yr" in tot and pol in sums:
                recorded = parse_decimal(str(tot["issuable_t_per_yr"]), "results.totals", error=EvidenceError)
                if not _close(recorded, sums[pol]):
                    raise EvidenceError(f"{where}: credits.csv sums to {sums[pol]} t/yr issuable {pol}, the manifest's totals record {recorded}",
                                        hint="the credits table was edited: cite the run as written")
    elif "gep_total_cny" in results and rows and "value_cny" in rows[0]:
        total = sum((_num(r, "value_cny", f"{where}: account.csv") for r in rows), Decimal(0))
        recorded = parse_decimal(str(results["gep_total_cny"]), "results.gep_total_cny", error=EvidenceError)
        if not _close(recorded, total):
            raise EvidenceError(f"{where}: account.csv values sum to {total} CNY, the manifest records gep_total_cny {recorded}",
                                hint="the account table was edited: cite the run as written")


# --------------------------------------------------------------------------- attestation


def attestation_document(digest: str, key: keys.KeyPair) -> dict:
    """An engine operator's signature of a run manifest whose bytes hash to ``digest``.

    The signature is Ed25519 over ``ATTEST_DOMAIN`` + the manifest's SHA-256 (hex):
    the operator vouches that the run, with the outputs whose hashes the manifest
    lists, is what the engine computed (``gep ledger attest`` writes it beside the
    manifest as ``manifest.json.sig``).
    """
    return {"manifest_sha256": digest, "key": key.public, "signature": key.sign(ATTEST_DOMAIN + digest.encode())}


def attestation(files: RunFiles, manifest_path: str | Path, manifest: Manifest, digest: str, operators: Iterable[str], where: str) -> dict | None:
    """How the run behind a manifest is vouched for, or None.

    1. an engine operator's signature beside it, by an operator of the ledger:
       ``{"method": "operator", "key", "signature"}``;
    2. else, when it records its scenario and its inputs are present, ``gep replay``
       reproduces it: ``{"method": "replay", "gep_version"}`` (a replay that does not
       reproduce is refused).

    Raises
    ------
    EvidenceError
        A signature that does not fit the manifest or is not an operator's;
        a replay that does not reproduce the run.
    """
    ops = set(operators)
    with _as_evidence():
        found = files.operator_signature(manifest_path)
    if found is not None:
        sig_file, doc = found
        if not isinstance(doc, dict) or set(doc) != {"manifest_sha256", "key", "signature"} or doc["manifest_sha256"] != digest:
            raise EvidenceError(f"{sig_file} does not sign this manifest (SHA-256 {digest[:12]}…)",
                                hint="the manifest changed after it was signed: cite the run as signed, or have the operator sign it again")
        if doc["key"] not in ops:
            raise EvidenceError(f"{sig_file} is signed by key {str(doc['key'])[:16]}…, not an engine operator of this ledger",
                                hint="engine operators are named when the ledger is created (`gep ledger init --operator`)")
        if not isinstance(doc["signature"], str) or not keys.verify(doc["key"], ATTEST_DOMAIN + digest.encode(), doc["signature"]):
            raise EvidenceError(f"{sig_file}: the signature does not verify")
        return {"method": "operator", "key": doc["key"], "signature": doc["signature"]}
    if not _records_scenario(manifest):
        return None
    from gep import __version__

    try:
        replayed = files.reproduce(manifest_path)
    except GepError as exc:
        raise EvidenceError(f"{where}: the run cannot be replayed: {exc.line()}", hint="cite a replayable run, or have an engine operator sign it") from exc
    if replayed is None or replayed[0] == 3:
        return None  # inputs not present: not reproducible here
    code, status = replayed
    if code != 0:
        raise EvidenceError(f"{where}: the run does not reproduce ({status})",
                            hint="`gep replay` shows the differences; issue only against a run that reproduces")
    return {"method": "replay", "gep_version": __version__}


def _records_scenario(manifest: Manifest) -> bool:
    """True when the manifest records the scenario file of a run gep can replay."""
    record = manifest.record
    versioned = manifest.version is not None or manifest.kind == "gep run"
    return versioned and isinstance(record, (RunRecord, BasinRecord)) and isinstance(record.scenario.path, str)


# --------------------------------------------------------------------------- caps


def _capacity_cap(files: RunFiles, ins: Instrument, folder: Path, hashes: dict, where: str, kind: str) -> tuple[int, str, list[dict]]:
    from gep.capacity.loads import canonical_pollutant

    pollutant = ins.get("pollutant")
    if canonical_pollutant(pollutant) != pollutant:
        raise InvalidRequest(f"instrument {ins.id}: pollutant {pollutant!r} is not in canonical spelling",
                             hint=f"write {canonical_pollutant(pollutant)} (as in credits.csv)")
    name = "credits.csv"
    if name not in hashes:
        raise EvidenceError(f"{where} ({kind or 'unknown kind'}) lists no {name}",
                            hint="capacity credits are issued against the manifest of a `gep capacity` run that wrote credits.csv")
    with _as_evidence():
        rows = files.rows(folder / name, CREDIT_REQUIRED, "credit table")
    catchment = ins.get("catchment")
    hits = [r for r in rows if _norm_id(r["catchment"]) == catchment and canonical_pollutant(r["pollutant"]) == pollutant
            and _norm_id(r["vintage"]) == str(ins.vintage)]
    if not hits:
        have = sorted({f"{_norm_id(r['catchment'])}/{canonical_pollutant(r['pollutant'])}/{_norm_id(r['vintage'])}" for r in rows})
        raise EvidenceError(f"{where}: credits.csv has no row for catchment {catchment}, {pollutant}, vintage {ins.vintage}",
                            hint=f"rows present: {', '.join(have[:12])}{' ...' if len(have) > 12 else ''}")
    if len(hits) > 1:
        raise EvidenceError(f"{where}: credits.csv lists catchment {catchment}, {pollutant}, vintage {ins.vintage} {len(hits)} times")
    raw = hits[0]["issuable_kg_per_yr"]
    value = parse_decimal(raw, f"{where}: issuable_kg_per_yr", error=EvidenceError)
    cap = int(value.to_integral_value(rounding=ROUND_FLOOR))
    if cap < 0:
        raise EvidenceError(f"{where}: issuable_kg_per_yr is negative ({raw})", hint="credits.csv never lists a negative issuable amount; re-run gep capacity")
    return cap, name, rows


def _zone_rows(rows: list[dict], zone: str, where: str) -> tuple[str, list[dict]]:
    """The id of the zone ``zone`` names (its id, else its ``zone_name`` or ``zone_name_zh``) and its rows.

    An id wins over a name; a name shared by zones of different ids is refused (ambiguous).

    Raises
    ------
    EvidenceError
        No row has that id or name, or the name belongs to several zones.
    """
    hits = [r for r in rows if _norm_id(r["zone"]) == zone]
    if not hits:
        hits = [r for r in rows if zone in (r.get("zone_name"), r.get("zone_name_zh"))]
    ids = sorted({_norm_id(r["zone"]) for r in hits})
    if not ids:
        zones = sorted({_norm_id(r["zone"]) for r in rows})
        raise EvidenceError(f"{where}: no zone {zone!r} in account.csv", hint=f"zones: {', '.join(zones[:20])}")
    if len(ids) > 1:
        raise EvidenceError(f"{where}: zone name {zone!r} names zones {', '.join(ids)} in account.csv", hint="cite the zone by its id")
    return ids[0], hits


def _carbon_cap(files: RunFiles, ins: Instrument, sel: dict, folder: Path, hashes: dict, where: str, kind: str) -> tuple[dict, int, str, list[dict]]:
    """The selection (its zone by id), the cap [kg CO2e], the table's name and rows of a carbon issuance."""
    from gep.units import affine

    name = "account.csv"
    if name not in hashes:
        raise EvidenceError(f"{where} ({kind or 'unknown kind'}) lists no {name}",
                            hint="carbon credits are issued against the manifest of a `gep run` that wrote account.csv")
    with _as_evidence():
        rows = files.rows(folder / name, ACCOUNT_REQUIRED, "account table")
    carbon = [r for r in rows if r["service"] == CARBON_SERVICE]
    if not carbon:
        raise EvidenceError(f"{where}: account.csv has no {CARBON_SERVICE} rows", hint="enable carbon_sequestration in the run's profile")
    year = [r for r in carbon if _norm_id(r["year"]) == str(ins.vintage)]
    if not year:
        years = sorted({_norm_id(r["year"]) for r in carbon})
        raise EvidenceError(f"{where}: no carbon sequestration for vintage {ins.vintage}", hint=f"the run covers year(s) {', '.join(years)}")
    hits = year
    if "zone" in sel:
        zone, hits = _zone_rows(year, sel["zone"], where)
        sel = {**sel, "zone": zone}
    if "ecosystem" in sel:
        hits = [r for r in hits if r["ecosystem"] == sel["ecosystem"]]
        if not hits:
            raise EvidenceError(f"{where}: no {sel['ecosystem']!r} carbon sequestration in the selection",
                                hint=f"ecosystems: {', '.join(sorted({r['ecosystem'] for r in year}))}")
    total = Decimal(0)
    for r in hits:
        q = parse_decimal(r["quantity"], f"{where}: carbon quantity", error=EvidenceError)
        try:
            scale, _ = affine(r["unit"], "kgCO2/yr", f"carbon sequestration in {where}")
        except GepError as exc:  # UnitError: not a CO2 mass rate
            raise EvidenceError(f"{where}: carbon sequestration unit {r['unit']!r} is not a CO2 mass per year",
                                hint="the run reports carbon sequestration in tCO2/yr") from exc
        total += q * Decimal(repr(float(scale)))
    cap = int(total.to_integral_value(rounding=ROUND_FLOOR))
    return sel, max(cap, 0), name, rows


# --------------------------------------------------------------------------- genesis


def genesis_params(files: RunFiles, set_id: str) -> dict:
    """The parameters a new ledger fixes in its genesis record, from a ledger coefficient set.

    Returns
    -------
    dict
        ``{"coefficients": {"id", "version", "manifest_sha256"}, "buffer_share": {kind: "0.2", ...},
        "rounding": ROUNDING, "units": UNITS, "rules": RULES}`` (shares as decimal fractions in [0, 1), normal form;
        ``rules``: :data:`gep.ledger.rules.RULES`).

    Raises
    ------
    LedgerError
        The set is missing, fails its hashes, or lacks a buffer share for an instrument kind.
    """
    from gep.ledger.rules import ROUNDING, RULES, UNITS

    try:
        cs = files.ledger_set(set_id)
    except (CoefficientError, InputError) as exc:
        raise LedgerError(exc.message, hint=exc.hint, where=exc.where) from exc
    shares = {}
    for kind in EVIDENCE_KINDS:
        key = ("ledger.buffer_share", kind)
        if key not in cs["rows"]:
            raise LedgerError(f"coefficient set {set_id} has no ledger.buffer_share for {kind}",
                              hint=f"add a row 'ledger.buffer_share,{kind},...' in a new set version")
        value, unit, _ = cs["rows"][key]
        if unit in ("percent", "%"):
            share = value / Decimal(100)
        elif unit in ("dimensionless", "", "fraction", "1"):
            share = value
        else:
            raise LedgerError(f"ledger.buffer_share[{kind}] has unit {unit!r}", hint="use percent or dimensionless")
        if not Decimal(0) <= share < Decimal(1):
            raise LedgerError(f"ledger.buffer_share[{kind}] = {value} {unit} is outside [0, 100) %")
        shares[kind] = str(normalise_decimal(share))
    return {"coefficients": {"id": cs["id"], "version": cs["version"], "manifest_sha256": cs["manifest_sha256"]},
            "buffer_share": shares, "rounding": dict(ROUNDING), "units": json.loads(json.dumps(UNITS)), "rules": dict(RULES)}
