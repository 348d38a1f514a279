"""gep: gross ecosystem product (GEP) accounting engine."""

from pathlib import Path

__version__ = "0.1.0"


def cache_dir() -> Path:
    """gep's cache folder: ``$GEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/gep``, else ``~/.cache/gep`` (deletable at any time)."""
    import os

    if os.environ.get("GEP_CACHE_DIR"):
        return Path(os.environ["GEP_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gep"
