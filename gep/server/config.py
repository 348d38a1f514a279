"""Configuration of ``gep serve``: what is served, who may read what, how fast.

A TOML file (``gep serve --config FILE``) holds any of these keys; command-line
options override it. Every key is documented in ``docs/platform.md``::

    [server]
    db = "ledger.db"            # SQLite file or postgresql:// URL; omitted: $GEP_LEDGER, else no ledger
    head_key = "registry.key"   # the registry's private key, to sign tree heads (writes); omitted: read-only
    runs = "runs"               # folder of run folders
    host = "127.0.0.1"
    port = 8000
    pool = 8                    # ledger database connections
    max_body = 65536            # largest request body [bytes]

    [access]
    ledger = "public"           # public | owners | readers
    runs = "public"             # public | readers
    readers = ["<64 hex>"]      # keys that may read everything (auditors); the registry key always may
    clock_skew = 300            # how old a signed read may be [s]

    [limits]
    reads = "1200/minute"       # per client address (limits' notation: N/second|minute|hour)
    writes = "120/minute"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gep.errors import ScenarioError, nearest

__all__ = ["ServerConfig", "load", "LEDGER_ACCESS", "RUNS_ACCESS"]

#: Who may read the ledger: everyone; an account's owner its own account (readers everything); readers only.
LEDGER_ACCESS = ("public", "owners", "readers")
#: Who may read recorded runs.
RUNS_ACCESS = ("public", "readers")


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server (see the module docstring for the file keys)."""

    db: str | None = None
    head_key: str | None = None
    runs: Path | None = Path("runs")
    host: str = "127.0.0.1"
    port: int = 8000
    pool: int = 8
    max_body: int = 65536
    ledger_access: str = "public"
    runs_access: str = "public"
    readers: tuple[str, ...] = ()
    clock_skew: int = 300
    read_limit: str = "1200/minute"
    write_limit: str = "120/minute"

    def replace(self, **changes: Any) -> "ServerConfig":
        """A copy with the given (non-None) settings changed, checked."""
        cfg = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        cfg.check()
        return cfg

    def check(self, where: str = "server configuration") -> None:
        """Raise :class:`~gep.errors.ScenarioError` (exit 2) naming the first bad setting."""
        from limits import parse

        from gep.ledger.keys import check_public_hex
        from gep.ledger.errors import InvalidRequest

        if self.ledger_access not in LEDGER_ACCESS:
            raise ScenarioError(f"{where}: access.ledger = {self.ledger_access!r}", hint=f"one of {', '.join(LEDGER_ACCESS)}")
        if self.runs_access not in RUNS_ACCESS:
            raise ScenarioError(f"{where}: access.runs = {self.runs_access!r}", hint=f"one of {', '.join(RUNS_ACCESS)}")
        for name in ("read_limit", "write_limit"):
            try:
                parse(getattr(self, name))
            except ValueError:
                raise ScenarioError(f"{where}: limits.{name.split('_')[0]}s = {getattr(self, name)!r} is not a rate",
                                    hint="write e.g. \"600/minute\" or \"20/second\"") from None
        for key in self.readers:
            try:
                check_public_hex(key, "reader key")
            except InvalidRequest as exc:
                raise ScenarioError(f"{where}: access.readers: {exc.message}", hint="64 lowercase hex digits (a .pub file's content)") from None
        for name, low in (("port", 1), ("pool", 1), ("max_body", 1024), ("clock_skew", 1)):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < low:
                raise ScenarioError(f"{where}: {name} = {getattr(self, name)!r}", hint=f"an integer ≥ {low}")


_KEYS = {
    "server": {"db": "db", "head_key": "head_key", "runs": "runs", "host": "host", "port": "port", "pool": "pool", "max_body": "max_body"},
    "access": {"ledger": "ledger_access", "runs": "runs_access", "readers": "readers", "clock_skew": "clock_skew"},
    "limits": {"reads": "read_limit", "writes": "write_limit"},
}


def load(path: str | Path | None) -> ServerConfig:
    """The configuration in a TOML file (defaults for what it omits; the defaults alone without a file)."""
    if path is None:
        return ServerConfig()
    from gep.io.files import read_toml

    doc = read_toml(path, "server configuration")
    values: dict[str, Any] = {}
    for section, body in doc.items():
        if section not in _KEYS or not isinstance(body, dict):
            near = nearest(section, _KEYS)
            raise ScenarioError(f"{path}: unknown section [{section}]", hint=f"did you mean [{near}]?" if near else f"sections: {', '.join(_KEYS)}")
        for key, value in body.items():
            if key not in _KEYS[section]:
                near = nearest(key, _KEYS[section])
                raise ScenarioError(f"{path}: unknown key {section}.{key}",
                                    hint=f"did you mean {section}.{near}?" if near else f"keys of [{section}]: {', '.join(_KEYS[section])}")
            values[_KEYS[section][key]] = value
    base = Path(path).parent
    if "runs" in values:
        values["runs"] = base / str(values["runs"])
    if "db" in values and "://" not in str(values["db"]):
        values["db"] = str(base / str(values["db"]))
    if "head_key" in values:
        values["head_key"] = str(base / str(values["head_key"]))
    if "readers" in values:
        values["readers"] = tuple(values["readers"]) if isinstance(values["readers"], list) else values["readers"]
    cfg = dataclasses.replace(ServerConfig(), **values)
    cfg.check(str(path))
    return cfg
