"""The ``gep`` command line."""

from gep.cli.main import _route_capacity_scenario, app, main  # noqa: F401
