"""Errors of the rights ledger.

Every refusal of the ledger is a :class:`LedgerError` (a :class:`gep.errors.GepError`):
the CLI prints :meth:`~gep.errors.GepError.line` on stderr and exits with the
error's code (2 for a refused request or bad input, 1 for a failed audit,
3 for evidence whose files no longer match their manifest). A refused request
never changes the ledger.
"""

from __future__ import annotations

from gep.errors import CheckFailed, GepError

__all__ = [
    "LedgerError", "InvalidRequest", "InvalidAmount", "UnitMismatch", "UnknownAccount", "UnknownInstrument",
    "AccountExists", "InsufficientBalance", "BadSignature", "NotAuthorised", "IdConflict", "OverIssuance",
    "EvidenceError", "EvidenceChanged", "KeyFileError", "StorageError", "NotInitialised", "AlreadyInitialised",
    "AuditFailed",
]


class LedgerError(GepError):
    """Base class of every ledger refusal (exit code 2)."""


class InvalidRequest(LedgerError):
    """A request that is malformed: unknown type, missing or extra field, bad identifier."""


class InvalidAmount(LedgerError):
    """A zero, negative, fractional or unparseable amount or price."""


class UnitMismatch(InvalidAmount):
    """An amount whose unit does not fit the instrument (e.g. tonnes of carbon for a CO2e credit)."""


class UnknownAccount(LedgerError):
    """An account id that has not been opened."""


class UnknownInstrument(LedgerError):
    """An instrument that was never issued (or an id that is not an instrument)."""


class AccountExists(LedgerError):
    """Opening an account id that is already taken."""


class InsufficientBalance(LedgerError):
    """Moving more than the account holds: no balance may go negative."""


class BadSignature(LedgerError):
    """A signature that does not verify (RFC 8032 Ed25519) over the request's canonical bytes."""


class NotAuthorised(LedgerError):
    """A valid signature by the wrong key: not the registry, or not the account's owner."""


class IdConflict(LedgerError):
    """A client id already used by a request with a different body."""


class OverIssuance(LedgerError):
    """An issuance beyond what the cited engine run computed (minus issued and buffer)."""


class EvidenceError(LedgerError):
    """A manifest or output file that cannot serve as issuance evidence."""


class EvidenceChanged(EvidenceError):
    """An output file whose SHA-256 differs from its run manifest (exit code 3)."""

    exit_code = 3


class KeyFileError(LedgerError):
    """A missing, unreadable, malformed or too widely readable key file."""


class StorageError(LedgerError):
    """The database cannot be opened, or a write failed after its retries."""


class NotInitialised(StorageError):
    """The database has no ledger (run ``gep ledger init``)."""


class AlreadyInitialised(StorageError):
    """``init`` on a database that already holds a ledger."""


class AuditFailed(CheckFailed):
    """``verify`` found a transaction, signature, hash, balance or invariant that fails (exit code 1).

    Attributes
    ----------
    seq : int or None
        Sequence number of the first failing transaction, when one is to blame.
    client_id : str or None
        Its client id.
    """

    def __init__(self, message: str, *, seq: int | None = None, client_id: str | None = None, hint: str | None = None):
        self.seq = seq
        self.client_id = client_id
        where = None
        if seq is not None:
            where = f"transaction {seq}" + (f" (id {client_id})" if client_id else "")
        super().__init__(message, hint=hint, where=where)
