"""`gep init DIR`: a starter project whose scenario lists every key gep knows and runs as it is."""

from __future__ import annotations

import re

import pytest

from gep.accounting import catalogue
from gep.accounting.changes import OPS
from gep.accounting.scenario import SCHEMA, SERIES_YEAR_KEYS, SWITCHES
from gep.errors import InputError
from gep.jobs import starter
from gep.jobs.inputs import scenario


def test_the_starter_scenario_names_every_key():
    text = starter.demo_scenario().read_text(encoding="utf-8")
    keys = set(re.findall(r"^#?\s*\"?([A-Za-z_][\w.\[\]]*)\"?\s*=", text, re.MULTILINE))
    sections = set(re.findall(r"^#?\s*\[+([\w.]+)\]+", text, re.MULTILINE))
    missing = [f"[{s}]" for s in SCHEMA if s not in sections]
    missing += [f"[{s}] {k}" for s, allowed in SCHEMA.items() if allowed for k in allowed if k not in keys and f"{s}.{k}" not in sections]
    missing += [f"[inputs] {k}" for k in catalogue.INPUTS if k not in keys]
    missing += [f"[methods] {s.id}" for s in catalogue.CATALOGUE if s.id not in keys]
    missing += [f"[switches] {k}" for k in SWITCHES if k not in keys]
    missing += [f"[series.<year>] {k}" for k in SERIES_YEAR_KEYS if k not in keys and not any(x.endswith(f".{k}") for x in sections)]
    missing += [f"[[changes]] {k}" for allowed in OPS.values() for k in sorted(allowed) if k not in keys]
    assert missing == []


def test_init_writes_a_project_that_validates(tmp_path):
    files = starter.write(tmp_path / "county")
    assert {"scenario.toml", "README.md", "data/landcover.tif", "data/zones.csv"} <= set(files)
    sc = scenario(tmp_path / "county" / "scenario.toml")
    assert sc.landcover == (tmp_path / "county" / "data" / "landcover.tif").resolve()


def test_init_without_data_and_never_into_a_folder_in_use(tmp_path):
    files = starter.write(tmp_path / "empty-project", data=False)
    assert files == ["README.md", "scenario.toml"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="not empty"):
        starter.write(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_the_embedded_demo_is_the_demo_of_the_examples():
    """`gep run --demo` and `gep run scenarios/demo.toml` read the same files with the same settings."""
    from pathlib import Path

    embedded = scenario(starter.demo_scenario())
    example = scenario(Path(__file__).resolve().parents[2] / "scenarios" / "demo.toml")
    fields = ("name", "year", "base_year", "coefficient_set", "landcover", "zones", "zone_table", "province", "inputs", "tables", "enabled", "methods", "switches", "changes")
    assert {f: getattr(embedded, f) for f in fields} == {f: getattr(example, f) for f in fields}
