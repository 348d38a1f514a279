"""Canonical bytes of requests and records: compact, sorted, UTF-8, no floats; the signing domain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.ledger.canonical import SIGNING_DOMAIN, _parse_record_exactly, canonical, parse, parse_record, signing_message
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


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


def _outcome(check, data):
    try:
        return check(data)
    except InvalidRequest:
        return "refused"


@settings(max_examples=300, deadline=None)
@given(request=JSON_VALUES, effects=JSON_VALUES, seq=st.integers(-2, 2**63), time=st.text(max_size=5), edit=st.sampled_from(["", "space", "order", "escape"]))
def test_parse_record_fast_check_accepts_exactly_what_the_standard_library_accepts(request, effects, seq, time, edit):
    """parse_record's msgspec check and the standard-library check agree on canonical records and on near misses."""
    record = {"seq": seq, "time": time, "request": request, "signature": "ab", "effects": effects}
    try:
        data = canonical(record)
    except (InvalidRequest, UnicodeEncodeError):
        return
    if edit == "space":
        data = data.replace(b":", b": ", 1)
    elif edit == "order":
        data = data.replace(b'{"effects":', b'{"zeffects":', 1)
    elif edit == "escape":
        data = data.replace(b'"ab"', b'"a\\u0062"', 1)
    assert _outcome(parse_record, data) == _outcome(_parse_record_exactly, data)
    if not edit:
        assert parse_record(data) == (record, canonical(request))
