"""CLI tests of `gep services list`."""

from __future__ import annotations

import json


def test_services_list_json_has_the_thirteen_ids(gep):
    result = gep.invoke("services", "list", "--json")
    assert result.exit_code == 0
    ids = [s["id"] for s in json.loads(result.stdout)]
    assert ids == [
        "provisioning", "water_conservation", "soil_retention", "sand_fixation", "flood_mitigation",
        "water_purification", "air_purification", "carbon_sequestration", "oxygen_release",
        "climate_regulation", "negative_ions", "recreation", "landscape",
    ]
    assert all(s["output_unit"] and s["category"] in ("provisioning", "regulating", "cultural") for s in json.loads(result.stdout))


def test_services_list_table(gep):
    result = gep.invoke("services", "list")
    assert result.exit_code == 0 and "water_conservation" in result.stdout
