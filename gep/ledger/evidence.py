"""Issuance caps from engine runs, and the buffer share of the coefficient set.

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
    converted to kg CO2e and rounded down.

Every output file listed in the manifest is checked against its SHA-256 first
(:class:`~gep.ledger.errors.EvidenceChanged` on a difference). The request
signs the manifest's SHA-256 and the selection; the resolved cap is recorded
in the transaction so ``verify`` can re-check it without the files.

References
----------
docs/capacity.md (credits) and docs/ledger.md (buffer share,
Gold Standard 20 %).
"""

from __future__ import annotations

import contextlib
import re
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path
from typing import Iterator

from gep.audit.manifest import Manifest
from gep.errors import CoefficientError, GepError, InputError, InputsChanged
from gep.io import ledger_files
from gep.ledger.errors import EvidenceChanged, EvidenceError, InvalidRequest, LedgerError
from gep.ledger.model import Instrument

__all__ = ["resolve", "buffer_share", "selector"]

CARBON_SERVICE = "carbon_sequestration"
CREDIT_REQUIRED = ("catchment", "pollutant", "vintage", "issuable_kg_per_yr")
ACCOUNT_REQUIRED = ("year", "zone", "service", "ecosystem", "quantity", "unit")


@contextlib.contextmanager
def _as_evidence() -> Iterator[None]:
    """Input errors of the evidence files as evidence refusals (a changed output: exit code 3)."""
    try:
        yield
    except InputsChanged as exc:
        raise EvidenceChanged(exc.message, hint=exc.hint, where=exc.where) from exc
    except InputError as exc:
        raise EvidenceError(exc.message, hint=exc.hint, where=exc.where) from exc


def ledger_set(set_id: str) -> dict:
    """The ledger coefficient set (:func:`gep.io.ledger_files.ledger_coefficients`); its errors refuse the request."""
    try:
        return ledger_files.ledger_coefficients(set_id)
    except CoefficientError as exc:
        raise LedgerError(exc.message, hint=exc.hint, where=exc.where) from exc


def _norm_id(text: str) -> str:
    t = str(text).strip()
    return t[:-2] if re.fullmatch(r"-?\d+\.0", t) else t


def selector(instrument: Instrument, zone: str | None = None, ecosystem: str | None = None) -> dict:
    """What part of a run an issuance of ``instrument`` draws on (signed in the request)."""
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


def resolve(manifest_path: str | Path, instrument: Instrument, zone: str | None = None, ecosystem: str | None = None) -> dict:
    """Resolve an issuance's evidence to its cap.

    Parameters
    ----------
    manifest_path : str or Path
        ``manifest.json`` of the run (or its folder).
    instrument : Instrument
        What is issued.
    zone, ecosystem : str, optional
        For carbon: the project area (zone id or name in ``account.csv``) and
        ecosystem type (e.g. ``forest``).

    Returns
    -------
    dict
        ``manifest_sha256``, ``selector``, ``cap`` [base units, int],
        ``kind`` (the manifest's kind), ``file``, ``file_sha256``.

    Raises
    ------
    EvidenceError
        The manifest does not hold the needed output, or nothing matches the selection.
    EvidenceChanged
        An output differs from its SHA-256 in the manifest.
    """
    where = f"evidence {manifest_path}"
    with _as_evidence():
        doc, digest, folder = ledger_files.read_manifest(manifest_path)
        manifest = Manifest.from_dict(dict(doc, kind=doc.get("kind", "")), where)
        if not manifest.outputs:
            raise InputError(f"{where} lists no output files with SHA-256", hint="cite the manifest.json of a finished `gep run` or `gep capacity` run")
        hashes = ledger_files.check_outputs(dict(manifest.outputs), folder, where)
    sel = selector(instrument, zone, ecosystem)
    kind = manifest.kind
    if instrument.kind == "capacity":
        cap, name = _capacity_cap(instrument, folder, hashes, where, kind)
    else:
        cap, name = _carbon_cap(instrument, sel, folder, hashes, where, kind)
    return {"manifest_sha256": digest, "selector": sel, "cap": cap, "kind": kind, "file": name, "file_sha256": hashes[name]}


def _capacity_cap(ins: Instrument, folder: Path, hashes: dict, where: str, kind: str) -> tuple[int, str]:
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
        rows = ledger_files.read_rows(folder / name, CREDIT_REQUIRED, "credit table")
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
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise EvidenceError(f"{where}: issuable_kg_per_yr {raw!r} is not a number") from exc
    cap = int(value.to_integral_value(rounding=ROUND_FLOOR))
    if cap < 0:
        raise EvidenceError(f"{where}: issuable_kg_per_yr is negative ({raw})", hint="credits.csv never lists a negative issuable amount; re-run gep capacity")
    return cap, name


def _carbon_cap(ins: Instrument, sel: dict, folder: Path, hashes: dict, where: str, kind: str) -> tuple[int, str]:
    from gep.units import affine

    name = "account.csv"
    if name not in hashes:
        raise EvidenceError(f"{where} ({kind or 'unknown kind'}) lists no {name}",
                            hint="carbon credits are issued against the manifest of a `gep run` that wrote account.csv")
    with _as_evidence():
        rows = ledger_files.read_rows(folder / name, ACCOUNT_REQUIRED, "account table")
    carbon = [r for r in rows if r["service"] == CARBON_SERVICE]
    if not carbon:
        raise EvidenceError(f"{where}: account.csv has no {CARBON_SERVICE} rows", hint="enable carbon_sequestration in the run's profile")
    year = [r for r in carbon if _norm_id(r["year"]) == str(ins.vintage)]
    if not year:
        years = sorted({_norm_id(r["year"]) for r in carbon})
        raise EvidenceError(f"{where}: no carbon sequestration for vintage {ins.vintage}", hint=f"the run covers year(s) {', '.join(years)}")
    hits = year
    if "zone" in sel:
        hits = [r for r in hits if _norm_id(r["zone"]) == sel["zone"] or r.get("zone_name", "") == sel["zone"] or r.get("zone_name_zh", "") == sel["zone"]]
        if not hits:
            zones = sorted({_norm_id(r["zone"]) for r in year})
            raise EvidenceError(f"{where}: no zone {sel['zone']!r} in account.csv", hint=f"zones: {', '.join(zones[:20])}")
    if "ecosystem" in sel:
        hits = [r for r in hits if r["ecosystem"] == sel["ecosystem"]]
        if not hits:
            raise EvidenceError(f"{where}: no {sel['ecosystem']!r} carbon sequestration in the selection",
                                hint=f"ecosystems: {', '.join(sorted({r['ecosystem'] for r in year}))}")
    total = Decimal(0)
    for r in hits:
        try:
            q = Decimal(r["quantity"])
        except InvalidOperation as exc:
            raise EvidenceError(f"{where}: carbon quantity {r['quantity']!r} is not a number") from exc
        if not q.is_finite():
            raise EvidenceError(f"{where}: carbon quantity {r['quantity']!r} is not finite")
        try:
            scale, _ = affine(r["unit"], "kgCO2/yr", f"carbon sequestration in {where}")
        except GepError as exc:  # UnitError: not a CO2 mass rate
            raise EvidenceError(f"{where}: carbon sequestration unit {r['unit']!r} is not a CO2 mass per year",
                                hint="the run reports carbon sequestration in tCO2/yr") from exc
        total += q * Decimal(repr(float(scale)))
    cap = int(total.to_integral_value(rounding=ROUND_FLOOR))
    return max(cap, 0), name


def buffer_share(instrument: Instrument, set_id: str) -> dict:
    """Buffer share for issuing ``instrument``, from the ledger coefficient set.

    Returns
    -------
    dict
        ``{"share": "0.2", "set": "ledger-2026", "version": "1.0.0", "manifest_sha256": ...}``
        (share as a decimal fraction in [0, 1)).
    """
    cs = ledger_set(set_id)
    key = ("ledger.buffer_share", instrument.kind)
    if key not in cs["rows"]:
        raise LedgerError(f"coefficient set {set_id} has no ledger.buffer_share for {instrument.kind}",
                          hint=f"add a row 'ledger.buffer_share,{instrument.kind},...' in a new set version")
    value, unit, _ = cs["rows"][key]
    if unit in ("percent", "%"):
        share = value / Decimal(100)
    elif unit in ("dimensionless", "", "fraction", "1"):
        share = value
    else:
        raise LedgerError(f"ledger.buffer_share[{instrument.kind}] has unit {unit!r}", hint="use percent or dimensionless")
    if not Decimal(0) <= share < Decimal(1):
        raise LedgerError(f"ledger.buffer_share[{instrument.kind}] = {value} {unit} is outside [0, 100) %")
    text = format(share.normalize(), "f")
    return {"share": text, "set": cs["id"], "version": cs["version"], "manifest_sha256": cs["manifest_sha256"]}
