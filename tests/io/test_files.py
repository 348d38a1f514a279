"""Documents: JSON with bounded, exact numbers; TOML with bounded numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gep.errors import InputError
from gep.io.files import parse_json, read_toml


def test_json_numbers_bounded_and_exact():
    assert parse_json('{"a": 1.10, "b": 7}', "batch") == {"a": Decimal("1.10"), "b": 7}
    for text in ('[%s]' % ("9" * 5000), '[1e99999999]', '[NaN]', '[1.5e400]'):
        with pytest.raises(InputError):
            parse_json(text, "batch")


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
