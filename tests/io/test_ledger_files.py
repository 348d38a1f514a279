"""Ledger files: JSON documents with bounded, exact numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gep.errors import InputError
from gep.io.ledger_files import parse_json


def test_json_numbers_bounded_and_exact():
    assert parse_json('{"a": 1.10, "b": 7}', "batch") == {"a": Decimal("1.10"), "b": 7}
    for text in ('[%s]' % ("9" * 5000), '[1e99999999]', '[NaN]', '[1.5e400]'):
        with pytest.raises(InputError):
            parse_json(text, "batch")
