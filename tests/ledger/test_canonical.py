"""Canonical bytes of requests and records: compact, sorted, UTF-8, no floats; the signing domain."""

from __future__ import annotations

import pytest

from gep.ledger.canonical import SIGNING_DOMAIN, canonical, parse, signing_message
from gep.ledger.errors import InvalidRequest


def test_canonical_is_compact_sorted_utf8():
    assert canonical({"b": 1, "a": [True, None, "水"], "c": {"z": "x", "y": -2}}) == '{"a":[true,null,"水"],"b":1,"c":{"y":-2,"z":"x"}}'.encode()
    assert canonical({"s": "a\"b\\\n\x01"}) == b'{"s":"a\\"b\\\\\\n\\u0001"}'


def test_canonical_refuses_floats_and_non_canonical_bytes():
    with pytest.raises(InvalidRequest, match="float"):
        canonical({"amount": 1.5})
    with pytest.raises(InvalidRequest, match="not in canonical form"):
        parse(b'{"b":1, "a":2}')
    with pytest.raises(InvalidRequest):
        parse(b'{"a":1.0}')
    assert parse(b'{"a":1}') == {"a": 1}


def test_signing_message_has_domain_prefix():
    assert signing_message({"a": 1}) == SIGNING_DOMAIN + b'{"a":1}'
