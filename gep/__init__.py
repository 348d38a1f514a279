"""gep: gross ecosystem product (GEP) accounting engine."""

__version__ = "0.1.0"
