"""Canonical bytes of requests and records: compact, sorted, UTF-8, no floats; the signing domain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.ledger.canonical import SIGNING_DOMAIN, _canonical_exactly, _parse_record_exactly, canonical, parse, parse_record, signing_message
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


# --------------------------------------------------------------------------- msgspec writes what the standard library writes

def test_every_code_point_is_written_as_the_standard_library_writes_it():
    """As a value and as a key, every character (controls, quote, backslash, DEL, U+2028, astral) gives the same bytes.

    Every code point but the surrogates, in strings of 4,096 (escaping is decided character by character).
    """
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    chunks = ["".join(map(chr, points[k:k + 4096])) for k in range(0, len(points), 4096)]
    for chunk in chunks:
        assert canonical([chunk]) == _canonical_exactly([chunk])
    keys = {chunk: k for k, chunk in enumerate(chunks)} | {chr(c): c for c in (*range(0x20), 0x22, 0x5C, 0x7F, 0x2028, 0xFFFF, 0x10000, 0x10FFFF)}
    assert canonical(keys) == _canonical_exactly(keys)


#: Text with every kind of escape, non-ASCII and astral characters, prefixes of each other (key order).
TEXT = st.lists(st.sampled_from(["a", "ab", "", "\x00", "\x1f", "\"", "\\", "\n", "\t", "\x7f", "é", "水", "\u2028", "\ufffd", "\uffff",
                                 "\U00010000", "😀", "\U0010ffff"]) | st.characters(exclude_categories=("Cs",)), max_size=6).map("".join) | st.text()
LEDGER_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-(2**63) + 1, 2**63 - 1) | st.sampled_from([0, -1, 2**63 - 1, -(2**63) + 1]) | TEXT,
                             lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5), max_leaves=30)
#: Values outside the ledger's value set, or that msgspec would write otherwise.
OUTSIDE = st.sampled_from([1.5, 0.0, float("nan"), float("inf"), 1e300, 2**63, -(2**63), 2**64, 10**40, (1, "a"), {1: "a"}, {True: 1}, {None: 1},
                           {1.5: 1}, {"a", "b"}, b"ab", bytearray(b"x"), "\ud800", "a\udfffb", __import__("decimal").Decimal("1.5"),
                           __import__("uuid").UUID(int=7), __import__("datetime").date(2026, 1, 1), {10: 1, 9: 2}, object()])


def _written(encode, value):
    try:
        return encode(value)
    except Exception as exc:  # noqa: BLE001 - the outcome compared, refusals included
        return type(exc), str(exc)


@settings(max_examples=500, deadline=None)
@given(value=LEDGER_VALUES)
def test_ledger_values_are_written_as_the_standard_library_writes_them(value):
    assert canonical(value) == _canonical_exactly(value)
    assert canonical({"v": value, "w": [value]}) == _canonical_exactly({"v": value, "w": [value]})


@settings(max_examples=400, deadline=None)
@given(value=LEDGER_VALUES, odd=OUTSIDE, where=st.sampled_from(["top", "value", "list", "deep"]))
def test_anything_else_falls_back_to_the_standard_library(value, odd, where):
    """A value outside the set, anywhere in a document, gives the standard library's bytes or its refusal."""
    doc = {"top": odd, "value": {"a": value, "b": odd}, "list": [value, odd], "deep": {"x": [[{"y": odd}]]}}[where]
    assert _written(canonical, doc) == _written(_canonical_exactly, doc)


def test_deep_documents_fall_back_and_agree():
    doc: object = "x"
    for k in range(40):
        doc = {"k": [doc, k]}
    assert canonical(doc) == _canonical_exactly(doc)


def test_ledger_documents_take_the_fast_path(monkeypatch):
    """A request, a batch signature and effects are written by msgspec (the standard library is not called)."""
    import gep.ledger.canonical as mod

    docs = [{"v": 3, "ledger": "l", "id": "01a24e4beae87173b1e72f954a168634", "type": "transfer", "signer": "ab" * 32, "instrument": "capacity/2/COD/2024",
             "amount": 2**62 - 1, "from": "alice", "to": "bob", "memo": "水\n\"\\\x01 😀"},
            {"index": 3, "size": 1000, "path": ["cd" * 32] * 10, "signature": "ef" * 64},
            {"postings": [["alice", -1], ["bob", 1]], "serials": [[1, 1]], "price": None, "ok": True}]
    expected = [_canonical_exactly(d) for d in docs]
    monkeypatch.setattr(mod, "_canonical_exactly", lambda obj: pytest.fail(f"fell back for {obj!r}"))
    assert [canonical(d) for d in docs] == expected
