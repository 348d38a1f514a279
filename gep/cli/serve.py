"""``gep serve``: the HTTP API and web pages over recorded runs and the rights ledger.

Needs the ``server`` extra: ``pip install 'gep[server]'`` (FastAPI, uvicorn, Jinja2, limits).
The server records signed requests only when it holds the registry key as *head key*
(``--head-key`` or ``$GEP_LEDGER_HEAD_KEY``): every commit ends with a tree head signed
by that key (docs/ledger.md). Without it the ledger is served read-only and a write is
refused with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gep.cli.shell import App, err
from gep.errors import GepError

app = App()


@app.command("serve")
def serve(
    db: Optional[str] = typer.Option(None, "--db", envvar="GEP_LEDGER", help="Ledger database: SQLite file or postgresql:// URL (default: $GEP_LEDGER; without one, runs only)."),
    runs: Optional[Path] = typer.Option(None, "--runs", help="Folder of recorded runs (default: runs)."),
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1: this machine only)."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="Port (default 8000)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file: \\[server], \\[access] (public | owners | readers), \\[limits] (docs/platform.md)."),
    head_key: Optional[Path] = typer.Option(None, "--head-key", envvar="GEP_LEDGER_HEAD_KEY",
                                            help="Registry private key: the ledger signs the tree head of each commit with it "
                                                 "(default: $GEP_LEDGER_HEAD_KEY; without it the ledger is served read-only)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes (rate limits and caches are per process)."),
) -> None:
    """Serve the GEP dashboard, the market, the registry explorer, account pages and the HTTP API (OpenAPI at /api/openapi.json)."""
    from gep.server.config import load

    cfg = load(config).replace(db=db, runs=runs, host=host, port=port, head_key=str(head_key) if head_key else None)
    try:
        import uvicorn
    except ImportError:
        raise GepError("gep serve needs the server extra", hint="pip install 'gep[server]'") from None
    from gep.server.app import create_app, dump

    app_ = create_app(cfg)  # opens the ledger and reads the head key now: a bad --db or key is one line and exit 2
    where = f"http://{cfg.host}:{cfg.port}/"
    ledger = f"ledger {cfg.db} ({'writes signed with the head key' if cfg.head_key else 'read-only: no --head-key'})" if cfg.db else "no ledger (give --db)"
    err.print(f"gep serve: {where} (runs {cfg.runs}, {ledger}, reads: ledger {cfg.ledger_access}, runs {cfg.runs_access})", highlight=False, markup=False)
    if workers > 1:
        import os

        os.environ["GEP_SERVE_CONFIG"] = dump(cfg)
        uvicorn.run("gep.server.app:from_env", factory=True, host=cfg.host, port=cfg.port, workers=workers, log_level="warning")
    else:
        uvicorn.run(app_, host=cfg.host, port=cfg.port, log_level="warning")
