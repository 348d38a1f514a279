"""Who is asking: signed reads (no cookies, no passwords, no sessions).

Writes are the ledger's own signed requests and need nothing here. A read of a
role-restricted resource carries an ``Authorization`` header signed with the
reader's Ed25519 key (the same key that owns an account, or a configured reader's)::

    Authorization: GEP-Ed25519 key=<64 hex>, time=<ISO 8601 UTC>, sig=<128 hex>

``sig`` signs ``READ_DOMAIN + METHOD "\\n" + raw path "\\n" + raw query "\\n" + time``
(UTF-8), so a signature is good for one URL only and for ``clock_skew`` seconds.
Nothing is stored in the browser but the key the user imported, and nothing a
third-party page can make the browser send: there is no ambient credential, so
cross-site request forgery has nothing to ride on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from gep.errors import GepError

__all__ = ["READ_DOMAIN", "Reader", "read_message", "authenticate", "Unauthorised", "Forbidden", "sign_read"]

#: Prefix of a signed read (domain separation from ledger requests).
READ_DOMAIN = b"gep-server/v1 read\n"
_HEADER = re.compile(r"^GEP-Ed25519\s+key=([0-9a-f]{64}),\s*time=([0-9T:.\-Z+]{10,40}),\s*sig=([0-9a-f]{128})$")


class Unauthorised(GepError):
    """A restricted read without a valid signed ``Authorization`` header (HTTP 401)."""


class Forbidden(GepError):
    """A valid signature by a key that may not read this (HTTP 403)."""


@dataclass(frozen=True)
class Reader:
    """An authenticated reader: the public key (hex) that signed the read."""

    key: str


def read_message(method: str, raw_path: str, raw_query: str, time: str) -> bytes:
    """The bytes a signed read covers."""
    return READ_DOMAIN + f"{method.upper()}\n{raw_path}\n{raw_query}\n{time}".encode("utf-8")


def sign_read(key, method: str, raw_path: str, raw_query: str = "", time: str | None = None) -> str:
    """The ``Authorization`` header value of a read signed with ``key`` (:class:`gep.ledger.keys.KeyPair`)."""
    time = time or datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    sig = key.sign(read_message(method, raw_path, raw_query, time))
    return f"GEP-Ed25519 key={key.public}, time={time}, sig={sig}"


def authenticate(header: str | None, method: str, raw_path: str, raw_query: str, clock_skew: int) -> Reader | None:
    """The reader a header proves, None without a header; :class:`Unauthorised` for a bad one."""
    from gep.ledger import keys

    if not header:
        return None
    m = _HEADER.match(header.strip())
    if not m:
        raise Unauthorised("Authorization header is not 'GEP-Ed25519 key=<64 hex>, time=<ISO 8601>, sig=<128 hex>'",
                           hint="sign the read with your account key (see docs/platform.md, signed reads)")
    key, time, sig = m.groups()
    try:
        when = datetime.fromisoformat(time.replace("Z", "+00:00"))
    except ValueError:
        raise Unauthorised(f"Authorization time {time!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise Unauthorised("Authorization time has no time zone", hint="give UTC, e.g. 2026-12-06T10:00:00Z")
    age = abs((datetime.now(timezone.utc) - when).total_seconds())
    if age > clock_skew:
        raise Unauthorised(f"signed read is {age:.0f} s away from the server's clock (at most {clock_skew} s)",
                           hint="sign each read when it is sent; check the computer's clock")
    if not keys.verify(key, read_message(method, raw_path, raw_query, time), sig):
        raise Unauthorised("the signature of the read does not verify", hint="sign METHOD, path, query and time with the key named")
    return Reader(key)
