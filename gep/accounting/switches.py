"""Switches: the rules a coefficient set's profile (``[switches]``) or a scenario turns on or off.

A switch the profile and the scenario leave out takes its value of
:data:`DEFAULTS`: the behaviour of gep before cn-2022 1.2.0, so that runs
made with earlier set versions (whose profiles do not name the newer switches)
replay as they were. cn-2022 1.2.0 names every switch (docs/methods.md, part 2).
"""

from __future__ import annotations

#: Switches that take one of a few names (the others are true or false).
CHOICES: dict[str, tuple[str, ...]] = {
    "negative_water_conservation": ("clamp_total", "keep", "clamp_cells"),
    "soil_retention_value": ("national", "forestry_fertiliser"),
}

#: Every switch with the value it takes when neither the coefficient set nor the scenario names it.
DEFAULTS: dict[str, bool | str] = {
    "water_conservation_net_of_water_use": False,
    "purification_capped_by_load": True,
    "soil_retention_nutrients": True,
    "soil_retention_value": "forestry_fertiliser",
    "climate_water_surface_eer": True,
    "marsh_soil_storage": True,
    "landscape_annualise": True,
    "exclude_outside_origin": True,
    "negative_water_conservation": "clamp_total",
    "respiration_monthly": False,
}

SWITCHES: tuple[str, ...] = tuple(DEFAULTS)


def value(switches: dict, name: str) -> bool | str:
    """The value of switch ``name`` in ``switches``, else its default."""
    return switches.get(name, DEFAULTS[name])
