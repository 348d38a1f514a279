"""``gep serve``: the HTTP API and web pages over recorded runs and the rights ledger.

Mounted by the main CLI with :func:`register` (one command). Needs the ``server``
extra: ``pip install 'gep[server]'`` (FastAPI, uvicorn, Jinja2, limits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gep.errors import GepError

__all__ = ["register", "serve"]


def serve(
    db: Optional[str] = typer.Option(None, "--db", envvar="GEP_LEDGER", help="Ledger database: SQLite file or postgresql:// URL (default: $GEP_LEDGER; without one, runs only)."),
    runs: Optional[Path] = typer.Option(None, "--runs", help="Folder of recorded runs (default: runs)."),
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1: this machine only)."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="Port (default 8000)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file: \\[server], \\[access] (public | owners | readers), \\[limits] (docs/platform.md)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes (rate limits and caches are per process)."),
) -> None:
    """Serve the GEP dashboard, the registry explorer, account pages and the HTTP API (OpenAPI at /api/openapi.json)."""
    from gep.server.config import load

    try:
        cfg = load(config).replace(db=db, runs=runs, host=host, port=port)
        try:
            import uvicorn
        except ImportError:
            raise GepError("gep serve needs the server extra", hint="pip install 'gep[server]'") from None
        from gep.server.app import create_app

        app = create_app(cfg)  # opens the ledger now: a bad --db is one line and exit 2, not a traceback later
    except GepError as exc:
        typer.echo(f"error: {' '.join(exc.line().split())}", err=True)
        raise typer.Exit(exc.exit_code) from None
    where = f"http://{cfg.host}:{cfg.port}/"
    ledger = f"ledger {cfg.db}" if cfg.db else "no ledger (give --db)"
    typer.echo(f"gep serve: {where} (runs {cfg.runs}, {ledger}, reads: ledger {cfg.ledger_access}, runs {cfg.runs_access})", err=True)
    if workers > 1:
        import os

        os.environ["GEP_SERVE_CONFIG"] = _dump(cfg)
        uvicorn.run("gep.server.cli:_app_from_env", factory=True, host=cfg.host, port=cfg.port, workers=workers, log_level="warning")
    else:
        uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning")


def _dump(cfg) -> str:
    import dataclasses
    import json

    d = dataclasses.asdict(cfg)
    d["runs"] = str(d["runs"]) if d["runs"] is not None else None
    return json.dumps(d)


def _app_from_env():
    """The app of a worker process (``--workers N``): the configuration the parent resolved."""
    import json
    import os

    from gep.server.app import create_app
    from gep.server.config import ServerConfig

    d = json.loads(os.environ["GEP_SERVE_CONFIG"])
    d["runs"] = Path(d["runs"]) if d["runs"] else None
    d["readers"] = tuple(d["readers"])
    return create_app(ServerConfig(**d))


def register(app: typer.Typer) -> None:
    """Add ``gep serve`` to the main app."""
    app.command("serve")(serve)


def running(cfg, port: int = 0):
    """Run the server in a background thread for scripts and tests: ``with running(cfg) as url: ...``.

    ``port`` 0 picks a free port on ``cfg.host``. The server stops when the block ends.
    """
    import contextlib
    import socket
    import threading
    import time

    import uvicorn

    from gep.server.app import create_app

    @contextlib.contextmanager
    def run():
        with socket.socket() as s:
            s.bind((cfg.host, port))
            chosen = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(cfg), host=cfg.host, port=chosen, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise GepError(f"the server did not start on {cfg.host}:{chosen}")
            time.sleep(0.02)
        try:
            yield f"http://{cfg.host}:{chosen}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    return run()
