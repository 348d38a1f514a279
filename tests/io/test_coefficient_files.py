"""Naming coefficient-set versions: ``id@version`` and the frozen copies under ``gep/data/coefficients/releases/``."""

from __future__ import annotations

import pytest

from gep.errors import CoefficientError
from gep.io.coefficient_files import find_set, split_version


def test_split_version():
    assert split_version("cn-2022@1.0.0") == ("cn-2022", "1.0.0")
    assert split_version("cn-2022") == ("cn-2022", None)
    assert split_version("sets/my@set") == ("sets/my@set", None)  # not a version: kept as a path


def test_a_missing_version_is_a_clear_error():
    with pytest.raises(CoefficientError) as exc:
        find_set("cn-2022@0.9.0")
    assert "has no version 0.9.0" in str(exc.value)
    # cn-2022 1.3.0 (re-sourced travel-time share and rice price) is current; 1.2.0 is frozen under releases/
    assert "1.0.0 (releases)" in exc.value.hint and "1.2.0 (releases)" in exc.value.hint and "1.3.0 (current)" in exc.value.hint
    with pytest.raises(CoefficientError, match="not found"):
        find_set("cn-1999@1.0.0")
