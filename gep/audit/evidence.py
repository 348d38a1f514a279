"""The files behind a ledger issuance: the cited run, its outputs, its attestation, the ledger's coefficient set.

:class:`RunFiles` is the :class:`gep.ledger.evidence.RunFiles` the ledger is
opened with wherever an issuance may be made (``gep ledger`` commands, library
callers): it reads a run's manifest and outputs through :mod:`gep.io.ledger_files`,
finds an engine operator's signature beside the manifest (``manifest.json.sig``)
and, when the run's inputs are present, replays it (:func:`gep.audit.replay.replay`:
the reason this reader lives beside replay and not among the jobs, which never
replay). :func:`attest` writes an operator's signature of a manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from gep.io import ledger_files

__all__ = ["RunFiles", "signature_path", "attest"]


def signature_path(manifest_path: str | Path) -> Path:
    """Where an engine operator's signature of a manifest is kept: ``manifest.json.sig`` beside it."""
    p = Path(manifest_path)
    if p.is_dir():
        p = p / "manifest.json"
    return p.with_name(p.name + ".sig")


def attest(manifest_path: str | Path, key: Any) -> dict:
    """Sign a run manifest as its engine operator (a :class:`gep.ledger.keys.KeyPair`); write and return ``manifest.json.sig``."""
    from gep.ledger.evidence import attestation_document

    _, digest, _ = ledger_files.read_manifest(manifest_path)
    doc = attestation_document(digest, key)
    ledger_files.write_json(signature_path(manifest_path), doc)
    return doc


class RunFiles:
    """Run manifests, outputs, operator signatures and replays on disk (:class:`gep.ledger.evidence.RunFiles`)."""

    def manifest(self, path: str | Path) -> tuple[dict, str, Path]:
        return ledger_files.read_manifest(path)

    def check_outputs(self, outputs: Mapping[str, str], folder: Path, where: str) -> dict[str, str]:
        return ledger_files.check_outputs(dict(outputs), folder, where)

    def rows(self, path: Path, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
        return ledger_files.read_rows(path, required, what)

    def operator_signature(self, manifest_path: str | Path) -> tuple[str, Any] | None:
        sig = signature_path(manifest_path)
        if not sig.is_file():
            return None
        return str(sig), ledger_files.read_json(sig, "manifest signature")

    def reproduce(self, manifest_path: str | Path) -> tuple[int, str] | None:
        from gep.audit.manifest import read
        from gep.audit.replay import replay  # heavy (numpy, pandas): only when a run is replayed

        path = Path(manifest_path)
        if path.is_dir():
            path = path / "manifest.json"
        scenario = getattr(read(path).record, "scenario", None)
        if scenario is None or not isinstance(scenario.path, str) or not (path.parent / scenario.path).is_file():
            return None
        report = replay(path)
        return report.exit_code, report.status

    def ledger_set(self, set_id: str) -> dict:
        return ledger_files.ledger_coefficients(set_id)
