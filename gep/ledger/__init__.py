"""Rights ledger: water-capacity and carbon credits, issued, traded and retired.

Signed (Ed25519, RFC 8032), double-entry, idempotent and auditable: every
transaction is a leaf of an RFC 6962 Merkle log, every commit ends with a
registry-signed tree head, and ``gep ledger verify`` rebuilds every balance and
serial block from the signed requests alone and checks the log against the
heads. Issuance is capped by the engine run that computed the quantity, with
the parameters fixed in the genesis record.

Modules
-------
model       instruments, accounts, serial blocks, amounts and prices
canonical   canonical request/record bytes (RFC 8785-compatible JSON)
keys        Ed25519 key files, signing, verification
merkle      RFC 6962 tree hashing, inclusion and consistency proofs
heads       signed tree heads and witness cosignatures
rules       the decision function and the invariants (one implementation)
evidence    issuance caps from run manifests, their attestation; genesis parameters
store       SQLite / PostgreSQL storage, append-only triggers, transactions, timeouts
ledger      the facade: sign, submit, read
audit       verify (log replay, table comparison) and export
cli         ``gep ledger ...``
errors      :class:`~gep.errors.GepError` subclasses

See ``docs/ledger.md``.
"""

from __future__ import annotations

__all__: list[str] = []  # import the modules (gep.ledger.ledger, .keys, ...) directly; this package stays light
