"""Canonical bytes of requests and log records.

A request or record is a JSON object of strings, integers (magnitude below 2**63),
booleans, nested objects and lists; its canonical form is compact JSON (no whitespace)
with keys sorted by code point, non-ASCII characters kept as UTF-8 and the short escapes
``\\b \\f \\n \\r \\t \\" \\\\`` (other control characters ``\\u00xx``), as Python's
``json`` writes it with ``sort_keys`` and ``ensure_ascii=False``. For integers within
±2**53 and keys without characters beyond U+FFFF (where RFC 8785 orders keys by UTF-16
code units instead) the output coincides with the JSON Canonicalization Scheme (RFC 8785),
so anyone can rebuild the bytes with their own JSON library.
Floats are refused: quantities are integers of the base unit and money is a
decimal string, never a binary float (DESIGN.md section 4).

Signatures are taken over ``SIGNING_DOMAIN + canonical(request)`` so that a
ledger signature can never be replayed as a signature of some other protocol.

References
----------
* RFC 8785, JSON Canonicalization Scheme (JCS).
* RFC 8032, Edwards-Curve Digital Signature Algorithm (EdDSA), section 5.1 (Ed25519).
* msgspec (J. Crist), ``msgspec.json.Encoder(order="sorted")`` and a typed ``msgspec.json.Decoder``: the fast path of :func:`canonical`.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Callable

from gep.ledger.errors import InvalidRequest

__all__ = ["canonical", "record_bytes", "parse", "parse_record", "RECORD_FIELDS", "signing_message", "SIGNING_DOMAIN", "BATCH_DOMAIN", "HEAD_DOMAIN", "WITNESS_DOMAIN", "ATTEST_DOMAIN"]

#: Fields of a log record.
RECORD_FIELDS = frozenset({"seq", "time", "request", "signature", "effects"})
#: Prefix of every signed request (domain separation) [bytes].
SIGNING_DOMAIN = b"gep-ledger/v1 request\n"
#: Prefix of a batch signature: the signer signs ``BATCH_DOMAIN + root`` (32 bytes) of the
#: RFC 6962 tree over the ``signing_message`` of each request of the batch.
BATCH_DOMAIN = b"gep-ledger/v1 request batch\n"
#: Prefix of a registry-signed tree head (:mod:`gep.ledger.heads`).
HEAD_DOMAIN = b"gep-ledger/v1 tree head\n"
#: Prefix of a witness cosignature of a tree head.
WITNESS_DOMAIN = b"gep-ledger/v1 witness cosignature\n"
#: Prefix of an engine operator's signature of a run manifest: ``ATTEST_DOMAIN + manifest SHA-256 (hex, ASCII)``.
ATTEST_DOMAIN = b"gep-ledger/v1 run manifest\n"


#: The canonical encoder (made once: ``json.dumps`` with options builds a new encoder on every call).
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
#: A number token with a fraction or exponent, or of 19 digits or more, as json.dumps writes them.
_SUSPECT = re.compile(r"[:\[,]-?(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d{19,})[,\]}]")


def _check(value: Any, path: str = "$") -> None:
    if value is None or isinstance(value, (str, bool)):
        return
    if isinstance(value, int):
        if abs(value) >= 2**63:
            raise InvalidRequest(f"{path}: integer {value} does not fit in 64 bits")
        return
    if isinstance(value, float):
        raise InvalidRequest(f"{path}: binary float {value!r} in a ledger document", hint="use an integer of the base unit or a decimal string")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidRequest(f"{path}: non-string key {k!r}")
            _check(v, f"{path}.{k}")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]")
        return
    raise InvalidRequest(f"{path}: value of type {type(value).__name__} cannot be part of a ledger document")


def canonical(obj: Any) -> bytes:
    """Canonical UTF-8 bytes of ``obj`` (the form of the module docstring; RFC 8785 in the common case).

    Written by msgspec's sorted compact encoder when ``obj`` is provably inside the
    ledger's value set: the bytes decode, with the value set as the type (dicts with
    string keys, lists, strings, integers of magnitude below 2**63, booleans, null; no
    floats; at most :data:`DEPTH` levels), to a value equal to ``obj``. For such values
    msgspec writes what the standard library's encoder writes (every code point escaped
    alike as a value and as a key, keys in code-point order; tests/ledger/test_canonical.py),
    at about a fifth of the cost. Anything else (a float, a tuple, a non-string key, a huge
    integer, another type, a lone surrogate) is encoded, or refused, by
    :func:`_canonical_exactly`, the standard library's encoder: the outcome is the same
    either way.

    Parameters
    ----------
    obj : dict
        A JSON-compatible object without floats.

    Returns
    -------
    bytes
        Compact, key-sorted JSON encoded as UTF-8.

    Raises
    ------
    InvalidRequest
        A float, an integer of 64 bits or more, a non-string key or a value of another type.
    """
    encode, decode = _writer()
    try:
        data = encode(obj)
        if decode(data) == obj:
            return data
    except Exception:  # noqa: BLE001 - whatever msgspec does not take is decided by the standard library
        pass
    return _canonical_exactly(obj)


def _canonical_exactly(obj: Any) -> bytes:
    """:func:`canonical` with the standard library's JSON encoder (the reference for the canonical form)."""
    try:
        text = _ENCODE(obj)
    except (TypeError, ValueError):
        _check(obj)  # names the offending value
        raise
    if _SUSPECT.search(text):  # a float or a long integer may be present (or a string that looks like one): check exactly
        _check(obj)
    return text.encode("utf-8")


#: Nesting levels of a document that :func:`canonical` writes with msgspec (deeper ones: the standard library).
#: The ledger's own documents nest 5 deep at most; building the decoder costs ~13 ms at 8 levels, ~2 s at 16.
DEPTH = 8


@functools.lru_cache(maxsize=1)
def _writer() -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    """msgspec's sorted compact encoder and a decoder typed with the ledger's value set (see :func:`canonical`).

    Made on first use (msgspec is imported by the commands that write or verify, not by every command).
    """
    from typing import Annotated, Union

    import msgspec

    integer = Annotated[int, msgspec.Meta(ge=-(2**63) + 1, le=2**63 - 1)]  # |value| < 2**63, as _check
    value: Any = Union[None, bool, integer, str]
    for _ in range(DEPTH):
        value = Union[None, bool, integer, str, list[value], dict[str, value]]
    return _fast()[1], msgspec.json.Decoder(value).decode


def record_bytes(seq: int, time: str, request_bytes: bytes, signature: Any, effects: dict) -> bytes:
    """Canonical bytes of a log record ``{effects, request, seq, signature, time}`` from the request's canonical bytes.

    The same bytes as ``canonical(record)`` (keys in code-point order), without encoding
    the request a second time.
    """
    return b"".join((b'{"effects":', canonical(effects), b',"request":', request_bytes, b',"seq":', str(int(seq)).encode(),
                     b',"signature":', canonical(signature), b',"time":', _canonical_time(time), b"}"))


@functools.lru_cache(maxsize=4)
def _canonical_time(time: Any) -> bytes:
    """:func:`canonical` of a record time (every record of a commit has the same: encoded once)."""
    return canonical(time)


def parse_record(data: bytes) -> tuple[dict, bytes]:
    """A log record parsed, and its request's canonical bytes; refuse anything not in canonical form.

    Checks the record as :func:`parse` does, and encodes the request (its bytes are
    what its signature covers). The check is made with msgspec, whose sorted compact
    encoder writes exactly the canonical form of these documents (floats refused while
    decoding); a record it does not accept goes through :func:`_parse_record_exactly`,
    the same check with the standard library, which names the problem.

    Raises
    ------
    InvalidRequest
        Not UTF-8 JSON, not an object with exactly the record fields, or not canonical.
    """
    decode, encode = _fast()
    try:
        obj = decode(data)
        if type(obj) is dict and obj.keys() == RECORD_FIELDS and type(obj["seq"]) is int and encode(obj) == data:
            return obj, encode(obj["request"])
    except Exception:  # noqa: BLE001 - any refusal is explained by the exact check below
        pass
    return _parse_record_exactly(data)


@functools.lru_cache(maxsize=1)
def _fast() -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """msgspec's decoder (floats refused) and sorted compact encoder (imported on first use: verify, not every command)."""
    import msgspec

    return msgspec.json.Decoder(float_hook=_no_float).decode, msgspec.json.Encoder(order="sorted").encode


def _parse_record_exactly(data: bytes) -> tuple[dict, bytes]:
    """:func:`parse_record` with the standard library's JSON (the reference for the canonical form)."""
    try:
        obj = json.loads(bytes(data).decode("utf-8"), parse_float=_no_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest(f"not canonical JSON: {exc}") from exc
    if not isinstance(obj, dict) or set(obj) != RECORD_FIELDS:
        raise InvalidRequest(f"a record must have exactly the fields {sorted(RECORD_FIELDS)}")
    if type(obj["seq"]) is not int:
        raise InvalidRequest(f"the record's seq {obj['seq']!r} is not an integer")
    # floats were refused while parsing, so the encoder alone gives the canonical form
    if _encode_utf8(obj) != bytes(data):
        raise InvalidRequest("bytes are valid JSON but not in canonical form (key order, spacing or escapes differ)")
    return obj, _encode_utf8(obj["request"])


def _encode_utf8(obj: Any) -> bytes | None:
    """The canonical encoder's bytes, or None for text UTF-8 cannot hold (a lone surrogate written as an escape)."""
    try:
        return _ENCODE(obj).encode("utf-8")
    except UnicodeEncodeError:
        return None


def parse(data: bytes) -> Any:
    """Parse canonical bytes, refusing anything that is not in canonical form.

    Raises
    ------
    InvalidRequest
        The bytes are not UTF-8 JSON, or re-encoding them does not give the same bytes.
    """
    try:
        obj = json.loads(bytes(data).decode("utf-8"), parse_float=_no_float)
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSON syntax, or an integer beyond Python's digit limit
        raise InvalidRequest(f"not canonical JSON: {exc}") from exc
    # floats are refused by the hook; the re-encoding decides canonical form
    if _encode_utf8(obj) != bytes(data):
        raise InvalidRequest("bytes are valid JSON but not in canonical form (key order, spacing or escapes differ)")
    return obj


def _no_float(text: str) -> Any:
    raise InvalidRequest(f"binary float {text} in a ledger document")


def signing_message(request: dict) -> bytes:
    """The exact bytes an Ed25519 signature of ``request`` covers: domain prefix + canonical bytes."""
    return SIGNING_DOMAIN + canonical(request)
