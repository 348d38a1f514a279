"""The ASGI application of ``gep serve`` (FastAPI on Starlette, run by uvicorn).

``create_app(config)`` wires: the ledger API (:mod:`gep.server.ledger_api`), the
runs API (:mod:`gep.server.runs_api`), the pages (:mod:`gep.server.pages`), static
files, signed reads (:mod:`gep.server.auth`), rate limits and security headers.
Every refusal is one JSON document ``{"error": {"type", "message", "hint"}}``
with an HTTP status (pages get an HTML page instead).

Security model: writes are Ed25519-signed ledger requests, checked by the ledger's
rules; the server holds no key. There are no cookies and no sessions, so no
ambient credential for a cross-site request to use; writes must be
``application/json`` (a cross-site form cannot send it without a CORS preflight,
which this server never answers). Replays are refused (a request id is recorded
once), bodies are bounded, numbers parsed with bounded digits, and each client
address is rate-limited.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gep.errors import GepError
from gep.ledger.errors import StorageError
from gep.server.config import ServerConfig
from gep.server.runs import RunCatalogue

__all__ = ["create_app", "Context", "running", "dump", "from_env"]

_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _preload() -> None:
    """Import the readers' heavy modules now, at start, rather than during the first visitor's request.

    xarray imports dask (to recognise chunked arrays) on its first ``open_dataset``; with
    h5netcdf, rasterio, shapely, pyproj and pint that is ~1.5–2 s of a first view otherwise.
    """
    import dask.array  # noqa: F401
    import h5netcdf  # noqa: F401
    import pyproj  # noqa: F401
    import rasterio.features  # noqa: F401
    import shapely  # noqa: F401
    import xarray  # noqa: F401
    from xarray.namedarray import pycompat

    import gep.io.outputs  # noqa: F401  (and pint, through gep.io)
    import gep.io.tables  # noqa: F401
    import gep.audit.manifest  # noqa: F401

    pycompat.array_type("dask")


class RateLimited(GepError):
    """Too many requests from one address in the configured window (HTTP 429)."""


class BadParameter(GepError):
    """A query parameter or path that does not fit the API (HTTP 422)."""


@dataclass
class Context:
    """What the routes share: configuration, ledger pool (None: no ledger), run catalogue, rate limiter."""

    config: ServerConfig
    pool: object | None
    runs: RunCatalogue
    limiter: object


class RateLimiter:
    """Moving-window limits per client address (the ``limits`` library, in memory, per process)."""

    def __init__(self, reads: str, writes: str):
        from limits import parse, storage, strategies

        self.strategy = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self.reads, self.writes = parse(reads), parse(writes)

    def check(self, client: str, write: bool) -> float | None:
        """None when allowed; else seconds until the window has room."""
        item = self.writes if write else self.reads
        if self.strategy.hit(item, "w" if write else "r", client):
            return None
        reset, _ = self.strategy.get_window_stats(item, "w" if write else "r", client)
        return max(1.0, reset - time.time())


def _control_character(path: str, query: list[tuple[str, str]]) -> str | None:
    """``"the path"`` or ``"query parameter NAME"`` when it holds a control character (U+0000-U+001F, U+007F), else None:
    no id, name or value holds one, and a NUL would reach the database (PostgreSQL refuses it in text)."""
    if _CONTROL.search(path):
        return "the path"
    return next((f"query parameter {k!r}" for k, v in query if _CONTROL.search(k) or _CONTROL.search(v)), None)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LOG = logging.getLogger("gep.server")


def _error(exc: GepError, status: int, extra: dict | None = None) -> JSONResponse:
    body = {"error": {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint, "where": exc.where}}
    return JSONResponse(body, status_code=status, headers=extra)


def create_app(config: ServerConfig | None = None, clock=None) -> FastAPI:
    """The application for ``config`` (opens the ledger now: a bad ``db`` or head key fails here, not on the first request).

    ``clock``: the ledgers' clock (:class:`gep.ledger.ledger.Ledger`; default the system's UTC
    time), for scripts and tests that replay a market's windows.
    """
    from gep.server import ledger_api, market_api, pages, runs_api
    from gep.server.auth import Unauthorised, authenticate
    from gep.server.pool import LedgerPool

    config = config or ServerConfig()
    config.check()
    _preload()
    pool = LedgerPool(config.db, config.pool, head_key=config.head_key, clock=clock) if config.db else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if pool is not None:
            pool.close()

    app = FastAPI(title="gep platform", version="1", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json", lifespan=lifespan,
                  description="HTTP API of the gep ecological-product accounting and trading data platform: recorded GEP runs, "
                              "basin capacity credits, and the signed, Merkle-logged rights ledger. Writes are Ed25519-signed ledger "
                              "requests (docs/ledger.md); reads are public or signed (docs/platform.md).")
    app.state.ctx = Context(config, pool, RunCatalogue(config.runs), RateLimiter(config.read_limit, config.write_limit))

    @app.middleware("http")
    async def guard(request: Request, call_next):
        ctx: Context = request.app.state.ctx
        path = request.url.path
        request.state.reader = None
        if not path.startswith("/static/"):
            write = request.method not in ("GET", "HEAD", "OPTIONS")
            client = request.client.host if request.client else "?"
            wait = ctx.limiter.check(client, write)
            if wait is not None:
                exc = RateLimited(f"rate limit of {'writes' if write else 'reads'} reached for {client}", hint=f"retry in {wait:.0f} s")
                return _error(exc, 429, {"Retry-After": str(int(wait + 0.999))})
            bad = _control_character(path, request.query_params.multi_items())
            if bad is not None:
                return _error(BadParameter(f"{bad} holds a control character", hint="ids, names and query values are text without control characters"), 400)
            try:
                raw_path = request.scope.get("raw_path", path.encode()).decode("latin-1")
                request.state.reader = authenticate(request.headers.get("authorization"), request.method, raw_path,
                                                    request.scope.get("query_string", b"").decode("latin-1"), ctx.config.clock_skew)
            except Unauthorised as exc:
                return _error(exc, 401)
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if path.startswith("/api/") and "cache-control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(GepError)
    async def gep_error(request: Request, exc: GepError):
        status = ledger_api.error_status(exc, request.method)
        from gep.server.pool import PoolBusy

        if isinstance(exc, StorageError) and not isinstance(exc, PoolBusy):  # its message names the database: logged, not sent
            _LOG.warning("%s %s: %s", request.method, request.url.path, exc.message)
            exc = StorageError("the ledger database could not answer this request", hint="retry later; the server's log says why")
        if request.url.path.startswith("/api/"):
            return _error(exc, status)
        return pages.error_page(request, exc, status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        err = BadParameter(f"{where}: {first.get('msg', 'invalid')}", hint="see GET /api/openapi.json for the parameters")
        return _error(err, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        from gep.server.runs import NotFound

        err = NotFound(f"{request.method} {request.url.path}: {exc.detail}", hint="see GET /api/openapi.json") if exc.status_code == 404 \
            else BadParameter(str(exc.detail))
        if request.url.path.startswith("/api/") or exc.status_code != 404:
            return _error(err, exc.status_code)
        return pages.error_page(request, err, 404)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # a defect: one JSON error, never a traceback or a path
        _LOG.error("%s %s", request.method, request.url.path, exc_info=exc)
        return _error(GepError("the server failed on this request", hint="the server's log says why; please report it"), 500)

    for template in (Path(__file__).parent / "templates").glob("*.html"):
        pages.templates.env.get_template(template.name)  # compiled now, not during a first visit
    app.include_router(ledger_api.router)
    app.include_router(market_api.router)
    app.include_router(runs_api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app


def dump(cfg: ServerConfig) -> str:
    """The configuration as JSON, for the worker processes of ``gep serve --workers N`` (:func:`from_env`)."""
    import dataclasses
    import json

    d = dataclasses.asdict(cfg)
    d["runs"] = str(d["runs"]) if d["runs"] is not None else None
    return json.dumps(d)


def from_env() -> FastAPI:
    """The app of a worker process (``--workers N``): the configuration the parent resolved (``$GEP_SERVE_CONFIG``)."""
    import json
    import os

    d = json.loads(os.environ["GEP_SERVE_CONFIG"])
    d["runs"] = Path(d["runs"]) if d["runs"] else None
    d["readers"] = tuple(d["readers"])
    return create_app(ServerConfig(**d))


def running(cfg: ServerConfig, port: int = 0, clock=None):
    """Run the server in a background thread for scripts and tests: ``with running(cfg) as url: ...``.

    ``port`` 0 picks a free port on ``cfg.host``. The server stops when the block ends.
    """
    import socket
    import threading

    import uvicorn

    @contextlib.contextmanager
    def run():
        with socket.socket() as s:
            s.bind((cfg.host, port))
            chosen = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(cfg, clock), host=cfg.host, port=chosen, log_level="warning", lifespan="on"))
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
