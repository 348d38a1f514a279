"""Documents: JSON with bounded, exact numbers; TOML with bounded numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gep.errors import InputError
from gep.io.files import parse_json, read_json_object, read_toml


def test_json_numbers_bounded_and_exact():
    assert parse_json('{"a": 1.10, "b": 7}', "batch") == {"a": Decimal("1.10"), "b": 7}
    for text in ('[%s]' % ("9" * 5000), '[1e99999999]', '[NaN]', '[1.5e400]'):
        with pytest.raises(InputError):
            parse_json(text, "batch")


def test_json_too_deep_or_lone_surrogate_refused(tmp_path):
    """100,000 nested lists raised RecursionError and a lone surrogate escape gave a str UTF-8 cannot write: both are InputErrors naming the file."""
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InputError, match="batch file b.json is nested too deeply"):
        parse_json(deep, "batch file b.json")
    (tmp_path / "m.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(InputError, match="m.json is nested too deeply"):
        read_json_object(tmp_path / "m.json", "run manifest", "give a manifest")
    for text, where in (('[{"memo": "\\ud800"}]', r"\[0\].memo"), ('{"record": "x\\udcffy"}', "record"), ('{"\\udfff": 1}', "a key of the document"),
                        ('{"a": {"b": ["\\ud83d"]}}', r"a.b\[0\]")):
        with pytest.raises(InputError, match=f"c.json: {where} holds a lone surrogate"):
            parse_json(text, "c.json")
    assert parse_json('["\\ud83d\\ude00", "\\\\ud800"]', "c.json") == ["\U0001F600", "\\ud800"]  # a pair, and an escaped backslash
    for text, where in (('{"id": "a\\u0000b"}', "id"), ('[{"account": "x"}, {"account": "\\u0000"}]', r"\[1\].account")):
        with pytest.raises(InputError, match=f"c.json: {where} holds a NUL character"):  # PostgreSQL refuses them in text
            parse_json(text, "c.json")
    assert parse_json('["\\\\u0000"]', "c.json") == ["\\u0000"]  # an escaped backslash: text


@pytest.mark.parametrize("value", ["1e9999999", "1e99999999", "9" * 5000, "9" * 4000, "1e1000000", "9223372036854775808"])
def test_toml_numbers_bounded(tmp_path, value):
    """tomllib converts any integer up to Python's digit limit and reads 1e99999999 as infinity: both are refused, naming the file."""
    path = tmp_path / "bad.toml"
    path.write_text(f"[a]\nb = [1, {value}]\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.toml") as info:
        read_toml(path)
    assert "\n" not in info.value.line() and len(info.value.line()) < 300
    path.write_text("a = 9223372036854775807\nb = 1_000.5\nc = 1e-10\nd = inf\n", encoding="utf-8")
    assert read_toml(path) == {"a": 2**63 - 1, "b": 1000.5, "c": 1e-10, "d": float("inf")}
